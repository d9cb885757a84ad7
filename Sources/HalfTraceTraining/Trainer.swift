import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim

/// What happened at one training iteration (one batch): the values in effect for the batch and
/// the optimizer step it ended with, if any.
public struct IterationRecord: Sendable, Equatable {
    /// The epoch, 0-based.
    public var epoch: Int
    /// ni, the global batch index: epoch * nb + i.
    public var iteration: Int
    /// Each group's lr and momentum (Adam's beta1) in effect for the batch: biases, weights,
    /// norm weights.
    public var lr: [Double]
    /// Each group's momentum (Adam's beta1) in effect for the batch.
    public var momentum: [Double]
    /// The accumulation count in effect for the batch.
    public var accumulate: Int
    /// The weight decay of the weights group (YOLOv5's scaled decay).
    public var weightDecay: Double
    /// The loss scale the batch was scaled with (1 without a scaler).
    public var scale: Double
    /// Whether an optimizer step (unscale, clip, step, update) ended this iteration.
    public var optimizerStep: Bool
    /// Whether that step found a non-finite gradient and was skipped.
    public var skipped: Bool
    /// The total gradient norm before clipping, at an optimizer step with clipping on.
    public var gradientNorm: Double?
    /// The scaler's growth tracker after the iteration (0 without a scaler).
    public var growthTracker: Int
    /// The batch-mean loss (before YOLOv5's `* bs`, the gain and scaling).
    public var loss: Double

    /// The biases' lr (group 0).
    public var lrBias: Double { lr[0] }
    /// The weights' lr (group 1).
    public var lrWeight: Double { lr[1] }
    /// The norm weights' lr (group 2).
    public var lrNorm: Double { lr[2] }
}

/// One epoch's summary, a row of results.csv.
public struct EpochResult: Sendable, Equatable {
    /// The epoch, 0-based.
    public var epoch: Int
    /// The mean of the epoch's batch-mean training losses.
    public var trainLoss: Double
    /// The mean loss per validation example, after the epoch.
    public var validationLoss: Double
    /// The fraction of validation examples classified correctly, after the epoch.
    public var validationAccuracy: Double
    /// The biases' lr at the epoch's last batch (logged before `scheduler.step()`, as train.py does).
    public var lrBias: Double
    /// The weights' lr at the epoch's last batch.
    public var lrWeight: Double
    /// The norm weights' lr at the epoch's last batch.
    public var lrNorm: Double
    /// The loss scale at the end of the epoch (1 without a scaler).
    public var scale: Double
    /// Optimizer steps skipped in the epoch.
    public var skipped: Int
    /// Fraction of 16-bit (float16 or bfloat16) gradient elements that rounded from nonzero to
    /// zero in this epoch.
    public var underflowFraction: Double
}

/// YOLOv5's training loop on a toy model (`train.py`, YOLOv5 v7.0):
///
///     for epoch: zero_grad; for i, batch: ni = i + nb * epoch
///         warm-up block (ni <= nw); loss = mean_loss * bs (* gain); scaler.scale(loss).backward()
///         if ni - last_opt_step >= accumulate:
///             unscale_, clip_grad_norm_(10), scaler.step, scaler.update, zero_grad, last_opt_step = ni
///     scheduler.step(); validate
///
/// Every random choice (initialisation, the order of each epoch) comes from seeded generators
/// whose state is part of `TrainerState`, so a run is bit-reproducible and can be resumed.
public final class Trainer {
    /// The run's validated configuration.
    public let config: TrainingConfig
    /// The training and validation rows.
    public let data: DataSplit
    /// The model being trained.
    public let model: MLP
    /// YOLOv5's three-group optimizer over the model's parameters.
    public let optimizer: Optimizer
    /// The GradScaler, disabled when the run uses none.
    public internal(set) var scaler: GradScaler
    /// The learning-rate, momentum and accumulation schedule.
    public internal(set) var schedule: YOLOv5Schedule
    /// nb = ceil(training rows / batch size); the last batch of an epoch may be smaller.
    public let batchesPerEpoch: Int

    /// The next epoch to run and the next batch within it.
    public internal(set) var epoch = 0
    /// The next batch within `epoch`.
    public internal(set) var batch = 0
    /// train.py's last_opt_step.
    public internal(set) var lastOptimizerStep = -1
    /// The data-order generator; `epochStartRNG` is its state when this epoch's order was drawn.
    var orderRNG: SplitMix64
    var epochStartRNG: SplitMix64
    var order: [Int] = []
    /// Running sums for the epoch in progress.
    var epochLossSum = 0.0
    var epochBatches = 0
    var epochSkips = 0
    var epochUnderflow = (elements: 0, flushed: 0)

    /// A fresh run: validates `config`, loads its data (unless `data` is given), and builds the model
    /// from the seed, YOLOv5's optimizer, the scaler and the schedule.
    public init(config: TrainingConfig, data: DataSplit? = nil) throws {
        try config.validate()
        self.config = config
        self.data = try data ?? config.model.loadData(digitsPath: config.digitsPath)
        let bs = config.effectiveBatchSize
        batchesPerEpoch = (self.data.train.count + bs - 1) / bs
        guard batchesPerEpoch >= 1 else { throw HalfTraceError.invalid("data", "the training set is empty") }
        model = config.model.makeModel(dtype: config.precision.parameterDType, seed: config.seed)
        let groups = model.parameterGroups
        optimizer = try yolov5Optimizer(config.optimizer, biases: groups.biases, weights: groups.weights,
                                        normWeights: groups.normWeights, hyp: config.hyp, batchSize: bs,
                                        nominalBatchSize: config.nominalBatchSize)
        scaler = try config.scaler.make(active: config.usesScaler)
        schedule = try YOLOv5Schedule(optimizer: optimizer, hyp: config.hyp, epochs: config.epochs,
                                      batchesPerEpoch: batchesPerEpoch, batchSize: bs,
                                      nominalBatchSize: config.nominalBatchSize, kind: config.scheduler,
                                      restarts: config.restarts, lag: config.yolov5Lag, pasted: config.pastedScheduler)
        orderRNG = SplitMix64.stream(seed: config.seed, index: 1)
        epochStartRNG = orderRNG
    }

    /// Whether every epoch has run.
    public var isFinished: Bool { epoch >= config.epochs }

    /// Batches completed since the start of the run.
    public var iterationsDone: Int { epoch * batchesPerEpoch + batch }

    /// Runs one batch; returns its record and, when it completed an epoch, the epoch's result.
    public func step() throws -> (IterationRecord, EpochResult?) {
        precondition(!isFinished, "the run has finished")
        if batch == 0 { beginEpoch() }
        let bs = config.effectiveBatchSize
        let ni = batch + batchesPerEpoch * epoch
        schedule.beforeBatch(iteration: ni, epoch: epoch, batch: batch, optimizer: optimizer)

        let lo = batch * bs, hi = min(lo + bs, data.train.count)
        let indices = order[lo..<hi]
        let x = data.train.inputs(indices, dtype: config.precision.parameterDType)
        let labels = data.train.labels(indices)
        let scaleUsed = scaler.isEnabled ? Double(scaler.scale) : 1
        let loss = config.precision.scope { config.model.loss(logits(x), labels: labels) }
        let lossValue = loss.item()
        let counter = UnderflowCounter()
        UnderflowCounter.$current.withValue(counter) {
            scaler.scale(loss * (config.lossGain * config.lossSpikes.gain(at: ni) * Double(hi - lo))).backward()
        }
        epochUnderflow.elements += counter.elements
        epochUnderflow.flushed += counter.flushed

        var stepped = false, skipped = false, norm: Double?
        if ni - lastOptimizerStep >= schedule.accumulate {
            let outcome = try yolov5OptimizerStep(optimizer, scaler: scaler, maxNorm: config.clipNorm)
            skipped = !outcome.stepped
            norm = config.clipNorm > 0 ? outcome.gradientNorm : nil
            lastOptimizerStep = ni
            stepped = true
            if skipped { epochSkips += 1 }
        }
        let g = optimizer.groups
        let record = IterationRecord(epoch: epoch, iteration: ni, lr: g.map(\.lr), momentum: g.map(\.momentum),
                                     accumulate: schedule.accumulate, weightDecay: g[1].weightDecay, scale: scaleUsed,
                                     optimizerStep: stepped, skipped: skipped, gradientNorm: norm,
                                     growthTracker: scaler.isEnabled ? scaler.growthTracker : 0, loss: lossValue)
        epochLossSum += lossValue
        epochBatches += 1
        batch += 1
        guard batch == batchesPerEpoch else { return (record, nil) }
        return (record, finishEpoch())
    }

    func beginEpoch() {
        epochStartRNG = orderRNG
        order = orderRNG.permutation(data.train.count)
        optimizer.zeroGrad()  // train.py zeroes at the start of every epoch: a partial window is dropped
    }

    func finishEpoch() -> EpochResult {
        let g = optimizer.groups
        let lrs = (g[0].lr, g[1].lr, g[2].lr)  // logged before scheduler.step(), as train.py does
        schedule.afterEpoch(optimizer: optimizer)
        let metrics = validationMetrics()
        let result = EpochResult(
            epoch: epoch, trainLoss: epochLossSum / Double(max(epochBatches, 1)), validationLoss: metrics.loss,
            validationAccuracy: metrics.accuracy, lrBias: lrs.0, lrWeight: lrs.1, lrNorm: lrs.2,
            scale: scaler.isEnabled ? Double(scaler.scale) : 1, skipped: epochSkips,
            underflowFraction: epochUnderflow.elements == 0 ? 0 : Double(epochUnderflow.flushed) / Double(epochUnderflow.elements))
        epoch += 1
        batch = 0
        epochLossSum = 0  // the running sums start afresh: a checkpoint between epochs holds zeros
        epochBatches = 0
        epochSkips = 0
        epochUnderflow = (0, 0)
        return result
    }

    /// The model's output; in pure float16 or bfloat16 it is cast to float32 for the loss (as `m(x).float()`),
    /// so that `loss * bs * scale` does not overflow binary16 before backward even starts.
    public func logits(_ x: Tensor) -> Tensor {
        let y = model(x)
        return config.precision.parameterDType.isHalf ? y.cast(to: .float32) : y
    }

    /// Runs to the end, calling `onIteration` and `onEpoch` as records arrive.
    public func run(onIteration: (IterationRecord) throws -> Void = { _ in },
                    onEpoch: (EpochResult) throws -> Void = { _ in }) throws {
        while !isFinished {
            let (record, result) = try step()
            try onIteration(record)
            if let result { try onEpoch(result) }
        }
    }
}
