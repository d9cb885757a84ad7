import HalfTraceAutograd

/// A training precision: what dtype parameters are stored in and whether autocast is on.
public enum Precision: String, Sendable, Codable, CaseIterable {
    /// float32 parameters and activations.
    case fp32
    /// float32 master weights, forward under autocast(float16), GradScaler.
    case amp
    /// float16 parameters and activations ("pure" half).
    case fp16
    /// float64 parameters and activations: what the Float64 reference trainer checks the loop
    /// against, to rounding.
    case fp64

    public var parameterDType: DType {
        switch self {
        case .fp32, .amp: .float32
        case .fp16: .float16
        case .fp64: .float64
        }
    }

    /// Whether gradients pass through a 16-bit format, so that a GradScaler has work to do.
    public var hasHalfGradients: Bool { self == .amp || self == .fp16 }

    /// Runs `body` under autocast when this precision asks for it.
    public func scope<R>(_ body: () throws -> R) rethrows -> R {
        self == .amp ? try withAutocast(.float16, body) : try body()
    }
}

extension Precision {
    /// The key `bench --json` uses: "float32", "float16" or "amp".
    public var dtypeKey: String {
        switch self {
        case .fp32: "float32"
        case .fp16: "float16"
        case .amp: "amp"
        case .fp64: "float64"
        }
    }
}
