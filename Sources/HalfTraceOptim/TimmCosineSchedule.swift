import Foundation
import HalfTraceKernels

/// timm's `CosineLRScheduler` (timm 1.0, `timm/scheduler/cosine_lr.py` `_get_lr`), stepped per
/// epoch (`step(epoch)`) or per optimizer update (`step_update(num_updates)`): t is that integer.
///
///     t < warmup_t:  lr = warmup_lr_init + t * (base - warmup_lr_init) / warmup_t
///     else (t -= warmup_t with warmup_prefix), cycle i with start B_i = T (m^i - 1) / (m - 1)
///          (m = cycle_mul; B_i = T i when m = 1), t_i = m^i T, t_curr = t - B_i:
///          i < cycle_limit: lr = lr_min + 0.5 (base * cycle_decay^i - lr_min) (1 + cos(pi t_curr^k / t_i^k))
///          else:            lr = lr_min                                           (k = k_decay)
///
/// timm finds i as `floor(log(1 - t / T * (1 - m), m))` in floating point. At some restarts that
/// lands one cycle low (T = 1, m = 10 at t = 111; T = 1, m = 3 at t = 121; T = 16, m = 1.5 at
/// t = 211): timm gives lr_min where the restart gives the new peak. HalfTrace finds i exactly:
/// integer arithmetic for an integer m, rational arithmetic on the decimal m was written as
/// (1.5 = 3/2, 1.1 = 11/10) otherwise. Wherever the two indices agree, every value is computed
/// with timm's own operations in timm's order, bit for bit; `timm(_:)` gives timm's value
/// everywhere, its misplaced restarts included.
public struct TimmCosineSchedule: Sendable, Equatable {
    /// t_initial: the first cycle's length, in steps (epochs or updates).
    public var tInitial: Int
    /// lr_min: the lr at the end of every cycle (not decayed).
    public var lrMin: Double
    /// cycle_mul: each cycle this many times longer than the one before (>= 1).
    public var cycleMul: Double
    /// cycle_decay: cycle i peaks at base * cycle_decay^i.
    public var cycleDecay: Double
    /// cycle_limit: from cycle `cycleLimit` on, the lr stays at lr_min (timm's default 1: no restarts).
    public var cycleLimit: Int
    /// warmup_t: steps of linear warm-up from warmup_lr_init.
    public var warmupT: Int
    /// warmup_lr_init: the lr the warm-up starts from.
    public var warmupLRInit: Double
    /// warmup_prefix: the cosine starts after the warm-up instead of under it.
    public var warmupPrefix: Bool
    /// k_decay: the cosine's argument is t_curr^k / t_i^k.
    public var kDecay: Double
    /// The optimizer's lr (timm's base value, the group's initial_lr).
    public var baseLR: Double

    /// A schedule, refusing what timm would crash on or what cannot be a schedule, naming the
    /// argument: t_initial in 1...10^9, lr_min >= 0, cycle_mul >= 1 (below 1 timm's log raises
    /// `math domain error` once t passes T / (1 - m)), cycle_decay > 0, cycle_limit >= 1,
    /// warmup_t in 0...10^9, warmup_lr_init >= 0, k_decay > 0, every value finite.
    public init(tInitial: Int, lrMin: Double = 0, cycleMul: Double = 1, cycleDecay: Double = 1, cycleLimit: Int = 1,
                warmupT: Int = 0, warmupLRInit: Double = 0, warmupPrefix: Bool = false, kDecay: Double = 1, baseLR: Double) throws {
        let most = TransformersSchedule.maximumSteps
        guard tInitial >= 1 else { throw HalfTraceError.invalid("t_initial", "\(tInitial) is invalid: expected a positive cycle length") }
        guard tInitial <= most else { throw HalfTraceError.invalid("t_initial", "\(tInitial) is outside 1...\(most)") }
        guard warmupT <= most else { throw HalfTraceError.invalid("warmup_t", "\(warmupT) is outside 0...\(most)") }
        try HalfTraceError.check("lr_min", lrMin, atLeast: 0)
        guard cycleMul.isFinite, cycleMul >= 1, cycleMul <= 1_000 else {
            throw HalfTraceError.invalid("cycle_mul", "\(cycleMul) is invalid: expected 1...1000 (below 1 the cycles shrink and timm's log fails)")
        }
        guard cycleDecay.isFinite, cycleDecay > 0 else { throw HalfTraceError.invalid("cycle_decay", "\(cycleDecay) is invalid: expected a finite value > 0") }
        guard cycleLimit >= 1 else { throw HalfTraceError.invalid("cycle_limit", "\(cycleLimit) is invalid: expected at least 1 cycle") }
        guard warmupT >= 0 else { throw HalfTraceError.invalid("warmup_t", "\(warmupT) is invalid: expected >= 0") }
        try HalfTraceError.check("warmup_lr_init", warmupLRInit, atLeast: 0)
        guard kDecay.isFinite, kDecay > 0 else { throw HalfTraceError.invalid("k_decay", "\(kDecay) is invalid: expected a finite value > 0") }
        try HalfTraceError.check("lr", baseLR, atLeast: 0)
        (self.tInitial, self.lrMin, self.cycleMul, self.cycleDecay, self.cycleLimit) = (tInitial, lrMin, cycleMul, cycleDecay, cycleLimit)
        (self.warmupT, self.warmupLRInit, self.warmupPrefix, self.kDecay, self.baseLR) = (warmupT, warmupLRInit, warmupPrefix, kDecay, baseLR)
    }

    /// The lr at step t (>= 0), with the exact cycle index.
    public func callAsFunction(_ t: Int) -> Double { lr(t, exact: true) }

    /// The lr timm computes at step t, with its floating-point cycle index.
    public func timm(_ t: Int) -> Double { lr(t, exact: false) }

    /// Whether timm's floating-point cycle index differs from the exact one at step t (timm's
    /// defect: a restart one step late).
    public func timmMisplacesCycle(at t: Int) -> Bool {
        guard let s = cosineStep(t) else { return false }
        return TimmCycle(tInitial: tInitial, cycleMul: cycleMul).misplaces(s)
    }

    func cosineStep(_ t: Int) -> Int? {
        guard t >= warmupT else { return nil }
        return warmupPrefix ? t - warmupT : t
    }

    func lr(_ t: Int, exact: Bool) -> Double {
        if t < warmupT {
            let step = (baseLR - warmupLRInit) / Double(warmupT)  // cosine_lr.py:76
            return warmupLRInit + Double(t) * step
        }
        let s = warmupPrefix ? t - warmupT : t
        let (i, tI, tCurr) = TimmCycle(tInitial: tInitial, cycleMul: cycleMul).position(s, exact: exact)
        guard i < cycleLimit else { return lrMin }
        let lrMax = baseLR * Foundation.pow(cycleDecay, Double(i))  // cosine_lr.py:97-98
        return TimmScheduler.cosine(lrMin: lrMin, lrMax: lrMax, tCurr: tCurr, tI: tI, k: kDecay)  // cosine_lr.py:103
    }
}

/// The cycles of timm's cosine, polynomial and tanh schedulers (timm 1.0, `cosine_lr.py`,
/// `poly_lr.py`, `tanh_lr.py` `_get_lr`): with cycle_mul m = 1, cycle i = t // T; otherwise cycle i
/// starts at B_i = T (m^i - 1) / (m - 1), lasts t_i = m^i T, and t_curr = t - B_i. timm finds i
/// as `floor(log(1 - t / T * (1 - m), m))` in floating point, which at some restarts lands one
/// cycle low; `position(_:exact: true)` finds it exactly (integer arithmetic on the fraction the
/// decimal text of m names) and otherwise keeps timm's own operations in timm's order.
struct TimmCycle: Sendable, Equatable {
    var tInitial: Int
    var cycleMul: Double

    /// The cycle index, its length and the position in it at step s (after any warm-up prefix).
    func position(_ s: Int, exact: Bool) -> (i: Int, tI: Double, tCurr: Double) {
        let x = Double(s), T = Double(tInitial), m = cycleMul
        if m == 1 {
            let i = s / tInitial
            return (i, T, x - T * Double(i))
        }
        if exact, let e = exactCycle(s), e.index != timmCycle(s) { return (e.index, e.tI, e.tCurr) }
        let i = timmCycle(s)
        return (i, Foundation.pow(m, Double(i)) * T, x - (1 - Foundation.pow(m, Double(i))) / (1 - m) * T)
    }

    /// Whether timm's floating-point index puts step s in another cycle than the exact one.
    func misplaces(_ s: Int) -> Bool {
        guard cycleMul != 1, let exact = exactCycle(s) else { return false }
        return timmCycle(s) != exact.index
    }

    /// timm's cycle index: `math.floor(math.log(1 - t / t_initial * (1 - cycle_mul), cycle_mul))`,
    /// Python's `log(x, base)` being `log(x) / log(base)`.
    func timmCycle(_ s: Int) -> Int {
        let x = 1 - Double(s) / Double(tInitial) * (1 - cycleMul)
        return Int((Foundation.log(x) / Foundation.log(cycleMul)).rounded(.down))
    }

    /// The exact cycle containing step s: the largest i with B_i <= s, its length and position,
    /// with cycle_mul as the fraction p/q its decimal text names; nil when the integers would
    /// overflow (then timm's own index is used).
    func exactCycle(_ s: Int) -> (index: Int, tI: Double, tCurr: Double)? {
        guard let (p, q) = Self.fraction(cycleMul), p > q else { return nil }
        // B_i = T (p^i - q^i) / (q^(i-1) (p - q)); compare T (p^i - q^i) <= s q^(i-1) (p - q).
        var i = 0, pi = 1, qi = 1  // p^i, q^i
        while true {
            guard let (pn, o1) = Optional(pi.multipliedReportingOverflow(by: p)), !o1,
                  let (qn, o2) = Optional(qi.multipliedReportingOverflow(by: q)), !o2,
                  let (lhs, o3) = Optional(tInitial.multipliedReportingOverflow(by: pn - qn)), !o3,
                  let (rhs0, o4) = Optional(s.multipliedReportingOverflow(by: qi)), !o4,
                  let (rhs, o5) = Optional(rhs0.multipliedReportingOverflow(by: p - q)), !o5 else { return nil }
            if lhs > rhs { break }  // B_(i+1) > s
            (i, pi, qi) = (i + 1, pn, qn)
            if i > 10_000 { return nil }
        }
        // tCurr = s - B_i = (s q^(i-1) (p - q) - T (p^i - q^i)) / (q^(i-1) (p - q)) with B_0 = 0.
        if i == 0 { return (0, Double(tInitial), Double(s)) }
        let qPrev = qi / q
        guard let (den, o1) = Optional(qPrev.multipliedReportingOverflow(by: p - q)), !o1,
              let (sd, o2) = Optional(s.multipliedReportingOverflow(by: den)), !o2,
              let (tb, o3) = Optional(tInitial.multipliedReportingOverflow(by: pi - qi)), !o3 else { return nil }
        return (i, Double(tInitial) * Double(pi) / Double(qi), Double(sd - tb) / Double(den))
    }

    /// cycle_mul as p/q from its shortest decimal text (2.0 -> 2/1, 1.5 -> 3/2, 1.1 -> 11/10).
    static func fraction(_ x: Double) -> (Int, Int)? {
        let text = "\(x)"
        guard !text.contains("e"), let dot = text.firstIndex(of: ".") else { return Int(exactly: x).map { ($0, 1) } }
        var decimals = String(text[text.index(after: dot)...])
        while decimals.hasSuffix("0") { decimals.removeLast() }
        guard decimals.count <= 6, let whole = Int(text[..<dot]) else { return nil }
        var q = 1
        for _ in 0..<decimals.count { q *= 10 }
        guard let frac = decimals.isEmpty ? 0 : Int(decimals) else { return nil }
        let p = whole * q + frac
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let g = gcd(p, q)
        return (p / g, q / g)
    }
}
