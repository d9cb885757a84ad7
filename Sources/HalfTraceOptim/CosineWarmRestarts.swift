import HalfTraceKernels

/// SGDR, cosine annealing with warm restarts: PyTorch's `CosineAnnealingWarmRestarts` state
/// machine with exact cycle indexing.
///
///     lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2
///
/// - `step()`: T_cur += 1; if T_cur >= T_i { T_cur -= T_i; T_i *= T_mult }.
/// - `step(epoch:)` with a real epoch: if epoch < T_0 { T_i = T_0; T_cur = epoch }; else if
///   T_mult == 1 { T_cur = epoch mod T_0 }; else n = the cycle with
///   start(n) = T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch < start(n + 1), T_cur = epoch - start(n),
///   T_i = T_0 T_mult^n.
///
/// Where HalfTrace departs from PyTorch: PyTorch computes n as
/// `int(log(epoch / T_0 * (T_mult - 1) + 1, T_mult))` in floating point, which lands one cycle low
/// exactly at some restarts (T_0 = 1, T_mult = 3 at epoch 121; T_0 = 5, T_mult = 10 at 555; ...)
/// and gives eta_min where the restart must give base_lr. HalfTrace finds n by integer arithmetic
/// on floor(epoch), the fractional part riding on top, so restarts always land on their epoch and
/// `step()` and `step(epoch:)` agree at every integer epoch. Everywhere else T_cur and T_i, and so
/// the lr, are bit-identical to PyTorch's.
///
/// Like PyTorch, `step()` after `step(epoch: 4.5)` keeps the fractional phase (T_cur = 5.5):
/// `step()` always advances by exactly one epoch from wherever the schedule is.
public struct CosineWarmRestarts: Sendable, Equatable {
    /// T_0: the length of the first cycle, in epochs.
    public let t0: Int
    /// T_mult: each cycle is this many times longer than the one before.
    public let tMult: Int
    /// eta_min: the lr at the end of every cycle.
    public let etaMin: Double
    /// Each group's lr at the start of a cycle (PyTorch's base_lrs).
    public let baseLRs: [Double]
    /// T_cur: epochs since the current cycle started (fractional after `step(epoch:)`).
    public private(set) var tCur: Double
    /// T_i: the length of the current cycle, in epochs.
    public private(set) var tI: Double
    /// floor of the last epoch stepped to.
    public private(set) var lastEpoch: Int

    /// Validates as PyTorch (T_0 a positive integer, T_mult an integer >= 1, eta_min finite),
    /// and performs the constructor's step to epoch 0 (lr = base_lr).
    public init(baseLRs: [Double], t0: Int, tMult: Int = 1, etaMin: Double = 0) throws {
        guard t0 >= 1 else { throw HalfTraceError.invalid("T_0", "Expected positive integer T_0, but got \(t0)") }
        guard tMult >= 1 else { throw HalfTraceError.invalid("T_mult", "Expected integer T_mult >= 1, but got \(tMult)") }
        guard etaMin.isFinite else { throw HalfTraceError.invalid("eta_min", "Expected a finite eta_min, but got \(etaMin)") }
        for (i, lr) in baseLRs.enumerated() { try HalfTraceError.check("base_lrs[\(i)]", lr, atLeast: 0) }
        self.t0 = t0
        self.tMult = tMult
        self.etaMin = etaMin
        self.baseLRs = baseLRs
        self.tCur = 0
        self.tI = Double(t0)
        self.lastEpoch = 0
    }

    /// The schedule over `optimizer`'s current lrs as base lrs, written back to its groups (the
    /// constructor's step).
    public init(optimizer: Optimizer, t0: Int, tMult: Int = 1, etaMin: Double = 0) throws {
        try self.init(baseLRs: optimizer.groups.map(\.lr), t0: t0, tMult: tMult, etaMin: etaMin)
        apply(to: optimizer)
    }

    /// Each group's lr at the current position:
    /// eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2.
    public var learningRates: [Double] {
        baseLRs.map { Self.annealed(base: $0, etaMin: etaMin, tCur: tCur, tI: tI) }
    }

    /// One epoch forward.
    public mutating func step() {
        lastEpoch += 1
        tCur += 1
        if tCur >= tI {
            tCur -= tI
            tI *= Double(tMult)
        }
    }

    /// Jumps to a real epoch >= 0 (PyTorch's `step(epoch)`), with exact cycle indexing.
    public mutating func step(epoch: Double) throws {
        guard epoch.isFinite, epoch >= 0 else {
            throw HalfTraceError.invalid("epoch", "Expected non-negative epoch, but got \(epoch)")
        }
        let position = CosineWarmRestarts.position(of: epoch, t0: t0, tMult: tMult)
        if epoch >= Double(t0) && tMult == 1 {
            tCur = epoch.truncatingRemainder(dividingBy: Double(t0))
        } else {
            tCur = position.tCur
            tI = position.tI
        }
        lastEpoch = Int(epoch.rounded(.down))
    }

    /// `step()`, then the new lrs written into `optimizer`'s groups.
    public mutating func step(_ optimizer: Optimizer) {
        step()
        apply(to: optimizer)
    }

    /// `step(epoch:)`, then the new lrs written into `optimizer`'s groups.
    public mutating func step(epoch: Double, _ optimizer: Optimizer) throws {
        try step(epoch: epoch)
        apply(to: optimizer)
    }

    /// Writes `learningRates` into the optimizer's groups, in order.
    public func apply(to optimizer: Optimizer) {
        for (i, lr) in learningRates.enumerated() { optimizer.groups[i].lr = lr }
    }

    /// The cycle containing `epoch`: its index n, start T_0 (T_mult^n - 1) / (T_mult - 1), length
    /// T_0 T_mult^n, and the phase T_cur = epoch - start. Integer arithmetic on floor(epoch).
    public static func position(of epoch: Double, t0: Int, tMult: Int) -> (cycle: Int, start: Int, tI: Double, tCur: Double) {
        let whole = epoch.rounded(.down)
        if whole >= 9.0e18 { return (Int.max, Int.max, .infinity, 0) }
        let e = Int(whole)
        if tMult == 1 {
            let n = e / t0
            return (n, n * t0, Double(t0), epoch - Double(n * t0))
        }
        var n = 0, start = 0, length = t0
        while true {
            let (next, overflow) = start.addingReportingOverflow(length)
            if overflow || next > e { break }
            start = next
            n += 1
            let (grown, o2) = length.multipliedReportingOverflow(by: tMult)
            if o2 { break }
            length = grown
        }
        return (n, start, Double(length), epoch - Double(start))
    }

    /// PyTorch 2.15's cycle index, reproduced with its floating-point log, to show the defect.
    public static func pytorchCycle(of epoch: Double, t0: Int, tMult: Int) -> Int {
        guard epoch >= Double(t0), tMult > 1 else { return 0 }
        let arg = epoch / Double(t0) * Double(tMult - 1) + 1
        return Int(Double.log(arg) / Double.log(Double(tMult)))
    }
}
