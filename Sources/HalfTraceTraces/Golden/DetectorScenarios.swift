import HalfTraceDetection
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceReference
import HalfTraceTraining

/// A short detector run with YOLOv5's recipe (a small micro YOLOv5 on small synthetic shapes, so
/// that `check` stays fast), per iteration: each group's lr and momentum, the accumulation and
/// which iterations stepped come from the Reference's closed form of train.py's warm-up and
/// LambdaLR; with a GradScaler, the scale follows the Reference's GradScaler rule applied to
/// the overflows the engine met (a snapshot, with the batch loss).
struct DetectorTrainingScenario: Scenario {
    let detector: DetectorConfig
    let key: String

    init(_ c: ConfigReader) throws {
        var d = DetectorConfig()
        d.precision = try c.choice("precision", Precision.self)
        d.epochs = try c.int("epochs", in: 1...1000)
        d.batchSize = try c.int("batch_size", in: 1...256)
        d.imageSize = try c.int("imgsz", in: 32...256)
        d.syntheticTrain = try c.int("train", in: 1...10_000)
        d.syntheticValidation = try c.int("val", in: 1...10_000)
        d.widths = try c.ints("widths", count: 4...4, each: 2...1024)
        d.scaler.enabled = try c.string("scaler") == "default" ? nil : try c.bool("scaler")
        if let v = try c.optionalDouble("init_scale", in: 1...1e30) { d.scaler.initScale = v }
        if let v = try c.optionalDouble("growth_interval", in: 1...1e9) { d.scaler.growthInterval = Int(v) }
        d.seed = try c.seed("seed")
        try d.validate()
        detector = d
        key = c.config.pairs.filter { $0.0 != "kind" }.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }

    func train(_ runs: RunCache) throws -> (records: [IterationRecord], epochs: [DetectorEpoch], batchesPerEpoch: Int) {
        if let cached = runs.detectorRuns[key] { return cached }
        let trainer = try DetectorTrainer(config: detector)
        var records: [IterationRecord] = [], epochs: [DetectorEpoch] = []
        while !trainer.isFinished, epochs.count < (runs.epochLimit ?? Int.max) {
            let (record, epoch) = try trainer.step()
            records.append(record)
            if let epoch { epochs.append(epoch) }
        }
        let run = (records, epochs, trainer.batchesPerEpoch)
        runs.detectorRuns[key] = run
        return run
    }

    var columns: [GoldenColumn] {
        [GoldenColumn("iteration", .key, label: "iteration"), GoldenColumn("epoch", .key, label: "epoch"),
         GoldenColumn("lr_bias", .formula, label: "learning rate"), GoldenColumn("lr_weight", .formula, label: "learning rate"),
         GoldenColumn("lr_bn", .formula, label: "learning rate"), GoldenColumn("momentum", .formula, label: "momentum"),
         GoldenColumn("accumulate", .formula, label: "accumulated batches"),
         GoldenColumn("optimizer_step", .formula, label: "optimizer step", axis: .flag),
         GoldenColumn("skipped", .snapshot, label: "skipped", axis: .flag),
         GoldenColumn("scale", detector.usesScaler ? .formula : .snapshot, label: "loss scale", axis: .log(2)),
         GoldenColumn("loss", .snapshot, label: "loss (box + obj + cls)", axis: .log(10))]
    }

    var figureLabels: [String]? { ["learning rate", "momentum", "accumulated batches", "loss scale"] }

    var markers: [ScenarioMarker] { [ScenarioMarker(x: 100, label: "end of warm-up (100 iterations, the floor)")] }

    func run(_ runs: RunCache) throws -> EngineRun {
        EngineRun(rows: try train(runs).records.map { r in
            [Double(r.iteration), Double(r.epoch), r.lrBias, r.lrWeight, r.lrNorm, r.momentum[1], Double(r.accumulate),
             r.optimizerStep ? 1 : 0, r.skipped ? 1 : 0, r.scale, r.loss]
        })
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let nb = engineRows.filter { $0[1] == 0 }.count
        let h = Reference.WarmupHyperparameters(detector.hyp)
        let plan = engineRows.map { r in
            Reference.warmup(ni: Int(r[0]), epoch: Int(r[1]), nb: nb, epochs: detector.epochs, batchSize: detector.batchSize,
                             nbs: detector.nominalBatchSize, hyp: h, cosine: detector.scheduler == .onecycle, lag: false)
        }
        var last = -1
        let steps: [Bool] = plan.enumerated().map { ni, row in
            let due = ni - last >= row.accumulate
            if due { last = ni }
            return due
        }
        var out: [String: [Double]] = [
            "lr_bias": plan.map { $0.lr[0] }, "lr_weight": plan.map { $0.lr[1] }, "lr_bn": plan.map { $0.lr[2] },
            "momentum": plan.map(\.momentum), "accumulate": plan.map { Double($0.accumulate) }, "optimizer_step": steps.map { $0 ? 1 : 0 },
        ]
        if detector.usesScaler {
            // The scale each batch was scaled with: the initial scale, then the rule's value after
            // each optimizer step's update, given whether that step overflowed (the engine's skip).
            var rule = Reference.ScalerRule()
            rule.initScale = detector.scaler.initScale
            rule.growthInterval = detector.scaler.growthInterval
            let updates = engineRows.filter { $0[7] == 1 }.map { $0[8] == 1 }
            let after = Reference.scaler(foundInf: updates, rule: rule).map(\.scale)
            var k = 0, current = rule.initScale
            out["scale"] = engineRows.map { r in
                let used = current
                if r[7] == 1 { current = after[k]; k += 1 }
                return used
            }
        }
        return out
    }
}

/// The same run per epoch: YOLOv5's results.csv values. The lr of each group at the epoch's last
/// batch comes from the Reference; the losses, precision, recall and mAP are snapshots of the
/// engine (the parts that compute them are checked against YOLOv5 7.0 itself by the tests).
struct DetectorEpochsScenario: Scenario {
    let training: DetectorTrainingScenario
    init(_ c: ConfigReader) throws { training = try DetectorTrainingScenario(c) }

    var columns: [GoldenColumn] {
        [GoldenColumn("epoch", .key, label: "epoch"),
         GoldenColumn("train_box_loss", .snapshot, label: "loss"), GoldenColumn("train_obj_loss", .snapshot, label: "loss"),
         GoldenColumn("train_cls_loss", .snapshot, label: "loss"), GoldenColumn("precision", .snapshot, label: "precision"),
         GoldenColumn("recall", .snapshot, label: "recall"), GoldenColumn("map50", .snapshot, label: "mAP@0.5"),
         GoldenColumn("map", .snapshot, label: "mAP@0.5:0.95"), GoldenColumn("val_box_loss", .snapshot, label: "loss"),
         GoldenColumn("val_obj_loss", .snapshot, label: "loss"), GoldenColumn("val_cls_loss", .snapshot, label: "loss"),
         // x/lr0..2: one value per epoch, held until the next (drawn as steps).
         GoldenColumn("lr0", .formula, label: "learning rate", stepwise: true), GoldenColumn("lr1", .formula, label: "learning rate", stepwise: true),
         GoldenColumn("lr2", .formula, label: "learning rate", stepwise: true)]
    }

    var figureLabels: [String]? { ["loss", "mAP@0.5", "mAP@0.5:0.95", "learning rate"] }

    func run(_ runs: RunCache) throws -> EngineRun {
        EngineRun(rows: try training.train(runs).epochs.map { e in
            [Double(e.epoch), e.trainLoss.box, e.trainLoss.obj, e.trainLoss.cls, e.metrics.precision, e.metrics.recall,
             e.metrics.map50, e.metrics.map, e.validationLoss.box, e.validationLoss.obj, e.validationLoss.cls] + e.lr
        })
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let d = training.detector
        let nb = (d.syntheticTrain + d.batchSize - 1) / d.batchSize
        let h = Reference.WarmupHyperparameters(d.hyp)
        let last = engineRows.map { r -> Reference.WarmupRow in
            let e = Int(r[0])
            return Reference.warmup(ni: (e + 1) * nb - 1, epoch: e, nb: nb, epochs: d.epochs, batchSize: d.batchSize,
                                    nbs: d.nominalBatchSize, hyp: h, cosine: d.scheduler == .onecycle, lag: false)
        }
        return ["lr0": last.map { $0.lr[0] }, "lr1": last.map { $0.lr[1] }, "lr2": last.map { $0.lr[2] }]
    }
}
