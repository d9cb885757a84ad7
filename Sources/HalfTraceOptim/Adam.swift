import HalfTraceAutograd
import HalfTraceKernels

/// The arithmetic of one Adam / AdamW step for one element at step count t, generic over the
/// float type. PyTorch `_single_tensor_adam` (2.15), in its evaluation order, with the fused
/// multiply-adds its CPU kernels use on AVX2/AVX-512 (measured):
///
///     Adam:  g = grad.add(p, alpha=wd) = fma(p, wd, g)     AdamW: p = p * (1 - lr * wd)
///     m = lerp(m, g, w = 1 - beta1)    = fma(w, g - m, m) for w < 0.5, else fma(-(g - m), 1 - w, g)
///     v = v.mul(beta2).addcmul(g, g, value=1-beta2) = fma((1 - beta2) * g, g, v * beta2)
///     denom = sqrt(v) / sqrt(1 - beta2^t) + eps   (eps after the bias correction)
///     p = p.addcdiv(m, denom, value=-lr/(1 - beta1^t)) = p + (value * m) / denom   (not fused)
///
/// Scalars (`lr / (1 - beta1^t)`, `sqrt(1 - beta2^t)`, `1 - lr * wd`) are computed in Double, as
/// Python does, then converted to T.
public struct AdamStep<T: FusedMultiplyAdd> {
    /// AdamW's decoupled decay (true) or Adam's L2 decay (false).
    public let decoupled: Bool
    /// Adam's L2 coefficient: g = fma(p, wd, g) when nonzero.
    public let weightDecay: T
    /// AdamW's parameter factor 1 - lr * wd, computed in Double.
    public let decay: T
    /// w = 1 - beta1, the first moment's lerp weight.
    public let lerpWeight: T
    /// 1 - w, computed in T from the rounded w: the factor of the lerp's second branch.
    public let lerpComplement: T
    /// Whether |w| < 0.5, which picks PyTorch's lerp branch: fma(w, g - m, m), else
    /// fma(-(g - m), 1 - w, g).
    public let smallWeight: Bool
    /// The second moment's decay beta2.
    public let beta2: T
    /// 1 - beta2, computed in Double and rounded once.
    public let oneMinusBeta2: T
    /// sqrt(1 - beta2^t), as Python's `bias_correction2 ** 0.5`.
    public let correction2Root: T
    /// Added to the denominator after the bias correction.
    public let eps: T
    /// -lr / (1 - beta1^t): the step size with the first moment's bias correction.
    public let negativeStepSize: T

    /// The scalars of step `t` (1 for the first step), computed in Double from a group's
    /// hyper-parameters and converted to T.
    public init(lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double, decoupled: Bool, step t: Int) {
        self.decoupled = decoupled
        self.weightDecay = T(weightDecay)
        self.decay = T(1 - lr * weightDecay)
        let w = 1 - beta1
        self.lerpWeight = T(w)
        self.lerpComplement = 1 - T(w)
        self.smallWeight = abs(w) < 0.5
        self.beta2 = T(beta2)
        self.oneMinusBeta2 = T(1 - beta2)
        let correction1 = 1 - Double.pow(beta1, Double(t))
        let correction2 = 1 - Double.pow(beta2, Double(t))
        self.correction2Root = T(Double.pow(correction2, 0.5))  // Python: bias_correction2 ** 0.5
        self.eps = T(eps)
        self.negativeStepSize = T(-(lr / correction1))
    }

    /// One element's update in PyTorch's order: decay, first and second moment, then the parameter.
    @inline(__always)
    public func apply(p: inout T, grad: T, m: inout T, v: inout T) {
        var g = grad
        if decoupled {
            p = p * decay
        } else if weightDecay != 0 {
            g = T.fma(p, weightDecay, g)
        }
        m = smallWeight ? T.fma(lerpWeight, g - m, m) : T.fma(-(g - m), lerpComplement, g)
        v = T.fma(oneMinusBeta2 * g, g, v * beta2)
        let denom = v.squareRoot() / correction2Root + eps
        p = p + (negativeStepSize * m) / denom
    }
}

extension AdamStep where T == Float {
    /// The same step over whole Float arrays, in the C kernels: bit-identical to `apply`.
    public func apply(p: UnsafeMutableBufferPointer<Float>, grad: UnsafeBufferPointer<Float>,
                      m: UnsafeMutableBufferPointer<Float>, v: UnsafeMutableBufferPointer<Float>, isa: KernelISA = .best) {
        ElementKernels.adam(p: p, grad: grad, m: m, v: v, ElementKernels.AdamScalars(
            decoupled: decoupled, decay: decay, weightDecay: weightDecay, smallWeight: smallWeight, lerpWeight: lerpWeight,
            lerpComplement: lerpComplement, beta2: beta2, oneMinusBeta2: oneMinusBeta2, correction2Root: correction2Root,
            eps: eps, negativeStepSize: negativeStepSize), isa: isa)
    }
}

/// Adam (`decoupled: false`, L2 decay added to the gradient) and AdamW (`decoupled: true`,
/// decay applied to the parameter), matching PyTorch's `torch.optim.Adam` / `AdamW`.
/// A group's `momentum` is beta1 and `beta2` is beta2.
public final class Adam: Optimizer {
    public var groups: [ParamGroup]
    /// AdamW (true): p = p * (1 - lr * weight_decay) before the update; Adam (false):
    /// g = g + weight_decay * p.
    public let decoupled: Bool
    public var hasMomentum: Bool { false }
    public var kind: String { decoupled ? "adamw" : "adam" }
    public var weightRounding: WeightRounding = .nearest
    private let state = StateTable()

    /// Validates lr >= 0, eps >= 0, 0 <= beta1 < 1, 0 <= beta2 < 1, weight_decay >= 0.
    public init(groups: [ParamGroup], decoupled: Bool = false) throws {
        for (i, g) in groups.enumerated() {
            let at = "param_groups[\(i)]"
            try HalfTraceError.check("\(at).lr", g.lr, atLeast: 0)
            try HalfTraceError.check("\(at).eps", g.eps, atLeast: 0)
            try HalfTraceError.check("\(at).weight_decay", g.weightDecay, atLeast: 0)
            for (name, beta) in [("beta1", g.momentum), ("beta2", g.beta2)] {
                guard beta.isFinite, beta >= 0, beta < 1 else {
                    throw HalfTraceError.invalid("\(at).\(name)", "\(beta) is outside [0, 1)")
                }
            }
        }
        self.groups = groups
        self.decoupled = decoupled
    }

    public var parameterStates: [ParameterState] { state.export(groups) }

    public func restore(_ states: [ParameterState]) throws {
        try state.restore(states, groups, buffers: 2, countsSteps: true)
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
                s.step += 1
                func k<T: FusedMultiplyAdd>(_: T.Type) -> AdamStep<T> {
                    AdamStep(lr: group.lr, beta1: group.momentum, beta2: group.beta2, eps: group.eps,
                             weightDecay: group.weightDecay, decoupled: decoupled, step: s.step)
                }
                if p.dtype == .float64 {
                    let k = k(Double.self)
                    p.applyUpdate(Double.self, grad: grad, state: &s, buffers: 2) { pv, gv, mv, vv in
                        for i in pv.indices { k.apply(p: &pv[i], grad: gv[i], m: &mv[i], v: &vv[i]) }
                    }
                } else {
                    let k = k(Float.self)
                    p.applyUpdate(Float.self, grad: grad, state: &s, buffers: 2, rounding: weightRounding, parameter: parameter) { pv, gv, mv, vv in
                        k.apply(p: pv, grad: gv, m: mv, v: vv)
                    }
                }
                state[p] = s
            }
        }
    }
}
