import ArgumentParser
import Foundation
import HalfTraceNN
import HalfTraceOptim
import HalfTraceTraining

extension ToyModel: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension OptimizerChoice: ExpressibleByArgument {}
extension GradScaler.HysteresisRefill: ExpressibleByArgument {}

extension HalfTraceCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a toy model with YOLOv5's recipe (warm-up, schedule, accumulation, clipping, loss scaling).")

        @Option(help: "tiny (two-moons), mlp (UCI digits) or wide (Gaussian clusters).") var model: ToyModel = .mlp
        @Option(help: "fp32, amp (float32 master weights, float16 autocast, GradScaler) or fp16 (float16 storage).")
        var precision: Precision = .fp32
        @Option(help: "Epochs (1...100000).") var epochs: Int = 30
        @Option(name: .customLong("batch-size"), help: "Batch size (default: the model's).") var batchSize: Int?
        @Option(help: "Nominal batch size for accumulation.") var nbs: Int = 64
        @Option(help: "sgd, adam or adamw.") var optimizer: OptimizerChoice = .sgd
        @Option(parsing: .unconditional, help: "Initial learning rate.") var lr0: Double?
        @Option(parsing: .unconditional, help: "Final learning-rate fraction.") var lrf: Double?
        @Option(parsing: .unconditional, help: "SGD momentum / Adam beta1.") var momentum: Double?
        @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "Weight decay (before scaling).") var weightDecay: Double?
        @Option(name: .customLong("warmup-epochs"), parsing: .unconditional, help: "Warm-up epochs.") var warmupEpochs: Double?
        @Option(name: .customLong("warmup-momentum"), parsing: .unconditional, help: "Initial warm-up momentum.") var warmupMomentum: Double?
        @Option(name: .customLong("warmup-bias-lr"), parsing: .unconditional, help: "Initial bias learning rate.") var warmupBiasLR: Double?
        @Flag(name: .customLong("cos-lr"), help: "one_cycle schedule instead of linear.") var cosLR = false
        @Flag(name: .customLong("yolov5-lag"), help: "Replay train.py's one-epoch scheduler lag.") var yolov5Lag = false
        @Option(name: .customLong("clip-norm"), parsing: .unconditional, help: "Gradient norm clip (0: off).") var clipNorm: Double = 10
        @Option(name: .customLong("loss-gain"), parsing: .unconditional, help: "YOLOv5's loss gain (its cls hyper-parameter).") var lossGain: Double = 1
        @Flag(name: .customLong("no-scaler"), help: "Train amp/fp16 without the GradScaler.") var noScaler = false
        @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "GradScaler initial scale.") var initScale: Double = 65536
        @Option(name: .customLong("growth-interval"), help: "GradScaler growth interval.") var growthInterval: Int = 2000
        @Option(name: .customLong("min-scale"), parsing: .unconditional, help: "GradScaler minimum scale.") var minScale: Double?
        @Option(name: .customLong("max-scale"), parsing: .unconditional, help: "GradScaler maximum scale.") var maxScale: Double?
        @Option(help: "Overflows tolerated before a backoff (1: PyTorch).") var hysteresis: Int = 1
        @Option(name: .customLong("hysteresis-refill"), help: "clean (apex) or growth (Megatron).") var hysteresisRefill: GradScaler.HysteresisRefill = .afterCleanStep
        @Option(help: "Seed of initialisation and data order.") var seed: UInt64 = 0
        @Option(help: "A digits CSV (p0..p63,label) instead of the bundled one.") var data: String?
        @Option(help: "Directory for results.csv and trace.csv.") var out: String?

        func config() -> TrainingConfig {
            var c = TrainingConfig()
            c.model = model
            c.precision = precision
            c.epochs = epochs
            c.batchSize = batchSize
            c.nominalBatchSize = nbs
            c.optimizer = optimizer
            if let lr0 { c.hyp.lr0 = lr0 }
            if let lrf { c.hyp.lrf = lrf }
            if let momentum { c.hyp.momentum = momentum }
            if let weightDecay { c.hyp.weightDecay = weightDecay }
            if let warmupEpochs { c.hyp.warmupEpochs = warmupEpochs }
            if let warmupMomentum { c.hyp.warmupMomentum = warmupMomentum }
            if let warmupBiasLR { c.hyp.warmupBiasLR = warmupBiasLR }
            c.cosineLR = cosLR
            c.yolov5Lag = yolov5Lag
            c.clipNorm = clipNorm
            c.lossGain = lossGain
            c.scaler.enabled = !noScaler
            c.scaler.initScale = initScale
            c.scaler.growthInterval = growthInterval
            c.scaler.minScale = minScale
            c.scaler.maxScale = maxScale
            c.scaler.hysteresis = hysteresis
            c.scaler.refill = hysteresisRefill
            c.seed = seed
            c.digitsPath = data
            return c
        }

        static let flags = ["epochs": "--epochs", "batch-size": "--batch-size", "nbs": "--nbs", "lr0": "--lr0",
                            "lrf": "--lrf", "momentum": "--momentum", "weight_decay": "--weight-decay",
                            "warmup_epochs": "--warmup-epochs", "warmup_momentum": "--warmup-momentum",
                            "warmup_bias_lr": "--warmup-bias-lr", "clip-norm": "--clip-norm", "loss-gain": "--loss-gain",
                            "init_scale": "--init-scale", "growth_interval": "--growth-interval",
                            "min_scale": "--min-scale", "max_scale": "--max-scale", "hysteresis": "--hysteresis"]

        func run() throws {
            try naming(Self.flags) {
                let c = config()
                try c.validate()
                if let out { try AtomicFile.makeDirectory(out) }
                let trainer: Trainer
                do { trainer = try Trainer(config: c) } catch let e as DataError { throw CommandError("--data: \(e)") }
                try train(trainer)
            }
        }

        func train(_ trainer: Trainer) throws {
            let c = trainer.config
            print("halftrace train: \(c.model.rawValue) \(c.model.sizes.map(String.init).joined(separator: "-")) on \(trainer.data.source)")
            print("  \(c.precision.rawValue), \(c.optimizer.rawValue), \(c.epochs) epochs, batch \(c.effectiveBatchSize), \(trainer.batchesPerEpoch) batches/epoch, warm-up \(trainer.warmup.warmupIterations) iterations, accumulate \(trainer.warmup.accumulate) at the end of warm-up, scaler \(c.usesScaler ? "on" : "off")")
            print(TrainingTables.consoleHeader)
            let progress = ProgressLine()
            var results: [EpochResult] = [], records: [IterationRecord] = []
            try trainer.run(onIteration: { r in
                records.append(r)
                progress.update("epoch \(r.epoch + 1)/\(c.epochs) batch \(r.iteration % trainer.batchesPerEpoch + 1)/\(trainer.batchesPerEpoch) loss \(Format.fixed(r.loss, 4))")
            }, onEpoch: { r in
                progress.finish()
                results.append(r)
                print(TrainingTables.consoleLine(r))
                if let out {
                    try AtomicFile.write(TrainingTables.results(results), to: out + "/results.csv")
                    try AtomicFile.write(TrainingTables.trace(records), to: out + "/trace.csv")
                }
            })
            if let last = results.last, let best = results.max(by: { $0.validationAccuracy < $1.validationAccuracy }) {
                print("final validation accuracy \(Format.fixed(last.validationAccuracy, 4)) (best \(Format.fixed(best.validationAccuracy, 4)) at epoch \(best.epoch)); \(results.reduce(0) { $0 + $1.skipped }) skipped steps")
            }
            if let out { print("wrote \(out)/results.csv and \(out)/trace.csv") }
        }
    }
}
