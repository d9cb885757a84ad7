import ArgumentParser
import Foundation
import HalfTraceEvolve
import HalfTraceNN
import HalfTracePlot
import HalfTraceTraining

extension EvolveStrategy: ExpressibleByArgument {}

extension HalfTraceCommand {
    struct Evolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evolve the recipe's hyper-parameters on a toy model (YOLOv5's classic --evolve or its genetic algorithm).",
            discussion: "fitness = 0.1 * accuracy + 0.9 * confident_accuracy, the mean validation accuracy at confidence >= 0.50, 0.55, ..., 0.95 (the spirit of 0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95). Writes DIR/evolve.csv, DIR/hyp_evolve.yaml and DIR/evolve.png.")

        @Option(help: "tiny or mlp.") var model: ToyModel = .tiny
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
            return c
        }

        func validate() throws { try validating { try config.validate() } }

        func run() throws {
            var c = config
            if let hyp {
                let loaded = try HypFile.load(hyp)
                c.base = loaded.hyp
                if !loaded.ignored.isEmpty { print("--hyp: ignored keys the toy recipe does not use: \(loaded.ignored.joined(separator: ", "))") }
            }
            let evolution = try Evolution(config: c, directory: out, resume: resume)
            let progress = ProgressLine()
            let summary = try evolution.run { progress.update($0) }
            progress.finish()
            let b = summary.best, d = summary.base
            print("evolved \(model.rawValue) with \(strategy.rawValue): \(summary.records.count) individuals (\(summary.trained) trained now) over \(generations) generations of \(population)")
            print("fitness = 0.1 * accuracy + 0.9 * confident_accuracy (mean accuracy at confidence >= 0.50:0.95)")
            print("  default hyper-parameters: fitness \(Format.fixed(d.fitness, 4)) (accuracy \(Format.fixed(d.metrics.accuracy, 4)), confident accuracy \(Format.fixed(d.metrics.confidentAccuracy, 4)))")
            print("  best (generation \(b.generation), individual \(b.individual)): fitness \(Format.fixed(b.fitness, 4)) (accuracy \(Format.fixed(b.metrics.accuracy, 4)), confident accuracy \(Format.fixed(b.metrics.confidentAccuracy, 4)))")
            print("  " + zip(HyperparameterMeta.table, b.hyp).map { "\($0.name) \($1)" }.joined(separator: ", "))
            if let figure = EvolveFigure.make(summary.records, title: "Hyper-parameter evolution (\(strategy.rawValue), \(model.rawValue)): fitness against each hyper-parameter (+ the best individual)") {
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
