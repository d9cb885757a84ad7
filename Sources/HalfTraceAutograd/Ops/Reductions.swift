extension Tensor {
    /// Sum of all elements (sequential, in index order, in the compute type). float32 under autocast.
    public func sum() -> Tensor { reduce(axis: nil, mean: false) }
    /// Sum along `axis` (0: down the rows, 1 or -1: along each row).
    public func sum(axis: Int) -> Tensor { reduce(axis: axis, mean: false) }
    /// Mean of all elements: the sum divided by the count.
    public func mean() -> Tensor { reduce(axis: nil, mean: true) }
    /// Mean along `axis` (0: down the rows, 1 or -1: along each row): the sum divided by its count.
    public func mean(axis: Int) -> Tensor { reduce(axis: axis, mean: true) }

    private func reduce(axis: Int?, mean: Bool) -> Tensor {
        let x = Autocast.apply(.float32, to: [self])[0]
        var (rows, columns) = x.matrixShape
        var outShape: [Int] = []
        var alongRows = true  // sum within each row (over columns)
        if let axis {
            let a = axis < 0 ? axis + rank : axis
            precondition(rank >= 1 && (0..<rank).contains(a), "reduce: axis \(axis) is out of range for shape \(shape)")
            precondition(rank <= 2, "reduce: an axis is supported on vectors and matrices; shape is \(shape)")
            if rank == 2 {
                alongRows = a == 1
                outShape = [a == 1 ? rows : columns]
            }
        }
        if axis == nil || rank < 2 { (rows, columns) = (1, x.count) }
        let name = mean ? "mean" : "sum"
        let y = x.dtype == .float64
            ? Self.reduceForward(x.storage, rows, columns, alongRows, mean, Double.self)
            : Self.reduceForward(x.storage, rows, columns, alongRows, mean, Float.self)
        return .make(y, shape: outShape, op: name, parents: [x]) { g in
            [x.dtype == .float64
                ? Self.reduceBackward(g, rows, columns, alongRows, mean, x.dtype, Double.self)
                : Self.reduceBackward(g, rows, columns, alongRows, mean, x.dtype, Float.self)]
        }
    }

    private static func reduceForward<C: TensorCompute>(
        _ s: Storage, _ rows: Int, _ columns: Int, _ alongRows: Bool, _ mean: Bool, _: C.Type
    ) -> Storage {
        let x = C.load(s)
        let outCount = alongRows ? rows : columns
        let n = C(alongRows ? columns : rows)
        var out = [C](repeating: 0, count: outCount)
        x.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { out in
                if alongRows {
                    for i in 0..<rows {
                        var acc: C = 0
                        for j in 0..<columns { acc += x[i * columns + j] }
                        out[i] = mean ? acc / n : acc
                    }
                } else {
                    for i in 0..<rows { for j in 0..<columns { out[j] += x[i * columns + j] } }
                    if mean { for j in 0..<columns { out[j] /= n } }
                }
            }
        }
        return C.store(out, as: s.dtype)
    }

    private static func reduceBackward<C: TensorCompute>(
        _ gs: Storage, _ rows: Int, _ columns: Int, _ alongRows: Bool, _ mean: Bool, _ dtype: DType, _: C.Type
    ) -> Storage {
        let g = C.load(gs)
        let n = C(alongRows ? columns : rows)
        let gx: [C] = g.withUnsafeBufferPointer { g in
            StorageMath.build(rows * columns) { r, gx in
                for idx in r {
                    let v = alongRows ? g[idx / columns] : g[idx % columns]
                    gx[idx] = mean ? v / n : v
                }
            }
        }
        return C.store(gx, as: dtype)
    }
}
