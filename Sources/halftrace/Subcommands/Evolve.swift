import ArgumentParser
import Foundation
import HalfTraceDetection
import HalfTraceEvolve
import HalfTraceFigures
import HalfTraceNN
import HalfTracePlot
import HalfTraceTraining

extension EvolveStrategy: ExpressibleByArgument {}
extension EvolveModel: ExpressibleByArgument {}

extension HalfTraceCommand {
    struct Evolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evolve the recipe's hyper-parameters on a toy model or the detector (YOLOv5's classic --evolve or its genetic algorithm).",
            discussion: "The detector evolves the schedule's, loss and augmentation keys with YOLOv5's fitness 0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95 of its final epoch. The toy models evolve the schedule's keys with fitness = 0.1 * accuracy + 0.9 * confident_accuracy, the mean validation accuracy at confidence >= 0.50, 0.55, ..., 0.95 (the spirit of YOLOv5's). Writes DIR/evolve.csv, DIR/hyp_evolve.yaml and DIR/evolve.png.")

        @Option(help: "tiny, mlp or detector.") var model: EvolveModel = .tiny
        @Option(help: "detector: a YOLO dataset folder with data.yaml (default: the synthetic shapes).") var data: String?
        @Option(help: "classic (YOLOv5 v7.0) or ga (YOLOv5 master, with range-scaled mutation).") var strategy: EvolveStrategy = .classic
        @Option(help: "Generations.") var generations: Int
        @Option(help: "Individuals per generation (classic YOLOv5 trains 1).") var population: Int = 8
        @Option(help: "Epochs each individual trains.") var epochs: Int = 10
        @Option(help: "Seed of the evolution and of every individual's initialisation and data order.") var seed: UInt64 = 0
        @Option(help: "Base hyper-parameters (a YOLOv5 hyp YAML; default hyp.scratch-low).") var hyp: String?
        @Option(help: "Output directory.") var out: String
        @Flag(help: "Continue the run in --out from its evolve.csv.") var resume = false

        var config: EvolveConfig {
            var c = EvolveConfig()
            c.model = model
            c.strategy = strategy
            c.generations = generations
            c.population = population
            c.epochs = epochs
            c.seed = seed
            c.detector.dataPath = data
            return c
        }

        func validate() throws { try validating { try config.validate() } }

        func run() throws {
            var c = config
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
            let evolution = try Evolution(config: c, directory: out, resume: resume)
            let progress = ProgressLine()
            let summary = try evolution.run { progress.update($0) }
            progress.finish()
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
