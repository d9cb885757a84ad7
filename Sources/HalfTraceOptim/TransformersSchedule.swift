import Foundation
import HalfTraceKernels

/// Hugging Face transformers' `get_*_schedule_with_warmup` family (transformers 5.x,
/// `src/transformers/optimization.py`): a multiplier λ(step) that `LambdaLR` applies as
/// `lr = base_lr * λ(step)`, the step counting optimizer updates from 0 (the constructor already
/// applies λ(0)). Every λ warms up linearly, `step / max(1, W)` for step < W, then:
///
/// - linear: `max(0, (N - step) / max(1, N - W))`;
/// - cosine: `0.5 (1 + cos(pi * c * 2 * progress))`, progress = (step - W) / max(1, N - W), c = num_cycles;
/// - cosine with hard restarts: 0 once progress >= 1, else `0.5 (1 + cos(pi * ((c * progress) % 1)))`;
/// - polynomial: `((lr_init - lr_end) * (1 - (step - W) / (N - W))^power + lr_end) / lr_init`, and
///   `lr_end / lr_init` past N (lr_init: the optimizer's default lr);
/// - inverse sqrt: `1 / sqrt((step + timescale - W) / timescale)`, timescale W (10,000 when W = 0);
/// - WSD: warm-up (linear, cosine or 1-sqrt) from min_lr_ratio, S stable steps at 1, D decay steps
///   (linear, cosine or 1-sqrt) to min_lr_ratio, then min_lr_ratio.
///
/// The restarts of the hard-restarts schedule are an integer fact: restart k falls where
/// c (step - W) / (N - W) = k. transformers computes the position `(c * progress) % 1.0` in
/// floating point, which lands at k - ulp for some (c, k) (c = 22, k = 15; c = 55 at 3 of 11
/// steps ...): λ is 0 at the restart and 1 one step later. HalfTrace takes the cycle from exact
/// integer arithmetic (num_cycles as the fraction its decimal text names) and everywhere else
/// transformers' own operations in its order, so the values are transformers' bit for bit except
/// at those restarts; `transformers(_:)` gives transformers' value everywhere.
public struct TransformersSchedule: Sendable, Equatable {
    /// The shape after the warm-up.
    public enum Kind: Sendable, Equatable {
        /// `get_linear_schedule_with_warmup`.
        case linear
        /// `get_cosine_schedule_with_warmup` with num_cycles (0.5: half a cosine).
        case cosine(numCycles: Double)
        /// `get_cosine_with_hard_restarts_schedule_with_warmup` with num_cycles.
        case cosineWithHardRestarts(numCycles: Double)
        /// `get_polynomial_decay_schedule_with_warmup`: lr_end, power and the optimizer's default lr.
        case polynomial(lrEnd: Double, power: Double, lrInit: Double)
        /// `get_inverse_sqrt_schedule`.
        case inverseSqrt(timescale: Int)
        /// `get_wsd_schedule`: stable and decay steps, the warm-up's and the decay's shape, the
        /// floor ratio and the cosine decay's cycles.
        case wsd(stableSteps: Int, decaySteps: Int, warmupType: Shape, decayType: Shape, minLRRatio: Double, numCycles: Double)
        /// `get_constant_schedule` (no warm-up) and `get_constant_schedule_with_warmup`: 1 after the warm-up.
        case constant
        /// `get_cosine_with_min_lr_schedule_with_warmup`: the cosine from 1 down to min_lr_rate
        /// (min_lr / the optimizer's default lr when given as min_lr).
        case cosineWithMinLR(numCycles: Double, minLRRate: Double)
        /// `get_cosine_with_min_lr_schedule_with_warmup_lr_rate`: a warm-up that starts at
        /// warmup_lr_rate (1 / W by default) and reaches 1 at step W - 1, and the cosine with a
        /// floor shifted one step earlier: progress (step - W + 1) / max(1, N - W).
        case cosineWarmupLRRate(numCycles: Double, minLRRate: Double, warmupLRRate: Double?)
    }

    /// A WSD warm-up or decay curve.
    public enum Shape: String, Sendable, Equatable, CaseIterable {
        /// A straight line.
        case linear
        /// Half a cosine.
        case cosine
        /// 1 - sqrt(progress) (for the decay; the warm-up mirrors it).
        case oneMinusSqrt = "1-sqrt"
    }

    /// The shape after the warm-up.
    public let kind: Kind
    /// num_warmup_steps (W).
    public let warmupSteps: Int
    /// num_training_steps (N; for WSD, the derived W + S + D).
    public let trainingSteps: Int

    /// The most steps any length argument may count (so that sums of them and of a step stay
    /// far from integer overflow).
    public static let maximumSteps = 1_000_000_000

    /// A schedule; invalid arguments are refused naming the argument, including what
    /// transformers lets through: W > N, a negative stable length, lr_end >= lr_init (transformers
    /// raises that one), W == N for the polynomial (transformers divides by zero at step N).
    public init(_ kind: Kind, warmupSteps: Int, trainingSteps: Int) throws {
        try self.init(kind, warmupSteps: warmupSteps, trainingSteps: trainingSteps, warmupMayExceedTraining: false)
    }

    /// A schedule; with `warmupMayExceedTraining`, a warm-up longer than training is taken as
    /// transformers takes it (the linear decay is then 0 from step W on).
    init(_ kind: Kind, warmupSteps: Int, trainingSteps: Int, warmupMayExceedTraining: Bool) throws {
        let most = Self.maximumSteps
        guard (0...most).contains(warmupSteps) else { throw HalfTraceError.invalid("num_warmup_steps", "\(warmupSteps) is outside 0...\(most)") }
        guard (1...most).contains(trainingSteps) else { throw HalfTraceError.invalid("num_training_steps", "\(trainingSteps) is outside 1...\(most)") }
        guard warmupSteps <= trainingSteps || warmupMayExceedTraining else {
            throw HalfTraceError.invalid("num_warmup_steps", "\(warmupSteps) is longer than training (num_training_steps \(trainingSteps))")
        }
        switch kind {
        case .linear, .constant: break
        case .cosineWithMinLR(let c, let rate), .cosineWarmupLRRate(let c, let rate, _):
            guard c.isFinite, c >= 0, c <= 1_000_000 else { throw HalfTraceError.invalid("num_cycles", "\(c) is invalid: expected a number of cycles >= 0") }
            guard rate.isFinite else { throw HalfTraceError.invalid("min_lr_rate", "\(rate) is not finite") }
            if case .cosineWarmupLRRate(_, _, let w?) = kind, !w.isFinite { throw HalfTraceError.invalid("warmup_lr_rate", "\(w) is not finite") }
        case .cosine(let c), .cosineWithHardRestarts(let c):
            guard c.isFinite, c > 0, c <= 1_000_000 else { throw HalfTraceError.invalid("num_cycles", "\(c) is invalid: expected a number of cycles > 0") }
        case let .polynomial(lrEnd, power, lrInit):
            try HalfTraceError.check("lr_end", lrEnd, atLeast: 0)
            guard power.isFinite, power >= 0 else { throw HalfTraceError.invalid("power", "\(power) is invalid: expected a finite value >= 0") }
            guard lrInit.isFinite, lrInit > lrEnd else { throw HalfTraceError.invalid("lr_end", "lr_end (\(lrEnd)) must be smaller than initial lr (\(lrInit))") }
            guard trainingSteps > warmupSteps else {
                throw HalfTraceError.invalid("num_training_steps", "equals num_warmup_steps (\(warmupSteps)): the polynomial decay has no steps (transformers divides by zero)")
            }
        case .inverseSqrt(let timescale):
            guard (1...most).contains(timescale) else { throw HalfTraceError.invalid("timescale", "\(timescale) is outside 1...\(most)") }
        case let .wsd(stable, decay, _, _, ratio, c):
            guard stable >= 0 else { throw HalfTraceError.invalid("num_stable_steps", "\(stable) is invalid: the warm-up and decay are longer than training") }
            guard stable <= most else { throw HalfTraceError.invalid("num_stable_steps", "\(stable) is outside 0...\(most)") }
            guard (1...most).contains(decay) else { throw HalfTraceError.invalid("num_decay_steps", "\(decay) is outside 1...\(most)") }
            try HalfTraceError.check("min_lr_ratio", ratio, in: 0...1)
            guard c.isFinite, c > 0 else { throw HalfTraceError.invalid("num_cycles", "\(c) is invalid: expected > 0") }
        }
        self.kind = kind
        self.warmupSteps = warmupSteps
        self.trainingSteps = trainingSteps
    }

    /// λ(step) with exact restarts.
    public func callAsFunction(_ step: Int) -> Double { multiplier(step, exact: true) }

    /// λ(step) as transformers computes it, its late restarts included.
    public func transformers(_ step: Int) -> Double { multiplier(step, exact: false) }

    /// Whether transformers' floating-point position puts `step` in another cycle than the exact
    /// one (its defect: a restart one step late).
    public func transformersMisplacesCycle(at step: Int) -> Bool { multiplier(step, exact: true) != multiplier(step, exact: false) }

    func multiplier(_ s: Int, exact: Bool) -> Double {
        let W = warmupSteps, N = trainingSteps
        if case let .wsd(S, D, warmupType, decayType, ratio, c) = kind {
            if s < W {
                let progress = Double(s) / Double(max(1, W))
                let f = Self.shape(warmupType, progress, rising: true, cycles: 0.5)
                return max(0.0, f * (1.0 - ratio) + ratio)  // optimization.py:481-490
            }
            if s < W + S { return 1.0 }
            if s < W + S + D {
                let progress = Double(s - W - S) / Double(max(1, D))
                return max(0.0, Self.shape(decayType, progress, rising: false, cycles: c) * (1.0 - ratio) + ratio)  // :495-504
            }
            return ratio
        }
        if case let .cosineWarmupLRRate(c, rate, warmupRate) = kind {
            if s < W {
                guard let w = warmupRate else { return (Double(s) + 1.0) / max(1.0, Double(W)) }  // optimization.py:404
                return w + (1.0 - w) * Double(s) / Double(max(1, W - 1))  // :407
            }
            let progress = (Double(s - W) + 1.0) / max(1.0, Double(N - W))  // :408 (s - W + 1.0: exact below 2^53)
            return Self.cosineWithFloor(c, progress, rate)
        }
        if s < W { return Double(s) / Double(max(1, W)) }
        switch kind {
        case .constant: return 1.0
        case let .cosineWithMinLR(c, rate):
            return Self.cosineWithFloor(c, Double(s - W) / Double(max(1, N - W)), rate)  // :331-334
        case .cosineWarmupLRRate: return .nan  // handled above
        case .linear:
            return max(0.0, Double(N - s) / Double(max(1, N - W)))  // optimization.py:104
        case .cosine(let c):
            // transformers 5.x defines _get_cosine_schedule_with_warmup_lr_lambda twice (:134 and
            // :326); the second, with min_lr_rate 0, is what get_cosine_schedule_with_warmup runs.
            return Self.cosineWithFloor(c, Double(s - W) / Double(max(1, N - W)), 0)
        case .cosineWithHardRestarts(let c):
            let progress = Double(s - W) / Double(max(1, N - W))
            if progress >= 1.0 { return 0.0 }
            var position = (c * progress).truncatingRemainder(dividingBy: 1.0)  // :185
            if exact, let cycle = Self.exactPosition(c, s - W, max(1, N - W)), cycle.whole != Int((c * progress).rounded(.down)) {
                position = cycle.fraction
            }
            return max(0.0, 0.5 * (1.0 + Foundation.cos(Double.pi * position)))
        case let .polynomial(lrEnd, power, lrInit):
            if s > N { return lrEnd / lrInit }  // :232-233
            let pctRemaining = 1 - Double(s - W) / Double(N - W)
            return ((lrInit - lrEnd) * Foundation.pow(pctRemaining, power) + lrEnd) / lrInit  // :235-239
        case .inverseSqrt(let timescale):
            let shift = timescale - W
            return 1.0 / Foundation.sqrt((Double(s) + Double(shift)) / Double(timescale))  // :291-292 (s + shift, exact in Double below 2^53)
        case .wsd: return .nan  // handled above
        }
    }

    /// The cosine of the min-lr schedules: `max(0, f * (1 - min_lr_rate) + min_lr_rate)`,
    /// f = 0.5 (1 + cos(pi * c * 2 * progress)) (optimization.py:332-334, 409-411).
    static func cosineWithFloor(_ c: Double, _ progress: Double, _ rate: Double) -> Double {
        let factor = 0.5 * (1.0 + Foundation.cos(Double.pi * c * 2.0 * progress))
        return max(0, factor * (1 - rate) + rate)
    }

    /// WSD's warm-up (rising) or decay curve at progress p.
    static func shape(_ shape: Shape, _ p: Double, rising: Bool, cycles: Double) -> Double {
        switch (shape, rising) {
        case (.linear, true): p
        case (.cosine, true): 0.5 * (1.0 - Foundation.cos(Double.pi * p))
        case (.oneMinusSqrt, true): 1.0 - Foundation.sqrt(1.0 - p)
        case (.linear, false): 1.0 - p
        case (.cosine, false): 0.5 * (1.0 + Foundation.cos(Double.pi * cycles * 2.0 * p))
        case (.oneMinusSqrt, false): 1.0 - Foundation.sqrt(p)
        }
    }

    /// c * k / n split into its whole cycles and the fraction, exactly, with c the fraction its
    /// decimal text names; nil when that needs more than Int's range.
    static func exactPosition(_ c: Double, _ k: Int, _ n: Int) -> (whole: Int, fraction: Double)? {
        guard let (p, q) = TimmCycle.fraction(c) else { return nil }
        let (num, o1) = p.multipliedReportingOverflow(by: k), (den, o2) = q.multipliedReportingOverflow(by: n)
        guard !o1, !o2, den > 0 else { return nil }
        return (num / den, Double(num % den) / Double(den))
    }

    /// The lr of a group with base lr `base` at `step` (LambdaLR: base * λ(step)).
    public func lr(base: Double, at step: Int) -> Double { base * self(step) }
}

/// A learning-rate schedule of another framework (timm's or transformers'), as HalfTrace
/// computes it (exact restarts) and as the package does.
public enum FamilySchedule: Sendable, Equatable {
    /// timm's CosineLRScheduler: the lr at step t.
    case timm(TimmCosineSchedule)
    /// A transformers schedule over a group with base lr `baseLR` (LambdaLR: base * λ(step)).
    case transformers(TransformersSchedule, baseLR: Double)

    /// The lr at step t (an epoch or an update, as the schedule is stepped), exact restarts.
    public func lr(_ t: Int) -> Double {
        switch self {
        case .timm(let s): s(t)
        case .transformers(let s, let base): base * s(t)
        }
    }

    /// The lr the package computes at step t.
    public func packageLR(_ t: Int) -> Double {
        switch self {
        case .timm(let s): s.timm(t)
        case .transformers(let s, let base): base * s.transformers(t)
        }
    }

    /// Whether the package's floating-point arithmetic puts step t in another cycle (a restart
    /// one step late).
    public func packageMisplacesCycle(at t: Int) -> Bool {
        switch self {
        case .timm(let s): s.timmMisplacesCycle(at: t)
        case .transformers(let s, _): s.transformersMisplacesCycle(at: t)
        }
    }

    /// "timm", "transformers".
    public var packageName: String {
        switch self {
        case .timm: "timm"
        case .transformers: "transformers"
        }
    }
}
