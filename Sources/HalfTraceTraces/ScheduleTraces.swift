import HalfTraceAutograd
import HalfTraceOptim

/// Traces of the stateful schedule and optimizer objects (`halftrace trace KIND`). Each runs the
/// real object, never a second copy of its formula.
public enum ScheduleTraces {
    /// SGDR stepped with `step(epoch:)` at epoch e + i / stepsPerEpoch: columns step, epoch, lr.
    public static func sgdr(lr: Double, t0: Int, tMult: Int, etaMin: Double, epochs: Int, stepsPerEpoch: Int) throws -> Trace {
        try validatePositive("epochs", epochs)
        try validatePositive("steps-per-epoch", stepsPerEpoch)
        try validatePositive("steps-per-epoch", epochs * stepsPerEpoch)
        var s = try CosineWarmRestarts(baseLRs: [lr], t0: t0, tMult: tMult, etaMin: etaMin)
        var trace = Trace(comments: ["sgdr lr=\(lr) t0=\(t0) t_mult=\(tMult) eta_min=\(etaMin) epochs=\(epochs) steps_per_epoch=\(stepsPerEpoch)"],
                          columns: ["step", "epoch", "lr"], integerColumns: ["step"])
        for e in 0..<epochs {
            for i in 0..<stepsPerEpoch {
                let epoch = Double(e) + Double(i) / Double(stepsPerEpoch)
                try s.step(epoch: epoch)
                trace.append([Double(e * stepsPerEpoch + i), epoch, s.learningRates[0]])
            }
        }
        return trace
    }

    /// LambdaLR with YOLOv5's multiplier: columns epoch, lr (the lr in effect during each epoch).
    public static func lambda(cosine: Bool, lr0: Double, lrf: Double, epochs: Int) throws -> Trace {
        try validatePositive("epochs", epochs)
        try ParameterError.check("lr0", lr0, atLeast: 0)
        let optimizer = try SGD(groups: [ParamGroup(params: [], lr: lr0)])
        var scheduler = LambdaLR(optimizer: optimizer, lambda: try YOLOv5Multiplier(cosine: cosine, epochs: epochs, lrf: lrf))
        var trace = Trace(comments: ["\(cosine ? "onecycle" : "linear") lr0=\(lr0) lrf=\(lrf) epochs=\(epochs)"],
                          columns: ["epoch", "lr"], integerColumns: ["epoch"])
        for e in 0..<epochs {
            trace.append([Double(e), optimizer.groups[0].lr])
            scheduler.step(optimizer)
        }
        return trace
    }

    /// YOLOv5's warm-up over three parameter groups (SGD, as train.py builds it): columns
    /// iteration, epoch, lr_bias, lr_weight, lr_bn, momentum, accumulate, the values in effect for
    /// each iteration's batch after its warm-up block.
    public static func warmup(hyp: ScheduleHyperparameters, epochs: Int, nb: Int, batchSize: Int, nbs: Int,
                              cosine: Bool, lag: Bool) throws -> Trace {
        try validatePositive("epochs", epochs)
        try validatePositive("nb", nb)
        try validatePositive("nb", epochs * nb)
        let optimizer = try yolov5Optimizer(hyp: hyp, batchSize: batchSize, nbs: nbs)
        var warmup = try YOLOv5Warmup(optimizer: optimizer, hyp: hyp, epochs: epochs, batchesPerEpoch: nb,
                                      batchSize: batchSize, nominalBatchSize: nbs, cosine: cosine, lag: lag)
        var trace = Trace(comments: ["warmup lr0=\(hyp.lr0) lrf=\(hyp.lrf) epochs=\(epochs) nb=\(nb) batch_size=\(batchSize) nbs=\(nbs) warmup_epochs=\(hyp.warmupEpochs) warmup_bias_lr=\(hyp.warmupBiasLR) warmup_momentum=\(hyp.warmupMomentum) momentum=\(hyp.momentum) cos_lr=\(cosine) yolov5_lag=\(lag) nw=\(warmup.warmupIterations)"],
                          columns: ["iteration", "epoch", "lr_bias", "lr_weight", "lr_bn", "momentum", "accumulate"],
                          integerColumns: ["iteration", "epoch", "accumulate"])
        for epoch in 0..<epochs {
            for i in 0..<nb {
                let ni = i + nb * epoch
                warmup.beforeBatch(iteration: ni, epoch: epoch, optimizer: optimizer)
                let g = optimizer.groups
                trace.append([Double(ni), Double(epoch), g[0].lr, g[1].lr, g[2].lr, g[1].momentum, Double(warmup.accumulate)])
            }
            warmup.afterEpoch(optimizer: optimizer)
        }
        return trace
    }

    /// An SGD optimizer with YOLOv5's three (here empty) groups: biases without decay, weights
    /// with the scaled decay, norm weights without decay; Nesterov momentum.
    public static func yolov5Optimizer(hyp: ScheduleHyperparameters, batchSize: Int, nbs: Int,
                                       groups: [[Tensor]] = [[], [], []]) throws -> SGD {
        try validatePositive("batch-size", batchSize)
        try validatePositive("nbs", nbs)
        let decay = YOLOv5Warmup.scaledWeightDecay(hyp.weightDecay, batchSize: batchSize, nominalBatchSize: nbs)
        return try SGD(groups: [
            ParamGroup(params: groups[0], lr: hyp.lr0, momentum: hyp.momentum, nesterov: true),
            ParamGroup(params: groups[1], lr: hyp.lr0, momentum: hyp.momentum, weightDecay: decay, nesterov: true),
            ParamGroup(params: groups[2], lr: hyp.lr0, momentum: hyp.momentum, nesterov: true),
        ])
    }

    public enum OptimizerKind: String, Sendable, CaseIterable {
        case sgd, adam, adamw
    }

    /// An optimizer on f(w) = 0.5 * sum(a_i w_i^2) in Float64, the gradient from the engine's
    /// backward pass (exactly a_i * w_i): columns step, w0, w1, ..., the parameters after each step.
    public static func quadratic(_ kind: OptimizerKind, a: [Double], w0: [Double], group: ParamGroup, steps: Int) throws -> Trace {
        guard !a.isEmpty, a.count == w0.count else {
            throw ParameterError("a", "needs one coefficient per element of --w0 (\(a.count) vs \(w0.count))")
        }
        for (i, v) in (a + w0).enumerated() where !v.isFinite {
            throw ParameterError(i < a.count ? "a" : "w0", "\(v) is not a finite number")
        }
        try validatePositive("steps", steps)
        let w = Tensor(w0, dtype: .float64, requiresGrad: true)
        let coefficients = Tensor(a, dtype: .float64)
        var g = group
        g.params = [w]
        let optimizer: Optimizer = switch kind {
        case .sgd: try SGD(groups: [g])
        case .adam: try Adam(groups: [g], decoupled: false)
        case .adamw: try Adam(groups: [g], decoupled: true)
        }
        var trace = Trace(comments: ["\(kind.rawValue) a=\(a) w0=\(w0) lr=\(g.lr) momentum/beta1=\(g.momentum) beta2=\(g.beta2) dampening=\(g.dampening) eps=\(g.eps) weight_decay=\(g.weightDecay) nesterov=\(g.nesterov) steps=\(steps)"],
                          columns: ["step"] + (0..<w0.count).map { "w\($0)" }, integerColumns: ["step"])
        for step in 1...steps {
            optimizer.zeroGrad()
            ((coefficients * w * w).sum() * 0.5).backward()
            optimizer.step()
            trace.append([Double(step)] + w.doubles)
        }
        return trace
    }

    /// Traces are printed whole: more than ten million rows is refused rather than run for hours.
    static let maximumRows = 10_000_000

    static func validatePositive(_ name: String, _ value: Int) throws {
        guard value >= 1 else { throw ParameterError(name, "\(value) is invalid: expected an integer >= 1") }
        guard value <= maximumRows else { throw ParameterError(name, "\(value) is too large: a trace has at most \(maximumRows) rows") }
    }
}
