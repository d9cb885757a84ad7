extension Tensor {
    /// Layer normalisation over the last axis, PyTorch's `F.layer_norm`:
    /// y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance.
    /// Runs in float32 under autocast. `weight` and `bias` have the size of the last axis.
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Double = 1e-5) -> Tensor {
        precondition(rank >= 1, "layerNorm needs a vector or matrix; shape is \(shape)")
        let columns = shape[rank - 1]
        precondition(weight.shape == [columns] && bias.shape == [columns],
                     "layerNorm: weight \(weight.shape) and bias \(bias.shape) must be [\(columns)]")
        let inputs = Autocast.apply(.float32, to: [self, weight, bias])
        let (x, w, b) = (inputs[0], inputs[1], inputs[2])
        let rows = columns == 0 ? 0 : x.count / columns
        let compute = DType.widest(inputs.map(\.dtype))
        if compute == .float64 {
            return Self.layerNorm(x, w, b, rows, columns, eps, compute, Double.self)
        }
        return Self.layerNorm(x, w, b, rows, columns, eps, compute, Float.self)
    }

    private static func layerNorm<C: TensorCompute>(
        _ x: Tensor, _ w: Tensor, _ b: Tensor, _ rows: Int, _ columns: Int, _ eps: Double,
        _ outType: DType, _: C.Type
    ) -> Tensor {
        let xs = C.load(x.storage), ws = C.load(w.storage), bs = C.load(b.storage)
        var xhat = [C](repeating: 0, count: xs.count), rstd = [C](repeating: 0, count: rows)
        var y = [C](repeating: 0, count: xs.count)
        let n = C(columns)
        for i in 0..<rows {
            let row = i * columns
            var mean: C = 0
            for j in 0..<columns { mean += xs[row + j] }
            mean /= n
            var variance: C = 0
            for j in 0..<columns { let d = xs[row + j] - mean; variance += d * d }
            variance /= n
            let r = 1 / (variance + C(eps)).squareRoot()
            rstd[i] = r
            for j in 0..<columns {
                xhat[row + j] = (xs[row + j] - mean) * r
                y[row + j] = xhat[row + j] * ws[j] + bs[j]
            }
        }
        return .make(C.store(y, as: outType), shape: x.shape, op: "layer_norm", parents: [x, w, b]) { gs in
            let g = C.load(gs)
            var gx = [C](repeating: 0, count: xs.count)
            var gw = [C](repeating: 0, count: columns), gb = [C](repeating: 0, count: columns)
            for i in 0..<rows {
                let row = i * columns
                var meanG: C = 0, meanGX: C = 0
                for j in 0..<columns {
                    let gh = g[row + j] * ws[j]
                    meanG += gh
                    meanGX += gh * xhat[row + j]
                    gw[j] += g[row + j] * xhat[row + j]
                    gb[j] += g[row + j]
                }
                meanG /= n
                meanGX /= n
                for j in 0..<columns {
                    gx[row + j] = rstd[i] * (g[row + j] * ws[j] - meanG - xhat[row + j] * meanGX)
                }
            }
            return [x.requiresGrad ? C.store(gx, as: x.dtype) : nil,
                    w.requiresGrad ? C.store(gw, as: w.dtype) : nil,
                    b.requiresGrad ? C.store(gb, as: b.dtype) : nil]
        }
    }
}
