import HalfTraceKernels
/// YOLOv5's learning-rate, momentum and accumulation control (`train.py`, v7.0 = master):
///
/// - `accumulate = max(round(nbs / bs), 1)`; the weight decay is scaled once by `bs * accumulate / nbs`.
/// - `nw = max(round(warmup_epochs * nb), 100)` warm-up iterations.
/// - Before every batch with `ni <= nw`, xi = [0, nw]:
///   `accumulate = max(1, round(interp(ni, xi, [1, nbs / bs])))`;
///   group j: `lr = interp(ni, xi, [j == 0 ? warmup_bias_lr : 0, initial_lr * lf(epoch)])`;
///   `momentum = interp(ni, xi, [warmup_momentum, momentum])` (optimizers with momentum only).
/// - After every epoch, `scheduler.step()` (LambdaLR with `lf`).
///
/// `round` is half-to-even throughout. With `lag: false` (the default, the documents' formula)
/// epoch e trains at `lr0 * lf(e)` after warm-up. With `lag: true` the scheduler's last_epoch is
/// reset to `startEpoch - 1` as train.py does, so epoch e trains at `lr0 * lf(e - 1)`: the first
/// post-warm-up epoch repeats and `lrf` is never reached (`yolov5Lag`).
public struct YOLOv5Warmup: Sendable {
    public let hyp: ScheduleHyperparameters
    public let batchSize: Int
    public let nominalBatchSize: Int
    public let batchesPerEpoch: Int
    public let warmupIterations: Int
    public let lag: Bool
    public private(set) var scheduler: LambdaLR<YOLOv5Multiplier>
    /// The accumulation count in effect (micro-batches per optimizer step).
    public private(set) var accumulate: Int

    /// The initial accumulation `max(round(nbs / bs), 1)`.
    public static func initialAccumulate(batchSize: Int, nominalBatchSize: Int) -> Int {
        max(Int(roundHalfEven(Double(nominalBatchSize) / Double(batchSize))), 1)
    }

    /// `weight_decay * (bs * accumulate / nbs)`, YOLOv5's one-time scaling.
    public static func scaledWeightDecay(_ weightDecay: Double, batchSize: Int, nominalBatchSize: Int) -> Double {
        let accumulate = initialAccumulate(batchSize: batchSize, nominalBatchSize: nominalBatchSize)
        return weightDecay * (Double(batchSize * accumulate) / Double(nominalBatchSize))
    }

    /// `nw = max(round(warmup_epochs * nb), 100)`.
    public static func warmupIterations(warmupEpochs: Double, batchesPerEpoch: Int) -> Int {
        max(Int(roundHalfEven(warmupEpochs * Double(batchesPerEpoch))), 100)
    }

    /// Builds the LambdaLR over `optimizer` (whose groups' lr must be lr0) and, with `lag`,
    /// applies train.py's `scheduler.last_epoch = start_epoch - 1`.
    public init(optimizer: Optimizer, hyp: ScheduleHyperparameters, epochs: Int, batchesPerEpoch: Int,
                batchSize: Int, nominalBatchSize: Int = 64, cosine: Bool = false, lag: Bool = false,
                startEpoch: Int = 0) throws {
        try hyp.validate()
        guard batchesPerEpoch >= 1 else { throw HalfTraceError.invalid("nb", "\(batchesPerEpoch) is invalid: expected an integer >= 1") }
        guard batchSize >= 1 else { throw HalfTraceError.invalid("batch_size", "\(batchSize) is invalid: expected an integer >= 1") }
        guard nominalBatchSize >= 1 else { throw HalfTraceError.invalid("nbs", "\(nominalBatchSize) is invalid: expected an integer >= 1") }
        self.hyp = hyp
        self.batchSize = batchSize
        self.nominalBatchSize = nominalBatchSize
        self.batchesPerEpoch = batchesPerEpoch
        self.warmupIterations = Self.warmupIterations(warmupEpochs: hyp.warmupEpochs, batchesPerEpoch: batchesPerEpoch)
        self.lag = lag
        self.accumulate = Self.initialAccumulate(batchSize: batchSize, nominalBatchSize: nominalBatchSize)
        scheduler = LambdaLR(optimizer: optimizer, lambda: try YOLOv5Multiplier(cosine: cosine, epochs: epochs, lrf: hyp.lrf))
        scheduler.setLastEpoch(lag ? startEpoch - 1 : startEpoch)
        if !lag && startEpoch > 0 { scheduler.apply(to: optimizer) }
    }

    /// The lr multiplier lf.
    public var lf: YOLOv5Multiplier { scheduler.lambda }

    /// The warm-up block of train.py for global iteration `ni` in `epoch` (no-op after warm-up).
    public mutating func beforeBatch(iteration ni: Int, epoch: Int, optimizer: Optimizer) {
        guard ni <= warmupIterations else { return }
        let xi = [0.0, Double(warmupIterations)]
        let x = Double(ni)
        accumulate = max(1, Int(roundHalfEven(try! interp(x, xi, [1, Double(nominalBatchSize) / Double(batchSize)]))))
        let target = lf(Double(epoch))
        for j in optimizer.groups.indices {
            let start = j == 0 ? hyp.warmupBiasLR : 0.0
            optimizer.groups[j].lr = try! interp(x, xi, [start, optimizer.groups[j].initialLR * target])
            if optimizer.hasMomentum {
                optimizer.groups[j].momentum = try! interp(x, xi, [hyp.warmupMomentum, hyp.momentum])
            }
        }
    }

    /// train.py's `scheduler.step()` after the batches of an epoch.
    public mutating func afterEpoch(optimizer: Optimizer) {
        scheduler.step(optimizer)
    }

    /// The scheduler's last_epoch (for checkpoints).
    public var lastEpoch: Int { scheduler.lastEpoch }

    /// Rewrites the groups' lr from the scheduler at its current position (after the schedule
    /// changed length, e.g. a finished run extended with more epochs).
    public func reapply(optimizer: Optimizer) { scheduler.apply(to: optimizer) }

    /// Restores the scheduler position and accumulation count saved in a checkpoint.
    public mutating func restore(lastEpoch: Int, accumulate: Int) {
        scheduler.setLastEpoch(lastEpoch)
        self.accumulate = accumulate
    }
}
