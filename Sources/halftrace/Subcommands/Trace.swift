import ArgumentParser
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTraces

extension HalfTraceCommand {
    struct TraceCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trace",
            abstract: "Print one trace of a schedule, optimizer or loss scaler as CSV on stdout.",
            subcommands: [SGDR.self, SGDRWarmupTrace.self, OneCycle.self, Linear.self, Warmup.self, SGDTrace.self, AdamTrace.self,
                          AdamWTrace.self, ScalerTrace.self, FamilyTrace.self])
    }
}

extension HalfTraceCommand.TraceCommand {
    struct SGDR: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sgdr", abstract: "Cosine annealing with warm restarts stepped at e + i/steps: step,epoch,lr.")
        @Option(parsing: .unconditional, help: "Base learning rate.") var lr: Double = 0.001
        @Option(name: .customLong("t0"), help: "Epochs of the first cycle (positive integer).") var t0: Int = 10
        @Option(name: .customLong("t-mult"), help: "Cycle length factor (integer >= 1).") var tMult: Int = 2
        @Option(name: .customLong("eta-min"), parsing: .unconditional, help: "Minimum learning rate.") var etaMin: Double = 0
        @Option(help: "Epochs to trace.") var epochs: Int = 150
        @OptionGroup var batches: BatchesPerEpochFlag
        /// `--nb` (default 1; `--steps-per-epoch` is its old spelling).
        var stepsPerEpoch: Int { batches.value ?? 1 }

        func validate() throws {
            try validating { try ScheduleTraces.validateSGDR(lr: lr, t0: t0, tMult: tMult, etaMin: etaMin, epochs: epochs, stepsPerEpoch: stepsPerEpoch) }
        }

        func run() throws {
            print(try ScheduleTraces.sgdr(lr: lr, t0: t0, tMult: tMult, etaMin: etaMin, epochs: epochs, stepsPerEpoch: stepsPerEpoch).csv,
                  terminator: "")
        }
    }

    struct SGDRWarmupTrace: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sgdr-warmup",
            abstract: "Warm-up + restarts (linear warm-up, SGDR with peak decay, re-warm-up and a cycle limit) at e + i/steps: step,epoch,lr.")
        @Option(parsing: .unconditional, help: "Base learning rate.") var lr: Double = 0.1
        @Option(name: .customLong("warmup-epochs"), parsing: .unconditional, help: "Epochs of linear warm-up from 0.") var warmupEpochs: Double = 3
        @OptionGroup(title: "SGDR") var restartFlags: RestartFlags
        @Option(help: "Epochs to trace.") var epochs: Int = 60
        @OptionGroup var batches: BatchesPerEpochFlag
        /// `--nb` (default 10; `--steps-per-epoch` is its old spelling).
        var stepsPerEpoch: Int { batches.value ?? 10 }

        var restarts: RestartOptions {
            var o = RestartOptions()
            restartFlags.apply(to: &o)
            return o
        }

        func validate() throws {
            try validating {
                try ScheduleTraces.validateSGDRWarmup(lr: lr, warmupEpochs: warmupEpochs, restarts: restarts, epochs: epochs, stepsPerEpoch: stepsPerEpoch)
            }
        }

        func run() throws {
            print(try ScheduleTraces.sgdrWarmup(lr: lr, warmupEpochs: warmupEpochs, restarts: restarts, epochs: epochs,
                                                stepsPerEpoch: stepsPerEpoch).csv, terminator: "")
        }
    }

    struct LambdaOptions: ParsableArguments {
        @Option(parsing: .unconditional, help: "Initial learning rate.") var lr0: Double = 0.01
        @Option(parsing: .unconditional, help: "Final learning-rate fraction.") var lrf: Double = 0.01
        @Option(help: "Epochs.") var epochs: Int = 300

        func validate() throws {
            try validating { try ScheduleTraces.validateLambda(cosine: true, lr0: lr0, lrf: lrf, epochs: epochs) }
        }

        func trace(cosine: Bool) throws {
            print(try ScheduleTraces.lambda(cosine: cosine, lr0: lr0, lrf: lrf, epochs: epochs).csv, terminator: "")
        }
    }

    struct OneCycle: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "onecycle", abstract: "YOLOv5's one_cycle (cosine) schedule: epoch,lr.")
        @OptionGroup var options: LambdaOptions
        func run() throws { try options.trace(cosine: true) }
    }

    struct Linear: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "linear", abstract: "YOLOv5's linear schedule: epoch,lr.")
        @OptionGroup var options: LambdaOptions
        func run() throws { try options.trace(cosine: false) }
    }

    struct Warmup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "warmup",
            abstract: "YOLOv5's warm-up per iteration: iteration,epoch,lr_bias,lr_weight,lr_bn,momentum,accumulate.")
        @OptionGroup(title: "Hyper-parameters (YOLOv5's hyp keys)") var hypFlags: HyperparameterOptions
        @Option(help: "Epochs.") var epochs: Int = 10
        @Option(help: "Batches per epoch.") var nb: Int = 24
        @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize: Int = 16
        @Option(help: "Nominal batch size.") var nbs: Int = 64
        @Flag(name: .customLong("cos-lr"), help: "one_cycle instead of the linear schedule.") var cosLR = false
        @Flag(name: .customLong("yolov5-lag"), help: "Replay train.py's one-epoch scheduler lag.") var yolov5Lag = false

        var hyp: ScheduleHyperparameters {
            var hyp = ScheduleHyperparameters()
            hypFlags.apply(to: &hyp)
            return hyp
        }

        func validate() throws {
            try validating { try ScheduleTraces.validateWarmup(hyp: hyp, epochs: epochs, nb: nb, batchSize: batchSize, nbs: nbs, cosine: cosLR) }
        }

        func run() throws {
            print(try ScheduleTraces.warmup(hyp: hyp, epochs: epochs, nb: nb, batchSize: batchSize, nbs: nbs, cosine: cosLR, lag: yolov5Lag).csv,
                  terminator: "")
        }
    }

    struct QuadraticOptions: ParsableArguments {
        @Option(parsing: .unconditional, help: "Comma-separated curvatures a_i of f(w) = 0.5 sum a_i w_i^2.") var a: String = "1,10"
        @Option(parsing: .unconditional, help: "Comma-separated starting point.") var w0: String = "1,1"
        @Option(help: "Optimizer steps.") var steps: Int = 100

        func parsed() throws -> ([Double], [Double]) {
            (try numbers(a, flag: "--a"), try numbers(w0, flag: "--w0"))
        }

        /// Checks the quadratic and the optimizer group for `validate()`.
        func validate(_ kind: OptimizerKind, _ group: ParamGroup) throws {
            let (a, w0) = try parsed()
            try validating { try ScheduleTraces.validateQuadratic(kind, a: a, w0: w0, group: group, steps: steps) }
        }

        func trace(_ kind: OptimizerKind, _ group: ParamGroup) throws {
            let (a, w0) = try parsed()
            print(try ScheduleTraces.quadratic(kind, a: a, w0: w0, group: group, steps: steps).csv, terminator: "")
        }
    }

    struct SGDTrace: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sgd", abstract: "SGD on a quadratic in Float64: step,w0,w1,...")
        @OptionGroup var quadratic: QuadraticOptions
        @Option(parsing: .unconditional, help: "Learning rate.") var lr: Double = 0.01
        @Option(parsing: .unconditional, help: "Momentum.") var momentum: Double = 0
        @Option(parsing: .unconditional, help: "Dampening.") var dampening: Double = 0
        @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "L2 weight decay.") var weightDecay: Double = 0
        @Flag(help: "Nesterov momentum.") var nesterov = false

        var group: ParamGroup {
            ParamGroup(params: [], lr: lr, momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov)
        }

        func validate() throws { try quadratic.validate(.sgd, group) }
        func run() throws { try quadratic.trace(.sgd, group) }
    }

    struct AdamOptions: ParsableArguments {
        @Option(parsing: .unconditional, help: "Learning rate.") var lr: Double = 0.001
        @Option(parsing: .unconditional, help: "beta1.") var beta1: Double = 0.9
        @Option(parsing: .unconditional, help: "beta2.") var beta2: Double = 0.999
        @Option(parsing: .unconditional, help: "Epsilon.") var eps: Double = 1e-8

        func group(weightDecay: Double) -> ParamGroup {
            ParamGroup(params: [], lr: lr, momentum: beta1, beta2: beta2, weightDecay: weightDecay, eps: eps)
        }
    }

    struct AdamTrace: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "adam", abstract: "Adam (L2 decay) on a quadratic in Float64: step,w0,w1,...")
        @OptionGroup var quadratic: QuadraticOptions
        @OptionGroup var adam: AdamOptions
        @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "L2 weight decay.") var weightDecay: Double = 0

        func validate() throws { try quadratic.validate(.adam, adam.group(weightDecay: weightDecay)) }
        func run() throws { try quadratic.trace(.adam, adam.group(weightDecay: weightDecay)) }
    }

    struct AdamWTrace: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "adamw", abstract: "AdamW (decoupled decay) on a quadratic in Float64: step,w0,w1,...")
        @OptionGroup var quadratic: QuadraticOptions
        @OptionGroup var adam: AdamOptions
        @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "Decoupled weight decay.") var weightDecay: Double = 0.01

        func validate() throws { try quadratic.validate(.adamw, adam.group(weightDecay: weightDecay)) }
        func run() throws { try quadratic.trace(.adamw, adam.group(weightDecay: weightDecay)) }
    }

    struct ScalerTrace: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scaler",
            abstract: "The real GradScaler and an SGD optimizer over optimizer steps: step,scale,found_inf,skipped,next_scale,growth_tracker.",
            discussion: """
            Without --scaler-rule: PyTorch's GradScaler with HalfTrace's options (--min-scale, --max-scale, --hysteresis, \
            --hysteresis-refill). With --scaler-rule pytorch|megatron|deepspeed|deepspeed-fp16: that framework's rule exactly, \
            with its own argument names. With --deepspeed-config FILE: the rule its "fp16" block and ZeRO stage select \
            (stage 0: FP16_Optimizer, which ignores hysteresis; stage 1-3: ZeRO's DynamicLossScaler). Where DeepSpeed raises at its minimum scale, the rows before that step are \
            printed and the command exits 2 naming the step.
            """)
        @Option(name: .customLong("scaler-rule"), help: "Another framework's rule: pytorch, megatron, deepspeed or deepspeed-fp16.")
        var scalerRule: LossScaleRule.Framework?
        @Option(name: .customLong("rule"), help: .hidden) var ruleAlias: LossScaleRule.Framework?
        @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "Initial scale (default 65536).") var initScale: Double?
        @Option(name: .customLong("growth-factor"), parsing: .unconditional, help: "Growth factor (> 1; default 2).") var growthFactor: Double?
        @Option(name: .customLong("backoff-factor"), parsing: .unconditional, help: "Backoff factor (in (0, 1); default 0.5).") var backoffFactor: Double?
        @Option(name: .customLong("growth-interval"), help: "Clean steps before growing (>= 1; default 2000).") var growthInterval: Int?
        @Option(help: "Optimizer steps.") var steps: Int = 100
        @Option(name: .customLong("inf-steps"), help: "Comma-separated steps with a non-finite gradient.") var infSteps: String = ""
        @Option(help: "Micro-batches per optimizer step.") var accumulate: Int = 1
        @Option(name: .customLong("min-scale"), parsing: .unconditional, help: "Floor of the scale.") var minScale: Double?
        @Option(name: .customLong("max-scale"), parsing: .unconditional, help: "Ceiling of the scale (without --scaler-rule).") var maxScale: Double?
        @Option(help: "Overflows tolerated before a backoff (1: PyTorch).") var hysteresis: Int?
        @Option(name: .customLong("hysteresis-refill"), help: "clean (apex) or growth (Megatron), without --scaler-rule.") var hysteresisRefill: GradScaler.HysteresisRefill?
        @OptionGroup(title: "--scaler-rule megatron, deepspeed, deepspeed-fp16") var ruleFlags: ScalerRuleFlags
        @OptionGroup var deepSpeedConfig: DeepSpeedConfigScalerFlag

        func options() throws -> ScalerTraceOptions {
            if scalerRule != nil && ruleAlias != nil { throw ValidationError("--rule is the old name of --scaler-rule: give one") }
            let rule = scalerRule ?? ruleAlias
            var o = ScalerTraceOptions()
            o.steps = steps
            o.infSteps = try integers(infSteps, flag: "--inf-steps")
            o.accumulate = accumulate
            if let r = try deepSpeedConfig.rule(others: [("--scaler-rule", rule != nil), ("--init-scale", initScale != nil), ("--growth-factor", growthFactor != nil),
                                                         ("--backoff-factor", backoffFactor != nil), ("--growth-interval", growthInterval != nil),
                                                         ("--min-scale", minScale != nil), ("--max-scale", maxScale != nil), ("--hysteresis", hysteresis != nil),
                                                         ("--hysteresis-refill", hysteresisRefill != nil), (ruleFlags.anyGiven ?? "", ruleFlags.anyGiven != nil)]) {
                o.rule = r
                return o
            }
            if let rule {
                o.rule = try ruleFlags.rule(rule, initScale: initScale, growthFactor: growthFactor, backoffFactor: backoffFactor,
                                            growthInterval: growthInterval, minScale: minScale, hysteresis: hysteresis,
                                            extra: [("--max-scale", maxScale != nil), ("--hysteresis-refill", hysteresisRefill != nil)])
                return o
            }
            if let flag = ruleFlags.anyGiven { throw ValidationError("\(flag) needs --scaler-rule (deepspeed, deepspeed-fp16 or megatron)") }
            o.initScale = initScale ?? 65536
            o.growthFactor = growthFactor ?? 2
            o.backoffFactor = backoffFactor ?? 0.5
            o.growthInterval = growthInterval ?? 2000
            o.minScale = minScale
            o.maxScale = maxScale
            o.hysteresis = hysteresis ?? 1
            o.refill = hysteresisRefill ?? .afterCleanStep
            return o
        }

        func validate() throws {
            let o = try options()
            try validating { try o.validate() }
        }

        func run() throws {
            do {
                print(try ScalerTraces.run(try options()).csv, terminator: "")
            } catch let stopped as ScalerTraceStopped {
                print(stopped.trace.csv, terminator: "")
                throw CommandFailure("\(stopped)")
            }
        }
    }

    struct FamilyTrace: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedule",
            abstract: "A scheduler per step, as written in Python (--scheduler) or by name (--schedule): step, lr, package_lr, departs.",
            discussion: """
            --scheduler "EXPR": a scheduler's constructor as written (the whole line, `scheduler = StepLR(optimizer, step_size=3)  # ...`, \
            or the call without the optimizer), e.g. \
            "SequentialLR([LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=95, eta_min=1e-5)], milestones=[5])": \
            PyTorch's, timm's, transformers' get_*schedule* and get_scheduler, DeepSpeed's and Megatron's \
            (\(TorchScheduler.supported.joined(separator: ", ")); module prefixes such as torch.optim.lr_scheduler., timm.scheduler. \
            and transformers. accepted). Row k is the lr after k calls of scheduler.step() (timm: after step(t), or \
            step_update(k) with t_in_epochs=False); lr is the exact schedule, package_lr the package's own arithmetic (the \
            header names the release), departs 1 where they differ. --lr takes one value per parameter group (columns \
            lr_pg<j>, package_lr_pg<j>).
            --schedule \(FamilyScheduleName.allCases.map(\.rawValue).joined(separator: ", ")), with each package's own argument \
            names: misplaced is 1 where the package's floating-point cycle index puts the step in another cycle.
            """)
        @Option(help: "timm's or transformers' schedule by name.") var schedule: FamilyScheduleName?
        @Option(help: "A scheduler's constructor line as written in Python (an assignment, the optimizer argument and comments are dropped; PyTorch's, DeepSpeed's, Megatron's).")
        var scheduler: String?
        @Option(name: .customLong("deepspeed-config"), help: "A DeepSpeed config (ds_config.json): its \"scheduler\" block, and the lr of its \"optimizer\" block.")
        var deepSpeedConfig: String?
        @Option(help: "Megatron: what each step(increment) adds (Megatron-LM: the global batch; default 1).") var increment: Int = 1
        @Option(parsing: .unconditional, help: "The optimizer's base learning rate, one per parameter group with --scheduler (default 0.1).")
        var lr: String?
        @Option(parsing: .unconditional, help: "--scheduler: the optimizer's momentum (SGD) or beta1 (--adam) before the scheduler (default 0.9).")
        var momentum: Double = 0.9
        @Flag(help: "--scheduler: an Adam-family optimizer (momentum cycling sets betas[0]).") var adam = false
        @OptionGroup var optimizerLR: OptimizerLRFlag
        @Option(help: "Steps to trace (default: the schedule's length + 5).") var steps: Int?
        @OptionGroup(title: "timm and transformers arguments") var family: FamilyScheduleFlags
        @Option(name: .customLong("cycle-decay"), parsing: .unconditional, help: "timm: peak decay per cycle (default 1).") var cycleDecay: Double?
        @Option(name: .customLong("cycle-limit"), help: "timm: cycles before the lr stays at lr-min (default 1).") var cycleLimit: Int?

        var lrs: [Double] {
            get throws {
                try (lr ?? "0.1").split(separator: ",", omittingEmptySubsequences: false).map { text in
                    let t = text.trimmingCharacters(in: .whitespaces)
                    guard let v = Double(t), v.isFinite, v >= 0 else { throw ValidationError("--lr: '\(t)' is not a finite learning rate >= 0") }
                    return v
                }
            }
        }

        func torchScheduler() throws -> TorchScheduler? {
            if let path = deepSpeedConfig {
                // The file's own errors (unreadable, invalid) stop the work: status 2.
                let config = try TorchScheduler.deepSpeedConfig(try TextFile.read(path), path: path)
                guard lr != nil || config.lr != nil else {
                    throw HalfTraceError.file(path, field: "optimizer.params.lr", "no optimizer lr in the config (the client's optimizer sets it): give it with --lr")
                }
                let groupLRs = try lr != nil ? lrs : [config.lr!]
                return try optimizerLR.scheduler { lr in
                    try validating { try TorchScheduler(call: config.call, lrs: groupLRs, momentum: momentum, usesBeta1: adam || config.usesBeta1, optimizerLR: lr) }
                }
            }
            guard let scheduler else { return nil }
            let groupLRs = try lrs
            return try optimizerLR.scheduler { lr in try validating { try TorchScheduler(scheduler, lrs: groupLRs, momentum: momentum, usesBeta1: adam, optimizerLR: lr) } }
        }

        func validate() throws {
            if scheduler != nil && deepSpeedConfig != nil { throw ValidationError("--scheduler and --deepspeed-config: give one") }
            switch (schedule, scheduler ?? deepSpeedConfig) {
            case (nil, nil): throw ValidationError("trace schedule needs --scheduler \"EXPR\", --deepspeed-config FILE or --schedule NAME")
            case (.some, .some): throw ValidationError("--schedule and --scheduler (or --deepspeed-config): give one")
            case (.some(let name), nil):
                let values = try lrs
                guard values.count == 1 else { throw ValidationError("--lr: --schedule takes one learning rate, got \(values.count)") }
                if adam || momentum != 0.9 || increment != 1 || optimizerLR.text != nil {
                    throw ValidationError("--adam, --momentum, --increment and --optimizer-lr apply to --scheduler only")
                }
                _ = try family.schedule(name, lr: values[0], cycleDecay: cycleDecay, cycleLimit: cycleLimit)
            case (nil, .some):
                if let flag = family.anyGiven ?? (cycleDecay != nil ? "--cycle-decay" : cycleLimit != nil ? "--cycle-limit" : nil) {
                    throw ValidationError("\(flag) is an argument of --schedule; with --scheduler write it inside the constructor")
                }
                let torch = try torchScheduler()!
                if increment != 1 && !torch.setsWeightDecay { throw ValidationError("--increment applies to Megatron's OptimizerParamScheduler") }
                guard (1...1_000_000).contains(increment) else { throw ValidationError("--increment: \(increment) is outside 1...1000000") }
            }
            if let steps { guard (1...10_000_000).contains(steps) else { throw ValidationError("--steps: \(steps) is outside 1...10000000") } }
        }

        func run() throws {
            if let torch = try torchScheduler() {
                let n = steps ?? torch.defaultSteps
                let t = try validating { try torch.trace(steps: n, increment: increment) }
                var trace = Trace(comments: ["scheduler \(torch.call) lr=\(torch.baseLRs.map { "\($0)" }.joined(separator: ","))",
                                             "package_lr: \(torch.package)'s arithmetic; \(torch.rowMeaning)"],
                                  columns: t.columnNames, integerColumns: ["step", "departs"])
                for k in 0..<t.count { trace.append(t.row(k)) }
                print(trace.csv, terminator: "")
                return
            }
            let name = schedule!
            let lr = try lrs[0]
            let f = try family.schedule(name, lr: lr, cycleDecay: cycleDecay, cycleLimit: cycleLimit)
            let n: Int
            switch f {
            case .timm(let t):
                // The warm-up and up to ten cycles (a cycle limit of 10^18 would print forever).
                let cycles = min(t.cycleLimit, 10)
                let (shown, overflow) = t.tInitial.multipliedReportingOverflow(by: cycles)
                n = steps ?? (overflow ? 10_000_000 : min(t.warmupT + shown + 5, 10_000_000))
            case .transformers(let t, _): n = steps ?? (t.trainingSteps + 6)
            }
            var trace = Trace(comments: ["\(name.rawValue) lr=\(lr)"], columns: ["step", "lr", "package_lr", "misplaced"],
                              integerColumns: ["step", "misplaced"])
            for t in 0..<min(n, 10_000_000) {
                trace.append([Double(t), f.lr(t), f.packageLR(t), f.packageMisplacesCycle(at: t) ? 1 : 0])
            }
            print(trace.csv, terminator: "")
        }
    }
}
