import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim

/// The GradScaler options of a run (defaults reproduce PyTorch).
public struct ScalerConfig: Sendable, Codable, Equatable {
    /// nil: the precision's default (on for float16, off for bfloat16; see `Precision`).
    public var enabled: Bool? = nil
    /// The initial loss scale (init_scale, default 2^16).
    public var initScale = 65536.0
    /// growth_factor (default 2).
    public var growthFactor = 2.0
    /// backoff_factor (default 0.5).
    public var backoffFactor = 0.5
    /// growth_interval (default 2000).
    public var growthInterval = 2000
    /// The scale's floor, or nil for none (PyTorch's behaviour).
    public var minScale: Double? = nil
    /// The scale's ceiling, or nil for none (PyTorch's behaviour).
    public var maxScale: Double? = nil
    /// Overflows tolerated before a backoff (1 is PyTorch's behaviour).
    public var hysteresis = 1
    /// When the hysteresis budget refills.
    public var refill: GradScaler.HysteresisRefill = .afterCleanStep
    /// Another framework's loss-scaling rule (Megatron's, DeepSpeed's); nil: PyTorch's with the
    /// options above.
    public var rule: LossScaleRule? = nil

    /// PyTorch's defaults; the precision decides whether the scaler is on.
    public init() {}

    func make(active: Bool) throws -> GradScaler {
        do {
            if let rule { return try GradScaler(rule: rule, enabled: active) }
            return try GradScaler(initScale: initScale, growthFactor: growthFactor, backoffFactor: backoffFactor,
                                  growthInterval: growthInterval, enabled: active, minScale: minScale,
                                  maxScale: maxScale, hysteresis: hysteresis, refill: refill)
        } catch let e as HalfTraceError { throw e.inField("scaler") }
    }
}

/// Everything a training run depends on. Saved whole in checkpoints, so that a run can be
/// resumed, and compared field by field (`configurationChanges`) when a resume's configuration
/// differs.
///
/// The default is YOLOv5's recipe (`train.py` and `data/hyps/hyp.scratch-low.yaml`, v7.0): SGD
/// with Nesterov momentum 0.937, lr0 0.01, lrf 0.01 on the linear schedule, 3 warm-up epochs
/// with bias lr 0.1 and momentum 0.8, weight decay 5e-4 on weights only (scaled by
/// bs * accumulate / 64), gradients clipped to norm 10, nominal batch 64, and the loss = the
/// batch-mean loss * batch size.
public struct TrainingConfig: Sendable, Codable, Equatable {
    /// The toy problem (default mlp).
    public var model: ToyModel = .mlp
    /// The training precision (default fp32).
    public var precision: Precision = .fp32
    /// Epochs to train (default 30).
    public var epochs = 30
    /// nil: the model's own batch size.
    public var batchSize: Int? = nil
    /// nbs, YOLOv5's nominal batch size (64).
    public var nominalBatchSize = 64
    /// YOLOv5's hyper-parameters (defaults of `hyp.scratch-low.yaml`).
    public var hyp = ScheduleHyperparameters()
    /// The optimizer (default SGD, as YOLOv5).
    public var optimizer: OptimizerKind = .sgd
    /// The learning-rate schedule (default YOLOv5's linear one).
    public var scheduler: SchedulerKind = .linear
    /// The pasted schedule's constructor call as written in Python (`scheduler` `.pasted`).
    public var pastedScheduler: String? = nil
    /// The SGDR options (sgdr and sgdr-warmup).
    public var restarts = RestartOptions()
    /// Keep train.py's `last_epoch = start_epoch - 1`, so that epoch e trains at lr0 * lf(e - 1).
    public var yolov5Lag = false
    /// The GradScaler options.
    public var scaler = ScalerConfig()
    /// The gradient-norm clip, train.py's max_norm 10 (0 disables clipping).
    public var clipNorm = 10.0
    /// YOLOv5's loss gain (its `cls` hyper-parameter): the loss is gain * mean loss * batch size.
    public var lossGain = 1.0
    /// Scripted loss spikes: at these iterations the loss is also multiplied by `gain`, e.g. to
    /// provoke float16 overflow where it is unambiguous (the scaler's training scenario).
    public var lossSpikes = LossSpikes()
    /// Seeds the model's initialisation and the data order.
    public var seed: UInt64 = 0
    /// A digits CSV other than the bundled one (models mlp and probe only).
    public var digitsPath: String? = nil

    /// YOLOv5's recipe, with the defaults above.
    public init() {}

    /// The batch size in effect: `batchSize`, or the model's own.
    public var effectiveBatchSize: Int { batchSize ?? model.batchSize }

    /// This configuration with the batch size made explicit, so that two configurations that
    /// train the same way compare equal field by field.
    public var resolved: TrainingConfig {
        var c = self
        c.batchSize = effectiveBatchSize
        return c
    }

    /// Refuses nonsense with the name of the field, the value and what is valid.
    public func validate() throws {
        try HalfTraceError.check("epochs", epochs, in: 1...100_000)
        try HalfTraceError.check("batch_size", effectiveBatchSize, in: 1...100_000)
        try HalfTraceError.check("nominal_batch_size", nominalBatchSize, in: 1...100_000)
        do { try hyp.validate() } catch let e as HalfTraceError { throw e.inField("hyp") }
        try HalfTraceError.check("clip_norm", clipNorm, in: 0...1e12, expected: "[0, 1e12] (0 disables clipping)")
        guard lossGain.isFinite, lossGain > 0, lossGain <= 1e6 else {
            throw HalfTraceError.invalid("loss_gain", "\(lossGain) is outside (0, 1e6]")
        }
        _ = try scaler.make(active: true)
        if scaler.enabled == true && !precision.hasHalfGradients {
            throw HalfTraceError.invalid("scaler.enabled", "precision \(precision.rawValue) has no 16-bit gradients for a GradScaler to scale")
        }
        if optimizer != .sgd && hyp.momentum >= 1 {
            throw HalfTraceError.invalid("hyp.momentum", "\(hyp.momentum) is beta1 for Adam and must be < 1")
        }
        if digitsPath != nil && !model.usesDigits {
            throw HalfTraceError.invalid("digits_path", "a digits CSV is the data of models mlp and probe; model \(model.rawValue) has its own data")
        }
        if yolov5Lag && !scheduler.isLambda {
            throw HalfTraceError.invalid("yolov5_lag", "train.py's lag is a LambdaLR behaviour; the \(scheduler.rawValue) schedule has none")
        }
        if (scheduler == .pasted) != (pastedScheduler != nil) {
            throw HalfTraceError.invalid("scheduler", scheduler == .pasted ? "the pasted schedule needs its constructor call" : "a constructor call is the pasted schedule's, not \(scheduler.rawValue)'s")
        }
        if let pastedScheduler { _ = try YOLOv5Multiplier(pasted: pastedScheduler, lr0: hyp.lr0, epochs: epochs) }
        do { try restarts.validate(for: scheduler) } catch let e as HalfTraceError { throw e.inField("restarts") }
        do { try lossSpikes.validate(epochs: epochs) } catch let e as HalfTraceError { throw e.inField("loss_spikes") }
    }

    /// Every field's library name (`epochs`, `hyp.lr0`, `scaler.min_scale`, ...), as
    /// `configurationChanges` names them.
    public static let fieldNames: Set<String> = {
        var every = TrainingConfig()  // optionals set, so that the encoding has them
        every.batchSize = 1
        every.restarts.cycleLimit = 1
        every.digitsPath = ""
        every.scaler.enabled = true
        every.scaler.minScale = 1
        every.scaler.maxScale = 1
        every.scaler.rule = .defaults(.megatron)
        return Set(flattenedFields(every).keys)
    }()

    /// Whether the run uses a GradScaler: the 16-bit precisions, by default for float16 and
    /// when asked for bfloat16.
    public var usesScaler: Bool { precision.hasHalfGradients && (scaler.enabled ?? precision.scalerByDefault) }
}

/// Iterations at which the loss is multiplied by an extra gain (YOLOv5 has none: this scripts an
/// overflow for the GradScaler's training scenario).
public struct LossSpikes: Sendable, Codable, Equatable {
    /// The global iterations (ni) at which the loss is multiplied by `gain`.
    public var iterations: [Int] = []
    /// The extra loss factor at those iterations, in (0, 1e30].
    public var gain = 1.0

    /// Spikes of `gain` at `iterations` (none by default).
    public init(iterations: [Int] = [], gain: Double = 1) {
        self.iterations = iterations
        self.gain = gain
    }

    func validate(epochs: Int) throws {
        guard iterations.count <= 100_000 else { throw HalfTraceError.invalid("iterations", "\(iterations.count) spikes; at most 100000") }
        for i in iterations where i < 0 { throw HalfTraceError.invalid("iterations", "\(i) is not an iteration") }
        guard gain.isFinite, gain > 0, gain <= 1e30 else { throw HalfTraceError.invalid("gain", "\(gain) is outside (0, 1e30]") }
    }

    /// The extra gain at iteration `ni`.
    func gain(at ni: Int) -> Double { iterations.contains(ni) ? gain : 1 }
}

extension RestartOptions {
    /// PyTorch's checks (T_0 >= 1, T_mult >= 1, eta_min finite) and the extras' ranges; the extras
    /// belong to sgdr-warmup only.
    func validate(for scheduler: SchedulerKind) throws {
        try HalfTraceError.check("T_0", t0, in: 1...1_000_000)
        try HalfTraceError.check("T_mult", tMult, in: 1...1_000_000)
        try HalfTraceError.check("eta_min", etaMin, in: 0...1e12)
        guard cycleDecay.isFinite, cycleDecay > 0, cycleDecay <= 1 else { throw HalfTraceError.invalid("cycle_decay", "\(cycleDecay) is outside (0, 1]") }
        guard restartWarmup.isFinite, restartWarmup >= 0, restartWarmup < Double(t0) else {
            throw HalfTraceError.invalid("restart_warmup", "\(restartWarmup) is outside [0, T_0 = \(t0))")
        }
        if let cycleLimit { try HalfTraceError.check("cycle_limit", cycleLimit, in: 1...1_000_000) }
        if scheduler != .sgdrWarmup && !isPlain {
            throw HalfTraceError.invalid("cycle_decay", "cycle decay, re-warm-up and a cycle limit belong to the sgdr-warmup schedule, not \(scheduler.rawValue)")
        }
    }
}
