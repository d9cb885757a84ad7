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
    /// Where the elements are and how they are stored; 16-bit elements are widened exactly to Float as
    /// the kernel packs them.
    public enum Elements {
        /// binary32 elements.
        case float32(UnsafePointer<Float>)
        /// IEEE binary16 elements.
        case float16(UnsafePointer<Float16>)
        /// bfloat16 elements.
        case bfloat16(UnsafePointer<BFloat16>)
    }

    /// The storage the view reads.
    public var elements: Elements
    /// Elements from (i, j) to (i + 1, j).
    public var rowStride: Int
    /// Elements from (i, j) to (i, j + 1).
    public var colStride: Int

    /// A view of `elements` with strides counted in elements, not bytes.
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
/// between threads. Large products are split over up to `maxThreads` threads (by default
/// `defaultThreadCount`, the usable cores up to 8); a task can lower that with
/// `GEMM.$maxThreads.withValue(1) { ... }`, as `concurrentMap` does in its workers, which
/// already run one item (e.g. one evolution individual) per core.
public enum GEMM {
    /// The most threads one product may use in the current task; `concurrentMap` binds 1 inside its
    /// workers, which already occupy the cores.
    @TaskLocal public static var maxThreads: Int = defaultThreadCount

    /// Below this many multiply-adds a product runs on the calling thread.
    public static let parallelThreshold = 1 << 19

    /// The CPUs this process may use, at most 8: the default of `maxThreads` and `concurrentMap`'s
    /// workers. The online cores, fewer when the affinity mask allows fewer (`taskset`, a Slurm job's
    /// CPU set) or a cgroup v2 `cpu.max` quota does (a Kubernetes CPU limit, rounded up), so that a
    /// shard given one CPU runs one thread instead of eight on it.
    public static let defaultThreadCount: Int = max(1, min(Int(ht_usable_cpus()), 8))

    /// The CPUs a cgroup v2 `cpu.max` line ("QUOTA PERIOD", microseconds) lets a group use:
    /// ceil(quota / period); nil for "max" (no limit) or a line that is not two positive numbers.
    public static func cpus(cgroupCPUMax line: String) -> Int? {
        let n = ht_parse_cpu_max(line)
        return n > 0 ? Int(n) : nil
    }

    /// The smallest CPU quota on the way from a process's cgroup to its hierarchy's root, nil for
    /// none: `selfCgroup` the text of /proc/self/cgroup, `v2Root` the v2 hierarchy's directory
    /// (/sys/fs/cgroup), `v1CPURoot` the v1 cpu controller's (/sys/fs/cgroup/cpu). How
    /// `defaultThreadCount` reads a Kubernetes CPU limit.
    public static func cgroupCPULimit(selfCgroup: String, v2Root: String, v1CPURoot: String) -> Int? {
        let n = ht_cgroup_cpu_limit(selfCgroup, v2Root, v1CPURoot)
        return n > 0 ? Int(n) : nil
    }

    /// C (m x n, row-major, leading dimension ldc) = A (m x k) * B (k x n), plus `bias[j]` on
    /// every row when given (added once to each finished fma chain).
    ///
    /// Below `parallelThreshold` multiply-adds the product runs on the calling thread; above, on
    /// `threads` threads (default `maxThreads`, at most 8), C split into contiguous blocks of
    /// micro-tiles along its longer side.
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
        // Every element of C is the same fma chain whatever the split, so the pool may run the
        // product unsplit when the caller would run it alone.
        let splitColumns = n >= m
        let extent = splitColumns ? n : m
        let align = splitColumns ? 32 : 24
        Parallel.run(maxParts: t) { parts, part in
            let chunk = ((extent + parts - 1) / parts + align - 1) / align * align
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
