import ArgumentParser
import Foundation
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim
import HalfTraceTraining

extension ToyModel: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension GradScaler.HysteresisRefill: ExpressibleByArgument {}
/// `--scheduler`: a schedule's name, or a scheduler's constructor call as written in Python
/// (the pasted schedule, stepped per epoch in place of YOLOv5's LambdaLR).
struct SchedulerChoice: ExpressibleByArgument, CustomStringConvertible {
    var kind: SchedulerKind
    var expression: String?

    init?(argument: String) {
        if let k = SchedulerKind(rawValue: argument), k != .pasted {
            (kind, expression) = (k, nil)
        } else if argument.contains("(") {
            (kind, expression) = (.pasted, argument)
        } else {
            return nil
        }
    }

    var description: String { expression ?? kind.rawValue }
    static var allValueStrings: [String] { SchedulerKind.allCases.filter { $0 != .pasted }.map(\.rawValue) + ["\"EXPR\""] }
}

extension HalfTraceCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a toy model with YOLOv5's recipe (warm-up, schedule, accumulation, clipping, loss scaling).",
            discussion: "Defaults: --model mlp --precision fp32 --epochs 30, hyp.scratch-low.yaml. With --resume, flags that change the checkpoint's configuration need --override FIELD (except a larger --epochs).")

        @Option(help: "tiny (two-moons), mlp (UCI digits), wide (Gaussian clusters), probe, or detector (a micro YOLOv5 on images).") var model: TrainModel?
        @Option(help: "fp32, amp (float32 master weights, float16 autocast, GradScaler), amp-bf16 (float32 master weights, bfloat16 autocast), fp16 (float16 storage) or bf16 (bfloat16 storage).")
        var precision: Precision?
        @Option(help: "Epochs (1...100000).") var epochs: Int?
        @Option(name: [.customLong("batch-size"), .customLong("batch")], help: "Batch size (default: the model's; the detector's 16).") var batchSize: Int?
        @Option(help: "detector: the square image size in pixels, a multiple of 16 (default 64).") var imgsz: Int?
        @Flag(name: .customLong("noautoanchor"), help: "detector: keep YOLOv5's default anchors (no AutoAnchor check).") var noAutoAnchor = false
        @Flag(name: .customLong("stochastic-rounding"), help: "detector, fp16 and bf16: store the optimizer's weight updates with stochastic rounding instead of round to nearest.")
        var stochasticRounding = false
        @Option(help: "Nominal batch size for accumulation (default 64).") var nbs: Int?
        @Option(help: "sgd, adam or adamw.") var optimizer: OptimizerKind?
        @OptionGroup(title: "Hyper-parameters (YOLOv5's hyp keys)") var hypFlags: HyperparameterOptions
        @Option(help: "linear or onecycle (YOLOv5's LambdaLR, per epoch), sgdr or sgdr-warmup (per batch at epoch + i/nb), or a scheduler's constructor as written in Python, e.g. \"CosineAnnealingLR(T_max=30, eta_min=1e-4)\" (PyTorch's, timm's, transformers', DeepSpeed's, Megatron's), stepped per epoch in LambdaLR's place.")
        var scheduler: SchedulerChoice?
        @Flag(name: .customLong("cos-lr"), help: "YOLOv5's --cos-lr: the onecycle schedule.") var cosLR = false
        @OptionGroup(title: "SGDR (--scheduler sgdr or sgdr-warmup)") var restartFlags: RestartFlags
        @Flag(name: .customLong("yolov5-lag"), help: "Replay train.py's one-epoch scheduler lag.") var yolov5Lag = false
        @Option(name: .customLong("clip-norm"), parsing: .unconditional, help: "Gradient norm clip (0: off; default 10).") var clipNorm: Double?
        @Option(name: .customLong("loss-gain"), parsing: .unconditional, help: "YOLOv5's loss gain (its cls hyper-parameter; default 1).") var lossGain: Double?
        @Option(name: .customLong("loss-spikes"), help: "Iterations whose loss is also multiplied by --loss-spike-gain (e.g. to script a float16 overflow).")
        var lossSpikes: String?
        @Option(name: .customLong("loss-spike-gain"), parsing: .unconditional, help: "The gain of --loss-spikes (default 1e5).") var lossSpikeGain: Double?
        @Flag(inversion: .prefixedNo, help: "Use the GradScaler (default: on for amp and fp16, off for amp-bf16 and bf16).") var scaler: Bool?
        @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "GradScaler initial scale (default 65536).") var initScale: Double?
        @Option(name: .customLong("growth-interval"), help: "GradScaler growth interval (default 2000).") var growthInterval: Int?
        @Option(name: .customLong("min-scale"), parsing: .unconditional, help: "GradScaler minimum scale.") var minScale: Double?
        @Option(name: .customLong("max-scale"), parsing: .unconditional, help: "GradScaler maximum scale.") var maxScale: Double?
        @Option(help: "Overflows tolerated before a backoff (1: PyTorch).") var hysteresis: Int?
        @Option(name: .customLong("hysteresis-refill"), help: "clean (apex) or growth (Megatron).") var hysteresisRefill: GradScaler.HysteresisRefill?
        @Option(name: .customLong("scaler-rule"), help: "Another framework's loss scaling: pytorch, megatron, deepspeed or deepspeed-fp16 (its own argument names).")
        var scalerRule: LossScaleRule.Framework?
        @OptionGroup(title: "--scaler-rule megatron, deepspeed, deepspeed-fp16") var ruleFlags: ScalerRuleFlags
        @Option(help: "Seed of initialisation and data order (default 0).") var seed: UInt64?
        @Option(name: .customLong("target-map"), help: "Detector: report the first epoch (and its time) with mAP@0.5 and mAP@0.5:0.95 at least these, as MAP50,MAP (default 0.7,0.4).")
        var targetMAPText: String?
        @Option(help: "A digits CSV (p0..p63,label) instead of the bundled one; for the detector, a YOLO dataset folder with data.yaml (default: HalfTrace's synthetic shapes).") var data: String?
        @Option(help: "A YOLOv5 hyper-parameter YAML (hyp.scratch-low.yaml style); flags given explicitly win.") var hyp: String?
        @Option(help: "Directory for results.csv, trace.csv, last.ckpt and best.ckpt.") var out: String?
        @Option(name: .customLong("save-period"), help: "Also checkpoint every N iterations.") var savePeriod: Int?
        @Option(help: "Continue the run saved in this checkpoint (DIR/last.ckpt).") var resume: String?
        @Option(name: .customLong("stop-after-iterations"), help: "Stop after N iterations of the run, as if interrupted (checkpoint saved).")
        var stopAfterIterations: Int?
        @Option(help: "Allow a resumed run to change the field of this flag, e.g. --override lr0 (repeatable).") var override: [String] = []

        /// The flags given on the command line, applied to `c`.
        func apply(to c: inout TrainingConfig) {
            if let model, let toy = model.toy { c.model = toy }
            if let precision { c.precision = precision }
            if let epochs { c.epochs = epochs }
            if let batchSize { c.batchSize = batchSize }
            if let nbs { c.nominalBatchSize = nbs }
            if let optimizer { c.optimizer = optimizer }
            hypFlags.apply(to: &c.hyp)
            if cosLR { c.scheduler = .onecycle }
            if let scheduler { (c.scheduler, c.pastedScheduler) = (scheduler.kind, scheduler.expression) }
            restartFlags.apply(to: &c.restarts)
            if let lossSpikes { c.lossSpikes.iterations = (try? integers(lossSpikes, flag: "--loss-spikes")) ?? [-1] }
            if lossSpikes != nil { c.lossSpikes.gain = lossSpikeGain ?? 1e5 }
            if yolov5Lag { c.yolov5Lag = true }
            if let clipNorm { c.clipNorm = clipNorm }
            if let lossGain { c.lossGain = lossGain }
            if let scaler { c.scaler.enabled = scaler }
            if let initScale { c.scaler.initScale = initScale }
            if let growthInterval { c.scaler.growthInterval = growthInterval }
            if let minScale { c.scaler.minScale = minScale }
            if let maxScale { c.scaler.maxScale = maxScale }
            if let hysteresis { c.scaler.hysteresis = hysteresis }
            if let hysteresisRefill { c.scaler.refill = hysteresisRefill }
            if let scalerRule { c.scaler.rule = try? scalerRuleValue(scalerRule) }
            if let seed { c.seed = seed }
            if let data { c.digitsPath = data }
        }

        /// The rule --scaler-rule names, with the scaler flags given.
        func scalerRuleValue(_ framework: LossScaleRule.Framework) throws -> LossScaleRule {
            try ruleFlags.rule(framework, initScale: initScale, growthFactor: nil, backoffFactor: nil, growthInterval: growthInterval,
                               minScale: minScale, hysteresis: hysteresis,
                               extra: [("--max-scale", maxScale != nil), ("--hysteresis-refill", hysteresisRefill != nil)])
        }

        func validate() throws {
            if model == .detector { return try validateDetector() }
            for (flag, given) in [("--imgsz", imgsz != nil), ("--noautoanchor", noAutoAnchor), ("--target-map", targetMAPText != nil),
                                 ("--stochastic-rounding", stochasticRounding)] where given {
                throw ValidationError("\(flag) applies to --model detector only")
            }
            if let scalerRule { _ = try scalerRuleValue(scalerRule) } else if let flag = ruleFlags.anyGiven {
                throw ValidationError("\(flag) needs --scaler-rule (deepspeed, deepspeed-fp16 or megatron)")
            }
            if cosLR, let scheduler, scheduler.kind != .onecycle { throw ValidationError("--cos-lr is --scheduler onecycle; it contradicts --scheduler \(scheduler)") }
            if let lossSpikes { _ = try integers(lossSpikes, flag: "--loss-spikes") }
            if lossSpikeGain != nil && lossSpikes == nil { throw ValidationError("--loss-spike-gain needs --loss-spikes") }
            if let savePeriod, savePeriod < 1 { throw ValidationError("--save-period: \(savePeriod) is invalid: expected an integer >= 1") }
            if savePeriod != nil && out == nil && resume == nil { throw ValidationError("--save-period needs --out DIR (or --resume)") }
            if let n = stopAfterIterations {
                guard n >= 0 else { throw ValidationError("--stop-after-iterations: \(n) is invalid: expected an integer >= 0") }
                guard out != nil || resume != nil else { throw ValidationError("--stop-after-iterations needs --out DIR (or --resume)") }
            }
            if resume != nil {
                if out != nil { throw ValidationError("--out: a resumed run writes into its checkpoint's directory") }
                if hyp != nil { throw ValidationError("--hyp: a resumed run keeps its checkpoint's hyper-parameters (change one with its flag and --override)") }
                for name in override { _ = try Flags.trainingFields(forOverride: name) }
            } else {
                if !override.isEmpty { throw ValidationError("--override only applies with --resume") }
                var c = TrainingConfig()
                apply(to: &c)
                try validating { try c.validate() }
            }
        }

        func run() throws {
            if model == .detector { return try runDetector() }
            let session: TrainingSession
            if let resume {
                let fields = Set(try override.flatMap(Flags.trainingFields(forOverride:)))
                do {
                    session = try TrainingSession.resume(checkpoint: resume, config: { apply(to: &$0) }, overrides: fields, savePeriod: savePeriod)
                } catch let e as HalfTraceError where e.kind == .invalidValue && e.file == resume && e.field != nil {
                    throw CommandFailure("\(Flags.message(e)) (add --override \(Flags.flag(for: e.field!).dropFirst(2)))")
                }
                for note in session.notes { print(note) }
                if session.trainer.isFinished { return }
            } else {
                var c = TrainingConfig()
                if let hyp {
                    let loaded = try HypFile.load(hyp)
                    c.hyp = loaded.hyp
                    if !loaded.ignored.isEmpty { print("--hyp: ignored keys the toy recipe does not use: \(loaded.ignored.joined(separator: ", "))") }
                    if !loaded.missing.isEmpty { print("--hyp: keys not in the file keep their defaults: \(loaded.missing.joined(separator: ", "))") }
                }
                apply(to: &c)
                session = try TrainingSession(trainer: try Trainer(config: c), directory: out, savePeriod: savePeriod)
            }
            try train(session)
        }

        func train(_ session: TrainingSession) throws {
            let trainer = session.trainer, c = trainer.config
            print("halftrace train: \(c.model.rawValue) \(c.model.sizes.map(String.init).joined(separator: "-")) on \(trainer.data.source)")
            print("  \(c.precision.rawValue), \(c.optimizer.rawValue), \(c.epochs) epochs, batch \(c.effectiveBatchSize), \(trainer.batchesPerEpoch) batches/epoch, \(c.pastedScheduler ?? c.scheduler.rawValue) schedule, warm-up \(trainer.schedule.warmupIterations) iterations, scaler \(c.usesScaler ? "on" : "off")")
            print(TrainingTables.consoleHeader)
            let progress = ProgressLine()
            try session.run(stopAfter: stopAfterIterations, onIteration: { r in
                progress.update("epoch \(r.epoch + 1)/\(c.epochs) batch \(r.iteration % trainer.batchesPerEpoch + 1)/\(trainer.batchesPerEpoch) loss \(Format.fixed(r.loss, 4))")
            }, onEpoch: { r in
                progress.finish()
                print(TrainingTables.consoleLine(r))
            })
            progress.finish()
            if let last = session.results.last, let best = session.best {
                print("final validation accuracy \(Format.fixed(last.validationAccuracy, 4)) (best \(Format.fixed(best.accuracy, 4)) at epoch \(best.epoch)); \(session.results.reduce(0) { $0 + $1.skipped }) skipped steps")
            }
            if !trainer.isFinished { print("stopped after iteration \(trainer.iterationsDone) (resume with --resume \(session.directory ?? ".")/last.ckpt)") }
            if let dir = session.directory { print("wrote \(dir)/results.csv, trace.csv, last.ckpt and best.ckpt") }
        }
    }
}
