#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The types HalfTrace computes in: `Float` (for float16 and float32 tensors) and `Double`
/// (for float64 tensors). Elementary functions come from the C library, the same on every
/// call, so results are reproducible run after run.
public protocol ComputeFloat: FusedMultiplyAdd, Sendable where RawSignificand: FixedWidthInteger {
    /// e^x, from the C library.
    static func exp(_ x: Self) -> Self
    /// The natural logarithm, from the C library.
    static func log(_ x: Self) -> Self
    /// log(1 + x), accurate for small x (binary cross-entropy's log1p(exp(-|x|))), from the C library.
    static func log1p(_ x: Self) -> Self
    /// The hyperbolic tangent, from the C library.
    static func tanh(_ x: Self) -> Self
    /// The cosine of `x` radians (cosine schedules, Box-Muller), from the C library.
    static func cos(_ x: Self) -> Self
    /// `x` raised to the power `y`, from the C library.
    static func pow(_ x: Self, _ y: Self) -> Self
    init(_ double: Double)
}

/// Float is the compute type of float16, bfloat16 and float32 tensors.
extension Float: ComputeFloat {
    /// e^x: the C library's `expf`.
    @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
    /// The natural logarithm: the C library's `logf`.
    @inlinable public static func log(_ x: Float) -> Float { logf(x) }
    /// log(1 + x): the C library's `log1pf`.
    @inlinable public static func log1p(_ x: Float) -> Float { log1pf(x) }
    /// The hyperbolic tangent: the C library's `tanhf`.
    @inlinable public static func tanh(_ x: Float) -> Float { tanhf(x) }
    /// The cosine: the C library's `cosf`.
    @inlinable public static func cos(_ x: Float) -> Float { cosf(x) }
    /// `x` to the power `y`: the C library's `powf`.
    @inlinable public static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
}

// File-scope names resolve to the C library, not to the static members below.
@usableFromInline func libmExp(_ x: Double) -> Double { exp(x) }
@usableFromInline func libmLog(_ x: Double) -> Double { log(x) }
@usableFromInline func libmLog1p(_ x: Double) -> Double { log1p(x) }
@usableFromInline func libmTanh(_ x: Double) -> Double { tanh(x) }
@usableFromInline func libmCos(_ x: Double) -> Double { cos(x) }
@usableFromInline func libmPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }

/// Double is the compute type of float64 tensors and of the Float64 reference paths.
extension Double: ComputeFloat {
    /// e^x: the C library's `exp`.
    @inlinable public static func exp(_ x: Double) -> Double { libmExp(x) }
    /// The natural logarithm: the C library's `log`.
    @inlinable public static func log(_ x: Double) -> Double { libmLog(x) }
    /// log(1 + x): the C library's `log1p`.
    @inlinable public static func log1p(_ x: Double) -> Double { libmLog1p(x) }
    /// The hyperbolic tangent: the C library's `tanh`.
    @inlinable public static func tanh(_ x: Double) -> Double { libmTanh(x) }
    /// The cosine: the C library's `cos`.
    @inlinable public static func cos(_ x: Double) -> Double { libmCos(x) }
    /// `x` to the power `y`: the C library's `pow`.
    @inlinable public static func pow(_ x: Double, _ y: Double) -> Double { libmPow(x, y) }
}
