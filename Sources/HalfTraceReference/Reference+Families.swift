import Foundation

// Other frameworks' schedules and loss scalers, written from their sources without the engine's
// code: timm 1.0 `timm/scheduler/cosine_lr.py`, transformers 5.x `src/transformers/optimization.py`,
// torch `_amp_update_scale_` (aten/src/ATen/native/cpu/AmpGradScalerKernels.cpp), megatron-core
// 0.16 `megatron/core/optimizer/grad_scaler.py` and DeepSpeed 0.19 `deepspeed/runtime/fp16/
// loss_scaler.py` and `fused_optimizer.py`.
extension Reference {
    // MARK: timm CosineLRScheduler

    /// timm's arguments, with cycle_mul as the fraction p/q the user wrote (1.2 = 6/5).
    public struct TimmCosine: Sendable {
        public var tInitial = 10, cycleMulNumerator = 1, cycleMulDenominator = 1
        public var lrMin = 0.0, cycleDecay = 1.0, cycleLimit = 1
        public var warmupT = 0, warmupLRInit = 0.0, warmupPrefix = false, kDecay = 1.0, baseLR = 0.1
        public init() {}
        var cycleMul: Double { Double(cycleMulNumerator) / Double(cycleMulDenominator) }
    }

    /// The lr at step t: the warm-up line, then the cosine of the cycle that contains t, found by
    /// walking the cycle starts B_(i+1) = B_i + T m^i as exact fractions (t >= B_i compared in
    /// integers), so every restart falls on its step.
    public static func timmCosine(_ t: Int, _ s: TimmCosine) -> Double {
        if t < s.warmupT { return s.warmupLRInit + Double(t) * ((s.baseLR - s.warmupLRInit) / Double(s.warmupT)) }
        let x = s.warmupPrefix ? t - s.warmupT : t
        // B_i = num / q^i exactly; cycle i is T p^i / q^i long, so B_(i+1) = (num + T p^i) q / q^(i+1).
        var i = 0, num = 0, pI = 1, qI = 1
        while i < 60 {
            let nextNum = (num + s.tInitial * pI) * s.cycleMulDenominator, nextDen = qI * s.cycleMulDenominator
            guard x * nextDen >= nextNum else { break }
            (num, i) = (nextNum, i + 1)
            pI *= s.cycleMulNumerator
            qI = nextDen
        }
        let den = qI
        guard i < s.cycleLimit else { return s.lrMin }
        let tCurr = Double(x * den - num) / Double(den)
        let tI = Double(s.tInitial) * Double(pI) / Double(qI)
        let lrMax = s.baseLR * pow(s.cycleDecay, Double(i))
        return s.lrMin + 0.5 * (lrMax - s.lrMin) * (1 + cos(Double.pi * pow(tCurr, s.kDecay) / pow(tI, s.kDecay)))
    }

    /// What timm computes: its cycle index `floor(log(1 - t / T * (1 - m), m))` in floating point
    /// (for m != 1), `t_curr = t - (1 - m^i) / (1 - m) * T`.
    public static func timmCosinePackage(_ t: Int, _ s: TimmCosine) -> Double {
        if t < s.warmupT { return s.warmupLRInit + Double(t) * ((s.baseLR - s.warmupLRInit) / Double(s.warmupT)) }
        let x = Double(s.warmupPrefix ? t - s.warmupT : t), m = s.cycleMul, T = Double(s.tInitial)
        let i: Double, tI: Double, tCurr: Double
        if m != 1 {
            i = floor(log(1 - x / T * (1 - m)) / log(m))
            tI = pow(m, i) * T
            tCurr = x - (1 - pow(m, i)) / (1 - m) * T
        } else {
            i = floor(x / T)
            tI = T
            tCurr = x - T * i
        }
        guard i < Double(s.cycleLimit) else { return s.lrMin }
        let lrMax = s.baseLR * pow(s.cycleDecay, i)
        return s.lrMin + 0.5 * (lrMax - s.lrMin) * (1 + cos(Double.pi * pow(tCurr, s.kDecay) / pow(tI, s.kDecay)))
    }

    // MARK: transformers schedules (LambdaLR multipliers)

    /// `get_cosine_with_hard_restarts_schedule_with_warmup` with num_cycles = p/q: the position in
    /// the cycle is the exact fraction p (step - W) / (q (N - W)) mod 1.
    public static func hfCosineHardRestarts(_ step: Int, warmup w: Int, training n: Int, cyclesNumerator p: Int, cyclesDenominator q: Int) -> Double {
        if step < w { return Double(step) / Double(max(1, w)) }
        let span = max(1, n - w)
        guard step - w < span else { return 0 }
        let num = p * (step - w), den = q * span
        return max(0, 0.5 * (1 + cos(Double.pi * (Double(num % den) / Double(den)))))
    }

    /// What transformers computes: `((num_cycles * progress) % 1.0)` in floating point.
    public static func hfCosineHardRestartsPackage(_ step: Int, warmup w: Int, training n: Int, cycles c: Double) -> Double {
        if step < w { return Double(step) / Double(max(1, w)) }
        let progress = Double(step - w) / Double(max(1, n - w))
        guard progress < 1 else { return 0 }
        return max(0, 0.5 * (1 + cos(Double.pi * (c * progress).truncatingRemainder(dividingBy: 1))))
    }

    /// `get_cosine_schedule_with_warmup`: 0.5 (1 + cos(pi c 2 progress)), floored at 0.
    public static func hfCosine(_ step: Int, warmup w: Int, training n: Int, cycles c: Double) -> Double {
        if step < w { return Double(step) / Double(max(1, w)) }
        let progress = Double(step - w) / Double(max(1, n - w))
        return max(0, 0.5 * (1 + cos(Double.pi * c * 2 * progress)))
    }

    /// `get_wsd_schedule` with linear warm-up from min_lr_ratio, `stable` steps at 1 and a cosine
    /// (num_cycles 0.5) or linear decay over `decay` steps to min_lr_ratio.
    public static func hfWSD(_ step: Int, warmup w: Int, stable: Int, decay: Int, minRatio r: Double, cosineDecay: Bool) -> Double {
        if step < w { return r + (1 - r) * (Double(step) / Double(max(1, w))) }
        if step < w + stable { return 1 }
        if step < w + stable + decay {
            let p = Double(step - w - stable) / Double(max(1, decay))
            let v = cosineDecay ? 0.5 * (1 + cos(Double.pi * 0.5 * 2 * p)) : 1 - p
            return max(0, v * (1 - r) + r)
        }
        return r
    }

    // MARK: dynamic loss scaling

    /// One framework's dynamic loss scaling, its settings by its own names.
    public enum LossScaler: Sendable {
        /// torch GradScaler: float32 scale, growth refused when the product is not finite.
        case pytorch(initScale: Double, growthFactor: Double, backoffFactor: Double, growthInterval: Int)
        /// megatron-core DynamicGradScaler.
        case megatron(initialScale: Double, minScale: Double, growthFactor: Double, backoffFactor: Double, growthInterval: Int, hysteresis: Int)
        /// DeepSpeed DynamicLossScaler (ZeRO); `nil` scale rows after a raise.
        case deepspeed(initScale: Double, scaleWindow: Int, minScale: Double, delayedShift: Int, consecutiveHysteresis: Bool, raiseAtMin: Bool)
        /// DeepSpeed FP16_Optimizer._update_scale (no hysteresis, never raises).
        case deepspeedFP16(initScale: Double, scaleWindow: Int, minScale: Double)
    }

    /// The scale after each update given the overflow flags; the list ends early where DeepSpeed
    /// raises at its minimum scale.
    public static func lossScales(_ scaler: LossScaler, foundInf: [Bool]) -> [Double] {
        var out: [Double] = []
        switch scaler {
        case let .pytorch(initScale, growth, backoff, interval):
            var scale = Float(initScale), tracker = 0
            for inf in foundInf {
                if inf {
                    scale = scale * Float(backoff)
                    tracker = 0
                } else if tracker + 1 >= interval {
                    let grown = scale * Float(growth)
                    if grown.isFinite { scale = grown }
                    tracker = 0
                } else {
                    tracker += 1
                }
                out.append(Double(scale))
            }
        case let .megatron(initialScale, minScale, growth, backoff, interval, hysteresis):
            var scale = Float(initialScale), growthTracker = 0, hysteresisTracker = hysteresis
            for inf in foundInf {
                if inf {
                    growthTracker = 0
                    hysteresisTracker -= 1
                    if hysteresisTracker <= 0 { scale = max(scale * Float(backoff), Float(minScale)) }
                } else {
                    growthTracker += 1
                    if growthTracker == interval {
                        growthTracker = 0
                        hysteresisTracker = hysteresis
                        scale = scale * Float(growth)
                    }
                }
                out.append(Double(scale))
            }
        case let .deepspeed(initScale, window, minScale, delayedShift, consecutive, raiseAtMin):
            var scale = initScale, iter = 0, lastOverflow = -1, hysteresis = delayedShift
            for inf in foundInf {
                if inf {
                    if delayedShift == 1 || hysteresis == 1 {
                        if scale == minScale && raiseAtMin { return out }
                        scale = max(scale / 2, minScale)
                    } else {
                        hysteresis -= 1
                    }
                    lastOverflow = iter
                } else {
                    if consecutive { hysteresis = delayedShift }
                    if (iter - lastOverflow - 1) > 0 && (iter - lastOverflow - 1) % window == 0 {
                        if !consecutive { hysteresis = delayedShift }
                        scale *= 2
                    }
                }
                iter += 1
                out.append(scale)
            }
        case let .deepspeedFP16(initScale, window, minScale):
            // fused_optimizer.py _update_scale: skip halves (floored at min_loss_scale) and sets
            // last_overflow_iter; otherwise stable_interval = cur_iter - last_overflow_iter - 1
            // grows the scale when > 0 and a multiple of scale_window; cur_iter += 1 either way.
            var scale = initScale, iter = 0, lastOverflow = -1
            for inf in foundInf {
                if inf {
                    scale = max(scale / 2, minScale)
                    lastOverflow = iter
                } else {
                    let stableInterval = iter - lastOverflow - 1
                    if stableInterval > 0 && stableInterval % window == 0 { scale *= 2 }
                }
                iter += 1
                out.append(scale)
            }
        }
        return out
    }
}
