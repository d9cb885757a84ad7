import HalfTraceKernels

/// How an optimizer stores the updated value of a 16-bit parameter (the update itself is always
/// computed in Float, and float32 parameters are stored exactly).
///
/// Round to nearest (IEEE's default, and PyTorch's for a bfloat16 or float16 tensor) loses every
/// update smaller than half a unit in the last place of the weight: with bfloat16's 8 significant
/// bits, an update under 2^-9 of the weight leaves it unchanged, however many steps repeat it.
/// Stochastic rounding rounds up with probability equal to the distance from the value below, so
/// that the stored weight equals the exact update in expectation (Gupta et al. 2015, "Deep
/// Learning with Limited Numerical Precision", section 3; Zamirai et al. 2020, "Revisiting
/// BFloat16 Training", which applies it to the weight update only, as here). The optimizer's
/// state buffers (momentum, Adam's moments) stay rounded to nearest.
public enum WeightRounding: Sendable, Equatable {
    /// Round to nearest, ties to even.
    case nearest
    /// Stochastic rounding with random bits drawn from `seed`, the parameter's position in the
    /// groups and the element's index: a pure function of the three, so that the result does not
    /// depend on the worker pool's split, and a trainer that derives `seed` from its run's seed and
    /// iteration resumes bit-identically.
    case stochastic(seed: UInt64)
}

/// Stochastic rounding of one Float to the 16-bit formats, from 64 random bits.
public enum StochasticRounding {
    /// 64 random bits for element `index` of parameter `parameter` under `seed` (SplitMix64's
    /// finaliser of the three mixed, so nearby indices give unrelated bits).
    @inlinable
    public static func bits(seed: UInt64, parameter: Int, index: Int) -> UInt64 {
        var z = seed ^ (UInt64(truncatingIfNeeded: parameter) &* 0xD1B5_4A32_D192_ED03)
            &+ (UInt64(truncatingIfNeeded: index) &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `x` rounded to bfloat16: adding 16 random bits below the kept 16 and truncating rounds the
    /// magnitude up with probability (discarded bits) / 2^16, which is the distance to the value
    /// below over the gap (the carry crosses binades and reaches infinity as the bits say). NaN
    /// and infinities are kept as round to nearest keeps them.
    @inlinable
    public static func bfloat16(_ x: Float, random: UInt64) -> BFloat16 {
        guard x.isFinite else { return BFloat16(x) }
        let sum = x.bitPattern &+ UInt32(truncatingIfNeeded: random & 0xFFFF)
        return BFloat16(bitPattern: UInt16(truncatingIfNeeded: sum >> 16))
    }

    /// `x` rounded to float16: the two float16 neighbours of `x`, the upper one chosen with
    /// probability (x - lower) / (upper - lower), drawn with 24 random bits. Exact values, NaN and
    /// values beyond float16's range (which overflow to infinity) round as round to nearest does.
    @inlinable
    public static func float16(_ x: Float, random: UInt64) -> Float16 {
        let nearest = Float16(x)
        let n = Float(nearest)
        guard x.isFinite, nearest.isFinite, n != x else { return nearest }
        let (lower, upper) = n < x ? (nearest, nearest.nextUp) : (nearest.nextDown, nearest)
        guard upper.isFinite, lower.isFinite else { return nearest }
        let p = (x - Float(lower)) / (Float(upper) - Float(lower))
        let u = Float(random >> 40) * 0x1p-24
        return u < p ? upper : lower
    }
}

/// Counts, while bound to a task, the 16-bit parameter elements an optimizer updated: how many
/// updates changed the value computed in Float, and how many of those the rounding to storage
/// undid (the stored weight unchanged). A trainer binds one around its optimizer step.
public final class WeightUpdateCounter: @unchecked Sendable {
    /// 16-bit parameter elements updated while bound.
    public private(set) var elements = 0
    /// Of those, elements whose value computed in Float differs from the stored one before.
    public private(set) var changed = 0
    /// Of the changed, elements whose stored value did not change (the update rounded away).
    public private(set) var stalled = 0

    /// The counter bound to the current task (bind one with `WeightUpdateCounter.$current.withValue`).
    @TaskLocal public static var current: WeightUpdateCounter?

    /// A counter at zero.
    public init() {}

    func record(elements: Int, changed: Int, stalled: Int) {
        self.elements += elements
        self.changed += changed
        self.stalled += stalled
    }
}
