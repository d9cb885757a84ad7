import HalfTraceNN
import HalfTraceOptim

/// The optimizer a run builds (YOLOv5's `--optimizer`).
public enum OptimizerChoice: String, Sendable, Codable, CaseIterable {
    case sgd
    case adam
    case adamw
}

/// The GradScaler options of a run (defaults reproduce PyTorch).
public struct ScalerConfig: Sendable, Codable, Equatable {
    public var enabled = true
    public var initScale = 65536.0
    public var growthFactor = 2.0
    public var backoffFactor = 0.5
    public var growthInterval = 2000
    public var minScale: Double? = nil
    public var maxScale: Double? = nil
    public var hysteresis = 1
    public var refill: GradScaler.HysteresisRefill = .afterCleanStep

    public init() {}

    func make(active: Bool) throws -> GradScaler {
        try GradScaler(initScale: initScale, growthFactor: growthFactor, backoffFactor: backoffFactor,
                       growthInterval: growthInterval, enabled: active && enabled, minScale: minScale,
                       maxScale: maxScale, hysteresis: hysteresis, refill: refill)
    }
}

/// Everything a training run depends on. Saved whole in checkpoints, so that a run can be
/// resumed, and compared field by field when a resume's configuration differs.
///
/// The default is YOLOv5's recipe (SPEC §3): SGD with Nesterov momentum 0.937, lr0 0.01,
/// lrf 0.01 on the linear schedule, 3 warm-up epochs with bias lr 0.1 and momentum 0.8, weight
/// decay 5e-4 on weights only (scaled by bs * accumulate / 64), gradients clipped to norm 10,
/// nominal batch 64, and the loss = batch-mean loss * batch size (YOLOv5's `loss * bs`).
public struct TrainingConfig: Sendable, Codable, Equatable {
    public var model: ToyModel = .mlp
    public var precision: Precision = .fp32
    public var epochs = 30
    /// nil: the model's own batch size.
    public var batchSize: Int? = nil
    public var nominalBatchSize = 64
    public var hyp = ScheduleHyperparameters()
    public var optimizer: OptimizerChoice = .sgd
    public var cosineLR = false
    public var yolov5Lag = false
    public var scaler = ScalerConfig()
    public var clipNorm = 10.0
    /// YOLOv5's loss gain (its `cls` hyper-parameter): the loss is gain * mean loss * batch size.
    public var lossGain = 1.0
    /// Seeds the model's initialisation and the data order.
    public var seed: UInt64 = 0
    /// A digits CSV other than the bundled one (mlp only).
    public var digitsPath: String? = nil

    public init() {}

    public var effectiveBatchSize: Int { batchSize ?? model.batchSize }

    /// Refuses nonsense with the name of the field, the value and what is valid.
    public func validate() throws {
        guard (1...100_000).contains(epochs) else {
            throw ParameterError("epochs", "\(epochs) is outside 1...100000")
        }
        guard (1...100_000).contains(effectiveBatchSize) else {
            throw ParameterError("batch-size", "\(effectiveBatchSize) is outside 1...100000")
        }
        guard (1...100_000).contains(nominalBatchSize) else {
            throw ParameterError("nbs", "\(nominalBatchSize) is outside 1...100000")
        }
        try hyp.validate()
        try ParameterError.check("clip-norm", clipNorm, in: 0...1e12, expected: "[0, 1e12] (0 disables clipping)")
        guard lossGain.isFinite, lossGain > 0, lossGain <= 1e6 else {
            throw ParameterError("loss-gain", "\(lossGain) is outside (0, 1e6]")
        }
        _ = try scaler.make(active: true)
        if optimizer != .sgd && (hyp.momentum >= 1) {
            throw ParameterError("momentum", "\(hyp.momentum) is beta1 for Adam and must be < 1")
        }
    }

    /// Whether the run uses a GradScaler (amp and fp16 with the scaler enabled).
    public var usesScaler: Bool { precision != .fp32 && scaler.enabled }
}
