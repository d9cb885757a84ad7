import HalfTraceKernels
import HalfTraceOptim
import HalfTraceReference

/// numpy.interp on knots xp, fp at points x: columns x, y.
struct InterpScenario: Scenario {
    let xp: [Double], fp: [Double], x: [Double]
    init(_ c: ConfigReader) throws {
        xp = try c.doubles("xp", count: 1...10_000, each: -1e300...1e300)
        fp = try c.doubles("fp", count: xp.count...xp.count, each: -1e300...1e300)
        x = try c.doubles("x", count: 0...1_000_000, each: -1e300...1e300)
        _ = try Interpolation(xp: xp, fp: fp)
    }
    var columns: [GoldenColumn] {
        var y = GoldenColumn("y", .formula, label: "y = interp(x)")
        y.samples = true  // np.interp has kinks at every xp between these x
        return [GoldenColumn("x", .key, label: "x"), y]
    }
    func run(_: RunCache) throws -> EngineRun {
        let f = try Interpolation(xp: xp, fp: fp)
        return EngineRun(rows: x.map { [$0, f($0)] })
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        ["y": x.map { Reference.interp($0, xp, fp) }]
    }
}

/// YOLOv5's one_cycle and linear multipliers through LambdaLR (lr0 = 1): columns epoch, cosine, linear.
struct LambdaScenario: Scenario {
    let epochs: Int, lrf: Double
    init(_ c: ConfigReader) throws { epochs = try c.int("epochs", in: 1...1_000_000); lrf = try c.double("lrf", in: 0...10) }
    var columns: [GoldenColumn] {
        [GoldenColumn("epoch", .key, label: "epoch"), GoldenColumn("cosine", .formula, label: "lr multiplier (one_cycle)"),
         GoldenColumn("linear", .formula, label: "lr multiplier (linear)")]
    }
    func run(_: RunCache) throws -> EngineRun {
        let cos = try ScheduleTraces.lambda(cosine: true, lr0: 1, lrf: lrf, epochs: epochs)
        let lin = try ScheduleTraces.lambda(cosine: false, lr0: 1, lrf: lrf, epochs: epochs)
        return EngineRun(rows: zip(cos.rows, lin.rows).map { [$0[0], $0[1], $1[1]] })
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let e = Double(epochs)
        return ["cosine": (0..<epochs).map { Reference.oneCycle(Double($0), y1: 1, y2: lrf, steps: e) },
                "linear": (0..<epochs).map { Reference.linear(Double($0), epochs: e, lrf: lrf) }]
    }
}

/// YOLOv5's warm-up per iteration: iteration, epoch, lr per group, momentum, accumulate.
struct WarmupScenario: Scenario {
    let hyp: ScheduleHyperparameters
    let epochs: Int, nb: Int, batchSize: Int, nbs: Int, cosine: Bool, lag: Bool

    var figureNote: String? {
        lag ? "train.py's lag moves the lr by at most 0.001 here, too little for this axis: warmup_formula_vs_lag draws the difference" : nil
    }
    init(_ c: ConfigReader) throws {
        hyp = try c.hyperparameters()
        epochs = try c.int("epochs", in: 1...100_000); nb = try c.int("nb", in: 1...1_000_000)
        batchSize = try c.int("batch_size", in: 1...100_000); nbs = try c.int("nbs", in: 1...100_000)
        try HalfTraceError.check("config.nb", epochs * nb, in: 1...ScheduleTraces.maximumRows)
        cosine = try c.bool("cos_lr"); lag = try c.bool("yolov5_lag")
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("iteration", .key, label: "iteration"), GoldenColumn("epoch", .key, label: "epoch"),
         GoldenColumn("lr_bias", .formula, label: "learning rate"), GoldenColumn("lr_weight", .formula, label: "learning rate"),
         GoldenColumn("lr_bn", .formula, label: "learning rate"), GoldenColumn("momentum", .formula, label: "momentum"),
         GoldenColumn("accumulate", .formula, label: "accumulated batches")]
    }
    func run(_: RunCache) throws -> EngineRun {
        EngineRun(rows: try ScheduleTraces.warmup(hyp: hyp, epochs: epochs, nb: nb, batchSize: batchSize, nbs: nbs, cosine: cosine, lag: lag).rows)
    }
    var markers: [ScenarioMarker] {
        let nw = Reference.warmupIterations(warmupEpochs: hyp.warmupEpochs, nb: nb)
        return [ScenarioMarker(x: Double(nw), label: "end of warm-up (nw = \(nw))")]
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let h = Reference.WarmupHyperparameters(hyp)
        let rows = engineRows.map { r in
            Reference.warmup(ni: Int(r[0]), epoch: Int(r[1]), nb: nb, epochs: epochs, batchSize: batchSize, nbs: nbs,
                             hyp: h, cosine: cosine, lag: lag)
        }
        return ["lr_bias": rows.map { $0.lr[0] }, "lr_weight": rows.map { $0.lr[1] }, "lr_bn": rows.map { $0.lr[2] },
                "momentum": rows.map(\.momentum), "accumulate": rows.map { Double($0.accumulate) }]
    }
}

/// YOLOv5's accumulate ramp during warm-up, with its half-even roundings: iteration, accumulate.
struct AccumulateRampScenario: Scenario {
    let nb: Int, batchSize: Int, nbs: Int, warmupEpochs: Double, iterations: Int
    init(_ c: ConfigReader) throws {
        nb = try c.int("nb", in: 1...1_000_000); batchSize = try c.int("batch_size", in: 1...100_000)
        nbs = try c.int("nbs", in: 1...100_000); warmupEpochs = try c.double("warmup_epochs", in: 0...1000)
        iterations = try c.int("iterations", in: 1...ScheduleTraces.maximumRows)
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("iteration", .key, label: "iteration"), GoldenColumn("accumulate", .formula, label: "accumulated batches")]
    }
    func run(_: RunCache) throws -> EngineRun {
        var hyp = ScheduleHyperparameters()
        hyp.warmupEpochs = warmupEpochs
        let optimizer = try yolov5Optimizer(.sgd, biases: [], weights: [], normWeights: [], hyp: hyp, batchSize: batchSize,
                                            nominalBatchSize: nbs)
        var warmup = try YOLOv5Schedule(optimizer: optimizer, hyp: hyp, epochs: iterations / nb + 1, batchesPerEpoch: nb,
                                      batchSize: batchSize, nominalBatchSize: nbs)
        return EngineRun(rows: (0..<iterations).map { ni in
            warmup.beforeBatch(iteration: ni, epoch: ni / nb, batch: ni % nb, optimizer: optimizer)
            return [Double(ni), Double(warmup.accumulate)]
        })
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let nw = Reference.warmupIterations(warmupEpochs: warmupEpochs, nb: nb)
        return ["accumulate": (0..<iterations).map { Double(Reference.accumulate(ni: $0, nw: nw, nbs: nbs, batchSize: batchSize)) }]
    }
    var markers: [ScenarioMarker] {
        let nw = Reference.warmupIterations(warmupEpochs: warmupEpochs, nb: nb)
        return nw < iterations ? [ScenarioMarker(x: Double(nw), label: "warm-up ends (nw \(nw)): accumulate = round(nbs / batch)")] : []
    }
    var figureNote: String? {
        "target nbs / batch = \(nbs) / \(batchSize) = \(Double(nbs) / Double(batchSize)); np.interp(ni, [0, nw], [1, target]).round(), half to even"
    }
}

/// SGDR stepped with step(epoch:) at e + i / steps: step, epoch, lr, and PyTorch's lr (info).
struct SGDRScenario: Scenario {
    let lr: Double, t0: Int, tMult: Int, etaMin: Double, epochs: Int, stepsPerEpoch: Int
    init(_ c: ConfigReader) throws {
        lr = try c.double("lr", in: 0...1e12); t0 = try c.int("t0", in: 1...1_000_000); tMult = try c.int("t_mult", in: 1...1_000_000)
        etaMin = try c.double("eta_min", in: -1e12...1e12)
        epochs = try c.int("epochs", in: 1...1_000_000); stepsPerEpoch = try c.int("steps_per_epoch", in: 1...1_000_000)
        try HalfTraceError.check("config.steps_per_epoch", epochs * stepsPerEpoch, in: 1...ScheduleTraces.maximumRows)
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("step", .key, label: "scheduler step"), GoldenColumn("epoch", .key, label: "epoch"),
         GoldenColumn("lr", .formula, label: "learning rate"), GoldenColumn("pytorch_lr", .info, label: "PyTorch 2.15 learning rate")]
    }
    func run(_: RunCache) throws -> EngineRun {
        EngineRun(rows: try ScheduleTraces.sgdr(lr: lr, t0: t0, tMult: tMult, etaMin: etaMin, epochs: epochs, stepsPerEpoch: stepsPerEpoch)
            .rows.map { $0 + [$0[2]] })
    }
    var markers: [ScenarioMarker] {
        Reference.restartEpochs(t0: t0, tMult: tMult, below: Double(epochs)).map { ScenarioMarker(x: $0, label: "restart \(Int($0))") }
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        ["lr": engineRows.map { Reference.sgdr(epoch: $0[1], baseLR: lr, etaMin: etaMin, t0: t0, tMult: tMult) },
         "pytorch_lr": engineRows.map { Reference.sgdrPyTorch(epoch: $0[1], baseLR: lr, etaMin: etaMin, t0: t0, tMult: tMult) }]
    }
}

/// The warm-up + restarts schedule (`Warmup<SGDRSchedule>`: linear warm-up, per-cycle peak decay,
/// re-warm-up after each restart, a cycle limit) at e + i / steps: step, epoch, lr.
struct SGDRWarmupScenario: Scenario {
    let lr: Double, warmupEpochs: Double, restarts: RestartOptions, epochs: Int, stepsPerEpoch: Int
    init(_ c: ConfigReader) throws {
        lr = try c.double("lr", in: 0...1e12); warmupEpochs = try c.double("warmup_epochs", in: 0...1000)
        var o = RestartOptions()
        o.t0 = try c.int("t0", in: 1...1_000_000); o.tMult = try c.int("t_mult", in: 1...1_000_000)
        o.etaMin = try c.double("eta_min", in: 0...1e12); o.cycleDecay = try c.double("cycle_decay", in: 0...1)
        o.restartWarmup = try c.double("restart_warmup", in: 0...1e6)
        let limit = try c.int("cycle_limit", in: 0...1_000_000)
        o.cycleLimit = limit == 0 ? nil : limit
        restarts = o
        epochs = try c.int("epochs", in: 1...1_000_000); stepsPerEpoch = try c.int("steps_per_epoch", in: 1...1_000_000)
        try ScheduleTraces.validateSGDRWarmup(lr: lr, warmupEpochs: warmupEpochs, restarts: o, epochs: epochs, stepsPerEpoch: stepsPerEpoch)
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("step", .key, label: "scheduler step"), GoldenColumn("epoch", .key, label: "epoch"),
         GoldenColumn("lr", .formula, label: "learning rate")]
    }
    var markers: [ScenarioMarker] {
        // Cycle k starts at the k-th restart epoch; from cycle_limit on the lr stays at eta_min.
        let starts = Reference.restartEpochs(t0: restarts.t0, tMult: restarts.tMult, below: Double(epochs) - warmupEpochs)
        return [ScenarioMarker(x: warmupEpochs, label: "end of warm-up")]
            + starts.enumerated().map { k, e in
                let limited = restarts.cycleLimit.map { k + 1 >= $0 } ?? false
                return ScenarioMarker(x: e + warmupEpochs, label: limited ? "cycle limit: eta_min from here" : "restart \(k + 1)")
            }
    }
    func run(_: RunCache) throws -> EngineRun {
        EngineRun(rows: try ScheduleTraces.sgdrWarmup(lr: lr, warmupEpochs: warmupEpochs, restarts: restarts, epochs: epochs,
                                                      stepsPerEpoch: stepsPerEpoch).rows)
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let o = restarts
        return ["lr": engineRows.map {
            Reference.sgdrWarmup($0[1], warmupEpochs: warmupEpochs, baseLR: lr, etaMin: o.etaMin, t0: o.t0, tMult: o.tMult,
                                 cycleDecay: o.cycleDecay, restartWarmup: o.restartWarmup, cycleLimit: o.cycleLimit)
        }]
    }
}

/// SGDR at the restart epochs where PyTorch's floating-point log picks the previous cycle, with
/// the epochs either side: t0, t_mult, epoch, lr, pytorch_lr (info).
struct SGDRRestartsScenario: Scenario {
    let cases: [(t0: Int, tMult: Int, epoch: Int)], lr: Double, etaMin: Double
    init(_ c: ConfigReader) throws {
        lr = try c.double("lr", in: 0...1e12); etaMin = try c.double("eta_min", in: -1e12...1e12)
        cases = try (try c.string("cases")).split(separator: ",").prefix(10_001).map { item in
            let p = item.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
            guard p.count == 3, let t0 = p[0], let tMult = p[1], let epoch = p[2], (1...1_000_000).contains(t0),
                  (1...1_000_000).contains(tMult), (1...1_000_000_000).contains(epoch) else {
                throw HalfTraceError.invalid("config.cases", "'\(item.prefix(40))' is not T0:TMULT:EPOCH with T0, TMULT in 1...1000000 and EPOCH in 1...1000000000")
            }
            return (t0, tMult, epoch)
        }
        guard (1...10_000).contains(cases.count) else { throw HalfTraceError.invalid("config.cases", "expected 1...10000 cases") }
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("t0", .key, label: "T_0"), GoldenColumn("t_mult", .key, label: "T_mult"), GoldenColumn("epoch", .key, label: "epoch"),
         GoldenColumn("lr", .formula, label: "learning rate"), GoldenColumn("pytorch_lr", .info, label: "PyTorch 2.15 learning rate")]
    }
    var points: [(Int, Int, Double)] { cases.flatMap { c in [-1, 0, 1].map { (c.t0, c.tMult, Double(c.epoch + $0)) } } }
    func run(_: RunCache) throws -> EngineRun {
        EngineRun(rows: try points.map { t0, tMult, epoch in
            var s = try CosineWarmRestarts(baseLRs: [lr], t0: t0, tMult: tMult, etaMin: etaMin)
            try s.step(epoch: epoch)
            return [Double(t0), Double(tMult), epoch, s.learningRates[0], s.learningRates[0]]
        })
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        ["lr": points.map { Reference.sgdr(epoch: $0.2, baseLR: lr, etaMin: etaMin, t0: $0.0, tMult: $0.1) },
         "pytorch_lr": points.map { Reference.sgdrPyTorch(epoch: $0.2, baseLR: lr, etaMin: etaMin, t0: $0.0, tMult: $0.1) }]
    }
}

/// An optimizer on f(w) = 0.5 sum a_i w_i^2 in Float64: step, w0, w1, ... (normwise tolerance:
/// the engine fuses multiply-adds as PyTorch does, the Reference writes the formula plainly).
struct QuadraticScenario: Scenario {
    let kind: OptimizerKind, a: [Double], w0: [Double], group: ParamGroup, steps: Int
    init(_ c: ConfigReader) throws {
        kind = try c.choice("optimizer", OptimizerKind.self)
        a = try c.doubles("a", count: 1...10_000, each: -1e6...1e6)
        w0 = try c.doubles("w0", count: a.count...a.count, each: -1e6...1e6)
        steps = try c.int("steps", in: 1...1_000_000)
        group = ParamGroup(params: [], lr: try c.double("lr", in: 0...1e6), momentum: try c.double("momentum", in: 0...1),
                           beta2: try c.double("beta2", in: 0...1), dampening: try c.double("dampening", in: 0...1),
                           weightDecay: try c.double("weight_decay", in: 0...1e6), nesterov: try c.bool("nesterov"),
                           eps: try c.double("eps", in: 0...1))
        try HalfTraceError.check("config.steps", steps * a.count, in: 1...10_000_000)
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("step", .key, label: "optimizer step")]
            + w0.indices.map { GoldenColumn("w\($0)", .formula, .normwise(1e-12), label: "parameter") }
    }
    func run(_: RunCache) throws -> EngineRun {
        EngineRun(rows: try ScheduleTraces.quadratic(kind, a: a, w0: w0, group: group, steps: steps).rows)
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let rows = kind == .sgd
            ? Reference.sgdQuadratic(a: a, w0: w0, lr: group.lr, momentum: group.momentum, dampening: group.dampening,
                                     weightDecay: group.weightDecay, nesterov: group.nesterov, steps: steps)
            : Reference.adamQuadratic(a: a, w0: w0, lr: group.lr, beta1: group.momentum, beta2: group.beta2, eps: group.eps,
                                      weightDecay: group.weightDecay, decoupled: kind == .adamw, steps: steps)
        var out: [String: [Double]] = [:]
        for i in w0.indices { out["w\(i)"] = rows.map { $0[i] } }
        return out
    }
}
