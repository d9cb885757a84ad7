import HalfTraceAutograd

/// The nonlinearity between an MLP's hidden layers.
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// max(x, 0).
    case relu
    /// tanh(x).
    case tanh

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: x.relu()
        case .tanh: x.tanh()
        }
    }
}

/// A multilayer perceptron: Linear, [LayerNorm], activation, ..., Linear (no activation on the
/// output, which is a logit vector).
public final class MLP: Module {
    /// The Linear layers, input first (named fc0, fc1, ...).
    public let layers: [Linear]
    /// The LayerNorm after each hidden Linear (named norm0, norm1, ...; empty without layer norm).
    public let norms: [LayerNorm]
    /// The activation after each hidden layer and its norm.
    public let activation: Activation

    /// An MLP of `sizes.count - 1` Linear layers, initialised layer by layer from `rng` as
    /// PyTorch's `nn.Linear` does.
    ///
    /// - Parameters:
    ///   - sizes: layer widths, input first (e.g. [64, 256, 256, 10]).
    ///   - activation: the nonlinearity after every hidden layer.
    ///   - layerNorm: a LayerNorm after every hidden Linear.
    ///   - dtype: the storage of every parameter.
    ///   - rng: the generator the weights and biases are drawn from, in layer order.
    public init(sizes: [Int], activation: Activation, layerNorm: Bool = false, dtype: DType = .float32,
                using rng: inout some RandomNumberGenerator) {
        precondition(sizes.count >= 2, "MLP needs at least an input and an output size; got \(sizes)")
        var layers: [Linear] = []
        var norms: [LayerNorm] = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Linear(sizes[i], sizes[i + 1], dtype: dtype, name: "fc\(i)", using: &rng))
            if layerNorm && i < sizes.count - 2 {
                norms.append(LayerNorm(sizes[i + 1], dtype: dtype, name: "norm\(i)"))
            }
        }
        self.layers = layers
        self.norms = norms
        self.activation = activation
    }

    /// The logits of a batch `x` of shape [batch, sizes[0]].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = layer(h)
            if i < layers.count - 1 {
                if i < norms.count { h = norms[i](h) }
                h = activation(h)
            }
        }
        return h
    }

    /// Every layer's parameters in forward order: fc0.weight, fc0.bias, norm0.weight, norm0.bias,
    /// fc1.weight, ...
    public var namedParameters: [NamedParameter] {
        var all: [NamedParameter] = []
        for (i, layer) in layers.enumerated() {
            all += layer.namedParameters
            if i < norms.count { all += norms[i].namedParameters }
        }
        return all
    }
}
