import HalfTraceAutograd
import HalfTraceKernels

/// A fully connected layer, y = x W^T + b (PyTorch's `nn.Linear`), W of shape [out, in].
///
/// Initialised like PyTorch's default (kaiming_uniform with a = sqrt(5) for W, and the bias
/// rule): every weight and bias uniform in [-1/sqrt(in), 1/sqrt(in)). Values are drawn in
/// Double, rounded to Float and then stored in `dtype`, so a float16 model starts from the
/// float32 model's weights rounded once.
public final class Linear: Module {
    /// W, of shape [out, in] (role `weight`: YOLOv5's decayed group).
    public let weight: Tensor
    /// b, of shape [out], or nil for a layer without a bias.
    public let bias: Tensor?
    /// The prefix of the parameter names (`fc0.weight`, `fc0.bias`).
    public let name: String

    /// A layer from `fanIn` inputs to `fanOut` outputs, stored in `dtype`, initialised from `rng`
    /// (all of W first, then b).
    public init(_ fanIn: Int, _ fanOut: Int, bias: Bool = true, dtype: DType = .float32,
                name: String = "linear", using rng: inout some RandomNumberGenerator) {
        precondition(fanIn > 0 && fanOut > 0, "Linear(\(fanIn), \(fanOut)): sizes must be positive")
        let bound = 1 / Double(fanIn).squareRoot()
        func draw(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextUniform(-bound, bound)) } }
        weight = Tensor(floats: draw(fanIn * fanOut), shape: [fanOut, fanIn], dtype: dtype, requiresGrad: true)
        self.bias = bias ? Tensor(floats: draw(fanOut), shape: [fanOut], dtype: dtype, requiresGrad: true) : nil
        self.name = name
    }

    /// x W^T + b for a batch `x` of shape [batch, in] (`Tensor.linear`).
    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }

    /// `name.weight` (role weight) and, with a bias, `name.bias` (role bias).
    public var namedParameters: [NamedParameter] {
        [NamedParameter(name: "\(name).weight", tensor: weight, role: .weight)]
            + (bias.map { [NamedParameter(name: "\(name).bias", tensor: $0, role: .bias)] } ?? [])
    }
}

/// Layer normalisation over the features, with a learnable weight (ones) and bias (zeros).
public final class LayerNorm: Module {
    /// The learnable scale, one per feature, initialised to 1 (role `normWeight`: not decayed).
    public let weight: Tensor
    /// The learnable shift, one per feature, initialised to 0.
    public let bias: Tensor
    /// Added to the variance before the square root (PyTorch's default 1e-5).
    public let eps: Double
    /// The prefix of the parameter names (`norm0.weight`, `norm0.bias`).
    public let name: String

    /// A layer norm over `features` features, its parameters stored in `dtype`.
    public init(_ features: Int, eps: Double = 1e-5, dtype: DType = .float32, name: String = "norm") {
        weight = Tensor([Double](repeating: 1, count: features), dtype: dtype, requiresGrad: true)
        bias = Tensor([Double](repeating: 0, count: features), dtype: dtype, requiresGrad: true)
        self.eps = eps
        self.name = name
    }

    /// `x` normalised over its last axis, then scaled and shifted (`Tensor.layerNorm`).
    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }

    /// `name.weight` (role normWeight) and `name.bias` (role bias).
    public var namedParameters: [NamedParameter] {
        [NamedParameter(name: "\(name).weight", tensor: weight, role: .normWeight),
         NamedParameter(name: "\(name).bias", tensor: bias, role: .bias)]
    }
}
