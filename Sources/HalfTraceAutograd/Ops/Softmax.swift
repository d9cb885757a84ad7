extension Tensor {
    /// softmax along the last axis: exp(x - max) / sum(exp(x - max)). float32 under autocast.
    public func softmax() -> Tensor { rowwiseSoftmax(log: false) }

    /// log-softmax along the last axis: (x - max) - log(sum(exp(x - max))). float32 under autocast.
    public func logSoftmax() -> Tensor { rowwiseSoftmax(log: true) }

    private func rowwiseSoftmax(log: Bool) -> Tensor {
        precondition(rank >= 1, "softmax needs a vector or matrix; shape is \(shape)")
        let x = Autocast.apply(.float32, to: [self])[0]
        let columns = x.shape[x.rank - 1]
        let rows = columns == 0 ? 0 : x.count / columns
        let y = x.dtype == .float64
            ? Self.softmaxForward(x.storage, rows, columns, log, Double.self)
            : Self.softmaxForward(x.storage, rows, columns, log, Float.self)
        return .make(y, shape: x.shape, op: log ? "log_softmax" : "softmax", parents: [x]) { g in
            [x.dtype == .float64
                ? Self.softmaxBackward(y, g, rows, columns, log, Double.self)
                : Self.softmaxBackward(y, g, rows, columns, log, Float.self)]
        }
    }

    static func softmaxRows<C: TensorCompute>(_ x: [C], _ rows: Int, _ columns: Int, log: Bool) -> [C] {
        var y = [C](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                for i in 0..<rows {
                    let row = i * columns
                    var m = -C.infinity
                    for j in 0..<columns where x[row + j] > m || x[row + j].isNaN { m = x[row + j] }
                    var s: C = 0
                    for j in 0..<columns { s += C.exp(x[row + j] - m) }
                    if log {
                        let ls = C.log(s)
                        for j in 0..<columns { y[row + j] = (x[row + j] - m) - ls }
                    } else {
                        for j in 0..<columns { y[row + j] = C.exp(x[row + j] - m) / s }
                    }
                }
            }
        }
        return y
    }

    private static func softmaxForward<C: TensorCompute>(
        _ s: Storage, _ rows: Int, _ columns: Int, _ log: Bool, _: C.Type
    ) -> Storage {
        C.store(softmaxRows(C.load(s), rows, columns, log: log), as: s.dtype)
    }

    private static func softmaxBackward<C: TensorCompute>(
        _ ys: Storage, _ gs: Storage, _ rows: Int, _ columns: Int, _ log: Bool, _: C.Type
    ) -> Storage {
        let y = C.load(ys), g = C.load(gs)
        var gx = [C](repeating: 0, count: y.count)
        y.withUnsafeBufferPointer { y in
            g.withUnsafeBufferPointer { g in
                gx.withUnsafeMutableBufferPointer { gx in
                    for i in 0..<rows {
                        let row = i * columns
                        var s: C = 0
                        if log {
                            // PyTorch: grad - exp(output) * sum(grad)
                            for j in 0..<columns { s += g[row + j] }
                            for j in 0..<columns { gx[row + j] = g[row + j] - C.exp(y[row + j]) * s }
                        } else {
                            // PyTorch: (grad - sum(grad * output)) * output
                            for j in 0..<columns { s += g[row + j] * y[row + j] }
                            for j in 0..<columns { gx[row + j] = (g[row + j] - s) * y[row + j] }
                        }
                    }
                }
            }
        }
        return C.store(gx, as: ys.dtype)
    }
}
