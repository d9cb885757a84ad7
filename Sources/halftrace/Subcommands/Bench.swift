import ArgumentParser
import Foundation
import HalfTraceAnchors
import HalfTraceKernels
import HalfTraceNN
import HalfTracePlot
import HalfTraceTraining

extension HalfTraceCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure training (bench, bench steps) or verify at COCO scale (bench verify).",
            subcommands: [Steps.self, VerifyBench.self], defaultSubcommand: Steps.self)
    }
}

extension HalfTraceCommand.Bench {
    struct Steps: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "steps",
            abstract: "Measure training steps/s, GEMM GFLOP/s, float16 and bfloat16 conversion rates and bytes per step.")

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        @Option(help: "Seconds of each timing (0.1...60).")
        var seconds: Double = 0.5

        @Option(help: "Timings of each training-step figure; the median is reported with the range (1...50).")
        var repeats: Int = 5

        @Option(help: "Only this model: tiny, mlp, wide, probe or detector (repeatable; default: the toy models). With --model or --precision, only the training-step figures.")
        var model: [TrainModel] = []

        @Option(help: "Only this precision (repeatable; default: fp32, fp16, amp, bf16, amp-bf16).")
        var precision: [Precision] = []

        @Option(help: "Threads a training step may use (1...8; default: the cores this process may use, at most 8). 1 measures the single-threaded step.")
        var threads: Int = GEMM.defaultThreadCount

        @Option(help: "Also draw the training steps per second into DIR/bench.png and bench.svg (needs gnuplot).")
        var plots: String?

        func validate() throws {
            guard (1...8).contains(threads) else { throw ValidationError("--threads \(threads) is outside 1...8") }
            guard (1...50).contains(repeats) else { throw ValidationError("--repeats \(repeats) is outside 1...50") }
            guard seconds.isFinite, (0.1...60).contains(seconds) else {
                throw ValidationError("--seconds \(seconds) is outside 0.1...60")
            }
        }

        func run() throws {
            if let plots {  // before minutes of timing, not after
                guard Gnuplot.executable != nil else { throw CommandFailure("--plots: \(Gnuplot.installHint)") }
                do { try Gnuplot.prepare(directory: plots) } catch let e as HalfTraceError { throw CommandFailure("--plots: \(e)") }
            }
            let progress = ProgressLine()
            var report = Benchmark.run(seconds: seconds, repeats: repeats, models: model.isEmpty ? ToyModel.allCases : model.compactMap(\.toy),
                                       detector: model.contains(.detector),
                                       precisions: precision.isEmpty ? Benchmark.defaultPrecisions : precision,
                                       stepsOnly: !model.isEmpty || !precision.isEmpty, threads: threads) {
                progress.update("bench: \($0)")
            }
            if model.isEmpty && precision.isEmpty {
                progress.update("bench: autoanchor")
                let wh = AutoAnchor.elongatedBoxes(count: 10_000, seed: 1)
                let clock = ContinuousClock()
                let t = clock.measure { _ = try? AutoAnchor.search(wh, n: 9, generations: 1000, seed: 0) }
                report.extra["autoanchor_10k_labels_1000_generations_s"] = t.seconds
            }
            progress.finish()
            print(json ? report.json : report.table)
            if let plots, let figure = BenchFigure.make(report, title: "halftrace bench: training steps per second (\(report.isa), \(report.threads) thread\(report.threads == 1 ? "" : "s"), \(repeats) timings of \(seconds) s each)") {
                do { try Gnuplot.render(figure, directory: plots) } catch let e as HalfTraceError { throw CommandFailure("--plots: \(e)") }
                if !json { print("wrote \(plots)/bench.png and bench.svg") }
            }
        }
    }
}
