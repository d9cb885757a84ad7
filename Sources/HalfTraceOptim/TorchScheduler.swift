import Foundation
import HalfTraceKernels

/// A PyTorch `torch.optim.lr_scheduler` scheduler built from the constructor call a user wrote
/// (the line as written, or the call without the optimizer), giving each parameter group's lr after k calls of
/// `scheduler.step()` twice:
///
/// - `exact`: the schedule's closed form, integer facts (a milestone, a cycle, a phase boundary)
///   computed exactly;
/// - `package`: PyTorch's own arithmetic bit for bit, as the real object steps: the chainable
///   (recursive) `get_lr` of each class, the shared `param_groups` that nested schedulers
///   read and write, what `SequentialLR` does at construction (every group back to `initial_lr`,
///   each inner scheduler's `last_epoch` undone, the first one's initial step) and at each
///   milestone (`_update_lr(0)`, the closed form), `ChainedScheduler` stepping each in turn,
///   `OneCycleLR`'s float phase boundaries and `CyclicLR`'s float cycle.
///
/// Source: torch/optim/lr_scheduler.py (torch 2.13): `LRScheduler.__init__`, `_initial_step`,
/// `step`, `_update_lr`, and each class's `__init__`, `get_lr` and `_get_closed_form_lr`.
/// Supported: StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR,
/// CosineAnnealingLR, CosineAnnealingWarmRestarts, SequentialLR, ChainedScheduler, OneCycleLR and
/// CyclicLR (its three modes). LambdaLR and MultiplicativeLR take Python lambdas and
/// ReduceLROnPlateau a metric: they are refused, naming why.
///
/// The same constructor syntax reads DeepSpeed's `lr_schedules` (WarmupLR, WarmupDecayLR,
/// WarmupCosineLR, OneCycle, LRRangeTest; deepspeed/runtime/lr_schedules.py, 0.19.8) and
/// Megatron-core's `OptimizerParamScheduler` (megatron/core/optimizer_param_scheduler.py, 0.16.1,
/// with its weight decay): functions of their own step counters, stepped as those packages step
/// them. They are not torch LRSchedulers, so SequentialLR and ChainedScheduler cannot hold them.
/// So do timm's schedulers (`TimmScheduler`: Step, MultiStep, Poly, Tanh, Cosine, WSD; timm 1.0.31)
/// and transformers' schedule builders and `get_scheduler` (`TransformersScheduler`; transformers
/// 5.25.0), traced on their own.
public struct TorchScheduler: Sendable {
    /// The parsed constructor.
    public let call: PythonCall
    /// Each parameter group's lr before the scheduler is built (`optimizer.param_groups[j]["lr"]`).
    public let baseLRs: [Double]
    /// The optimizer's momentum (SGD) or betas[0] (Adam-family) before the scheduler is built.
    public let baseMomentum: Double
    /// Whether the optimizer is Adam-family (momentum lives in betas[0]).
    public let usesBeta1: Bool
    let spec: Spec

    /// The schedulers this type reads, by class name.
    public static let supported = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
                                   "CosineAnnealingWarmRestarts", "SequentialLR", "ChainedScheduler", "OneCycleLR", "CyclicLR"]
        + DeepSpeedSchedule.names + [MegatronSchedule.name] + TimmScheduler.names + TransformersScheduler.names

    /// Module prefixes accepted before a class name.
    public static let prefixes = ["", "torch.optim.lr_scheduler", "optim.lr_scheduler", "lr_scheduler"] + DeepSpeedSchedule.prefixes + MegatronSchedule.prefixes
        + TimmScheduler.prefixes + TransformersScheduler.prefixes

    /// Parses `expression` (e.g. `LinearLR(start_factor=0.1, total_iters=5)`, or the line as the
    /// training script holds it: `scheduler = LinearLR(optimizer, start_factor=0.1, total_iters=5)`,
    /// `PythonExpression.parseConstructorLine`) for an optimizer whose
    /// groups start at `lrs`, binding arguments as PyTorch does (positional in the class's own
    /// order after the optimizer, then keywords), and refusing what PyTorch refuses with its
    /// reason. Errors name the column.
    public init(_ expression: String, lrs: [Double], momentum: Double = 0.9, usesBeta1: Bool = false, optimizerLR: Double? = nil) throws {
        let value: PythonValue
        do { value = try PythonExpression.parseConstructorLine(expression) } catch let e as PythonSyntaxError {
            throw HalfTraceError.invalid("scheduler", "\(e)")
        }
        guard case .call(let call) = value else {
            throw HalfTraceError.invalid("scheduler", "expected a scheduler's constructor call, e.g. StepLR(step_size=3), found \(value.typeName) \(value)")
        }
        try self.init(call: call, lrs: lrs, momentum: momentum, usesBeta1: usesBeta1, optimizerLR: optimizerLR)
    }

    /// A scheduler from a call already parsed (or built from a DeepSpeed config's "scheduler" block,
    /// `deepSpeedConfig(_:)`). `optimizerLR` is the optimizer's default lr (`optimizer.defaults["lr"]`,
    /// the `lr=` of its constructor), which transformers' polynomial and min-lr schedules read; it
    /// defaults to the first group's lr.
    public init(call: PythonCall, lrs: [Double], momentum: Double = 0.9, usesBeta1: Bool = false, optimizerLR: Double? = nil) throws {
        guard !lrs.isEmpty, lrs.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw HalfTraceError.invalid("lr", "\(lrs) is invalid: expected one finite lr >= 0 per parameter group")
        }
        if let optimizerLR, !(optimizerLR.isFinite && optimizerLR >= 0) {
            throw HalfTraceError.invalid("optimizer_lr", "\(optimizerLR) is invalid: expected a finite lr >= 0")
        }
        self.call = call
        self.baseLRs = lrs
        self.baseMomentum = momentum
        self.usesBeta1 = usesBeta1
        self.spec = try Spec(call, groups: lrs.count, usesBeta1: usesBeta1, top: true, optimizerLR: optimizerLR ?? lrs[0])
    }

    /// Whether the scheduler sets momentum (OneCycleLR and CyclicLR with cycle_momentum;
    /// DeepSpeed's OneCycle with an Adam-family optimizer).
    public var cyclesMomentum: Bool { spec.cyclesMomentum }

    /// The package whose arithmetic `package_lr` follows, with the release it was checked
    /// against (`torch 2.13.0`, `timm 1.0.31` ...).
    public var package: String {
        switch spec {
        case .deepSpeed: "deepspeed 0.19.8"
        case .megatron: "megatron-core 0.16.1"
        case .timm: "timm 1.0.31"
        case .transformers: "transformers 5.25.0"
        default: "torch 2.13.0"
        }
    }

    /// What row k means: after k calls of `scheduler.step()`, or for timm the value of
    /// `step(k)` (per epoch) or `step_update(k)` (per update, `t_in_epochs=False`).
    public var rowMeaning: String {
        switch spec {
        case .timm(let t): t.tInEpochs ? "row t: after scheduler.step(t) (timm, per epoch)" : "row k: after scheduler.step_update(k) (timm, t_in_epochs=False)"
        case .megatron: "row k: after k calls of scheduler.step(increment)"
        default: "row k: after k calls of scheduler.step()"
        }
    }

    /// Whether the scheduler sets weight decay (Megatron's OptimizerParamScheduler).
    public var setsWeightDecay: Bool {
        if case .megatron = spec { return true }
        return false
    }

    /// The rows after 0...steps calls of `step()`: each group's exact and package lr (and momentum).
    /// Throws where PyTorch raises while stepping (OneCycleLR past total_steps), naming the step,
    /// and where an lr stops being finite (ExponentialLR(gamma=1e300) after two steps).
    /// `increment` is what each `step(increment)` of Megatron's scheduler adds (Megatron-LM: the
    /// global batch); the other schedulers step by one.
    public func trace(steps: Int, increment: Int = 1) throws -> TorchScheduleTrace {
        guard increment == 1 || setsWeightDecay else {
            throw HalfTraceError.invalid("increment", "\(increment): only Megatron's OptimizerParamScheduler steps by an increment")
        }
        try HalfTraceError.check("increment", increment, in: 1...1_000_000)
        var out = TorchScheduleTrace(groups: baseLRs.count, momentum: cyclesMomentum, weightDecay: setsWeightDecay)
        let sim = Simulation(lrs: baseLRs, momentum: baseMomentum, increment: increment)
        let object = try sim.build(spec)
        for k in 0...steps {
            if k > 0 { try object.step() }
            out.packageLR.append(sim.groups.map(\.lr))
            out.exactLR.append(spec.exact(k, base: baseLRs, increment: increment))
            if let j = (out.packageLR[k] + out.exactLR[k]).firstIndex(where: { !$0.isFinite }) {
                let v = j < baseLRs.count ? out.packageLR[k][j] : out.exactLR[k][j - baseLRs.count]
                throw HalfTraceError.invalid("scheduler", "after \(k) steps the lr of group \(j % baseLRs.count) is \(v): not a finite learning rate (the package would train with it)")
            }
            if case .megatron(let m) = spec {
                out.packageWeightDecay.append(sim.groups.map(\.weightDecay))
                out.exactWeightDecay.append(baseLRs.map { _ in m.weightDecay(Double(k * increment)) })
            }
            if cyclesMomentum {
                out.packageMomentum.append(sim.groups.map(\.momentum))
                out.exactMomentum.append(spec.exactMomentum(k, groups: baseLRs.count, base: baseMomentum))
            }
        }
        return out
    }
}

/// A traced scheduler: row k is the value after k calls of `scheduler.step()` (row 0: after
/// construction, what the first training step uses).
public struct TorchScheduleTrace: Sendable, Equatable {
    /// Parameter groups.
    public var groups: Int
    /// Whether momentum columns exist.
    public var momentum: Bool
    /// Whether weight-decay columns exist (Megatron).
    public var weightDecay = false
    /// [row][group] the exact lr.
    public var exactLR: [[Double]] = []
    /// [row][group] PyTorch's lr.
    public var packageLR: [[Double]] = []
    /// [row][group] the exact momentum (or beta1).
    public var exactMomentum: [[Double]] = []
    /// [row][group] PyTorch's momentum (or beta1).
    public var packageMomentum: [[Double]] = []
    /// [row][group] the exact weight decay.
    public var exactWeightDecay: [[Double]] = []
    /// [row][group] the package's weight decay.
    public var packageWeightDecay: [[Double]] = []

    /// Whether PyTorch's row k differs from the exact one (any group, lr or momentum).
    public func departs(_ k: Int) -> Bool {
        exactLR[k] != packageLR[k] || (momentum && exactMomentum[k] != packageMomentum[k])
            || (weightDecay && exactWeightDecay[k] != packageWeightDecay[k])
    }
}

extension TorchScheduler {
    /// The bound arguments of one scheduler class.
    indirect enum Spec: Sendable {
        case stepLR(stepSize: Int, gamma: Double)
        case multiStep(milestones: [Int], gamma: Double)
        case constant(factor: Double, totalIters: Int)
        case linear(start: Double, end: Double, totalIters: Int)
        case exponential(gamma: Double)
        case polynomial(totalIters: Int, power: Double)
        case cosine(tMax: Int, etaMin: Double)
        case warmRestarts(t0: Int, tMult: Int, etaMin: Double)
        case sequential([Spec], milestones: [Int])
        case chained([Spec])
        case oneCycle(OneCycle)
        case cyclic(Cyclic)
        /// One of DeepSpeed's `lr_schedules` (not a torch LRScheduler: it cannot be nested).
        case deepSpeed(DeepSpeedSchedule)
        /// Megatron-core's `OptimizerParamScheduler` (lr and weight decay).
        case megatron(MegatronSchedule)
        /// timm's schedulers.
        case timm(TimmScheduler)
        /// transformers' LambdaLR builders.
        case transformers(TransformersScheduler)

        struct OneCycle: Sendable {
            var maxLRs: [Double], totalSteps: Int, pctStart: Double, cosine: Bool, cycleMomentum: Bool
            var baseMomentums: [Double], maxMomentums: [Double], divFactor: Double, finalDivFactor: Double, threePhase: Bool
        }

        struct Cyclic: Sendable {
            enum Mode: String, Sendable { case triangular, triangular2, expRange = "exp_range" }
            var baseLRs: [Double], maxLRs: [Double], stepSizeUp: Int, stepSizeDown: Int, mode: Mode, gamma: Double
            var cycleMomentum: Bool, baseMomentums: [Double], maxMomentums: [Double]
        }

        /// timm's and transformers' schedules: functions of the step count, no state beyond it.
        var isStateless: Bool {
            switch self {
            case .timm, .transformers: true
            default: false
            }
        }

        var cyclesMomentum: Bool {
            switch self {
            case .oneCycle(let o): o.cycleMomentum
            case .cyclic(let c): c.cycleMomentum
            case .deepSpeed(let d): d.cyclesMomentum
            case .sequential(let s, _), .chained(let s): s.contains { $0.cyclesMomentum }
            default: false
            }
        }

        /// The parameters of each class after the optimizer, in PyTorch's order, with defaults
        /// (nil: required).
        static let signatures: [String: [(String, PythonValue?)]] = [
            "StepLR": [("step_size", nil), ("gamma", .float(0.1)), ("last_epoch", .int(-1))],
            "MultiStepLR": [("milestones", nil), ("gamma", .float(0.1)), ("last_epoch", .int(-1))],
            "ConstantLR": [("factor", .float(1.0 / 3)), ("total_iters", .int(5)), ("last_epoch", .int(-1))],
            "LinearLR": [("start_factor", .float(1.0 / 3)), ("end_factor", .float(1.0)), ("total_iters", .int(5)), ("last_epoch", .int(-1))],
            "ExponentialLR": [("gamma", nil), ("last_epoch", .int(-1))],
            "PolynomialLR": [("total_iters", .int(5)), ("power", .float(1.0)), ("last_epoch", .int(-1))],
            "CosineAnnealingLR": [("T_max", nil), ("eta_min", .float(0.0)), ("last_epoch", .int(-1))],
            "CosineAnnealingWarmRestarts": [("T_0", nil), ("T_mult", .int(1)), ("eta_min", .float(0.0)), ("last_epoch", .int(-1))],
            "SequentialLR": [("schedulers", nil), ("milestones", nil), ("last_epoch", .int(-1))],
            "ChainedScheduler": [("schedulers", nil), ("optimizer", PythonValue.none)],
            "OneCycleLR": [("max_lr", nil), ("total_steps", PythonValue.none), ("epochs", PythonValue.none), ("steps_per_epoch", PythonValue.none), ("pct_start", .float(0.3)),
                           ("anneal_strategy", .string("cos")), ("cycle_momentum", .bool(true)), ("base_momentum", .float(0.85)),
                           ("max_momentum", .float(0.95)), ("div_factor", .float(25.0)), ("final_div_factor", .float(1e4)),
                           ("three_phase", .bool(false)), ("last_epoch", .int(-1))],
            "CyclicLR": [("base_lr", nil), ("max_lr", nil), ("step_size_up", .int(2000)), ("step_size_down", PythonValue.none), ("mode", .string("triangular")),
                         ("gamma", .float(1.0)), ("scale_fn", PythonValue.none), ("scale_mode", .string("cycle")), ("cycle_momentum", .bool(true)),
                         ("base_momentum", .float(0.8)), ("max_momentum", .float(0.9)), ("last_epoch", .int(-1))],
        ]

        static let refused: [String: String] = [
            "LambdaLR": "LambdaLR takes a Python function: use --schedule with the formula, or trace its values",
            "MultiplicativeLR": "MultiplicativeLR takes a Python function: use --schedule with the formula",
            "ReduceLROnPlateau": "ReduceLROnPlateau is driven by a metric, not by the step count: it has no schedule to trace",
        ]

        init(_ call: PythonCall, groups: Int, usesBeta1: Bool, top: Bool, optimizerLR: Double) throws {
            let name = call.name
            guard TorchScheduler.prefixes.contains(call.prefix) else {
                throw Self.fail(call.column, "unknown module prefix '\(call.prefix).' (accepted: torch.optim.lr_scheduler., lr_scheduler. or none)")
            }
            if let reason = Self.refused[name] ?? TimmScheduler.refused[name] ?? TransformersScheduler.refused[name] { throw Self.fail(call.column, reason) }
            if let signature = TimmScheduler.signatures[name] ?? TransformersScheduler.signatures[name] {
                guard top else {
                    throw Self.fail(call.column, "\(name) is \(name.hasPrefix("get_") ? "transformers'" : "timm's"); HalfTrace traces it on its own, not inside SequentialLR or ChainedScheduler")
                }
                var a = try Arguments(call, signature: signature)
                self = name.hasPrefix("get_") ? .transformers(try TransformersScheduler(&a, defaultLR: optimizerLR)) : .timm(try TimmScheduler(&a))
                return
            }
            if name == MegatronSchedule.name {
                guard top else { throw Self.fail(call.column, "\(name) is Megatron's, not a torch LRScheduler: SequentialLR and ChainedScheduler cannot hold it") }
                var a = try Arguments(call, signature: MegatronSchedule.signature)
                self = .megatron(try MegatronSchedule(&a))
                return
            }
            if let signature = DeepSpeedSchedule.signatures[name] {
                guard top else {
                    throw Self.fail(call.column, "\(name) is DeepSpeed's, not a torch LRScheduler: SequentialLR and ChainedScheduler cannot hold it")
                }
                var a = try Arguments(call, signature: signature)
                self = .deepSpeed(try DeepSpeedSchedule(&a, groups: groups, usesBeta1: usesBeta1))
                return
            }
            guard let signature = Self.signatures[name] else {
                throw Self.fail(call.column, "unknown scheduler \(call.qualifiedName): expected one of \(TorchScheduler.supported.joined(separator: ", "))")
            }
            var a = try Arguments(call, signature: signature)
            if signature.contains(where: { $0.0 == "last_epoch" }), case .int(let last) = try a.value("last_epoch"), last != -1 {
                throw Self.fail(call.column, "\(name)(last_epoch=\(last)): only a scheduler built fresh (last_epoch=-1) is traced")
            }
            switch name {
            case "StepLR":
                self = .stepLR(stepSize: try a.int("step_size"), gamma: try a.double("gamma"))
                if case .stepLR(let s, _) = self, s == 0 { throw Self.fail(a.column("step_size"), "StepLR(step_size=0): PyTorch raises ZeroDivisionError (integer modulo by zero) at the first step") }
            case "MultiStepLR":
                self = .multiStep(milestones: try a.ints("milestones"), gamma: try a.double("gamma"))
            case "ConstantLR":
                let factor = try a.double("factor")
                guard factor <= 1, factor >= 0 else { throw Self.fail(a.column("factor"), "ValueError: Constant multiplicative factor expected to be between 0 and 1.") }
                self = .constant(factor: factor, totalIters: try a.int("total_iters"))
            case "LinearLR":
                let start = try a.double("start_factor"), end = try a.double("end_factor")
                guard start <= 1, start > 0 else {
                    throw Self.fail(a.column("start_factor"), "ValueError: Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
                }
                guard end <= 1, end >= 0 else { throw Self.fail(a.column("end_factor"), "ValueError: Ending multiplicative factor expected to be between 0 and 1.") }
                self = .linear(start: start, end: end, totalIters: try a.int("total_iters"))
            case "ExponentialLR":
                self = .exponential(gamma: try a.double("gamma"))
            case "PolynomialLR":
                self = .polynomial(totalIters: try a.int("total_iters"), power: try a.double("power"))
            case "CosineAnnealingLR":
                let tMax = try a.int("T_max")
                guard tMax != 0 else { throw Self.fail(a.column("T_max"), "CosineAnnealingLR(T_max=0): PyTorch divides by T_max (ZeroDivisionError)") }
                self = .cosine(tMax: tMax, etaMin: try a.double("eta_min"))
            case "CosineAnnealingWarmRestarts":
                guard case .int(let t0) = try a.value("T_0"), t0 > 0 else {
                    throw Self.fail(a.column("T_0"), "ValueError: Expected positive integer T_0, but got \(try a.value("T_0"))")
                }
                guard case .int(let tMult) = try a.value("T_mult"), tMult >= 1 else {
                    throw Self.fail(a.column("T_mult"), "ValueError: Expected integer T_mult >= 1, but got \(try a.value("T_mult"))")
                }
                // Cycle lengths T_0 T_mult^i stay far inside Int over any traceable number of steps.
                guard t0 <= 100_000_000 else { throw Self.fail(a.column("T_0"), "CosineAnnealingWarmRestarts: T_0 = \(t0) is outside 1...100000000") }
                guard tMult <= 1_000_000 else { throw Self.fail(a.column("T_mult"), "CosineAnnealingWarmRestarts: T_mult = \(tMult) is outside 1...1000000") }
                self = .warmRestarts(t0: t0, tMult: tMult, etaMin: try a.double("eta_min"))
            case "SequentialLR", "ChainedScheduler":
                guard case .list(let items) = try a.value("schedulers") else {
                    throw Self.fail(a.column("schedulers"), "\(name): schedulers must be a list of scheduler calls")
                }
                guard !items.isEmpty else {
                    throw Self.fail(a.column("schedulers"), name == "SequentialLR" ? "ValueError: SequentialLR expects at least one scheduler, but got no scheduler."
                                        : "ValueError: ChainedScheduler expects at least one scheduler to be chained, but got no scheduler.")
                }
                let inner = try items.map { item -> Spec in
                    guard case .call(let c) = item else { throw Self.fail(a.column("schedulers"), "\(name): expected a scheduler call in schedulers, found \(item.typeName) \(item)") }
                    return try Spec(c, groups: groups, usesBeta1: usesBeta1, top: false, optimizerLR: optimizerLR)
                }
                if name == "SequentialLR" {
                    let milestones = try a.ints("milestones")
                    guard milestones.count == inner.count - 1 else {
                        throw Self.fail(a.column("milestones"), "ValueError: Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers \(inner.count) and the number of milestones to be equal to \(milestones.count)")
                    }
                    self = .sequential(inner, milestones: milestones)
                } else {
                    if case .none = try a.value("optimizer") {} else {
                        throw Self.fail(a.column("optimizer"), "ChainedScheduler(optimizer=...): leave the optimizer out (the trace has one)")
                    }
                    self = .chained(inner)
                }
            case "OneCycleLR":
                self = .oneCycle(try Self.oneCycle(&a, groups: groups))
            default:  // CyclicLR
                self = .cyclic(try Self.cyclic(&a, groups: groups))
            }
        }

        static func fail(_ column: Int, _ message: String) -> HalfTraceError {
            HalfTraceError.invalid("scheduler", "column \(column): \(message)")
        }

        static func oneCycle(_ a: inout Arguments, groups: Int) throws -> OneCycle {
            let total: Int
            if case .none = try a.value("total_steps") {
                guard case .int(let epochs) = try a.value("epochs"), case .int(let spe) = try a.value("steps_per_epoch") else {
                    if case .none = try a.value("epochs") {
                        throw fail(a.call.column, "ValueError: You must define either total_steps OR (epochs AND steps_per_epoch)")
                    }
                    if case .none = try a.value("steps_per_epoch") {
                        throw fail(a.call.column, "ValueError: You must define either total_steps OR (epochs AND steps_per_epoch)")
                    }
                    throw fail(a.column("epochs"), "ValueError: Expected positive integer epochs and steps_per_epoch")
                }
                guard epochs > 0 else { throw fail(a.column("epochs"), "ValueError: Expected positive integer epochs, but got \(epochs)") }
                guard spe > 0 else { throw fail(a.column("steps_per_epoch"), "ValueError: Expected positive integer steps_per_epoch, but got \(spe)") }
                let (product, overflow) = epochs.multipliedReportingOverflow(by: spe)
                guard !overflow, product <= 100_000_000 else {
                    throw fail(a.column("epochs"), "OneCycleLR: epochs * steps_per_epoch = \(epochs) * \(spe) is beyond 100000000 steps")
                }
                total = product
            } else {
                guard case .int(let t) = try a.value("total_steps"), t > 0 else {
                    throw fail(a.column("total_steps"), "ValueError: Expected positive integer total_steps, but got \(try a.value("total_steps"))")
                }
                guard t <= 100_000_000 else { throw fail(a.column("total_steps"), "OneCycleLR: total_steps = \(t) is outside 1...100000000") }
                total = t
            }
            guard case .float(let pct) = try a.value("pct_start"), pct >= 0, pct <= 1 else {
                throw fail(a.column("pct_start"), "ValueError: Expected float between 0 and 1 pct_start, but got \(try a.value("pct_start"))")
            }
            guard case .string(let anneal) = try a.value("anneal_strategy"), anneal == "cos" || anneal == "linear" else {
                throw fail(a.column("anneal_strategy"), "ValueError: anneal_strategy must be one of 'cos' or 'linear', instead got \(try a.value("anneal_strategy").str)")
            }
            return OneCycle(maxLRs: try a.perGroup("max_lr", groups), totalSteps: total, pctStart: pct, cosine: anneal == "cos",
                            cycleMomentum: try a.bool("cycle_momentum"), baseMomentums: try a.perGroup("base_momentum", groups),
                            maxMomentums: try a.perGroup("max_momentum", groups), divFactor: try a.double("div_factor"),
                            finalDivFactor: try a.double("final_div_factor"), threePhase: try a.bool("three_phase"))
        }

        static func cyclic(_ a: inout Arguments, groups: Int) throws -> Cyclic {
            if case .none = try a.value("scale_fn") {} else {
                throw fail(a.column("scale_fn"), "CyclicLR(scale_fn=...) takes a Python function: use mode='triangular', 'triangular2' or 'exp_range'")
            }
            guard case .string(let m) = try a.value("mode"), let mode = Cyclic.Mode(rawValue: m) else {
                throw fail(a.column("mode"), "ValueError: mode is invalid and scale_fn is None")
            }
            let up = try a.int("step_size_up")
            let down: Int
            if case .none = try a.value("step_size_down") { down = up } else { down = try a.int("step_size_down") }
            guard up + down > 0 else { throw fail(a.column("step_size_up"), "CyclicLR: step_size_up + step_size_down must be > 0 (PyTorch divides by it)") }
            return Cyclic(baseLRs: try a.perGroup("base_lr", groups), maxLRs: try a.perGroup("max_lr", groups), stepSizeUp: up, stepSizeDown: down,
                          mode: mode, gamma: try a.double("gamma"), cycleMomentum: try a.bool("cycle_momentum"),
                          baseMomentums: try a.perGroup("base_momentum", groups), maxMomentums: try a.perGroup("max_momentum", groups))
        }

        // MARK: the exact schedule

        var isLinear: Bool { if case .linear = self { true } else { false } }

        /// How far through a ramp of `total` steps step k is: min(total, k) / total, and for a
        /// ramp of no steps its limit, 0 at step 0 and 1 after (PyTorch's chainable LinearLR and
        /// PolynomialLR never divide by total_iters = 0 and keep the lr they start with; the trace
        /// shows where they depart from the ramp).
        static func ramp(_ k: Int, _ total: Int) -> Double {
            total == 0 ? (k == 0 ? 0 : 1) : Double(min(total, k)) / Double(total)
        }

        /// Each group's exact lr after k steps, for a scheduler whose groups start at `base`.
        func exact(_ k: Int, base: [Double], increment: Int = 1) -> [Double] {
            switch self {
            case let .stepLR(stepSize, gamma): return base.map { $0 * pow(gamma, Double(k / stepSize)) }
            case let .multiStep(milestones, gamma):
                let passed = milestones.filter { $0 <= k }.count
                return base.map { $0 * pow(gamma, Double(passed)) }
            case let .constant(factor, total): return base.map { $0 * (k >= total ? 1 : factor) }
            case let .linear(start, end, total):
                guard total != 0 else { return base.map { $0 * (start + (end - start) * Self.ramp(k, total)) } }
                return base.map { $0 * (start + (end - start) * Double(min(total, k)) / Double(total)) }
            case let .exponential(gamma): return base.map { $0 * pow(gamma, Double(k)) }
            case let .polynomial(total, power): return base.map { $0 * pow(1 - Self.ramp(k, total), power) }
            case let .cosine(tMax, etaMin):
                return base.map { CosineWarmRestarts.annealed(base: $0, etaMin: etaMin, tCur: Double(k), tI: Double(tMax)) }
            case let .warmRestarts(t0, tMult, etaMin):
                let p = CosineWarmRestarts.position(of: Double(k), t0: t0, tMult: tMult)
                return base.map { CosineWarmRestarts.annealed(base: $0, etaMin: etaMin, tCur: p.tCur, tI: p.tI) }
            case let .sequential(inner, milestones):
                let idx = milestones.filter { $0 <= k }.count
                return inner[idx].exact(k - (idx > 0 ? milestones[idx - 1] : 0), base: base)
            case let .chained(inner):
                var lr = base
                for s in inner {
                    let f = s.exact(k, base: base)
                    lr = zip(lr, zip(f, base)).map { l, fb in fb.1 == 0 ? fb.0 : l * (fb.0 / fb.1) }
                }
                return lr
            case let .oneCycle(o):
                return (0..<base.count).map { j in o.exact(k, group: j).lr }
            case let .cyclic(c):
                return (0..<base.count).map { j in c.exact(k, group: j).lr }
            case let .deepSpeed(d):
                return d.value(it: k - 1, groupLRs: base, exact: true).lr
            case let .megatron(m):
                return base.map { _ in m.lr(Double(k * increment)) }
            case let .timm(t):
                return t.lrs(k, base: base, exact: true)
            case let .transformers(t):
                return t.lrs(k, base: base, exact: true)
            }
        }

        /// Each group's exact momentum after k steps (the optimizer's own where nothing cycles it).
        func exactMomentum(_ k: Int, groups: Int, base: Double) -> [Double] {
            switch self {
            case .oneCycle(let o) where o.cycleMomentum: return (0..<groups).map { o.exact(k, group: $0).momentum }
            case .cyclic(let c) where c.cycleMomentum: return (0..<groups).map { c.exact(k, group: $0).momentum }
            case .deepSpeed(let d) where d.cyclesMomentum:
                return d.value(it: k - 1, groupLRs: Array(repeating: 0, count: groups), exact: true).momentum ?? Array(repeating: base, count: groups)
            case let .sequential(inner, milestones):
                // The scheduler in charge at k, or the last one before it that set momentum, at
                // its last step.
                let idx = milestones.filter { $0 <= k }.count
                func start(_ i: Int) -> Int { i > 0 ? milestones[i - 1] : 0 }
                for i in stride(from: idx, through: 0, by: -1) where inner[i].cyclesMomentum {
                    let local = i == idx ? k - start(i) : milestones[i] - 1 - start(i)
                    return inner[i].exactMomentum(max(local, 0), groups: groups, base: base)
                }
                return Array(repeating: base, count: groups)
            case let .chained(inner):
                return inner.last { $0.cyclesMomentum }?.exactMomentum(k, groups: groups, base: base) ?? Array(repeating: base, count: groups)
            default: return Array(repeating: base, count: groups)
            }
        }
    }
}

extension TorchScheduler.Spec.OneCycle {
    /// The phases' ends, exactly (pct_start * total_steps rounded where float arithmetic lands
    /// within a few ulps of an integer) or as PyTorch computes them (float).
    func phaseEnds(exact: Bool) -> [Double] {
        func end(_ x: Double, minus: Double) -> Double {
            var v = x
            if exact, abs(v - v.rounded()) <= 8 * v.ulp { v = v.rounded() }
            return v - minus
        }
        let t = Double(totalSteps)
        if threePhase { return [end(pctStart * t, minus: 1), end(2 * pctStart * t, minus: 2), t - 1] }
        return [end(pctStart * t, minus: 1), t - 1]
    }

    /// The (lr, momentum) of group j at step k, PyTorch's `get_lr` with exact or float phases.
    func value(_ k: Int, group j: Int, exact: Bool) -> (lr: Double, momentum: Double) {
        let initial = maxLRs[j] / divFactor, maxLR = maxLRs[j], minLR = initial / finalDivFactor
        let lrs: [(Double, Double)] = threePhase ? [(initial, maxLR), (maxLR, initial), (initial, minLR)] : [(initial, maxLR), (maxLR, minLR)]
        let ms: [(Double, Double)] = threePhase
            ? [(maxMomentums[j], baseMomentums[j]), (baseMomentums[j], maxMomentums[j]), (maxMomentums[j], maxMomentums[j])]
            : [(maxMomentums[j], baseMomentums[j]), (baseMomentums[j], maxMomentums[j])]
        let ends = phaseEnds(exact: exact)
        var start = 0.0
        let step = Double(k)
        for (i, end) in ends.enumerated() {
            if step <= end || i == ends.count - 1 {
                let pct = (step - start) / (end - start)
                return (anneal(lrs[i].0, lrs[i].1, pct), anneal(ms[i].0, ms[i].1, pct))
            }
            start = end
        }
        return (.nan, .nan)
    }

    func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        cosine ? end + (start - end) / 2.0 * (cos(Double.pi * pct) + 1) : (end - start) * pct + start
    }

    func exact(_ k: Int, group j: Int) -> (lr: Double, momentum: Double) { value(k, group: j, exact: true) }
}

extension TorchScheduler.Spec.Cyclic {
    var totalSize: Int { stepSizeUp + stepSizeDown }

    /// PyTorch's `get_lr` at step k: the cycle and position as floats (`exact` false) or exactly.
    func value(_ k: Int, group j: Int, exact: Bool) -> (lr: Double, momentum: Double) {
        let total = Double(totalSize), ratio = Double(stepSizeUp) / total
        let cycle: Double, x: Double
        if exact {
            cycle = Double(1 + k / totalSize)
            x = Double(k % totalSize) / total
        } else {
            cycle = (1 + Double(k) / total).rounded(.down)
            x = 1.0 + Double(k) / total - cycle
        }
        let scaleFactor = x <= ratio ? x / ratio : (x - 1) / (ratio - 1)
        let scale: Double
        switch mode {
        case .triangular: scale = 1
        case .triangular2: scale = 1 / pow(2.0, cycle - 1)
        case .expRange: scale = pow(gamma, Double(k))
        }
        let lr = baseLRs[j] + (maxLRs[j] - baseLRs[j]) * scaleFactor * scale
        let momentum = maxMomentums[j] - (maxMomentums[j] - baseMomentums[j]) * scaleFactor * scale
        return (lr, momentum)
    }

    func exact(_ k: Int, group j: Int) -> (lr: Double, momentum: Double) { value(k, group: j, exact: true) }
}

/// A call's arguments bound to a class's parameters as Python binds them.
struct Arguments {
    let call: PythonCall
    /// How Python names the callee in a TypeError: `f()` for a function, `C.__init__()` for a class.
    var callee: String { call.name.hasPrefix("get_") ? "\(call.name)()" : "\(call.name).__init__()" }
    var bound: [String: (PythonValue, Int)] = [:]
    let order: [String]

    init(_ call: PythonCall, signature: [(String, PythonValue?)]) throws {
        self.call = call
        order = signature.map(\.0)
        guard call.positional.count <= signature.count else {
            throw TorchScheduler.Spec.fail(call.positionalColumns[signature.count],
                                           "TypeError: \(call.name)() takes \(signature.count) positional arguments after the optimizer but \(call.positional.count) were given")
        }
        for (k, v) in call.positional.enumerated() { bound[signature[k].0] = (v, call.positionalColumns[k]) }
        for kw in call.keywords {
            guard order.contains(kw.name) else {
                throw TorchScheduler.Spec.fail(kw.column, "TypeError: \(callee) got an unexpected keyword argument '\(kw.name)'; its parameters: \(order.joined(separator: ", "))")
            }
            guard bound[kw.name] == nil else {
                throw TorchScheduler.Spec.fail(kw.column, "TypeError: \(callee) got multiple values for argument '\(kw.name)'")
            }
            bound[kw.name] = (kw.value, kw.column)
        }
        // Python names every missing argument: 'a', 'a' and 'b', 'a', 'b', and 'c'.
        let missing = signature.filter { bound[$0.0] == nil && $0.1 == nil }.map { "'\($0.0)'" }
        if !missing.isEmpty {
            let list = missing.count == 1 ? missing[0] : missing.count == 2 ? "\(missing[0]) and \(missing[1])"
                : missing.dropLast().joined(separator: ", ") + ", and " + missing.last!
            throw TorchScheduler.Spec.fail(call.column, "TypeError: \(callee) missing \(missing.count) required positional argument\(missing.count == 1 ? "" : "s"): \(list)")
        }
        for (name, def) in signature where bound[name] == nil { bound[name] = (def!, call.column) }
    }

    func value(_ name: String) throws -> PythonValue {
        guard let v = bound[name] else { throw TorchScheduler.Spec.fail(call.column, "\(call.name) has no parameter \(name)") }
        return v.0
    }
    func column(_ name: String) -> Int { bound[name]?.1 ?? call.column }

    func double(_ name: String) throws -> Double {
        let v = try value(name)
        guard let x = v.number else { throw TorchScheduler.Spec.fail(column(name), "\(call.name): \(name) must be a number, found \(v.typeName) \(v)") }
        guard x.isFinite else { throw TorchScheduler.Spec.fail(column(name), "\(call.name): \(name) = \(v) is not finite") }
        return x
    }

    func int(_ name: String) throws -> Int {
        let v = try value(name)
        guard case .int(let i) = v else { throw TorchScheduler.Spec.fail(column(name), "\(call.name): \(name) must be an integer, found \(v.typeName) \(v)") }
        guard (0...100_000_000).contains(i) else { throw TorchScheduler.Spec.fail(column(name), "\(call.name): \(name) = \(i) is outside 0...100000000") }
        return i
    }

    func ints(_ name: String) throws -> [Int] {
        let v = try value(name)
        guard case .list(let items) = v else { throw TorchScheduler.Spec.fail(column(name), "\(call.name): \(name) must be a list of integers, found \(v.typeName) \(v)") }
        return try items.map { item in
            guard case .int(let i) = item, (0...100_000_000).contains(i) else {
                throw TorchScheduler.Spec.fail(column(name), "\(call.name): \(name) must hold integers in 0...100000000, found \(item)")
            }
            return i
        }
    }

    func bool(_ name: String) throws -> Bool {
        let v = try value(name)
        guard case .bool(let b) = v else { throw TorchScheduler.Spec.fail(column(name), "\(call.name): \(name) must be True or False, found \(v)") }
        return b
    }

    /// One value or a list with one per group (PyTorch's `_format_param`; `mismatch` words the
    /// error for a list of another length as the package does, given its length).
    func perGroup(_ name: String, _ groups: Int, mismatch: ((Int) -> String)? = nil) throws -> [Double] {
        let v = try value(name)
        if case .list(let items) = v {
            guard items.count == groups else {
                throw TorchScheduler.Spec.fail(column(name), mismatch?(items.count)
                    ?? "ValueError: \(name) must have the same length as optimizer.param_groups. \(name) has \(items.count) values, param_groups has \(groups).")
            }
            return try items.map { item in
                guard let x = item.number, x.isFinite else { throw TorchScheduler.Spec.fail(column(name), "\(call.name): \(name) must hold numbers, found \(item)") }
                return x
            }
        }
        return Array(repeating: try double(name), count: groups)
    }
}

extension TorchScheduler {
    /// What a DeepSpeed config (ds_config.json) says: its "scheduler" block as a constructor call
    /// (`{"type": "WarmupCosineLR", "params": {...}}` is `WarmupCosineLR(**params)`, as
    /// `DeepSpeedEngine._scheduler_from_config` builds it), and from its "optimizer" block the lr
    /// (`params.lr`) and whether the optimizer keeps betas (Adam, AdamW, Lamb and their 1-bit and
    /// CPU variants), when present.
    public struct DeepSpeedConfig: Sendable {
        /// The scheduler's constructor.
        public var call: PythonCall
        /// The optimizer's lr, if the config names one.
        public var lr: Double?
        /// The optimizer keeps betas (Adam family).
        public var usesBeta1: Bool
    }

    /// Reads a DeepSpeed config's text (any line ending, a byte-order mark), naming what is
    /// missing or wrong.
    public static func deepSpeedConfig(_ text: String, path: String) throws -> DeepSpeedConfig {
        let value: PythonValue
        do { value = try PythonExpression.parseJSON(text) } catch let e as PythonSyntaxError {
            throw HalfTraceError.file(path, "not JSON: character \(e.column): \(e.message)")
        }
        guard case .dict(let top) = value else { throw HalfTraceError.file(path, "expected a JSON object, found \(value.typeName)") }
        try value.refuseRepeatedKeys(path: path)
        guard let block = top.first(where: { $0.name == "scheduler" })?.value else { throw HalfTraceError.file(path, field: "scheduler", "no \"scheduler\" block") }
        guard case .dict(let scheduler) = block else { throw HalfTraceError.file(path, field: "scheduler", "expected an object with \"type\" and \"params\"") }
        guard case .string(let type)? = scheduler.first(where: { $0.name == "type" })?.value else {
            throw HalfTraceError.file(path, field: "scheduler.type", "LR schedule type not defined in config")
        }
        guard case .dict(let params)? = scheduler.first(where: { $0.name == "params" })?.value else {
            throw HalfTraceError.file(path, field: "scheduler.params", "LR schedule params not defined in config")
        }
        guard DeepSpeedSchedule.names.contains(type) else {
            throw HalfTraceError.file(path, field: "scheduler.type", "\(type) is not a valid LR schedule (DeepSpeed's: \(DeepSpeedSchedule.names.joined(separator: ", ")))")
        }
        for item in params {
            if case .string("auto") = item.value { throw HalfTraceError.file(path, field: "scheduler.params.\(item.name)", PythonValue.autoMessage) }
        }
        var lr: Double?
        var beta1 = false
        if case .dict(let optimizer)? = top.first(where: { $0.name == "optimizer" })?.value {
            if case .string(let name)? = optimizer.first(where: { $0.name == "type" })?.value {
                let lower = name.lowercased()
                beta1 = lower.contains("adam") || lower.contains("lamb") || lower.contains("lion")
            }
            if case .dict(let p)? = optimizer.first(where: { $0.name == "params" })?.value, let v = p.first(where: { $0.name == "lr" })?.value {
                if case .string("auto") = v { throw HalfTraceError.file(path, field: "optimizer.params.lr", PythonValue.autoMessage) }
                guard let x = v.number, x.isFinite, x >= 0 else {
                    throw HalfTraceError.file(path, field: "optimizer.params.lr", "expected a finite learning rate >= 0, found \(v.typeName) \(v)")
                }
                lr = x
            }
        }
        return DeepSpeedConfig(call: PythonCall(qualifiedName: type, positional: [], positionalColumns: [], keywords: params, column: 1), lr: lr, usesBeta1: beta1)
    }
}

extension PythonValue {
    /// Why a config's `"auto"` cannot be traced.
    static let autoMessage = "\"auto\" is filled in by transformers' Trainer from its own arguments: give the value it resolves to"

    /// A JSON object that names a key twice, at any depth, is refused as DeepSpeed refuses it
    /// (`dict_raise_error_on_duplicate_keys`, runtime/config_utils.py: "Duplicate keys in
    /// DeepSpeed config"); a JSON reader would keep the last silently.
    func refuseRepeatedKeys(path: String, at prefix: String = "") throws {
        switch self {
        case .dict(let items):
            var seen = Set<String>()
            for item in items {
                let name = prefix.isEmpty ? item.name : prefix + "." + item.name
                guard seen.insert(item.name).inserted else { throw HalfTraceError.file(path, field: name, "Duplicate keys in DeepSpeed config: ['\(item.name)']") }
                try item.value.refuseRepeatedKeys(path: path, at: name)
            }
        case .list(let values):
            for (k, v) in values.enumerated() { try v.refuseRepeatedKeys(path: path, at: prefix + "[\(k)]") }
        default: break
        }
    }

    /// Python's `str()`: a string without its quotes, anything else as its repr.
    var str: String {
        if case .string(let s) = self { return s }
        return description
    }
}

extension TorchScheduler {
    /// The steps `trace` shows by default: the schedule's length and a few after it (OneCycleLR:
    /// total_steps - 1, where it ends at min_lr; PyTorch accepts one step more, extrapolating, and
    /// raises on the next).
    public var defaultSteps: Int { spec.length }
}

extension TorchScheduler.Spec {
    /// The default number of steps, at most 10^7 (computed in Double: a schedule's own lengths may
    /// be near Int.max).
    var length: Int { Self.steps(estimate) }

    static func steps(_ x: Double) -> Int { x.isFinite ? Int(min(max(x, 1), 10_000_000)) : 10_000_000 }

    var estimate: Double {
        switch self {
        case let .stepLR(s, _): return 4 * Double(s) + 1
        case let .multiStep(m, _): return Double(m.max() ?? 0) + 5
        case let .constant(_, t), let .linear(_, _, t), let .polynomial(t, _): return Double(t) + 5
        case .exponential: return 30
        case let .cosine(tMax, _): return 2 * Double(abs(tMax)) + 5
        case let .warmRestarts(t0, tMult, _):
            let m = Double(tMult)
            return Double(t0) * (tMult == 1 ? 3 : 1 + m + m * m) + 5
        case let .sequential(inner, milestones): return Double(milestones.last ?? 0) + (inner.last?.estimate ?? 0)
        case let .chained(inner): return inner.map(\.estimate).max() ?? 30
        case let .oneCycle(o): return Double(o.totalSteps) - 1
        case let .cyclic(c): return 2 * Double(c.totalSize) + 1
        case let .deepSpeed(d): return d.length
        case let .megatron(m): return m.decay.rounded(.up) + 5
        case let .timm(t): return Double(t.length)
        case let .transformers(t): return Double(t.length)
        }
    }
}

extension TorchScheduleTrace {
    /// The columns: step, then per group lr and package_lr (suffixed _pg<j> with several groups),
    /// momentum and package_momentum when the scheduler sets them, and departs.
    public var columnNames: [String] {
        let suffix = { (j: Int) in groups == 1 ? "" : "_pg\(j)" }
        var names = ["step"]
        for j in 0..<groups { names += ["lr" + suffix(j), "package_lr" + suffix(j)] }
        if momentum { for j in 0..<groups { names += ["momentum" + suffix(j), "package_momentum" + suffix(j)] } }
        if weightDecay { for j in 0..<groups { names += ["weight_decay" + suffix(j), "package_weight_decay" + suffix(j)] } }
        return names + ["departs"]
    }

    /// Row k's values in `columnNames`' order.
    public func row(_ k: Int) -> [Double] {
        var r = [Double(k)]
        for j in 0..<groups { r += [exactLR[k][j], packageLR[k][j]] }
        if momentum { for j in 0..<groups { r += [exactMomentum[k][j], packageMomentum[k][j]] } }
        if weightDecay { for j in 0..<groups { r += [exactWeightDecay[k][j], packageWeightDecay[k][j]] } }
        return r + [departs(k) ? 1 : 0]
    }

    /// Rows traced.
    public var count: Int { exactLR.count }
}
