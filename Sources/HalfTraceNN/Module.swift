import HalfTraceAutograd

/// What a parameter is, which decides its YOLOv5 parameter group (see `ParameterGroups`).
public enum ParameterRole: String, Sendable, Codable {
    case bias
    case weight
    case normWeight
}

/// A parameter with a stable name (used by checkpoints) and its role.
public struct NamedParameter {
    public let name: String
    public let tensor: Tensor
    public let role: ParameterRole
}

/// A layer or model: maps a batch to a batch and owns named parameters in a fixed order.
public protocol Module: AnyObject {
    func callAsFunction(_ x: Tensor) -> Tensor
    var namedParameters: [NamedParameter] { get }
}

extension Module {
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Parameters split as YOLOv5's `smart_optimizer` does (`utils/torch_utils.py`, v7.0): group 0 = biases,
    /// group 1 = weights (decayed), group 2 = normalisation weights (not decayed).
    public var parameterGroups: ParameterGroups {
        let named = namedParameters
        return ParameterGroups(
            biases: named.filter { $0.role == .bias }.map(\.tensor),
            weights: named.filter { $0.role == .weight }.map(\.tensor),
            normWeights: named.filter { $0.role == .normWeight }.map(\.tensor))
    }
}

/// YOLOv5's three parameter groups, in optimizer order.
public struct ParameterGroups {
    public var biases: [Tensor]
    public var weights: [Tensor]
    public var normWeights: [Tensor]
}
