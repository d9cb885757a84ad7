import HalfTraceAutograd
import HalfTraceKernels

/// A 2-D convolution layer over NHWC batches (PyTorch's `nn.Conv2d`, groups 1).
///
/// The weight is [out, kh, kw, in] (PyTorch's [out, in, kh, kw] with the input channels last;
/// see `Tensor.conv2d`). Initialised like PyTorch's default (kaiming_uniform with a = sqrt(5),
/// and the bias rule): every weight and bias uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)) with
/// fan_in = in * kh * kw, drawn in Double, rounded to Float, then stored in `dtype`.
public final class Conv2d: Module {
    /// W, of shape [out, kh, kw, in] (role `weight`: YOLOv5's decayed group).
    public let weight: Tensor
    /// b, of shape [out], or nil for a layer without a bias (YOLOv5's convolutions before a
    /// BatchNorm have none).
    public let bias: Tensor?
    /// The step between windows.
    public let stride: Int
    /// Zero padding on every side.
    public let padding: Int
    /// The prefix of the parameter names (`model.0.conv.weight`).
    public let name: String

    /// A `kernel` x `kernel` convolution from `inChannels` to `outChannels`, initialised from `rng`
    /// (all of W first, then b).
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, dtype: DType = .float32, name: String = "conv",
                using rng: inout some RandomNumberGenerator) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0,
                     "Conv2d(\(inChannels), \(outChannels), kernel \(kernel), stride \(stride), padding \(padding)): sizes must be positive")
        let bound = 1 / Double(inChannels * kernel * kernel).squareRoot()
        func draw(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextUniform(-bound, bound)) } }
        weight = Tensor(floats: draw(outChannels * kernel * kernel * inChannels),
                        shape: [outChannels, kernel, kernel, inChannels], dtype: dtype, requiresGrad: true)
        self.bias = bias ? Tensor(floats: draw(outChannels), shape: [outChannels], dtype: dtype, requiresGrad: true) : nil
        self.stride = stride
        self.padding = padding
        self.name = name
    }

    /// The convolution of an NHWC batch (`Tensor.conv2d`).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    }

    /// `name.weight` (role weight) and, with a bias, `name.bias` (role bias).
    public var namedParameters: [NamedParameter] {
        [NamedParameter(name: "\(name).weight", tensor: weight, role: .weight)]
            + (bias.map { [NamedParameter(name: "\(name).bias", tensor: $0, role: .bias)] } ?? [])
    }
}

/// Batch normalisation over the channels of NHWC batches (PyTorch's `nn.BatchNorm2d`), with
/// YOLOv5's settings by default (`utils/torch_utils.py` `initialize_weights`, v7.0: eps 1e-3,
/// momentum 0.03).
///
/// In training mode each forward pass normalises with the batch's statistics and updates the
/// running averages as PyTorch's `batch_norm_cpu_update_stats_template` does, in Double, then
/// rounded to the statistics' dtype:
///
///     running_mean = momentum * mean + (1 - momentum) * running_mean
///     running_var  = momentum * unbiased_var + (1 - momentum) * running_var
///
/// In evaluation mode it normalises with the running statistics. The running statistics are
/// float32 values whatever the parameters' dtype (float16 and bfloat16 models included), and
/// float64 for a float64 model.
public final class BatchNorm2d: Module {
    /// The learnable scale, one per channel, initialised to 1 (role `normWeight`: not decayed).
    public let weight: Tensor
    /// The learnable shift, one per channel, initialised to 0 (role `bias`).
    public let bias: Tensor
    /// The running mean of each channel (starts at 0), each value a float32 (float64 for a
    /// float64 model).
    public var runningMean: [Double]
    /// The running (unbiased) variance of each channel (starts at 1), each value a float32
    /// (float64 for a float64 model).
    public var runningVariance: [Double]
    /// The dtype the running statistics are rounded to: float32, or float64 for a float64 model.
    public let statisticsDType: DType
    /// Training batches seen (PyTorch's `num_batches_tracked`).
    public var batchesTracked = 0
    /// Added to the variance before the square root (YOLOv5: 1e-3).
    public let eps: Double
    /// The weight of a new batch in the running averages (YOLOv5: 0.03).
    public let momentum: Double
    /// Whether forward passes use and update batch statistics (true) or use the running ones.
    public var isTraining = true
    /// The prefix of the parameter names (`model.0.bn.weight`).
    public let name: String

    /// A batch norm over `channels` channels, its weight and bias stored in `dtype`.
    public init(_ channels: Int, eps: Double = 1e-3, momentum: Double = 0.03, dtype: DType = .float32, name: String = "bn") {
        precondition(channels > 0, "BatchNorm2d(\(channels)): channels must be positive")
        weight = Tensor([Double](repeating: 1, count: channels), dtype: dtype, requiresGrad: true)
        bias = Tensor([Double](repeating: 0, count: channels), dtype: dtype, requiresGrad: true)
        runningMean = [Double](repeating: 0, count: channels)
        runningVariance = [Double](repeating: 1, count: channels)
        statisticsDType = dtype == .float64 ? .float64 : .float32
        self.eps = eps
        self.momentum = momentum
        self.name = name
    }

    /// The normalised batch; in training mode the running statistics move towards the batch's
    /// (with or without grad mode, as PyTorch's).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining else {
            return x.batchNorm(weight: weight, bias: bias, running: (runningMean, runningVariance), eps: eps).output
        }
        let (y, statistics) = x.batchNorm(weight: weight, bias: bias, eps: eps)
        if let statistics { update(with: statistics) }
        return y
    }

    /// Moves the running statistics towards `statistics` (PyTorch's update, in Double, rounded
    /// once to `statisticsDType`).
    public func update(with statistics: BatchStatistics) {
        let unbiased = statistics.unbiasedVariance
        let mean = runningMean.indices.map { momentum * statistics.mean[$0] + (1 - momentum) * runningMean[$0] }
        let variance = runningVariance.indices.map { momentum * unbiased[$0] + (1 - momentum) * runningVariance[$0] }
        runningMean = Storage(mean, dtype: statisticsDType).doubles
        runningVariance = Storage(variance, dtype: statisticsDType).doubles
        batchesTracked += 1
    }

    /// `name.weight` (role normWeight) and `name.bias` (role bias).
    public var namedParameters: [NamedParameter] {
        [NamedParameter(name: "\(name).weight", tensor: weight, role: .normWeight),
         NamedParameter(name: "\(name).bias", tensor: bias, role: .bias)]
    }
}
