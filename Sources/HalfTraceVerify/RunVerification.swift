import Foundation
import HalfTraceKernels

/// What `verify` may be told instead of reading it from the run.
public struct VerifyOptions: Sendable {
    /// Batches per epoch, when the run's dataset is not readable here.
    public var batchesPerEpoch: Int?
    /// Training images and classes (Ultralytics' `optimizer: auto`), when the dataset is not readable.
    public var images: Int?
    /// Classes in the training set (Ultralytics' `optimizer: auto`).
    public var classes: Int?
    /// The release rules to use instead of the ones the run's files point to.
    public var rules: ReleaseRules?
    /// GradScaler's settings given, or to be inferred from the log (default: the log header's,
    /// else PyTorch's defaults).
    public var scaler = ScaleVerification.Given()
    /// Keep the rows a figure draws (`RunVerification.sample`).
    public var sample = false
    /// Look for the likely causes of a disagreement (other rules, another nb, edited settings);
    /// false only checks.
    public var explain = true

    /// Nothing given: everything from the run's files.
    public init() {}
}

/// One checked column: its rows, worst error and first disagreement.
public struct CheckedColumn: Sendable {
    /// The column's name in the log (`lr/pg0`, `lr_pg0`, `accumulate`, ...).
    public var name: String
    /// What it holds ("biases", "weights (momentum)", "steps").
    public var what: String
    /// Rows checked.
    public var rows: Int
    /// The largest error, in `unit`.
    public var worstError: Double
    /// Where the largest error is ("epoch 3", "ni 57").
    public var worstAt: String
    /// "last printed digit", "ulp", "" (integers and flags: count of differing rows).
    public var unit: String
    /// The first row that disagrees: where, the logged and the predicted value.
    public var firstDisagreement: (at: String, line: Int, logged: Double, predicted: Double)?
    /// Rows that disagree.
    public var disagreements = 0

    /// No row disagrees.
    public var passes: Bool { firstDisagreement == nil }
}

/// A logged run checked against its release's rules: results.csv's per-epoch lr to the digits
/// printed, and, when steps.csv is there, every iteration's lr, momentum, accumulate, optimizer
/// step and loss scale exactly.
public struct RunVerification: Sendable {
    /// The run as read.
    public var run: LoggedRun
    /// The release rules the run was checked with.
    public var rules: ReleaseRules
    /// Why these rules: the files' evidence, and which candidates the log fits.
    public var rulesReasons: [String]
    /// What the run did under these rules.
    public var plan: RunPlan
    /// Where nb came from.
    public var batchesSource: String
    /// The predicted lr per epoch as results.csv logs it (index: 0-based epoch).
    public var predictedEpochs: [[Double]]
    /// Epochs at which the run was resumed (from results.csv's repeated epochs or `time`, or
    /// steps.csv's iterations going back).
    public var resumedEpochs: [Int]
    /// results.csv's lr columns, per epoch.
    public var epochColumns: [CheckedColumn]
    /// steps.csv: the rows a figure draws and the values predicted there (nil unless asked for).
    public var sample: StepsSample?
    /// steps.csv: lr_pg*, momentum_pg*, accumulate and optimizer_step, per iteration.
    public var stepColumns: [CheckedColumn]
    /// steps.csv's loss scale against GradScaler's rule (nil without a scaler).
    public var scale: ScaleVerification?
    /// Where steps.csv contradicts itself.
    public var contradictions: [String]
    /// What the log fits when it disagrees.
    public var causes: [String]
    /// Remarks on the log itself (an epoch logged twice).
    public var remarks: [String]

    /// Every column, the scale and the log's own consistency hold.
    public var passes: Bool {
        epochColumns.allSatisfy(\.passes) && stepColumns.allSatisfy(\.passes) && (scale?.passes ?? true) && contradictions.isEmpty
    }

    /// Values that disagree, over every column, the scale and the log's own contradictions.
    public var disagreementCount: Int {
        (epochColumns + stepColumns).reduce(0) { $0 + $1.disagreements } + (scale?.disagreements ?? 0) + contradictions.count
    }

    /// The significant digits results.csv is compared at: the rules' printed precision, or more
    /// when the file shows more (a file printed with more digits is checked at its precision).
    static func printedDigits(_ run: LoggedRun, _ rules: ReleaseRules) -> Int { max(rules.results.digits, run.results.printedDigits) }

    /// The significant digits results.csv was compared at.
    public var comparedDigits: Int { Self.printedDigits(run, rules) }

    /// Checks `run`: finds nb (given, from the dataset, or from steps.csv), the release rules
    /// (given, or those of the releases the run's files allow that the log fits), and compares.
    public static func verify(_ run: LoggedRun, _ options: VerifyOptions = VerifyOptions()) throws -> RunVerification {
        let dataset = run.data.flatMap { RunDataset.count($0, runDirectory: run.directory) }
        let nb: Int, source: String
        if let given = options.batchesPerEpoch {
            try HalfTraceError.check("nb", given, in: 1...1_000_000)
            (nb, source) = (given, "given")
        } else if let dataset, dataset.images > 0 {
            nb = (dataset.images + run.batchSize - 1) / run.batchSize
            source = "the dataset \(dataset.file): \(dataset.images) training images / batch \(run.batchSize)"
        } else if let steps = run.steps {
            nb = steps.impliedBatchesPerEpoch
            source = "steps.csv: i runs 0...\(nb - 1)"
        } else {
            throw HalfTraceError.invalid("nb", "the dataset the run names (\(run.data ?? "none")) is not readable here: give the batches per epoch")
        }
        let images = options.images ?? dataset?.images, classes = options.classes ?? dataset?.classes
        if let given = options.rules, given.package != run.package {
            throw HalfTraceError.invalid("rules", "\(given.id) are \(given.package.displayName)'s rules, and \(run.directory) was written by \(run.package.displayName)")
        }
        let evidence = ReleaseDetection.evidence(run)
        var candidates = options.rules.map { [$0] } ?? evidence.candidates(run.package).reversed()
        var unknown: String? = nil
        if candidates.isEmpty {
            // A release the rules do not cover (newer than every known range, or in none): checked
            // with the nearest rules, and said so.
            let known = ReleaseRules.all.filter { $0.package == run.package }
            if let (version, source) = run.version {
                let newest = known.max { $0.versions.upper < $1.versions.upper }!, oldest = known.min { $0.versions.lower < $1.versions.lower }!
                let nearest = version > newest.versions.upper ? newest : version < oldest.versions.lower ? oldest
                    : known.min { distance($0.versions, version) < distance($1.versions, version) }!
                let relation = version > newest.versions.upper ? "newer than" : version < oldest.versions.lower ? "older than" : "outside"
                unknown = "\(run.package.displayName) \(version) (\(source)) is \(relation) the releases HalfTrace has rules for; checked with \(nearest.displayName)'s rules (\(nearest.id))"
                candidates = [nearest]
            } else {
                candidates = known.reversed()
            }
        }
        var checked: [RunVerification] = []
        var firstError: Error? = nil
        for rules in candidates {
            do { checked.append(try check(run, rules: rules, nb: nb, source: source, images: images, classes: classes, options: options)) }
            catch { if firstError == nil { firstError = error } }
        }
        // When no candidate fits, the one that fits best: the fewest disagreeing values, then the
        // latest first disagreement (one edited value leaves the right rules disagreeing there only).
        func misfit(_ v: RunVerification) -> (Int, Int, Int) {
            let first = { (cs: [CheckedColumn]) in -(cs.compactMap { $0.firstDisagreement?.line }.min() ?? Int.max) }
            return (v.disagreementCount, first(v.epochColumns), first(v.stepColumns))
        }
        guard var chosen = checked.first(where: \.passes) ?? checked.min(by: { misfit($0) < misfit($1) }) else { throw firstError! }
        let fitting = checked.filter(\.passes)
        if let given = options.rules {
            chosen.rulesReasons = ["given (\(given.id))"]
        } else if let unknown {
            chosen.rulesReasons = [unknown]
        } else {
            chosen.rulesReasons = evidence.reasons
            if candidates.count > 1 {
                let others = checked.filter { !$0.passes }.map { "\($0.rules.displayName) (\($0.rules.id))" }
                chosen.rulesReasons.append(fitting.isEmpty
                    ? "the log fits none of the rules of these releases: \(candidates.map(\.id).joined(separator: ", "))"
                    : "of the rules of these releases the log fits \(fitting.map(\.rules.id).joined(separator: ", "))"
                        + (others.isEmpty ? "" : "; not \(others.joined(separator: ", "))"))
            }
        }
        if !chosen.passes && options.explain { chosen.causes = likelyCauses(chosen, options: options, images: images, classes: classes) }
        return chosen
    }

    /// How far `version` is from a range (0 inside), comparing (major, minor, patch) lexically.
    static func distance(_ range: ReleaseRange, _ version: ReleaseVersion) -> (Int, Int, Int) {
        func key(_ v: ReleaseVersion) -> (Int, Int, Int) { (v.major, v.minor, v.patch) }
        let (a, b) = version < range.lower ? (key(range.lower), key(version)) : version > range.upper ? (key(version), key(range.upper)) : ((0, 0, 0), (0, 0, 0))
        return (abs(a.0 - b.0), abs(a.1 - b.1), abs(a.2 - b.2))
    }

    /// The run checked against one set of rules.
    static func check(_ run: LoggedRun, rules: ReleaseRules, nb: Int, source: String, images: Int?, classes: Int?,
                      options: VerifyOptions, stopAtFirst: Bool = false) throws -> RunVerification {
        let plan = try RunPlan(run, rules: rules, batchesPerEpoch: nb, images: images, classes: classes)
        var remarks: [String] = []
        var resumed = Set(run.steps?.resumedEpochs ?? [])
        var seen: [Int: Int] = [:]
        var lastTime: Double? = nil
        for row in run.results.rows {
            let epoch = row.loggedEpoch - rules.results.firstEpoch
            if let earlier = seen[epoch] {
                remarks.append("epoch \(epoch) is logged twice (lines \(earlier) and \(row.line)): a resumed run")
                resumed.insert(epoch)
            } else if let t = row.time, let previous = lastTime, t < previous {
                resumed.insert(epoch)  // Ultralytics 8.3.9+: `time` restarts at a resume
            }
            seen[epoch] = row.line
            lastTime = row.time
        }
        let lastEpoch = (run.results.rows.map { $0.loggedEpoch - rules.results.firstEpoch }.max() ?? 0)
        // The settings say the run was resumed but neither log shows where (the interrupted
        // epoch's row was never written): the resume epoch is the one free parameter, taken as
        // the epoch whose resume leaves the fewest logged values disagreeing (the first of equals).
        if resumed.isEmpty, run.steps == nil, let evidence = run.resumedBySettings, rules.resume != .continues {
            func disagreements(_ resumedEpochs: [Int]) -> Int {
                let predicted = ScheduleSimulator.loggedEpochs(plan, resumedEpochs: resumedEpochs, through: max(0, lastEpoch))
                return run.results.rows.reduce(0) { count, row in
                    let epoch = row.loggedEpoch - rules.results.firstEpoch
                    guard epoch >= 0, epoch < predicted.count, row.values.count == predicted[epoch].count else { return count + 1 }
                    return count + zip(row.values, predicted[epoch]).filter { printedError(logged: $0, predicted: $1, digits: printedDigits(run, rules)) > 0.5 + 1e-6 }.count
                }
            }
            var best = (epoch: 0, count: disagreements([]))
            for epoch in 1...max(1, lastEpoch) where best.count > 0 {
                let count = disagreements([epoch])
                if count < best.count { best = (epoch, count) }
            }
            if best.epoch > 0 {
                remarks.append("\(evidence): a resumed run; results.csv does not show where, and its lr fits a resume at epoch \(best.epoch) best")
                resumed.insert(best.epoch)
            }
        }
        let resumedEpochs = resumed.sorted()
        let predicted = ScheduleSimulator.loggedEpochs(plan, resumedEpochs: resumedEpochs, through: max(0, lastEpoch))
        var v = RunVerification(run: run, rules: rules, rulesReasons: [], plan: plan, batchesSource: source, predictedEpochs: predicted,
                                resumedEpochs: resumedEpochs, epochColumns: [], sample: nil, stepColumns: [], scale: nil,
                                contradictions: [], causes: [], remarks: remarks)
        v.epochColumns = try epochColumns(run, rules: rules, plan: plan, predicted: predicted)
        if stopAtFirst && !v.epochColumns.allSatisfy(\.passes) { return v }
        if let steps = run.steps { try v.checkSteps(steps, options: options, stopAtFirst: stopAtFirst) }
        return v
    }

    /// results.csv's lr columns against the predicted lr, to the digits printed.
    static func epochColumns(_ run: LoggedRun, rules: ReleaseRules, plan: RunPlan, predicted: [[Double]]) throws -> [CheckedColumn] {
        let r = run.results
        guard r.lrColumns.count == plan.groups.count else {
            return [CheckedColumn(name: r.lrColumns.joined(separator: ","), what: "parameter groups", rows: 1, worstError: .infinity, worstAt: "the header",
                                  unit: "", firstDisagreement: ("the header", 1, Double(r.lrColumns.count), Double(plan.groups.count)), disagreements: 1)]
        }
        var columns = r.lrColumns.enumerated().map { j, name in
            CheckedColumn(name: name, what: plan.groups[j].name, rows: 0, worstError: 0, worstAt: "-", unit: "last printed digit", firstDisagreement: nil)
        }
        let digits = printedDigits(run, rules)
        // An epoch outside the run under these rules (counted from 0 or 1) is a disagreement of
        // the rules with the file, reported in an epoch column of its own.
        // So is an epoch missing between two rows: a run logs every epoch (a resume repeats one
        // or goes back, never skips one).
        var epochs = CheckedColumn(name: "epoch", what: "epochs counted from \(rules.results.firstEpoch)", rows: 0, worstError: 0, worstAt: "-", unit: "")
        var previous: Int?
        for row in r.rows {
            let epoch = row.loggedEpoch - rules.results.firstEpoch
            epochs.rows += 1
            defer { previous = epoch }
            if let previous, epoch > previous + 1 {
                epochs.disagreements += 1
                epochs.worstError = 1
                if epochs.firstDisagreement == nil {
                    epochs.worstAt = "line \(row.line)"
                    epochs.firstDisagreement = ("the row after a missing epoch", row.line, Double(row.loggedEpoch), Double(previous + 1 + rules.results.firstEpoch))
                }
            }
            guard (0..<plan.epochs).contains(epoch), epoch < predicted.count else {
                epochs.disagreements += 1
                epochs.worstError = 1
                if epochs.firstDisagreement == nil {
                    epochs.worstAt = "line \(row.line)"
                    epochs.firstDisagreement = ("line \(row.line)", row.line, Double(row.loggedEpoch),
                                                Double(row.loggedEpoch < rules.results.firstEpoch ? rules.results.firstEpoch : plan.epochs - 1 + rules.results.firstEpoch))
                }
                continue
            }
            for j in columns.indices {
                let e = printedError(logged: row.values[j], predicted: predicted[epoch][j], digits: digits)
                columns[j].rows += 1
                if e > columns[j].worstError { (columns[j].worstError, columns[j].worstAt) = (e, "epoch \(epoch)") }
                if e > 0.5 + 1e-6 {
                    columns[j].disagreements += 1
                    if columns[j].firstDisagreement == nil { columns[j].firstDisagreement = ("epoch \(epoch)", row.line, row.values[j], predicted[epoch][j]) }
                }
            }
        }
        return epochs.passes ? columns : columns + [epochs]
    }

    /// steps.csv's rows against the iterations the rules predict, exactly, in one pass over the
    /// log (the replay holds one iteration at a time). `stopAtFirst`: stop at the first
    /// disagreement (enough to tell whether a hypothesis fits).
    mutating func checkSteps(_ steps: StepsLog, options: VerifyOptions, stopAtFirst: Bool = false) throws {
        let nb = plan.batchesPerEpoch
        contradictions = steps.contradictions(batchesPerEpoch: nb)
        guard steps.groups == plan.groups.count else {
            stepColumns = [CheckedColumn(name: "lr_pg*", what: "parameter groups", rows: 1, worstError: .infinity, worstAt: "the header", unit: "",
                                         firstDisagreement: ("the header", 1, Double(steps.groups), Double(plan.groups.count)), disagreements: 1)]
            return
        }
        if !contradictions.isEmpty {
            for k in 0..<steps.count where steps.i(k) >= nb { return }
        }
        let groups = plan.groups.count
        var columns: [CheckedColumn] = []
        for j in 0..<groups { columns.append(CheckedColumn(name: "lr_pg\(j)", what: plan.groups[j].name, rows: 0, worstError: 0, worstAt: "-", unit: "ulp")) }
        for j in 0..<groups {
            let what = plan.groups[j].name + (plan.warmsMomentum ? " (momentum)" : " (\(plan.optimizer) betas[0])")
            columns.append(CheckedColumn(name: "momentum_pg\(j)", what: what, rows: 0, worstError: 0, worstAt: "-", unit: "ulp"))
        }
        columns.append(CheckedColumn(name: "accumulate", what: "batches per optimizer step", rows: 0, worstError: 0, worstAt: "-", unit: ""))
        columns.append(CheckedColumn(name: "optimizer_step", what: "optimizer.step() ran", rows: 0, worstError: 0, worstAt: "-", unit: ""))
        var checker = steps.hasScaler ? ScaleVerification.Checker(ScaleVerification.settings(steps, options.scaler)) : nil
        var replay = ScheduleSimulator.Replay(plan)
        var sample = options.sample ? StepsSample(count: steps.count) : nil
        var previous: ScheduleSimulator.Iteration? = nil
        var previousScale = Double.nan
        rows: for k in 0..<steps.count {
            let ni = steps.ni(k)
            let p = replay.next(ni: ni, epoch: steps.epoch(k), i: steps.i(k), resumes: steps.startsResume(k))
            var disagrees = false
            func compare(_ c: Int, _ logged: Double, _ predicted: Double, ulps: Bool) {
                columns[c].rows += 1
                if logged == predicted || (logged.isNaN && predicted.isNaN) { return }
                let e = ulps ? Self.ulpDistance(logged, predicted) : 1
                if e > columns[c].worstError { (columns[c].worstError, columns[c].worstAt) = (e, "ni \(ni)") }
                columns[c].disagreements += 1
                if columns[c].firstDisagreement == nil { columns[c].firstDisagreement = ("ni \(ni)", steps.line(k), logged, predicted) }
                disagrees = true
            }
            for j in 0..<groups {
                compare(j, steps.lr(k, j), p.lr[j], ulps: true)
                compare(groups + j, steps.momentum(k, j), p.momentum[j], ulps: true)
            }
            let foundInf = steps.foundInf(k)
            compare(2 * groups, Double(steps.accumulate(k)), Double(p.accumulate), ulps: false)
            compare(2 * groups + 1, steps.optimizerStep(k) ? 1 : 0, p.due && foundInf != true ? 1 : 0, ulps: false)
            if foundInf == true && !p.due && contradictions.count < 20 {
                contradictions.append("\(steps.path):\(steps.line(k)): found_inf at ni \(ni), an iteration without a scaler update (no completed accumulation window)")
            }
            var predictedScale = Double.nan
            if checker != nil, let scale = steps.scale(k) {
                let before = checker!.result.disagreements
                predictedScale = checker!.check(row: k, scale: scale, foundInf: foundInf!, updated: p.due, restart: steps.startsResume(k))
                if checker!.result.disagreements > before { disagrees = true }
            }
            if sample != nil {
                let changed = previous.map { $0.lr != p.lr || $0.momentum != p.momentum || $0.accumulate != p.accumulate } ?? true
                    || predictedScale != previousScale
                    || (k > 0 && (steps.accumulate(k) != steps.accumulate(k - 1) || steps.scale(k) != steps.scale(k - 1)
                                  || (0..<groups).contains { steps.lr(k, $0) != steps.lr(k - 1, $0) || steps.momentum(k, $0).bitPattern != steps.momentum(k - 1, $0).bitPattern }))
                if sample!.keeps(k, changed: changed, force: disagrees || steps.startsResume(k)) {
                    sample!.rows.append(k)
                    sample!.lr.append(p.lr)
                    sample!.momentum.append(p.momentum)
                    sample!.accumulate.append(p.accumulate)
                    if steps.hasScaler { sample!.scale.append(predictedScale) }
                }
                previous = p
                previousScale = predictedScale
            }
            if stopAtFirst && disagrees { break rows }
        }
        stepColumns = columns
        scale = checker?.result
        self.sample = sample
    }

    /// Units in the last place between two Doubles of the same sign (infinite otherwise).
    static func ulpDistance(_ a: Double, _ b: Double) -> Double {
        guard a.isFinite, b.isFinite, (a >= 0) == (b >= 0) else { return .infinity }
        let x = a.magnitude.bitPattern, y = b.magnitude.bitPattern
        return Double(x > y ? x - y : y - x)
    }

    /// The unit of the last significant digit of `v` printed with `digits` significant digits.
    public static func lastDigitUnit(_ v: Double, digits: Int) -> Double {
        v == 0 ? 0 : Foundation.pow(10, Foundation.log10(abs(v)).rounded(.down) - Double(digits - 1))
    }

    /// |logged - predicted| in last-printed-digit units (0 when equal; infinite when the log printed 0).
    static func printedError(logged: Double, predicted: Double, digits: Int) -> Double {
        if logged == predicted { return 0 }
        let unit = lastDigitUnit(logged, digits: digits)
        return unit == 0 ? .infinity : abs(logged - predicted) / unit
    }

    /// A check fits when every column agrees.
    static func fits(_ run: LoggedRun, rules: ReleaseRules, nb: Int, images: Int?, classes: Int?, options: VerifyOptions,
                     change: (inout LoggedRun) -> Void = { _ in }) -> Bool {
        var r = run
        change(&r)
        var o = options
        o.sample = false
        return (try? check(r, rules: rules, nb: nb, source: "", images: images, classes: classes, options: o, stopAtFirst: true).passes) ?? false
    }

    /// Known reasons a log disagrees, tried one at a time: the rules of another release, another
    /// nb, another lr0, lrf or warm-up than the settings say, the other schedule.
    static func likelyCauses(_ v: RunVerification, options: VerifyOptions, images: Int?, classes: Int?) -> [String] {
        var causes: [String] = []
        let run = v.run, nb = v.plan.batchesPerEpoch
        func fits(rules: ReleaseRules? = nil, nb n: Int? = nil, _ change: (inout LoggedRun) -> Void = { _ in }) -> Bool {
            Self.fits(run, rules: rules ?? v.rules, nb: n ?? nb, images: images, classes: classes, options: options, change: change)
        }
        let others = ReleaseRules.all.filter { $0.package == run.package && $0.id != v.rules.id && fits(rules: $0) }
        if !others.isEmpty {
            causes.append("these values fit \(others.map { "\($0.displayName)'s rules (\($0.id))" }.joined(separator: ", ")): the run was made by another release than its files suggest?")
        }
        let candidates = (max(1, nb / 2)...(2 * nb)).sorted { abs($0 - nb) < abs($1 - nb) }.prefix(60)
        for candidate in candidates where candidate != nb && run.epochs * candidate <= 2_000_000 && fits(nb: candidate) {
            causes.append("the log fits nb = \(candidate) batches per epoch, not \(nb): the dataset or the batch size differs from what the run's files say")
            break
        }
        func tryValue(_ name: String, _ values: [Double], _ set: @escaping (inout LoggedRun, Double) -> Void, now: Double) {
            for x in values where x != now && x.isFinite && x >= 0 && fits({ set(&$0, x) }) {
                causes.append("the log fits \(name) = \(x), not \(now): a settings file edited after the run?")
                return
            }
        }
        if let last = run.results.rows.last, v.plan.groups.count > 1 {
            let epoch = last.loggedEpoch - v.rules.results.firstEpoch
            if (0..<v.predictedEpochs.count).contains(epoch), v.predictedEpochs[epoch][1] != 0 {
                let lr0 = Double(String(format: "%.5g", run.hyp.lr0 * last.values[1] / v.predictedEpochs[epoch][1]))!
                tryValue("lr0", [lr0], { $0.hyp.lr0 = $1 }, now: run.hyp.lr0)
            }
        }
        tryValue("lrf", [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0], { $0.hyp.lrf = $1 }, now: run.hyp.lrf)
        tryValue("warmup_epochs", stride(from: 0.0, through: 10, by: 0.5).map { $0 }, { $0.hyp.warmupEpochs = $1 }, now: run.hyp.warmupEpochs)
        tryValue("warmup_bias_lr", [0.0, 0.01, 0.05, 0.1, 0.2], { $0.hyp.warmupBiasLR = $1 }, now: run.hyp.warmupBiasLR)
        tryValue("momentum", [0.9, 0.937, 0.95], { $0.hyp.momentum = $1 }, now: run.hyp.momentum)
        tryValue("warmup_momentum", [0.5, 0.8, 0.9, 0.95], { $0.hyp.warmupMomentum = $1 }, now: run.hyp.warmupMomentum)
        if fits({ $0.cosine.toggle() }) {
            causes.append("the log fits the \(run.cosine ? "linear" : "one-cycle (cos_lr)") schedule, not the \(run.cosine ? "one-cycle" : "linear") one the settings name")
        }
        if run.steps == nil {
            for epoch in 1..<max(1, v.predictedEpochs.count) where !v.resumedEpochs.contains(epoch) {
                let predicted = ScheduleSimulator.loggedEpochs(v.plan, resumedEpochs: (v.resumedEpochs + [epoch]).sorted(),
                                                               through: v.predictedEpochs.count - 1)
                if let columns = try? epochColumns(run, rules: v.rules, plan: v.plan, predicted: predicted), columns.allSatisfy(\.passes) {
                    causes.append("the log fits a run resumed at epoch \(epoch) (\(v.rules.displayName): \(Self.resumeRule(v.rules)))")
                    break
                }
            }
        }
        return causes
    }

    static func resumeRule(_ rules: ReleaseRules) -> String {
        switch rules.resume {
        case .continues: "a resume continues the schedule"
        case .restartsAtZero: "a resume restarts the schedule at lf(0)"
        case .firstEpochStale: "the first resumed epoch runs at lf(s - 2)"
        }
    }
}
