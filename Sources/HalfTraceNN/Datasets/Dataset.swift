import HalfTraceAutograd

/// A labelled table of examples: `features` row-major (count x featureCount), integer labels.
public struct Dataset: Sendable, Equatable {
    /// The feature values, row-major: row i is `features[i * featureCount ..< (i + 1) * featureCount]`.
    public let features: [Float]
    /// Features per example: the model's input width.
    public let featureCount: Int
    /// The class of each example, in 0..<classes.
    public let labels: [Int]
    /// The number of classes (2 for a binary problem).
    public let classes: Int

    /// A table of `labels.count` examples; `features` must hold exactly `featureCount` values per row.
    public init(features: [Float], featureCount: Int, labels: [Int], classes: Int) {
        precondition(featureCount > 0 && features.count == labels.count * featureCount,
                     "Dataset: \(features.count) feature values for \(labels.count) rows of \(featureCount)")
        self.features = features
        self.featureCount = featureCount
        self.labels = labels
        self.classes = classes
    }

    /// The number of examples.
    public var count: Int { labels.count }

    /// The rows at `indices`, as a [rows, featureCount] tensor of `dtype`.
    public func inputs(_ indices: some Collection<Int>, dtype: DType) -> Tensor {
        var x = [Float]()
        x.reserveCapacity(indices.count * featureCount)
        features.withUnsafeBufferPointer { f in
            for i in indices { x.append(contentsOf: f[(i * featureCount)..<((i + 1) * featureCount)]) }
        }
        return Tensor(floats: x, shape: [indices.count, featureCount], dtype: dtype)
    }

    /// The labels of the rows at `indices`, in that order.
    public func labels(_ indices: some Collection<Int>) -> [Int] { indices.map { labels[$0] } }

    /// The rows in `range` as a new dataset.
    public func slice(_ range: Range<Int>) -> Dataset {
        Dataset(features: Array(features[(range.lowerBound * featureCount)..<(range.upperBound * featureCount)]),
                featureCount: featureCount, labels: Array(labels[range]), classes: classes)
    }
}

/// Training and validation rows of one problem.
public struct DataSplit: Sendable {
    /// The rows the model trains on.
    public let train: Dataset
    /// The held-out rows the validation metrics are computed on.
    public let validation: Dataset
    /// Where the data came from (file path or generator and seed), for logs and checkpoints.
    public let source: String

    /// A split of `train` and `validation` rows that came from `source`.
    public init(train: Dataset, validation: Dataset, source: String) {
        self.train = train
        self.validation = validation
        self.source = source
    }
}
