import HalfTraceKernels

/// A linear warm-up in front of any schedule (prefix semantics, as timm's warmup_prefix):
///
///     t < W : lr = start + (S(0) - start) * t / W
///     t >= W: lr = S(t - W)
///
/// so the warm-up ends exactly on the schedule's first value and the schedule then runs whole.
public struct Warmup<S: Schedule>: Schedule {
    /// W: the warm-up's length in epochs (0: no warm-up).
    public let epochs: Double
    /// The value at t = 0.
    public let startLR: Double
    /// The schedule that runs after the warm-up, shifted by W.
    public let schedule: S

    /// Refuses a negative or non-finite length or start.
    public init(epochs: Double, startLR: Double = 0, _ schedule: S) throws {
        guard epochs.isFinite, epochs >= 0 else { throw HalfTraceError.invalid("warmup_epochs", "\(epochs) is invalid: expected a finite value >= 0") }
        guard startLR.isFinite, startLR >= 0 else { throw HalfTraceError.invalid("warmup_start_lr", "\(startLR) is invalid: expected a finite value >= 0") }
        self.epochs = epochs
        self.startLR = startLR
        self.schedule = schedule
    }

    /// start + (S(0) - start) * t / W for t < W, S(t - W) afterwards.
    public func callAsFunction(_ t: Double) -> Double {
        if t < epochs { return startLR + (schedule(0) - startLR) * t / epochs }
        return schedule(t - epochs)
    }
}
