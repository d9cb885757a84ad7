import Foundation
import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN
import HalfTraceTestSupport
import Testing

/// conv2d, batch norm, SiLU, max pooling and nearest upsampling against the real PyTorch 2.13
/// (Fixtures/torch_conv_ops.json, recorded by Fixtures/record_conv_ops.py). The fixtures are in
/// PyTorch's NCHW layout; HalfTrace's batches are NHWC, so each tensor is permuted (no rounding).
@Suite("Convolution ops against PyTorch")
struct ConvOpsTests {
    static func fixture() throws -> [String: Any] { try Fixture.loadExact("torch_conv_ops") }

    static func cases(_ op: String) throws -> [[String: Any]] { try fixture()[op] as! [[String: Any]] }

    /// NCHW (or [O, C, kh, kw]) values to NHWC ([O, kh, kw, C]).
    static func channelsLast(_ v: [Double], _ n: Int, _ c: Int, _ h: Int, _ w: Int) -> [Double] {
        var out = [Double](repeating: 0, count: v.count)
        for i in 0..<n { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
            out[((i * h + y) * w + x) * c + ch] = v[((i * c + ch) * h + y) * w + x]
        } } } }
        return out
    }

    static func int(_ c: [String: Any], _ key: String) throws -> Int { try Fixture.int(c[key]) }

    /// Bits of `values` rounded once to `dtype` (Double -> dtype directly).
    static func rounded(_ values: [Double], _ dtype: DType) -> [Double] { Storage(values, dtype: dtype).doubles }

    /// Equality of two arrays bit for bit as Doubles (NaN equal to NaN, -0 distinct from +0).
    static func firstDifference(_ a: [Double], _ b: [Double]) -> Int? {
        if a.count != b.count { return -1 }
        return a.indices.first { a[$0].bitPattern != b[$0].bitPattern && !(a[$0].isNaN && b[$0].isNaN) }
    }

    struct ConvCase {
        let name: String, n: Int, c: Int, h: Int, w: Int, o: Int, k: Int, stride: Int, padding: Int
        let x: [Double], weight: [Double], bias: [Double]?, gy: [Double]
        let y: [Double], gx: [Double], gw: [Double], gb: [Double]?
        let float64: Bool

        init(_ d: [String: Any]) throws {
            name = d["name"] as! String
            (n, c, h, w) = (try int(d, "N"), try int(d, "C"), try int(d, "H"), try int(d, "W"))
            (o, k, stride, padding) = (try int(d, "O"), try int(d, "k"), try int(d, "stride"), try int(d, "padding"))
            let ys = (d["y_shape"] as! [Any]).map { try! Fixture.int($0) }
            x = channelsLast(try Fixture.doubles(d["x"]), n, c, h, w)
            weight = channelsLast(try Fixture.doubles(d["weight"]), o, c, k, k)
            bias = d["bias"] is NSNull ? nil : try Fixture.doubles(d["bias"])
            gy = channelsLast(try Fixture.doubles(d["gy"]), ys[0], ys[1], ys[2], ys[3])
            y = channelsLast(try Fixture.doubles(d["y"]), ys[0], ys[1], ys[2], ys[3])
            gx = channelsLast(try Fixture.doubles(d["gx"]), n, c, h, w)
            gw = channelsLast(try Fixture.doubles(d["gw"]), o, c, k, k)
            gb = d["gb"] is NSNull ? nil : try Fixture.doubles(d["gb"])
            float64 = (d["dtype"] as! String) == "float64"
        }

        /// (y, gx, gw, gb) of HalfTrace's conv2d with parameters stored in `dtype` (or float32
        /// master parameters under autocast to `autocast`).
        func run(_ dtype: DType, autocast: DType? = nil) -> [[Double]] {
            let xt = Tensor(x, shape: [n, h, w, c], dtype: dtype, requiresGrad: true)
            let wt = Tensor(weight, shape: [o, k, k, c], dtype: dtype, requiresGrad: true)
            let bt = bias.map { Tensor($0, shape: [o], dtype: dtype, requiresGrad: true) }
            let body = { xt.conv2d(weight: wt, bias: bt, stride: stride, padding: padding) }
            let out = autocast.map { withAutocast($0, body) } ?? body()
            out.backward(gradient: Storage(gy, dtype: out.dtype))
            return [out.doubles, xt.grad!.doubles, wt.grad!.doubles] + (bt.map { [$0.grad!.doubles] } ?? [])
        }
    }

    @Test("conv2d forward and its three gradients equal PyTorch bit for bit (inputs on a 1/64 grid, so every sum is exact in float32)")
    func conv2dExact() throws {
        let cases = try Self.cases("conv2d").map(ConvCase.init)
        #expect(cases.count == 9)
        for c in cases {
            let mine = c.run(c.float64 ? .float64 : .float32)
            for (k, (a, e)) in zip(mine, [c.y, c.gx, c.gw] + (c.gb.map { [$0] } ?? [])).enumerated() {
                let d = Self.firstDifference(a, e)
                #expect(d == nil, "\(c.name) \(["y", "gx", "gw", "gb"][k]) differs at \(d ?? 0): \(d.map { a[$0] } ?? 0) vs PyTorch \(d.map { e[$0] } ?? 0)")
            }
        }
    }

    @Test("conv2d in float16 and bfloat16 storage and under autocast gives PyTorch's exact result rounded once", arguments: [
        (DType.float16, false), (.bfloat16, false), (.float16, true), (.bfloat16, true),
    ])
    func conv2dHalf(dtype: DType, autocast: Bool) throws {
        for c in try Self.cases("conv2d").map(ConvCase.init) where !c.float64 {
            let mine = autocast ? c.run(.float32, autocast: dtype) : c.run(dtype)
            for (k, (a, e)) in zip(mine, [c.y, c.gx, c.gw] + (c.gb.map { [$0] } ?? [])).enumerated() {
                let d = Self.firstDifference(a, Self.rounded(e, dtype))
                #expect(d == nil, "\(c.name) \(dtype) autocast \(autocast) \(["y", "gx", "gw", "gb"][k]) differs at \(d ?? 0)")
            }
        }
    }

    /// Norm-wise relative error max|a - e| / max|e|: batch norm divides by a standard deviation,
    /// so PyTorch's float32 rounding of a channel's mean (1 ulp) is multiplied by invstd (31.6 for
    /// a constant channel with eps 1e-3); measured against the tensor's largest value that stays
    /// a few float32 ulps.
    static func normwise(_ a: [Double], _ e: [Double]) -> Double {
        let scale = e.map(abs).max() ?? 0
        return zip(a, e).map { abs($0 - $1) }.max().map { scale == 0 ? $0 : $0 / scale } ?? 0
    }

    @Test("batch norm: three training steps (outputs, gradients, running statistics) and an evaluation step equal PyTorch to float32 rounding")
    func batchNorm() throws {
        var checked = 0
        for d in try Self.cases("batch_norm") where d["steps"] != nil {
            let name = d["name"] as! String
            let (n, c, h, w) = (try Self.int(d, "N"), try Self.int(d, "C"), try Self.int(d, "H"), try Self.int(d, "W"))
            let float64 = (d["dtype"] as! String) == "float64"
            let dtype: DType = float64 ? .float64 : .float32
            let tolerance = float64 ? 1e-14 : 1e-6  // 8 float32 ulps of the largest value
            let bn = BatchNorm2d(c, eps: try Fixture.double(d["eps"]), momentum: try Fixture.double(d["momentum"]), dtype: dtype)
            bn.weight.storage = Storage(try Fixture.doubles(d["weight"]), dtype: dtype)
            bn.bias.storage = Storage(try Fixture.doubles(d["bias"]), dtype: dtype)
            func check(_ step: [String: Any], _ label: String) throws {
                bn.zeroGrad()
                let x = Tensor(Self.channelsLast(try Fixture.doubles(step["x"]), n, c, h, w), shape: [n, h, w, c], dtype: dtype, requiresGrad: true)
                let y = bn(x)
                y.backward(gradient: Storage(Self.channelsLast(try Fixture.doubles(step["gy"]), n, c, h, w), dtype: dtype))
                let pairs: [(String, [Double], [Double])] = [
                    ("y", y.doubles, Self.channelsLast(try Fixture.doubles(step["y"]), n, c, h, w)),
                    ("gx", x.grad!.doubles, Self.channelsLast(try Fixture.doubles(step["gx"]), n, c, h, w)),
                    ("gw", bn.weight.grad!.doubles, try Fixture.doubles(step["gw"])),
                    ("gb", bn.bias.grad!.doubles, try Fixture.doubles(step["gb"])),
                ]
                for (what, a, e) in pairs {
                    let err = Self.normwise(a, e)
                    #expect(err <= tolerance, "\(name) \(label) \(what): norm-wise error \(err) > \(tolerance)")
                }
                if bn.isTraining {
                    let rm = compare(bn.runningMean, try Fixture.doubles(step["running_mean"]), tolerance: tolerance, floor: 1e-3)
                    let rv = compare(bn.runningVariance, try Fixture.doubles(step["running_var"]), tolerance: tolerance, floor: 1e-3)
                    #expect(rm.passes && rv.passes, "\(name) \(label): \(rm) \(rv)")
                    #expect(bn.batchesTracked == (try Fixture.int(step["num_batches_tracked"])))
                }
                checked += 1
            }
            for (i, step) in (d["steps"] as! [[String: Any]]).enumerated() { try check(step, "step \(i)") }
            bn.isTraining = false
            try check(d["eval"] as! [String: Any], "eval")
        }
        #expect(checked == 12)
    }

    @Test("batch norm under autocast (16-bit input, float32 parameters) returns the input's dtype, as PyTorch's CPU autocast does")
    func batchNormAutocastDType() throws {
        let table = try Self.fixture()["autocast"] as! [String: Any]
        for (name, dtype) in [("float16", DType.float16), ("bfloat16", .bfloat16)] {
            let entries = table[name] as! [[String: Any]]
            let bnEntry = entries.first { ($0["op"] as! String).hasPrefix("F.batch_norm") && ($0["input_dtypes"] as! [String])[0] == name }!
            #expect(bnEntry["output_dtype"] as? String == name)
            let bn = BatchNorm2d(2)
            let x = Tensor([0.5, 1, -1, 2, 0.25, -0.75, 1.5, 0], shape: [1, 2, 2, 2], dtype: dtype)
            let y = withAutocast(dtype) { bn(x) }
            #expect(y.dtype == dtype)
            let catEntry = entries.first { ($0["op"] as! String).hasPrefix("torch.cat") }!
            #expect(catEntry["output_dtype"] as? String == "float32")
            #expect(Tensor.concatenate(lastAxis: [x, Tensor.zeros([1, 2, 2, 1])]).dtype == .float32)
            let convEntry = entries.first { ($0["op"] as! String) == "F.conv2d" }!
            #expect(convEntry["output_dtype"] as? String == name)
            let conv = withAutocast(dtype) { Tensor.zeros([1, 2, 2, 2]).conv2d(weight: Tensor.zeros([1, 1, 1, 2])) }
            #expect(conv.dtype == dtype)
        }
    }

    @Test("silu is within 4 ulps of PyTorch (each exp is within 1-2 ulps, the quotient adds one) and its gradient within 4 ulps of the terms it cancels; special values exact")
    func silu() throws {
        for d in try Self.cases("silu") {
            let float64 = (d["dtype"] as! String) == "float64"
            let dtype: DType = float64 ? .float64 : .float32
            let eps = float64 ? Double.ulpOfOne : Double(Float.ulpOfOne)
            let xs = try Fixture.doubles(d["x"]), gy = try Fixture.doubles(d["gy"])
            let x = Tensor(xs, dtype: dtype, requiresGrad: true)
            let y = x.silu()
            y.backward(gradient: Storage(gy, dtype: dtype))
            // silu' = s (1 + x (1 - s)) cancels near x = -1.28: an ulp of s is amplified there, so the
            // gradient is measured against the size of the terms, |g| s max(1, |x (1 - s)|).
            let scales = xs.indices.map { i -> (Double, Double) in
                let s = 1 / (1 + Foundation.exp(-xs[i]))
                return (abs(xs[i] * s), abs(gy[i]) * s * max(1, abs(xs[i] * (1 - s))))
            }
            for (what, a, e, ulps) in [("y", y.doubles, try Fixture.doubles(d["y"]), 4.0), ("gx", x.grad!.doubles, try Fixture.doubles(d["gx"]), 4.0)] {
                for i in a.indices {
                    if e[i].isNaN || !e[i].isFinite || e[i] == 0 {
                        #expect(a[i].bitPattern == e[i].bitPattern || (a[i].isNaN && e[i].isNaN) || (a[i] == 0 && e[i] == 0),
                                "\(dtype) \(what)(\(xs[i])) = \(a[i]), PyTorch \(e[i])")
                        continue
                    }
                    let scale = what == "y" ? scales[i].0 : scales[i].1
                    #expect(abs(a[i] - e[i]) <= ulps * eps * scale, "\(dtype) \(what)(\(xs[i])) = \(a[i]), PyTorch \(e[i])")
                }
            }
        }
    }

    @Test("max_pool2d equals PyTorch bit for bit, ties (first maximum) and NaN (the last NaN wins) included")
    func maxPool() throws {
        let cases = try Self.cases("max_pool2d")
        #expect(cases.count == 7)
        for d in cases {
            let (n, c, h, w) = (try Self.int(d, "N"), try Self.int(d, "C"), try Self.int(d, "H"), try Self.int(d, "W"))
            let ys = (d["y_shape"] as! [Any]).map { try! Fixture.int($0) }
            let x = Tensor(Self.channelsLast(try Fixture.doubles(d["x"]), n, c, h, w), shape: [n, h, w, c], requiresGrad: true)
            let y = x.maxPool2d(kernel: try Self.int(d, "k"), stride: try Self.int(d, "stride"), padding: try Self.int(d, "padding"))
            #expect(y.shape == [ys[0], ys[2], ys[3], ys[1]])
            y.backward(gradient: Storage(Self.channelsLast(try Fixture.doubles(d["gy"]), ys[0], ys[1], ys[2], ys[3]), dtype: .float32))
            let dy = Self.firstDifference(y.doubles, Self.channelsLast(try Fixture.doubles(d["y"]), ys[0], ys[1], ys[2], ys[3]))
            let dg = Self.firstDifference(x.grad!.doubles, Self.channelsLast(try Fixture.doubles(d["gx"]), n, c, h, w))
            #expect(dy == nil && dg == nil, "\(d["name"]!): y differs at \(String(describing: dy)), gx at \(String(describing: dg))")
        }
    }

    @Test("nearest upsampling by 2 and its gradient equal PyTorch bit for bit")
    func upsample() throws {
        for d in try Self.cases("upsample_nearest") {
            let (n, c, h, w) = (try Self.int(d, "N"), try Self.int(d, "C"), try Self.int(d, "H"), try Self.int(d, "W"))
            let x = Tensor(Self.channelsLast(try Fixture.doubles(d["x"]), n, c, h, w), shape: [n, h, w, c], requiresGrad: true)
            let y = x.upsampleNearest(scale: 2)
            y.backward(gradient: Storage(Self.channelsLast(try Fixture.doubles(d["gy"]), n, c, 2 * h, 2 * w), dtype: .float32))
            #expect(Self.firstDifference(y.doubles, Self.channelsLast(try Fixture.doubles(d["y"]), n, c, 2 * h, 2 * w)) == nil)
            #expect(Self.firstDifference(x.grad!.doubles, Self.channelsLast(try Fixture.doubles(d["gx"]), n, c, h, w)) == nil)
        }
    }

    @Test("conv2d, batch norm and pooling give bit-identical results on one thread and on the pool")
    func threadIndependence() {
        var rng = SplitMix64(seed: 7)
        let x = Tensor((0..<(4 * 32 * 32 * 8)).map { _ in rng.nextUniform(-2, 2) }, shape: [4, 32, 32, 8], dtype: .float16, requiresGrad: true)
        let w = Tensor((0..<(16 * 3 * 3 * 8)).map { _ in rng.nextUniform(-0.5, 0.5) }, shape: [16, 3, 3, 8], dtype: .float16, requiresGrad: true)
        let gamma = Tensor([Double](repeating: 1.5, count: 16), dtype: .float16, requiresGrad: true)
        let beta = Tensor([Double](repeating: 0.25, count: 16), dtype: .float16, requiresGrad: true)
        func run(threads: Int) -> [[Double]] {
            GEMM.$maxThreads.withValue(threads) {
                for t in [x, w, gamma, beta] { t.zeroGrad() }
                let y = x.conv2d(weight: w, stride: 1, padding: 1).batchNorm(weight: gamma, bias: beta, eps: 1e-3).output
                    .silu().maxPool2d(kernel: 5, stride: 1, padding: 2).upsampleNearest(scale: 2)
                y.sum().backward()
                return [y.doubles, x.grad!.doubles, w.grad!.doubles, gamma.grad!.doubles, beta.grad!.doubles]
            }
        }
        let one = run(threads: 1), two = run(threads: 2)
        for (k, (a, b)) in zip(one, two).enumerated() {
            #expect(Self.firstDifference(a, b) == nil, "output \(k) differs between one and two threads")
        }
    }
}

/// The SiLU kernel's own exp and its ISA paths.
@Suite("SiLU kernel")
struct SiLUKernelTests {
    static let inputs: [Float] = {
        var rng = SplitMix64(seed: 11)
        var v: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                          .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 88.72, 88.73, -88.72, -103.97, -104.5, 104.5, 1e-30]
        v += (0..<20_000).map { _ in Float(rng.nextUniform(-30, 30)) }
        v += (0..<2_000).map { _ in Float(rng.nextUniform(-110, 110)) }
        return v
    }()

    @Test("silu and its gradient give the same bits on every ISA path (portable fmaf and rintf, AVX2 vectorised)", arguments: KernelISA.allCases)
    func isaPaths(isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        let x = Self.inputs, g = x.map { $0 * 0.75 + 0.25 }
        func run(_ isa: KernelISA) -> ([Float], [Float]) {
            var y = [Float](repeating: 0, count: x.count), dx = y
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { ElementKernels.silu(xb, into: $0, isa: isa) }
                g.withUnsafeBufferPointer { gb in dx.withUnsafeMutableBufferPointer { ElementKernels.siluGradient(x: xb, g: gb, into: $0, isa: isa) } }
            }
            return (y, dx)
        }
        let (yp, dp) = run(.portable), (yi, di) = run(isa)
        #expect(firstBitDifference(yp.map { $0.isNaN ? .nan : $0 }, yi.map { $0.isNaN ? .nan : $0 }) == nil, "\(isa): silu")
        #expect(firstBitDifference(dp.map { $0.isNaN ? .nan : $0 }, di.map { $0.isNaN ? .nan : $0 }) == nil, "\(isa): gradient")
    }

    @Test("silu is within 3 float32 epsilons (relative) of the float formula x / (1 + e) with e the correctly rounded exp(-x) (the kernel's exp is within 1 ulp; 1 + e and the quotient round once each), overflow and underflow where float's are")
    func accuracy() {
        let x = Self.inputs
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ElementKernels.silu(xb, into: $0) } }
        var worst = (ulps: 0.0, x: Float(0))
        for (xi, yi) in zip(x, y) {
            let e = Float(Foundation.exp(-Double(xi)))  // correctly rounded (to within the Double's error)
            let reference = xi / (1 + e)
            if reference.isNaN || reference.isInfinite || reference == 0 {
                #expect(yi.bitPattern == reference.bitPattern || (yi.isNaN && reference.isNaN), "silu(\(xi)) = \(yi), float formula \(reference)")
                continue
            }
            let relative = Double(abs(yi - reference) / abs(reference)) / Double(Float.ulpOfOne)
            if relative > worst.ulps { worst = (relative, xi) }
        }
        #expect(worst.ulps <= 3, "worst \(worst.ulps) epsilons at x = \(worst.x)")
    }
}
