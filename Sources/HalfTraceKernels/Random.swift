/// SplitMix64 (Steele, Lea and Flood 2014): a tiny, fast, seedable generator whose whole state
/// is one word, so that checkpoints can save and restore it exactly.
///
/// HalfTrace never uses the system generator: every random draw takes an injected
/// `inout some RandomNumberGenerator`, and the helpers below turn raw words into numbers with
/// fixed arithmetic so that a seed gives the same numbers on every platform and Swift version.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable, Codable {
    /// The whole state: saving and restoring this one word continues the sequence exactly.
    public var state: UInt64

    /// A generator whose state starts at `seed`, as Vigna's reference `splitmix64.c` seeds it.
    public init(seed: UInt64) { state = seed }

    /// The next 64 bits: state += 0x9E3779B97F4A7C15, then Stafford's Mix13 finaliser of the state
    /// (Vigna's `splitmix64.c`, bit for bit).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An independent stream for a sub-task (e.g. one evolution individual): the seed is mixed
    /// with the stream index so that streams do not overlap in practice.
    public static func stream(seed: UInt64, index: UInt64) -> SplitMix64 {
        var g = SplitMix64(seed: seed ^ (index &* 0xD1B5_4A32_D192_ED03))
        _ = g.next()
        return SplitMix64(seed: g.next())
    }
}

/// Draws built from raw 64-bit words with fixed arithmetic, so that a seed gives the same numbers
/// on every platform and Swift version.
extension RandomNumberGenerator {
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in [low, high).
    public mutating func nextUniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUnit()
    }

    /// Standard normal by the Box-Muller transform (one of the pair; no hidden cache, so the
    /// generator state alone determines the sequence).
    public mutating func nextNormal() -> Double {
        var u1 = nextUnit()
        while u1 == 0 { u1 = nextUnit() }
        let u2 = nextUnit()
        return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * Double.pi * u2)
    }

    /// Uniform integer in 0..<bound, unbiased (Lemire's method).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "nextIndex(below:) needs a positive bound, got \(bound)")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Fisher-Yates shuffle of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        var i = n - 1
        while i > 0 {
            p.swapAt(i, nextIndex(below: i + 1))
            i -= 1
        }
        return p
    }
}
