import HalfTraceAutograd
import Testing

@Suite("Autograd semantics")
struct AutogradTests {
    @Test("repeated backward calls accumulate into leaves; zeroGrad clears")
    func accumulation() {
        let w = Tensor([1, 2, 3], dtype: .float32, requiresGrad: true)
        let x = Tensor([4, 5, 6], dtype: .float32)
        for _ in 0..<3 { (w * x).sum().backward() }
        #expect(w.grad?.doubles == [12, 15, 18])
        w.zeroGrad()
        #expect(w.grad == nil)
        (w * x).sum().backward()
        #expect(w.grad?.doubles == [4, 5, 6])
    }

    @Test("two losses on one graph: each backward sees only its own gradient")
    func sharedGraph() {
        let w = Tensor([2], dtype: .float64, requiresGrad: true)
        let h = w * w  // shared intermediate
        let a = (h * Tensor([3], dtype: .float64)).sum()
        let b = (h * Tensor([5], dtype: .float64)).sum()
        a.backward()
        #expect(w.grad?.doubles == [12])
        b.backward()
        #expect(w.grad?.doubles == [32], "12 + 20: no intermediate gradient carried over")
    }

    @Test("a float32 master weight used through a float16 copy receives a float32 gradient")
    func castGradientFlowsBack() {
        let master = Tensor([0.1, 0.2], shape: [1, 2], dtype: .float32, requiresGrad: true)
        let x = Tensor([1e-4, 3], shape: [1, 2], dtype: .float16)
        let y = (x * master.cast(to: .float16)).sum()
        #expect(y.dtype == .float16)
        y.backward()
        #expect(master.grad?.dtype == .float32)
        #expect(master.grad?.doubles == [Double(Float(Float16(1e-4))), 3])
    }

    @Test("a float16 gradient overflows to inf and underflows to zero where binary16 does",
          arguments: [(2.0, [Double.infinity, 0x1p-23]), (0.25, [10000, 0])])
    func halfGradientRange(scale: Double, expected: [Double]) {
        let w = Tensor([1, 1], dtype: .float16, requiresGrad: true)
        let x = Tensor([40000, 0x1p-24], dtype: .float16)
        (w * x).sum().cast(to: .float32).scaled(by: scale).backward()
        // d/dw = scale * x, rounded to binary16: 80000 -> inf; 2^-26 -> 0 (below 2^-25).
        #expect(w.grad?.dtype == .float16)
        #expect(w.grad?.doubles == expected)
    }

    @Test("autocast: linear runs in float16, losses and reductions in float32, others promote")
    func autocastPolicy() {
        let w = Tensor([Double](repeating: 0.5, count: 6), shape: [3, 2], dtype: .float32, requiresGrad: true)
        let b = Tensor([0, 0, 0], dtype: .float32, requiresGrad: true)
        let x = Tensor([1, 2, 3, 4], shape: [2, 2], dtype: .float32)
        withAutocast(.float16) {
            let h = x.linear(weight: w, bias: b)
            #expect(h.dtype == .float16)
            #expect(h.relu().dtype == .float16)
            #expect(h.exp().dtype == .float32)
            #expect(h.sum().dtype == .float32)
            #expect(h.logSoftmax().dtype == .float32)
            #expect((h + x.linear(weight: w, bias: nil).cast(to: .float32)).dtype == .float32, "widest input wins")
            let loss = h.crossEntropy(labels: [0, 2])
            #expect(loss.dtype == .float32)
            loss.backward()
        }
        #expect(w.grad?.dtype == .float32 && b.grad?.dtype == .float32)
        let outside = x.linear(weight: w, bias: b)
        #expect(outside.dtype == .float32, "autocast is scoped")
    }

    @Test("no-grad mode records nothing")
    func noGrad() {
        let w = Tensor([1], dtype: .float32, requiresGrad: true)
        let y = withNoGrad { w * Tensor([2], dtype: .float32) }
        #expect(!y.requiresGrad && y.isLeaf)
    }

    @Test("float64 stays float64 under autocast")
    func float64Untouched() {
        let a = Tensor([1, 2, 3, 4], shape: [2, 2], dtype: .float64)
        withAutocast { #expect(a.matmul(a).dtype == .float64) }
    }
}
