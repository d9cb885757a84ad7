import HalfTraceAutograd
import HalfTraceKernels

/// One parameter group: the parameters and their hyper-parameters, all writable every iteration
/// (YOLOv5's warm-up rewrites `lr` and `momentum` before each batch).
public struct ParamGroup {
    /// The parameters the group's hyper-parameters apply to.
    public var params: [Tensor]
    /// The learning rate of the next step (schedules and YOLOv5's warm-up rewrite it).
    public var lr: Double
    /// The lr a LambdaLR schedule multiplies (PyTorch stores it as `initial_lr`).
    public var initialLR: Double
    /// SGD momentum, or Adam's beta1.
    public var momentum: Double
    /// Adam's beta2 (unused by SGD).
    public var beta2: Double
    /// SGD's dampening: the momentum buffer adds (1 - dampening) * g (unused by Adam).
    public var dampening: Double
    /// L2 decay added to the gradient (SGD, Adam), or the decoupled decay of the parameter (AdamW).
    public var weightDecay: Double
    /// SGD's Nesterov momentum (unused by Adam).
    public var nesterov: Bool
    /// Adam's epsilon (unused by SGD).
    public var eps: Double

    /// A group of `params` at `lr`, which also becomes `initialLR`; the defaults are PyTorch's SGD
    /// defaults, with Adam's beta2 0.999 and eps 1e-8.
    public init(params: [Tensor], lr: Double, momentum: Double = 0, beta2: Double = 0.999, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false, eps: Double = 1e-8) {
        self.params = params
        self.lr = lr
        self.initialLR = lr
        self.momentum = momentum
        self.beta2 = beta2
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.eps = eps
    }
}

/// Per-parameter optimizer state, in the parameter's dtype.
public struct ParameterState: Equatable, Sendable {
    /// SGD's momentum buffer, or Adam's first moment.
    public var first: Storage?
    /// Adam's second moment.
    public var second: Storage?
    /// Adam's step count.
    public var step: Int = 0

    /// A state with the given buffers and step count (a parameter never stepped has none and 0).
    public init(first: Storage? = nil, second: Storage? = nil, step: Int = 0) {
        self.first = first
        self.second = second
        self.step = step
    }
}

/// An optimizer over parameter groups (PyTorch's `torch.optim.Optimizer`).
public protocol Optimizer: AnyObject {
    /// The parameter groups in PyTorch's `param_groups` order, writable so that schedules and the
    /// warm-up can set each group's hyper-parameters before a step.
    var groups: [ParamGroup] { get set }
    /// Whether the groups have a `momentum` that YOLOv5's warm-up rewrites ("momentum" in
    /// param_group: true for SGD; Adam's groups have betas instead).
    var hasMomentum: Bool { get }
    /// Updates every parameter that has a gradient.
    func step()
    /// The state of each parameter, in group order then parameter order (PyTorch's state_dict order).
    var parameterStates: [ParameterState] { get }
    /// Replaces the state of every parameter (a checkpoint's), after checking that each buffer
    /// fits its parameter: one state per parameter, buffers of the parameter's length and dtype.
    func restore(_ states: [ParameterState]) throws
    /// "sgd", "adam" or "adamw".
    var kind: String { get }
    /// How 16-bit parameters store their updated values (round to nearest unless a trainer asks
    /// for stochastic rounding before a step).
    var weightRounding: WeightRounding { get set }
}

extension Optimizer {
    /// Clears every parameter's gradient (`set_to_none=True`).
    public func zeroGrad() {
        for group in groups { for p in group.params { p.zeroGrad() } }
    }

    /// All parameters, in group order.
    public var allParameters: [Tensor] { groups.flatMap(\.params) }
}

/// State storage keyed by parameter identity, exported in group order.
final class StateTable {
    private var table: [ObjectIdentifier: ParameterState] = [:]

    subscript(_ p: Tensor) -> ParameterState {
        get { table[ObjectIdentifier(p)] ?? ParameterState() }
        set { table[ObjectIdentifier(p)] = newValue }
    }

    /// Removes and returns the state (so its buffers can be mutated without a copy).
    func take(_ p: Tensor) -> ParameterState {
        table.removeValue(forKey: ObjectIdentifier(p)) ?? ParameterState()
    }

    func export(_ groups: [ParamGroup]) -> [ParameterState] {
        groups.flatMap { $0.params.map { self[$0] } }
    }

    /// Replaces the table, refusing states that do not fit the parameters. `buffers` is how many
    /// state buffers the optimizer keeps (SGD 1 with momentum, Adam 2) and `counts` whether it
    /// counts steps (Adam).
    func restore(_ states: [ParameterState], _ groups: [ParamGroup], buffers: Int, countsSteps: Bool) throws {
        let params = groups.flatMap(\.params)
        guard states.count == params.count else {
            throw HalfTraceError.invalid("optimizer", "state for \(states.count) parameters; the optimizer has \(params.count)")
        }
        for (i, (p, s)) in zip(params, states).enumerated() {
            for (name, buffer, allowed) in [("first", s.first, buffers >= 1), ("second", s.second, buffers >= 2)] {
                guard let buffer else { continue }
                guard allowed else { throw HalfTraceError.invalid("optimizer.\(i).\(name)", "this optimizer keeps no such buffer") }
                guard buffer.count == p.count, buffer.dtype == p.dtype else {
                    throw HalfTraceError.invalid("optimizer.\(i).\(name)",
                                                 "\(buffer.dtype)[\(buffer.count)] does not fit parameter \(p.dtype)\(p.shape)")
                }
            }
            guard s.step >= 0, countsSteps || s.step == 0, s.step <= 1 << 53 else {
                throw HalfTraceError.invalid("optimizer.\(i).step", "\(s.step) is not a step count this optimizer can have")
            }
            if countsSteps && ((s.step == 0) != (s.first == nil) || (s.first == nil) != (s.second == nil)) {
                throw HalfTraceError.invalid("optimizer.\(i)", "step \(s.step) with\(s.first == nil ? "out" : "") moment buffers")
            }
        }
        table = [:]
        for (p, s) in zip(params, states) { self[p] = s }
    }
}

extension Tensor {
    /// Runs `body` on this tensor's values in compute type T and stores them back rounded once;
    /// the storage is moved out first so that float32 values are updated without a copy.
    func updateValues<T: TensorCompute>(_: T.Type, _ body: (inout [T]) -> Void) {
        let dtype = self.dtype
        var values = T.load(storage)
        storage = .zeros(0, dtype: dtype)
        body(&values)
        storage = T.store(values, as: dtype)
    }
}

extension Tensor {
    /// One optimizer update of this parameter in compute type T: the parameter, its gradient and
    /// `buffers` (0, 1 or 2) state buffers are widened (state that does not exist yet starts at
    /// zero), `body` updates them in place, and parameter and state are stored back rounded once to
    /// the parameter's dtype. Values are moved, not copied.
    func applyUpdate<T: TensorCompute>(
        _: T.Type, grad: Storage, state s: inout ParameterState, buffers: Int,
        _ body: (UnsafeMutableBufferPointer<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void
    ) {
        let g = T.load(grad)
        func take(_ b: inout Storage?) -> [T] { b == nil ? [T](repeating: 0, count: g.count) : b!.take(T.self) }
        var first: [T] = buffers >= 1 ? take(&s.first) : [], second: [T] = buffers >= 2 ? take(&s.second) : []
        updateValues(T.self) { values in
            values.withUnsafeMutableBufferPointer { pv in
                g.withUnsafeBufferPointer { gv in
                    first.withUnsafeMutableBufferPointer { fv in
                        second.withUnsafeMutableBufferPointer { sv in body(pv, gv, fv, sv) }
                    }
                }
            }
        }
        if buffers >= 1 { s.first = T.store(first, as: dtype) }
        if buffers >= 2 { s.second = T.store(second, as: dtype) }
    }
}

extension Tensor {
    /// The Float update: parameter, gradient and state in chunks that run in parallel on the
    /// worker pool (every element's update is independent, so the split changes nothing). float32
    /// storage is updated in place; float16 and bfloat16 chunks are widened into scratch buffers,
    /// updated and rounded back once, without whole-tensor temporaries: the parameter as
    /// `rounding` says (`parameter` is its position in the groups, which stochastic rounding's bits
    /// depend on), the state to nearest. A `WeightUpdateCounter` bound to the task counts the
    /// 16-bit updates that rounding undid.
    func applyUpdate(
        _: Float.Type, grad: Storage, state s: inout ParameterState, buffers: Int,
        rounding: WeightRounding = .nearest, parameter: Int = 0,
        _ body: (UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        let n = count
        func stateBuffer(_ b: Storage?, _ used: Bool) -> Storage {
            used ? (b ?? .zeros(n, dtype: dtype)) : .zeros(0, dtype: dtype)
        }
        var values = storage, first = stateBuffer(s.first, buffers >= 1), second = stateBuffer(s.second, buffers >= 2)
        (storage, s.first, s.second) = (.zeros(0, dtype: dtype), nil, nil)  // one owner each: updated in place
        let g = Float.load(grad)
        let update = HalfUpdate(rounding: rounding, parameter: parameter, counter: WeightUpdateCounter.current)
        switch dtype {
        case .float32:
            var (pv, fv, sv) = (values.take(Float.self), first.take(Float.self), second.take(Float.self))
            Self.chunked(n, &pv, g, &fv, &sv, body)
            (values, first, second) = (.float32(pv), .float32(fv), .float32(sv))
        case .float16: update.run(Float16.self, n, &values, g, &first, &second, body)
        case .bfloat16: update.run(BFloat16.self, n, &values, g, &first, &second, body)
        case .float64:
            preconditionFailure("applyUpdate(Float) on a float64 parameter")
        }
        storage = values
        if buffers >= 1 { s.first = first }
        if buffers >= 2 { s.second = second }
    }

    private static func chunked(
        _ n: Int, _ p: inout [Float], _ g: [Float], _ f: inout [Float], _ s: inout [Float],
        _ body: (UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        p.withUnsafeMutableBufferPointer { pv in
            g.withUnsafeBufferPointer { gv in
                f.withUnsafeMutableBufferPointer { fv in
                    s.withUnsafeMutableBufferPointer { sv in
                        Parallel.forEachRange(n) { r in
                            body(.init(rebasing: pv[r]), .init(rebasing: gv[r]), fv.isEmpty ? fv : .init(rebasing: fv[r]),
                                 sv.isEmpty ? sv : .init(rebasing: sv[r]))
                        }
                    }
                }
            }
        }
    }
}

/// The update of a 16-bit parameter: how its values are rounded back and whether the rounding is
/// counted.
struct HalfUpdate {
    let rounding: WeightRounding
    let parameter: Int
    let counter: WeightUpdateCounter?

    /// `chunks` on storages of the 16-bit format H, moved out and back in.
    func run<H: HalfElement>(
        _: H.Type, _ n: Int, _ p: inout Storage, _ g: [Float], _ f: inout Storage, _ s: inout Storage,
        _ body: (UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        var (pv, fv, sv) = (H.take(&p), H.take(&f), H.take(&s))
        let counts = chunks(n, &pv, g, &fv, &sv, body)
        (p, f, s) = (H.storage(pv), H.storage(fv), H.storage(sv))
        counter?.record(elements: n, changed: counts.reduce(0) { $0 + $1.changed }, stalled: counts.reduce(0) { $0 + $1.stalled })
    }

    /// Each range of the worker pool in blocks: widen, update, round back; the counts per range
    /// (zero when nothing counts).
    private func chunks<H: HalfElement>(
        _ n: Int, _ p: inout [H], _ g: [Float], _ f: inout [H], _ s: inout [H],
        _ body: (UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
    ) -> [(changed: Int, stalled: Int)] {
        let block = 2048, counting = counter != nil
        return p.withUnsafeMutableBufferPointer { pv in
            g.withUnsafeBufferPointer { gv in
                f.withUnsafeMutableBufferPointer { fv in
                    s.withUnsafeMutableBufferPointer { sv in
                        Parallel.mapRanges(n) { r in
                            var changed = 0, stalled = 0
                            withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * block) { scratch in
                                for lo in stride(from: r.lowerBound, to: r.upperBound, by: block) {
                                    let b = lo..<min(r.upperBound, lo + block), m = b.count
                                    let ps = UnsafeMutableBufferPointer(rebasing: scratch[0..<m])
                                    let fs = UnsafeMutableBufferPointer(rebasing: scratch[block..<(block + (fv.isEmpty ? 0 : m))])
                                    let ss = UnsafeMutableBufferPointer(rebasing: scratch[(2 * block)..<(2 * block + (sv.isEmpty ? 0 : m))])
                                    let before = UnsafeMutableBufferPointer(rebasing: scratch[(3 * block)..<(3 * block + m)])
                                    H.widen(.init(rebasing: pv[b]), into: ps)
                                    if counting { _ = before.update(fromContentsOf: ps) }
                                    if !fv.isEmpty { H.widen(.init(rebasing: fv[b]), into: fs) }
                                    if !sv.isEmpty { H.widen(.init(rebasing: sv[b]), into: ss) }
                                    body(ps, .init(rebasing: gv[b]), fs, ss)
                                    let stored = UnsafeMutableBufferPointer(rebasing: pv[b])
                                    switch rounding {
                                    case .nearest: H.narrow(.init(ps), into: stored)
                                    case .stochastic(let seed):
                                        for i in 0..<m {
                                            stored[i] = H.stochastic(ps[i], random: StochasticRounding.bits(seed: seed, parameter: parameter, index: lo + i))
                                        }
                                    }
                                    if !fv.isEmpty { H.narrow(.init(fs), into: .init(rebasing: fv[b])) }
                                    if !sv.isEmpty { H.narrow(.init(ss), into: .init(rebasing: sv[b])) }
                                    if counting {
                                        for i in 0..<m where ps[i] != before[i] {
                                            changed += 1
                                            if H.float(stored[i]) == before[i] { stalled += 1 }
                                        }
                                    }
                                }
                            }
                            return (changed, stalled)
                        }
                    }
                }
            }
        }
    }
}

/// The 16-bit storage formats: their bulk conversions and their case of `Storage`.
protocol HalfElement {
    static func widen(_ source: UnsafeBufferPointer<Self>, into destination: UnsafeMutableBufferPointer<Float>)
    static func narrow(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Self>)
    /// The elements of a storage of this format, leaving it empty (so that the array has one owner).
    static func take(_ storage: inout Storage) -> [Self]
    static func storage(_ values: [Self]) -> Storage
    /// `x` rounded stochastically with `random`'s bits (`StochasticRounding`).
    static func stochastic(_ x: Float, random: UInt64) -> Self
    /// The value as a Float (exact).
    static func float(_ x: Self) -> Float
}

extension Float16: HalfElement {
    static func widen(_ source: UnsafeBufferPointer<Float16>, into destination: UnsafeMutableBufferPointer<Float>) {
        HalfConversion.widen(source, into: destination)
    }
    static func narrow(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float16>) {
        HalfConversion.narrow(source, into: destination)
    }
    static func take(_ storage: inout Storage) -> [Float16] {
        guard case .float16(let v) = storage else { preconditionFailure("\(storage.dtype) storage where float16 was expected") }
        storage = .zeros(0, dtype: .float16)
        return v
    }
    static func storage(_ values: [Float16]) -> Storage { .float16(values) }
    static func stochastic(_ x: Float, random: UInt64) -> Float16 { StochasticRounding.float16(x, random: random) }
    static func float(_ x: Float16) -> Float { Float(x) }
}

extension BFloat16: HalfElement {
    static func widen(_ source: UnsafeBufferPointer<BFloat16>, into destination: UnsafeMutableBufferPointer<Float>) {
        BFloat16Conversion.widen(source, into: destination)
    }
    static func narrow(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<BFloat16>) {
        BFloat16Conversion.narrow(source, into: destination)
    }
    static func take(_ storage: inout Storage) -> [BFloat16] {
        guard case .bfloat16(let v) = storage else { preconditionFailure("\(storage.dtype) storage where bfloat16 was expected") }
        storage = .zeros(0, dtype: .bfloat16)
        return v
    }
    static func storage(_ values: [BFloat16]) -> Storage { .bfloat16(values) }
    static func stochastic(_ x: Float, random: UInt64) -> BFloat16 { StochasticRounding.bfloat16(x, random: random) }
    static func float(_ x: BFloat16) -> Float { x.float }
}

extension Storage {
    /// Moves the values out in compute type T (leaving `self` empty).
    mutating func take<T: TensorCompute>(_: T.Type) -> [T] {
        let values = T.load(self)
        self = .zeros(0, dtype: dtype)
        return values
    }
}
