/// A scalar type with an exactly rounded fused multiply-add, `a * b + c` rounded once.
///
/// PyTorch's CPU kernels evaluate `add(other, alpha)`, `addcmul` and `lerp` as one FMA on
/// AVX2/AVX-512 machines, so optimizer updates must too to match it bit for bit.
public protocol FusedMultiplyAdd: BinaryFloatingPoint {
    /// `a * b + c` with a single rounding.
    static func fma(_ a: Self, _ b: Self, _ c: Self) -> Self
}

extension Double: FusedMultiplyAdd {
    @inlinable @inline(__always)
    public static func fma(_ a: Double, _ b: Double, _ c: Double) -> Double { c.addingProduct(a, b) }
}

extension Float: FusedMultiplyAdd {
    /// Exact without an FMA instruction (Swift cannot enable one per function): the product of
    /// two Floats is exact in Double; the Double sum is made round-to-odd with TwoSum's exact
    /// error term, and round-to-odd at 53 bits followed by rounding to 24 bits (53 >= 2*24 + 2)
    /// is the correctly rounded result. No libm call, so the loop vectorises.
    @inlinable @inline(__always)
    public static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float {
        let p = Double(a) * Double(b)
        let q = Double(c)
        var s = p + q
        guard s.isFinite else { return Float(s) }
        let v = s - p
        let error = (p - (s - v)) + (q - v)
        if error != 0 && s.bitPattern & 1 == 0 {
            s = error > 0 ? s.nextUp : s.nextDown
        }
        return Float(s)
    }
}
