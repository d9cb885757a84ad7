import HalfTraceKernels
import HalfTraceOptim
import HalfTraceReference

/// Pasted schedulers of every family on one recipe (lr 0.1, a 10-step warm-up where the class
/// has one, 100 steps): HalfTrace's exact lr from the constructor as written (`TorchScheduler`)
/// as formula columns, checked against each schedule's closed form written again, from the
/// packages' sources, in `HalfTraceReference`.
struct PastedSchedulesScenario: Scenario {
    let steps: Int
    let lr: Double

    /// Column, family (the figure's panel) and the constructor as a user writes it.
    static let schedules: [(column: String, family: String, expression: String)] = [
        ("torch_linear_cosine", "PyTorch", "SequentialLR([LinearLR(start_factor=0.1, total_iters=10), CosineAnnealingLR(T_max=90, eta_min=0.001)], milestones=[10])"),
        ("torch_onecycle", "PyTorch", "OneCycleLR(max_lr=0.1, total_steps=101, pct_start=0.1)"),
        ("torch_cyclic", "PyTorch", "CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=10, step_size_down=15, mode='triangular2', cycle_momentum=False)"),
        ("torch_warm_restarts", "PyTorch", "CosineAnnealingWarmRestarts(T_0=10, T_mult=2, eta_min=0.001)"),
        ("timm_step", "timm", "StepLRScheduler(decay_t=30, decay_rate=0.5, warmup_t=10, warmup_lr_init=0.001)"),
        ("timm_multistep", "timm", "MultiStepLRScheduler(decay_t=[40, 70], decay_rate=0.3, warmup_t=10, warmup_lr_init=0.001)"),
        ("timm_poly", "timm", "PolyLRScheduler(t_initial=30, power=2.0, lr_min=0.001, cycle_mul=1.5, cycle_limit=3, warmup_t=10, warmup_lr_init=0.001, warmup_prefix=True)"),
        ("timm_tanh", "timm", "TanhLRScheduler(t_initial=40, cycle_limit=2, cycle_decay=0.5, warmup_t=10, warmup_lr_init=0.001)"),
        ("timm_wsd", "timm", "WSDLRScheduler(t_initial=90, decay_t=30, lr_min=0.001, decay_fn='cosine', warmup_t=10, warmup_lr_init=0.001)"),
        ("hf_linear", "transformers", "get_linear_schedule_with_warmup(num_warmup_steps=10, num_training_steps=100)"),
        ("hf_cosine_min_lr", "transformers", "get_cosine_with_min_lr_schedule_with_warmup(num_warmup_steps=10, num_training_steps=100, min_lr=0.001)"),
        ("hf_cosine_warmup_lr_rate", "transformers", "get_cosine_with_min_lr_schedule_with_warmup_lr_rate(num_warmup_steps=10, num_training_steps=100, min_lr_rate=0.01)"),
        ("hf_polynomial", "transformers", "get_polynomial_decay_schedule_with_warmup(num_warmup_steps=10, num_training_steps=100, lr_end=0.001, power=2.0)"),
        ("hf_inverse_sqrt", "transformers", "get_inverse_sqrt_schedule(num_warmup_steps=10)"),
        ("hf_constant_warmup", "transformers", "get_constant_schedule_with_warmup(num_warmup_steps=10)"),
        ("ds_warmup_cosine", "DeepSpeed", "WarmupCosineLR(total_num_steps=100, warmup_num_steps=10, warmup_type='linear', cos_min_ratio=0.01)"),
        ("ds_warmup_decay", "DeepSpeed", "WarmupDecayLR(total_num_steps=100, warmup_min_lr=0.001, warmup_max_lr=0.1, warmup_num_steps=10)"),
        ("ds_onecycle", "DeepSpeed", "OneCycle(cycle_min_lr=0.001, cycle_max_lr=0.1, cycle_first_step_size=20, cycle_second_step_size=30, decay_lr_rate=0.01, decay_step_size=10)"),
        ("megatron_cosine", "Megatron", "OptimizerParamScheduler(init_lr=0.0, max_lr=0.1, min_lr=0.001, lr_warmup_steps=10, lr_decay_steps=100, lr_decay_style='cosine', "
            + "start_wd=0.0, end_wd=0.0, wd_incr_steps=100, wd_incr_style='constant')"),
        ("megatron_wsd", "Megatron", "OptimizerParamScheduler(init_lr=0.0, max_lr=0.1, min_lr=0.001, lr_warmup_steps=10, lr_decay_steps=100, lr_decay_style='WSD', "
            + "start_wd=0.0, end_wd=0.0, wd_incr_steps=100, wd_incr_style='constant', wsd_decay_steps=30, lr_wsd_decay_style='minus_sqrt')"),
    ]

    init(_ c: ConfigReader) throws {
        steps = try c.int("steps", in: 1...101)
        lr = try c.double("lr", in: 1e-6...1e6)
    }

    /// Each column's reference at row k, for a group whose lr is `lr` (OneCycleLR, CyclicLR,
    /// DeepSpeed's WarmupDecayLR and OneCycle, and Megatron set absolute lrs of their own).
    func referenceLR(_ column: String, _ k: Int) -> Double {
        switch column {
        case "torch_linear_cosine": return Reference.torchLinearThenCosine(k, lr: lr, startFactor: 0.1, warmupIters: 10, tMax: 90, etaMin: 0.001)
        case "torch_onecycle": return Reference.torchOneCycle(k, maxLR: 0.1, totalSteps: 101, pctStart: 0.1, divFactor: 25, finalDivFactor: 1e4, cosine: true, threePhase: false)
        case "torch_cyclic": return Reference.torchCyclic(k, baseLR: 0.001, maxLR: 0.1, stepSizeUp: 10, stepSizeDown: 15, mode: "triangular2", gamma: 1)
        case "torch_warm_restarts": return Reference.torchWarmRestarts(k, lr: lr, t0: 10, tMult: 2, etaMin: 0.001)
        case "timm_step": return Reference.timmStep(k, lr: lr, decayT: 30, decayRate: 0.5, warmupT: 10, warmupLRInit: 0.001, warmupPrefix: true)
        case "timm_multistep": return Reference.timmMultiStep(k, lr: lr, milestones: [40, 70], decayRate: 0.3, warmupT: 10, warmupLRInit: 0.001, warmupPrefix: true)
        case "timm_poly":
            return Reference.timmPoly(k, lr: lr, tInitial: 30, power: 2, lrMin: 0.001, cycleMulNumerator: 3, cycleMulDenominator: 2, cycleDecay: 1, cycleLimit: 3,
                                      warmupT: 10, warmupLRInit: 0.001, warmupPrefix: true, kDecay: 1)
        case "timm_tanh":
            return Reference.timmTanh(k, lr: lr, tInitial: 40, lb: -7, ub: 3, lrMin: 0, cycleMulNumerator: 1, cycleMulDenominator: 1, cycleDecay: 0.5, cycleLimit: 2,
                                      warmupT: 10, warmupLRInit: 0.001, warmupPrefix: false)
        case "timm_wsd": return Reference.timmWSD(k, lr: lr, tInitial: 90, decayT: 30, lrMin: 0.001, decayFn: "cosine", warmupT: 10, warmupLRInit: 0.001)
        case "hf_linear": return Reference.hfLinear(k, lr: lr, warmup: 10, training: 100)
        case "hf_cosine_min_lr": return Reference.hfCosineWithMinLR(k, lr: lr, warmup: 10, training: 100, cycles: 0.5, minLRRate: 0.001 / lr)
        case "hf_cosine_warmup_lr_rate": return Reference.hfCosineWarmupLRRate(k, lr: lr, warmup: 10, training: 100, cycles: 0.5, minLRRate: 0.01, warmupLRRate: nil)
        case "hf_polynomial": return Reference.hfPolynomial(k, lr: lr, warmup: 10, training: 100, lrEnd: 0.001, power: 2, lrInit: lr)
        case "hf_inverse_sqrt": return Reference.hfInverseSqrt(k, lr: lr, warmup: 10, timescale: 10)
        case "hf_constant_warmup": return Reference.hfConstantWithWarmup(k, lr: lr, warmup: 10)
        case "ds_warmup_cosine": return Reference.deepSpeedWarmupCosine(k, lr: lr, totalSteps: 100, warmupSteps: 10, warmupMinRatio: 0, cosMinRatio: 0.01, logWarmup: false)
        case "ds_warmup_decay": return Reference.deepSpeedWarmupDecay(k, totalSteps: 100, warmupMinLR: 0.001, warmupMaxLR: 0.1, warmupSteps: 10, logWarmup: true)
        case "ds_onecycle": return Reference.deepSpeedOneCycleLR(k, cycleMinLR: 0.001, cycleMaxLR: 0.1, firstStepSize: 20, secondStepSize: 30, decayLRRate: 0.01, decayStepSize: 10)
        case "megatron_cosine":
            return Reference.megatron(k, initLR: 0, maxLR: 0.1, minLR: 0.001, warmupSteps: 10, decaySteps: 100, style: "cosine", wsdDecaySteps: 0, wsdStyle: "linear")
        case "megatron_wsd":
            return Reference.megatron(k, initLR: 0, maxLR: 0.1, minLR: 0.001, warmupSteps: 10, decaySteps: 100, style: "WSD", wsdDecaySteps: 30, wsdStyle: "minus_sqrt")
        default: return .nan
        }
    }

    /// The closed forms agree to rounding: phase positions and cosines evaluated in another order.
    static let tolerance = Tolerance.normwise(1e-13)

    var columns: [GoldenColumn] {
        [GoldenColumn("step", .key, label: "step (scheduler.step() calls)")]
            + Self.schedules.map { GoldenColumn($0.column, .formula, Self.tolerance, label: "\($0.family) learning rate",
                                                stepwise: ["timm_step", "timm_multistep"].contains($0.column)) }
    }

    func run(_: RunCache) throws -> EngineRun {
        let traces = try Self.schedules.map { try TorchScheduler($0.expression, lrs: [lr]).trace(steps: steps - 1).exactLR.map { $0[0] } }
        return EngineRun(rows: (0..<steps).map { k in [Double(k)] + traces.map { $0[k] } })
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        Dictionary(uniqueKeysWithValues: Self.schedules.map { s in (s.column, (0..<steps).map { referenceLR(s.column, $0) }) })
    }

    var figureLabels: [String]? { ["PyTorch learning rate", "timm learning rate", "transformers learning rate", "DeepSpeed learning rate", "Megatron learning rate"] }

    var markers: [ScenarioMarker] { [ScenarioMarker(x: 10, label: "warm-up ends (10 steps)")] }
}
