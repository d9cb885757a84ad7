import HalfTraceKernels

/// Element-wise arithmetic on storages, in the compute type, rounded once to the result dtype.
/// Used by backward closures (gradient sums) and by optimizers.
public enum StorageMath {
    /// a + b, element-wise; both of one dtype and count.
    public static func add(_ a: Storage, _ b: Storage) -> Storage {
        precondition(a.dtype == b.dtype && a.count == b.count,
                     "add: \(a.dtype)[\(a.count)] vs \(b.dtype)[\(b.count)]")
        return StepProfile.measure(.elementwise) { a.dtype == .float64 ? sum(a, b, Double.self) : sum(a, b, Float.self) }
    }

    /// a * s, element-wise, with s rounded to the compute type first.
    public static func scale(_ a: Storage, by s: Double) -> Storage {
        StepProfile.measure(.elementwise) { a.dtype == .float64 ? product(a, s) : product(a, Float(s)) }
    }

    private static func sum<C: TensorCompute>(_ a: Storage, _ b: Storage, _: C.Type) -> Storage {
        let x = C.load(a), y = C.load(b)
        let z = x.withUnsafeBufferPointer { x in
            y.withUnsafeBufferPointer { y in build(x.count) { r, z in for i in r { z[i] = x[i] + y[i] } } }
        }
        return C.store(z, as: a.dtype)
    }

    private static func product<C: TensorCompute>(_ a: Storage, _ s: C) -> Storage {
        let x = C.load(a)
        let y = x.withUnsafeBufferPointer { x in build(x.count) { r, y in for i in r { y[i] = x[i] * s } } }
        return C.store(y, as: a.dtype)
    }

    /// Builds an array of n values: `fill(range, out)` writes `out[range]` (unchecked writes),
    /// each element from its own inputs, so that large arrays can be filled in contiguous ranges
    /// on the worker pool without changing a bit. Write `fill` as a closure whose loop calls
    /// only concrete or generic-parameter code (no closure per element): on the pool it runs as
    /// its own function, and a closure called per element there would not be inlined.
    @inline(__always)
    static func build<C>(_ n: Int, _ fill: (Range<Int>, UnsafeMutableBufferPointer<C>) -> Void) -> [C] {
        [C](unsafeUninitializedCapacity: n) { out, count in
            if Parallel.parts(n) > 1 {
                Parallel.forEachRange(n) { r in fill(r, out) }
            } else if n > 0 {
                fill(0..<n, out)
            }
            count = n
        }
    }
}
