import HalfTraceAutograd

/// What a parameter is, which decides its YOLOv5 parameter group (see `ParameterGroups`).
public enum ParameterRole: String, Sendable, Codable {
    /// A bias: YOLOv5's group 0, never decayed, its lr warmed up from `warmup_bias_lr`.
    case bias
    /// A weight of a linear layer: group 1, decayed.
    case weight
    /// A normalisation layer's weight: group 2, not decayed.
    case normWeight
}

/// A parameter with a stable name (used by checkpoints) and its role.
public struct NamedParameter {
    /// The stable name, such as `fc0.weight`, that a checkpoint is matched by.
    public let name: String
    /// The parameter itself, a leaf that requires a gradient.
    public let tensor: Tensor
    /// The role that decides the parameter's YOLOv5 group.
    public let role: ParameterRole
}

/// A layer or model: maps a batch to a batch and owns named parameters in a fixed order.
public protocol Module: AnyObject {
    /// The output for a batch `x`.
    func callAsFunction(_ x: Tensor) -> Tensor
    /// The parameters with stable names, in a fixed order that checkpoints and optimizer state rely on.
    var namedParameters: [NamedParameter] { get }
}

extension Module {
    /// The parameter tensors, in `namedParameters` order.
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Parameters split as YOLOv5's `smart_optimizer` does (`utils/torch_utils.py`, v7.0): group 0 = biases,
    /// group 1 = weights (decayed), group 2 = normalisation weights (not decayed).
    public var parameterGroups: ParameterGroups { ParameterGroups(namedParameters) }
}

/// YOLOv5's three parameter groups, in optimizer order.
public struct ParameterGroups {
    /// Group 0: every bias.
    public var biases: [Tensor]
    /// Group 1: the weights of linear layers, the only group with weight decay.
    public var weights: [Tensor]
    /// Group 2: the weights of normalisation layers.
    public var normWeights: [Tensor]

    /// The groups of `named` by role, each in `named` order (YOLOv5's `smart_optimizer`).
    public init(_ named: [NamedParameter]) {
        biases = named.filter { $0.role == .bias }.map(\.tensor)
        weights = named.filter { $0.role == .weight }.map(\.tensor)
        normWeights = named.filter { $0.role == .normWeight }.map(\.tensor)
    }
}
