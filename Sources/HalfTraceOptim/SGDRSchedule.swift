import HalfTraceKernels

/// SGDR (cosine annealing with warm restarts) as a pure schedule of the epoch, with what PyTorch
/// and timm do not offer together:
/// a per-cycle peak decay, an optional linear re-warm-up at the start of every restarted cycle,
/// and a cycle limit. With epoch t, cycle n and phase tau found exactly as
/// `CosineWarmRestarts.position` (start(n) = T_0 (T_mult^n - 1)/(T_mult - 1), T_n = T_0 T_mult^n):
///
///     peak_n = base_lr * cycleDecay^n
///     n >= cycleLimit                        : lr = eta_min            (the schedule has ended)
///     n >= 1 and tau < restartWarmup (= W)   : lr = eta_min + (peak_n - eta_min) * tau / W
///     n >= 1 and restartWarmup W > 0         : lr = eta_min + (peak_n - eta_min) * (1 + cos(pi * (tau - W) / (T_n - W))) / 2
///     otherwise                              : lr = eta_min + (peak_n - eta_min) * (1 + cos(pi * tau / T_n)) / 2
///
/// With cycleDecay 1, no re-warm-up and no limit this is SGDR's closed form, evaluated in
/// PyTorch's order, so it equals `CosineWarmRestarts` bit for bit.
public struct SGDRSchedule: Schedule, Equatable {
    /// The first cycle's peak lr.
    public let baseLR: Double
    /// The lr at the end of every cycle, and after the cycle limit.
    public let etaMin: Double
    /// T_0: the first cycle's length in epochs.
    public let t0: Int
    /// T_mult: each cycle is this many times longer than the one before.
    public let tMult: Int
    /// The factor the peak is multiplied by per cycle, in (0, 1].
    public let cycleDecay: Double
    /// Epochs of linear re-warm-up from eta_min at the start of every restarted cycle, in [0, T_0).
    public let restartWarmup: Double
    /// Cycles after which the lr stays at eta_min, or nil for no limit.
    public let cycleLimit: Int?

    /// Refuses T_0 < 1 and T_mult < 1 (with PyTorch's messages), a non-finite eta_min, a negative
    /// base lr, and the extras outside their ranges.
    public init(baseLR: Double, etaMin: Double = 0, t0: Int, tMult: Int = 1, cycleDecay: Double = 1,
                restartWarmup: Double = 0, cycleLimit: Int? = nil) throws {
        try HalfTraceError.check("lr", baseLR, atLeast: 0)
        guard etaMin.isFinite else { throw HalfTraceError.invalid("eta_min", "Expected a finite eta_min, but got \(etaMin)") }
        guard t0 >= 1 else { throw HalfTraceError.invalid("T_0", "Expected positive integer T_0, but got \(t0)") }
        guard tMult >= 1 else { throw HalfTraceError.invalid("T_mult", "Expected integer T_mult >= 1, but got \(tMult)") }
        guard cycleDecay.isFinite, cycleDecay > 0, cycleDecay <= 1 else {
            throw HalfTraceError.invalid("cycle_decay", "\(cycleDecay) is outside (0, 1]")
        }
        guard restartWarmup.isFinite, restartWarmup >= 0, restartWarmup < Double(t0) else {
            throw HalfTraceError.invalid("restart_warmup", "\(restartWarmup) is outside [0, T_0 = \(t0))")
        }
        if let cycleLimit, cycleLimit < 1 {
            throw HalfTraceError.invalid("cycle_limit", "\(cycleLimit) is invalid: expected an integer >= 1")
        }
        self.baseLR = baseLR
        self.etaMin = etaMin
        self.t0 = t0
        self.tMult = tMult
        self.cycleDecay = cycleDecay
        self.restartWarmup = restartWarmup
        self.cycleLimit = cycleLimit
    }

    /// The lr at epoch `t` by the formula above; a negative t counts as 0, an infinite one gives
    /// eta_min and NaN gives NaN.
    public func callAsFunction(_ t: Double) -> Double {
        guard t.isFinite else { return t.isNaN ? t : etaMin }
        let p = CosineWarmRestarts.position(of: max(t, 0), t0: t0, tMult: tMult)
        if let cycleLimit, p.cycle >= cycleLimit { return etaMin }
        let peak = p.cycle == 0 ? baseLR : baseLR * Double.pow(cycleDecay, Double(p.cycle))
        if p.cycle >= 1 && restartWarmup > 0 {
            if p.tCur < restartWarmup { return etaMin + (peak - etaMin) * p.tCur / restartWarmup }
            return CosineWarmRestarts.annealed(base: peak, etaMin: etaMin, tCur: p.tCur - restartWarmup, tI: p.tI - restartWarmup)
        }
        return CosineWarmRestarts.annealed(base: peak, etaMin: etaMin, tCur: p.tCur, tI: p.tI)
    }
}
