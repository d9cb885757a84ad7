import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// What a run did, as its release's rules decide from its settings: the optimizer (after
/// Ultralytics' `optimizer: auto`), its parameter groups with their lr and warm-up start, the
/// warm-up length, the accumulation and the lr multiplier lf.
public struct RunPlan: Sendable {
    /// One parameter group as the optimizer was built.
    public struct Group: Sendable {
        /// Bias, weight or norm (MuSGD's muon groups are weights).
        public var role: ReleaseRules.Role
        /// The group's `initial_lr` (lr0, or 3 x lr0 in MuSGD's boosted groups).
        public var initialLR: Double
        /// The lr the warm-up starts from (`warmup_bias_lr` for the group the rules treat as the
        /// bias group, else 0).
        public var warmupStart: Double
        /// "weight", "bias (boosted)" ...: for reports.
        public var name: String
    }

    /// The release rules the plan follows.
    public var rules: ReleaseRules
    /// Epochs the schedule spans.
    public var epochs: Int
    /// nb.
    public var batchesPerEpoch: Int
    /// The batch size.
    public var batchSize: Int
    /// nbs.
    public var nominalBatchSize: Int
    /// The optimizer that ran ("SGD", "AdamW", "MuSGD", ...).
    public var optimizer: String
    /// Whether the groups have a `momentum` key (SGD, RMSprop, MuSGD): only then the warm-up
    /// ramps it; Adam-family betas[0] stays at `constructorMomentum`.
    public var warmsMomentum: Bool
    /// The momentum (Adam: beta1) the optimizer was built with.
    public var constructorMomentum: Double
    /// The momentum target of the warm-up (`hyp['momentum']`, `args.momentum`).
    public var momentum: Double
    /// The momentum the warm-up starts from.
    public var warmupMomentum: Double
    /// `warmup_epochs`.
    public var warmupEpochs: Double
    /// The final lr as a fraction of lr0.
    public var lrf: Double
    /// One-cycle (cosine) rather than linear.
    public var cosine: Bool
    /// The optimizer's parameter groups, in order.
    public var groups: [Group]
    /// How the plan was derived (optimizer: auto's choice, forced values).
    public var notes: [String]

    /// The plan of `run` under `rules`, with `nb` batches per epoch; `images` and `classes` are the
    /// training set's (Ultralytics' `optimizer: auto` needs them).
    public init(_ run: LoggedRun, rules: ReleaseRules, batchesPerEpoch nb: Int, images: Int?, classes: Int?) throws {
        try HalfTraceError.check("nb", nb, in: 1...1_000_000)
        guard run.epochs * nb <= 50_000_000 else {
            throw HalfTraceError.invalid("nb", "\(run.epochs) epochs of \(nb) batches: too many iterations to replay")
        }
        self.rules = rules
        epochs = run.epochs
        batchesPerEpoch = nb
        batchSize = run.batchSize
        nominalBatchSize = run.nominalBatchSize
        momentum = run.hyp.momentum
        warmupMomentum = run.hyp.warmupMomentum
        warmupEpochs = run.hyp.warmupEpochs
        lrf = run.hyp.lrf
        cosine = run.cosine
        notes = []
        var name = Self.canonical(run.optimizer), lr0 = run.hyp.lr0, ctorMomentum = run.hyp.momentum, biasStart = run.hyp.warmupBiasLR
        if name == "auto" {
            guard rules.auto != .none else {
                throw HalfTraceError.file(run.settingsFile, field: "optimizer", "auto does not exist in \(rules.displayName)")
            }
            guard let images, let classes else {
                throw HalfTraceError.invalid("images", "optimizer: auto chooses its optimizer and lr0 from the training set's size and classes, and the dataset is not readable here: give the number of training images and classes")
            }
            let iterations = Int((Double(images) / Double(max(batchSize, nominalBatchSize))).rounded(.up)) * epochs
            let fit = Double(String(format: "%.6f", 0.002 * 5 / Double(4 + classes)))!  // Python's round(x, 6)
            let long = iterations > (rules.auto == .sgdOrNAdam ? 6000 : 10000)
            switch rules.auto {
            case .none: break
            case .sgdOrNAdam: (name, lr0) = long ? ("SGD", 0.01) : ("NAdam", 0.001)
            case .sgdOrAdamW: (name, lr0) = long ? ("SGD", 0.01) : ("AdamW", fit)
            case .sgdOrMuSGD: (name, lr0) = long ? ("SGD", 0.01) : ("MuSGD", fit)
            case .muSGD: (name, lr0) = ("MuSGD", long ? 0.01 : fit)
            case .muSGDOrAdamW: (name, lr0) = long ? ("MuSGD", 0.01) : ("AdamW", fit)
            }
            ctorMomentum = 0.9
            biasStart = 0
            notes.append("optimizer: auto chose \(name) with lr0 \(lr0) (iterations = ceil(\(images) / max(\(batchSize), \(nominalBatchSize))) * \(epochs) = \(iterations), lr_fit = round(0.002 * 5 / (4 + \(classes)), 6) = \(fit)), momentum 0.9, warmup_bias_lr 0")
        }
        guard Self.known.contains(name) else {
            throw HalfTraceError.file(run.settingsFile, field: "optimizer", "'\(run.optimizer.prefix(40))' is not an optimizer \(rules.displayName) builds (\(Self.known.sorted().joined(separator: ", ")))")
        }
        if name == "MuSGD" && !(rules.package == .ultralytics && rules.versions.lower >= ReleaseVersion(8, 4, 0)) {
            throw HalfTraceError.file(run.settingsFile, field: "optimizer", "MuSGD exists from Ultralytics 8.4.0; \(rules.displayName) has none")
        }
        optimizer = name
        constructorMomentum = ctorMomentum
        warmsMomentum = ["SGD", "RMSProp", "MuSGD"].contains(name)
        if name == "MuSGD" {
            // [weight+, weight, bn+, bn, bias+, bias, muon+, muon]: the head's groups ("boosted")
            // at 3 x lr  # ultralytics/engine/trainer.py:1217-1240 (8.4.190)
            let roles: [ReleaseRules.Role] = [.weight, .weight, .norm, .norm, .bias, .bias, .weight, .weight]
            let names = ["weight", "bn", "bias", "muon"]
            groups = roles.indices.map { j in
                Group(role: roles[j], initialLR: j % 2 == 0 ? lr0 * 3 : lr0, warmupStart: 0,
                      name: names[j / 2] + (j % 2 == 0 ? " (boosted, lr x3)" : ""))
            }
        } else {
            groups = rules.groups.map { role in
                Group(role: role, initialLR: lr0, warmupStart: 0, name: role == .norm ? "norm weights" : role == .bias ? "biases" : "weights")
            }
        }
        for j in groups.indices {
            let isBias: Bool
            switch rules.biasWarmup {
            case .groupIndex(let k): isBias = j == k
            case .groupNamedBias: isBias = groups[j].role == .bias
            }
            if isBias { groups[j].warmupStart = biasStart }
        }
        if case .groupIndex(let k) = rules.biasWarmup, k < groups.count, groups[k].role != .bias, biasStart != 0 {
            notes.append("the warm-up treats group \(k) (\(groups[k].name)) as the bias group (j == \(k)): it falls from warmup_bias_lr \(biasStart), while the biases rise from 0")
        }
    }

    /// Ultralytics matches optimizer names case-insensitively.
    public static func canonical(_ name: String) -> String {
        let lower = name.lowercased()
        return (known + ["auto"]).first { $0.lowercased() == lower } ?? name
    }

    static let known: Set<String> = ["SGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSProp", "MuSGD"]

    /// The warm-up length nw (-1 or 0: no warm-up).
    public var warmupIterations: Int {
        switch rules.warmupLength {
        case let .floored(floor, zeroDisables):
            if zeroDisables && warmupEpochs <= 0 { return -1 }
            return YOLOv5Formulas.warmupIterations(warmupEpochs: warmupEpochs, batchesPerEpoch: batchesPerEpoch, floor: floor)
        case .cappedAtEpochsMinusOne:
            let w = min(warmupEpochs, Double(max(epochs - 1, 0)))
            return w > 0 ? Int((w * Double(batchesPerEpoch)).rounded(.toNearestOrEven)) : 0
        }
    }

    /// Whether iteration `ni` runs the warm-up block.
    public func warms(_ ni: Int) -> Bool {
        let nw = warmupIterations
        switch rules.warmupCondition {
        case .throughEnd: return ni <= nw
        case .beforeEnd: return ni < nw
        case .throughEndIfAny: return nw > 0 && ni <= nw
        }
    }

    /// `max(round(nbs / bs), 1)`, capped at nb * epochs where the rules cap it.
    public var initialAccumulate: Int {
        let a = YOLOv5Formulas.accumulate(nominalBatchSize: nominalBatchSize, batchSize: batchSize)
        return rules.accumulateCappedAtIterations ? min(a, batchesPerEpoch * epochs) : a
    }

    /// The lr multiplier lf(x) with Python's evaluation order: linear
    /// `(1 - x / epochs) * (1.0 - lrf) + lrf` (YOLOv5 6.0: `epochs - 1`; Ultralytics 8.0.228+
    /// clamps `1 - x / epochs` at 0, which changes nothing for x <= epochs), or `one_cycle(1,
    /// lrf, epochs)` = `((1 - cos(x * pi / epochs)) / 2) * (lrf - 1) + 1`.
    public func lf(_ x: Double) -> Double {
        let e = Double(epochs)
        if cosine { return YOLOv5Formulas.oneCycle(x, y1: 1, y2: lrf, steps: e) }
        let d = rules.linear == .overEpochsMinusOne ? e - 1 : e
        return YOLOv5Formulas.linear(x, epochs: d, lrf: lrf, floor: rules.package == .ultralytics ? 0 : -.infinity)
    }
}
