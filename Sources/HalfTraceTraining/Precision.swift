import HalfTraceAutograd

/// A training precision: what dtype parameters are stored in and whether autocast is on.
public enum Precision: String, Sendable, Codable, CaseIterable {
    /// float32 parameters and activations.
    case fp32
    /// float32 master weights, forward under autocast(float16), GradScaler.
    case amp
    /// float32 master weights, forward under autocast(bfloat16); no GradScaler by default
    /// (PyTorch's advice: bfloat16 has float32's exponent range).
    case ampBF16 = "amp-bf16"
    /// float16 parameters and activations ("pure" half).
    case fp16
    /// bfloat16 parameters and activations; no GradScaler by default.
    case bf16
    /// float64 parameters and activations: what the Float64 reference trainer checks the loop
    /// against, to rounding.
    case fp64

    /// The dtype parameters are stored in: float32 master weights for the AMP precisions.
    public var parameterDType: DType {
        switch self {
        case .fp32, .amp, .ampBF16: .float32
        case .fp16: .float16
        case .bf16: .bfloat16
        case .fp64: .float64
        }
    }

    /// The 16-bit dtype gradients pass through (autocast's or the parameters'), if any: what a
    /// GradScaler protects and what the underflow fraction counts.
    public var halfDType: DType? {
        switch self {
        case .amp, .fp16: .float16
        case .ampBF16, .bf16: .bfloat16
        case .fp32, .fp64: nil
        }
    }

    /// Whether gradients pass through a 16-bit format, so that a GradScaler has work to do.
    public var hasHalfGradients: Bool { halfDType != nil }

    /// Whether a run uses a GradScaler unless told otherwise: for float16 (PyTorch's AMP recipe),
    /// not for bfloat16 (whose range is float32's; PyTorch's autocast documentation runs CPU
    /// bfloat16 without one).
    public var scalerByDefault: Bool { halfDType == .float16 }

    /// Runs `body` under autocast when this precision asks for it.
    public func scope<R>(_ body: () throws -> R) rethrows -> R {
        switch self {
        case .amp: try withAutocast(.float16, body)
        case .ampBF16: try withAutocast(.bfloat16, body)
        default: try body()
        }
    }
}

extension Precision {
    /// The key `bench --json` uses: "float32", "float16", "bfloat16", "amp", "amp-bf16" or
    /// "float64".
    public var dtypeKey: String {
        switch self {
        case .fp32: "float32"
        case .fp16: "float16"
        case .bf16: "bfloat16"
        case .amp: "amp"
        case .ampBF16: "amp-bf16"
        case .fp64: "float64"
        }
    }
}
