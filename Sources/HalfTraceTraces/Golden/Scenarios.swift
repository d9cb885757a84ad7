import HalfTraceKernels
import HalfTraceOptim

/// Builds scenarios from their configuration (`kind=...` selects the type).
enum ScenarioFactory {
    static func make(_ config: ScenarioConfig) throws -> Scenario {
        let c = ConfigReader(config: config)
        switch try c.string("kind") {
        case "interp": return try InterpScenario(c)
        case "lambda": return try LambdaScenario(c)
        case "warmup": return try WarmupScenario(c)
        case "accumulate_ramp": return try AccumulateRampScenario(c)
        case "sgdr": return try SGDRScenario(c)
        case "sgdr_restarts": return try SGDRRestartsScenario(c)
        case "quadratic": return try QuadraticScenario(c)
        case "scaler": return try ScalerScenario(c)
        case "training": return try TrainingScenario(c)
        case "training_epochs": return try TrainingEpochsScenario(c)
        case "accumulation": return try AccumulationScenario(c)
        case "resume": return try ResumeScenario(c)
        case "anchor_metric": return try AnchorMetricScenario(c)
        case "anchor_search": return try AnchorSearchScenario(c)
        case "training_reference": return try ReferenceTrainingScenario(c)
        case "sgdr_warmup": return try SGDRWarmupScenario(c)
        case "family_schedules": return try FamilySchedulesScenario(c)
        case "family_scalers": return try FamilyScalersScenario(c)
        case "scaler_min_raise": return try ScalerMinRaiseScenario(c)
        case "pasted_schedules": return try PastedSchedulesScenario(c)
        case "detector": return try DetectorTrainingScenario(c)
        case "detector_epochs": return try DetectorEpochsScenario(c)
        case let k: throw HalfTraceError.invalid("config.kind", "unknown kind '\(k.prefix(40))'")
        }
    }
}

/// The scenarios in Golden/, in the order `check` runs and prints them.
public enum Scenarios {
    static let warmupDefaults: [(String, String)] = ScheduleHyperparameters.configPairs()
        + [("epochs", "10"), ("nb", "24"), ("batch_size", "16"), ("nbs", "64"), ("cos_lr", "false")]

    static func scaler(_ pairs: [(String, String)]) -> [(String, String)] {
        var base: [(String, String)] = [("kind", "scaler"), ("init_scale", "65536"), ("growth_factor", "2"),
                                        ("backoff_factor", "0.5"), ("growth_interval", "2000"), ("steps", "40"),
                                        ("inf_steps", "none"), ("accumulate", "1"), ("min_scale", "none"),
                                        ("max_scale", "none"), ("hysteresis", "1"), ("refill", "clean")]
        for (k, v) in pairs { base[base.firstIndex { $0.0 == k }!].1 = v }
        return base
    }

    /// Overflows spaced closer than the growth interval, so that the two refill rules part:
    /// apex refills after the clean steps in between, Megatron only after a growth.
    static let hysteresisPattern = "3,4,7,10,13,16,30,31,34,37,50"

    /// A digits MLP run; `scaler` nil: the precision's default.
    static func training(_ precision: String, scaler: Bool?, epochs: Int = 30) -> [(String, String)] {
        [("kind", "training"), ("model", "mlp"), ("precision", precision), ("epochs", "\(epochs)"),
         ("scaler", scaler.map { "\($0)" } ?? "default"), ("seed", "0")]
    }

    /// The shrunken-loss recipe: the loss times 1e-7 and the optimizer compensated (SGD is linear
    /// in the gradient, so fp32 follows nearly the default trajectory), so that float16 gradients
    /// underflow unless a scaler lifts them.
    static func shrunken(_ precision: String, scaler: Bool?) -> [(String, String)] {
        epochs(training(precision, scaler: scaler)) + shrunkenChanges
    }

    static let shrunkenChanges: [(String, String)] = [("loss_gain", "1e-07"), ("lr0", "100000.0"), ("warmup_bias_lr", "1000000.0"),
                                                      ("weight_decay", "5e-11"), ("clip_norm", "1e-06")]

    /// The precisions `precision_comparison` sets side by side: (precision, scaler, legend, scenario suffix).
    static let precisionRuns: [(String, Bool?, String, String)] = [
        ("fp32", nil, "fp32", "fp32"), ("amp", nil, "amp + scaler", "amp"), ("amp", false, "amp, no scaler", "amp_noscaler"),
        ("amp-bf16", nil, "amp-bf16 (no scaler)", "amp_bf16"), ("fp16", nil, "fp16 + scaler", "fp16"),
        ("fp16", false, "fp16, no scaler", "fp16_noscaler"), ("bf16", nil, "bf16 (no scaler)", "bf16"),
    ]

    /// A probe-model run against the Float64 reference trainer: the defaults below, then `changes`.
    static func reference(_ changes: [(String, String)]) -> [(String, String)] {
        var base: [(String, String)] = [("kind", "training_reference"), ("model", "probe"), ("precision", "fp64"), ("optimizer", "sgd"),
                                        ("scheduler", "linear"), ("batch_size", "16"), ("nbs", "64"), ("epochs", "12")]
            + ScheduleHyperparameters.configPairs()
            + [("yolov5_lag", "false"), ("clip_norm", "10.0"), ("loss_gain", "1.0"), ("seed", "0"), ("t0", "10"), ("t_mult", "2"),
               ("eta_min", "0.0"), ("cycle_decay", "1.0"), ("restart_warmup", "0.0"), ("cycle_limit", "0"), ("spikes", "none"),
               ("spike_gain", "1.0"), ("init_scale", "65536.0"), ("growth_interval", "2000"), ("max_scale", "none")]
        for (k, v) in changes { base[base.firstIndex { $0.0 == k }!].1 = v }
        return base
    }

    static func epochs(_ pairs: [(String, String)]) -> [(String, String)] {
        [("kind", "training_epochs")] + pairs.dropFirst()
    }

    // The scenarios, each named once; `all` lists them in the order `check` prints them, and
    // the figures below refer to them as values.
    static let interpDocument = ScenarioSpec("interp_document", "numpy.interp: the document's example (xp 1..5, fp 3..11)",
                                             [("kind", "interp"), ("xp", "1,2,3,4,5"), ("fp", "3,5,7,9,11"), ("x", "0,1.5,3,4.5,6")])
    static let warmupFormula = ScenarioSpec("warmup_yolov5_formula", "YOLOv5 warm-up, hyp.scratch-low, nb 24, batch 16, 10 epochs (the formula)",
                                            [("kind", "warmup")] + warmupDefaults + [("yolov5_lag", "false")])
    static let warmupLag = ScenarioSpec("warmup_yolov5_lag", "YOLOv5 warm-up, hyp.scratch-low, nb 24, batch 16, 10 epochs (train.py's one-epoch lag)",
                                        [("kind", "warmup")] + warmupDefaults + [("yolov5_lag", "true")])
    static let cosineVsLinear = ScenarioSpec("cosine_vs_linear", "YOLOv5 one_cycle vs linear multiplier, 100 epochs, lrf 0.1 (the document's figure)",
                                             [("kind", "lambda"), ("epochs", "100"), ("lrf", "0.1")])
    static let sgdrDocumentEpoch = ScenarioSpec("sgdr_document_epoch", "SGDR, T_0 10, T_mult 2, lr 0.001 (the document's example), stepped per epoch",
                                                [("kind", "sgdr"), ("lr", "0.001"), ("t0", "10"), ("t_mult", "2"), ("eta_min", "0"), ("epochs", "150"),
                                                 ("steps_per_epoch", "1")])
    static let sgdrDocumentBatch = ScenarioSpec("sgdr_document_batch", "SGDR, T_0 10, T_mult 2, lr 0.001, stepped per batch at epoch + i/10",
                                                [("kind", "sgdr"), ("lr", "0.001"), ("t0", "10"), ("t_mult", "2"), ("eta_min", "0"), ("epochs", "150"),
                                                 ("steps_per_epoch", "10")])
    static let sgdrPyTorchRestarts = ScenarioSpec(
        "sgdr_pytorch_restarts", "SGDR at the restarts PyTorch's floating-point log misplaces (T_0=1, T_mult=3 at 121; T_0=5, T_mult=10 at 555; ...)",
        [("kind", "sgdr_restarts"), ("lr", "0.1"), ("eta_min", "0"), ("cases", "1:3:121,1:10:111,3:3:363,5:10:555,7:3:847")])
    static let scalerMLPOverflow = ScenarioSpec("scaler_mlp_overflow", "GradScaler on the digits MLP (amp): starts at 2^16, backs off on real float16 overflow",
                                                training("amp", scaler: true, epochs: 2))
    static let scalerSawtooth = ScenarioSpec("scaler_sawtooth", "GradScaler sawtooth: growth interval 4, an overflow every 10 steps",
                                             scaler([("init_scale", "1024"), ("growth_interval", "4"), ("steps", "60"), ("inf_steps", "9,19,29,39,49,59")]))
    static let scalerHysteresisClean = ScenarioSpec("scaler_hysteresis_clean", "GradScaler, hysteresis 2, refilled after any clean step (apex)",
                                                    scaler([("init_scale", "1024"), ("growth_interval", "4"), ("steps", "60"),
                                                            ("inf_steps", hysteresisPattern), ("hysteresis", "2"), ("refill", "clean")]))
    static let scalerHysteresisGrowth = ScenarioSpec("scaler_hysteresis_growth", "GradScaler, hysteresis 2, refilled only when the scale grows (Megatron)",
                                                     scaler([("init_scale", "1024"), ("growth_interval", "4"), ("steps", "60"),
                                                             ("inf_steps", hysteresisPattern), ("hysteresis", "2"), ("refill", "growth")]))
    static let scalerMinScale = ScenarioSpec("scaler_min_scale", "GradScaler, 30 consecutive overflows with min_scale 1 (the scale stops at the floor)",
                                             scaler([("init_scale", "65536"), ("growth_interval", "5"), ("steps", "45"),
                                                     ("inf_steps", (0..<30).map(String.init).joined(separator: ",")), ("min_scale", "1")]))
    static let accumulationEquivalence = ScenarioSpec(
        "accumulation_equivalence", "Gradient accumulation: 4 micro-batches of 16 equal one batch of 64 (softmax regression on digits)",
        [("kind", "accumulation"), ("rows", "64"), ("micro", "4"), ("seed", "0")])
    static let accumulateRamp = ScenarioSpec("accumulate_ramp", "YOLOv5's accumulate ramp with half-even rounding (batch 16, nbs 64, nw 300)",
                                             [("kind", "accumulate_ramp"), ("nb", "100"), ("batch_size", "16"), ("nbs", "64"), ("warmup_epochs", "3"),
                                              ("iterations", "320")])
    static let accumulateFractional = ScenarioSpec(
        "accumulate_fractional", "YOLOv5's accumulate ramp to a fractional target: batch 40, nbs 64 (nbs / batch = 1.6; 1.5 rounds half-even to 2), nw 300",
        [("kind", "accumulate_ramp"), ("nb", "100"), ("batch_size", "40"), ("nbs", "64"), ("warmup_epochs", "3"), ("iterations", "320")])
    static func quadratic(_ name: String, _ title: String, optimizer: String, lr: String, momentum: String, weightDecay: String,
                          nesterov: Bool) -> ScenarioSpec {
        ScenarioSpec(name, title, [("kind", "quadratic"), ("optimizer", optimizer), ("a", "1,10,0.3"), ("w0", "1,-1,2"), ("lr", lr),
                                   ("momentum", momentum), ("beta2", "0.999"), ("dampening", "0"), ("weight_decay", weightDecay),
                                   ("nesterov", "\(nesterov)"), ("eps", "1e-08"), ("steps", "200")])
    }
    static let optimizers = [
        quadratic("optimizer_sgd_nesterov", "SGD, Nesterov momentum 0.937, weight decay 5e-4, on a Float64 quadratic", optimizer: "sgd",
                  lr: "0.01", momentum: "0.937", weightDecay: "0.0005", nesterov: true),
        quadratic("optimizer_adam", "Adam, lr 0.01, betas (0.9, 0.999), on a Float64 quadratic", optimizer: "adam",
                  lr: "0.01", momentum: "0.9", weightDecay: "0", nesterov: false),
        quadratic("optimizer_adamw", "AdamW, lr 0.01, weight decay 0.05, on a Float64 quadratic", optimizer: "adamw",
                  lr: "0.01", momentum: "0.9", weightDecay: "0.05", nesterov: false),
    ]
    static let resumeAmp = ScenarioSpec("resume_amp", "Resume at iteration 60 (mid-epoch, in warm-up): uninterrupted vs HalfTrace resume vs YOLOv5-style resume",
                                        [("kind", "resume"), ("model", "mlp"), ("precision", "amp"), ("epochs", "8"), ("stop", "60"), ("seed", "0")])
    static let anchorsMetric = ScenarioSpec("anchors_metric", "AutoAnchor metric: best ratio and anchors above 1/4 per label, bundled boxes, YOLOv5 default anchors",
                                            [("kind", "anchor_metric"), ("img_size", "640"), ("thr", "4.0"),
                                             ("anchors", "10,13,16,30,33,23,30,61,62,45,59,119,116,90,156,198,373,326")])
    static let anchorsSearch = ScenarioSpec("anchors_search", "AutoAnchor search on 2,000 very elongated boxes: best fitness per generation (seed 0)",
                                            [("kind", "anchor_search"), ("labels", "2000"), ("seed", "0"), ("n", "9"), ("gen", "1000"), ("thr", "4.0")])
    static let sgdrWarmupRestarts = ScenarioSpec(
        "sgdr_warmup_restarts", "Warm-up + restarts: 3 warm-up epochs, T_0 4, T_mult 2, peak x0.7 per cycle, 1-epoch re-warm-up, 3 cycles",
        [("kind", "sgdr_warmup"), ("lr", "0.1"), ("warmup_epochs", "3.0"), ("t0", "4"), ("t_mult", "2"), ("eta_min", "0.001"),
         ("cycle_decay", "0.7"), ("restart_warmup", "1.0"), ("cycle_limit", "3"), ("epochs", "40"), ("steps_per_epoch", "10")])
    static let familySchedules = ScenarioSpec(
        "family_schedules", "timm and transformers on one recipe: 10 warm-up steps, then restarts (timm T 50, cycle_mul 1.2; transformers 2.3 hard-restart cycles)",
        [("kind", "family_schedules"), ("steps", "260"), ("lr", "0.1"), ("timm_t_initial", "50"), ("timm_cycle_mul", "1.2"), ("timm_cycle_decay", "0.8"),
         ("timm_cycle_limit", "4"), ("timm_lr_min", "0.001"), ("timm_warmup_t", "10"), ("timm_warmup_lr_init", "0.001"), ("timm_warmup_prefix", "true"),
         ("hf_num_warmup_steps", "10"), ("hf_num_training_steps", "240"), ("hf_num_cycles", "2.3"), ("hf_wsd_num_decay_steps", "60")])
    static let familyScalers = ScenarioSpec(
        "family_scalers", "Dynamic loss scaling of PyTorch, Megatron-core and DeepSpeed on one overflow pattern (init 1024, interval/window 4, hysteresis 2, min 1)",
        [("kind", "family_scalers"), ("steps", "60"), ("inf_steps", hysteresisPattern), ("init_scale", "1024"), ("growth_interval", "4"),
         ("min_scale", "1"), ("hysteresis", "2")])
    static let scalerMinRaise = ScenarioSpec(
        "scaler_min_raise", "Overflows past the minimum scale: PyTorch has no floor, Megatron-core and FP16_Optimizer hold it, DeepSpeed under ZeRO raises",
        [("kind", "scaler_min_raise"), ("steps", "24"), ("overflows", "14"), ("init_scale", "1024"), ("min_scale", "4"), ("hysteresis", "2"),
         ("growth_interval", "4")])
    static let pastedSchedules = ScenarioSpec(
        "pasted_schedules", "Pasted schedulers of five packages on one recipe: lr 0.1, 10 warm-up steps, 100 steps",
        [("kind", "pasted_schedules"), ("steps", "101"), ("lr", "0.1")])
    static let referenceSGDR = ScenarioSpec("reference_sgdr", "Trainer vs Float64 reference: SGD with SGDR per batch (T_0 3, T_mult 2: restarts at 3, 9, 21), batch 16",
                                            reference([("scheduler", "sgdr"), ("epochs", "24"), ("t0", "3"), ("t_mult", "2"), ("eta_min", "0.0001")]))
    static let references = [
        ScenarioSpec("reference_sgd_linear", "Trainer vs Float64 reference: probe model, SGD, linear, batch 16, nbs 64 (accumulate 1 -> 4)",
                     reference([])),
        ScenarioSpec("reference_sgd_onecycle_b24", "Trainer vs Float64 reference: SGD, one-cycle, batch 24 (accumulate 3, decay x1.125, nb 10), warm-up momentum 0.5, bias lr 0.05",
                     reference([("scheduler", "onecycle"), ("batch_size", "24"), ("epochs", "20"), ("warmup_momentum", "0.5"),
                                ("warmup_bias_lr", "0.05")])),
        referenceSGDR,
        ScenarioSpec("reference_adam_sgdr_warmup", "Trainer vs Float64 reference: Adam, warm-up + restarts (T_0 4, peak x0.7, re-warm-up 1, 4 cycles)",
                     reference([("optimizer", "adam"), ("scheduler", "sgdr-warmup"), ("lr0", "0.01"), ("epochs", "20"), ("warmup_epochs", "2.0"),
                                ("t0", "4"), ("t_mult", "1"), ("eta_min", "0.0001"), ("cycle_decay", "0.7"), ("restart_warmup", "1.0"),
                                ("cycle_limit", "4")])),
        ScenarioSpec("reference_adamw_linear", "Trainer vs Float64 reference: AdamW (decoupled decay 0.05), linear, batch 16",
                     reference([("optimizer", "adamw"), ("lr0", "0.01"), ("weight_decay", "0.05"), ("epochs", "10")])),
        ScenarioSpec("reference_amp_scaler", "Trainer (amp) vs Float64 reference: the scaler grows every 3 clean steps up to 2^9 and backs off on scripted overflows",
                     reference([("precision", "amp"), ("epochs", "8"), ("spikes", "20,45,46,70,95,110"), ("spike_gain", "100000.0"),
                                ("init_scale", "128.0"), ("growth_interval", "3"), ("max_scale", "512.0")])),
    ]

    /// A digits run of the default recipe: its per-iteration scenario (where there is one) and
    /// its per-epoch scenario, one training run.
    struct DigitsRun {
        let perIteration: ScenarioSpec?
        let perEpoch: ScenarioSpec

        init(_ suffix: String, _ legend: String, _ precision: String, scaler: Bool?, perIteration: Bool) {
            let run = training(precision, scaler: scaler)
            self.perIteration = perIteration ? ScenarioSpec("digits_\(suffix)", "Digits MLP, YOLOv5 recipe, \(legend): per iteration", run) : nil
            perEpoch = ScenarioSpec("digits_\(suffix)_epochs", "Digits MLP, YOLOv5 recipe, \(legend): per epoch", epochs(run))
        }

        var specs: [ScenarioSpec] { [perIteration, perEpoch].compactMap { $0 } }
    }
    static let digitsFP32 = DigitsRun("fp32", "float32", "fp32", scaler: nil, perIteration: true)
    static let digitsAmp = DigitsRun("amp", "amp with GradScaler", "amp", scaler: true, perIteration: true)
    static let digitsFP16 = DigitsRun("fp16", "float16 storage with GradScaler", "fp16", scaler: true, perIteration: true)
    static let digitsFP16NoScaler = DigitsRun("fp16_noscaler", "float16 storage without scaler", "fp16", scaler: false, perIteration: true)
    static let digitsAmpNoScaler = DigitsRun("amp_noscaler", "amp without scaler", "amp", scaler: false, perIteration: false)
    static let digitsAmpBF16 = DigitsRun("amp_bf16", "amp-bf16 (bfloat16 autocast, no scaler)", "amp-bf16", scaler: nil, perIteration: false)
    static let digitsBF16 = DigitsRun("bf16", "bfloat16 storage (no scaler)", "bf16", scaler: nil, perIteration: false)
    /// The per-epoch digits runs in `precisionRuns` order.
    static let digitsByPrecision = [digitsFP32, digitsAmp, digitsAmpNoScaler, digitsAmpBF16, digitsFP16, digitsFP16NoScaler, digitsBF16]

    static let shrunkenEpochs = precisionRuns.map { precision, scaler, legend, suffix in
        ScenarioSpec("shrunken_\(suffix)_epochs", "Digits MLP, loss x1e-7 with the optimizer compensated, \(legend): per epoch",
                     shrunken(precision, scaler: scaler))
    }

    /// A short detector run: a micro YOLOv5 of widths 8-16-16-32 on 16 + 8 synthetic images of
    /// 32 px, batch 4 (4 batches per epoch, accumulate ramping to 16), 30 epochs, so that warm-up
    /// (100 iterations, the floor) ends at iteration 100 and the linear schedule follows.
    static func detector(_ precision: String, scaler: Bool?, extra: [(String, String)] = []) -> [(String, String)] {
        [("kind", "detector"), ("precision", precision), ("epochs", "30"), ("batch_size", "4"), ("imgsz", "32"), ("train", "16"),
         ("val", "8"), ("widths", "8,16,16,32"), ("scaler", scaler.map { "\($0)" } ?? "default")] + extra + [("seed", "0")]
    }

    /// A detector run's per-iteration and per-epoch scenarios.
    struct DetectorRun {
        let perIteration: ScenarioSpec
        let perEpoch: ScenarioSpec

        init(_ suffix: String, _ legend: String, _ precision: String, scaler: Bool?, extra: [(String, String)] = []) {
            let run = detector(precision, scaler: scaler, extra: extra)
            perIteration = ScenarioSpec("detector_\(suffix)", "Micro YOLOv5 (32 px shapes), YOLOv5 recipe, \(legend): per iteration", run)
            perEpoch = ScenarioSpec("detector_\(suffix)_epochs", "Micro YOLOv5 (32 px shapes), YOLOv5 recipe, \(legend): per epoch",
                                    [("kind", "detector_epochs")] + run.dropFirst())
        }

        var specs: [ScenarioSpec] { [perIteration, perEpoch] }
    }
    static let detectorFP32 = DetectorRun("fp32", "float32", "fp32", scaler: nil)
    static let detectorAmp = DetectorRun("amp", "amp, GradScaler from 2^24 (it backs off on float16 overflow) growing every 8 steps", "amp",
                                         scaler: true, extra: [("init_scale", "16777216"), ("growth_interval", "8")])
    static let detectorFP16 = DetectorRun("fp16", "float16 storage with GradScaler", "fp16", scaler: true)

    public static let all: [ScenarioSpec] = [
        interpDocument, warmupFormula, warmupLag, cosineVsLinear, sgdrDocumentEpoch, sgdrDocumentBatch, sgdrPyTorchRestarts,
        scalerMLPOverflow, scalerSawtooth, scalerHysteresisClean, scalerHysteresisGrowth, scalerMinScale, accumulationEquivalence,
        accumulateRamp, accumulateFractional,
    ] + optimizers + [resumeAmp, anchorsMetric, anchorsSearch, sgdrWarmupRestarts, familySchedules, familyScalers, scalerMinRaise, pastedSchedules] + references
        + [digitsFP32, digitsAmp, digitsFP16, digitsFP16NoScaler, digitsAmpNoScaler, digitsAmpBF16, digitsBF16].flatMap(\.specs)
        + shrunkenEpochs + [detectorFP32, detectorAmp, detectorFP16].flatMap(\.specs)
}
