import HalfTraceAutograd
import HalfTraceKernels

/// A fully connected layer, y = x W^T + b (PyTorch's `nn.Linear`), W of shape [out, in].
///
/// Initialised like PyTorch's default (kaiming_uniform with a = sqrt(5) for W, and the bias
/// rule): every weight and bias uniform in [-1/sqrt(in), 1/sqrt(in)). Values are drawn in
/// Double, rounded to Float and then stored in `dtype`, so a float16 model starts from the
/// float32 model's weights rounded once.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let name: String

    public init(_ fanIn: Int, _ fanOut: Int, bias: Bool = true, dtype: DType = .float32,
                name: String = "linear", using rng: inout some RandomNumberGenerator) {
        precondition(fanIn > 0 && fanOut > 0, "Linear(\(fanIn), \(fanOut)): sizes must be positive")
        let bound = 1 / Double(fanIn).squareRoot()
        func draw(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextUniform(-bound, bound)) } }
        weight = Tensor(floats: draw(fanIn * fanOut), shape: [fanOut, fanIn], dtype: dtype, requiresGrad: true)
        self.bias = bias ? Tensor(floats: draw(fanOut), shape: [fanOut], dtype: dtype, requiresGrad: true) : nil
        self.name = name
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }

    public var namedParameters: [NamedParameter] {
        [NamedParameter(name: "\(name).weight", tensor: weight, role: .weight)]
            + (bias.map { [NamedParameter(name: "\(name).bias", tensor: $0, role: .bias)] } ?? [])
    }
}

/// Layer normalisation over the features, with a learnable weight (ones) and bias (zeros).
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Double
    public let name: String

    public init(_ features: Int, eps: Double = 1e-5, dtype: DType = .float32, name: String = "norm") {
        weight = Tensor([Double](repeating: 1, count: features), dtype: dtype, requiresGrad: true)
        bias = Tensor([Double](repeating: 0, count: features), dtype: dtype, requiresGrad: true)
        self.eps = eps
        self.name = name
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }

    public var namedParameters: [NamedParameter] {
        [NamedParameter(name: "\(name).weight", tensor: weight, role: .normWeight),
         NamedParameter(name: "\(name).bias", tensor: bias, role: .bias)]
    }
}
