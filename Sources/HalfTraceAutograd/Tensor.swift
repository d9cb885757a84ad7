/// A scalar, vector or matrix with real storage in one dtype, and a node of the autograd graph.
///
/// Every op computes in Float (Double for float64) and rounds its result once to the output
/// dtype, so a float16 tensor overflows to infinity and underflows to subnormals or zero exactly
/// where IEEE binary16 does. An op records its parents and a backward closure (micrograd's
/// design); `backward()` sorts the graph topologically and accumulates into the leaves' `grad`.
public final class Tensor {
    /// The elements, row-major.
    public var storage: Storage
    /// `[]` for a scalar, `[n]` for a vector, `[rows, columns]` for a matrix, `[n, h, w, c]` for a
    /// batch of images (channels last: NHWC, PyTorch's `channels_last` memory order), or rank 3.
    public let shape: [Int]
    /// Whether gradients flow to this tensor. Parameters are leaves with `requiresGrad == true`.
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf, in the leaf's dtype (so a float16 leaf's gradient can
    /// overflow). Repeated `backward()` calls add up; `zeroGrad()` clears it.
    public var grad: Tensor?
    /// The op that produced this tensor ("leaf" for inputs and parameters).
    public let op: String

    let parents: [Tensor]
    let backwardFunction: BackwardFunction?
    /// Gradient arriving from children during one `backward()` pass (not kept afterwards).
    var pendingGrad: Storage?

    /// Maps the gradient of the output (in the output's dtype) to one gradient per parent, each
    /// in that parent's dtype, or nil for parents that do not require one.
    typealias BackwardFunction = (Storage) -> [Storage?]

    /// A leaf tensor (an input or a parameter) holding `storage` in `shape`, whose element count must
    /// match; rank 0 to 4.
    public init(storage: Storage, shape: [Int], requiresGrad: Bool = false) {
        precondition(shape.count <= Tensor.maximumRank, "HalfTrace tensors have rank 0 to 4; got shape \(shape)")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(
            storage.count == Tensor.elementCount(shape),
            "storage of \(storage.count) elements does not fit shape \(shape)")
        self.storage = storage
        self.shape = shape
        self.requiresGrad = requiresGrad
        self.op = "leaf"
        self.parents = []
        self.backwardFunction = nil
    }

    init(storage: Storage, shape: [Int], op: String, parents: [Tensor], backward: BackwardFunction?) {
        self.storage = storage
        self.shape = shape
        self.op = op
        self.parents = parents
        self.backwardFunction = backward
        self.requiresGrad = backward != nil
    }

    /// A tensor of `values`, each rounded once to `dtype`.
    public convenience init(_ values: [Double], shape: [Int]? = nil, dtype: DType = .float32, requiresGrad: Bool = false) {
        self.init(storage: Storage(values, dtype: dtype), shape: shape ?? [values.count], requiresGrad: requiresGrad)
    }

    /// A tensor of Float values, rounded once to `dtype` (exact for float32 and float64).
    public convenience init(floats values: [Float], shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) {
        self.init(storage: Float.store(values, as: dtype == .float64 ? .float32 : dtype).converted(to: dtype),
                  shape: shape, requiresGrad: requiresGrad)
    }

    /// A scalar.
    public convenience init(scalar value: Double, dtype: DType = .float32, requiresGrad: Bool = false) {
        self.init(storage: Storage([value], dtype: dtype), shape: [], requiresGrad: requiresGrad)
    }

    /// A leaf of positive zeros in `shape` and `dtype`.
    public static func zeros(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        Tensor(storage: .zeros(elementCount(shape), dtype: dtype), shape: shape, requiresGrad: requiresGrad)
    }

    /// The element type of the storage.
    public var dtype: DType { storage.dtype }
    /// The number of elements (1 for a scalar).
    public var count: Int { storage.count }
    /// The number of dimensions: 0 to 4.
    public var rank: Int { shape.count }
    /// The highest rank a tensor may have: 4, a batch of images.
    public static let maximumRank = 4
    /// A tensor with no recorded parents (an input or a parameter).
    public var isLeaf: Bool { backwardFunction == nil }

    /// The single element of a one-element tensor, widened to Double.
    public func item() -> Double {
        precondition(count == 1, "item() needs one element; shape is \(shape)")
        return storage.doubles[0]
    }

    /// All elements widened to Double (exact).
    public var doubles: [Double] { storage.doubles }

    /// Rows and columns of this tensor seen as a matrix: a scalar is 1 x 1, a vector of n is 1 x n,
    /// and a higher rank is (product of all dimensions but the last) x last, so that an NHWC batch is
    /// a matrix of pixels by channels.
    var matrixShape: (rows: Int, columns: Int) {
        switch shape.count {
        case 0: (1, 1)
        case 1: (1, shape[0])
        default: (shape.dropLast().reduce(1, *), shape[shape.count - 1])
        }
    }

    static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }
}

extension Tensor: CustomStringConvertible {
    /// "Tensor(dtype, shape: [...], [values])", with at most the first 8 values widened to Double.
    public var description: String {
        let values = doubles
        let shown = values.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(\(dtype), shape: \(shape), [\(shown)\(values.count > 8 ? ", ..." : "")])"
    }
}
