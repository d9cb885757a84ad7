import ArgumentParser
import HalfTraceKernels
import HalfTraceOptim

extension LossScaleRule.Framework: ExpressibleByArgument {}

/// The loss-scaling rule of another framework, with each framework's own argument names:
/// PyTorch `--init-scale --growth-factor --backoff-factor --growth-interval`; Megatron
/// `--initial-scale --min-scale --growth-factor --backoff-factor --growth-interval --hysteresis`;
/// DeepSpeed `--init-scale --scale-window --min-scale --delayed-shift --consecutive-hysteresis
/// --[no-]raise-error-at-min-scale`; DeepSpeed's FP16 optimizer `--init-scale --scale-window --min-scale`.
/// A flag the chosen framework does not have is refused, naming it.
struct ScalerRuleFlags: ParsableArguments {
    @Option(name: .customLong("initial-scale"), parsing: .unconditional, help: "megatron: initial scale (default 2^32).") var initialScale: Double?
    @Option(name: .customLong("scale-window"), help: "deepspeed, deepspeed-fp16: clean steps per growth (default 1000).") var scaleWindow: Int?
    @Option(name: .customLong("delayed-shift"), help: "deepspeed: overflows before a backoff (default 2).") var delayedShift: Int?
    @Flag(name: .customLong("consecutive-hysteresis"), help: "deepspeed: refill the hysteresis after every clean step.") var consecutiveHysteresis = false
    @Flag(name: .customLong("raise-error-at-min-scale"), inversion: .prefixedNo, help: "deepspeed: stop at the minimum scale (default: on, as DeepSpeed).")
    var raiseErrorAtMinScale: Bool?

    /// The rule of `framework` with the given flags (and the shared ones passed in), refusing a
    /// flag the framework does not take.
    func rule(_ framework: LossScaleRule.Framework, initScale: Double?, growthFactor: Double?, backoffFactor: Double?,
              growthInterval: Int?, minScale: Double?, hysteresis: Int?, extra: [(String, Bool)] = []) throws -> LossScaleRule {
        let given: [(String, Bool)] = [("--initial-scale", initialScale != nil), ("--scale-window", scaleWindow != nil),
                                       ("--delayed-shift", delayedShift != nil), ("--consecutive-hysteresis", consecutiveHysteresis),
                                       ("--raise-error-at-min-scale", raiseErrorAtMinScale != nil), ("--init-scale", initScale != nil),
                                       ("--growth-factor", growthFactor != nil), ("--backoff-factor", backoffFactor != nil),
                                       ("--growth-interval", growthInterval != nil), ("--min-scale", minScale != nil),
                                       ("--hysteresis", hysteresis != nil)] + extra
        let allowed: Set<String> = switch framework {
        case .pytorch: ["--init-scale", "--growth-factor", "--backoff-factor", "--growth-interval"]
        case .megatron: ["--initial-scale", "--min-scale", "--growth-factor", "--backoff-factor", "--growth-interval", "--hysteresis"]
        case .deepspeed: ["--init-scale", "--scale-window", "--min-scale", "--delayed-shift", "--consecutive-hysteresis", "--raise-error-at-min-scale"]
        case .deepspeedFP16: ["--init-scale", "--scale-window", "--min-scale"]
        }
        if let (flag, _) = given.first(where: { $0.1 && !allowed.contains($0.0) }) {
            throw ValidationError("\(flag) is not an argument of the \(framework.rawValue) rule (it takes \(allowed.sorted().joined(separator: ", ")))")
        }
        var r = LossScaleRule.defaults(framework)
        if let v = initScale ?? initialScale { r.initScale = v }
        if let v = growthFactor { r.growthFactor = v }
        if let v = backoffFactor { r.backoffFactor = v }
        if let v = growthInterval ?? scaleWindow { r.growthInterval = v }
        if let v = minScale { r.minScale = v }
        if let v = hysteresis ?? delayedShift { r.hysteresis = v }
        r.consecutiveHysteresis = consecutiveHysteresis
        if let v = raiseErrorAtMinScale { r.raiseAtMinScale = v }
        try validating { try r.validate() }
        return r
    }

    /// Whether any rule-only flag was given (they need a rule).
    var anyGiven: String? {
        [("--initial-scale", initialScale != nil), ("--scale-window", scaleWindow != nil), ("--delayed-shift", delayedShift != nil),
         ("--consecutive-hysteresis", consecutiveHysteresis), ("--raise-error-at-min-scale", raiseErrorAtMinScale != nil)].first { $0.1 }?.0
    }
}

/// `--deepspeed-config FILE`: the loss-scale rule a DeepSpeed config selects (its "fp16" block and
/// ZeRO stage), instead of --scaler-rule and its flags.
struct DeepSpeedConfigScalerFlag: ParsableArguments {
    @Option(name: .customLong("deepspeed-config"),
            help: "A DeepSpeed config (ds_config.json): the rule from its \"fp16\" block and zero_optimization.stage (instead of --scaler-rule).")
    var path: String?

    /// The config's rule, or nil without the flag; `others` names any rule flag also given.
    func rule(others: [(String, Bool)]) throws -> LossScaleRule? {
        guard let path else { return nil }
        if let (flag, _) = others.first(where: { $0.1 }) {
            throw ValidationError("--deepspeed-config gives the rule and its settings: \(flag) cannot be given with it")
        }
        // The file's own errors (unreadable, invalid) say the check could not be made: status 2.
        return try LossScaleRule.deepSpeedConfig(try TextFile.read(path), path: path)
    }
}
