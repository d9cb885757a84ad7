import Foundation

// MARK: YOLOv5's training loop, by hand, in Float64

extension Reference {
    /// The network the reference trains: x (inputs) -> Linear -> LayerNorm -> tanh -> Linear ->
    /// logits (classes), cross-entropy. Its six tensors, in this order, with their YOLOv5
    /// parameter group (0 biases, 1 weights, 2 norm weights: `smart_optimizer`):
    ///
    ///     fc0.weight [hidden, inputs] 1    fc0.bias [hidden] 0    norm0.weight [hidden] 2
    ///     norm0.bias [hidden] 0            fc1.weight [classes, hidden] 1    fc1.bias [classes] 0
    public static let networkTensors = ["fc0.weight", "fc0.bias", "norm0.weight", "norm0.bias", "fc1.weight", "fc1.bias"]
    public static let networkGroups = [1, 0, 2, 0, 1, 0]

    /// How the learning rate is scheduled (see `TrainingRecipe`).
    public enum LearningRateSchedule: Sendable, Equatable {
        /// LambdaLR with YOLOv5's linear multiplier, stepped after every epoch.
        case linear
        /// LambdaLR with `one_cycle(1, lrf, epochs)`, stepped after every epoch.
        case oneCycle
        /// SGDR at t = epoch + i / nb before every batch (base lr = the group's initial lr).
        case sgdr(t0: Int, tMult: Int, etaMin: Double)
        /// `warmup` epochs of linear warm-up from 0, then SGDR with peak decay, re-warm-up and a
        /// cycle limit, at t = epoch + i / nb; the warm-up block then leaves the lr alone.
        case sgdrWarmup(t0: Int, tMult: Int, etaMin: Double, cycleDecay: Double, restartWarmup: Double, cycleLimit: Int?)
    }

    public enum Optimizer: Sendable, Equatable {
        /// SGD with Nesterov momentum (the group's momentum, warmed up).
        case sgd
        /// Adam (L2 decay) or AdamW (decoupled decay), betas (momentum, 0.999), eps 1e-8.
        case adam, adamw
    }

    /// Everything the reference trains with. The data, the initial parameters and each epoch's
    /// order of the rows are inputs (as a dataset and a seed are to YOLOv5); everything the
    /// recipe computes is computed here.
    public struct TrainingRecipe: Sendable {
        public var inputs: Int, hidden: Int, classes: Int
        public var layerNormEpsilon = 1e-5
        public var features: [[Double]]
        public var labels: [Int]
        public var batchSize: Int
        public var nominalBatchSize = 64
        public var epochs: Int
        public var hyp: WarmupHyperparameters
        public var weightDecay: Double
        public var schedule: LearningRateSchedule = .linear
        public var lag = false
        public var optimizer: Optimizer = .sgd
        /// clip_grad_norm_'s max_norm (0: no clipping).
        public var clipNorm = 10.0
        public var lossGain = 1.0
        /// Iterations whose loss is also multiplied by `spikeGain`.
        public var spikes: Set<Int> = []
        public var spikeGain = 1.0
        /// A GradScaler (amp) whose overflow decisions the reference makes itself.
        public var scaler: ScalerRule? = nil
        /// The row order of each epoch.
        public var order: [[Int]]
        /// The initial tensors, in `networkTensors` order, row-major.
        public var initial: [[Double]]

        public init(inputs: Int, hidden: Int, classes: Int, features: [[Double]], labels: [Int], batchSize: Int, epochs: Int,
                    hyp: WarmupHyperparameters, weightDecay: Double, order: [[Int]], initial: [[Double]]) {
            (self.inputs, self.hidden, self.classes, self.features, self.labels) = (inputs, hidden, classes, features, labels)
            (self.batchSize, self.epochs, self.hyp, self.weightDecay, self.order, self.initial) = (batchSize, epochs, hyp, weightDecay, order, initial)
        }
    }

    /// What happened at one iteration: the values in effect for the batch, and the step it ended with.
    public struct TrainingStep: Sendable {
        public var iteration: Int
        public var epoch: Int
        public var lr: [Double]
        public var momentum: [Double]
        public var accumulate: Int
        public var weightDecay: Double
        public var optimizerStep: Bool
        /// The batch-mean cross-entropy.
        public var loss: Double
        /// The total gradient norm before clipping, at a step (NaN otherwise, or after an overflow).
        public var gradientNorm: Double
        public var scale: Double
        public var skipped: Bool
        public var growthTracker: Int
        /// The largest |value| among the batch's gradients that amp holds in binary16, over
        /// binary16's overflow threshold 65520 (0 without a scaler).
        public var halfGradientRatio: Double
        /// The tensors after the iteration, in `networkTensors` order.
        public var parameters: [[Double]]
    }

    public struct RecipeError: Error, CustomStringConvertible {
        public let description: String
    }

    /// YOLOv5's training loop (`train.py`, v7.0) on the network above, in Float64, written from
    /// the formulas:
    ///
    ///     nb = ceil(n / bs); nw = max(round(warmup_epochs * nb), 100)
    ///     accumulate = max(round(nbs / bs), 1); weight_decay *= bs * accumulate / nbs (weights group)
    ///     for epoch: zero_grad (a partial window is dropped, last_opt_step kept)
    ///       for batch i: ni = i + nb * epoch
    ///         [SGDR kinds: lr_j = schedule_j(epoch + i / nb)]
    ///         if ni <= nw: accumulate = max(1, round(interp(ni, [0, nw], [1, nbs / bs])))
    ///                      lr_j = interp(ni, [0, nw], [j == 0 ? warmup_bias_lr : 0, target_j])
    ///                      momentum_j = interp(ni, [0, nw], [warmup_momentum, momentum])   (SGD)
    ///         loss = mean CE * bs * gain (* spike); backward of loss * scale, summed over the window
    ///         if ni - last_opt_step >= accumulate:
    ///             unscale (found_inf decided below), clip_grad_norm_(clipNorm), step unless
    ///             found_inf, scaler update, zero_grad, last_opt_step = ni
    ///       LambdaLR kinds: scheduler.step()
    ///
    /// target_j is `initial_lr * lf(epoch)` for LambdaLR and the SGDR value of the batch for SGDR.
    /// Overflow: amp holds the gradients of the Linear layers' outputs, inputs and parameters in
    /// binary16; the reference rounds its own Float64 scaled gradients to binary16 with its own
    /// conversion (`binary16`) and a window found an inf when any of them rounds to infinity.
    public static func train(_ r: TrainingRecipe) throws -> [TrainingStep] {
        let n = r.features.count
        guard n > 0, r.labels.count == n, r.batchSize > 0, r.order.count >= r.epochs, r.initial.count == 6 else {
            throw RecipeError(description: "recipe: \(n) rows, \(r.labels.count) labels, \(r.order.count) epoch orders, \(r.initial.count) tensors")
        }
        let (d, h, c) = (r.inputs, r.hidden, r.classes)
        let nb = (n + r.batchSize - 1) / r.batchSize
        let nw = warmupIterations(warmupEpochs: r.hyp.warmupEpochs, nb: nb)
        let nbs = Double(r.nominalBatchSize), bs = Double(r.batchSize)
        let initialAccumulate = max(Int(roundHalfEven(nbs / bs)), 1)
        let decay = [0, r.weightDecay * (Double(r.batchSize * initialAccumulate) / nbs), 0]
        let isLambda = r.schedule == .linear || r.schedule == .oneCycle
        func lf(_ x: Double) -> Double {
            switch r.schedule {
            case .linear: linear(x, epochs: Double(r.epochs), lrf: r.hyp.lrf)
            case .oneCycle: oneCycle(x, y1: 1, y2: r.hyp.lrf, steps: Double(r.epochs))
            default: 1
            }
        }
        let initialLR = [Double](repeating: r.hyp.lr0, count: 3)
        var lr = initialLR.map { $0 * lf(0) }  // LambdaLR's constructor step
        var lastEpoch = r.lag ? -1 : 0
        var momentum = [Double](repeating: r.hyp.momentum, count: 3)
        var accumulate = initialAccumulate, lastOptimizerStep = -1
        var p = r.initial
        var grad = p.map { [Double](repeating: 0, count: $0.count) }
        var first = p.map { [Double](repeating: 0, count: $0.count) }, second = first
        var hasBuffer = false, adamSteps = 0
        var scaler = r.scaler.map(ScalerState.init)
        var windowOverflow = false
        var steps: [TrainingStep] = []

        for epoch in 0..<r.epochs {
            for k in grad.indices { grad[k] = [Double](repeating: 0, count: grad[k].count) }  // zero_grad
            windowOverflow = false
            for i in 0..<nb {
                let ni = i + nb * epoch
                let t = Double(epoch) + Double(i) / Double(nb)
                switch r.schedule {
                case .linear, .oneCycle: break
                case let .sgdr(t0, tMult, etaMin):
                    lr = initialLR.map { sgdr(epoch: t, baseLR: $0, etaMin: etaMin, t0: t0, tMult: tMult) }
                case let .sgdrWarmup(t0, tMult, etaMin, decay, rewarm, limit):
                    lr = initialLR.map { sgdrWarmup(t, warmupEpochs: r.hyp.warmupEpochs, baseLR: $0, etaMin: etaMin, t0: t0,
                                                    tMult: tMult, cycleDecay: decay, restartWarmup: rewarm, cycleLimit: limit) }
                }
                if ni <= nw {
                    let xi = [0, Double(nw)], x = Double(ni)
                    accumulate = max(1, Int(roundHalfEven(interp(x, xi, [1, nbs / bs]))))
                    for j in 0..<3 {
                        if case .sgdrWarmup = r.schedule {} else {
                            let target = isLambda ? initialLR[j] * lf(Double(epoch)) : lr[j]
                            lr[j] = interp(x, xi, [j == 0 ? r.hyp.warmupBiasLR : 0, target])
                        }
                        if r.optimizer == .sgd { momentum[j] = interp(x, xi, [r.hyp.warmupMomentum, r.hyp.momentum]) }
                    }
                }
                // Forward and backward of loss * bs * gain * spike * scale, summed into grad.
                let rows = Array(r.order[epoch][(i * r.batchSize)..<min((i + 1) * r.batchSize, n)])
                let scale = scaler.map { Double($0.scale) } ?? 1
                let s = scale * r.lossGain * (r.spikes.contains(ni) ? r.spikeGain : 1)
                let b = batchGradient(p, rows: rows.map { (r.features[$0], r.labels[$0]) }, inputs: d, hidden: h, classes: c,
                                      epsilon: r.layerNormEpsilon, scale: s)
                let lossSum = b.lossSum
                for k in grad.indices { for q in grad[k].indices { grad[k][q] += b.gradient[k][q] } }
                let halfMax = b.halfMax
                if scaler != nil && binary16(halfMax).isInfinite { windowOverflow = true }
                var record = TrainingStep(iteration: ni, epoch: epoch, lr: lr, momentum: momentum, accumulate: accumulate,
                                          weightDecay: decay[1], optimizerStep: false, loss: lossSum / Double(rows.count),
                                          gradientNorm: .nan, scale: scale, skipped: false, growthTracker: scaler?.tracker ?? 0,
                                          halfGradientRatio: scaler == nil ? 0 : halfMax / 65520, parameters: [])
                if ni - lastOptimizerStep >= accumulate {
                    let foundInf = scaler != nil && windowOverflow
                    if let scaler {
                        let inverse = Double(Float(1 / Double(scaler.scale)))
                        for k in grad.indices { grad[k] = grad[k].map { $0 * inverse } }
                    }
                    if !foundInf {
                        let norm = grad.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }.reduce(0) { $0 + $1 * $1 }.squareRoot()
                        if r.clipNorm > 0 {
                            record.gradientNorm = norm
                            let coefficient = min(r.clipNorm / (norm + 1e-6), 1)
                            for k in grad.indices { grad[k] = grad[k].map { $0 * coefficient } }
                        }
                        if r.optimizer != .sgd { adamSteps += 1 }
                        for k in p.indices {
                            let j = networkGroups[k]
                            for q in p[k].indices {
                                switch r.optimizer {
                                case .sgd:
                                    sgdStep(&p[k][q], grad[k][q], &first[k][q], isFirst: !hasBuffer, lr: lr[j], momentum: momentum[j],
                                            weightDecay: decay[j])
                                case .adam, .adamw:
                                    adamStep(&p[k][q], grad[k][q], &first[k][q], &second[k][q], t: adamSteps, lr: lr[j], beta1: momentum[j],
                                             weightDecay: decay[j], decoupled: r.optimizer == .adamw)
                                }
                            }
                        }
                        hasBuffer = true
                    }
                    scaler?.update(foundInf: foundInf)
                    record.optimizerStep = true
                    record.skipped = foundInf
                    record.growthTracker = scaler?.tracker ?? 0
                    for k in grad.indices { grad[k] = [Double](repeating: 0, count: grad[k].count) }
                    windowOverflow = false
                    lastOptimizerStep = ni
                }
                record.parameters = p
                steps.append(record)
            }
            if isLambda {
                lastEpoch += 1
                lr = initialLR.map { $0 * lf(Double(lastEpoch)) }
            }
        }
        return steps
    }

    /// The network's summed cross-entropy over `rows` and the gradient of `scale` times it, with
    /// respect to the six tensors (in `networkTensors` order), by hand:
    ///
    ///     z1 = W1 x + b1; xhat = (z1 - mean) / sqrt(var + eps) (biased variance); y = gamma xhat + beta
    ///     a = tanh(y); z2 = W2 a + b2; loss = logsumexp(z2) - z2[label]
    ///     dz2 = s (softmax(z2) - onehot); dW2 = dz2 a^T; db2 = dz2; da = W2^T dz2; dy = da (1 - a^2)
    ///     dgamma = dy xhat; dbeta = dy; dxhat = dy gamma
    ///     dz1 = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / sqrt(var + eps); dW1 = dz1 x^T; db1 = dz1
    ///
    /// `halfMax` is the largest |value| among the gradients amp holds in binary16: dz2, da, dz1
    /// per row and the Linear layers' dW and db of the batch.
    public static func batchGradient(_ p: [[Double]], rows: [(x: [Double], label: Int)], inputs d: Int, hidden h: Int,
                                     classes c: Int, epsilon: Double, scale s: Double) -> (lossSum: Double, gradient: [[Double]], halfMax: Double) {
        var lossSum = 0.0, halfMax = 0.0
        var dW2 = [Double](repeating: 0, count: c * h), db2 = [Double](repeating: 0, count: c)
        var dW1 = [Double](repeating: 0, count: h * d), db1 = [Double](repeating: 0, count: h)
        var dGamma = [Double](repeating: 0, count: h), dBeta = [Double](repeating: 0, count: h)
        for (x, label) in rows {
            let z1 = (0..<h).map { u in (0..<d).reduce(p[1][u]) { $0 + p[0][u * d + $1] * x[$1] } }
            let mu = z1.reduce(0, +) / Double(h)
            let variance = z1.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(h)
            let sigma = (variance + epsilon).squareRoot()
            let xhat = z1.map { ($0 - mu) / sigma }
            let a = (0..<h).map { tanh(p[2][$0] * xhat[$0] + p[3][$0]) }
            let z2 = (0..<c).map { k in (0..<h).reduce(p[5][k]) { $0 + p[4][k * h + $1] * a[$1] } }
            let m = z2.max()!
            let e = z2.map { exp($0 - m) }
            let total = e.reduce(0, +)
            lossSum += log(total) + m - z2[label]
            let dz2 = (0..<c).map { k in s * (e[k] / total - (k == label ? 1 : 0)) }
            for k in 0..<c {
                db2[k] += dz2[k]
                for u in 0..<h { dW2[k * h + u] += dz2[k] * a[u] }
            }
            let da = (0..<h).map { u in (0..<c).reduce(0) { $0 + p[4][$1 * h + u] * dz2[$1] } }
            let dy = (0..<h).map { da[$0] * (1 - a[$0] * a[$0]) }
            for u in 0..<h { dGamma[u] += dy[u] * xhat[u]; dBeta[u] += dy[u] }
            let dxhat = (0..<h).map { dy[$0] * p[2][$0] }
            let meanD = dxhat.reduce(0, +) / Double(h)
            let meanDX = (0..<h).reduce(0) { $0 + dxhat[$1] * xhat[$1] } / Double(h)
            let dz1 = (0..<h).map { (dxhat[$0] - meanD - xhat[$0] * meanDX) / sigma }
            for u in 0..<h {
                db1[u] += dz1[u]
                for f in 0..<d { dW1[u * d + f] += dz1[u] * x[f] }
            }
            halfMax = max(halfMax, dz2.map(abs).max()!, da.map(abs).max()!, dz1.map(abs).max()!)
        }
        halfMax = max(halfMax, (dW1 + db1 + dW2 + db2).map(abs).max()!)
        return (lossSum, [dW1, db1, dGamma, dBeta, dW2, db2], halfMax)
    }

    /// SGD with Nesterov momentum, one element: g += wd p; buf = g (first) or mu buf + g;
    /// g += mu buf; p -= lr g.
    static func sgdStep(_ p: inout Double, _ grad: Double, _ buffer: inout Double, isFirst: Bool, lr: Double, momentum: Double,
                        weightDecay: Double) {
        var g = grad + weightDecay * p
        buffer = isFirst ? g : momentum * buffer + g
        g = g + momentum * buffer
        p -= lr * g
    }

    /// Adam / AdamW, one element at step t: decay as L2 (Adam) or p *= 1 - lr wd (AdamW);
    /// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2 (b2 = 0.999);
    /// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) (eps = 1e-8).
    static func adamStep(_ p: inout Double, _ grad: Double, _ m: inout Double, _ v: inout Double, t: Int, lr: Double, beta1: Double,
                         weightDecay: Double, decoupled: Bool) {
        let beta2 = 0.999, eps = 1e-8
        var g = grad
        if decoupled { p *= 1 - lr * weightDecay } else { g += weightDecay * p }
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        let denominator = v.squareRoot() / (1 - pow(beta2, Double(t))).squareRoot() + eps
        p -= lr / (1 - pow(beta1, Double(t))) * m / denominator
    }

    /// The GradScaler's state for the update rule (see `scaler(foundInf:rule:)`).
    struct ScalerState {
        let rule: ScalerRule
        var scale: Double
        var tracker = 0
        var budget: Int

        init(_ rule: ScalerRule) {
            self.rule = rule
            scale = Double(Float(rule.initScale))
            budget = rule.hysteresis
        }

        mutating func update(foundInf inf: Bool) {
            if inf {
                tracker = 0
                budget -= 1
                if budget <= 0 {
                    budget = 0
                    var s = Double(Float(scale * rule.backoffFactor))
                    if let m = rule.minScale { s = max(s, Double(Float(m))) }
                    scale = s
                }
            } else {
                if rule.refillOnCleanStep { budget = rule.hysteresis }
                tracker += 1
                if tracker == rule.growthInterval {
                    var g = Double(Float(scale * rule.growthFactor))
                    if let m = rule.maxScale { g = min(g, Double(Float(m))) }
                    if g.isFinite {
                        if g > scale { budget = rule.hysteresis }
                        scale = g
                    }
                    tracker = 0
                }
            }
        }
    }

    /// `x` rounded to IEEE binary16 (nearest, ties to even; overflow to infinity at 65520;
    /// gradual underflow), written here from the format's definition.
    public static func binary16(_ x: Double) -> Double {
        guard x.isFinite else { return x }
        let a = abs(x)
        if a >= 65520 { return x < 0 ? -.infinity : .infinity }
        // quantum: 2^-24 below the smallest normal 2^-14, else 2^(exponent - 10) (11-bit significand)
        let quantum = a < 0x1p-14 ? 0x1p-24 : Double(sign: .plus, exponent: a.exponent - 10, significand: 1)
        let rounded = (a / quantum).rounded(.toNearestOrEven) * quantum
        return x < 0 ? -rounded : rounded
    }

    /// The warm-up + restarts schedule at epoch t: `warmupEpochs` of linear warm-up from 0 to the
    /// schedule's first value, then SGDR with cycle n's peak base * decay^n, a linear re-warm-up of
    /// `restartWarmup` epochs at the start of every restarted cycle, and eta_min from cycle
    /// `cycleLimit` on. Cycles are found by walking the cycle lengths in integers.
    public static func sgdrWarmup(_ t: Double, warmupEpochs w: Double, baseLR: Double, etaMin: Double, t0: Int, tMult: Int,
                                  cycleDecay: Double, restartWarmup rw: Double, cycleLimit: Int?) -> Double {
        func schedule(_ u: Double) -> Double {
            var start = 0, length = t0, n = 0
            let whole = Int(u.rounded(.down))
            while start + length <= whole {
                start += length
                length *= tMult
                n += 1
            }
            let tCur = u - Double(start), tI = Double(length)
            if let cycleLimit, n >= cycleLimit { return etaMin }
            let peak = n == 0 ? baseLR : baseLR * pow(cycleDecay, Double(n))
            if n >= 1 && rw > 0 {
                if tCur < rw { return etaMin + (peak - etaMin) * tCur / rw }
                return etaMin + (peak - etaMin) * (1 + cos(Double.pi * (tCur - rw) / (tI - rw))) / 2
            }
            return etaMin + (peak - etaMin) * (1 + cos(Double.pi * tCur / tI)) / 2
        }
        if t < w { return 0 + (schedule(0) - 0) * t / w }
        return schedule(t - w)
    }
}
