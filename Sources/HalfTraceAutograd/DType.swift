/// A tensor's element type. Storage is real: a `float16` tensor holds IEEE binary16 bits.
public enum DType: String, Sendable, Codable, CaseIterable, Comparable {
    case float16
    case float32
    case float64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float16: 2
        case .float32: 4
        case .float64: 8
        }
    }

    /// Floating-point type promotion as PyTorch does it between floating dtypes: the wider wins.
    public static func widest(_ a: DType, _ b: DType) -> DType { max(a, b) }

    public static func < (a: DType, b: DType) -> Bool { a.byteSize < b.byteSize }
}
