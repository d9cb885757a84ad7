import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim
import HalfTraceReference
import HalfTraceTraining

/// One training run of a toy model with YOLOv5's recipe, per iteration: the schedule columns and
/// whether the optimizer stepped from the formula; whether it skipped, the loss scale and the
/// batch loss are snapshots of the engine (the Float64 reference trainer's scenarios check those
/// against formulas; these runs prove that the digits model still trains as it did).
///
/// Optional keys change the recipe: `scaler` (true, false or default: the precision's),
/// `loss_gain`, `lr0`, `warmup_bias_lr`, `weight_decay` and `clip_norm` (the shrunken-loss runs).
struct TrainingScenario: Scenario {
    let training: TrainingConfig
    let key: String

    init(_ c: ConfigReader) throws {
        var t = TrainingConfig()
        t.model = try c.choice("model", ToyModel.self)
        t.precision = try c.choice("precision", Precision.self)
        t.epochs = try c.int("epochs", in: 1...1000)
        t.scaler.enabled = try c.string("scaler") == "default" ? nil : try c.bool("scaler")
        if let v = try c.optionalDouble("loss_gain", in: 1e-30...1e6) { t.lossGain = v }
        if let v = try c.optionalDouble("lr0", in: 0...1e30) { t.hyp.lr0 = v }
        if let v = try c.optionalDouble("warmup_bias_lr", in: 0...1e30) { t.hyp.warmupBiasLR = v }
        if let v = try c.optionalDouble("weight_decay", in: 0...1) { t.hyp.weightDecay = v }
        if let v = try c.optionalDouble("clip_norm", in: 0...1e12) { t.clipNorm = v }
        t.seed = try c.seed("seed")
        try t.validate()
        training = t
        key = c.config.pairs.filter { $0.0 != "kind" }.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }

    func train(_ runs: RunCache) throws -> (records: [IterationRecord], epochs: [EpochResult]) {
        if let cached = runs.runs[key] { return cached }
        let trainer = try Trainer(config: training)
        var records: [IterationRecord] = [], epochs: [EpochResult] = []
        if let limit = runs.epochLimit {
            while !trainer.isFinished, epochs.count < limit {
                let (record, epoch) = try trainer.step()
                records.append(record)
                if let epoch { epochs.append(epoch) }
            }
        } else {
            try trainer.run(onIteration: { records.append($0) }, onEpoch: { epochs.append($0) })
        }
        runs.runs[key] = (records, epochs)
        return (records, epochs)
    }

    var columns: [GoldenColumn] {
        [GoldenColumn("iteration", .key, label: "iteration"), GoldenColumn("epoch", .key, label: "epoch"),
         GoldenColumn("lr_bias", .formula, label: "learning rate"), GoldenColumn("lr_weight", .formula, label: "learning rate"),
         GoldenColumn("lr_bn", .formula, label: "learning rate"), GoldenColumn("momentum", .formula, label: "momentum"),
         GoldenColumn("accumulate", .formula, label: "accumulated batches"),
         GoldenColumn("optimizer_step", .formula, label: "optimizer step", axis: .flag),
         GoldenColumn("skipped", .snapshot, label: "skipped", axis: .flag),
         GoldenColumn("scale", .snapshot, label: "loss scale", axis: .log(2)), GoldenColumn("loss", .snapshot, label: "batch-mean loss", axis: .log(10))]
    }

    func run(_ runs: RunCache) throws -> EngineRun {
        EngineRun(rows: try train(runs).records.map { r in
            [Double(r.iteration), Double(r.epoch), r.lrBias, r.lrWeight, r.lrNorm, r.momentum[1], Double(r.accumulate),
             r.optimizerStep ? 1 : 0, r.skipped ? 1 : 0, r.scale, r.loss]
        })
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let nb = engineRows.filter { $0[1] == 0 }.count
        let h = Reference.WarmupHyperparameters(training.hyp)
        let plan = engineRows.map { r in
            Reference.warmup(ni: Int(r[0]), epoch: Int(r[1]), nb: nb, epochs: training.epochs,
                             batchSize: training.effectiveBatchSize, nbs: training.nominalBatchSize, hyp: h,
                             cosine: training.scheduler == .onecycle, lag: training.yolov5Lag)
        }
        // optimizer steps: ni - last_opt_step >= accumulate
        var last = -1
        let steps: [Bool] = plan.enumerated().map { ni, row in
            let due = ni - last >= row.accumulate
            if due { last = ni }
            return due
        }
        return ["lr_bias": plan.map { $0.lr[0] }, "lr_weight": plan.map { $0.lr[1] }, "lr_bn": plan.map { $0.lr[2] },
                "momentum": plan.map(\.momentum), "accumulate": plan.map { Double($0.accumulate) },
                "optimizer_step": steps.map { $0 ? 1 : 0 }]
    }
}

/// The same run's per-epoch results: epoch, train_loss, val_loss, val_accuracy and the fraction
/// of 16-bit gradient elements flushed to zero (engine values).
struct TrainingEpochsScenario: Scenario {
    let training: TrainingScenario
    init(_ c: ConfigReader) throws { training = try TrainingScenario(c) }
    var columns: [GoldenColumn] {
        [GoldenColumn("epoch", .key, label: "epoch"), GoldenColumn("train_loss", .snapshot, label: "loss"),
         GoldenColumn("val_loss", .snapshot, label: "loss"), GoldenColumn("val_accuracy", .snapshot, label: "validation accuracy"),
         GoldenColumn("underflow_fraction", .snapshot, label: "gradient elements flushed to zero")]
    }
    func run(_ runs: RunCache) throws -> EngineRun {
        EngineRun(rows: try training.train(runs).epochs.map {
            [Double($0.epoch), $0.trainLoss, $0.validationLoss, $0.validationAccuracy, $0.underflowFraction]
        })
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] { [:] }
}

/// Gradient accumulation: the gradient of a softmax regression on `rows` digits in one batch,
/// and accumulated over `micro` equal micro-batches (each loss = batch-mean CE * micro-batch size,
/// as YOLOv5), both in Float32, against the Float64 closed form (sum over rows of
/// (softmax - onehot) x^T). Tolerance normwise 3.8e-6 = gamma_64 = 64 * 2^-24, the worst-case
/// relative error of a 64-term Float32 sum (observed: 1.6e-7).
struct AccumulationScenario: Scenario {
    let rows: Int, micro: Int, seed: UInt64
    init(_ c: ConfigReader) throws {
        rows = try c.int("rows", in: 1...Digits.trainRows); micro = try c.int("micro", in: 1...rows); seed = try c.seed("seed")
        guard rows % micro == 0 else { throw HalfTraceError.invalid("config.rows", "\(rows) is not a multiple of micro \(micro)") }
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("index", .key, label: "gradient element"),
         GoldenColumn("one_batch", .formula, .normwise(3.8e-6), label: "gradient").sampled(),
         GoldenColumn("accumulated", .formula, .normwise(3.8e-6), label: "gradient").sampled()]  // elements: no line joins them
    }
    func data() throws -> Dataset { try Digits.loadBundled().train.slice(0..<rows) }
    func run(_: RunCache) throws -> EngineRun {
        let d = try data()
        func gradient(_ parts: Int) -> [Double] {
            var rng = SplitMix64(seed: seed)
            let layer = Linear(64, 10, using: &rng)
            let size = rows / parts
            for p in 0..<parts {
                let idx = (p * size)..<((p + 1) * size)
                (layer(d.inputs(idx, dtype: .float32)).crossEntropy(labels: d.labels(idx)) * Double(size)).backward()
            }
            return layer.weight.grad!.doubles + layer.bias!.grad!.doubles
        }
        let one = gradient(1), accumulated = gradient(micro)
        return EngineRun(rows: one.indices.map { [Double($0), one[$0], accumulated[$0]] })
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let d = try data()
        var rng = SplitMix64(seed: seed)
        let layer = Linear(64, 10, using: &rng)
        let w = layer.weight.doubles, b = layer.bias!.doubles
        let x = (0..<rows).map { i in (0..<64).map { Double(d.features[i * 64 + $0]) } }
        let g = Reference.softmaxRegressionGradient(x: x, labels: Array(d.labels), weight: (0..<10).map { Array(w[($0 * 64)..<(($0 + 1) * 64)]) }, bias: b)
        return ["one_batch": g, "accumulated": g]
    }
}

/// Resume: one run uninterrupted; the same run stopped at iteration `stop` and resumed from
/// HalfTrace's checkpoint (identical, bit for bit); and a YOLOv5-style resume from the last
/// epoch-end checkpoint before the stop (scaler back at init_scale, schedule and accumulation
/// recomputed, data order from the seed). Engine columns, per iteration.
struct ResumeScenario: Scenario {
    let training: TrainingConfig
    let stop: Int, nb: Int

    init(_ c: ConfigReader) throws {
        var t = TrainingConfig()
        t.model = try c.choice("model", ToyModel.self)
        t.precision = try c.choice("precision", Precision.self)
        t.epochs = try c.int("epochs", in: 1...1000)
        t.seed = try c.seed("seed")
        try t.validate()
        training = t
        nb = try Trainer(config: t).batchesPerEpoch
        stop = try c.int("stop", in: 1...(t.epochs * nb - 1))
    }

    static let series = ["loss", "scale", "lr_weight"]
    var columns: [GoldenColumn] {
        let labels: [String: (String, GoldenColumn.Axis)] = ["loss": ("batch-mean loss", .log(10)), "scale": ("loss scale", .log(2)),
                                                             "lr_weight": ("learning rate", .linear)]
        return [GoldenColumn("iteration", .key, label: "iteration")]
            + ["", "resumed_", "yolov5_"].flatMap { prefix in
                Self.series.map { GoldenColumn(prefix + $0, .snapshot, label: labels[$0]!.0, axis: labels[$0]!.1) }
            }
    }

    var markers: [ScenarioMarker] {
        [ScenarioMarker(x: Double(stop), label: "stopped (iteration \(stop))"),
         ScenarioMarker(x: Double(stop / nb * nb), label: "YOLOv5's last.pt (epoch \(stop / nb) start)")]
    }

    func run(_ runs: RunCache) throws -> EngineRun {
        // With an epoch limit: the rows up to one epoch past the stop, so the resumed part is compared.
        let end = runs.epochLimit.map { _ in min(training.epochs * nb, (stop / nb + 2) * nb) }
        func values(_ r: IterationRecord) -> [Double] { [r.loss, r.scale, r.lrWeight] }
        func collect(_ t: Trainer, until: Int? = nil) throws -> [[Double]] {
            var rows: [[Double]] = []
            while !t.isFinished, until.map({ t.iterationsDone < $0 }) ?? true { rows.append(values(try t.step().0)) }
            return rows
        }
        let uninterrupted = try collect(try Trainer(config: training), until: end)
        let stopped = try Trainer(config: training)
        let boundary = stop / stopped.batchesPerEpoch * stopped.batchesPerEpoch
        var before = try collect(stopped, until: boundary)
        let epochEnd = stopped.state(bestAccuracy: nil, bestEpoch: nil)
        before += try collect(stopped, until: stop)
        let resumed = before + (try collect(try Trainer(resuming: stopped.state(bestAccuracy: nil, bestEpoch: nil)), until: end))
        let yolov5 = Array(before.prefix(boundary)) + (try collect(try Trainer(yolov5Resuming: epochEnd), until: end))
        guard resumed.count == uninterrupted.count, yolov5.count == uninterrupted.count else {
            throw HalfTraceError.invalid("rows", "resume runs have \(resumed.count) and \(yolov5.count) rows, the uninterrupted run \(uninterrupted.count)")
        }
        return EngineRun(rows: uninterrupted.indices.map { i in [Double(i)] + uninterrupted[i] + resumed[i] + yolov5[i] })
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] { [:] }
}
