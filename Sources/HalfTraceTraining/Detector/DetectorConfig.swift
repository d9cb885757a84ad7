import HalfTraceAnchors
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceOptim

/// Everything a detector run depends on, YOLOv5's recipe by default (`train.py` and
/// `hyp.scratch-low.yaml`, v7.0): SGD with Nesterov momentum 0.937, lr0 0.01, lrf 0.01 on the
/// linear schedule, 3 warm-up epochs (bias lr from 0.1, momentum from 0.8), weight decay 5e-4
/// scaled by bs * accumulate / 64, gradients clipped to norm 10, nominal batch 64, an EMA of the
/// weights for validation, AutoAnchor, and YOLOv5's augmentation (mosaic, scale and translation,
/// HSV, left-right flips).
public struct DetectorConfig: Sendable, Codable, Equatable {
    /// The training precision (fp32, amp, amp-bf16, fp16 or bf16).
    public var precision: Precision = .fp32
    /// Epochs (YOLOv5's default 300; `--epochs`).
    public var epochs = 300
    /// Images per batch (YOLOv5's `--batch-size`, default 16).
    public var batchSize = 16
    /// The square input size in pixels (`--imgsz`, a multiple of 16; the data's images must have it).
    public var imageSize = 64
    /// nbs, the nominal batch size for accumulation (64).
    public var nominalBatchSize = 64
    /// The schedule's hyper-parameters.
    public var hyp = ScheduleHyperparameters()
    /// The loss gains and the augmentation.
    public var detection = DetectorHyperparameters()
    /// The optimizer (SGD).
    public var optimizer: OptimizerKind = .sgd
    /// The learning-rate schedule (linear).
    public var scheduler: SchedulerKind = .linear
    /// The pasted schedule's constructor call as written in Python (`scheduler` `.pasted`).
    public var pastedScheduler: String? = nil
    /// The SGDR options (sgdr and sgdr-warmup).
    public var restarts = RestartOptions()
    /// The GradScaler options (on by default for amp and fp16).
    public var scaler = ScalerConfig()
    /// train.py's `clip_grad_norm_(max_norm=10)` (0 disables clipping).
    public var clipNorm = 10.0
    /// The model's channel widths (yolov5n's 16, 32, 64, 128).
    public var widths = [16, 32, 64, 128]
    /// Run YOLOv5's `check_anchors` on the training labels (`--noautoanchor` turns it off).
    public var autoAnchor = true
    /// Validate with the exponential moving average of the weights (YOLOv5's `ModelEMA`).
    public var ema = true
    /// Skip the warm-up block altogether (an ablation: YOLOv5 itself always warms up for at least
    /// 100 iterations, so warmup_epochs 0 cannot turn it off); nil or false: YOLOv5's warm-up.
    public var skipWarmup: Bool? = nil
    /// Store the optimizer's updates of 16-bit weights with stochastic rounding instead of round to
    /// nearest (fp16 and bf16 only; `WeightRounding`); nil or false: round to nearest, as PyTorch.
    public var stochasticRounding: Bool? = nil
    /// Seeds initialisation, data order, flips and AutoAnchor's search.
    public var seed: UInt64 = 0
    /// A YOLO dataset folder (with data.yaml), or nil for HalfTrace's synthetic shapes.
    public var dataPath: String? = nil
    /// Synthetic training images (ignored with `dataPath`).
    public var syntheticTrain = 300
    /// Synthetic validation images (ignored with `dataPath`).
    public var syntheticValidation = 100
    /// The seed the synthetic shapes are drawn from (fixed across training seeds, so that seeds
    /// compare on the same data).
    public var dataSeed: UInt64 = 0

    /// YOLOv5's recipe with the defaults above.
    public init() {}

    /// Refuses nonsense with the field's library name, the value and what is valid.
    public func validate() throws {
        try HalfTraceError.check("epochs", epochs, in: 1...100_000)
        try HalfTraceError.check("batch_size", batchSize, in: 1...4096)
        try HalfTraceError.check("image_size", imageSize, in: 32...1024)
        guard imageSize % 16 == 0 else { throw HalfTraceError.invalid("image_size", "\(imageSize) is not a multiple of 16 (the detector's largest stride)") }
        try HalfTraceError.check("nominal_batch_size", nominalBatchSize, in: 1...100_000)
        do { try hyp.validate() } catch let e as HalfTraceError { throw e.inField("hyp") }
        do { try detection.validate() } catch let e as HalfTraceError { throw e.inField("hyp") }
        try HalfTraceError.check("clip_norm", clipNorm, in: 0...1e12, expected: "[0, 1e12] (0 disables clipping)")
        guard precision != .fp64 else { throw HalfTraceError.invalid("precision", "fp64 is the toy models' reference precision; the detector trains in fp32, amp, amp-bf16, fp16 or bf16") }
        _ = try scaler.make(active: true)
        if scaler.enabled == true && !precision.hasHalfGradients {
            throw HalfTraceError.invalid("scaler.enabled", "precision \(precision.rawValue) has no 16-bit gradients for a GradScaler to scale")
        }
        if stochasticRounding == true && !precision.parameterDType.isHalf {
            throw HalfTraceError.invalid("stochastic_rounding", "precision \(precision.rawValue) keeps float32 weights, which the optimizer stores exactly; stochastic rounding is for fp16 and bf16")
        }
        if optimizer != .sgd && hyp.momentum >= 1 {
            throw HalfTraceError.invalid("hyp.momentum", "\(hyp.momentum) is beta1 for Adam and must be < 1")
        }
        if (scheduler == .pasted) != (pastedScheduler != nil) {
            throw HalfTraceError.invalid("scheduler", scheduler == .pasted ? "the pasted schedule needs its constructor call" : "a constructor call is the pasted schedule's, not \(scheduler.rawValue)'s")
        }
        if let pastedScheduler { _ = try YOLOv5Multiplier(pasted: pastedScheduler, lr0: hyp.lr0, epochs: epochs) }
        do { try restarts.validate(for: scheduler) } catch let e as HalfTraceError { throw e.inField("restarts") }
        try DetectorArchitecture(widths: widths, classes: 1, anchors: DetectorTrainer.defaultAnchors).validate()
        if dataPath == nil {
            try HalfTraceError.check("synthetic_train", syntheticTrain, in: 1...100_000)
            try HalfTraceError.check("synthetic_validation", syntheticValidation, in: 1...100_000)
        }
    }

    /// Whether the run uses a GradScaler (float16 gradients by default; bfloat16 when asked).
    public var usesScaler: Bool { precision.hasHalfGradients && (scaler.enabled ?? precision.scalerByDefault) }

    /// The data: the folder at `dataPath`, or the synthetic shapes drawn from `seed`.
    public func loadData() throws -> DetectionData {
        if let dataPath { return try YOLOFolder.load(dataPath, imageSize: imageSize) }
        return SyntheticShapes.make(train: syntheticTrain, validation: syntheticValidation, size: imageSize, seed: dataSeed)
    }
}
