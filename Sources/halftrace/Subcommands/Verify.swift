import ArgumentParser
import Foundation
import HalfTraceFigures
import HalfTraceKernels
import HalfTraceOptim
import HalfTracePlot
import HalfTraceTraces
import HalfTraceTraining
import HalfTraceVerify

extension LoopVerification.StepRule: ExpressibleByArgument {}
extension LoopVerification.LastWindow: ExpressibleByArgument {}

extension HalfTraceCommand {
    /// `verify`: one subcommand per kind of log, each with only the flags it uses.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a logged run, a training loop's steps, an lr log or a loss-scale log against the formulas.",
            discussion: """
            verify run DIR (the default: verify DIR) checks a YOLOv5 or Ultralytics run directory; verify steps FILE a \
            steps.csv from a loop of one's own; verify trace FILE an lr log from any scheduler; verify scale-log FILE a \
            logged loss scale against a framework's rule. Exit status, as diff's: 0 every value agrees, 1 a disagreement, \
            2 could not check (a file unreadable or invalid, a column missing, a release refused), 64 a usage error.
            """,
            subcommands: [RunCheck.self, StepsCheck.self, TraceCheck.self, ScaleLogCheck.self],
            defaultSubcommand: RunCheck.self)

        static let subcommandNames: Set<String> = ["run", "steps", "trace", "scale-log", "help"]
        /// Flags of the old single `verify` that take no value (for `rewritingOldSpellings`).
        static let valuelessFlags: Set<String> = ["--json", "--warmup-prefix", "--consecutive-hysteresis", "--raise-error-at-min-scale",
                                                  "--no-raise-error-at-min-scale", "--infer-scaler", "-h", "--help"]

        /// The spellings of the single `verify` command before it had subcommands, rewritten to
        /// them: `verify --trace FILE ...` is `verify trace FILE ...`, `verify --scale-log FILE
        /// --rule R ...` is `verify scale-log FILE --scaler-rule R ...`, and `verify --steps FILE
        /// ...` without a run directory is `verify steps FILE ...`.
        static func rewritingOldSpellings(_ arguments: [String]) -> [String] {
            guard arguments.first == "verify", arguments.count > 1, !subcommandNames.contains(arguments[1]) else { return arguments }
            var rest = Array(arguments.dropFirst())
            func take(_ flag: String) -> String? {
                guard let k = rest.firstIndex(of: flag), k + 1 < rest.count else { return nil }
                let value = rest[k + 1]
                rest.removeSubrange(k...(k + 1))
                return value
            }
            var positional = false
            var k = 0
            while k < rest.count {
                let a = rest[k]
                if a.hasPrefix("-") { k += valuelessFlags.contains(a) || a.contains("=") ? 1 : 2 } else { positional = true; k += 1 }
            }
            if let file = take("--trace") { return ["verify", "trace", file] + rest }
            if let file = take("--scale-log") {
                return ["verify", "scale-log", file] + rest.map { $0 == "--rule" ? "--scaler-rule" : $0 }
            }
            if !positional, let file = take("--steps") { return ["verify", "steps", file] + rest }
            return arguments
        }
    }
}

/// Refuses every given flag that `allowed` does not hold, naming it and what it applies to.
func refuseFlags(_ given: [(String, Bool)], allowed: Set<String>, _ context: String) throws {
    if let (flag, _) = given.first(where: { $0.1 && !allowed.contains($0.0) }) {
        throw ValidationError("\(flag) does not apply to \(context)")
    }
}

/// `--plots DIR` and `--json`, shared by the verify subcommands.
struct VerifyOutputFlags: ParsableArguments {
    @Option(help: "Write the figure (verify.png, verify.svg) into this directory.") var plots: String?
    @Flag(help: "Print one JSON object instead of the table.") var json = false

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

/// GradScaler's settings for a steps.csv with a loss scale.
struct ScalerCheckFlags: ParsableArguments {
    @Option(help: "GradScaler's growth interval (default: the log header's, else PyTorch's 2000).") var growthInterval: Int?
    @Option(parsing: .unconditional, help: "GradScaler's growth factor (default: the log header's, else 2).") var growthFactor: Double?
    @Option(parsing: .unconditional, help: "GradScaler's backoff factor (default: the log header's, else 0.5).") var backoffFactor: Double?
    @Flag(name: .customLong("infer-scaler"), help: "Infer the scaler settings not given from the log itself (said so in the report).") var infer = false

    var given: [(String, Bool)] {
        [("--growth-interval", growthInterval != nil), ("--growth-factor", growthFactor != nil), ("--backoff-factor", backoffFactor != nil),
         ("--infer-scaler", infer)]
    }

    func validate() throws {
        if let growthInterval { guard (1...1_000_000_000).contains(growthInterval) else { throw ValidationError("--growth-interval: \(growthInterval) is outside 1...1000000000") } }
        if let growthFactor { guard growthFactor.isFinite, growthFactor > 1 else { throw ValidationError("--growth-factor: \(growthFactor) is invalid: the growth factor must be > 1.0") } }
        if let backoffFactor { guard backoffFactor.isFinite, backoffFactor > 0, backoffFactor < 1 else { throw ValidationError("--backoff-factor: \(backoffFactor) is invalid: the backoff factor must be in (0, 1)") } }
    }

    var settings: ScaleVerification.Given {
        ScaleVerification.Given(growthFactor: growthFactor, backoffFactor: backoffFactor, growthInterval: growthInterval, infer: infer)
    }

    /// Refuses the flags when the log has no loss scale.
    func refuseUnlessScaled(_ steps: StepsLog) throws {
        guard !steps.hasScaler, let (flag, _) = given.first(where: \.1) else { return }
        throw ValidationError("\(flag) applies to a steps.csv with a loss scale; \(steps.path) has no scale column")
    }
}

/// The schedule `verify steps` and `verify trace` check an lr against, with each schedule's own flags.
struct VerifyScheduleFlags: ParsableArguments {
    enum Schedule: String, ExpressibleByArgument, CaseIterable {
        case sgdr, onecycle, linear
        case timmCosine = "timm-cosine", hfLinear = "hf-linear", hfCosine = "hf-cosine", hfCosineRestarts = "hf-cosine-restarts"
        case hfPolynomial = "hf-polynomial", hfWSD = "hf-wsd", hfInverseSqrt = "hf-inverse-sqrt"

        /// The timm or transformers schedule of this name.
        var family: FamilyScheduleName? { FamilyScheduleName(rawValue: rawValue) }
    }

    @Option(help: "The formula: sgdr (PyTorch's CosineAnnealingWarmRestarts), onecycle or linear (YOLOv5's), timm-cosine or an hf-* schedule (verify trace).")
    var schedule: Schedule?
    @Option(parsing: .unconditional, help: "sgdr, timm-cosine, hf-*: the optimizer's base learning rate.") var lr: Double?
    @Option(parsing: .unconditional, help: "onecycle, linear: the initial learning rate.") var lr0: Double?
    @Option(parsing: .unconditional, help: "onecycle, linear: the final fraction (default 0.01).") var lrf: Double?
    @Option(help: "onecycle, linear: epochs of the schedule.") var epochs: Int?
    @Option(name: .customLong("t0"), help: "sgdr: epochs of the first cycle (default 10).") var t0: Int?
    @Option(name: .customLong("t-mult"), help: "sgdr: cycle length factor (default 2).") var tMult: Int?
    @Option(name: .customLong("eta-min"), parsing: .unconditional, help: "sgdr: minimum learning rate (default 0).") var etaMin: Double?
    @Option(name: .customLong("cycle-decay"), parsing: .unconditional, help: "timm-cosine: peak decay per cycle (default 1).") var cycleDecay: Double?
    @Option(name: .customLong("cycle-limit"), help: "timm-cosine: cycles before the lr stays at lr-min (default 1).") var cycleLimit: Int?
    @OptionGroup(title: "--schedule timm-cosine, hf-*") var familyFlags: FamilyScheduleFlags

    /// The flags only some schedules take.
    var given: [(String, Bool)] {
        [("--lr", lr != nil), ("--lr0", lr0 != nil), ("--lrf", lrf != nil), ("--epochs", epochs != nil), ("--t0", t0 != nil),
         ("--t-mult", tMult != nil), ("--eta-min", etaMin != nil)]
    }

    /// The schedule's formula with `lr`/`lr0` defaulting to `defaultLR`, refusing a flag it does
    /// not take (and any schedule flag without a schedule).
    func formula(defaultLR: Double, allowFamilies: Bool) throws -> TraceVerification.Formula? {
        guard let schedule else {
            try refuseFlags(given + [("--cycle-decay", cycleDecay != nil), ("--cycle-limit", cycleLimit != nil)], allowed: [], "a check without --schedule")
            if let flag = familyFlags.anyGiven { throw ValidationError("\(flag) does not apply to a check without --schedule") }
            return nil
        }
        for (flag, value) in [("--lr", lr), ("--lr0", lr0)] {
            if let value { guard value.isFinite, value >= 0 else { throw ValidationError("\(flag): \(value) is not a learning rate >= 0") } }
        }
        if let family = schedule.family {
            guard allowFamilies else {
                throw ValidationError("verify steps checks sgdr, onecycle or linear; check --schedule \(schedule.rawValue) on its lr log with verify trace")
            }
            try refuseFlags(given, allowed: ["--lr"], "--schedule \(schedule.rawValue)")
            return .family(try familyFlags.schedule(family, lr: lr ?? defaultLR, cycleDecay: cycleDecay, cycleLimit: cycleLimit))
        }
        try refuseFlags([("--cycle-decay", cycleDecay != nil), ("--cycle-limit", cycleLimit != nil)], allowed: [], "--schedule \(schedule.rawValue) (timm-cosine only)")
        if let flag = familyFlags.anyGiven { throw ValidationError("\(flag) does not apply to --schedule \(schedule.rawValue)") }
        switch schedule {
        case .sgdr:
            try refuseFlags(given, allowed: ["--lr", "--t0", "--t-mult", "--eta-min"], "--schedule sgdr")
            let (base, t, m, eta) = (lr ?? defaultLR, t0 ?? 10, tMult ?? 2, etaMin ?? 0)
            try validating { _ = try CosineWarmRestarts(baseLRs: [base], t0: t, tMult: m, etaMin: eta) }
            return .sgdr(lr: base, t0: t, tMult: m, etaMin: eta)
        default:
            try refuseFlags(given, allowed: ["--lr0", "--lrf", "--epochs"], "--schedule \(schedule.rawValue)")
            guard let epochs else { throw ValidationError("--schedule \(schedule.rawValue) needs --epochs") }
            let (base, f) = (lr0 ?? defaultLR, lrf ?? 0.01)
            try validating { try ScheduleTraces.validateLambda(cosine: schedule == .onecycle, lr0: base, lrf: f, epochs: epochs) }
            return schedule == .linear ? .linear(lr0: base, lrf: f, epochs: epochs) : .onecycle(lr0: base, lrf: f, epochs: epochs)
        }
    }

    /// The base lr given (sgdr: --lr, onecycle/linear: --lr0).
    var baseLR: Double? { schedule == .sgdr ? lr : lr0 }
}

/// Batches per epoch, one name everywhere (`--nb`); `--steps-per-epoch` is an old spelling.
struct BatchesPerEpochFlag: ParsableArguments {
    @Option(help: "Batches (scheduler steps) per epoch.") var nb: Int?
    @Option(name: .customLong("steps-per-epoch"), help: .hidden) var stepsPerEpoch: Int?

    var value: Int? { nb ?? stepsPerEpoch }

    func validate() throws {
        if nb != nil && stepsPerEpoch != nil { throw ValidationError("--steps-per-epoch is the old name of --nb: give one") }
        if let value { guard (1...1_000_000).contains(value) else { throw ValidationError("--nb: \(value) is outside 1...1000000") } }
    }
}

extension HalfTraceCommand.Verify {
    struct RunCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Check a YOLOv5 or Ultralytics run directory (the default: verify DIR).",
            discussion: """
            DIR holds YOLOv5's opt.yaml, hyp.yaml and results.csv (x/lr0..2) or Ultralytics' args.yaml and results.csv \
            (lr/pg0..). The release's rules are recognised from the run's files (or --release NAME: \
            \(ReleaseRules.names.joined(separator: ", "))). With steps.csv (Tools/halftrace_steps.py) in DIR or given, every \
            iteration's lr, momentum, accumulate, optimizer step and loss scale is checked too. Batches per epoch come from \
            the dataset the run names when it is readable, else from --nb or steps.csv.
            """)

        @Argument(help: "The run directory.") var directory: String
        @Option(name: .customLong("steps-csv"), help: "A steps.csv (default: DIR/steps.csv when it exists).") var stepsCSV: String?
        @Option(name: .customLong("steps"), help: .hidden) var stepsAlias: String?
        @Option(help: "The release rules to use instead of the ones the run's files point to (e.g. ultralytics-8.3, yolov5-6.1.5).") var release: String?
        @Option(name: .customLong("rules"), help: .hidden) var rulesAlias: String?
        @OptionGroup var batches: BatchesPerEpochFlag
        @Option(help: "Training images (Ultralytics' optimizer: auto, when the dataset is not readable).") var images: Int?
        @Option(help: "Classes (Ultralytics' optimizer: auto, when the dataset is not readable).") var classes: Int?
        @OptionGroup(title: "A steps.csv with a loss scale") var scaler: ScalerCheckFlags
        @OptionGroup var output: VerifyOutputFlags

        var releaseName: String? { release ?? rulesAlias }
        var steps: String? { stepsCSV ?? stepsAlias }

        func validate() throws {
            if release != nil && rulesAlias != nil { throw ValidationError("--rules is the old name of --release: give one") }
            if stepsCSV != nil && stepsAlias != nil { throw ValidationError("--steps is the old name of --steps-csv: give one") }
            if let images { guard (1...1_000_000_000).contains(images) else { throw ValidationError("--images: \(images) is outside 1...1000000000") } }
            if let classes { guard (1...100_000).contains(classes) else { throw ValidationError("--classes: \(classes) is outside 1...100000") } }
            if let releaseName { guard ReleaseRules.named(releaseName) != nil else { throw ValidationError("--release: '\(releaseName)' is none of \(ReleaseRules.names.joined(separator: ", "))") } }
        }

        func run() throws {
            let run = try LoggedRun.load(directory, steps: steps)
            if let steps = run.steps { try scaler.refuseUnlessScaled(steps) } else if let (flag, _) = scaler.given.first(where: \.1) {
                throw ValidationError("\(flag) applies to a run with a steps.csv; \(directory) has none")
            }
            if run.package == .yolov5, let (flag, _) = [("--images", images != nil), ("--classes", classes != nil)].first(where: \.1) {
                throw ValidationError("\(flag) applies to Ultralytics' optimizer: auto; \(directory) is a YOLOv5 run")
            }
            if run.package == .ultralytics, RunPlan.canonical(run.optimizer) != "auto", let (flag, _) = [("--images", images != nil), ("--classes", classes != nil)].first(where: \.1) {
                throw ValidationError("\(flag) applies to Ultralytics' optimizer: auto; \(directory) was trained with optimizer: \(run.optimizer)")
            }
            var o = VerifyOptions()
            o.batchesPerEpoch = batches.value
            o.images = images
            o.classes = classes
            o.rules = releaseName.flatMap(ReleaseRules.named)
            o.scaler = scaler.settings
            o.sample = output.plots != nil
            let verification = try RunVerification.verify(run, o)
            print(output.json ? verification.json : verification.report)
            try output.draw(VerifyFigure.make(verification))
            if !verification.passes { throw ExitCode(1) }
        }
    }

    struct StepsCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "steps",
            abstract: "Check a training loop's steps.csv: its optimizer steps, loss scale and (with --schedule) lr.",
            discussion: """
            The optimizer steps follow --step-rule: yolov5 (ni - last_opt_step >= accumulate, the default) or every-k \
            ((i + 1) % accumulate == 0 from each epoch's start; --last-window stepped or dropped for an epoch's last \
            partial window). With --schedule sgdr the lr is checked at epoch + i/nb; onecycle and linear at the epoch.
            """)

        @Argument(help: "The steps.csv.") var file: String
        @OptionGroup var batches: BatchesPerEpochFlag
        @Option(name: .customLong("step-rule"), help: "yolov5 or every-k (default yolov5).") var stepRule: LoopVerification.StepRule?
        @Option(name: .customLong("last-window"), help: "every-k: stepped or dropped (default stepped).") var lastWindow: LoopVerification.LastWindow?
        @OptionGroup(title: "The lr schedule") var schedule: VerifyScheduleFlags
        @OptionGroup(title: "A steps.csv with a loss scale") var scaler: ScalerCheckFlags
        @OptionGroup var output: VerifyOutputFlags

        func validate() throws {
            if lastWindow != nil && stepRule != .everyK { throw ValidationError("--last-window applies to --step-rule every-k") }
            _ = try schedule.formula(defaultLR: 1, allowFamilies: false)
        }

        func run() throws {
            let log = try StepsLog.load(file)
            try scaler.refuseUnlessScaled(log)
            var o = VerifyOptions()
            o.scaler = scaler.settings
            o.sample = output.plots != nil
            let result = try LoopVerification.verify(log, batchesPerEpoch: batches.value, formula: try schedule.formula(defaultLR: 1, allowFamilies: false),
                                                     perBatch: schedule.schedule == .sgdr, baseLR: schedule.baseLR, stepRule: stepRule ?? .yolov5,
                                                     lastWindow: lastWindow ?? .stepped, options: o)
            print(output.json ? result.json : result.report)
            try output.draw(VerifyFigure.make(result))
            if !result.passes { throw ExitCode(1) }
        }
    }

    struct TraceCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trace",
            abstract: "Check an lr log (columns epoch or step, and lr) from any scheduler against the exact formula.",
            discussion: """
            PyTorch's, timm's and transformers' misplaced restarts are named where the log shows them. With a step column \
            and sgdr, onecycle or linear, --nb gives the steps per epoch.
            """)

        @Argument(help: "The lr log (CSV).") var file: String
        @OptionGroup(title: "The lr schedule") var schedule: VerifyScheduleFlags
        @Option(help: "A scheduler's constructor line as written (an assignment, the optimizer argument and comments are dropped; PyTorch's, timm's, transformers', DeepSpeed's, Megatron's; instead of --schedule); the log's step column counts scheduler.step() calls.")
        var scheduler: String?
        @OptionGroup var optimizerLR: OptimizerLRFlag
        @Option(name: .customLong("group"), help: "--scheduler: the parameter group the log's lr belongs to (default 0).") var group: Int = 0
        @Option(name: .customLong("lrs"), parsing: .unconditional, help: "--scheduler: every group's initial lr, comma-separated (default: --lr, else 0.1).")
        var groupLRs: String?
        @OptionGroup var batches: BatchesPerEpochFlag
        @Flag(help: "Print one JSON object instead of the table.") var json = false

        func torch() throws -> TorchScheduler? {
            guard let scheduler else { return nil }
            let lrs = try groupLRs.map { try numbers($0, flag: "--lrs") } ?? [schedule.lr ?? 0.1]
            return try optimizerLR.scheduler { lr in try validating { try TorchScheduler(scheduler, lrs: lrs, optimizerLR: lr) } }
        }

        func validate() throws {
            if let torch = try torch() {
                if schedule.schedule != nil { throw ValidationError("--schedule and --scheduler: give one") }
                // A named schedule's arguments would be ignored: the constructor carries them.
                try refuseFlags(schedule.given + [("--cycle-decay", schedule.cycleDecay != nil), ("--cycle-limit", schedule.cycleLimit != nil)],
                                allowed: ["--lr"], "--scheduler (write the scheduler's arguments inside its constructor)")
                if let flag = schedule.familyFlags.anyGiven { throw ValidationError("\(flag) does not apply to --scheduler (write the scheduler's arguments inside its constructor)") }
                if groupLRs != nil && schedule.lr != nil { throw ValidationError("--lr and --lrs: give one (--lrs gives every group's lr)") }
                if batches.value != nil { throw ValidationError("--nb: a --scheduler log is checked per scheduler.step() (its step column)") }
                guard (0..<torch.baseLRs.count).contains(group) else { throw ValidationError("--group: \(group) is outside 0...\(torch.baseLRs.count - 1)") }
                return
            }
            if groupLRs != nil || group != 0 || optimizerLR.text != nil { throw ValidationError("--lrs, --group and --optimizer-lr apply to --scheduler only") }
            guard schedule.schedule != nil else { throw ValidationError("verify trace needs --schedule or --scheduler") }
            _ = try schedule.formula(defaultLR: 0.1, allowFamilies: true)
            if batches.value != nil && schedule.schedule?.family != nil {
                throw ValidationError("--nb applies to sgdr, onecycle and linear; --schedule \(schedule.schedule!.rawValue) is evaluated per step")
            }
        }

        func run() throws {
            let formula: TraceVerification.Formula
            if let torch = try torch() {
                let steps = try TraceVerification.largestKey(file: file) ?? 0
                formula = try TraceVerification.Formula.torch(torch, steps: steps, group: group)
            } else {
                let defaultLR = schedule.schedule == .sgdr || schedule.schedule?.family != nil ? 0.1 : 0.01
                formula = try schedule.formula(defaultLR: defaultLR, allowFamilies: true)!
            }
            let result = try TraceVerification.verify(file: file, formula: formula, stepsPerEpoch: batches.value ?? 1)
            if batches.value != nil && result.key != "step" {
                throw ValidationError("--nb applies to a log with a step column; \(file) has an \(result.key) column")
            }
            print(json ? result.json : result.report)
            if !result.passes { throw ExitCode(1) }
        }
    }

    struct ScaleLogCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scale-log",
            abstract: "Check a logged loss scale (columns step, found_inf, scale) against a framework's rule.",
            discussion: "The initial scale is the log's first unless --init-scale (or megatron's --initial-scale) is given.")

        @Argument(help: "The scale log (CSV).") var file: String
        @Option(name: .customLong("scaler-rule"), help: "pytorch, megatron, deepspeed or deepspeed-fp16.") var scalerRule: LossScaleRule.Framework?
        @Option(name: .customLong("rule"), help: .hidden) var ruleAlias: LossScaleRule.Framework?
        @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "Initial scale (default: the log's first).") var initScale: Double?
        @Option(name: .customLong("growth-interval"), help: "pytorch, megatron: clean updates per growth.") var growthInterval: Int?
        @Option(name: .customLong("growth-factor"), parsing: .unconditional, help: "pytorch, megatron: growth factor.") var growthFactor: Double?
        @Option(name: .customLong("backoff-factor"), parsing: .unconditional, help: "pytorch, megatron: backoff factor.") var backoffFactor: Double?
        @Option(name: .customLong("min-scale"), parsing: .unconditional, help: "megatron, deepspeed: minimum scale.") var minScale: Double?
        @Option(help: "megatron: hysteresis.") var hysteresis: Int?
        @OptionGroup(title: "--scaler-rule megatron, deepspeed, deepspeed-fp16") var ruleFlags: ScalerRuleFlags
        @OptionGroup var deepSpeedConfig: DeepSpeedConfigScalerFlag
        @Flag(help: "Print one JSON object instead of the report.") var json = false

        func rule() throws -> LossScaleRule {
            if let r = try deepSpeedConfig.rule(others: [("--scaler-rule", scalerRule != nil || ruleAlias != nil), ("--init-scale", initScale != nil),
                                                         ("--growth-interval", growthInterval != nil), ("--growth-factor", growthFactor != nil),
                                                         ("--backoff-factor", backoffFactor != nil), ("--min-scale", minScale != nil),
                                                         ("--hysteresis", hysteresis != nil), (ruleFlags.anyGiven ?? "", ruleFlags.anyGiven != nil)]) {
                return r
            }
            if scalerRule != nil && ruleAlias != nil { throw ValidationError("--rule is the old name of --scaler-rule: give one") }
            guard let framework = scalerRule ?? ruleAlias else {
                throw ValidationError("verify scale-log needs --scaler-rule pytorch, megatron, deepspeed or deepspeed-fp16, or --deepspeed-config FILE")
            }
            return try ruleFlags.rule(framework, initScale: initScale, growthFactor: growthFactor, backoffFactor: backoffFactor,
                                      growthInterval: growthInterval, minScale: minScale, hysteresis: hysteresis)
        }

        func validate() throws { _ = try rule() }

        func run() throws {
            let result = try ScaleLogVerification.verify(file: file, rule: try rule(),
                                                         initScaleGiven: initScale != nil || ruleFlags.initialScale != nil || deepSpeedConfig.path != nil)
            print(json ? result.json : result.report)
            if !result.passes { throw ExitCode(1) }
        }
    }
}
