import ArgumentParser
import Foundation
import HalfTraceDetection
import HalfTraceEvolve
import HalfTraceFigures
import HalfTraceKernels
import HalfTraceNN
import HalfTracePlot
import HalfTraceTraining

extension EvolveStrategy: ExpressibleByArgument {}
extension EvolveModel: ExpressibleByArgument {}

extension HalfTraceCommand {
    struct Evolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evolve the recipe's hyper-parameters on a toy model or the detector (YOLOv5's classic --evolve or its genetic algorithm).",
            discussion: "The detector evolves the schedule's, loss and augmentation keys with YOLOv5's fitness 0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95 of its final epoch. The toy models evolve the schedule's keys with fitness = 0.1 * accuracy + 0.9 * confident_accuracy, the mean validation accuracy at confidence >= 0.50, 0.55, ..., 0.95 (the spirit of YOLOv5's). Writes DIR/evolve.csv, DIR/hyp_evolve.yaml and DIR/evolve.png. Over machines: every machine runs the same command with --shard K/N and the same --out on a shared file system (NFS, a Kubernetes volume); shard K trains the individuals i with i mod N = K of each generation, after every shard has written the generations before it (evolve-K-of-N.csv), so the parents are those one machine would pick; then evolve --merge DIR --out DIR writes the evolve.csv one machine writes, byte for byte.")

        @Option(help: "tiny, mlp or detector (default tiny).") var model: EvolveModel?
        @Option(help: "detector: a YOLO dataset folder with data.yaml (default: the synthetic shapes).") var data: String?
        @Option(help: "classic (YOLOv5 v7.0, the default) or ga (YOLOv5 master, with range-scaled mutation).") var strategy: EvolveStrategy?
        @Option(help: "Generations.") var generations: Int?
        @Option(help: "Individuals per generation (default 8; classic YOLOv5 trains 1).") var population: Int?
        @Option(help: "Epochs each individual trains (default 10).") var epochs: Int?
        @Option(help: "Seed of the evolution and of every individual's initialisation and data order (default 0).") var seed: UInt64?
        @Option(help: "Base hyper-parameters (a YOLOv5 hyp YAML; default hyp.scratch-low).") var hyp: String?
        @Option(help: "Output directory (shared by the shards).") var out: String
        @Flag(help: "Continue the run in --out from its evolve.csv.") var resume = false
        @Option(help: "Run shard K of N (0 <= K < N <= population), e.g. $SLURM_ARRAY_TASK_ID/16, in the shared --out.") var shard: String?
        @Option(parsing: .upToNextOption, help: "Join the shards' files in these directories into --out/evolve.csv instead of training.") var merge: [String] = []

        var config: EvolveConfig {
            var c = EvolveConfig()
            c.model = model ?? .tiny
            c.strategy = strategy ?? .classic
            c.generations = generations ?? 0
            c.population = population ?? 8
            c.epochs = epochs ?? 10
            c.seed = seed ?? 0
            c.detector.dataPath = data
            return c
        }

        func validate() throws {
            if !merge.isEmpty {
                for (flag, given) in [("--model", model != nil), ("--data", data != nil), ("--strategy", strategy != nil), ("--generations", generations != nil),
                                      ("--population", population != nil), ("--epochs", epochs != nil), ("--seed", seed != nil), ("--hyp", hyp != nil),
                                      ("--resume", resume), ("--shard", shard != nil)] where given {
                    throw ValidationError("\(flag) does not apply to --merge (the shards' evolve_config.json holds the run's configuration)")
                }
                return
            }
            guard generations != nil else { throw ValidationError("--generations: missing (how many generations to evolve)") }
            if let shard {
                let s: WorkShard
                do { s = try WorkShard(parsing: shard) } catch let e as HalfTraceError { throw ValidationError("--shard: \(e.reason)") }
                if resume { throw ValidationError("--resume does not apply to --shard: a shard always continues its own file in --out") }
                if s.count > config.population {
                    throw ValidationError("--shard: \(s) of a population of \(config.population): each shard trains the individuals i mod \(s.count) = K of each generation, so \(s.count) shards need --population \(s.count) or more")
                }
            }
            try validating { try config.validate() }
        }

        func run() throws {
            if !merge.isEmpty { return try runMerge() }
            var c = config
            let model = c.model
            if let hyp {
                let loaded = try HypFile.load(hyp)
                c.base = loaded.hyp
                var ignored = loaded.ignored
                if model == .detector {
                    for key in DetectorHyperparameters.keys { if let v = loaded.others[key.name] { c.detector.detection[keyPath: key.keyPath] = v } }
                    ignored.removeAll { DetectorHyperparameters.key($0) != nil }
                    try validating { try c.validate() }
                }
                if !ignored.isEmpty { print("--hyp: ignored keys the \(model == .detector ? "detector" : "toy recipe") does not use: \(ignored.joined(separator: ", "))") }
            }
            let s = try shard.map { try WorkShard(parsing: $0) } ?? .whole
            let evolution = try Evolution(config: c, directory: out, resume: resume, shard: s)
            let progress = ProgressLine()
            let summary = try evolution.run { progress.update($0) }
            progress.finish()
            if s.count > 1 {
                print("evolve shard \(s): \(summary.trained) individuals trained now; wrote \(evolution.csvPath)")
                print("when every shard has finished: halftrace evolve --merge \(out) --out \(out)")
                return
            }
            try report(summary, config: c)
        }

        /// `--merge`: the shards' files joined, the summary and the figure.
        func runMerge() throws {
            let (c, summary) = try Evolution.merge(merge, into: out)
            print("merged \(merge.count == 1 ? merge[0] : "\(merge.count) directories") into \(out)/evolve.csv (\(summary.records.count) individuals)")
            try report(summary, config: c)
        }

        /// The summary lines, hyp_evolve.yaml's use and the figure.
        func report(_ summary: EvolveSummary, config c: EvolveConfig) throws {
            let model = c.model, strategy = c.strategy, generations = c.generations, population = c.population
            let b = summary.best, d = summary.base
            print("evolved \(model.rawValue) with \(strategy.rawValue): \(summary.records.count) individuals (\(summary.trained) trained now) over \(generations) generations of \(population)")
            print(model == .detector ? "fitness = 0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95 (YOLOv5's), of each individual's final epoch"
                                     : "fitness = 0.1 * accuracy + 0.9 * confident_accuracy (mean accuracy at confidence >= 0.50:0.95)")
            func metrics(_ r: EvolveRecord) -> String {
                zip(EvolveCSV.metricColumns(for: model), r.metrics.values).prefix(4).map { "\($0) \(Format.fixed($1, 4))" }.joined(separator: ", ")
            }
            print("  default hyper-parameters: fitness \(Format.fixed(d.fitness, 4)) (\(metrics(d)))")
            print("  best (generation \(b.generation), individual \(b.individual)): fitness \(Format.fixed(b.fitness, 4)) (\(metrics(b)))")
            print("  " + zip(c.table, b.hyp).map { "\($0.name) \($1)" }.joined(separator: ", "))
            if let figure = EvolveFigure.make(summary.records, table: c.table, title: "Hyper-parameter evolution (\(strategy.rawValue), \(model.rawValue)): fitness against each hyper-parameter (+ the best individual)") {
                if Gnuplot.executable == nil {
                    print(Gnuplot.installHint)
                } else {
                    do { try Gnuplot.render(figure, directory: out, svg: false) } catch { print("figure: \(error)") }
                }
            }
            print("wrote \(out)/evolve.csv, hyp_evolve.yaml\(Gnuplot.executable == nil ? "" : ", evolve.png") (use: halftrace train --model \(model.rawValue) --hyp \(out)/hyp_evolve.yaml)")
        }
    }
}
