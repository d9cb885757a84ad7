import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// A logged loss-scale sequence (`verify --scale-log FILE --rule NAME`): a CSV with a `step`, a
/// `found_inf` (0/1) and a `scale` column (the scale that step's loss was multiplied by, before
/// its update), one row per optimizer update, checked against one framework's rule
/// (`LossScaleRule`), exactly. The initial scale is the first row's unless given.
public struct ScaleLogVerification: Sendable {
    /// The log file.
    public var path: String
    /// The rule the log was checked with.
    public var rule: LossScaleRule
    /// The logged rows: step, found_inf, scale, line.
    public var rows: [(step: Int, foundInf: Bool, scale: Double, line: Int)]
    /// The rule's scale for every row (up to where it raised).
    public var predicted: [Double]
    /// The first row that differs: its index, logged and predicted scale.
    public var firstDisagreement: (row: Int, logged: Double, predicted: Double)?
    /// The update where the framework raises ("scale already at minimum") while the log goes on.
    public var raised: LossScaleRule.MinimumReached?

    /// Every row agrees and the framework would not have stopped.
    public var passes: Bool { firstDisagreement == nil && raised == nil }

    /// Reads and checks the log in `text` (named `path`) against `rule` (its initial scale
    /// replaced by the log's first unless `initScaleGiven`).
    public static func verify(_ text: String, path: String, rule: LossScaleRule, initScaleGiven: Bool = false) throws -> ScaleLogVerification {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var index = 0
        while index < lines.count, lines[index].hasPrefix("#") || lines[index].trimmingCharacters(in: .whitespaces).isEmpty { index += 1 }
        guard index < lines.count else { throw HalfTraceError.file(path, "no header row") }
        let header = lines[index].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        func column(_ name: String) throws -> Int {
            guard let c = header.firstIndex(of: name) else { throw HalfTraceError.file(path, line: index + 1, field: name, "column missing") }
            return c
        }
        let (stepColumn, infColumn, scaleColumn) = (try column("step"), try column("found_inf"), try column("scale"))
        var rows: [(step: Int, foundInf: Bool, scale: Double, line: Int)] = []
        for k in (index + 1)..<lines.count {
            let line = lines[k]
            if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard rows.count < 10_000_000 else { throw HalfTraceError.file(path, line: k + 1, "more than 10000000 rows") }
            let c = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard c.count == header.count else { throw HalfTraceError.file(path, line: k + 1, "\(c.count) fields, the header has \(header.count)") }
            guard let step = Int(c[stepColumn]), (0...1_000_000_000).contains(step) else {
                throw HalfTraceError.file(path, line: k + 1, field: "step", "'\(c[stepColumn].prefix(40))' is not a step in 0...1000000000")
            }
            guard let inf = Int(c[infColumn]), inf == 0 || inf == 1 else {
                throw HalfTraceError.file(path, line: k + 1, field: "found_inf", "'\(c[infColumn].prefix(40))' is not 0 or 1")
            }
            // inf is a scale Megatron reaches (its growth has no cap); NaN and <= 0 are not.
            guard let scale = Double(c[scaleColumn]), scale > 0 else {
                throw HalfTraceError.file(path, line: k + 1, field: "scale", "'\(c[scaleColumn].prefix(40))' is not a scale > 0")
            }
            if let last = rows.last, step != last.step + 1 {
                throw HalfTraceError.file(path, line: k + 1, field: "step", "\(step) follows \(last.step): one row per update, in order")
            }
            rows.append((step, inf == 1, scale, k + 1))
        }
        guard !rows.isEmpty else { throw HalfTraceError.file(path, "no rows") }
        var r = rule
        if !initScaleGiven { r.initScale = rows[0].scale }
        try r.validate()
        var v = ScaleLogVerification(path: path, rule: r, rows: rows, predicted: [], firstDisagreement: nil, raised: nil)
        var state = r.initialState
        for (k, row) in rows.enumerated() {
            v.predicted.append(state.scale)
            if state.scale != row.scale && v.firstDisagreement == nil { v.firstDisagreement = (k, row.scale, state.scale) }
            do { try r.update(&state, foundInf: row.foundInf) } catch let e as LossScaleRule.MinimumReached {
                if k + 1 < rows.count { v.raised = e }
                break
            }
        }
        return v
    }

    /// The lines `verify --scale-log` prints.
    public var report: String {
        var lines = ["\(path): \(rows.count) updates against \(rule.framework.rawValue)'s rule (init \(rule.initScale), interval/window \(rule.growthInterval), min \(rule.minScale.map { "\($0)" } ?? "none"), hysteresis \(rule.hysteresis)\(rule.framework == .deepspeed ? ", consecutive_hysteresis \(rule.consecutiveHysteresis)" : ""))"]
        if let d = firstDisagreement {
            lines.append("first disagreement at step \(rows[d.row].step) (line \(rows[d.row].line)): logged \(d.logged), the rule gives \(d.predicted)")
        }
        if let raised { lines.append("\(rule.framework.rawValue) stops the run at \(raised), yet the log goes on") }
        lines.append(passes ? "every logged scale follows \(rule.framework.rawValue)'s rule" : "the logged scales disagree with \(rule.framework.rawValue)'s rule")
        return lines.joined(separator: "\n")
    }
}
