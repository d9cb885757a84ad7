import HalfTraceAutograd
import HalfTraceKernels

/// The arithmetic of one SGD step for one element, generic over the float type: Float64 for
/// traces, Float32 for master weights (float16 parameters are computed in Float and rounded
/// once when stored). Hyper-parameters are converted to T first, as PyTorch converts a Python
/// scalar to the tensor's opmath type.
///
/// PyTorch `_single_tensor_sgd` (2.15), each line one tensor op:
///
///     g = grad.add(p, alpha=weight_decay)          = fma(p, wd, g)           (L2, before momentum)
///     buf = g                                                                (first step)
///     buf = buf.mul(momentum).add(g, alpha=1-damp) = fma(g, 1 - damp, buf * momentum)
///     g = nesterov ? g.add(buf, alpha=momentum)    = fma(buf, momentum, g)   : buf
///     p = p.add(g, alpha=-lr)                      = fma(g, -lr, p)
///
/// PyTorch's CPU kernels evaluate `add(other, alpha)` as one fused multiply-add on AVX2 and
/// AVX-512 machines (measured on 2.15), so HalfTrace does too: traces match it bit for bit.
public struct SGDStep<T: FusedMultiplyAdd> {
    /// The learning rate, converted to T.
    public let lr: T
    /// The momentum factor (0: no buffer, plain SGD).
    public let momentum: T
    /// 1 - dampening (computed in Double): the factor of g in the buffer update.
    public let dampeningComplement: T
    /// The L2 coefficient added to the gradient before momentum.
    public let weightDecay: T
    /// Whether the update uses g + momentum * buf instead of buf.
    public let nesterov: Bool

    /// The scalars of a step from a group's hyper-parameters, each converted to T once.
    public init(lr: Double, momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool) {
        self.lr = T(lr)
        self.momentum = T(momentum)
        self.dampeningComplement = T(1 - dampening)
        self.weightDecay = T(weightDecay)
        self.nesterov = nesterov
    }

    /// Whether momentum is on, so that a buffer is kept.
    public var usesMomentum: Bool { momentum != 0 }

    /// Updates `p` (and `buffer` when momentum is on). `first` is true when no buffer exists yet.
    @inline(__always)
    public func apply(p: inout T, grad: T, buffer: inout T, first: Bool) {
        var g = grad
        if weightDecay != 0 { g = T.fma(p, weightDecay, g) }
        if momentum != 0 {
            buffer = first ? g : T.fma(g, dampeningComplement, buffer * momentum)
            g = nesterov ? T.fma(buffer, momentum, g) : buffer
        }
        p = T.fma(g, -lr, p)
    }
}

extension SGDStep where T == Float {
    /// The same step over whole Float arrays, in the C kernels (vectorised FMA, or fmaf where the
    /// CPU has no FMA): bit-identical to `apply` element by element.
    public func apply(p: UnsafeMutableBufferPointer<Float>, grad: UnsafeBufferPointer<Float>,
                      buffer: UnsafeMutableBufferPointer<Float>, first: Bool, isa: KernelISA = .best) {
        ElementKernels.sgd(p: p, grad: grad, buffer: buffer, lr: lr, momentum: momentum,
                           dampeningComplement: dampeningComplement, weightDecay: weightDecay, nesterov: nesterov,
                           first: first, isa: isa)
    }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay,
/// per parameter group, matching PyTorch's `torch.optim.SGD`.
public final class SGD: Optimizer {
    public var groups: [ParamGroup]
    public var hasMomentum: Bool { true }
    public var kind: String { "sgd" }
    public var weightRounding: WeightRounding = .nearest
    private let state = StateTable()

    /// Validates each group with PyTorch's checks (lr, momentum and weight_decay >= 0; nesterov
    /// needs momentum > 0 and dampening == 0) plus dampening >= 0; an error names the group's
    /// field (`param_groups[1].lr`).
    public init(groups: [ParamGroup]) throws {
        for (i, g) in groups.enumerated() { try SGD.validate(g, index: i) }
        self.groups = groups
    }

    static func validate(_ g: ParamGroup, index: Int) throws {
        let at = "param_groups[\(index)]"
        try HalfTraceError.check("\(at).lr", g.lr, atLeast: 0)
        try HalfTraceError.check("\(at).momentum", g.momentum, atLeast: 0)
        try HalfTraceError.check("\(at).dampening", g.dampening, atLeast: 0)
        try HalfTraceError.check("\(at).weight_decay", g.weightDecay, atLeast: 0)
        if g.nesterov && (g.momentum <= 0 || g.dampening != 0) {
            throw HalfTraceError.invalid("\(at).nesterov",
                                 "Nesterov momentum requires a momentum > 0 and zero dampening (momentum \(g.momentum), dampening \(g.dampening))")
        }
    }

    public var parameterStates: [ParameterState] { state.export(groups) }

    public func restore(_ states: [ParameterState]) throws {
        try state.restore(states, groups, buffers: groups.contains { $0.momentum != 0 } ? 1 : 0, countsSteps: false)
    }

    public func step() {
        StepProfile.measure(.optimizer) { stepGroups() }
    }

    private func stepGroups() {
        var parameter = -1
        for group in groups {
            for p in group.params {
                parameter += 1
                guard let grad = p.grad?.storage else { continue }
                var s = state.take(p)
                let first = s.first == nil
                func k<T: FusedMultiplyAdd>(_: T.Type) -> SGDStep<T> {
                    SGDStep(lr: group.lr, momentum: group.momentum, dampening: group.dampening,
                            weightDecay: group.weightDecay, nesterov: group.nesterov)
                }
                let buffers = group.momentum != 0 ? 1 : 0
                if p.dtype == .float64 {
                    let k = k(Double.self)
                    p.applyUpdate(Double.self, grad: grad, state: &s, buffers: buffers) { pv, gv, bv, _ in
                        var unused = 0.0
                        for i in pv.indices {
                            if buffers == 1 { k.apply(p: &pv[i], grad: gv[i], buffer: &bv[i], first: first) } else {
                                k.apply(p: &pv[i], grad: gv[i], buffer: &unused, first: true)
                            }
                        }
                    }
                } else {
                    let k = k(Float.self)
                    p.applyUpdate(Float.self, grad: grad, state: &s, buffers: buffers, rounding: weightRounding, parameter: parameter) { pv, gv, bv, _ in
                        k.apply(p: pv, grad: gv, buffer: bv, first: first)
                    }
                }
                state[p] = s
            }
        }
    }
}
