import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim
import HalfTraceReference
import HalfTraceTraining

/// The real `Trainer` on the probe model against the Float64 reference trainer
/// (`Reference.train`), which shares no code with it: per iteration, every group's lr and
/// momentum, accumulate, whether the optimizer stepped, the weight decay applied, the loss, the
/// gradient norm before clipping, the loss scale, whether the step was skipped, the growth
/// tracker, and each parameter tensor's norm and first element.
///
/// In fp64 the engine stores float64, so every column is a formula column and agreement is to
/// rounding. In amp the engine's float16 arithmetic makes its loss, gradient norm and parameters
/// differ from the Float64 reference: those columns are snapshots, while the schedule and the
/// scaler (scale, skipped, growth tracker) stay formula columns: the reference decides each
/// overflow with its own binary16 rounding, and the scenario refuses to run unless every
/// decision is unambiguous (the largest half-precision gradient at least 16 times below or above
/// binary16's overflow threshold).
struct ReferenceTrainingScenario: Scenario {
    let training: TrainingConfig

    /// Tolerances for the fp64 columns the engine computes with other rounding than the
    /// reference (fused multiply-adds in the GEMM and the optimizers, the order of sums). See
    /// `tolerance(for:)`.
    static let lossTolerance = Tolerance.relative(1e-10)
    static let parameterTolerance = Tolerance.normwise(1e-10)

    init(_ c: ConfigReader) throws {
        var t = TrainingConfig()
        t.model = try c.choice("model", ToyModel.self)
        guard t.model == .probe else { throw HalfTraceError.invalid("config.model", "the reference trainer trains model probe") }
        t.precision = try c.choice("precision", Precision.self)
        guard t.precision == .fp64 || t.precision == .amp else {
            throw HalfTraceError.invalid("config.precision", "the reference is compared with fp64 (to rounding) or amp (its scaler)")
        }
        t.optimizer = try c.choice("optimizer", OptimizerKind.self)
        t.scheduler = try c.choice("scheduler", SchedulerKind.self)
        if t.scheduler == .pasted { throw HalfTraceError.invalid("config.scheduler", "the reference trainer has YOLOv5's and SGDR's schedules, not a pasted one") }
        t.batchSize = try c.int("batch_size", in: 1...ToyModel.probeRows)
        t.nominalBatchSize = try c.int("nbs", in: 1...10_000)
        t.epochs = try c.int("epochs", in: 1...200)
        t.hyp = try c.hyperparameters()
        t.yolov5Lag = try c.bool("yolov5_lag")
        t.clipNorm = try c.double("clip_norm", in: 0...1e12)
        t.lossGain = try c.double("loss_gain", in: 1e-6...1e6)
        t.seed = try c.seed("seed")
        t.restarts.t0 = try c.int("t0", in: 1...1000)
        t.restarts.tMult = try c.int("t_mult", in: 1...1000)
        t.restarts.etaMin = try c.double("eta_min", in: 0...1)
        t.restarts.cycleDecay = try c.double("cycle_decay", in: 0...1)
        t.restarts.restartWarmup = try c.double("restart_warmup", in: 0...1000)
        let limit = try c.int("cycle_limit", in: 0...1000)
        t.restarts.cycleLimit = limit == 0 ? nil : limit
        t.lossSpikes = LossSpikes(iterations: try c.ints("spikes", count: 0...1000, each: 0...1_000_000),
                                  gain: try c.double("spike_gain", in: 1...1e12))
        t.scaler.initScale = try c.double("init_scale", in: 1...65536)
        t.scaler.growthInterval = try c.int("growth_interval", in: 1...1_000_000)
        t.scaler.maxScale = try c.optionalDouble("max_scale", in: 1...65536)
        try t.validate()
        training = t
    }

    var isHalf: Bool { training.precision == .amp }

    var figureLabels: [String]? { ["learning rate", "loss scale", "batch-mean loss", "gradient norm before clipping"] }

    /// The end of warm-up and, for the SGDR kinds, the restarts, in iterations.
    var markers: [ScenarioMarker] {
        let bs = training.effectiveBatchSize
        let nb = (ToyModel.probeRows + bs - 1) / bs
        let nw = YOLOv5Schedule.warmupIterations(warmupEpochs: training.hyp.warmupEpochs, batchesPerEpoch: nb)
        let o = training.restarts
        switch training.scheduler {
        case .linear, .onecycle, .pasted:
            return [ScenarioMarker(x: Double(nw), label: "end of warm-up (nw = \(nw))")]
        case .sgdr:
            return [ScenarioMarker(x: Double(nw), label: "end of warm-up (nw = \(nw))")]
                + Reference.restartEpochs(t0: o.t0, tMult: o.tMult, below: Double(training.epochs))
                .map { ScenarioMarker(x: $0 * Double(nb), label: "restart (epoch \(Int($0)))") }
        case .sgdrWarmup:
            // The lr warms up over warmup_epochs on its own; nw is the momentum's and accumulate's
            // warm-up. From cycle_limit on the lr stays at eta_min: no restart there.
            let w = training.hyp.warmupEpochs
            let starts = Reference.restartEpochs(t0: o.t0, tMult: o.tMult, below: Double(training.epochs) - w)
            return [ScenarioMarker(x: w * Double(nb), label: "lr warm-up ends (epoch \(w))"),
                    ScenarioMarker(x: Double(nw), label: "momentum warm-up ends (nw = \(nw))")]
                + starts.enumerated().map { k, e in
                    let limited = o.cycleLimit.map { k + 1 >= $0 } ?? false
                    return ScenarioMarker(x: (e + w) * Double(nb), label: limited ? "cycle limit (epoch \(e + w))" : "restart (epoch \(e + w))")
                }
        }
    }

    var columns: [GoldenColumn] {
        let computed: ColumnSource = isHalf ? .snapshot : .formula
        var out = [GoldenColumn("iteration", .key, label: "iteration"), GoldenColumn("epoch", .key, label: "epoch")]
        for g in ["bias", "weight", "bn"] { out.append(GoldenColumn("lr_\(g)", .formula, label: "learning rate")) }
        for g in ["bias", "weight", "bn"] { out.append(GoldenColumn("momentum_\(g)", .formula, label: "momentum (Adam: beta1)")) }
        out += [GoldenColumn("accumulate", .formula, label: "accumulated batches"),
                GoldenColumn("optimizer_step", .formula, label: "optimizer step", axis: .flag),
                GoldenColumn("weight_decay", .formula, label: "weight decay (weights group)"),
                GoldenColumn("scale", .formula, label: "loss scale", axis: .log(2)),
                GoldenColumn("skipped", .formula, label: "skipped", axis: .flag),
                GoldenColumn("growth_tracker", .formula, label: "growth tracker"),
                GoldenColumn("loss", computed, isHalf ? .exact : Self.lossTolerance, label: "batch-mean loss", axis: .log(10)),
                GoldenColumn("grad_norm", computed, isHalf ? .exact : Self.lossTolerance, label: "gradient norm before clipping", axis: .log(10))]
        for name in Reference.networkTensors {
            out.append(GoldenColumn("\(name) norm", computed, isHalf ? .exact : Self.parameterTolerance, label: "parameter norm"))
            out.append(GoldenColumn("\(name)[0]", computed, isHalf ? .exact : Self.parameterTolerance, label: "parameter element"))
        }
        return out
    }

    static func parameterColumns(_ tensors: [[Double]]) -> [Double] {
        tensors.flatMap { t in [t.reduce(0) { $0 + $1 * $1 }.squareRoot(), t[0]] }
    }

    func run(_: RunCache) throws -> EngineRun {
        let trainer = try Trainer(config: training)
        var rows: [[Double]] = []
        while !trainer.isFinished {
            let r = try trainer.step().0
            let tensors = trainer.model.namedParameters.map { $0.tensor.doubles }
            rows.append([Double(r.iteration), Double(r.epoch)] + r.lr + r.momentum
                        + [Double(r.accumulate), r.optimizerStep ? 1 : 0, r.weightDecay, r.scale, r.skipped ? 1 : 0,
                           Double(r.growthTracker), r.loss, r.gradientNorm ?? .nan] + Self.parameterColumns(tensors))
        }
        return EngineRun(rows: rows)
    }

    /// The reference's recipe: the same data, initial tensors and epoch orders (inputs), and the
    /// configuration's numbers; everything else the reference computes.
    func recipe() throws -> Reference.TrainingRecipe {
        let data = try training.model.loadData()
        let d = data.train.featureCount
        let features = (0..<data.train.count).map { i in (0..<d).map { Double(data.train.features[i * d + $0]) } }
        let model = training.model.makeModel(dtype: .float64, seed: training.seed)
        guard model.namedParameters.map(\.name) == Reference.networkTensors else {
            throw HalfTraceError.invalid("config.model", "the probe model's tensors are not the reference network's")
        }
        var rng = SplitMix64.stream(seed: training.seed, index: 1)  // the trainer's data-order stream
        let orders = (0..<training.epochs).map { _ in rng.permutation(data.train.count) }
        let sizes = training.model.sizes
        var r = Reference.TrainingRecipe(inputs: sizes[0], hidden: sizes[1], classes: sizes[2], features: features,
                                         labels: data.train.labels, batchSize: training.effectiveBatchSize, epochs: training.epochs,
                                         hyp: Reference.WarmupHyperparameters(training.hyp), weightDecay: training.hyp.weightDecay,
                                         order: orders, initial: model.namedParameters.map { $0.tensor.doubles })
        r.nominalBatchSize = training.nominalBatchSize
        r.lag = training.yolov5Lag
        let o = training.restarts
        switch training.scheduler {
        case .linear: r.schedule = .linear
        case .pasted: throw HalfTraceError.invalid("config.scheduler", "the reference trainer has no pasted schedules")
        case .onecycle: r.schedule = .oneCycle
        case .sgdr: r.schedule = .sgdr(t0: o.t0, tMult: o.tMult, etaMin: o.etaMin)
        case .sgdrWarmup:
            r.schedule = .sgdrWarmup(t0: o.t0, tMult: o.tMult, etaMin: o.etaMin, cycleDecay: o.cycleDecay, restartWarmup: o.restartWarmup,
                                     cycleLimit: o.cycleLimit)
        }
        switch training.optimizer {
        case .sgd: r.optimizer = .sgd
        case .adam: r.optimizer = .adam
        case .adamw: r.optimizer = .adamw
        }
        r.clipNorm = training.clipNorm
        r.lossGain = training.lossGain
        r.spikes = Set(training.lossSpikes.iterations)
        r.spikeGain = training.lossSpikes.gain
        if training.usesScaler {
            var rule = Reference.ScalerRule()
            rule.initScale = training.scaler.initScale
            rule.growthFactor = training.scaler.growthFactor
            rule.backoffFactor = training.scaler.backoffFactor
            rule.growthInterval = training.scaler.growthInterval
            rule.maxScale = training.scaler.maxScale
            r.scaler = rule
        }
        return r
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let steps = try Reference.train(recipe())
        if isHalf, let ambiguous = steps.first(where: { $0.halfGradientRatio > 1.0 / 16 && $0.halfGradientRatio < 16 }) {
            throw HalfTraceError.invalid("config.spike_gain", "the overflow at iteration \(ambiguous.iteration) is ambiguous: the largest half-precision gradient is \(ambiguous.halfGradientRatio) times binary16's threshold (needs <= 1/16 or >= 16)")
        }
        var out: [String: [Double]] = [:]
        for (j, g) in ["bias", "weight", "bn"].enumerated() {
            out["lr_\(g)"] = steps.map { $0.lr[j] }
            out["momentum_\(g)"] = steps.map { $0.momentum[j] }
        }
        out["accumulate"] = steps.map { Double($0.accumulate) }
        out["optimizer_step"] = steps.map { $0.optimizerStep ? 1 : 0 }
        out["weight_decay"] = steps.map(\.weightDecay)
        out["scale"] = steps.map(\.scale)
        out["skipped"] = steps.map { $0.skipped ? 1 : 0 }
        out["growth_tracker"] = steps.map { Double($0.growthTracker) }
        out["loss"] = steps.map(\.loss)
        out["grad_norm"] = steps.map(\.gradientNorm)
        let parameters = steps.map { Self.parameterColumns($0.parameters) }
        for (k, name) in Reference.networkTensors.enumerated() {
            out["\(name) norm"] = parameters.map { $0[2 * k] }
            out["\(name)[0]"] = parameters.map { $0[2 * k + 1] }
        }
        return out
    }
}
