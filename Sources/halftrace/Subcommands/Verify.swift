import ArgumentParser
import Foundation
import HalfTraceKernels
import HalfTraceOptim
import HalfTracePlot
import HalfTraceTraces
import HalfTraceTraining
import HalfTraceVerify

extension HalfTraceCommand {
    struct Verify: ParsableCommand {
        enum TraceSchedule: String, ExpressibleByArgument, CaseIterable { case sgdr, onecycle, linear }

        static let configuration = CommandConfiguration(
            abstract: "Check a YOLOv5 or Ultralytics run's logged learning rates against the formulas (or a per-step lr log with --trace).",
            discussion: """
            DIR is a run directory: YOLOv5 (opt.yaml, hyp.yaml, results.csv with x/lr0..2) or Ultralytics (args.yaml, \
            results.csv with lr/pg0..2). Batches per epoch come from the dataset the run names when it is readable, \
            else from --nb. Exit 0 only when every logged value agrees to the digits printed.
            With --trace FILE --schedule sgdr|onecycle|linear, a CSV with an epoch (or step) column and an lr column, \
            logged from any scheduler, is checked against the exact formula; PyTorch's misplaced SGDR restarts are named.
            """)

        @Argument(help: "The run directory.") var directory: String?
        @Option(help: "Batches per epoch (when the run's dataset is not readable here).") var nb: Int?
        @Option(help: "Training images (Ultralytics' optimizer: auto, when the dataset is not readable).") var images: Int?
        @Option(help: "Classes (Ultralytics' optimizer: auto, when the dataset is not readable).") var classes: Int?
        @Option(help: "Write the figure (verify.png, verify.svg) into this directory.") var plots: String?
        @Flag(help: "Print one JSON object.") var json = false
        @Option(help: "A per-step learning-rate CSV (columns epoch or step, and lr) to check instead of a run.") var trace: String?
        @Option(help: "The formula of --trace: sgdr, onecycle or linear.") var schedule: TraceSchedule?
        @Option(parsing: .unconditional, help: "--trace sgdr: base learning rate (default 0.1).") var lr: Double = 0.1
        @Option(parsing: .unconditional, help: "--trace onecycle/linear: initial learning rate (default 0.01).") var lr0: Double = 0.01
        @Option(parsing: .unconditional, help: "--trace onecycle/linear: final fraction (default 0.01).") var lrf: Double = 0.01
        @Option(help: "--trace onecycle/linear: epochs of the schedule.") var epochs: Int?
        @OptionGroup(title: "--trace sgdr") var restartFlags: RestartFlags
        @Option(name: .customLong("steps-per-epoch"), help: "--trace with a step column: steps per epoch (default 1).") var stepsPerEpoch: Int = 1

        func validate() throws {
            guard (directory == nil) != (trace == nil) else { throw ValidationError("give a run directory or --trace FILE (one of them)") }
            if let nb { guard (1...1_000_000).contains(nb) else { throw ValidationError("--nb: \(nb) is outside 1...1000000") } }
            if let images { guard (1...1_000_000_000).contains(images) else { throw ValidationError("--images: \(images) is outside 1...1000000000") } }
            if let classes { guard (1...100_000).contains(classes) else { throw ValidationError("--classes: \(classes) is outside 1...100000") } }
            guard (1...1_000_000).contains(stepsPerEpoch) else { throw ValidationError("--steps-per-epoch: \(stepsPerEpoch) is outside 1...1000000") }
            if trace != nil {
                guard schedule != nil else { throw ValidationError("--trace needs --schedule sgdr, onecycle or linear") }
                _ = try formula()
            } else if schedule != nil {
                throw ValidationError("--schedule applies to --trace")
            }
        }

        func formula() throws -> TraceVerification.Formula {
            var o = RestartOptions()
            restartFlags.apply(to: &o)
            switch schedule ?? .sgdr {
            case .sgdr:
                try validating { _ = try CosineWarmRestarts(baseLRs: [lr], t0: o.t0, tMult: o.tMult, etaMin: o.etaMin) }
                return .sgdr(lr: lr, t0: o.t0, tMult: o.tMult, etaMin: o.etaMin)
            case .onecycle, .linear:
                guard let epochs else { throw ValidationError("--schedule \(schedule!.rawValue) needs --epochs") }
                try validating { try ScheduleTraces.validateLambda(cosine: schedule == .onecycle, lr0: lr0, lrf: lrf, epochs: epochs) }
                return schedule == .linear ? .linear(lr0: lr0, lrf: lrf, epochs: epochs) : .onecycle(lr0: lr0, lrf: lrf, epochs: epochs)
            }
        }

        func run() throws {
            if let trace {
                guard let data = FileManager.default.contents(atPath: trace) else { throw HalfTraceError.inaccessible(trace, "cannot read") }
                guard data.count <= 256 << 20 else { throw HalfTraceError.file(trace, "\(data.count) bytes; at most 256 MB are read") }
                let result = try TraceVerification.verify(TextFile.utf8(data, name: trace), path: trace, formula: try formula(),
                                                          stepsPerEpoch: stepsPerEpoch)
                print(json ? result.json : result.report)
                if !result.passes { throw ExitCode(1) }
                return
            }
            let run = try LoggedRun.load(directory!)
            let verification = try RunVerification.verify(run, batchesPerEpoch: nb, images: images, classes: classes)
            print(json ? verification.json : verification.report)
            if let plots {
                if Gnuplot.executable == nil {
                    if !json { print(Gnuplot.installHint) }
                } else {
                    do {
                        try Gnuplot.prepare(directory: plots)
                        try Gnuplot.render(VerifyFigure.make(verification), directory: plots)
                        if !json { print("wrote \(plots)/verify.png and verify.svg") }
                    } catch let e as HalfTraceError { throw CommandFailure("--plots: \(e)") }
                }
            }
            if !verification.passes { throw ExitCode(1) }
        }
    }
}
