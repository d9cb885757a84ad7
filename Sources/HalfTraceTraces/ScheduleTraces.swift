import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceOptim

/// Traces of the stateful schedule and optimizer objects (`halftrace trace KIND`). Each runs the
/// real object, never a second copy of its formula.
public enum ScheduleTraces {
    /// SGDR stepped with `step(epoch:)` at epoch e + i / stepsPerEpoch: columns step, epoch, lr.
    public static func sgdr(lr: Double, t0: Int, tMult: Int, etaMin: Double, epochs: Int, stepsPerEpoch: Int) throws -> Trace {
        try validateSGDR(lr: lr, t0: t0, tMult: tMult, etaMin: etaMin, epochs: epochs, stepsPerEpoch: stepsPerEpoch)
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

    /// Refuses what `sgdr` would refuse, without computing the trace.
    public static func validateSGDR(lr: Double, t0: Int, tMult: Int, etaMin: Double, epochs: Int, stepsPerEpoch: Int) throws {
        try validatePositive("epochs", epochs)
        try validatePositive("steps_per_epoch", stepsPerEpoch)
        try validatePositive("steps_per_epoch", product(epochs, stepsPerEpoch))
        _ = try CosineWarmRestarts(baseLRs: [lr], t0: t0, tMult: tMult, etaMin: etaMin)
    }

    /// LambdaLR with YOLOv5's multiplier: columns epoch, lr (the lr in effect during each epoch).
    public static func lambda(cosine: Bool, lr0: Double, lrf: Double, epochs: Int) throws -> Trace {
        try validateLambda(cosine: cosine, lr0: lr0, lrf: lrf, epochs: epochs)
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

    /// The warm-up + restarts schedule (`Warmup<SGDRSchedule>`) at epoch e + i / stepsPerEpoch:
    /// columns step, epoch, lr.
    public static func sgdrWarmup(lr: Double, warmupEpochs: Double, restarts o: RestartOptions, epochs: Int,
                                  stepsPerEpoch: Int) throws -> Trace {
        try validateSGDRWarmup(lr: lr, warmupEpochs: warmupEpochs, restarts: o, epochs: epochs, stepsPerEpoch: stepsPerEpoch)
        let schedule = try Warmup(epochs: warmupEpochs, startLR: 0,
                                  SGDRSchedule(baseLR: lr, etaMin: o.etaMin, t0: o.t0, tMult: o.tMult, cycleDecay: o.cycleDecay,
                                               restartWarmup: o.restartWarmup, cycleLimit: o.cycleLimit))
        var trace = Trace(comments: ["sgdr-warmup lr=\(lr) warmup_epochs=\(warmupEpochs) t0=\(o.t0) t_mult=\(o.tMult) eta_min=\(o.etaMin) cycle_decay=\(o.cycleDecay) restart_warmup=\(o.restartWarmup) cycle_limit=\(o.cycleLimit.map(String.init) ?? "none") epochs=\(epochs) steps_per_epoch=\(stepsPerEpoch)"],
                          columns: ["step", "epoch", "lr"], integerColumns: ["step"])
        for e in 0..<epochs {
            for i in 0..<stepsPerEpoch {
                let epoch = Double(e) + Double(i) / Double(stepsPerEpoch)
                trace.append([Double(e * stepsPerEpoch + i), epoch, schedule(epoch)])
            }
        }
        return trace
    }

    /// Refuses what `sgdrWarmup` would refuse, without computing the trace.
    public static func validateSGDRWarmup(lr: Double, warmupEpochs: Double, restarts o: RestartOptions, epochs: Int,
                                          stepsPerEpoch: Int) throws {
        try validatePositive("epochs", epochs)
        try validatePositive("steps_per_epoch", stepsPerEpoch)
        try validatePositive("steps_per_epoch", product(epochs, stepsPerEpoch))
        _ = try Warmup(epochs: warmupEpochs, startLR: 0,
                       SGDRSchedule(baseLR: lr, etaMin: o.etaMin, t0: o.t0, tMult: o.tMult, cycleDecay: o.cycleDecay,
                                    restartWarmup: o.restartWarmup, cycleLimit: o.cycleLimit))
    }

    /// Refuses what `lambda` would refuse, without computing the trace.
    public static func validateLambda(cosine: Bool, lr0: Double, lrf: Double, epochs: Int) throws {
        try validatePositive("epochs", epochs)
        try HalfTraceError.check("lr0", lr0, atLeast: 0)
        _ = try YOLOv5Multiplier(cosine: cosine, epochs: epochs, lrf: lrf)
    }

    /// YOLOv5's warm-up over three parameter groups (SGD, as train.py builds it): columns
    /// iteration, epoch, lr_bias, lr_weight, lr_bn, momentum, accumulate, the values in effect for
    /// each iteration's batch after its warm-up block.
    public static func warmup(hyp: ScheduleHyperparameters, epochs: Int, nb: Int, batchSize: Int, nbs: Int,
                              cosine: Bool, lag: Bool) throws -> Trace {
        try validateWarmup(hyp: hyp, epochs: epochs, nb: nb, batchSize: batchSize, nbs: nbs, cosine: cosine)
        let optimizer = try yolov5Optimizer(.sgd, biases: [], weights: [], normWeights: [], hyp: hyp, batchSize: batchSize,
                                            nominalBatchSize: nbs)
        var warmup = try YOLOv5Schedule(optimizer: optimizer, hyp: hyp, epochs: epochs, batchesPerEpoch: nb,
                                        batchSize: batchSize, nominalBatchSize: nbs, kind: cosine ? .onecycle : .linear, lag: lag)
        var trace = Trace(comments: ["warmup lr0=\(hyp.lr0) lrf=\(hyp.lrf) epochs=\(epochs) nb=\(nb) batch_size=\(batchSize) nbs=\(nbs) warmup_epochs=\(hyp.warmupEpochs) warmup_bias_lr=\(hyp.warmupBiasLR) warmup_momentum=\(hyp.warmupMomentum) momentum=\(hyp.momentum) cos_lr=\(cosine) yolov5_lag=\(lag) nw=\(warmup.warmupIterations)"],
                          columns: ["iteration", "epoch", "lr_bias", "lr_weight", "lr_bn", "momentum", "accumulate"],
                          integerColumns: ["iteration", "epoch", "accumulate"])
        for epoch in 0..<epochs {
            for i in 0..<nb {
                let ni = i + nb * epoch
                warmup.beforeBatch(iteration: ni, epoch: epoch, batch: i, optimizer: optimizer)
                let g = optimizer.groups
                trace.append([Double(ni), Double(epoch), g[0].lr, g[1].lr, g[2].lr, g[1].momentum, Double(warmup.accumulate)])
            }
            warmup.afterEpoch(optimizer: optimizer)
        }
        return trace
    }

    /// Refuses what `warmup` would refuse, without computing the trace.
    public static func validateWarmup(hyp: ScheduleHyperparameters, epochs: Int, nb: Int, batchSize: Int, nbs: Int, cosine: Bool) throws {
        try validatePositive("epochs", epochs)
        try validatePositive("nb", nb)
        try validatePositive("nb", product(epochs, nb))
        try hyp.validate()
        try HalfTraceError.check("batch_size", batchSize, in: 1...1_000_000)
        try HalfTraceError.check("nominal_batch_size", nbs, in: 1...1_000_000)
        _ = try YOLOv5Multiplier(cosine: cosine, epochs: epochs, lrf: hyp.lrf)
    }

    /// An optimizer on f(w) = 0.5 * sum(a_i w_i^2) in Float64, the gradient from the engine's
    /// backward pass (exactly a_i * w_i): columns step, w0, w1, ..., the parameters after each step.
    public static func quadratic(_ kind: OptimizerKind, a: [Double], w0: [Double], group: ParamGroup, steps: Int) throws -> Trace {
        try validateQuadratic(kind, a: a, w0: w0, group: group, steps: steps)
        let w = Tensor(w0, dtype: .float64, requiresGrad: true)
        let coefficients = Tensor(a, dtype: .float64)
        var g = group
        g.params = [w]
        let optimizer = try makeOptimizer(kind, g)
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

    static func makeOptimizer(_ kind: OptimizerKind, _ g: ParamGroup) throws -> Optimizer {
        switch kind {
        case .sgd: try SGD(groups: [g])
        case .adam: try Adam(groups: [g], decoupled: false)
        case .adamw: try Adam(groups: [g], decoupled: true)
        }
    }

    /// Refuses what `quadratic` would refuse, without computing the trace.
    public static func validateQuadratic(_ kind: OptimizerKind, a: [Double], w0: [Double], group: ParamGroup, steps: Int) throws {
        guard !a.isEmpty, a.count == w0.count else {
            throw HalfTraceError.invalid("a", "needs one coefficient per element of w0 (\(a.count) vs \(w0.count))")
        }
        for (i, v) in (a + w0).enumerated() where !v.isFinite {
            throw HalfTraceError.invalid(i < a.count ? "a" : "w0", "\(v) is not a finite number")
        }
        try validatePositive("steps", steps)
        try validatePositive("steps", product(steps, a.count))
        _ = try makeOptimizer(kind, group)
    }

    /// Traces are printed whole: more than ten million rows is refused rather than run for hours.
    public static let maximumRows = 10_000_000

    /// a * b, or Int.max when it overflows (so that the row limit refuses it).
    static func product(_ a: Int, _ b: Int) -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : p
    }

    static func validatePositive(_ name: String, _ value: Int) throws {
        guard value >= 1 else { throw HalfTraceError.invalid(name, "\(value) is invalid: expected an integer >= 1") }
        guard value <= maximumRows else { throw HalfTraceError.invalid(name, "\(value) is too large: a trace has at most \(maximumRows) rows") }
    }
}
