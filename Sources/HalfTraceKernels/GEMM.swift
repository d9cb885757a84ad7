import CHalfKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// A read-only matrix view for `GEMM`: element (i, j) is at `base[i * rowStride + j * colStride]`.
/// A transpose is the same storage with the strides swapped.
public struct MatrixOperand {
    public enum Elements {
        case float32(UnsafePointer<Float>)
        case float16(UnsafePointer<Float16>)
        case bfloat16(UnsafePointer<BFloat16>)
    }

    public var elements: Elements
    public var rowStride: Int
    public var colStride: Int

    public init(_ elements: Elements, rowStride: Int, colStride: Int) {
        self.elements = elements
        self.rowStride = rowStride
        self.colStride = colStride
    }

    var native: ht_operand {
        switch elements {
        case .float32(let p):
            ht_operand(data: UnsafeRawPointer(p), format: HT_F32, row_stride: rowStride, col_stride: colStride)
        case .float16(let p):
            ht_operand(data: UnsafeRawPointer(p), format: HT_F16, row_stride: rowStride, col_stride: colStride)
        case .bfloat16(let p):
            ht_operand(data: UnsafeRawPointer(p), format: HT_BF16, row_stride: rowStride, col_stride: colStride)
        }
    }
}

/// Matrix multiplication in binary32 (and binary64) with a fixed accumulation order.
///
/// `C[i, j]` is the chain of fused multiply-adds `acc = fma(A[i,k], B[k,j], acc)` over
/// k = 0, 1, ..., K-1 from +0: the same bits whatever the ISA level and however C is split
/// between threads. Large products are split over up to `maxThreads` threads (both cores by
/// default); a task can lower that with `GEMM.$maxThreads.withValue(1) { ... }`, which
/// evolution does when it already runs one individual per core.
public enum GEMM {
    @TaskLocal public static var maxThreads: Int = defaultThreadCount

    /// Below this many multiply-adds a product runs on the calling thread.
    public static let parallelThreshold = 1 << 19

    public static let defaultThreadCount: Int = {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return max(1, min(Int(n), 8))
    }()

    /// C (m x n, row-major, leading dimension ldc) = A (m x k) * B (k x n), plus `bias[j]` on
    /// every row when given (added once to each finished fma chain).
    public static func multiply(
        m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand, bias: UnsafePointer<Float>? = nil,
        into c: UnsafeMutablePointer<Float>, ldc: Int, isa: KernelISA = .best, threads: Int? = nil
    ) {
        guard m > 0, n > 0 else { return }
        let work = m * n * max(k, 1)
        let t = work < parallelThreshold ? 1 : max(1, min(threads ?? maxThreads, 8))
        let (na, nb) = (a.native, b.native)
        if t == 1 {
            ht_sgemm(isa.native, 0, m, 0, n, k, na, nb, bias, c, ldc)
            return
        }
        // Split the longer side into t contiguous blocks aligned to the micro-tile sizes.
        let splitColumns = n >= m
        let extent = splitColumns ? n : m
        let align = splitColumns ? 32 : 24
        let chunk = ((extent + t - 1) / t + align - 1) / align * align
        Parallel.run(parts: t) { part in
            let lo = part * chunk, hi = min(extent, lo + chunk)
            guard lo < hi else { return }
            if splitColumns {
                ht_sgemm(isa.native, 0, m, lo, hi, k, na, nb, bias, c, ldc)
            } else {
                ht_sgemm(isa.native, lo, hi, 0, n, k, na, nb, bias, c, ldc)
            }
        }
    }

    /// The binary64 product, same accumulation order (fma over k from +0), single-threaded.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Double>, aRowStride: Int, aColStride: Int,
        b: UnsafePointer<Double>, bRowStride: Int, bColStride: Int,
        into c: UnsafeMutablePointer<Double>, ldc: Int, isa: KernelISA = .best
    ) {
        ht_dgemm(isa.native, m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c, ldc)
    }
}

/// Carries non-Sendable values (raw pointers) into a concurrent loop whose iterations write
/// disjoint memory.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
