import HalfTraceKernels

extension Tensor {
    /// Mean squared error, mean((self - target)^2). float32 under autocast.
    public func mseLoss(_ target: Tensor) -> Tensor {
        precondition(shape == target.shape, "mseLoss: prediction \(shape) vs target \(target.shape)")
        let inputs = Autocast.apply(.float32, to: [self, target])
        let (p, t) = (inputs[0], inputs[1])
        let compute = DType.widest(p.dtype, t.dtype)
        func run<C: TensorCompute>(_: C.Type) -> Tensor {
            let ps = C.load(p.storage), ts = C.load(t.storage)
            let n = C(ps.count)
            var acc: C = 0
            for i in ps.indices { let d = ps[i] - ts[i]; acc += d * d }
            return .make(C.store([acc / n], as: compute), shape: [], op: "mse_loss", parents: [p, t]) { gs in StepProfile.measure(.loss) {
                let g = C.load(gs)[0]
                let gp = StorageMath.build(ps.count) { r, gp in for i in r { gp[i] = 2 * (ps[i] - ts[i]) / n * g } }
                return [p.requiresGrad ? C.store(gp, as: p.dtype) : nil,
                        t.requiresGrad ? C.store(gp.map { -$0 }, as: t.dtype) : nil]
            } }
        }
        return StepProfile.measure(.loss) { compute == .float64 ? run(Double.self) : run(Float.self) }
    }

    /// Binary cross-entropy on logits, mean over elements:
    /// max(x, 0) - x t + log1p(exp(-|x|)). Gradient (sigmoid(x) - t) / n. float32 under autocast.
    public func binaryCrossEntropyWithLogits(_ target: Tensor) -> Tensor {
        precondition(shape == target.shape, "bceWithLogits: logits \(shape) vs target \(target.shape)")
        let inputs = Autocast.apply(.float32, to: [self, target.detach()])
        let (x, t) = (inputs[0], inputs[1])
        let compute = DType.widest(x.dtype, t.dtype)
        func run<C: TensorCompute>(_: C.Type) -> Tensor {
            let xs = C.load(x.storage), ts = C.load(t.storage)
            let n = C(xs.count)
            var acc: C = 0
            for i in xs.indices {
                let v = xs[i]
                acc += Swift.max(v, 0) - v * ts[i] + C.log1p(C.exp(-Swift.abs(v)))
            }
            return .make(C.store([acc / n], as: compute), shape: [], op: "bce_with_logits", parents: [x]) { gs in StepProfile.measure(.loss) {
                let g = C.load(gs)[0]
                let gx = StorageMath.build(xs.count) { r, gx in for i in r { gx[i] = (1 / (1 + C.exp(-xs[i])) - ts[i]) / n * g } }
                return [C.store(gx, as: x.dtype)]
            } }
        }
        return StepProfile.measure(.loss) { compute == .float64 ? run(Double.self) : run(Float.self) }
    }

    /// Cross-entropy over integer class labels, mean over the batch: PyTorch's
    /// `F.cross_entropy` = nll_loss(log_softmax(x)). Gradient (softmax - onehot) / batch.
    /// float32 under autocast. Labels must lie in 0..<classes.
    public func crossEntropy(labels: [Int]) -> Tensor {
        precondition(rank == 2 && labels.count == shape[0],
                     "crossEntropy: logits \(shape) need one label per row; got \(labels.count) labels")
        let classes = shape[1]
        precondition(labels.allSatisfy { (0..<classes).contains($0) },
                     "crossEntropy: a label is outside 0..<\(classes)")
        let x = Autocast.apply(.float32, to: [self])[0]
        let rows = shape[0]
        func run<C: TensorCompute>(_: C.Type) -> Tensor {
            let logp = Self.softmaxRows(C.load(x.storage), rows, classes, log: true)
            var acc: C = 0
            for i in 0..<rows { acc += logp[i * classes + labels[i]] }
            let n = C(rows)
            return .make(C.store([-acc / n], as: x.dtype), shape: [], op: "cross_entropy", parents: [x]) { gs in StepProfile.measure(.loss) {
                let g = C.load(gs)[0]
                var gx = logp.map { C.exp($0) }
                for i in 0..<rows { gx[i * classes + labels[i]] -= 1 }
                for i in gx.indices { gx[i] = gx[i] / n * g }
                return [C.store(gx, as: x.dtype)]
            } }
        }
        return StepProfile.measure(.loss) { x.dtype == .float64 ? run(Double.self) : run(Float.self) }
    }
}
