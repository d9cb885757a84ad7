/// Element-wise arithmetic on storages, in the compute type, rounded once to the result dtype.
/// Used by backward closures (gradient sums) and by optimizers.
public enum StorageMath {
    /// a + b, element-wise; both of one dtype and count.
    public static func add(_ a: Storage, _ b: Storage) -> Storage {
        precondition(a.dtype == b.dtype && a.count == b.count,
                     "add: \(a.dtype)[\(a.count)] vs \(b.dtype)[\(b.count)]")
        return a.dtype == .float64 ? zip(a, b, Double.self, +) : zip(a, b, Float.self, +)
    }

    /// a * s, element-wise, with s rounded to the compute type first.
    public static func scale(_ a: Storage, by s: Double) -> Storage {
        a.dtype == .float64 ? map(a, Double.self) { $0 * s } : map(a, Float.self) { [s = Float(s)] in $0 * s }
    }

    @inline(__always)
    static func map<C: TensorCompute>(_ a: Storage, _: C.Type, _ f: (C) -> C) -> Storage {
        let x = C.load(a)
        let y = [C](unsafeUninitializedCapacity: x.count) { out, n in
            x.withUnsafeBufferPointer { x in
                for i in x.indices { out[i] = f(x[i]) }
            }
            n = x.count
        }
        return C.store(y, as: a.dtype)
    }

    @inline(__always)
    static func zip<C: TensorCompute>(_ a: Storage, _ b: Storage, _: C.Type, _ f: (C, C) -> C) -> Storage {
        let x = C.load(a), y = C.load(b)
        let z = [C](unsafeUninitializedCapacity: x.count) { out, n in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeBufferPointer { y in
                    for i in x.indices { out[i] = f(x[i], y[i]) }
                }
            }
            n = x.count
        }
        return C.store(z, as: a.dtype)
    }

    /// Builds an array of n values from a generator over indices (unchecked writes).
    @inline(__always)
    static func build<C>(_ n: Int, _ f: (Int) -> C) -> [C] {
        [C](unsafeUninitializedCapacity: n) { out, count in
            for i in 0..<n { out[i] = f(i) }
            count = n
        }
    }
}
