import HalfTraceKernels

/// A tensor's element type. Storage is real: a `float16` tensor holds IEEE binary16 bits, a
/// `bfloat16` tensor the top halves of binary32 values.
public enum DType: String, Sendable, Codable, CaseIterable {
    /// IEEE binary16: 5 exponent bits, 10 fraction bits; largest finite value 65504.
    case float16
    /// bfloat16: float32's 8 exponent bits with 7 fraction bits.
    case bfloat16
    /// IEEE binary32, the storage of master weights and of autocast's float32 ops.
    case float32
    /// IEEE binary64, computed in Double: the precision of reference runs.
    case float64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float16, .bfloat16: 2
        case .float32: 4
        case .float64: 8
        }
    }

    /// Whether elements are 16 bits wide (float16 or bfloat16): the formats that underflow and
    /// overflow where float32 does not, and whose gradients a GradScaler scales.
    public var isHalf: Bool { byteSize == 2 }

    /// Floating-point type promotion as PyTorch's `promote_types` does it between floating
    /// dtypes: the wider wins, and float16 with bfloat16 gives float32 (neither holds the other).
    public static func widest(_ a: DType, _ b: DType) -> DType {
        if a == b { return a }
        if a.isHalf && b.isHalf { return .float32 }
        return a.byteSize >= b.byteSize ? a : b
    }

    /// The promotion of all `dtypes` (at least one).
    public static func widest(_ dtypes: [DType]) -> DType { dtypes.dropFirst().reduce(dtypes[0], widest) }
}
