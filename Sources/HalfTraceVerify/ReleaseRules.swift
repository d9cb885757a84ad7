/// How one range of a package's releases sets and logs the learning rate, momentum and
/// accumulation: one value per range in which these rules did not change, every field with the
/// source line it reproduces. `ReleaseRules.all` is the table; `ScheduleSimulator` runs a value.
///
/// Ranges were found by reading every PyPI wheel of pip `yolov5` 6.0.1-7.0.14 and bisecting
/// Ultralytics 8.0.0-8.4.190 release by release (8.0.7-8.0.34 were never published).
public struct ReleaseRules: Sendable, Identifiable {
    /// The package a run directory comes from.
    public enum Package: String, Sendable, Codable {
        /// pip `yolov5` (Ultralytics' YOLOv5 repository).
        case yolov5
        /// The `ultralytics` package (YOLOv8 and later).
        case ultralytics

        /// "YOLOv5", "Ultralytics".
        public var displayName: String { self == .yolov5 ? "YOLOv5" : "Ultralytics" }
    }

    /// What a parameter group holds.
    public enum Role: String, Sendable {
        /// Biases (no weight decay).
        case bias
        /// Weights with weight decay.
        case weight
        /// Normalisation-layer weights (no weight decay).
        case norm
    }

    /// How the warm-up finds the group whose lr falls from `warmup_bias_lr`.
    public enum BiasWarmup: Sendable, Equatable {
        /// `warmup_bias_lr if j == k else 0.0`, by the group's index, whatever it holds.
        case groupIndex(Int)
        /// `warmup_bias_lr if x.get("param_group") == "bias" else 0.0`.
        case groupNamedBias
    }

    /// How the warm-up length `nw` follows from `warmup_epochs` and the batches per epoch `nb`.
    public enum WarmupLength: Sendable, Equatable {
        /// `max(round(warmup_epochs * nb), floor)`; `warmup_epochs: 0` still warms up `floor`
        /// iterations when `zeroDisables` is false, and not at all (nw = -1) when it is true.
        case floored(Int, zeroDisables: Bool)
        /// `round(min(warmup_epochs, max(epochs - 1, 0)) * nb)`, 0 when that is not positive.
        case cappedAtEpochsMinusOne
    }

    /// Which iterations the warm-up block runs on.
    public enum WarmupCondition: Sendable, Equatable {
        /// `if ni <= nw:` (nw + 1 iterations, landing on the targets).
        case throughEnd
        /// `if ni < nw:` (the last warm-up value is interp(nw - 1): never quite the target).
        case beforeEnd
        /// `if nw and ni <= nw:`.
        case throughEndIfAny
    }

    /// What the accumulate ramp interpolates towards inside the warm-up.
    public enum AccumulateTarget: Sendable, Equatable {
        /// `np.interp(ni, xi, [1, nbs / batch_size]).round()`: the unrounded ratio.
        case nominalRatio
        /// `np.interp(ni, xi, [1, acc0]).round()`: the rounded (and capped) accumulate.
        case roundedAccumulate
    }

    /// The linear schedule's denominator.
    public enum LinearSchedule: Sendable, Equatable {
        /// `(1 - x / epochs) * (1 - lrf) + lrf`.
        case overEpochs
        /// `(1 - x / (epochs - 1)) * (1 - lrf) + lrf` (YOLOv5 6.0's `--linear-lr`).
        case overEpochsMinusOne
    }

    /// When `scheduler.step()` runs.
    public enum SchedulerStep: Sendable, Equatable {
        /// At the end of every epoch after `scheduler.last_epoch = start_epoch - 1`: epoch e
        /// trains at lf(e - 1) once the warm-up is over (the one-epoch lag).
        case endOfEpochLagged
        /// At the start of every epoch: epoch e trains at lf(e).
        case startOfEpoch
    }

    /// What a resumed run does to the schedule.
    public enum Resume: Sendable, Equatable {
        /// The checkpoint's lr and `last_epoch = start_epoch - 1`: the schedule continues as if
        /// never interrupted.
        case continues
        /// `last_epoch = start_epoch - 1` is set before the checkpoint is loaded, so the
        /// scheduler restarts: after the first resumed epoch the lr is lf(0), lf(1), ...
        case restartsAtZero
        /// The checkpoint is saved before the end-of-epoch step, so the first resumed epoch runs
        /// at lf(s - 2), one epoch staler than an uninterrupted run.
        case firstEpochStale
    }

    /// `optimizer: auto`'s choice (Ultralytics), from `iterations = ceil(images / max(batch,
    /// nbs)) * epochs` and `lr_fit = round(0.002 * 5 / (4 + nc), 6)`.
    public enum AutoOptimizer: Sendable, Equatable {
        /// No `auto`.
        case none
        /// `('SGD', 0.01, 0.9) if iterations > 6000 else ('NAdam', 0.001, 0.9)`.
        case sgdOrNAdam
        /// `('SGD', 0.01, 0.9) if iterations > 10000 else ('AdamW', lr_fit, 0.9)`.
        case sgdOrAdamW
        /// `('SGD', 0.01, 0.9) if iterations > 10000 else ('MuSGD', lr_fit, 0.9)`.
        case sgdOrMuSGD
        /// `('MuSGD', 0.01 if iterations > 10000 else lr_fit, 0.9)`.
        case muSGD
        /// `('MuSGD', 0.01, 0.9) if iterations > 10000 else ('AdamW', lr_fit, 0.9)`.
        case muSGDOrAdamW
    }

    /// How results.csv is written.
    public struct Results: Sendable, Equatable {
        /// Significant digits of every value (`%20.5g`, `%23.5g`: 5; `%.6g`: 6).
        public var digits: Int
        /// The epoch column of the first epoch (0 or 1).
        public var firstEpoch: Int
        /// The lr columns' prefix: `x/lr` (x/lr0...) or `lr/pg` (lr/pg0...).
        public var lrPrefix: String
        /// A `time` column follows the epoch column (Ultralytics 8.3.9+).
        public var timeColumn: Bool
    }

    /// A short identifier accepted by `verify --rules` ("ultralytics-8.1.42").
    public var id: String
    /// The package these rules are of.
    public var package: Package
    /// The releases these rules hold for.
    public var versions: ReleaseRange
    /// The parameter groups of SGD/Adam-style optimizers, in optimizer order.
    public var groups: [Role]
    /// How the warm-up finds the bias group.
    public var biasWarmup: BiasWarmup
    /// The warm-up length nw.
    public var warmupLength: WarmupLength
    /// Which iterations run the warm-up block.
    public var warmupCondition: WarmupCondition
    /// What accumulate ramps towards.
    public var accumulateTarget: AccumulateTarget
    /// `accumulate = min(accumulate, nb * epochs)` (Ultralytics 8.4.177+, without `time`).
    public var accumulateCappedAtIterations: Bool
    /// The linear schedule's denominator.
    public var linear: LinearSchedule
    /// When the scheduler steps.
    public var schedulerStep: SchedulerStep
    /// What a resume does to the schedule.
    public var resume: Resume
    /// `optimizer: auto`'s choice.
    public var auto: AutoOptimizer
    /// How results.csv is written.
    public var results: Results
    /// What distinguishes these rules from their neighbours, with the source lines.
    public var notes: [String]

    /// "Ultralytics 8.1.42-8.3.8".
    public var displayName: String { "\(package.displayName) \(versions)" }

    /// These rules with `change` applied (a fork's rules, or a rule broken on purpose in a test).
    public func with(_ change: (inout ReleaseRules) -> Void) -> ReleaseRules {
        var r = self
        change(&r)
        return r
    }
}

extension ReleaseRules {
    static func yolov5(_ id: String, _ versions: ReleaseRange, groups: [Role], bias: BiasWarmup, floor: Int,
                       linear: LinearSchedule = .overEpochs, notes: [String]) -> ReleaseRules {
        ReleaseRules(id: id, package: .yolov5, versions: versions, groups: groups, biasWarmup: bias,
                     warmupLength: .floored(floor, zeroDisables: false), warmupCondition: .throughEnd, accumulateTarget: .nominalRatio,
                     accumulateCappedAtIterations: false, linear: linear, schedulerStep: .endOfEpochLagged, resume: .continues, auto: .none,
                     results: Results(digits: 5, firstEpoch: 0, lrPrefix: "x/lr", timeColumn: false), notes: notes)
    }

    /// Ultralytics rules: the 8.3.253 rules, with `changes` applied.
    static func ultralytics(_ id: String, _ versions: ReleaseRange, notes: [String], _ changes: (inout ReleaseRules) -> Void = { _ in }) -> ReleaseRules {
        var r = ReleaseRules(id: id, package: .ultralytics, versions: versions, groups: [.bias, .weight, .norm], biasWarmup: .groupIndex(0),
                             warmupLength: .floored(100, zeroDisables: true), warmupCondition: .throughEnd, accumulateTarget: .nominalRatio,
                             accumulateCappedAtIterations: false, linear: .overEpochs, schedulerStep: .startOfEpoch, resume: .continues,
                             auto: .sgdOrAdamW, results: Results(digits: 6, firstEpoch: 1, lrPrefix: "lr/pg", timeColumn: true), notes: notes)
        changes(&r)
        return r
    }

    private static func v(_ a: Int, _ b: Int, _ c: Int) -> ReleaseVersion { ReleaseVersion(a, b, c) }
    private static func range(_ a: ReleaseVersion, _ b: ReleaseVersion) -> ReleaseRange { ReleaseRange(a, b) }

    /// Every range of releases with its own rules, oldest first per package.
    public static let all: [ReleaseRules] = [
        yolov5("yolov5-6.0", range(v(6, 0, 1), v(6, 0, 7)), groups: [.norm, .weight, .bias], bias: .groupIndex(2), floor: 1000,
               linear: .overEpochsMinusOne, notes: [
                "nw = max(round(warmup_epochs * nb), 1000)  # yolov5/train.py:254 (6.0.1)",
                "groups: BatchNorm weights, decayed weights, biases; warm-up 'warmup_bias_lr if j == 2'  # yolov5/train.py:138-153, 299 (6.0.1)",
                "cosine unless --linear-lr; linear lf = (1 - x / (epochs - 1)) * (1 - lrf) + lrf  # yolov5/train.py:159-162 (6.0.1)",
               ]),
        yolov5("yolov5-6.1.0", range(v(6, 1, 0), v(6, 1, 1)), groups: [.norm, .weight, .bias], bias: .groupIndex(2), floor: 100, notes: [
            "nw = max(round(warmup_epochs * nb), 100)  # yolov5/train.py:353 (6.1.0)",
            "groups: BatchNorm weights, decayed weights, biases; warm-up 'warmup_bias_lr if j == 2'  # yolov5/train.py:220-237 (6.1.1)",
        ]),
        yolov5("yolov5-6.1.2", range(v(6, 1, 2), v(6, 1, 6)), groups: [.bias, .weight, .norm], bias: .groupIndex(2), floor: 100, notes: [
            "groups became biases, decayed weights, norm weights  # yolov5/train.py:219-237 (6.1.2)",
            "but the warm-up still tests 'j == 2': the norm weights fall from warmup_bias_lr, the biases rise from 0  # yolov5/train.py:401 (6.1.2)",
        ]),
        yolov5("yolov5-7.0", range(v(6, 1, 7), v(7, 0, 9999)), groups: [.bias, .weight, .norm], bias: .groupIndex(0), floor: 100, notes: [
            "smart_optimizer: biases, decayed weights, norm weights; warm-up 'warmup_bias_lr if j == 0'  # yolov5/train.py:219, 360 (6.1.7); :316-318 (7.0.14)",
            "nw = max(round(warmup_epochs * nb), 100)  # yolov5/train.py:268 (7.0.14)",
            "scheduler.last_epoch = start_epoch - 1; scheduler.step() after the epoch: epoch e trains at lf(e - 1)  # yolov5/train.py:259, 364 (7.0.14)",
        ]),
        ultralytics("ultralytics-8.0.0", range(v(8, 0, 0), v(8, 0, 35)), notes: [
            "scheduler.last_epoch = start_epoch - 1 is set before resume_training: a resumed schedule restarts at lf(0)  # ultralytics/yolo/engine/trainer.py:221, 232 (8.0.0)",
        ]) { r in r.warmupLength = .floored(100, zeroDisables: false); r.schedulerStep = .endOfEpochLagged; r.resume = .restartsAtZero
            r.auto = .none; r.results = Results(digits: 5, firstEpoch: 0, lrPrefix: "lr/pg", timeColumn: false) },
        ultralytics("ultralytics-8.0.36", range(v(8, 0, 36), v(8, 0, 112)), notes: [
            "nw = max(round(warmup_epochs * nb), 100) (warmup_epochs 0 still warms up 100 iterations)  # ultralytics/yolo/engine/trainer.py:245 (8.0.0)",
            "scheduler.step() at the end of the epoch after last_epoch = start_epoch - 1: epoch e trains at lf(e - 1)  # ultralytics/yolo/engine/trainer.py:244, 321-323 (8.0.36)",
        ]) { r in r.warmupLength = .floored(100, zeroDisables: false); r.schedulerStep = .endOfEpochLagged; r.auto = .none
            r.results = Results(digits: 5, firstEpoch: 0, lrPrefix: "lr/pg", timeColumn: false) },
        ultralytics("ultralytics-8.0.113", range(v(8, 0, 113), v(8, 0, 113)), notes: [
            "optimizer auto: ('SGD', 0.01, 0.9) if iterations > 6000 else ('NAdam', 0.001, 0.9)  # ultralytics/yolo/engine/trainer.py:630 (8.0.113)",
        ]) { r in r.warmupLength = .floored(100, zeroDisables: false); r.schedulerStep = .endOfEpochLagged; r.auto = .sgdOrNAdam
            r.results = Results(digits: 5, firstEpoch: 0, lrPrefix: "lr/pg", timeColumn: false) },
        ultralytics("ultralytics-8.0.114", range(v(8, 0, 114), v(8, 0, 118)), notes: [
            "optimizer auto: ('SGD', 0.01, 0.9) if iterations > 10000 else ('AdamW', lr_fit, 0.9)  # ultralytics/yolo/engine/trainer.py:632 (8.0.114)",
        ]) { r in r.warmupLength = .floored(100, zeroDisables: false); r.schedulerStep = .endOfEpochLagged
            r.results = Results(digits: 5, firstEpoch: 0, lrPrefix: "lr/pg", timeColumn: false) },
        ultralytics("ultralytics-8.0.119", range(v(8, 0, 119), v(8, 0, 161)), notes: [
            "nw = max(round(warmup_epochs * nb), 100) if warmup_epochs > 0 else -1  # ultralytics/engine/trainer.py:366 (8.3.253), first in 8.0.119",
        ]) { r in r.schedulerStep = .endOfEpochLagged; r.results = Results(digits: 5, firstEpoch: 0, lrPrefix: "lr/pg", timeColumn: false) },
        ultralytics("ultralytics-8.0.162", range(v(8, 0, 162), v(8, 0, 227)), notes: [
            "results.csv epoch column is epoch + 1  # ultralytics/engine/trainer.py:559 (8.0.162)",
        ]) { r in r.schedulerStep = .endOfEpochLagged; r.results = Results(digits: 5, firstEpoch: 1, lrPrefix: "lr/pg", timeColumn: false) },
        ultralytics("ultralytics-8.0.228", range(v(8, 0, 228), v(8, 1, 41)), notes: [
            "the checkpoint is saved before the end-of-epoch scheduler.step(): a resumed run's first epoch trains at lf(s - 2)  # ultralytics/engine/trainer.py:389-411 (8.0.228)",
        ]) { r in r.schedulerStep = .endOfEpochLagged; r.resume = .firstEpochStale
            r.results = Results(digits: 5, firstEpoch: 1, lrPrefix: "lr/pg", timeColumn: false) },
        ultralytics("ultralytics-8.1.42", range(v(8, 1, 42), v(8, 3, 8)), notes: [
            "scheduler.step() at the start of every epoch: epoch e trains at lf(e), no lag  # ultralytics/engine/trainer.py:331-336 (8.1.42)",
        ]) { r in r.results = Results(digits: 5, firstEpoch: 1, lrPrefix: "lr/pg", timeColumn: false) },
        ultralytics("ultralytics-8.3.9", range(v(8, 3, 9), v(8, 3, 9999)), notes: [
            "nw = max(round(warmup_epochs * nb), 100) if warmup_epochs > 0 else -1; 'warmup_bias_lr if j == 0'  # ultralytics/engine/trainer.py:366, 413 (8.3.253)",
            "groups biases, decayed weights, norm weights  # ultralytics/engine/trainer.py:964-972 (8.3.253)",
            "results.csv 'epoch,time,...' with %.6g  # ultralytics/engine/trainer.py:656-659 (8.3.9)",
        ]),
        ultralytics("ultralytics-8.4.0", range(v(8, 4, 0), v(8, 4, 2)), notes: [
            "groups became decayed weights, norm weights, biases  # ultralytics/engine/trainer.py:980-982, 996 (8.4.0)",
            "but the warm-up still tests 'j == 0': the decayed weights fall from warmup_bias_lr, the biases rise from 0  # ultralytics/engine/trainer.py:414 (8.4.0)",
            "optimizer auto: ('SGD', 0.01, 0.9) if iterations > 10000 else ('MuSGD', lr_fit, 0.9)  # ultralytics/engine/trainer.py:947 (8.4.0)",
        ]) { r in r.groups = [.weight, .norm, .bias]; r.auto = .sgdOrMuSGD },
        ultralytics("ultralytics-8.4.3", range(v(8, 4, 3), v(8, 4, 7)), notes: [
            "the warm-up finds the bias group by name: 'warmup_bias_lr if x.get(\"param_group\") == \"bias\"'  # ultralytics/engine/trainer.py:418 (8.4.3)",
            "optimizer auto: ('MuSGD', 0.01 if iterations > 10000 else lr_fit, 0.9)  # ultralytics/engine/trainer.py:951 (8.4.3)",
        ]) { r in r.groups = [.weight, .norm, .bias]; r.biasWarmup = .groupNamedBias; r.auto = .muSGD },
        ultralytics("ultralytics-8.4.8", range(v(8, 4, 8), v(8, 4, 102)), notes: [
            "optimizer auto: ('MuSGD', 0.01, 0.9) if iterations > 10000 else ('AdamW', lr_fit, 0.9)  # ultralytics/engine/trainer.py:951 (8.4.8)",
            "nw = max(round(warmup_epochs * nb), 100) if warmup_epochs > 0 else -1  # ultralytics/engine/trainer.py:398 (8.4.102)",
        ]) { r in r.groups = [.weight, .norm, .bias]; r.biasWarmup = .groupNamedBias; r.auto = .muSGDOrAdamW },
        ultralytics("ultralytics-8.4.103", range(v(8, 4, 103), v(8, 4, 176)), notes: [
            "nw = round(min(warmup_epochs, max(epochs - 1, 0)) * nb), no floor; the warm-up runs while ni < nw  # ultralytics/engine/trainer.py:253-254, 445 (8.4.103)",
        ]) { r in r.groups = [.weight, .norm, .bias]; r.biasWarmup = .groupNamedBias; r.auto = .muSGDOrAdamW
            r.warmupLength = .cappedAtEpochsMinusOne; r.warmupCondition = .beforeEnd },
        ultralytics("ultralytics-8.4.177", range(v(8, 4, 177), v(8, 4, 182)), notes: [
            "accumulate = min(accumulate, len(train_loader) * epochs)  # ultralytics/engine/trainer.py:323-324 (8.4.190), first in 8.4.177",
        ]) { r in r.groups = [.weight, .norm, .bias]; r.biasWarmup = .groupNamedBias; r.auto = .muSGDOrAdamW
            r.warmupLength = .cappedAtEpochsMinusOne; r.warmupCondition = .beforeEnd; r.accumulateCappedAtIterations = true },
        ultralytics("ultralytics-8.4.183", range(v(8, 4, 183), v(8, 4, 9999)), notes: [
            "the warm-up runs 'if nw and ni <= nw'; accumulate interpolates to the rounded acc0  # ultralytics/engine/trainer.py:477, 522-524 (8.4.190)",
            "nw = round(min(warmup_epochs, max(epochs - 1, 0)) * nb)  # ultralytics/engine/trainer.py:278-279 (8.4.190)",
            "groups decayed weights ('weight'), norm weights ('bn'), biases ('bias')  # ultralytics/engine/trainer.py:1217-1219 (8.4.190)",
        ]) { r in r.groups = [.weight, .norm, .bias]; r.biasWarmup = .groupNamedBias; r.auto = .muSGDOrAdamW
            r.warmupLength = .cappedAtEpochsMinusOne; r.warmupCondition = .throughEndIfAny; r.accumulateCappedAtIterations = true
            r.accumulateTarget = .roundedAccumulate },
    ]

    /// The newest release of each line that HalfTrace has read (`verify --rules ultralytics-8.3`
    /// means the rules of 8.3.253).
    public static let latestReleases: [String: ReleaseVersion] = [
        "yolov5-6.0": v(6, 0, 7), "yolov5-6.1": v(6, 1, 9), "yolov5-6.2": v(6, 2, 3), "yolov5-7.0": v(7, 0, 14),
        "ultralytics-8.0": v(8, 0, 239), "ultralytics-8.1": v(8, 1, 47), "ultralytics-8.2": v(8, 2, 103),
        "ultralytics-8.3": v(8, 3, 253), "ultralytics-8.4": v(8, 4, 190),
    ]

    /// The rules for a package's release.
    public static func covering(_ package: Package, _ version: ReleaseVersion) -> ReleaseRules? {
        all.first { $0.package == package && $0.versions.contains(version) }
    }

    /// The rules `verify --rules NAME` names: an id ("ultralytics-8.1.42"), a release
    /// ("ultralytics-8.2.103", "yolov5-6.1.5") or a line ("ultralytics-8.3", "yolov5-7.0": its
    /// newest release). nil when the name is none of these.
    public static func named(_ name: String) -> ReleaseRules? {
        let lower = name.lowercased()
        if let exact = all.first(where: { $0.id == lower }) { return exact }
        guard let dash = lower.firstIndex(of: "-"), let package = Package(rawValue: String(lower[..<dash])) else { return nil }
        let number = String(lower[lower.index(after: dash)...])
        if let version = ReleaseVersion(number) { return covering(package, version) }
        if let latest = latestReleases[lower] { return covering(package, latest) }
        return nil
    }

    /// The names `verify --rules` accepts, for help and errors.
    public static var names: [String] { all.map(\.id) + latestReleases.keys.sorted() }
}
