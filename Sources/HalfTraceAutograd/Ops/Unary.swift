import HalfTraceKernels

/// An element-wise function and its backward rule, evaluated in the compute type.
protocol ElementwiseFunction {
    var name: String { get }
    var policy: Autocast.Policy { get }
    func value<C: TensorCompute>(_ x: C) -> C
    /// dL/dx from x, y = value(x) and the upstream gradient g (PyTorch's backward formula).
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C
}

struct Negate: ElementwiseFunction {
    var name: String { "neg" }
    var policy: Autocast.Policy { .promote }
    func value<C: TensorCompute>(_ x: C) -> C { -x }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C { -g }
}

/// relu(x) = max(x, 0), NaN propagates; the gradient is g where x > 0 and 0 elsewhere (even
/// for an infinite g, as PyTorch's threshold_backward).
struct ReLU: ElementwiseFunction {
    var name: String { "relu" }
    var policy: Autocast.Policy { .promote }
    func value<C: TensorCompute>(_ x: C) -> C { x > 0 || x.isNaN ? x : 0 }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C { x > 0 ? g : 0 }
}

/// tanh; gradient g * (1 - y*y) (PyTorch's tanh_backward).
struct Tanh: ElementwiseFunction {
    var name: String { "tanh" }
    var policy: Autocast.Policy { .promote }
    func value<C: TensorCompute>(_ x: C) -> C { C.tanh(x) }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C { g * (1 - y * y) }
}

/// sigmoid(x) = 1 / (1 + exp(-x)); gradient g * (1 - y) * y (PyTorch's sigmoid_backward).
struct Sigmoid: ElementwiseFunction {
    var name: String { "sigmoid" }
    var policy: Autocast.Policy { .promote }
    func value<C: TensorCompute>(_ x: C) -> C { 1 / (1 + C.exp(-x)) }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C { g * (1 - y) * y }
}

/// silu(x) = x * sigmoid(x) (YOLOv5's activation, `nn.SiLU`) as PyTorch's kernel computes it,
/// x / (1 + exp(-x)); gradient g * s * (1 + x * (1 - s)) with s = sigmoid(x) (PyTorch's
/// silu_backward). These generic bodies compute float64; Float storage goes through
/// `ElementKernels.silu` (the same formulas, with a vectorised exp).
struct SiLU: ElementwiseFunction {
    var name: String { "silu" }
    var policy: Autocast.Policy { .promote }
    func value<C: TensorCompute>(_ x: C) -> C { x / (1 + C.exp(-x)) }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C {
        let s = 1 / (1 + C.exp(-x))
        return g * s * (1 + x * (1 - s))
    }
}

struct Exp: ElementwiseFunction {
    var name: String { "exp" }
    var policy: Autocast.Policy { .float32 }
    func value<C: TensorCompute>(_ x: C) -> C { C.exp(x) }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C { g * y }
}

struct Log: ElementwiseFunction {
    var name: String { "log" }
    var policy: Autocast.Policy { .float32 }
    func value<C: TensorCompute>(_ x: C) -> C { C.log(x) }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C { g / x }
}

/// x^p for a constant p; gradient g * (p * x^(p-1)), and 0 for p == 0 (PyTorch's pow_backward).
struct Power: ElementwiseFunction {
    let exponent: Double
    var name: String { "pow" }
    var policy: Autocast.Policy { .promote }
    func value<C: TensorCompute>(_ x: C) -> C {
        exponent == 2 ? x * x : exponent == 1 ? x : C.pow(x, C(exponent))
    }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C {
        if exponent == 0 { return 0 }
        let p = C(exponent)
        return g * (exponent == 2 ? p * x : p * C.pow(x, C(exponent - 1)))
    }
}

/// x * s for a constant s (the scalar is rounded to the compute type, not to the storage type).
struct Scale: ElementwiseFunction {
    let factor: Double
    var name: String { "mul_scalar" }
    var policy: Autocast.Policy { .promote }
    func value<C: TensorCompute>(_ x: C) -> C { x * C(factor) }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C { g * C(factor) }
}

/// x + s for a constant s.
struct Shift: ElementwiseFunction {
    let offset: Double
    var name: String { "add_scalar" }
    var policy: Autocast.Policy { .promote }
    func value<C: TensorCompute>(_ x: C) -> C { x + C(offset) }
    func gradient<C: TensorCompute>(x: C, y: C, g: C) -> C { g }
}

extension Tensor {
    func elementwise<F: ElementwiseFunction>(_ f: F) -> Tensor {
        let x = Autocast.apply(f.policy, to: [self])[0]
        // relu only selects: on 16-bit storage it runs on the patterns, with the same bits.
        let onPatterns = F.self == ReLU.self
        let silu = F.self == SiLU.self && x.dtype != .float64
        let y = StepProfile.measure(.elementwise) {
            if onPatterns, let y = Self.reluOnPatterns(x.storage) { return y }
            if silu { return Self.siluKernel(x.storage) }
            return x.dtype == .float64 ? Self.forward(f, x.storage, Double.self) : Self.forward(f, x.storage, Float.self)
        }
        return .make(y, shape: x.shape, op: f.name, parents: [x]) { g in
            StepProfile.measure(.elementwise) {
                if onPatterns, let gx = Self.reluGradientOnPatterns(x.storage, g) { return [gx] }
                if silu { return [Self.siluGradientKernel(x.storage, g)] }
                return [x.dtype == .float64 ? Self.backward(f, x.storage, y, g, Double.self)
                                            : Self.backward(f, x.storage, y, g, Float.self)]
            }
        }
    }

    /// SiLU of Float-computed storage through `ElementKernels.silu`, rounded once to its dtype.
    private static func siluKernel(_ x: Storage) -> Storage {
        let xs = Float.load(x)
        let y = [Float](unsafeUninitializedCapacity: xs.count) { out, n in
            xs.withUnsafeBufferPointer { ElementKernels.silu($0, into: out) }
            n = xs.count
        }
        return Float.store(y, as: x.dtype)
    }

    /// SiLU's gradient through `ElementKernels.siluGradient`, rounded once to x's dtype.
    private static func siluGradientKernel(_ x: Storage, _ g: Storage) -> Storage {
        let xs = Float.load(x), gs = Float.load(g)
        let dx = [Float](unsafeUninitializedCapacity: xs.count) { out, n in
            xs.withUnsafeBufferPointer { x in gs.withUnsafeBufferPointer { ElementKernels.siluGradient(x: x, g: $0, into: out) } }
            n = xs.count
        }
        return Float.store(dx, as: x.dtype)
    }

    /// relu of 16-bit storage on its patterns (`ElementKernels.relu`); nil for other dtypes.
    private static func reluOnPatterns(_ x: Storage) -> Storage? {
        func run<H>(_ v: [H], _ format: HalfPatternFormat) -> [H] {
            UnderflowCounter.current?.recordExact(v.count)
            return [H](unsafeUninitializedCapacity: v.count) { out, n in
                v.withUnsafeBufferPointer { v in
                    v.withMemoryRebound(to: UInt16.self) { v in
                        out.withMemoryRebound(to: UInt16.self) { ElementKernels.relu(v, into: $0, format: format) }
                    }
                }
                n = v.count
            }
        }
        switch x {
        case .float16(let v): return .float16(run(v, .float16))
        case .bfloat16(let v): return .bfloat16(run(v, .bfloat16))
        case .float32, .float64: return nil
        }
    }

    /// relu's gradient when x and g are of one 16-bit dtype, on their patterns; nil otherwise.
    private static func reluGradientOnPatterns(_ x: Storage, _ g: Storage) -> Storage? {
        func run<H>(_ x: [H], _ g: [H], _ format: HalfPatternFormat) -> [H] {
            UnderflowCounter.current?.recordExact(x.count)
            return [H](unsafeUninitializedCapacity: x.count) { out, n in
                x.withUnsafeBufferPointer { x in
                    g.withUnsafeBufferPointer { g in
                        x.withMemoryRebound(to: UInt16.self) { x in
                            g.withMemoryRebound(to: UInt16.self) { g in
                                out.withMemoryRebound(to: UInt16.self) {
                                    ElementKernels.reluGradient(x: x, g: g, into: $0, format: format)
                                }
                            }
                        }
                    }
                }
                n = x.count
            }
        }
        switch (x, g) {
        case (.float16(let x), .float16(let g)): return .float16(run(x, g, .float16))
        case (.bfloat16(let x), .bfloat16(let g)): return .bfloat16(run(x, g, .bfloat16))
        default: return nil
        }
    }

    private static func forward<F: ElementwiseFunction, C: TensorCompute>(_ f: F, _ x: Storage, _: C.Type) -> Storage {
        let xs = C.load(x)
        let y: [C] = xs.withUnsafeBufferPointer { x in
            StorageMath.build(x.count) { r, y in for i in r { y[i] = f.value(x[i]) } }
        }
        return C.store(y, as: x.dtype)
    }

    private static func backward<F: ElementwiseFunction, C: TensorCompute>(
        _ f: F, _ xs: Storage, _ ys: Storage, _ gs: Storage, _: C.Type
    ) -> Storage {
        let x = C.load(xs), y = C.load(ys), g = C.load(gs)
        let gx: [C] = x.withUnsafeBufferPointer { x in
            y.withUnsafeBufferPointer { y in
                g.withUnsafeBufferPointer { g in
                    StorageMath.build(x.count) { r, gx in for i in r { gx[i] = f.gradient(x: x[i], y: y[i], g: g[i]) } }
                }
            }
        }
        return C.store(gx, as: xs.dtype)
    }

    /// max(x, 0) element-wise, NaN kept; the gradient is g where x > 0, else 0 (PyTorch's
    /// threshold_backward). On 16-bit storage it runs on the bit patterns, with the same bits.
    public func relu() -> Tensor { elementwise(ReLU()) }
    /// tanh element-wise; gradient g * (1 - y^2) (PyTorch's tanh_backward).
    public func tanh() -> Tensor { elementwise(Tanh()) }
    /// 1 / (1 + exp(-x)) element-wise; gradient g * (1 - y) * y (PyTorch's sigmoid_backward).
    public func sigmoid() -> Tensor { elementwise(Sigmoid()) }
    /// x * sigmoid(x) element-wise (YOLOv5's activation); gradient g * s * (1 + x * (1 - s)) with
    /// s = sigmoid(x) (PyTorch's silu_backward).
    public func silu() -> Tensor { elementwise(SiLU()) }
    /// e^x element-wise; gradient g * y. float32 under autocast.
    public func exp() -> Tensor { elementwise(Exp()) }
    /// The natural logarithm element-wise; gradient g / x. float32 under autocast.
    public func log() -> Tensor { elementwise(Log()) }
    /// x^p for a constant p; gradient g * (p * x^(p-1)), and 0 for p == 0 (PyTorch's pow_backward).
    public func pow(_ exponent: Double) -> Tensor { elementwise(Power(exponent: exponent)) }
    /// -x element-wise; gradient -g.
    public func neg() -> Tensor { elementwise(Negate()) }
    /// self * factor, the factor rounded to the compute type (Float or Double), not to self's dtype.
    public func scaled(by factor: Double) -> Tensor { elementwise(Scale(factor: factor)) }
    /// self + offset, the offset rounded to the compute type (Float or Double), not to self's dtype.
    public func shifted(by offset: Double) -> Tensor { elementwise(Shift(offset: offset)) }

    /// -x element-wise (`neg()`).
    public static prefix func - (x: Tensor) -> Tensor { x.neg() }
    /// x * s for a scalar s (`scaled(by:)`).
    public static func * (x: Tensor, s: Double) -> Tensor { x.scaled(by: s) }
    /// x + s for a scalar s (`shifted(by:)`).
    public static func + (x: Tensor, s: Double) -> Tensor { x.shifted(by: s) }
}
