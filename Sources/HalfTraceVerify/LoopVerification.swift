import Foundation
import HalfTraceKernels

/// steps.csv from a training loop of one's own (`verify steps FILE`): the log's own consistency,
/// the optimizer steps against a step rule with the logged accumulate (a window the scaler
/// skipped is a completed window without a step), the loss scale against GradScaler's rule, and,
/// given a schedule, every group's lr at `epoch + i / nb` (SGDR stepped per batch) or at `epoch`
/// (LambdaLR stepped per epoch). One pass over the log.
public struct LoopVerification: Sendable {
    /// When a loop steps its optimizer.
    public enum StepRule: String, Sendable, CaseIterable {
        /// YOLOv5's and Ultralytics': `ni - last_opt_step >= accumulate`, across epochs
        /// (`last_opt_step = -1` at the start and at a resume).
        case yolov5
        /// The common PyTorch loop: `(i + 1) % accumulate == 0`, counted from each epoch's start.
        case everyK = "every-k"
    }

    /// What an every-k loop does with an epoch's last window when nb is not a multiple of accumulate.
    public enum LastWindow: String, Sendable, CaseIterable {
        /// It steps at the epoch's last batch (`or i + 1 == len(loader)`).
        case stepped
        /// It does not step (the partial window's gradients are dropped or carried on).
        case dropped
    }

    /// The log.
    public var steps: StepsLog
    /// nb: given, or the log's largest i plus one.
    public var batchesPerEpoch: Int
    /// The schedule the lr is checked against (nil: not checked).
    public var formula: TraceVerification.Formula?
    /// The step rule the optimizer steps were checked with.
    public var stepRule: StepRule
    /// every-k: the epoch's last partial window.
    public var lastWindow: LastWindow
    /// Each group's base lr: given, or its lr at the first row when that row is at t = 0.
    public var baseLRs: [Double]
    /// Where each base lr came from.
    public var baseSources: [String]
    /// lr_pg* (with a formula) and optimizer_step.
    public var columns: [CheckedColumn]
    /// The loss scale against GradScaler's rule (nil without a scaler).
    public var scale: ScaleVerification?
    /// Where the log contradicts itself.
    public var contradictions: [String]
    /// Lines whose lr is what PyTorch's floating-point SGDR cycle index gives (its misplaced
    /// restarts; the first 1000).
    public var pytorchRestartDefects: [Int]
    /// The rows a figure draws, with the predicted lr and scale there (nil unless asked for).
    public var sample: StepsSample?

    /// Every checked column and the scale agree, and the log is consistent.
    public var passes: Bool { columns.allSatisfy(\.passes) && (scale?.passes ?? true) && contradictions.isEmpty }

    /// Checks `steps`. `formula` is evaluated per batch at epoch + i / nb when `perBatch`, else at
    /// the integer epoch, with `formula`'s base lr replaced per group by `baseLR` or the first row.
    public static func verify(_ steps: StepsLog, batchesPerEpoch: Int? = nil, formula: TraceVerification.Formula? = nil,
                              perBatch: Bool = true, baseLR: Double? = nil, stepRule: StepRule = .yolov5, lastWindow: LastWindow = .stepped,
                              options: VerifyOptions = VerifyOptions()) throws -> LoopVerification {
        let nb = batchesPerEpoch ?? steps.impliedBatchesPerEpoch
        try HalfTraceError.check("nb", nb, in: 1...1_000_000)
        var v = LoopVerification(steps: steps, batchesPerEpoch: nb, formula: formula, stepRule: stepRule, lastWindow: lastWindow, baseLRs: [],
                                 baseSources: [], columns: [], scale: nil, contradictions: steps.contradictions(batchesPerEpoch: nb, windows: stepRule == .yolov5),
                                 pytorchRestartDefects: [], sample: nil)
        func time(_ k: Int) -> Double { perBatch ? Double(steps.epoch(k)) + Double(steps.i(k)) / Double(nb) : Double(steps.epoch(k)) }
        var schedules: [TraceVerification.Formula] = []
        if let formula {
            for j in 0..<steps.groups {
                let base: Double
                if let baseLR { (base, _) = (baseLR, v.baseSources.append("group \(j): base lr \(baseLR) (given)")) }
                else if time(0) == 0 { (base, _) = (steps.lr(0, j), v.baseSources.append("group \(j): base lr \(steps.lr(0, j)) (its lr at t = 0)")) }
                else { throw HalfTraceError.invalid("lr", "the log does not start at t = 0, so group \(j)'s base learning rate is not in it: give it") }
                v.baseLRs.append(base)
                schedules.append(formula.withBase(base))
            }
        }
        var lrColumns = (0..<schedules.count).map {
            CheckedColumn(name: "lr_pg\($0)", what: "group \($0)", rows: 0, worstError: 0, worstAt: "-", unit: "ulp")
        }
        var step = CheckedColumn(name: "optimizer_step", what: "optimizer.step() ran", rows: 0, worstError: 0, worstAt: "-", unit: "")
        var checker = steps.hasScaler ? ScaleVerification.Checker(ScaleVerification.settings(steps, options.scaler)) : nil
        var sample = options.sample ? StepsSample(count: steps.count) : nil
        var lastStep = -1
        var predicted = [Double](repeating: 0, count: schedules.count), previousPredicted = predicted
        var previousScale = Double.nan
        for k in 0..<steps.count {
            let ni = steps.ni(k), i = steps.i(k), accumulate = steps.accumulate(k)
            let due: Bool
            switch stepRule {
            case .yolov5:
                if steps.startsResume(k) { lastStep = -1 }
                due = ni - lastStep >= accumulate
                if due { lastStep = ni }
            case .everyK:
                due = (i + 1) % accumulate == 0 || (lastWindow == .stepped && i == nb - 1)
            }
            var disagrees = false
            let foundInf = steps.foundInf(k)
            let expected = due && foundInf != true
            step.rows += 1
            if expected != steps.optimizerStep(k) {
                step.worstError = 1
                step.disagreements += 1
                if step.firstDisagreement == nil {
                    (step.worstAt, step.firstDisagreement) = ("ni \(ni)", ("ni \(ni)", steps.line(k), steps.optimizerStep(k) ? 1 : 0, expected ? 1 : 0))
                }
                disagrees = true
            }
            if foundInf == true && !due && v.contradictions.count < 20 {
                v.contradictions.append("\(steps.path):\(steps.line(k)): found_inf at ni \(ni), an iteration without a completed accumulation window")
            }
            let t = schedules.isEmpty ? 0 : time(k)
            for (j, f) in schedules.enumerated() {
                let p = f(t), logged = steps.lr(k, j)
                predicted[j] = p
                lrColumns[j].rows += 1
                guard logged != p else { continue }
                let e = RunVerification.ulpDistance(logged, p)
                if e > lrColumns[j].worstError { (lrColumns[j].worstError, lrColumns[j].worstAt) = (e, "ni \(ni)") }
                lrColumns[j].disagreements += 1
                if let torch = f.pytorch(t), torch == logged, v.pytorchRestartDefects.count < 1000 { v.pytorchRestartDefects.append(steps.line(k)) }
                if lrColumns[j].firstDisagreement == nil { lrColumns[j].firstDisagreement = ("ni \(ni)", steps.line(k), logged, p) }
                disagrees = true
            }
            var predictedScale = Double.nan
            if checker != nil, let scale = steps.scale(k) {
                let before = checker!.result.disagreements
                predictedScale = checker!.check(row: k, scale: scale, foundInf: foundInf!, updated: due, restart: steps.startsResume(k))
                if checker!.result.disagreements > before { disagrees = true }
            }
            if sample != nil {
                let changed = k == 0 || predicted != previousPredicted || predictedScale != previousScale || steps.scale(k) != steps.scale(k - 1)
                    || steps.accumulate(k) != steps.accumulate(k - 1) || (0..<steps.groups).contains { steps.lr(k, $0) != steps.lr(k - 1, $0) }
                if sample!.keeps(k, changed: changed, force: disagrees || steps.startsResume(k)) {
                    sample!.rows.append(k)
                    sample!.lr.append(predicted)
                    if steps.hasScaler { sample!.scale.append(predictedScale) }
                }
                previousPredicted = predicted
                previousScale = predictedScale
            }
        }
        v.columns = lrColumns + [step]
        v.scale = checker?.result
        v.sample = sample
        return v
    }

    /// The step rule as the report states it.
    public var stepRuleDescription: String {
        switch stepRule {
        case .yolov5: "optimizer steps by YOLOv5's rule, ni - last_opt_step >= accumulate (--step-rule every-k: (i + 1) % accumulate == 0)"
        case .everyK: "optimizer steps at (i + 1) % accumulate == 0, from each epoch's start; an epoch's last partial window is \(lastWindow.rawValue)"
        }
    }

    /// The table `verify steps` prints.
    public var report: String {
        var lines = ["\(steps.path): \(steps.count) iterations, \(steps.groups) parameter groups, nb = \(batchesPerEpoch)"]
        lines.append("  " + stepRuleDescription)
        lines += baseSources.map { "  " + $0 }
        if formula == nil { lines.append("  no --schedule given: the learning rates are not checked") }
        lines += RunVerificationTable.rows(columns)
        if let scale {
            lines.append(RunVerificationTable.pad("scale", 16) + RunVerificationTable.pad("loss scale", 30) + String(format: "%6d  ", scale.rows)
                         + RunVerificationTable.pad("\(scale.backoffs) backoffs, \(scale.growths) growths", 34) + (scale.passes ? "ok" : "DISAGREES"))
            lines.append("  GradScaler: " + scale.settings.sources.joined(separator: "; "))
            if let s = scale.firstDisagreement {
                lines.append("scale first disagrees at ni \(steps.ni(s.row)) (line \(steps.line(s.row))): logged \(s.logged), the rule gives \(s.predicted)")
            }
        }
        for c in columns {
            guard let d = c.firstDisagreement else { continue }
            lines.append("\(c.name) (\(c.what)) first disagrees at \(d.at) (line \(d.line)): logged \(d.logged), predicted \(d.predicted)")
        }
        if !pytorchRestartDefects.isEmpty {
            lines.append("\(pytorchRestartDefects.count) disagreeing value(s) are PyTorch's misplaced SGDR restart (its floating-point log puts the epoch in the previous cycle): lines \(pytorchRestartDefects.prefix(10).map(String.init).joined(separator: ", "))")
        }
        if !contradictions.isEmpty { lines += ["steps.csv contradicts itself:"] + contradictions.map { "  " + $0 } }
        lines.append(passes ? "every checked value agrees with the rules" : "the log disagrees with the rules")
        return lines.joined(separator: "\n")
    }

    /// The report as one JSON object.
    public var json: String {
        var fields: [(String, String)] = [("steps", JSON.string(steps.path)), ("rows", "\(steps.count)"), ("groups", "\(steps.groups)"),
                                          ("nb", "\(batchesPerEpoch)"), ("step_rule", JSON.string(stepRule.rawValue))]
        if stepRule == .everyK { fields.append(("last_window", JSON.string(lastWindow.rawValue))) }
        fields += [("base_lrs", JSON.array(baseLRs.map(JSON.number))), ("columns", JSON.columns(columns))]
        if let scale { fields.append(("scale", JSON.scale(scale))) }
        fields += [("pytorch_restart_defect_lines", JSON.array(pytorchRestartDefects.map { "\($0)" })),
                   ("contradictions", JSON.array(contradictions.map(JSON.string))), ("agrees", "\(passes)")]
        return JSON.object(fields)
    }
}

/// The column table shared by `verify`'s reports.
enum RunVerificationTable {
    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s.padding(toLength: n, withPad: " ", startingAt: 0) }

    static func rows(_ columns: [CheckedColumn]) -> [String] {
        [pad("column", 16) + pad("what", 30) + "  rows  " + pad("worst error", 34) + "verdict"] + columns.map { c in
            let worst = c.worstError == 0 ? "0" : c.worstError.isFinite ? String(format: "%.3g", c.worstError) : "inf"
            let text = c.unit.isEmpty ? (c.worstError == 0 ? "none differ" : "differs at \(c.worstAt)")
                : c.worstError == 0 ? "0 (exact)" : "\(worst) \(c.unit) at \(c.worstAt)"
            return pad(c.name, 16) + pad(c.what, 30) + String(format: "%6d  ", c.rows) + pad(text, 34) + (c.passes ? "ok" : "DISAGREES")
        }
    }
}

extension TraceVerification.Formula {
    /// The same schedule with another base (initial) learning rate.
    func withBase(_ lr: Double) -> Self {
        switch self {
        case let .sgdr(_, t0, tMult, etaMin): .sgdr(lr: lr, t0: t0, tMult: tMult, etaMin: etaMin)
        case let .linear(_, lrf, epochs): .linear(lr0: lr, lrf: lrf, epochs: epochs)
        case let .onecycle(_, lrf, epochs): .onecycle(lr0: lr, lrf: lrf, epochs: epochs)
        case .family, .torch: self
        }
    }
}
