import Synchronization

/// Where a training step's time goes: `bench` binds a profile around its steps, and the ops,
/// the GEMM wrapper, the conversions and the optimizers report their phases to it.
///
/// Times are exclusive: a conversion inside an element-wise op counts as conversion, not twice.
/// When no profile is bound anywhere, `measure` costs one relaxed atomic load.
public final class StepProfile: @unchecked Sendable {
    /// What a step does, as `bench --json` names it in `step_split_ms`.
    public enum Phase: Hashable, Sendable, CustomStringConvertible {
        /// A GEMM of the forward pass or of the backward pass; the layout says which operands
        /// are read transposed ("nt": B transposed, as x W^T; "tn": A transposed, as g^T x).
        case gemm(backward: Bool, layout: String)
        /// A phase outside the GEMMs.
        ///
        /// `elementwise`: element-wise ops and gradient sums; `loss`: the loss functions, forward
        /// and backward; `conversion`: 16-bit <-> Float conversions and casts; `optimizer`: the
        /// optimizer's update; `allocation`: zero-filling the float64 GEMM's output; `im2col`: a
        /// convolution's patch matrix and its gradient's scatter back (col2im); `normalization`:
        /// batch normalisation, forward and backward; `pooling`: max pooling, nearest upsampling
        /// and channel concatenation.
        case elementwise, loss, conversion, optimizer, allocation, im2col, normalization, pooling

        /// The phase's key in `step_split_ms` ("forward_gemm_nt", "conversion", ...).
        public var description: String {
            switch self {
            case .gemm(let backward, let layout): "\(backward ? "backward" : "forward")_gemm_\(layout)"
            case .elementwise: "elementwise"
            case .loss: "loss"
            case .conversion: "conversion"
            case .optimizer: "optimizer"
            case .allocation: "allocation"
            case .im2col: "im2col"
            case .normalization: "normalization"
            case .pooling: "pooling"
            }
        }
    }

    private static let bound = Atomic<Int>(0)
    @TaskLocal private static var current: StepProfile?

    /// Exclusive seconds per phase, summed over everything measured while bound.
    public private(set) var seconds: [Phase: Double] = [:]
    /// Seconds spent inside `record`, measured or not.
    public private(set) var total = 0.0
    /// Multiply-adds of the GEMMs run while bound (m * n * k each).
    public private(set) var multiplyAdds = 0.0
    private var childSeconds: [Double] = []
    private let clock = ContinuousClock()

    /// An empty profile; bind it around the steps to measure with `record(_:)`.
    public init() {}

    /// Runs `body` with this profile collecting the phases of the calling task.
    public func record<R>(_ body: () throws -> R) rethrows -> R {
        Self.bound.add(1, ordering: .relaxed)
        defer { Self.bound.subtract(1, ordering: .relaxed) }
        let start = clock.now
        defer { total += (clock.now - start).seconds }
        return try Self.$current.withValue(self, operation: body)
    }

    /// Runs `body`, attributing its time (minus nested measurements) to `phase` when a profile
    /// is bound to this task.
    @inline(__always)
    public static func measure<R>(_ phase: Phase, _ body: () throws -> R) rethrows -> R {
        if bound.load(ordering: .relaxed) == 0 { return try body() }
        guard let profile = current else { return try body() }
        return try profile.time(phase, body)
    }

    /// Counts a GEMM's m * n * k multiply-adds when a profile is bound to this task.
    @inline(__always)
    public static func countMultiplyAdds(_ n: Int) {
        if bound.load(ordering: .relaxed) == 0 { return }
        current?.multiplyAdds += Double(n)
    }

    private func time<R>(_ phase: Phase, _ body: () throws -> R) rethrows -> R {
        childSeconds.append(0)
        let start = clock.now
        defer {
            let elapsed = (clock.now - start).seconds
            let children = childSeconds.removeLast()
            seconds[phase, default: 0] += elapsed - children
            if !childSeconds.isEmpty { childSeconds[childSeconds.count - 1] += elapsed }
        }
        return try body()
    }
}

/// Durations as the Double seconds that profiles and benchmarks add up.
extension Duration {
    /// This duration in seconds.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
