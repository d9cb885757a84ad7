import CHalfKernels

/// The element loops of the optimizers and of AutoAnchor's metric, in the C kernels (vectorised
/// with FMA where the CPU has it, `fmaf` otherwise): every ISA gives the same bits. The formulas
/// are documented where they are used (`SGDStep`, `AdamStep`, `AutoAnchor.ratios`).
public enum ElementKernels {
    /// One SGD step over `p`, PyTorch's op order with fused multiply-adds:
    /// `g = wd != 0 ? fma(p, wd, g) : g`; with momentum `buf = first ? g : fma(g, dampC, buf * mu)`,
    /// `g = nesterov ? fma(buf, mu, g) : buf`; `p = fma(g, -lr, p)`.
    public static func sgd(p: UnsafeMutableBufferPointer<Float>, grad: UnsafeBufferPointer<Float>,
                           buffer: UnsafeMutableBufferPointer<Float>, lr: Float, momentum: Float,
                           dampeningComplement: Float, weightDecay: Float, nesterov: Bool, first: Bool,
                           isa: KernelISA = .best) {
        precondition(grad.count == p.count && (momentum == 0 || buffer.count == p.count),
                     "sgd: \(p.count) parameters, \(grad.count) gradients, \(buffer.count) buffer elements")
        guard let pp = p.baseAddress, let gp = grad.baseAddress else { return }
        ht_sgd_f32(isa.native, pp, gp, buffer.baseAddress, p.count, lr, momentum, dampeningComplement,
                   weightDecay, nesterov ? 1 : 0, first ? 1 : 0)
    }

    /// The scalars of one Adam/AdamW step (see `AdamStep`).
    public struct AdamScalars: Sendable {
        /// AdamW (true): the decay multiplies the parameter; Adam (false): L2 decay is added to the
        /// gradient.
        public var decoupled: Bool
        /// A weight-decay scalar.
        ///
        /// `decay` is AdamW's parameter factor 1 - lr * weight_decay; `weightDecay` is Adam's L2
        /// coefficient (g = fma(p, weightDecay, g) when nonzero).
        public var decay, weightDecay: Float
        /// Whether the first moment's lerp weight w = 1 - beta1 is below 0.5, which picks PyTorch's
        /// lerp formula: fma(w, g - m, m) when it is, fma(-(g - m), 1 - w, g) otherwise.
        public var smallWeight: Bool
        /// A scalar of the moment updates, rounded once to Float.
        ///
        /// `lerpWeight` w = 1 - beta1 and `lerpComplement` 1 - w (the first moment's lerp), `beta2`
        /// and `oneMinusBeta2` (the second moment), `correction2Root` sqrt(1 - beta2^t), `eps` (added
        /// after the bias correction) and `negativeStepSize` -lr / (1 - beta1^t).
        public var lerpWeight, lerpComplement, beta2, oneMinusBeta2, correction2Root, eps, negativeStepSize: Float

        /// The scalars as `AdamStep` computes them (in Double, from the hyper-parameters and the step
        /// count).
        public init(decoupled: Bool, decay: Float, weightDecay: Float, smallWeight: Bool, lerpWeight: Float,
                    lerpComplement: Float, beta2: Float, oneMinusBeta2: Float, correction2Root: Float, eps: Float,
                    negativeStepSize: Float) {
            (self.decoupled, self.decay, self.weightDecay, self.smallWeight) = (decoupled, decay, weightDecay, smallWeight)
            (self.lerpWeight, self.lerpComplement, self.beta2, self.oneMinusBeta2) = (lerpWeight, lerpComplement, beta2, oneMinusBeta2)
            (self.correction2Root, self.eps, self.negativeStepSize) = (correction2Root, eps, negativeStepSize)
        }
    }

    /// One Adam/AdamW step over `p` with moments `m` and `v`.
    public static func adam(p: UnsafeMutableBufferPointer<Float>, grad: UnsafeBufferPointer<Float>,
                            m: UnsafeMutableBufferPointer<Float>, v: UnsafeMutableBufferPointer<Float>,
                            _ s: AdamScalars, isa: KernelISA = .best) {
        precondition(grad.count == p.count && m.count == p.count && v.count == p.count,
                     "adam: \(p.count) parameters, \(grad.count) gradients, \(m.count) and \(v.count) moment elements")
        guard let pp = p.baseAddress else { return }
        ht_adam_f32(isa.native, pp, grad.baseAddress, m.baseAddress, v.baseAddress, p.count, s.decoupled ? 1 : 0, s.decay,
                    s.weightDecay, s.smallWeight ? 1 : 0, s.lerpWeight, s.lerpComplement, s.beta2, s.oneMinusBeta2,
                    s.correction2Root, s.eps, s.negativeStepSize)
    }

    /// YOLOv5's anchor ratio metric in binary32: for label i and each anchor, x = min(min(r_w, 1/r_w),
    /// min(r_h, 1/r_h)) with r = label / anchor; `best[i]` = the largest x. Returns the number of
    /// (label, anchor) pairs with x > thr.
    public static func anchorBest(w: UnsafeBufferPointer<Float>, h: UnsafeBufferPointer<Float>, anchorWidths: [Float],
                                  anchorHeights: [Float], thr: Float, best: UnsafeMutableBufferPointer<Float>,
                                  isa: KernelISA = .best) -> Int {
        precondition(w.count == h.count && best.count == w.count && anchorWidths.count == anchorHeights.count)
        return ht_anchor_best(isa.native, w.baseAddress, h.baseAddress, w.count, anchorWidths, anchorHeights,
                              anchorWidths.count, thr, best.baseAddress)
    }
}

/// What the pattern kernels need to know of a 16-bit format: the bits of +infinity (every
/// pattern with larger magnitude bits is a NaN) and the quiet bit a NaN gets when it is widened
/// to Float and rounded back.
public struct HalfPatternFormat: Sendable {
    /// The bit pattern of +infinity; every pattern whose magnitude bits exceed it is a NaN.
    public let infinity: UInt16
    /// The top fraction bit, which marks a NaN as quiet.
    public let quietBit: UInt16

    /// IEEE binary16: +infinity 0x7C00, quiet bit 0x0200.
    public static let float16 = HalfPatternFormat(infinity: 0x7C00, quietBit: 0x0200)
    /// bfloat16: +infinity 0x7F80, quiet bit 0x0040.
    public static let bfloat16 = HalfPatternFormat(infinity: 0x7F80, quietBit: 0x0040)
}

extension ElementKernels {
    /// relu on 16-bit patterns, bit for bit what widening to Float, `x > 0 || x.isNaN ? x : 0` and
    /// rounding once give, without converting: x > 0 (+inf included) is kept, a NaN is kept with
    /// its quiet bit set (as the round trip through Float sets it), everything else is +0.
    public static func relu(_ x: UnsafeBufferPointer<UInt16>, into y: UnsafeMutableBufferPointer<UInt16>,
                            format f: HalfPatternFormat) {
        precondition(x.count == y.count, "relu: \(x.count) inputs, \(y.count) outputs")
        let (infinity, quiet) = (f.infinity, f.quietBit)
        Parallel.forEachRange(x.count, minimum: 1 << 16) { r in
            for i in r {
                let h = x[i]
                y[i] = h & 0x7FFF > infinity ? h | quiet : (h & 0x8000 == 0 ? h : 0)
            }
        }
    }

    /// relu's gradient on 16-bit patterns, bit for bit what `x > 0 ? g : 0` in Float rounded once
    /// gives: g (a NaN with its quiet bit set) where x > 0, +0 elsewhere.
    public static func reluGradient(x: UnsafeBufferPointer<UInt16>, g: UnsafeBufferPointer<UInt16>,
                                    into gx: UnsafeMutableBufferPointer<UInt16>, format f: HalfPatternFormat) {
        precondition(x.count == g.count && x.count == gx.count,
                     "reluGradient: \(x.count) inputs, \(g.count) gradients, \(gx.count) outputs")
        let (infinity, quiet) = (f.infinity, f.quietBit)
        Parallel.forEachRange(x.count, minimum: 1 << 16) { r in
            for i in r {
                // x > 0 exactly when its pattern is in 1...infinity (sign clear, not zero, not NaN).
                let positive = x[i] &- 1 < infinity
                let gi = g[i]
                gx[i] = positive ? (gi & 0x7FFF > infinity ? gi | quiet : gi) : 0
            }
        }
    }
}

extension ElementKernels {
    /// SiLU, y = x / (1 + exp(-x)), with the C kernels' own vectorised exp (within 2 ulp of e^x;
    /// every ISA gives the same bits), in ranges on the worker pool.
    public static func silu(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, isa: KernelISA = .best) {
        precondition(x.count == y.count, "silu: \(x.count) inputs, \(y.count) outputs")
        Parallel.forEachRange(x.count, minimum: 1 << 14) { r in
            ht_silu_f32(isa.native, x.baseAddress! + r.lowerBound, y.baseAddress! + r.lowerBound, r.count)
        }
    }

    /// SiLU's gradient, dx = g * s * (1 + x * (1 - s)) with s = 1 / (1 + exp(-x)), PyTorch's
    /// silu_backward order, with the same exp as `silu`.
    public static func siluGradient(x: UnsafeBufferPointer<Float>, g: UnsafeBufferPointer<Float>,
                                    into dx: UnsafeMutableBufferPointer<Float>, isa: KernelISA = .best) {
        precondition(x.count == g.count && x.count == dx.count, "siluGradient: \(x.count) inputs, \(g.count) gradients, \(dx.count) outputs")
        Parallel.forEachRange(x.count, minimum: 1 << 14) { r in
            ht_silu_grad_f32(isa.native, x.baseAddress! + r.lowerBound, g.baseAddress! + r.lowerBound, dx.baseAddress! + r.lowerBound, r.count)
        }
    }
}
