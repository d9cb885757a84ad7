import HalfTraceAutograd
import HalfTraceKernels

/// The loss a toy model trains with.
public enum LossKind: String, Sendable, Codable {
    /// One logit per example, binary cross-entropy with logits (labels 0 or 1).
    case binaryCrossEntropy
    /// One logit per class, cross-entropy over integer labels.
    case crossEntropy

    /// Batch-mean loss.
    public func callAsFunction(_ logits: Tensor, labels: [Int]) -> Tensor {
        switch self {
        case .crossEntropy:
            return logits.crossEntropy(labels: labels)
        case .binaryCrossEntropy:
            let target = Tensor(labels.map(Double.init), shape: [labels.count, 1], dtype: logits.dtype)
            return logits.binaryCrossEntropyWithLogits(target)
        }
    }

    /// Predicted class of each row of logits.
    public func predictions(_ logits: Tensor) -> [Int] {
        let v = logits.doubles
        switch self {
        case .binaryCrossEntropy:
            return v.map { $0 > 0 ? 1 : 0 }
        case .crossEntropy:
            let c = logits.shape[1]
            return (0..<logits.shape[0]).map { i in
                var best = 0
                for j in 1..<c where v[i * c + j] > v[i * c + best] { best = j }
                return best
            }
        }
    }
}

/// HalfTrace's toy problems: each a model shape, a loss, a batch size and data.
public enum ToyModel: String, Sendable, Codable, CaseIterable {
    /// two-moons, 2-16-16-1, tanh, BCE with logits, batch 16.
    case tiny
    /// UCI digits, 64-256-256-10, ReLU, cross-entropy, batch 64.
    case mlp
    /// 256-d Gaussian clusters, 256-1024-1024-10, ReLU, cross-entropy, batch 256 (throughput).
    case wide
    /// The first 240 training rows of UCI digits, 64-16-10 with a LayerNorm after the hidden
    /// layer, tanh, cross-entropy, batch 16: small enough that the Float64 reference trainer
    /// writes its gradients out by hand, and with all three of YOLOv5's parameter groups.
    case probe

    /// Training rows of the probe model (240: 15 batches of 16, 10 of 24).
    public static let probeRows = 240

    /// Layer widths, input first.
    public var sizes: [Int] {
        switch self {
        case .tiny: [2, 16, 16, 1]
        case .mlp: [64, 256, 256, 10]
        case .wide: [256, 1024, 1024, 10]
        case .probe: [64, 16, 10]
        }
    }

    /// Whether a LayerNorm follows every hidden Linear.
    public var layerNorm: Bool { self == .probe }

    /// tanh for tiny and probe, ReLU for mlp and wide.
    public var activation: Activation { self == .tiny || self == .probe ? .tanh : .relu }
    /// Binary cross-entropy with logits for tiny (one logit), cross-entropy for the others.
    public var loss: LossKind { self == .tiny ? .binaryCrossEntropy : .crossEntropy }

    /// The batch size the model trains with unless told otherwise.
    public var batchSize: Int {
        switch self {
        case .tiny: 16
        case .mlp: 64
        case .wide: 256
        case .probe: 16
        }
    }

    /// The model with PyTorch-default initialisation from `seed`.
    public func makeModel(dtype: DType, seed: UInt64) -> MLP {
        var rng = SplitMix64(seed: seed)
        return MLP(sizes: sizes, activation: activation, layerNorm: layerNorm, dtype: dtype, using: &rng)
    }

    /// Whether the model trains on digits (and so accepts another digits CSV).
    public var usesDigits: Bool { self == .mlp || self == .probe }

    /// The data: two-moons (seed 0), the bundled digits (or `digitsPath`), Gaussian clusters.
    public func loadData(digitsPath: String? = nil) throws -> DataSplit {
        switch self {
        case .tiny: return TwoMoons.make(count: 1000, noise: 0.1, seed: 0)
        case .mlp: return try digitsPath.map(Digits.load) ?? Digits.loadBundled()
        case .wide: return GaussianClusters.make()
        case .probe:
            let digits = try digitsPath.map(Digits.load) ?? Digits.loadBundled()
            return DataSplit(train: digits.train.slice(0..<Self.probeRows), validation: digits.validation,
                             source: digits.source + " (training rows 0..<\(Self.probeRows))")
        }
    }
}
