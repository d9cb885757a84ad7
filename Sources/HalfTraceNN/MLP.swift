import HalfTraceAutograd

public enum Activation: String, Sendable, Codable, CaseIterable {
    case relu
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
    public let layers: [Linear]
    public let norms: [LayerNorm]
    public let activation: Activation

    /// - Parameters:
    ///   - sizes: layer widths, input first (e.g. [64, 256, 256, 10]).
    ///   - layerNorm: a LayerNorm after every hidden Linear.
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

    public var namedParameters: [NamedParameter] {
        var all: [NamedParameter] = []
        for (i, layer) in layers.enumerated() {
            all += layer.namedParameters
            if i < norms.count { all += norms[i].namedParameters }
        }
        return all
    }
}
