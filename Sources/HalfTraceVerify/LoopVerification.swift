import Foundation
import HalfTraceKernels

/// steps.csv from a training loop of one's own (`verify --steps FILE` without a run directory):
/// the log's own consistency, the optimizer steps against `ni - last_opt_step >= accumulate`
/// with the logged accumulate (a window the scaler skipped is a completed window without a
/// step), the loss scale against GradScaler's rule, and, given a schedule, every group's lr at
/// `epoch + i / nb` (SGDR stepped per batch) or at `epoch` (LambdaLR stepped per epoch).
public struct LoopVerification: Sendable {
    /// The log.
    public var steps: StepsLog
    /// nb: given, or the log's largest i plus one.
    public var batchesPerEpoch: Int
    /// The schedule the lr is checked against (nil: not checked).
    public var formula: TraceVerification.Formula?
    /// Each group's base lr: given, or its lr at the first row when that row is at t = 0.
    public var baseLRs: [Double]
    /// Where each base lr came from.
    public var baseSources: [String]
    /// The predicted lr of every row and group (empty without a formula).
    public var predictedLR: [[Double]]
    /// lr_pg* (with a formula) and optimizer_step.
    public var columns: [CheckedColumn]
    /// The loss scale against GradScaler's rule (nil without a scaler).
    public var scale: ScaleVerification?
    /// Where the log contradicts itself.
    public var contradictions: [String]
    /// Rows whose lr is what PyTorch's floating-point SGDR cycle index gives (its misplaced restarts).
    public var pytorchRestartDefects: [Int]

    /// Every checked column and the scale agree, and the log is consistent.
    public var passes: Bool { columns.allSatisfy(\.passes) && (scale?.passes ?? true) && contradictions.isEmpty }

    /// Checks `steps`. `formula` is evaluated per batch at epoch + i / nb when `perBatch`, else at
    /// the integer epoch, with `formula`'s base lr replaced per group by `baseLR` or the first row.
    public static func verify(_ steps: StepsLog, batchesPerEpoch: Int? = nil, formula: TraceVerification.Formula? = nil,
                              perBatch: Bool = true, baseLR: Double? = nil, options: VerifyOptions = VerifyOptions()) throws -> LoopVerification {
        let nb = batchesPerEpoch ?? steps.impliedBatchesPerEpoch
        try HalfTraceError.check("nb", nb, in: 1...1_000_000)
        var v = LoopVerification(steps: steps, batchesPerEpoch: nb, formula: formula, baseLRs: [], baseSources: [], predictedLR: [], columns: [], scale: nil,
                                 contradictions: steps.contradictions(batchesPerEpoch: nb), pytorchRestartDefects: [])
        // The step pattern by the log's own accumulate; last_opt_step = -1 again after a resume.
        var lastStep = -1, due: [Bool] = []
        for (k, row) in steps.rows.enumerated() {
            if k > 0 && row.ni <= steps.rows[k - 1].ni { lastStep = -1 }
            let d = row.ni - lastStep >= row.accumulate
            if d { lastStep = row.ni }
            due.append(d)
        }
        var step = CheckedColumn(name: "optimizer_step", what: "optimizer.step() ran", rows: 0, worstError: 0, worstAt: "-", unit: "", firstDisagreement: nil)
        for (row, d) in zip(steps.rows, due) {
            let expected = d && row.foundInf != true
            step.rows += 1
            if expected != row.optimizerStep {
                step.worstError = 1
                if step.firstDisagreement == nil {
                    (step.worstAt, step.firstDisagreement) = ("ni \(row.ni)", ("ni \(row.ni)", row.line, row.optimizerStep ? 1 : 0, expected ? 1 : 0))
                }
            }
            if row.foundInf == true && !d {
                v.contradictions.append("\(steps.path):\(row.line): found_inf at ni \(row.ni), an iteration without a completed accumulation window")
            }
        }
        v.columns.append(step)
        if let formula {
            let times = steps.rows.map { perBatch ? Double($0.epoch) + Double($0.i) / Double(nb) : Double($0.epoch) }
            v.predictedLR = steps.rows.map { _ in [] }
            for j in 0..<steps.groups {
                let base: Double
                if let baseLR { (base, _) = (baseLR, v.baseSources.append("group \(j): base lr \(baseLR) (given)")) }
                else if times[0] == 0 { (base, _) = (steps.rows[0].lr[j], v.baseSources.append("group \(j): base lr \(steps.rows[0].lr[j]) (its lr at t = 0)")) }
                else { throw HalfTraceError.invalid("lr", "the log does not start at t = 0, so group \(j)'s base learning rate is not in it: give it") }
                v.baseLRs.append(base)
                let f = formula.withBase(base)
                var c = CheckedColumn(name: "lr_pg\(j)", what: "group \(j)", rows: 0, worstError: 0, worstAt: "-", unit: "ulp", firstDisagreement: nil)
                for (k, (row, t)) in zip(steps.rows, times).enumerated() {
                    let p = f(t)
                    v.predictedLR[k].append(p)
                    let e = row.lr[j] == p ? 0 : RunVerification.ulpDistance(row.lr[j], p)
                    c.rows += 1
                    if e > c.worstError { (c.worstError, c.worstAt) = (e, "ni \(row.ni)") }
                    if e > 0 {
                        if let torch = f.pytorch(t), torch == row.lr[j] { v.pytorchRestartDefects.append(row.line) }
                        if c.firstDisagreement == nil { c.firstDisagreement = ("ni \(row.ni)", row.line, row.lr[j], p) }
                    }
                }
                v.columns.insert(c, at: j)
            }
        }
        if steps.hasScaler {
            let starts = Set(steps.rows.indices.dropFirst().filter { steps.rows[$0].ni <= steps.rows[$0 - 1].ni })
            v.scale = ScaleVerification.check(scales: steps.rows.map { $0.scale! }, foundInf: steps.rows.map { $0.foundInf! }, updated: due,
                                              segments: starts, growthFactor: options.growthFactor, backoffFactor: options.backoffFactor,
                                              growthInterval: options.growthInterval)
        }
        return v
    }

    /// The table `verify --steps` prints.
    public var report: String {
        var lines = ["\(steps.path): \(steps.rows.count) iterations, \(steps.groups) parameter groups, nb = \(batchesPerEpoch)"]
        lines += baseSources.map { "  " + $0 }
        if formula == nil { lines.append("  no --schedule given: the learning rates are not checked") }
        let r = RunVerificationTable.rows(columns)
        lines += r
        if let scale {
            lines.append(RunVerificationTable.pad("scale", 16) + RunVerificationTable.pad("loss scale", 30) + String(format: "%6d  ", scale.rows)
                         + RunVerificationTable.pad("\(scale.backoffs) backoffs, \(scale.growths) growths", 34) + (scale.passes ? "ok" : "DISAGREES"))
            lines.append("  GradScaler: " + scale.settings.sources.joined(separator: "; "))
            if let s = scale.firstDisagreement {
                lines.append("scale first disagrees at ni \(steps.rows[s.row].ni) (line \(steps.rows[s.row].line)): logged \(s.logged), the rule gives \(s.predicted)")
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
        case .family: self
        }
    }
}
