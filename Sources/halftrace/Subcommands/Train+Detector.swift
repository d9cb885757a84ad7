import ArgumentParser
import Foundation
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceNN
import HalfTraceTraining

/// What `train --model` trains: a toy model, or the detector.
enum TrainModel: String, ExpressibleByArgument, CaseIterable {
    case tiny, mlp, wide, probe, detector

    /// The toy model, or nil for the detector.
    var toy: ToyModel? { ToyModel(rawValue: rawValue) }
}

extension HalfTraceCommand.Train {
    /// The flags that configure the toy models' loop only, refused with --model detector.
    var toyOnlyFlags: [(String, Bool)] {
        [("--loss-gain", lossGain != nil), ("--loss-spikes", lossSpikes != nil), ("--loss-spike-gain", lossSpikeGain != nil),
         ("--yolov5-lag", yolov5Lag), ("--resume", resume != nil), ("--save-period", savePeriod != nil),
         ("--stop-after-iterations", stopAfterIterations != nil), ("--override", !override.isEmpty)]
    }

    /// The detector's configuration from the flags given (and the hyp file's keys, when read).
    func detectorConfig(hypFile: HypFile.Loaded? = nil) throws -> DetectorConfig {
        var c = DetectorConfig()
        if let hypFile {
            c.hyp = hypFile.hyp
            for key in DetectorHyperparameters.keys { if let v = hypFile.others[key.name] { c.detection[keyPath: key.keyPath] = v } }
        }
        var toy = TrainingConfig()
        apply(to: &toy)  // the shared flags, read once
        if let precision { c.precision = precision }
        if let epochs { c.epochs = epochs }
        if let batchSize { c.batchSize = batchSize }
        if let imgsz { c.imageSize = imgsz }
        if let nbs { c.nominalBatchSize = nbs }
        if let optimizer { c.optimizer = optimizer }
        hypFlags.apply(to: &c.hyp)
        c.scheduler = toy.scheduler
        c.pastedScheduler = toy.pastedScheduler
        c.restarts = toy.restarts
        c.scaler = toy.scaler
        if scalerRule != nil { c.scaler.rule = try scalerRuleValue(scalerRule!) }
        if let clipNorm { c.clipNorm = clipNorm }
        if let seed { c.seed = seed }
        c.dataPath = data
        c.autoAnchor = !noAutoAnchor
        if stochasticRounding { c.stochasticRounding = true }
        return c
    }

    /// The accuracy whose first epoch `train --model detector` reports (`--target-map`).
    var targetMAP: (map50: Double, map: Double) {
        get throws {
            guard let text = targetMAPText else { return (0.7, 0.4) }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let a = parts[0], let b = parts[1], (0...1).contains(a), (0...1).contains(b) else {
                throw ValidationError("--target-map: '\(text)' is invalid: expected MAP50,MAP, two numbers in [0, 1] (e.g. 0.7,0.4)")
            }
            return (a, b)
        }
    }

    func validateDetector() throws {
        _ = try targetMAP
        if let (flag, _) = toyOnlyFlags.first(where: { $0.1 }) {
            throw ValidationError("\(flag) applies to the toy models, not to --model detector")
        }
        if let scalerRule { _ = try scalerRuleValue(scalerRule) } else if let flag = ruleFlags.anyGiven {
            throw ValidationError("\(flag) needs --scaler-rule (deepspeed, deepspeed-fp16 or megatron)")
        }
        if cosLR, let scheduler, scheduler.kind != .onecycle { throw ValidationError("--cos-lr is --scheduler onecycle; it contradicts --scheduler \(scheduler)") }
        try validating { try detectorConfig().validate() }
    }

    func runDetector() throws {
        var hypFile: HypFile.Loaded?
        if let hyp {
            let loaded = try HypFile.load(hyp)
            hypFile = loaded
            let used = Set(DetectorHyperparameters.keys.map(\.name))
            let ignored = loaded.ignored.filter { !used.contains($0) }
            if !ignored.isEmpty { print("--hyp: ignored keys the detector does not use: \(ignored.joined(separator: ", "))") }
        }
        let c = try detectorConfig(hypFile: hypFile)
        let trainer: DetectorTrainer
        do { trainer = try DetectorTrainer(config: c) } catch let e as HalfTraceError where e.kind == .invalidValue && e.file == nil {
            throw CommandFailure(Flags.message(e))
        }
        let session = try DetectorSession(trainer: trainer, directory: out)
        let d = trainer.data, m = trainer.model
        print("halftrace train: detector (micro YOLOv5, widths \(m.architecture.widths.map(String.init).joined(separator: "-")), \(m.parameterCount) parameters) on \(d.source)")
        print("  train: \(d.train.count) images, \(d.train.labelCount) labels; val: \(d.validation.count) images, \(d.validation.labelCount) labels; classes: \(d.train.classNames.joined(separator: ", "))")
        for note in d.notes { print("  note: \(note)") }
        if let check = trainer.anchorCheck {
            let before = "\(Format.fixed(check.before.aat, 2)) anchors/target, best possible recall \(Format.fixed(check.before.bpr, 3))"
            if let after = check.after {
                print("  AutoAnchor: \(before) with YOLOv5's anchors; k-means + evolution: bpr \(Format.fixed(after.bpr, 3))\(check.replaced ? ", anchors replaced" : ", kept YOLOv5's")")
            } else {
                print("  AutoAnchor: \(before): YOLOv5's anchors fit (bpr > 0.98)")
            }
        }
        print("  anchors (px): " + m.architecture.anchors.enumerated().map { i, layer in
            "P\(i + 3)/\(DetectorArchitecture.strides[i]) " + layer.map { "\(Format.fixed($0.w, 1))x\(Format.fixed($0.h, 1))" }.joined(separator: " ")
        }.joined(separator: ", "))
        print("  \(c.precision.rawValue), \(c.optimizer.rawValue), \(c.epochs) epochs, batch \(c.batchSize), \(trainer.batchesPerEpoch) batches/epoch, imgsz \(c.imageSize), \(c.pastedScheduler ?? c.scheduler.rawValue) schedule, warm-up \(trainer.schedule.warmupIterations) iterations, scaler \(c.usesScaler ? "on" : "off"), EMA \(c.ema ? "on" : "off")")
        print(DetectorTables.consoleHeader)
        let progress = ProgressLine()
        let clock = ContinuousClock(), start = clock.now
        var reached: (epoch: Int, seconds: Double)?
        let targetMAP = try targetMAP
        try session.run(onIteration: { r in
            progress.update("epoch \(r.epoch + 1)/\(c.epochs) batch \(r.iteration % trainer.batchesPerEpoch + 1)/\(trainer.batchesPerEpoch) loss \(Format.fixed(r.loss, 4))")
        }, onEpoch: { r in
            progress.finish()
            let seconds = (clock.now - start).seconds
            if reached == nil, r.metrics.map50 >= targetMAP.map50, r.metrics.map >= targetMAP.map { reached = (r.epoch, seconds) }
            print(DetectorTables.consoleLine(r, seconds: seconds))
        })
        progress.finish()
        let seconds = (clock.now - start).seconds
        if let last = session.results.last, let best = session.best {
            let tail = session.results.suffix(10)
            let mean50 = tail.map(\.metrics.map50).reduce(0, +) / Double(tail.count), mean = tail.map(\.metrics.map).reduce(0, +) / Double(tail.count)
            print("final mAP@0.5 \(Format.fixed(last.metrics.map50, 3)), mAP@0.5:0.95 \(Format.fixed(last.metrics.map, 3)); mean of the last \(tail.count) epochs \(Format.fixed(mean50, 3)) / \(Format.fixed(mean, 3)); best fitness \(Format.fixed(best.fitness, 4)) at epoch \(best.epoch); \(session.results.reduce(0) { $0 + $1.skipped }) skipped steps; \(Format.fixed(seconds, 1)) s")
            let target = "mAP@0.5 >= \(targetMAP.map50) and mAP@0.5:0.95 >= \(targetMAP.map)"
            print(reached.map { "time to accuracy: \(target) first at epoch \($0.epoch), \(Format.fixed($0.seconds, 1)) s" }
                ?? "time to accuracy: \(target) not reached")
        }
        if let dir = session.directory { print("wrote \(dir)/results.csv and trace.csv") }
    }
}
