import HalfTraceKernels

/// An element-wise function of two tensors and its backward rule, in the compute type.
protocol BinaryFunction {
    var name: String { get }
    func value<C: TensorCompute>(_ a: C, _ b: C) -> C
    /// (dL/da, dL/db) from a, b, the output y and the upstream gradient g.
    func gradients<C: TensorCompute>(a: C, b: C, y: C, g: C) -> (C, C)
}

struct Add: BinaryFunction {
    var name: String { "add" }
    func value<C: TensorCompute>(_ a: C, _ b: C) -> C { a + b }
    func gradients<C: TensorCompute>(a: C, b: C, y: C, g: C) -> (C, C) { (g, g) }
}

struct Subtract: BinaryFunction {
    var name: String { "sub" }
    func value<C: TensorCompute>(_ a: C, _ b: C) -> C { a - b }
    func gradients<C: TensorCompute>(a: C, b: C, y: C, g: C) -> (C, C) { (g, -g) }
}

struct Multiply: BinaryFunction {
    var name: String { "mul" }
    func value<C: TensorCompute>(_ a: C, _ b: C) -> C { a * b }
    func gradients<C: TensorCompute>(a: C, b: C, y: C, g: C) -> (C, C) { (g * b, g * a) }
}

/// a / b; gradients g / b and -g * ((a / b) / b) (PyTorch's div backward).
struct Divide: BinaryFunction {
    var name: String { "div" }
    func value<C: TensorCompute>(_ a: C, _ b: C) -> C { a / b }
    func gradients<C: TensorCompute>(a: C, b: C, y: C, g: C) -> (C, C) { (g / b, -g * ((a / b) / b)) }
}

/// How one operand maps onto the broadcast output, seen as a rows x columns matrix (rows: the
/// product of every dimension but the last): element (i, j) of the output reads operand element
/// i * rowStride + j * columnStride.
struct BroadcastView {
    let rowStride: Int
    let columnStride: Int
    var isFull: Bool

    /// `shape` right-aligned against `outShape`; its leading dimensions (all but the last) must
    /// either all equal the output's or all be 1 (`Tensor.broadcastShape` checks this).
    init(shape: [Int], outShape: [Int]) {
        let padded = Array(repeating: 1, count: outShape.count - shape.count) + shape
        let outColumns = outShape.last ?? 1
        let outRows = outShape.dropLast().reduce(1, *)
        let c = padded.last ?? 1
        let r = padded.dropLast().reduce(1, *)
        columnStride = c == 1 && outColumns != 1 ? 0 : 1
        rowStride = r == 1 && outRows != 1 ? 0 : c
        isFull = (r == outRows && c == outColumns)
    }
}

extension Tensor {
    /// numpy's broadcasting rule: align right; each dimension equal or 1. Beyond rank 2 an operand
    /// broadcasts along its last axis and/or across all leading axes at once (a per-channel vector
    /// over an NHWC batch), which is what a matrix view of rows by channels can express.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        var out: [Int] = []
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else { return nil }
            out.append(x == 1 ? y : x)
        }
        if rank > 2 {
            let leading = out.dropLast()
            for p in [pa, pb] where p.dropLast() != leading && !p.dropLast().allSatisfy({ $0 == 1 }) { return nil }
        }
        return out
    }

    func binary<F: BinaryFunction>(_ f: F, _ other: Tensor) -> Tensor {
        guard let shape = Self.broadcastShape(self.shape, other.shape) else {
            preconditionFailure("\(f.name): shapes \(self.shape) and \(other.shape) do not broadcast")
        }
        let (a, b) = (self, other)
        let outType = DType.widest(a.dtype, b.dtype)
        let rows = shape.dropLast().reduce(1, *)
        let columns = shape.last ?? 1
        let va = BroadcastView(shape: a.shape, outShape: shape)
        let vb = BroadcastView(shape: b.shape, outShape: shape)
        let y = StepProfile.measure(.elementwise) {
            outType == .float64
                ? Self.binaryForward(f, a.storage, va, b.storage, vb, rows, columns, outType, Double.self)
                : Self.binaryForward(f, a.storage, va, b.storage, vb, rows, columns, outType, Float.self)
        }
        return .make(y, shape: shape, op: f.name, parents: [a, b]) { g in
            StepProfile.measure(.elementwise) {
                outType == .float64
                    ? Self.binaryBackward(f, a, va, b, vb, y, g, rows, columns, Double.self)
                    : Self.binaryBackward(f, a, va, b, vb, y, g, rows, columns, Float.self)
            }
        }
    }

    private static func binaryForward<F: BinaryFunction, C: TensorCompute>(
        _ f: F, _ a: Storage, _ va: BroadcastView, _ b: Storage, _ vb: BroadcastView,
        _ rows: Int, _ columns: Int, _ outType: DType, _: C.Type
    ) -> Storage {
        let x = C.load(a), z = C.load(b)
        let y: [C] = x.withUnsafeBufferPointer { x in
            z.withUnsafeBufferPointer { z in
                if va.isFull && vb.isFull {
                    return StorageMath.build(rows * columns) { r, y in for i in r { y[i] = f.value(x[i], z[i]) } }
                }
                var out = [C](repeating: 0, count: rows * columns)
                out.withUnsafeMutableBufferPointer { out in
                    for i in 0..<rows {
                        for j in 0..<columns {
                            out[i * columns + j] = f.value(x[i * va.rowStride + j * va.columnStride],
                                                           z[i * vb.rowStride + j * vb.columnStride])
                        }
                    }
                }
                return out
            }
        }
        return C.store(y, as: outType)
    }

    private static func binaryBackward<F: BinaryFunction, C: TensorCompute>(
        _ f: F, _ a: Tensor, _ va: BroadcastView, _ b: Tensor, _ vb: BroadcastView,
        _ ys: Storage, _ gs: Storage, _ rows: Int, _ columns: Int, _: C.Type
    ) -> [Storage?] {
        let x = C.load(a.storage), z = C.load(b.storage), y = C.load(ys), g = C.load(gs)
        // Gradients are summed over broadcast dimensions in a fixed order (row by row).
        var ga = [C](repeating: 0, count: a.count), gb = [C](repeating: 0, count: b.count)
        x.withUnsafeBufferPointer { x in
            z.withUnsafeBufferPointer { z in
                y.withUnsafeBufferPointer { y in
                    g.withUnsafeBufferPointer { g in
                        ga.withUnsafeMutableBufferPointer { ga in
                            gb.withUnsafeMutableBufferPointer { gb in
                                for i in 0..<rows {
                                    for j in 0..<columns {
                                        let k = i * columns + j
                                        let ia = i * va.rowStride + j * va.columnStride
                                        let ib = i * vb.rowStride + j * vb.columnStride
                                        let (da, db) = f.gradients(a: x[ia], b: z[ib], y: y[k], g: g[k])
                                        if va.isFull { ga[ia] = da } else { ga[ia] += da }
                                        if vb.isFull { gb[ib] = db } else { gb[ib] += db }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [a.requiresGrad ? C.store(ga, as: a.dtype) : nil,
                b.requiresGrad ? C.store(gb, as: b.dtype) : nil]
    }

    /// a + b element-wise, with broadcasting (numpy's rule; see `broadcastShape`) in the widest input dtype.
    public static func + (a: Tensor, b: Tensor) -> Tensor { a.binary(Add(), b) }
    /// a - b element-wise, with broadcasting in the widest input dtype.
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.binary(Subtract(), b) }
    /// a * b element-wise, with broadcasting in the widest input dtype; gradients g * b and g * a.
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.binary(Multiply(), b) }
    /// a / b element-wise, with broadcasting in the widest input dtype; gradients g / b and
    /// -g * ((a / b) / b), in PyTorch's div backward order.
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.binary(Divide(), b) }
}
