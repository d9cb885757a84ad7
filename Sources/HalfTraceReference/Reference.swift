import Foundation

/// Closed-form Float64 functions written straight from the formulas of the sources they
/// reproduce: NumPy 2.x `numpy.interp` (`numpy/_core/src/multiarray/compiled_base.c`), YOLOv5
/// v7.0 `train.py` and `utils/general.py` (warm-up, accumulation, one_cycle), PyTorch 2.15
/// `CosineAnnealingWarmRestarts`, `GradScaler` (`torch/amp/grad_scaler.py`) and the optimizers
/// (`torch/optim/sgd.py`, `adam.py`), and YOLOv5's `utils/autoanchor.py`. Golden files'
/// `formula` columns come from here.
///
/// Independence: this module imports nothing but Foundation, so it shares no code with the
/// engine it checks. It does share the platform's C library (`exp`, `log`, `cos`, `pow`,
/// `tanh`) with the engine: a wrong libm would be wrong in both. Where a source fixes an
/// evaluation order, it is followed.
public enum Reference {
    // MARK: numpy.interp

    /// y = slope * (x - xp[j]) + fp[j], slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]), j the last
    /// knot with xp[j] <= x; fp[0] left of the knots, fp[last] right of them and at xp[last];
    /// fp[j] exactly on a knot. (A linear scan: NumPy's bisection finds the same j.)
    public static func interp(_ x: Double, _ xp: [Double], _ fp: [Double]) -> Double {
        let n = xp.count
        if x.isNaN { return x }
        if x < xp[0] { return fp[0] }
        if x >= xp[n - 1] { return fp[n - 1] }
        var j = 0
        while j + 1 < n && xp[j + 1] <= x { j += 1 }
        if xp[j] == x { return fp[j] }
        let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
        return slope * (x - xp[j]) + fp[j]
    }

    /// Python's round(): half to even.
    public static func roundHalfEven(_ x: Double) -> Double {
        let f = x.rounded(.down), d = x - f
        if d > 0.5 { return f + 1 }
        if d < 0.5 { return f }
        return f.truncatingRemainder(dividingBy: 2) == 0 ? f : f + 1
    }

    // MARK: YOLOv5 schedules

    /// one_cycle(y1, y2, steps)(x) = ((1 - cos(x * pi / steps)) / 2) * (y2 - y1) + y1
    public static func oneCycle(_ x: Double, y1: Double, y2: Double, steps: Double) -> Double {
        ((1 - cos(x * Double.pi / steps)) / 2) * (y2 - y1) + y1
    }

    /// lf(x) = (1 - x / epochs) * (1 - lrf) + lrf
    public static func linear(_ x: Double, epochs: Double, lrf: Double) -> Double {
        (1 - x / epochs) * (1.0 - lrf) + lrf
    }

    // MARK: SGDR

    /// lr = eta_min + (base - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, with the cycle found by
    /// walking the cycle lengths T_0, T_0 T_mult, ... in integers.
    public static func sgdr(epoch: Double, baseLR: Double, etaMin: Double, t0: Int, tMult: Int) -> Double {
        var start = 0, length = t0
        let whole = Int(epoch.rounded(.down))
        while start + length <= whole {
            start += length
            length *= tMult
        }
        let tCur = tMult == 1 && epoch >= Double(t0) ? epoch.truncatingRemainder(dividingBy: Double(t0)) : epoch - Double(start)
        return etaMin + (baseLR - etaMin) * (1 + cos(Double.pi * tCur / Double(length))) / 2
    }

    /// The restart epochs below `limit`: T_0, T_0 + T_0 T_mult, ... (integer arithmetic).
    public static func restartEpochs(t0: Int, tMult: Int, below limit: Double) -> [Double] {
        var out: [Double] = [], start = 0, length = t0
        while Double(start + length) < limit {
            start += length
            out.append(Double(start))
            if length > Int.max / max(tMult, 1) / 2 { break }
            length *= tMult
        }
        return out
    }

    /// What PyTorch 2.15's `CosineAnnealingWarmRestarts.step(epoch)` computes: the cycle index n
    /// is `int(log(epoch / T_0 * (T_mult - 1) + 1, T_mult))` in floating point (Python's
    /// math.log(x, base) = log(x) / log(base)).
    public static func sgdrPyTorch(epoch: Double, baseLR: Double, etaMin: Double, t0: Int, tMult: Int) -> Double {
        var tCur = epoch, tI = Double(t0)
        if epoch >= Double(t0) {
            if tMult == 1 {
                tCur = epoch.truncatingRemainder(dividingBy: Double(t0))
            } else {
                let n = Int(log(epoch / Double(t0) * Double(tMult - 1) + 1) / log(Double(tMult)))
                let p = pow(Double(tMult), Double(n))
                tCur = epoch - Double(t0) * (p - 1) / Double(tMult - 1)
                tI = Double(t0) * p
            }
        }
        return etaMin + (baseLR - etaMin) * (1 + cos(Double.pi * tCur / tI)) / 2
    }

    // MARK: YOLOv5 warm-up and accumulation

    public struct WarmupHyperparameters: Sendable {
        public var lr0 = 0.01, lrf = 0.01, momentum = 0.937, warmupEpochs = 3.0, warmupMomentum = 0.8, warmupBiasLR = 0.1
        public init() {}
    }

    /// The values in effect for the batch at global iteration ni (after its warm-up block).
    public struct WarmupRow: Sendable, Equatable {
        public var lr: [Double]  // bias, weight, norm groups
        public var momentum: Double
        public var accumulate: Int
    }

    /// nw = max(round(warmup_epochs * nb), 100)
    public static func warmupIterations(warmupEpochs: Double, nb: Int) -> Int {
        max(Int(roundHalfEven(warmupEpochs * Double(nb))), 100)
    }

    /// accumulate = max(1, round(interp(ni, [0, nw], [1, nbs / bs]))) during warm-up.
    public static func accumulate(ni: Int, nw: Int, nbs: Int, batchSize: Int) -> Int {
        let x = min(ni, nw)
        return max(1, Int(roundHalfEven(interp(Double(x), [0, Double(nw)], [1, Double(nbs) / Double(batchSize)]))))
    }

    /// The closed form of train.py's warm-up and LambdaLR at iteration ni of epoch e:
    /// ni <= nw: lr_j = interp(ni, [0, nw], [j == 0 ? warmup_bias_lr : 0, lr0 * lf(e)]),
    ///           momentum = interp(ni, [0, nw], [warmup_momentum, momentum]);
    /// later:    lr_j = lr0 * lf(e) (formula), or lr0 * lf(e - 1) with train.py's lag, except in
    ///           the epoch where warm-up ends, which keeps the warm-up's last value lr0 * lf(e).
    public static func warmup(ni: Int, epoch e: Int, nb: Int, epochs: Int, batchSize: Int, nbs: Int,
                              hyp h: WarmupHyperparameters, cosine: Bool, lag: Bool) -> WarmupRow {
        let nw = warmupIterations(warmupEpochs: h.warmupEpochs, nb: nb)
        func lf(_ x: Int) -> Double {
            cosine ? oneCycle(Double(x), y1: 1, y2: h.lrf, steps: Double(epochs)) : linear(Double(x), epochs: Double(epochs), lrf: h.lrf)
        }
        let acc = accumulate(ni: ni, nw: nw, nbs: nbs, batchSize: batchSize)
        if ni <= nw {
            let xi = [0, Double(nw)], x = Double(ni)
            let lrs = (0..<3).map { j in interp(x, xi, [j == 0 ? h.warmupBiasLR : 0.0, h.lr0 * lf(e)]) }
            return WarmupRow(lr: lrs, momentum: interp(x, xi, [h.warmupMomentum, h.momentum]), accumulate: acc)
        }
        let warmupEndEpoch = nw / nb
        let lr = h.lr0 * lf(lag && e != warmupEndEpoch ? e - 1 : e)
        return WarmupRow(lr: [lr, lr, lr], momentum: h.momentum, accumulate: acc)
    }

    // MARK: GradScaler

    public struct ScalerRule: Sendable {
        public var initScale = 65536.0, growthFactor = 2.0, backoffFactor = 0.5
        public var growthInterval = 2000
        public var minScale: Double? = nil, maxScale: Double? = nil
        public var hysteresis = 1
        /// true: the hysteresis budget refills after any clean step (apex); false: on growth (Megatron).
        public var refillOnCleanStep = true
        public init() {}
    }

    /// The scale and growth tracker after each update, given whether each step found an inf.
    /// found_inf: the budget drops by one; at zero the scale backs off (clamped to minScale);
    /// tracker = 0. Clean: tracker + 1; at the interval the scale grows if the product is finite
    /// (clamped to maxScale) and tracker = 0. The scale is a Float32: every product is rounded to it.
    public static func scaler(foundInf: [Bool], rule r: ScalerRule) -> [(scale: Double, tracker: Int)] {
        var state = ScalerState(r)
        return foundInf.map { inf in
            state.update(foundInf: inf)
            return (state.scale, state.tracker)
        }
    }

    // MARK: optimizers on f(w) = 0.5 sum a_i w_i^2 (gradient a_i w_i)

    /// SGD: g += wd p; buf = g (first) or mu buf + (1 - damp) g; g = nesterov ? g + mu buf : buf; p -= lr g.
    public static func sgdQuadratic(a: [Double], w0: [Double], lr: Double, momentum: Double, dampening: Double,
                                    weightDecay: Double, nesterov: Bool, steps: Int) -> [[Double]] {
        var w = w0, buf = [Double](repeating: 0, count: w0.count), rows: [[Double]] = []
        for t in 0..<steps {
            for i in w.indices {
                var g = a[i] * w[i] + weightDecay * w[i]
                if momentum != 0 {
                    buf[i] = t == 0 ? g : momentum * buf[i] + (1 - dampening) * g
                    g = nesterov ? g + momentum * buf[i] : buf[i]
                }
                w[i] -= lr * g
            }
            rows.append(w)
        }
        return rows
    }

    /// Adam/AdamW: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    /// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps); decay as L2 (Adam) or p *= 1 - lr wd (AdamW).
    public static func adamQuadratic(a: [Double], w0: [Double], lr: Double, beta1: Double, beta2: Double, eps: Double,
                                     weightDecay: Double, decoupled: Bool, steps: Int) -> [[Double]] {
        var w = w0, m = [Double](repeating: 0, count: w0.count), v = m, rows: [[Double]] = []
        for t in 1...max(steps, 1) where t <= steps {
            for i in w.indices {
                var g = a[i] * w[i]
                if decoupled { w[i] *= 1 - lr * weightDecay } else { g += weightDecay * w[i] }
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let denom = v[i].squareRoot() / (1 - pow(beta2, Double(t))).squareRoot() + eps
                w[i] -= lr / (1 - pow(beta1, Double(t))) * m[i] / denom
            }
            rows.append(w)
        }
        return rows
    }

    // MARK: gradient accumulation

    /// The gradient of sum_i CE(softmax(W x_i + b), y_i) for a softmax regression, in Float64:
    /// dW = sum_i (p_i - onehot_i) x_i^T, db = sum_i (p_i - onehot_i). Returns W's gradient
    /// row-major, then b's.
    public static func softmaxRegressionGradient(x: [[Double]], labels: [Int], weight: [[Double]], bias: [Double]) -> [Double] {
        let classes = weight.count, features = weight[0].count
        var gw = [Double](repeating: 0, count: classes * features), gb = [Double](repeating: 0, count: classes)
        for (xi, yi) in zip(x, labels) {
            let z = (0..<classes).map { c in (0..<features).reduce(bias[c]) { $0 + weight[c][$1] * xi[$1] } }
            let m = z.max()!
            let e = z.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for c in 0..<classes {
                let d = e[c] / s - (c == yi ? 1 : 0)
                gb[c] += d
                for f in 0..<features { gw[c * features + f] += d * xi[f] }
            }
        }
        return gw + gb
    }
}

// MARK: AutoAnchor

extension Reference {
    /// The ratio metric of a label (w, h) and an anchor (aw, ah): min(w/aw, aw/w, h/ah, ah/h).
    public static func anchorRatio(w: Double, h: Double, aw: Double, ah: Double) -> Double {
        min(min(w / aw, aw / w), min(h / ah, ah / h))
    }
}
