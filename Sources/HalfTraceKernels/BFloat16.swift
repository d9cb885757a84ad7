import CHalfKernels

/// A bfloat16 value: the top 16 bits of an IEEE binary32 (sign, 8 exponent bits, 7 fraction
/// bits). Swift has no bfloat16 type; this one holds the bit pattern and converts.
///
/// Narrowing rounds to nearest even, overflows to infinity, keeps subnormals and turns a NaN into
/// a quiet NaN (never infinity), as PyTorch's `c10::BFloat16` (round_to_nearest_even) does.
/// Widening is exact. Arithmetic happens in Float; each result is rounded once.
@frozen
public struct BFloat16: Sendable, Hashable, BitwiseCopyable, CustomStringConvertible {
    /// The 16 stored bits: sign, 8 exponent bits and 7 fraction bits, the top half of a binary32.
    public var bitPattern: UInt16

    /// The value whose bits are `bitPattern`, taken as they are (a NaN payload is kept).
    @inlinable public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// `x` rounded to nearest even.
    @inlinable public init(_ x: Float) {
        let b = x.bitPattern
        if b & 0x7FFF_FFFF > 0x7F80_0000 {
            bitPattern = UInt16(truncatingIfNeeded: b >> 16) | 0x40  // NaN: quiet, never infinity
        } else {
            bitPattern = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
        }
    }

    /// `x` rounded once, to nearest even (not through a rounded Float: Double -> Float rounds to
    /// odd first, which keeps the final rounding exact).
    @inlinable public init(_ x: Double) {
        self.init(BFloat16.roundedToOdd(x))
    }

    /// `x` as a Float with round-to-odd: the nearer neighbour if exact, otherwise whichever of
    /// the two bracketing Floats has an odd significand. Rounding that to 8 significant bits
    /// then equals rounding `x` directly (Float keeps 16 bits more).
    @inlinable static func roundedToOdd(_ x: Double) -> Float {
        var f = Float(x)
        guard x.isFinite, Double(f) != x else { return f }
        if f.isInfinite { return f.sign == .minus ? -.greatestFiniteMagnitude : .greatestFiniteMagnitude }
        if f.bitPattern & 1 == 0 { f = Double(f) < x ? f.nextUp : f.nextDown }
        return f
    }

    /// The value as a Float, exactly: the 16 bits become the top half of the binary32.
    @inlinable public var float: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
    /// Whether the value is neither infinite nor NaN (the exponent bits are not all ones).
    @inlinable public var isFinite: Bool { bitPattern & 0x7F80 != 0x7F80 }
    /// Whether the value is a NaN (exponent bits all ones and a nonzero fraction).
    @inlinable public var isNaN: Bool { bitPattern & 0x7FFF > 0x7F80 }
    /// Whether the value is +0 or -0.
    @inlinable public var isZero: Bool { bitPattern & 0x7FFF == 0 }

    /// The largest finite bfloat16, (2 - 2^-7) * 2^127 (about 3.39e38); larger values narrow to infinity.
    public static let greatestFiniteMagnitude = BFloat16(bitPattern: 0x7F7F)
    /// The smallest positive subnormal, 2^-133 (about 9.2e-41); half of it or less narrows to zero.
    public static let leastNonzeroMagnitude = BFloat16(bitPattern: 0x0001)
    /// The smallest positive normal value, 2^-126: Float's, since bfloat16 keeps its exponent range.
    public static let leastNormalMagnitude = BFloat16(bitPattern: 0x0080)
    /// Positive infinity.
    public static let infinity = BFloat16(bitPattern: 0x7F80)

    /// The value as its Float prints (the shortest text that reads back as the same Float).
    public var description: String { float.description }
}

extension Float {
    /// The bfloat16 value, exactly.
    @inlinable public init(_ x: BFloat16) { self = x.float }
}

extension Double {
    /// The bfloat16 value, exactly.
    @inlinable public init(_ x: BFloat16) { self = Double(x.float) }
}

/// Bulk bfloat16 <-> binary32 conversion, at the fastest kernel level this CPU runs (AVX-512
/// BF16, AVX2 or portable C; all give the bits of `BFloat16(_: Float)` and `Float(_: BFloat16)`).
public enum BFloat16Conversion {
    /// Widens `source` into `destination` (of the same count), exactly, at kernel level `isa`.
    public static func widen(
        _ source: UnsafeBufferPointer<BFloat16>, into destination: UnsafeMutableBufferPointer<Float>,
        isa: KernelISA = .best
    ) {
        precondition(source.count == destination.count, "widen: \(source.count) vs \(destination.count) elements")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        src.withMemoryRebound(to: UInt16.self, capacity: source.count) {
            ht_bf16_to_f32(isa.native, $0, dst, source.count)
        }
    }

    /// Rounds `source` to bfloat16 into `destination` (of the same count), at kernel level `isa`:
    /// to nearest even, overflowing to infinity, subnormals kept, a NaN kept quiet.
    public static func narrow(
        _ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<BFloat16>,
        isa: KernelISA = .best
    ) {
        precondition(source.count == destination.count, "narrow: \(source.count) vs \(destination.count) elements")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        dst.withMemoryRebound(to: UInt16.self, capacity: source.count) {
            ht_f32_to_bf16(isa.native, src, $0, source.count)
        }
    }

    /// The whole array widened (large arrays in ranges on the worker pool).
    public static func widen(_ source: [BFloat16], isa: KernelISA = .best) -> [Float] {
        Parallel.convert(source) { widen($0, into: $1, isa: isa) }
    }

    /// The whole array narrowed (large arrays in ranges on the worker pool).
    public static func narrow(_ source: [Float], isa: KernelISA = .best) -> [BFloat16] {
        Parallel.convert(source) { narrow($0, into: $1, isa: isa) }
    }
}
