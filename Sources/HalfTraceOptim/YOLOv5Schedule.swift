import HalfTraceKernels

/// The learning-rate schedule a training run steps (YOLOv5's `--cos-lr` chooses between the
/// first two; the SGDR kinds step per batch as PyTorch's `CosineAnnealingWarmRestarts`
/// documentation does, at `epoch + i / nb`).
public enum SchedulerKind: String, Sendable, Codable, CaseIterable {
    /// LambdaLR with YOLOv5's linear multiplier, stepped per epoch.
    case linear
    /// LambdaLR with YOLOv5's `one_cycle(1, lrf, epochs)`, stepped per epoch.
    case onecycle
    /// SGDR (`CosineWarmRestarts`, exact restarts), stepped per batch.
    case sgdr
    /// SGDR with its own linear warm-up, per-cycle peak decay, re-warm-up after a restart and a
    /// cycle limit (`Warmup<SGDRSchedule>`), evaluated per batch.
    case sgdrWarmup = "sgdr-warmup"
    /// A scheduler pasted as its constructor call (PyTorch's, timm's, transformers', DeepSpeed's,
    /// Megatron's; `TorchScheduler`), stepped per epoch in train.py's place of LambdaLR: its exact
    /// lr after e steps, over lr0, is the multiplier of epoch e.
    case pasted

    /// Whether the schedule is LambdaLR stepped per epoch (YOLOv5's own, or a pasted one).
    public var isLambda: Bool { self == .linear || self == .onecycle || self == .pasted }
}

/// The options of the SGDR kinds (PyTorch's T_0, T_mult, eta_min, and `SGDRSchedule`'s extras).
public struct RestartOptions: Sendable, Codable, Equatable {
    /// T_0: the first cycle's length in epochs.
    public var t0 = 10
    /// T_mult: each cycle is this many times longer than the one before.
    public var tMult = 2
    /// eta_min: the lr at the end of every cycle.
    public var etaMin = 0.0
    /// Peak of cycle n = base lr * cycleDecay^n (sgdr-warmup).
    public var cycleDecay = 1.0
    /// Epochs of linear re-warm-up at the start of every restarted cycle (sgdr-warmup).
    public var restartWarmup = 0.0
    /// Cycles after which the lr stays at eta_min (sgdr-warmup).
    public var cycleLimit: Int? = nil

    /// T_0 10, T_mult 2, eta_min 0 and plain SGDR (no decay, re-warm-up or limit).
    public init() {}

    /// Whether only plain SGDR's options are set (cycle decay 1, no re-warm-up, no limit).
    public var isPlain: Bool { cycleDecay == 1 && restartWarmup == 0 && cycleLimit == nil }
}

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
///
/// HalfTrace's extension to SGDR, stated here because YOLOv5 has no SGDR: with `.sgdr` every
/// batch i of epoch e first steps the scheduler to t = e + i / nb (group j's lr =
/// SGDR_j(t), base lr initial_lr_j), and the warm-up block then interpolates towards that value
/// (`initial_lr * lf(epoch)` is, for LambdaLR, the value the scheduler gives the batch). With
/// `.sgdrWarmup` the lr of every group is the schedule's alone (its own warm-up from 0 over
/// `warmup_epochs` replaces the per-group interpolation, so `warmup_bias_lr` is unused); the
/// accumulate ramp and the momentum warm-up still follow train.py.
public struct YOLOv5Schedule: Sendable {
    /// The hyper-parameters the warm-up and the multiplier read.
    public let hyp: ScheduleHyperparameters
    /// bs, the batch size.
    public let batchSize: Int
    /// nbs, YOLOv5's nominal batch size (64 by default).
    public let nominalBatchSize: Int
    /// nb, batches per epoch.
    public let batchesPerEpoch: Int
    /// nw = max(round(warmup_epochs * nb), 100).
    public let warmupIterations: Int
    /// Whether the warm-up block runs (always in YOLOv5; off for an ablation, when the run starts
    /// at lr0 * lf(0), the momentum and the full accumulation).
    public let warmup: Bool
    /// Whether the scheduler keeps train.py's last_epoch = start_epoch - 1.
    public let lag: Bool
    /// The schedule the run steps.
    public let kind: SchedulerKind
    /// LambdaLR (linear, onecycle); for the SGDR kinds a constant multiplier 1, never stepped.
    public private(set) var scheduler: LambdaLR<YOLOv5Multiplier>
    /// The SGDR state machine (sgdr).
    var restarts: CosineWarmRestarts?
    /// One schedule per group (sgdr-warmup).
    let restartSchedules: [Warmup<SGDRSchedule>]
    /// The accumulation count in effect (micro-batches per optimizer step).
    public private(set) var accumulate: Int

    /// The initial accumulation `max(round(nbs / bs), 1)`.
    public static func initialAccumulate(batchSize: Int, nominalBatchSize: Int) -> Int {
        YOLOv5Formulas.accumulate(nominalBatchSize: nominalBatchSize, batchSize: batchSize)
    }

    /// `weight_decay * (bs * accumulate / nbs)`, YOLOv5's one-time scaling.
    public static func scaledWeightDecay(_ weightDecay: Double, batchSize: Int, nominalBatchSize: Int) -> Double {
        let accumulate = initialAccumulate(batchSize: batchSize, nominalBatchSize: nominalBatchSize)
        return weightDecay * (Double(batchSize * accumulate) / Double(nominalBatchSize))
    }

    /// `nw = max(round(warmup_epochs * nb), 100)`.
    public static func warmupIterations(warmupEpochs: Double, batchesPerEpoch: Int) -> Int {
        YOLOv5Formulas.warmupIterations(warmupEpochs: warmupEpochs, batchesPerEpoch: batchesPerEpoch, floor: 100)
    }

    /// Builds the schedule over `optimizer` (whose groups' lr must be lr0) and, with `lag`,
    /// applies train.py's `scheduler.last_epoch = start_epoch - 1`.
    public init(optimizer: Optimizer, hyp: ScheduleHyperparameters, epochs: Int, batchesPerEpoch: Int,
                batchSize: Int, nominalBatchSize: Int = 64, kind: SchedulerKind = .linear, restarts: RestartOptions = RestartOptions(),
                lag: Bool = false, startEpoch: Int = 0, pasted: String? = nil, warmup: Bool = true) throws {
        try hyp.validate()
        try HalfTraceError.check("batches_per_epoch", batchesPerEpoch, in: 1...1_000_000)
        try HalfTraceError.check("batch_size", batchSize, in: 1...1_000_000)
        try HalfTraceError.check("nominal_batch_size", nominalBatchSize, in: 1...1_000_000)
        if lag && !kind.isLambda { throw HalfTraceError.invalid("yolov5_lag", "train.py's lag is a LambdaLR behaviour; the \(kind.rawValue) schedule has none") }
        if kind != .sgdrWarmup && !restarts.isPlain {
            throw HalfTraceError.invalid("restarts", "cycle decay, re-warm-up and a cycle limit belong to the sgdr-warmup schedule")
        }
        self.hyp = hyp
        self.batchSize = batchSize
        self.nominalBatchSize = nominalBatchSize
        self.batchesPerEpoch = batchesPerEpoch
        self.warmupIterations = Self.warmupIterations(warmupEpochs: hyp.warmupEpochs, batchesPerEpoch: batchesPerEpoch)
        self.warmup = warmup
        self.lag = lag
        self.kind = kind
        self.accumulate = Self.initialAccumulate(batchSize: batchSize, nominalBatchSize: nominalBatchSize)
        let multiplier: YOLOv5Multiplier
        switch (kind, pasted) {
        case (.pasted, let expression?): multiplier = try YOLOv5Multiplier(pasted: expression, lr0: hyp.lr0, epochs: epochs)
        case (.pasted, nil): throw HalfTraceError.invalid("scheduler", "the pasted schedule needs its constructor call")
        case (_, .some): throw HalfTraceError.invalid("scheduler", "a constructor call is the pasted schedule's, not \(kind.rawValue)'s")
        default: multiplier = try YOLOv5Multiplier(cosine: kind == .onecycle, epochs: epochs, lrf: hyp.lrf)
        }
        scheduler = LambdaLR(optimizer: optimizer, lambda: kind.isLambda ? multiplier : .constant)
        let bases = optimizer.groups.map(\.initialLR)
        self.restarts = kind == .sgdr
            ? try CosineWarmRestarts(baseLRs: bases, t0: restarts.t0, tMult: restarts.tMult, etaMin: restarts.etaMin) : nil
        self.restartSchedules = kind == .sgdrWarmup ? try bases.map { base in
            try Warmup(epochs: hyp.warmupEpochs, startLR: 0,
                       SGDRSchedule(baseLR: base, etaMin: restarts.etaMin, t0: restarts.t0, tMult: restarts.tMult,
                                    cycleDecay: restarts.cycleDecay, restartWarmup: restarts.restartWarmup,
                                    cycleLimit: restarts.cycleLimit))
        } : []
        scheduler.setLastEpoch(lag ? startEpoch - 1 : startEpoch)
        if !lag && startEpoch > 0 { scheduler.apply(to: optimizer) }
    }

    /// The lr multiplier lf (linear and onecycle).
    public var lf: YOLOv5Multiplier { scheduler.lambda }

    /// The per-batch schedule step and train.py's warm-up block, before the batch at global
    /// iteration `ni` (batch `i` of `epoch`).
    public mutating func beforeBatch(iteration ni: Int, epoch: Int, batch i: Int, optimizer: Optimizer) {
        let t = Double(epoch) + Double(i) / Double(batchesPerEpoch)
        switch kind {
        case .linear, .onecycle, .pasted: break
        case .sgdr:
            try! restarts!.step(epoch: t, optimizer)  // t >= 0 and finite
        case .sgdrWarmup:
            for j in optimizer.groups.indices { optimizer.groups[j].lr = restartSchedules[j](t) }
        }
        guard warmup, ni <= warmupIterations else { return }
        let nw = warmupIterations, x = Double(ni)
        accumulate = YOLOv5Formulas.warmupAccumulate(YOLOv5Formulas.ramp(warmupIterations: nw, from: 1, to: Double(nominalBatchSize) / Double(batchSize)), at: ni)
        let target = lf(Double(epoch))
        let momentum = YOLOv5Formulas.ramp(warmupIterations: nw, from: hyp.warmupMomentum, to: hyp.momentum)
        for j in optimizer.groups.indices {
            if kind != .sgdrWarmup {
                let end = kind.isLambda ? optimizer.groups[j].initialLR * target : optimizer.groups[j].lr
                optimizer.groups[j].lr = YOLOv5Formulas.ramp(warmupIterations: nw, from: j == 0 ? hyp.warmupBiasLR : 0.0, to: end)(x)
            }
            if optimizer.hasMomentum { optimizer.groups[j].momentum = momentum(x) }
        }
    }

    /// train.py's `scheduler.step()` after the batches of an epoch (LambdaLR only).
    public mutating func afterEpoch(optimizer: Optimizer) {
        if kind.isLambda { scheduler.step(optimizer) }
    }

    /// The scheduler's last_epoch (for checkpoints).
    public var lastEpoch: Int { scheduler.lastEpoch }

    /// Rewrites the groups' lr from the scheduler at its current position (after the schedule
    /// changed length, e.g. a finished run extended with more epochs).
    public func reapply(optimizer: Optimizer) {
        if kind.isLambda { scheduler.apply(to: optimizer) }
    }

    /// Restores the scheduler position and accumulation count saved in a checkpoint.
    public mutating func restore(lastEpoch: Int, accumulate: Int) {
        scheduler.setLastEpoch(lastEpoch)
        self.accumulate = accumulate
    }
}
