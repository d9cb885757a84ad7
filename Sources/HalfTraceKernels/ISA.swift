import CHalfKernels

/// The instruction-set level a native kernel runs at.
///
/// Every level gives bit-identical results (see `CHalfKernels.h`); the levels differ only in
/// speed. `KernelISA.best` is what this CPU supports; tests run the other levels against it.
public enum KernelISA: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain C for any CPU, fused multiply-adds through `fmaf`.
    case portable = 0
    /// AVX2 with FMA and F16C.
    case avx2 = 1
    /// AVX-512F with F16C.
    case avx512 = 2
    /// AVX-512F with the AVX-512 BF16 conversion instructions (the other kernels run as avx512).
    case avx512bf16 = 3

    /// The fastest level this CPU supports, detected once at run time (CPUID).
    public static let best: KernelISA = KernelISA(rawValue: Int(ht_isa_best().rawValue)) ?? .portable

    /// The levels this CPU can run.
    public static var supported: [KernelISA] { allCases.filter { $0.rawValue <= best.rawValue } }

    /// This level as the C kernels' `ht_isa`, for calling `CHalfKernels` directly.
    public var native: ht_isa { ht_isa(rawValue: UInt32(rawValue)) }

    /// The instruction sets the level uses, as `bench` prints them ("avx2+fma+f16c").
    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2+fma+f16c"
        case .avx512: "avx512f+f16c"
        case .avx512bf16: "avx512f+f16c+bf16"
        }
    }
}
