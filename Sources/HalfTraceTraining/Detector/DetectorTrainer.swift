import HalfTraceAnchors
import HalfTraceAutograd
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim

/// One epoch of a detector run: a row of its results.csv, with YOLOv5's columns and HalfTrace's.
public struct DetectorEpoch: Sendable, Equatable {
    /// The epoch, 0-based.
    public var epoch: Int
    /// The running mean of the epoch's training loss items (train/box_loss, obj, cls).
    public var trainLoss: LossComponents
    /// Precision, recall, mAP@0.5 and mAP@0.5:0.95 of the validated model (the EMA).
    public var metrics: DetectionMetrics
    /// The validation loss items, averaged over validation batches (val/box_loss, obj, cls).
    public var validationLoss: LossComponents
    /// Each group's lr at the epoch's last batch (x/lr0, x/lr1, x/lr2: biases, weights, BatchNorm weights).
    public var lr: [Double]
    /// The loss scale at the end of the epoch (1 without a scaler).
    public var scale: Double
    /// Optimizer steps skipped in the epoch.
    public var skipped: Int
    /// Fraction of 16-bit gradient elements that rounded from nonzero to zero in the epoch.
    public var underflowFraction: Double
    /// Of the epoch's updates of 16-bit weights that changed the value computed in Float, the
    /// fraction that rounding to storage undid (the stored weight unchanged); 0 for float32 weights.
    public var stalledFraction: Double = 0

    /// YOLOv5's fitness of the epoch's metrics.
    public var fitness: Double { metrics.fitness }
}

/// YOLOv5's training loop (`train.py`, v7.0) on HalfTrace's micro YOLOv5:
///
///     for epoch: zero_grad; for i, (imgs, targets): ni = i + nb * epoch
///         warm-up block (ni <= nw); pred = model(imgs / 255) under autocast
///         loss, loss_items = compute_loss(pred, targets)     # loss = (lbox + lobj + lcls) * bs
///         scaler.scale(loss).backward()
///         if ni - last_opt_step >= accumulate:
///             unscale_, clip_grad_norm_(10), scaler.step, scaler.update, zero_grad, ema.update(model)
///         mloss = (mloss * i + loss_items) / (i + 1)
///     scheduler.step(); validate the EMA (NMS conf 0.001, IoU 0.6, multi-label), fitness
///
/// with the recipe's schedule, accumulation and GradScaler (`YOLOv5Schedule`, `yolov5Optimizer`,
/// `yolov5OptimizerStep`), AutoAnchor's anchors, Detect's bias initialisation, and YOLOv5's
/// augmentation (`Augmentation`: mosaic, random perspective, HSV, flips), each image's drawn from
/// its own seeded stream (seed, iteration, position in the batch), so a run is reproducible bit
/// for bit whatever the number of threads that prepare the batch.
public final class DetectorTrainer {
    /// YOLOv5's default anchors for the P3/8 and P4/16 layers (models/yolov5n.yaml), in pixels.
    public static let defaultAnchors: [[AnchorSize]] = [
        [AnchorSize(10, 13), AnchorSize(16, 30), AnchorSize(33, 23)],
        [AnchorSize(30, 61), AnchorSize(62, 45), AnchorSize(59, 119)],
    ]

    /// The run's validated configuration.
    public let config: DetectorConfig
    /// The training and validation images.
    public let data: DetectionData
    /// The model being trained (in the precision's parameter dtype).
    public let model: Detector
    /// The model validation runs (the EMA's weights in the precision's parameter dtype).
    let evaluationModel: Detector
    /// YOLOv5's three-group optimizer.
    public let optimizer: Optimizer
    /// The GradScaler, disabled when the run uses none.
    public let scaler: GradScaler
    /// The learning-rate, momentum and accumulation schedule.
    public private(set) var schedule: YOLOv5Schedule
    /// The exponential moving average of the weights, when the run keeps one.
    public private(set) var ema: ModelEMA?
    /// The loss gains as train.py scales them for this model and image size.
    public let gains: LossGains
    /// What AutoAnchor found.
    public let anchorCheck: AnchorCheck?
    /// nb = ceil(training images / batch size).
    public let batchesPerEpoch: Int

    /// The next epoch to run.
    public private(set) var epoch = 0
    /// The next batch within `epoch`.
    public private(set) var batch = 0
    /// train.py's last_opt_step.
    public private(set) var lastOptimizerStep = -1
    var orderRNG: SplitMix64
    var order: [Int] = []
    var meanLoss = LossComponents(box: 0, obj: 0, cls: 0)
    var epochSkips = 0
    var epochUnderflow = (elements: 0, flushed: 0)
    var epochUpdates = (changed: 0, stalled: 0)

    /// A fresh run: validates `config`, loads the data (unless given), runs AutoAnchor, builds the
    /// model, the optimizer, the scaler, the schedule and the EMA.
    public init(config: DetectorConfig, data: DetectionData? = nil) throws {
        try config.validate()
        self.config = config
        let data = try data ?? config.loadData()
        self.data = data
        guard data.train.count >= 1, data.validation.count >= 1 else { throw HalfTraceError.invalid("data", "both splits need at least one image") }
        guard data.train.labelCount > 0 else { throw HalfTraceError.invalid("data", "the training images have no labels") }
        for set in [data.train, data.validation] {
            for s in set.samples where s.image.width != config.imageSize || s.image.height != config.imageSize {
                throw HalfTraceError.invalid("image_size", "image \(s.name) is \(s.image.width) x \(s.image.height); the run trains on \(config.imageSize) x \(config.imageSize)")
            }
        }
        var anchors = Self.defaultAnchors
        if config.autoAnchor {
            let check = try AutoAnchor.check(data.train.anchorDataset, anchors: anchors, imageSize: config.imageSize,
                                             thr: config.detection.anchorT, seed: config.seed)
            anchors = check.layers
            anchorCheck = check
        } else {
            anchorCheck = nil
        }
        let architecture = DetectorArchitecture(widths: config.widths, classes: data.train.classes, anchors: anchors)
        let dtype = config.precision.parameterDType
        model = try Detector(architecture, dtype: dtype, seed: config.seed)
        evaluationModel = try Detector(architecture, dtype: dtype, seed: config.seed)
        evaluationModel.setTraining(false)
        gains = config.detection.scaled(scales: DetectorArchitecture.strides.count, classes: architecture.classes, imageSize: config.imageSize)
        let bs = config.batchSize
        batchesPerEpoch = (data.train.count + bs - 1) / bs
        let groups = model.parameterGroups
        optimizer = try yolov5Optimizer(config.optimizer, biases: groups.biases, weights: groups.weights, normWeights: groups.normWeights,
                                        hyp: config.hyp, batchSize: bs, nominalBatchSize: config.nominalBatchSize)
        scaler = try config.scaler.make(active: config.usesScaler)
        schedule = try YOLOv5Schedule(optimizer: optimizer, hyp: config.hyp, epochs: config.epochs, batchesPerEpoch: batchesPerEpoch,
                                      batchSize: bs, nominalBatchSize: config.nominalBatchSize, kind: config.scheduler,
                                      restarts: config.restarts, lag: false, pasted: config.pastedScheduler, warmup: config.skipWarmup != true)
        ema = config.ema ? ModelEMA(model.averagedState) : nil
        orderRNG = SplitMix64.stream(seed: config.seed, index: 1)
    }

    /// Whether every epoch has run.
    public var isFinished: Bool { epoch >= config.epochs }

    /// The anchors of each layer in pixels, as the loss and the decode read them.
    public var anchorSizes: [[SIMD2<Float>]] {
        model.architecture.anchors.map { $0.map { SIMD2(Float($0.w), Float($0.h)) } }
    }

    /// Runs one batch; returns its record and, when it completed an epoch, the epoch's row.
    public func step() throws -> (IterationRecord, DetectorEpoch?) {
        precondition(!isFinished, "the run has finished")
        if batch == 0 {
            order = orderRNG.permutation(data.train.count)
            meanLoss = LossComponents(box: 0, obj: 0, cls: 0)
            optimizer.zeroGrad()  // train.py zeroes at the start of every epoch
        }
        let bs = config.batchSize
        let ni = batch + batchesPerEpoch * epoch
        schedule.beforeBatch(iteration: ni, epoch: epoch, batch: batch, optimizer: optimizer)
        let indices = Array(order[(batch * bs)..<min((batch + 1) * bs, data.train.count)])
        let augmented = concurrentMap(Array(indices.enumerated())) { position, index in
            var rng = SplitMix64.stream(seed: config.seed &+ 2, index: UInt64(ni) << 16 | UInt64(position))
            return Augmentation.sample(data.train, index: index, hyp: config.detection.augmentation, using: &rng)
        }
        let (images, targets) = DetectionDataset.batch(images: augmented.map(\.0), labels: augmented.map(\.1),
                                                       dtype: config.precision.parameterDType)
        let scaleUsed = scaler.isEnabled ? Double(scaler.scale) : 1
        model.setTraining(true)
        let (loss, items) = config.precision.scope {
            DetectionLoss.compute(model(images), targets: targets, anchors: anchorSizes, strides: DetectorArchitecture.strides,
                                  classes: model.architecture.classes, gains: gains)
        }
        let counter = UnderflowCounter()
        UnderflowCounter.$current.withValue(counter) { scaler.scale(loss).backward() }
        epochUnderflow.elements += counter.elements
        epochUnderflow.flushed += counter.flushed

        var stepped = false, skipped = false, norm: Double?
        if ni - lastOptimizerStep >= schedule.accumulate {
            if config.stochasticRounding == true {
                var bits = SplitMix64.stream(seed: config.seed &+ 3, index: UInt64(ni))
                optimizer.weightRounding = .stochastic(seed: bits.next())
            }
            let updates = WeightUpdateCounter()
            let outcome = try WeightUpdateCounter.$current.withValue(updates) {
                try yolov5OptimizerStep(optimizer, scaler: scaler, maxNorm: config.clipNorm)
            }
            epochUpdates.changed += updates.changed
            epochUpdates.stalled += updates.stalled
            skipped = !outcome.stepped
            norm = config.clipNorm > 0 ? outcome.gradientNorm : nil
            ema?.update(with: model.averagedState)
            lastOptimizerStep = ni
            stepped = true
            if skipped { epochSkips += 1 }
        }
        let i = Double(batch)
        meanLoss = LossComponents(box: (meanLoss.box * i + items.box) / (i + 1), obj: (meanLoss.obj * i + items.obj) / (i + 1),
                                  cls: (meanLoss.cls * i + items.cls) / (i + 1))
        let g = optimizer.groups
        let record = IterationRecord(epoch: epoch, iteration: ni, lr: g.map(\.lr), momentum: g.map(\.momentum),
                                     accumulate: schedule.accumulate, weightDecay: g[1].weightDecay, scale: scaleUsed,
                                     optimizerStep: stepped, skipped: skipped, gradientNorm: norm,
                                     growthTracker: scaler.isEnabled ? scaler.growthTracker : 0, loss: items.total)
        batch += 1
        guard batch == batchesPerEpoch else { return (record, nil) }
        return (record, try finishEpoch())
    }

    func finishEpoch() throws -> DetectorEpoch {
        let lr = optimizer.groups.map(\.lr)  // logged before scheduler.step(), as train.py does
        schedule.afterEpoch(optimizer: optimizer)
        let (metrics, validationLoss) = try validate()
        let result = DetectorEpoch(
            epoch: epoch, trainLoss: meanLoss, metrics: metrics, validationLoss: validationLoss, lr: lr,
            scale: scaler.isEnabled ? Double(scaler.scale) : 1, skipped: epochSkips,
            underflowFraction: epochUnderflow.elements == 0 ? 0 : Double(epochUnderflow.flushed) / Double(epochUnderflow.elements),
            stalledFraction: epochUpdates.changed == 0 ? 0 : Double(epochUpdates.stalled) / Double(epochUpdates.changed))
        epoch += 1
        batch = 0
        epochSkips = 0
        epochUnderflow = (0, 0)
        epochUpdates = (0, 0)
        return result
    }

    /// The validated model's metrics and loss on the validation set (val.py during training: the
    /// EMA's weights, eval-mode BatchNorm, batches of twice the training batch).
    public func validate() throws -> (DetectionMetrics, LossComponents) {
        evaluationModel.load(averagedState: ema?.values ?? model.averagedState)
        return try DetectionValidation.run(evaluationModel, on: data.validation, batchSize: 2 * config.batchSize,
                                           precision: config.precision, gains: gains)
    }

    /// Runs to the end, calling `onIteration` and `onEpoch` as records arrive.
    public func run(onIteration: (IterationRecord) throws -> Void = { _ in }, onEpoch: (DetectorEpoch) throws -> Void = { _ in }) throws {
        while !isFinished {
            let (record, result) = try step()
            try onIteration(record)
            if let result { try onEpoch(result) }
        }
    }
}

/// val.py's loop during training (v7.0) on HalfTrace's detector.
public enum DetectionValidation {
    /// The metrics and the mean loss items of `model` (in evaluation mode) on `set`: per batch
    /// the raw outputs under the precision's autocast, ComputeLoss on them, Detect's decode, NMS
    /// (conf 0.001, IoU 0.6, multi-label, at most 300), boxes clipped to the image, process_batch
    /// against the labels; then ap_per_class over every image.
    public static func run(_ model: Detector, on set: DetectionDataset, batchSize: Int, precision: Precision,
                           gains: LossGains) throws -> (DetectionMetrics, LossComponents) {
        let anchors = model.architecture.anchors.map { $0.map { SIMD2(Float($0.w), Float($0.h)) } }
        let strides = DetectorArchitecture.strides, nc = model.architecture.classes
        var correct: [[Bool]] = [], confidence: [Float] = [], predicted: [Int] = [], targetClasses: [Int] = []
        var lossSum = LossComponents(box: 0, obj: 0, cls: 0), batches = 0
        var lo = 0
        while lo < set.count {
            let indices = Array(lo..<min(lo + batchSize, set.count))
            let (images, targets) = set.batch(indices, dtype: precision.parameterDType)
            let (outputs, items) = withNoGrad {
                precision.scope { () -> ([Tensor], LossComponents) in
                    let outputs = model(images)
                    return (outputs, DetectionLoss.compute(outputs, targets: targets, anchors: anchors, strides: strides,
                                                           classes: nc, gains: gains).components)
                }
            }
            lossSum = LossComponents(box: lossSum.box + items.box, obj: lossSum.obj + items.obj, cls: lossSum.cls + items.cls)
            batches += 1
            let rows = NonMaxSuppression.decode(outputs, anchors: anchors, strides: strides, classes: nc)
            for (k, i) in indices.enumerated() {
                let sample = set.samples[i]
                let (w, h) = (Float(sample.image.width), Float(sample.image.height))
                let detections = NonMaxSuppression.run(rows[k], confidenceThreshold: 0.001, iouThreshold: 0.6, multiLabel: true).map { d in
                    var d = d
                    d.box = SIMD4(Swift.min(Swift.max(d.box[0], 0), w), Swift.min(Swift.max(d.box[1], 0), h),
                                  Swift.min(Swift.max(d.box[2], 0), w), Swift.min(Swift.max(d.box[3], 0), h))
                    return d
                }
                let labels = sample.labels.map { LabelBox(classIndex: $0.classIndex, box: $0.corners(width: sample.image.width, height: sample.image.height)) }
                correct += DetectionMetrics.matches(detections, labels: labels)
                confidence += detections.map(\.confidence)
                predicted += detections.map(\.classIndex)
                targetClasses += labels.map(\.classIndex)
            }
            lo += batchSize
        }
        let n = Double(max(batches, 1))
        let metrics = try DetectionMetrics.summarize(correct: correct, confidence: confidence, predictedClass: predicted, targetClass: targetClasses)
        return (metrics, LossComponents(box: lossSum.box / n, obj: lossSum.obj / n, cls: lossSum.cls / n))
    }
}
