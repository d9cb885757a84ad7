import HalfTraceKernels

/// A value as a function of the (integer or real) epoch: a learning-rate multiplier for
/// LambdaLR, or a learning rate. Schedules are pure values and compose (`Warmup<SGDRSchedule>`).
public protocol Schedule: Sendable {
    /// The value at `epoch`, which may be fractional (epoch + i / nb for a per-batch step).
    func callAsFunction(_ epoch: Double) -> Double
}

/// YOLOv5's linear multiplier (`train.py`): lf(x) = (1 - x / epochs) * (1 - lrf) + lrf,
/// evaluated in that order. Falls from 1 at x = 0 to lrf at x = epochs.
public struct LinearSchedule: Schedule, Equatable {
    /// The run's length in epochs; the multiplier reaches lrf at x = epochs.
    public let epochs: Int
    /// The final multiplier (`hyp.lrf`).
    public let lrf: Double

    /// Refuses epochs < 1 and a negative or non-finite lrf.
    public init(epochs: Int, lrf: Double) throws {
        guard epochs >= 1 else { throw HalfTraceError.invalid("epochs", "\(epochs) is invalid: expected an integer >= 1") }
        try HalfTraceError.check("lrf", lrf, atLeast: 0)
        self.epochs = epochs
        self.lrf = lrf
    }

    /// (1 - x / epochs) * (1 - lrf) + lrf, in that order.
    public func callAsFunction(_ x: Double) -> Double { YOLOv5Formulas.linear(x, epochs: Double(epochs), lrf: lrf) }
}

/// YOLOv5's `one_cycle(y1, y2, steps)` (`utils/general.py`), the "cosine" schedule:
/// f(x) = ((1 - cos(x * pi / steps)) / 2) * (y2 - y1) + y1, evaluated in that order.
/// YOLOv5 uses one_cycle(1, lrf, epochs).
public struct OneCycleSchedule: Schedule, Equatable {
    /// The value at x = 0 (1 in YOLOv5).
    public let y1: Double
    /// The value at x = steps (lrf in YOLOv5).
    public let y2: Double
    /// The length of the half cosine (the run's epochs in YOLOv5).
    public let steps: Int

    /// Refuses steps < 1, a negative or non-finite y2 and a non-finite y1; errors name YOLOv5's fields.
    public init(y1: Double = 1, y2: Double, steps: Int) throws {
        guard steps >= 1 else { throw HalfTraceError.invalid("epochs", "\(steps) is invalid: expected an integer >= 1") }
        try HalfTraceError.check("lrf", y2, atLeast: 0)
        guard y1.isFinite else { throw HalfTraceError.invalid("y1", "\(y1) is not finite") }
        self.y1 = y1
        self.y2 = y2
        self.steps = steps
    }

    /// ((1 - cos(x * pi / steps)) / 2) * (y2 - y1) + y1, in that order.
    public func callAsFunction(_ x: Double) -> Double { YOLOv5Formulas.oneCycle(x, y1: y1, y2: y2, steps: Double(steps)) }
}

/// YOLOv5's choice between the two multipliers (`--cos-lr`), or the constant 1 (a run whose lr
/// another scheduler sets).
public enum YOLOv5Multiplier: Schedule, Equatable {
    /// YOLOv5's default linear multiplier.
    case linear(LinearSchedule)
    /// YOLOv5's `--cos-lr` multiplier.
    case oneCycle(OneCycleSchedule)
    /// 1 at every epoch: the lr is set by another scheduler (the SGDR kinds).
    case constant
    /// A pasted scheduler's multiplier per epoch (index e: after e steps; the last one beyond).
    case table([Double])

    /// one_cycle(1, lrf, epochs) when `cosine` (`--cos-lr`), the linear multiplier otherwise.
    public init(cosine: Bool, epochs: Int, lrf: Double) throws {
        self = cosine ? .oneCycle(try OneCycleSchedule(y1: 1, y2: lrf, steps: epochs))
                      : .linear(try LinearSchedule(epochs: epochs, lrf: lrf))
    }

    /// The chosen multiplier at x.
    public func callAsFunction(_ x: Double) -> Double {
        switch self {
        case .linear(let s): s(x)
        case .oneCycle(let s): s(x)
        case .constant: 1
        case .table(let t): t[max(0, min(Int(x.rounded(.down)), t.count - 1))]
        }
    }

    /// A scheduler's constructor call as written (`TorchScheduler`) over one group at lr0,
    /// stepped once per epoch: the multiplier of epoch e is its exact lr after e steps over lr0.
    public init(pasted expression: String, lr0: Double, epochs: Int) throws {
        guard lr0 > 0, lr0.isFinite else { throw HalfTraceError.invalid("lr0", "\(lr0) is invalid: a pasted scheduler's multiplier is its lr over lr0 > 0") }
        try HalfTraceError.check("epochs", epochs, in: 1...1_000_000)
        let trace = try TorchScheduler(expression, lrs: [lr0]).trace(steps: epochs)
        self = .table(trace.exactLR.map { $0[0] / lr0 })
    }
}

/// PyTorch's `LambdaLR` state machine: lr_g = initial_lr_g * lambda(last_epoch).
///
/// Construction performs one step (last_epoch = 0, lr = initial_lr * lambda(0)); each `step()`
/// does last_epoch += 1 and recomputes the closed form (it never reads the current lr).
/// YOLOv5's train.py then sets `last_epoch = start_epoch - 1`; `setLastEpoch` does that.
public struct LambdaLR<S: Schedule>: Sendable {
    /// The multiplier lambda(epoch).
    public let lambda: S
    /// Each group's initial_lr, the lr that lambda multiplies.
    public let initialLRs: [Double]
    /// PyTorch's last_epoch: 0 after construction, one more per `step(_:)`.
    public private(set) var lastEpoch: Int

    /// Stores every group's lr as its initial_lr and performs the constructor's step.
    public init(optimizer: Optimizer, lambda: S) {
        for i in optimizer.groups.indices { optimizer.groups[i].initialLR = optimizer.groups[i].lr }
        self.lambda = lambda
        self.initialLRs = optimizer.groups.map(\.initialLR)
        self.lastEpoch = 0
        apply(to: optimizer)
    }

    /// The lr of each group at the current last_epoch.
    public var learningRates: [Double] { initialLRs.map { $0 * lambda(Double(lastEpoch)) } }

    /// PyTorch's `scheduler.step()`: last_epoch += 1, then every group's
    /// lr = initial_lr * lambda(last_epoch).
    public mutating func step(_ optimizer: Optimizer) {
        lastEpoch += 1
        apply(to: optimizer)
    }

    /// train.py's `scheduler.last_epoch = start_epoch - 1` (the lr itself is not rewritten).
    public mutating func setLastEpoch(_ epoch: Int) { lastEpoch = epoch }

    /// Writes `learningRates` into the optimizer's groups, in order.
    public func apply(to optimizer: Optimizer) {
        for (i, lr) in learningRates.enumerated() { optimizer.groups[i].lr = lr }
    }
}
