/// Autocast: a scoped precision policy, as `torch.autocast` does it (PyTorch's CUDA op lists).
///
/// Inside `withAutocast(.float16) { ... }` or `withAutocast(.bfloat16) { ... }`:
/// - matmul and linear cast float32 inputs to the 16-bit dtype (`cast(to:)`, so the gradient
///   flows back into the float32 master weight as a float32 gradient), accumulate in Float32
///   and round the output once to that dtype;
/// - reductions (sum, mean), softmax, log-softmax, exp, log, layer norm and the losses cast
///   16-bit inputs up to float32 and return float32;
/// - every other op takes the widest input dtype.
/// float64 tensors are never cast. Outside the scope ops follow the widest-input rule only. The
/// policy is the same for both dtypes, as PyTorch's CPU autocast (bfloat16 by default) and CUDA
/// autocast (float16) share their op lists.
public enum Autocast {
    /// The 16-bit dtype of the enclosing `withAutocast` scope, or nil outside autocast.
    @TaskLocal public static var lowPrecision: DType? = nil

    /// How an op treats its inputs under autocast.
    enum Policy {
        /// matmul, linear: float32 inputs become `lowPrecision`.
        case lowPrecision
        /// reductions, softmax, exp/log, norms, losses: 16-bit inputs become float32.
        case float32
        /// everything else: no cast, the widest input wins.
        case promote
    }

    /// The inputs of an op cast as the policy says (a no-op outside autocast).
    static func apply(_ policy: Policy, to inputs: [Tensor]) -> [Tensor] {
        guard let low = lowPrecision else { return inputs }
        switch policy {
        case .promote:
            return inputs
        case .lowPrecision:
            if inputs.contains(where: { $0.dtype == .float64 }) { return inputs }
            return inputs.map { $0.dtype == .float32 ? $0.cast(to: low) : $0 }
        case .float32:
            return inputs.map { $0.dtype.isHalf ? $0.cast(to: .float32) : $0 }
        }
    }
}

/// Runs `body` with autocast to `dtype` (float16 or bfloat16) enabled.
public func withAutocast<R>(_ dtype: DType = .float16, _ body: () throws -> R) rethrows -> R {
    precondition(dtype.isHalf, "autocast casts to float16 or bfloat16; got \(dtype)")
    return try Autocast.$lowPrecision.withValue(dtype, operation: body)
}
