import HalfTraceOptim

/// Replays a run's schedule iteration by iteration, as its release's trainer does: LambdaLR's
/// state (`last_epoch`, each group's lr), the warm-up block, the accumulate ramp, the step
/// condition `ni - last_opt_step >= accumulate`, the checkpoint written at every epoch end, and
/// what a resume restores. Arithmetic in Python's order (numpy.interp exactly, half-even round),
/// so the values are the trainer's bit for bit.
public struct ScheduleSimulator: Sendable {
    /// What one iteration used.
    public struct Iteration: Sendable, Equatable {
        /// The global iteration.
        public var ni: Int
        /// The 0-based epoch.
        public var epoch: Int
        /// The batch within the epoch.
        public var i: Int
        /// Every group's lr.
        public var lr: [Double]
        /// momentum, or Adam's betas[0].
        public var momentum: [Double]
        /// The accumulate of this iteration.
        public var accumulate: Int
        /// The step condition held: the window is complete (the scaler may still skip it).
        public var due: Bool
    }

    /// What a checkpoint written at an epoch end holds of the schedule.
    struct Checkpoint: Sendable {
        var lr: [Double]
        var momentum: [Double]
    }

    /// The run being replayed.
    public let plan: RunPlan
    let nw: Int
    var lastEpoch = -1
    var lr: [Double]
    var momentum: [Double]
    var accumulate: Int
    var lastStep = -1
    var checkpoints: [Int: Checkpoint] = [:]
    var warmup: Warmup? = nil

    /// The warm-up's numpy.interp knots over [0, nw] for one epoch (the lr target is
    /// initial_lr * lf(epoch)), made once per epoch rather than once per iteration.
    struct Warmup: Sendable {
        let epoch: Int
        let accumulate: Interpolation
        let lr: [Interpolation]
        let momentum: Interpolation

        init(_ plan: RunPlan, epoch: Int) {
            self.epoch = epoch
            let nw = plan.warmupIterations
            let target = plan.rules.accumulateTarget == .nominalRatio
                ? Double(plan.nominalBatchSize) / Double(plan.batchSize) : Double(plan.initialAccumulate)
            accumulate = YOLOv5Formulas.ramp(warmupIterations: nw, from: 1, to: target)
            let lfe = plan.lf(Double(epoch))
            lr = plan.groups.map { YOLOv5Formulas.ramp(warmupIterations: nw, from: $0.warmupStart, to: $0.initialLR * lfe) }
            momentum = YOLOv5Formulas.ramp(warmupIterations: nw, from: plan.warmupMomentum, to: plan.momentum)
        }
    }

    /// A fresh run: LambdaLR built (lr = initial_lr * lf(0)), then `scheduler.last_epoch =
    /// start_epoch - 1` with start_epoch 0.
    public init(_ plan: RunPlan) {
        self.plan = plan
        nw = plan.warmupIterations
        let lf0 = plan.lf(0)
        lr = plan.groups.map { $0.initialLR * lf0 }
        momentum = plan.groups.map { _ in plan.constructorMomentum }
        accumulate = plan.initialAccumulate
    }

    /// Resumes at `epoch` from the checkpoint written at the end of `epoch - 1` (nil: there is
    /// none, the run never finished that epoch). The trainer rebuilds its accumulate, restores
    /// the optimizer's lr and momentum, sets `last_epoch` and starts with `last_opt_step = -1`.
    public mutating func resume(at epoch: Int) -> Bool {
        guard epoch > 0, let saved = checkpoints[epoch - 1] else { return false }
        lr = saved.lr
        momentum = saved.momentum
        accumulate = plan.initialAccumulate
        lastStep = -1
        lastEpoch = plan.rules.resume == .restartsAtZero ? -1 : epoch - 1
        return true
    }

    /// The scheduler step at an epoch's start (Ultralytics 8.1.42+).
    public mutating func beginEpoch(_ epoch: Int) {
        if plan.rules.schedulerStep == .startOfEpoch { step() }
    }

    /// One batch: the warm-up block (when it runs) and the step decision.
    public mutating func batch(ni: Int, epoch: Int, i: Int) -> Iteration {
        if plan.warms(ni) {
            let x = Double(ni)
            if warmup?.epoch != epoch { warmup = Warmup(plan, epoch: epoch) }
            accumulate = YOLOv5Formulas.warmupAccumulate(warmup!.accumulate, at: ni)
            for j in plan.groups.indices {
                lr[j] = warmup!.lr[j](x)
                if plan.warmsMomentum { momentum[j] = warmup!.momentum(x) }
            }
        }
        let due = ni - lastStep >= accumulate
        if due { lastStep = ni }
        return Iteration(ni: ni, epoch: epoch, i: i, lr: lr, momentum: momentum, accumulate: accumulate, due: due)
    }

    /// The end of an epoch: the lr the run logs for it (taken before any step here), then the
    /// end-of-epoch step and the checkpoint, in the release's order.
    public mutating func endEpoch(_ epoch: Int) -> [Double] {
        let logged = lr
        switch (plan.rules.schedulerStep, plan.rules.resume) {
        case (.startOfEpoch, _):
            checkpoints[epoch] = Checkpoint(lr: lr, momentum: momentum)
        case (.endOfEpochLagged, .firstEpochStale):
            checkpoints[epoch] = Checkpoint(lr: lr, momentum: momentum)  // saved before the step
            step()
        case (.endOfEpochLagged, _):
            step()
            checkpoints[epoch] = Checkpoint(lr: lr, momentum: momentum)
        }
        return logged
    }

    /// LambdaLR.step(): last_epoch += 1; lr = initial_lr * lf(last_epoch) in every group.
    mutating func step() {
        lastEpoch += 1
        let f = plan.lf(Double(lastEpoch))
        for j in plan.groups.indices { lr[j] = plan.groups[j].initialLR * f }
    }

    /// The run as results.csv shows it: every epoch's logged lr up to `lastEpoch` (default: all),
    /// with the run resumed at each of `resumedEpochs` (the interrupted epoch's partial work
    /// leaves no trace in results.csv).
    public static func loggedEpochs(_ plan: RunPlan, resumedEpochs: [Int] = [], through lastEpoch: Int? = nil) -> [[Double]] {
        var s = ScheduleSimulator(plan)
        var logged: [[Double]] = []
        for epoch in 0..<min(plan.epochs, (lastEpoch ?? plan.epochs) + 1) {
            if resumedEpochs.contains(epoch) { _ = s.resume(at: epoch) }
            s.beginEpoch(epoch)
            // Only the warm-up's batches change the lr (the rest decide steps, which the epoch's
            // logged lr does not depend on): a COCO-sized run replays in its warm-up's time.
            for i in 0..<plan.batchesPerEpoch {
                let ni = i + plan.batchesPerEpoch * epoch
                guard plan.warms(ni) else { break }
                _ = s.batch(ni: ni, epoch: epoch, i: i)
            }
            logged.append(s.endEpoch(epoch))
        }
        return logged
    }

    /// The iterations a log shows, in its order: a new epoch begins its scheduler step, the end of
    /// an epoch (its last batch) ends it, and an iteration that goes back is a resume at its epoch.
    /// `positions` are (ni, epoch, i) of each logged row.
    public static func iterations(_ plan: RunPlan, positions: [(ni: Int, epoch: Int, i: Int)]) -> [Iteration] {
        var replay = Replay(plan)
        var previous: Int? = nil
        return positions.map { p in
            defer { previous = p.ni }
            return replay.next(ni: p.ni, epoch: p.epoch, i: p.i, resumes: previous.map { p.ni <= $0 } ?? false)
        }
    }

    /// A log's iterations replayed one at a time (memory does not grow with the log).
    public struct Replay: Sendable {
        var simulator: ScheduleSimulator
        /// A fresh run.
        public init(_ plan: RunPlan) { simulator = ScheduleSimulator(plan) }

        /// The iteration at (ni, epoch, i); `resumes`: a resumed part of the run starts here.
        public mutating func next(ni: Int, epoch: Int, i: Int, resumes: Bool) -> Iteration {
            if resumes { _ = simulator.resume(at: epoch) }
            if i == 0 { simulator.beginEpoch(epoch) }
            let iteration = simulator.batch(ni: ni, epoch: epoch, i: i)
            if i == simulator.plan.batchesPerEpoch - 1 { _ = simulator.endEpoch(epoch) }
            return iteration
        }
    }
}
