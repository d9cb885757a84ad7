import ArgumentParser
import HalfTraceKernels
import HalfTraceOptim

/// The schedules of other frameworks by name, and their arguments under each package's own
/// argument names in kebab case: timm's `CosineLRScheduler` (`--t-initial --lr-min --cycle-mul
/// --cycle-decay --cycle-limit --warmup-t --warmup-lr-init --warmup-prefix --k-decay`) and
/// transformers' `get_*_schedule_with_warmup` (`--num-warmup-steps --num-training-steps
/// --num-cycles --lr-end --power --num-stable-steps --num-decay-steps --decay-type
/// --warmup-type --min-lr-ratio --timescale`); `--lr` is the optimizer's base lr.
enum FamilyScheduleName: String, ExpressibleByArgument, CaseIterable {
    case timmCosine = "timm-cosine"
    case hfLinear = "hf-linear"
    case hfCosine = "hf-cosine"
    case hfCosineRestarts = "hf-cosine-restarts"
    case hfPolynomial = "hf-polynomial"
    case hfWSD = "hf-wsd"
    case hfInverseSqrt = "hf-inverse-sqrt"
}

struct FamilyScheduleFlags: ParsableArguments {
    @Option(name: .customLong("t-initial"), help: "timm: the first cycle's length in steps.") var tInitial: Int?
    @Option(name: .customLong("lr-min"), parsing: .unconditional, help: "timm: the lr at a cycle's end (default 0).") var lrMin: Double?
    @Option(name: .customLong("cycle-mul"), parsing: .unconditional, help: "timm: cycle length multiplier (>= 1; default 1).") var cycleMul: Double?
    @Option(name: .customLong("warmup-t"), help: "timm: warm-up steps (default 0).") var warmupT: Int?
    @Option(name: .customLong("warmup-lr-init"), parsing: .unconditional, help: "timm: the warm-up's first lr (default 0).") var warmupLRInit: Double?
    @Flag(name: .customLong("warmup-prefix"), help: "timm: start the cosine after the warm-up.") var warmupPrefix = false
    @Option(name: .customLong("k-decay"), parsing: .unconditional, help: "timm: k of t_curr^k / t_i^k (default 1).") var kDecay: Double?
    @Option(name: .customLong("num-warmup-steps"), help: "transformers: warm-up steps (default 0).") var numWarmupSteps: Int?
    @Option(name: .customLong("num-training-steps"), help: "transformers: training steps.") var numTrainingSteps: Int?
    @Option(name: .customLong("num-cycles"), parsing: .unconditional, help: "transformers: cosine cycles (hf-cosine 0.5, hf-cosine-restarts 1, hf-wsd 0.5).") var numCycles: Double?
    @Option(name: .customLong("lr-end"), parsing: .unconditional, help: "transformers hf-polynomial: the final lr (default 1e-7).") var lrEnd: Double?
    @Option(parsing: .unconditional, help: "transformers hf-polynomial: the power (default 1).") var power: Double?
    @Option(name: .customLong("num-stable-steps"), help: "transformers hf-wsd: steps at the peak (default: training - warm-up - decay).") var numStableSteps: Int?
    @Option(name: .customLong("num-decay-steps"), help: "transformers hf-wsd: decay steps.") var numDecaySteps: Int?
    @Option(name: .customLong("decay-type"), help: "transformers hf-wsd: linear, cosine or 1-sqrt (default cosine).") var decayType: String?
    @Option(name: .customLong("warmup-type"), help: "transformers hf-wsd: linear, cosine or 1-sqrt (default linear).") var warmupType: String?
    @Option(name: .customLong("min-lr-ratio"), parsing: .unconditional, help: "transformers hf-wsd: the floor as a fraction of lr (default 0).") var minLRRatio: Double?
    @Option(help: "transformers hf-inverse-sqrt: timescale (default: warm-up steps, or 10000 without warm-up).") var timescale: Int?

    /// The first of these flags given, if any (they need a timm or transformers schedule).
    var anyGiven: String? {
        [("--t-initial", tInitial != nil), ("--lr-min", lrMin != nil), ("--cycle-mul", cycleMul != nil), ("--warmup-t", warmupT != nil),
         ("--warmup-lr-init", warmupLRInit != nil), ("--warmup-prefix", warmupPrefix), ("--k-decay", kDecay != nil),
         ("--num-warmup-steps", numWarmupSteps != nil), ("--num-training-steps", numTrainingSteps != nil), ("--num-cycles", numCycles != nil),
         ("--lr-end", lrEnd != nil), ("--power", power != nil), ("--num-stable-steps", numStableSteps != nil), ("--num-decay-steps", numDecaySteps != nil),
         ("--decay-type", decayType != nil), ("--warmup-type", warmupType != nil), ("--min-lr-ratio", minLRRatio != nil),
         ("--timescale", timescale != nil)].first { $0.1 }?.0
    }

    /// The schedule `name` with base lr `lr`, refusing a flag it does not take or a missing one.
    /// `--cycle-decay` and `--cycle-limit` are shared with sgdr-warmup (`RestartFlags`).
    func schedule(_ name: FamilyScheduleName, lr: Double, cycleDecay: Double?, cycleLimit: Int?) throws -> FamilySchedule {
        let timm: [(String, Bool)] = [("--t-initial", tInitial != nil), ("--lr-min", lrMin != nil), ("--cycle-mul", cycleMul != nil),
                                      ("--cycle-decay", cycleDecay != nil), ("--cycle-limit", cycleLimit != nil), ("--warmup-t", warmupT != nil),
                                      ("--warmup-lr-init", warmupLRInit != nil), ("--warmup-prefix", warmupPrefix), ("--k-decay", kDecay != nil)]
        let hf: [(String, Bool)] = [("--num-warmup-steps", numWarmupSteps != nil), ("--num-training-steps", numTrainingSteps != nil),
                                    ("--num-cycles", numCycles != nil), ("--lr-end", lrEnd != nil), ("--power", power != nil),
                                    ("--num-stable-steps", numStableSteps != nil), ("--num-decay-steps", numDecaySteps != nil),
                                    ("--decay-type", decayType != nil), ("--warmup-type", warmupType != nil), ("--min-lr-ratio", minLRRatio != nil),
                                    ("--timescale", timescale != nil)]
        let allowed: Set<String> = switch name {
        case .timmCosine: Set(timm.map(\.0))
        case .hfLinear: ["--num-warmup-steps", "--num-training-steps"]
        case .hfCosine, .hfCosineRestarts: ["--num-warmup-steps", "--num-training-steps", "--num-cycles"]
        case .hfPolynomial: ["--num-warmup-steps", "--num-training-steps", "--lr-end", "--power"]
        case .hfWSD: ["--num-warmup-steps", "--num-training-steps", "--num-stable-steps", "--num-decay-steps", "--decay-type", "--warmup-type",
                      "--min-lr-ratio", "--num-cycles"]
        case .hfInverseSqrt: ["--num-warmup-steps", "--timescale", "--num-training-steps"]
        }
        if let (flag, _) = (timm + hf).first(where: { $0.1 && !allowed.contains($0.0) }) {
            throw ValidationError("\(flag) is not an argument of --schedule \(name.rawValue) (it takes \(allowed.sorted().joined(separator: ", ")))")
        }
        func required<T>(_ value: T?, _ flag: String) throws -> T {
            guard let value else { throw ValidationError("--schedule \(name.rawValue) needs \(flag)") }
            return value
        }
        return try validating {
            if name == .timmCosine {
                return .timm(try TimmCosineSchedule(tInitial: try required(tInitial, "--t-initial"), lrMin: lrMin ?? 0, cycleMul: cycleMul ?? 1,
                                                    cycleDecay: cycleDecay ?? 1, cycleLimit: cycleLimit ?? 1, warmupT: warmupT ?? 0,
                                                    warmupLRInit: warmupLRInit ?? 0, warmupPrefix: warmupPrefix, kDecay: kDecay ?? 1, baseLR: lr))
            }
            let most = TransformersSchedule.maximumSteps
            for (flag, value) in [("--num-warmup-steps", numWarmupSteps), ("--num-training-steps", numTrainingSteps),
                                  ("--num-stable-steps", numStableSteps), ("--num-decay-steps", numDecaySteps), ("--timescale", timescale)] {
                if let value, !(0...most).contains(value) { throw ValidationError("\(flag) \(value) is outside 0...\(most)") }
            }
            let w = numWarmupSteps ?? 0
            let kind: TransformersSchedule.Kind, n: Int
            switch name {
            case .timmCosine: fatalError("handled above")
            case .hfLinear: (kind, n) = (.linear, try required(numTrainingSteps, "--num-training-steps"))
            case .hfCosine: (kind, n) = (.cosine(numCycles: numCycles ?? 0.5), try required(numTrainingSteps, "--num-training-steps"))
            case .hfCosineRestarts: (kind, n) = (.cosineWithHardRestarts(numCycles: numCycles ?? 1), try required(numTrainingSteps, "--num-training-steps"))
            case .hfPolynomial:
                (kind, n) = (.polynomial(lrEnd: lrEnd ?? 1e-7, power: power ?? 1, lrInit: lr), try required(numTrainingSteps, "--num-training-steps"))
            case .hfInverseSqrt:
                (kind, n) = (.inverseSqrt(timescale: timescale ?? (w == 0 ? 10_000 : w)), numTrainingSteps ?? max(w, 1))
            case .hfWSD:
                let decay = try required(numDecaySteps, "--num-decay-steps")
                guard numStableSteps != nil || numTrainingSteps != nil else { throw ValidationError("--schedule hf-wsd needs --num-stable-steps or --num-training-steps") }
                if numStableSteps == nil, let n = numTrainingSteps, w + decay > n {
                    throw ValidationError("--num-warmup-steps (\(w)) plus --num-decay-steps (\(decay)) are longer than training (--num-training-steps \(n))")
                }
                let stable = numStableSteps ?? (numTrainingSteps! - w - decay)
                func shape(_ text: String?, _ flag: String, _ fallback: TransformersSchedule.Shape) throws -> TransformersSchedule.Shape {
                    guard let text else { return fallback }
                    guard let s = TransformersSchedule.Shape(rawValue: text) else { throw ValidationError("\(flag): '\(text)' is not linear, cosine or 1-sqrt") }
                    return s
                }
                kind = .wsd(stableSteps: stable, decaySteps: decay, warmupType: try shape(warmupType, "--warmup-type", .linear),
                            decayType: try shape(decayType, "--decay-type", .cosine), minLRRatio: minLRRatio ?? 0, numCycles: numCycles ?? 0.5)
                n = max(w + max(stable, 0) + decay, w)
            }
            return .transformers(try TransformersSchedule(kind, warmupSteps: w, trainingSteps: n), baseLR: lr)
        }
    }
}
