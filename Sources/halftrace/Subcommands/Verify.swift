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
        enum TraceSchedule: String, ExpressibleByArgument, CaseIterable {
            case sgdr, onecycle, linear
            case timmCosine = "timm-cosine", hfLinear = "hf-linear", hfCosine = "hf-cosine", hfCosineRestarts = "hf-cosine-restarts"
            case hfPolynomial = "hf-polynomial", hfWSD = "hf-wsd", hfInverseSqrt = "hf-inverse-sqrt"

            /// The timm or transformers schedule of this name.
            var family: FamilyScheduleName? { FamilyScheduleName(rawValue: rawValue) }
        }

        static let configuration = CommandConfiguration(
            abstract: "Check a YOLOv5 or Ultralytics run (or a training loop's steps.csv, or any schedule's lr log) against the formulas.",
            discussion: """
            DIR is a run directory: YOLOv5 (opt.yaml, hyp.yaml, results.csv with x/lr0..2) or Ultralytics (args.yaml, \
            results.csv with lr/pg0..). The release's rules are recognised from the run's files (or --rules NAME: \
            \(ReleaseRules.names.joined(separator: ", "))). When DIR holds steps.csv (Tools/halftrace_steps.py), or with \
            --steps FILE, every iteration's lr, momentum, accumulate, optimizer step and loss scale is checked too. \
            Batches per epoch come from the dataset the run names when it is readable, else from --nb or steps.csv. \
            Exit 0 only when every logged value agrees.
            With --steps FILE and no DIR: a loop of one's own, its steps and loss scale (and, with --schedule, its lr).
            With --trace FILE --schedule sgdr|onecycle|linear: a CSV with an epoch (or step) column and an lr column, \
            logged from any scheduler, against the exact formula; PyTorch's misplaced SGDR restarts are named.
            """)

        @Argument(help: "The run directory.") var directory: String?
        @Option(help: "A steps.csv (default: DIR/steps.csv when it exists); without DIR, a training loop's log.") var steps: String?
        @Option(help: "The release rules to use instead of the ones the run's files point to (e.g. ultralytics-8.3, yolov5-6.1.5).") var rules: String?
        @Option(help: "Batches per epoch (when the run's dataset is not readable here).") var nb: Int?
        @Option(help: "Training images (Ultralytics' optimizer: auto, when the dataset is not readable).") var images: Int?
        @Option(help: "Classes (Ultralytics' optimizer: auto, when the dataset is not readable).") var classes: Int?
        @Option(help: "GradScaler's growth interval (default: inferred from the logged scale).") var growthInterval: Int?
        @Option(parsing: .unconditional, help: "GradScaler's growth factor (default: inferred).") var growthFactor: Double?
        @Option(parsing: .unconditional, help: "GradScaler's backoff factor (default: inferred).") var backoffFactor: Double?
        @Option(help: "Write the figure (verify.png, verify.svg) into this directory.") var plots: String?
        @Flag(help: "Print one JSON object.") var json = false
        @Option(help: "A per-step learning-rate CSV (columns epoch or step, and lr) to check instead of a run.") var trace: String?
        @Option(help: "The formula of --trace or --steps: sgdr (at epoch + i/nb), onecycle or linear (at the epoch); --trace also takes timm-cosine and the hf-* schedules (per step or epoch).") var schedule: TraceSchedule?
        @Option(parsing: .unconditional, help: "sgdr: base learning rate (--trace default 0.1; --steps default: each group's first lr).") var lr: Double?
        @Option(parsing: .unconditional, help: "onecycle/linear: initial learning rate (--trace default 0.01; --steps default: each group's first lr).") var lr0: Double?
        @Option(parsing: .unconditional, help: "onecycle/linear: final fraction (default 0.01).") var lrf: Double = 0.01
        @Option(help: "onecycle/linear: epochs of the schedule.") var epochs: Int?
        @OptionGroup(title: "sgdr") var restartFlags: RestartFlags
        @Option(name: .customLong("steps-per-epoch"), help: "--trace with a step column: steps per epoch (default 1).") var stepsPerEpoch: Int = 1
        @OptionGroup(title: "--schedule timm-cosine, hf-*") var familyFlags: FamilyScheduleFlags
        @Option(name: .customLong("scale-log"), help: "A logged loss scale (columns step, found_inf, scale) to check against --rule.") var scaleLog: String?
        @Option(help: "The loss-scaling rule of --scale-log: pytorch, megatron, deepspeed or deepspeed-fp16.") var rule: LossScaleRule.Framework?
        @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "--scale-log: initial scale (default: the log's first).") var initScale: Double?
        @Option(name: .customLong("min-scale"), parsing: .unconditional, help: "--scale-log: minimum scale.") var minScale: Double?
        @Option(help: "--scale-log: hysteresis (megatron).") var hysteresis: Int?
        @OptionGroup(title: "--scale-log --rule megatron, deepspeed, deepspeed-fp16") var ruleFlags: ScalerRuleFlags

        /// --scale-log's rule, with the scaler flags given.
        func scaleRule() throws -> LossScaleRule {
            guard let rule else { throw ValidationError("--scale-log needs --rule pytorch, megatron, deepspeed or deepspeed-fp16") }
            return try ruleFlags.rule(rule, initScale: initScale, growthFactor: growthFactor, backoffFactor: backoffFactor,
                                      growthInterval: growthInterval, minScale: minScale, hysteresis: hysteresis)
        }

        func validate() throws {
            let modes = [directory != nil, trace != nil, steps != nil && directory == nil, scaleLog != nil].filter { $0 }.count
            guard modes == 1 else { throw ValidationError("give a run directory, --steps FILE, --trace FILE or --scale-log FILE (one of them)") }
            if scaleLog != nil {
                for (flag, given) in [("--schedule", schedule != nil), ("--nb", nb != nil), ("--rules", rules != nil), ("--json", json),
                                      ("--plots", plots != nil)] where given {
                    throw ValidationError("\(flag) does not apply to --scale-log")
                }
                _ = try scaleRule()
                return
            }
            for (flag, given) in [("--rule", rule != nil), ("--init-scale", initScale != nil), ("--min-scale", minScale != nil),
                                  ("--hysteresis", hysteresis != nil), (ruleFlags.anyGiven ?? "", ruleFlags.anyGiven != nil)] where given {
                throw ValidationError("\(flag) applies to --scale-log")
            }
            if let nb { guard (1...1_000_000).contains(nb) else { throw ValidationError("--nb: \(nb) is outside 1...1000000") } }
            if let images { guard (1...1_000_000_000).contains(images) else { throw ValidationError("--images: \(images) is outside 1...1000000000") } }
            if let classes { guard (1...100_000).contains(classes) else { throw ValidationError("--classes: \(classes) is outside 1...100000") } }
            if let growthInterval { guard (1...1_000_000_000).contains(growthInterval) else { throw ValidationError("--growth-interval: \(growthInterval) is outside 1...1000000000") } }
            if let growthFactor { guard growthFactor.isFinite, growthFactor > 1 else { throw ValidationError("--growth-factor: \(growthFactor) is invalid: the growth factor must be > 1.0") } }
            if let backoffFactor { guard backoffFactor.isFinite, backoffFactor > 0, backoffFactor < 1 else { throw ValidationError("--backoff-factor: \(backoffFactor) is invalid: the backoff factor must be in (0, 1)") } }
            if let rules { guard ReleaseRules.named(rules) != nil else { throw ValidationError("--rules: '\(rules)' is none of \(ReleaseRules.names.joined(separator: ", "))") } }
            guard (1...1_000_000).contains(stepsPerEpoch) else { throw ValidationError("--steps-per-epoch: \(stepsPerEpoch) is outside 1...1000000") }
            for (flag, value) in [("--lr", lr), ("--lr0", lr0)] {
                if let value { guard value.isFinite, value >= 0 else { throw ValidationError("\(flag): \(value) is not a learning rate >= 0") } }
            }
            if directory != nil {
                if schedule != nil { throw ValidationError("--schedule applies to --trace and to --steps without a run directory; a run's schedule comes from its files") }
            } else if trace != nil {
                guard schedule != nil else { throw ValidationError("--trace needs --schedule sgdr, onecycle or linear") }
                _ = try formula(lr ?? 0.1, lr0 ?? 0.01)
            } else if let schedule {
                if schedule.family != nil {
                    throw ValidationError("--steps checks sgdr, onecycle or linear; check --schedule \(schedule.rawValue) on its lr log with --trace")
                }
                _ = try formula(lr ?? 0.1, lr0 ?? 0.01)
            }
            if rules != nil && directory == nil { throw ValidationError("--rules applies to a run directory") }
        }

        func formula(_ lr: Double, _ lr0: Double) throws -> TraceVerification.Formula {
            if let family = schedule?.family {
                return .family(try familyFlags.schedule(family, lr: lr, cycleDecay: restartFlags.cycleDecay, cycleLimit: restartFlags.cycleLimit))
            }
            var o = RestartOptions()
            restartFlags.apply(to: &o)
            switch schedule ?? .sgdr {
            case .sgdr:
                try validating { _ = try CosineWarmRestarts(baseLRs: [lr], t0: o.t0, tMult: o.tMult, etaMin: o.etaMin) }
                return .sgdr(lr: lr, t0: o.t0, tMult: o.tMult, etaMin: o.etaMin)
            case .timmCosine, .hfLinear, .hfCosine, .hfCosineRestarts, .hfPolynomial, .hfWSD, .hfInverseSqrt:
                throw ValidationError("--schedule \((schedule ?? .sgdr).rawValue) has no family")  // families returned above
            case .onecycle, .linear:
                guard let epochs else { throw ValidationError("--schedule \(schedule!.rawValue) needs --epochs") }
                try validating { try ScheduleTraces.validateLambda(cosine: schedule == .onecycle, lr0: lr0, lrf: lrf, epochs: epochs) }
                return schedule == .linear ? .linear(lr0: lr0, lrf: lrf, epochs: epochs) : .onecycle(lr0: lr0, lrf: lrf, epochs: epochs)
            }
        }

        var options: VerifyOptions {
            var o = VerifyOptions()
            o.batchesPerEpoch = nb
            o.images = images
            o.classes = classes
            o.rules = rules.flatMap(ReleaseRules.named)
            o.growthFactor = growthFactor
            o.backoffFactor = backoffFactor
            o.growthInterval = growthInterval
            return o
        }

        func run() throws {
            if let scaleLog {
                guard let data = FileManager.default.contents(atPath: scaleLog) else { throw HalfTraceError.inaccessible(scaleLog, "cannot read") }
                guard data.count <= 1 << 30 else { throw HalfTraceError.file(scaleLog, "\(data.count) bytes; at most 1 GB are read") }
                let result = try ScaleLogVerification.verify(TextFile.utf8(data, name: scaleLog), path: scaleLog, rule: try scaleRule(),
                                                             initScaleGiven: initScale != nil || ruleFlags.initialScale != nil)
                print(result.report)
                if !result.passes { throw ExitCode(1) }
                return
            }
            if let trace {
                guard let data = FileManager.default.contents(atPath: trace) else { throw HalfTraceError.inaccessible(trace, "cannot read") }
                guard data.count <= 256 << 20 else { throw HalfTraceError.file(trace, "\(data.count) bytes; at most 256 MB are read") }
                let result = try TraceVerification.verify(TextFile.utf8(data, name: trace), path: trace, formula: try formula(lr ?? 0.1, lr0 ?? 0.01),
                                                          stepsPerEpoch: stepsPerEpoch)
                print(json ? result.json : result.report)
                if !result.passes { throw ExitCode(1) }
                return
            }
            if directory == nil, let steps {
                let log = try StepsLog.load(steps)
                let f = try schedule.map { _ in try formula(lr ?? 1, lr0 ?? 1) }
                let result = try LoopVerification.verify(log, batchesPerEpoch: nb, formula: f, perBatch: schedule == .sgdr,
                                                         baseLR: schedule == .sgdr ? lr : lr0, options: options)
                print(result.report)
                try draw(VerifyFigure.make(result))
                if !result.passes { throw ExitCode(1) }
                return
            }
            let run = try LoggedRun.load(directory!, steps: steps)
            let verification = try RunVerification.verify(run, options)
            print(json ? verification.json : verification.report)
            try draw(VerifyFigure.make(verification))
            if !verification.passes { throw ExitCode(1) }
        }

        /// Writes the figure when --plots is given (or says how to get gnuplot).
        func draw(_ figure: @autoclosure () -> Figure) throws {
            guard let plots else { return }
            guard Gnuplot.executable != nil else {
                if !json { print(Gnuplot.installHint) }
                return
            }
            do {
                try Gnuplot.prepare(directory: plots)
                try Gnuplot.render(figure(), directory: plots)
                if !json { print("wrote \(plots)/verify.png and verify.svg") }
            } catch let e as HalfTraceError { throw CommandFailure("--plots: \(e)") }
        }
    }
}
