import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// A logged loss-scale sequence (`verify scale-log FILE --scaler-rule NAME`): a CSV with a `step`, a
/// `found_inf` (0/1) and a `scale` column (the scale that step's loss was multiplied by, before
/// its update), one row per optimizer update, checked against one framework's rule
/// (`LossScaleRule`), exactly. The initial scale is the first row's unless given.
public struct ScaleLogVerification: Sendable {
    /// The log file.
    public var path: String
    /// The rule the log was checked with.
    public var rule: LossScaleRule
    /// Rows checked.
    public var rows = 0
    /// Rows whose scale differs.
    public var disagreements = 0
    /// The first row that differs: its index, step, line, logged and predicted scale.
    public var firstDisagreement: (row: Int, step: Int, line: Int, logged: Double, predicted: Double)?
    /// The update where the framework raises ("scale already at minimum") while the log goes on.
    public var raised: LossScaleRule.MinimumReached?

    /// Every row agrees and the framework would not have stopped.
    public var passes: Bool { firstDisagreement == nil && raised == nil }

    /// Reads and checks the log in `text` (named `path`) against `rule` (its initial scale
    /// replaced by the log's first unless `initScaleGiven`).
    public static func verify(_ text: String, path: String, rule: LossScaleRule, initScaleGiven: Bool = false) throws -> ScaleLogVerification {
        try verify(CSVReader(text: text, name: path), rule: rule, initScaleGiven: initScaleGiven)
    }

    /// Checks the log in the file at `path`, streaming it (`CSVReader`): memory does not grow
    /// with the log.
    public static func verify(file path: String, rule: LossScaleRule, initScaleGiven: Bool = false) throws -> ScaleLogVerification {
        try verify(try CSVReader(path: path), rule: rule, initScaleGiven: initScaleGiven)
    }

    static func verify(_ source: CSVReader, rule: LossScaleRule, initScaleGiven: Bool) throws -> ScaleLogVerification {
        var reader = source
        let path = reader.name
        guard let header = try reader.nextHeader(), !header.isEmpty else { throw HalfTraceError.file(path, "no header row") }
        let headerLine = reader.line
        if let twice = CSVReader.repeatedColumn(header) { throw HalfTraceError.file(path, line: headerLine, field: twice, "the column appears twice") }
        func column(_ name: String) throws -> Int {
            guard let c = header.firstIndex(of: name) else { throw HalfTraceError.file(path, line: headerLine, field: name, "column missing") }
            return c
        }
        let (stepColumn, infColumn, scaleColumn) = (try column("step"), try column("found_inf"), try column("scale"))
        var v = ScaleLogVerification(path: path, rule: rule)
        var state = rule.initialState, lastStep: Int? = nil, stopped: LossScaleRule.MinimumReached? = nil
        while try reader.next() {
            if reader.isComment { continue }
            let k = reader.line
            guard v.rows < 100_000_000 else { throw HalfTraceError.file(path, line: k, "more than 100000000 rows") }
            guard reader.count == header.count else { throw HalfTraceError.file(path, line: k, "\(reader.count) fields, the header has \(header.count)") }
            guard let step = reader.int(stepColumn), (0...1_000_000_000).contains(step) else {
                throw HalfTraceError.file(path, line: k, field: "step", "'\(reader.string(stepColumn).prefix(40))' is not a step in 0...1000000000")
            }
            guard let inf = reader.int(infColumn), inf == 0 || inf == 1 else {
                throw HalfTraceError.file(path, line: k, field: "found_inf", "'\(reader.string(infColumn).prefix(40))' is not 0 or 1")
            }
            // inf is a scale Megatron reaches (its growth has no cap); NaN and <= 0 are not.
            guard let scale = reader.double(scaleColumn), scale > 0 else {
                throw HalfTraceError.file(path, line: k, field: "scale", "'\(reader.string(scaleColumn).prefix(40))' is not a scale > 0")
            }
            if let lastStep, step != lastStep + 1 {
                throw HalfTraceError.file(path, line: k, field: "step", "\(step) follows \(lastStep): one row per update, in order")
            }
            if lastStep == nil {
                if !initScaleGiven { v.rule.initScale = scale }
                try v.rule.validate()
                state = v.rule.initialState
            }
            lastStep = step
            if let stopped {
                // The framework raised at an earlier update: the run ended there, yet the log goes on.
                v.raised = stopped
                continue
            }
            let row = v.rows
            v.rows += 1
            if state.scale != scale {
                v.disagreements += 1
                if v.firstDisagreement == nil { v.firstDisagreement = (row, step, k, scale, state.scale) }
            }
            do { try v.rule.update(&state, foundInf: inf == 1) } catch let e as LossScaleRule.MinimumReached { stopped = e }
        }
        guard lastStep != nil else { throw HalfTraceError.file(path, "no rows") }
        return v
    }

    /// The lines `verify scale-log` prints.
    public var report: String {
        var lines = ["\(path): \(rows) updates against \(rule.framework.rawValue)'s rule (init \(rule.initScale), interval/window \(rule.growthInterval), min \(rule.minScale.map { "\($0)" } ?? "none"), hysteresis \(rule.hysteresis)\(rule.framework == .deepspeed ? ", consecutive_hysteresis \(rule.consecutiveHysteresis)" : ""))"]
        if let d = firstDisagreement {
            lines.append("first disagreement at step \(d.step) (line \(d.line)): logged \(d.logged), the rule gives \(d.predicted)")
        }
        if let raised { lines.append("\(rule.framework.rawValue) stops the run at \(raised), yet the log goes on") }
        lines.append(passes ? "every logged scale follows \(rule.framework.rawValue)'s rule" : "the logged scales disagree with \(rule.framework.rawValue)'s rule")
        return lines.joined(separator: "\n")
    }

    /// The report as one JSON object.
    public var json: String {
        var fields: [(String, String)] = [("scale_log", JSON.string(path)), ("rule", JSON.string(rule.framework.rawValue)), ("rows", "\(rows)"),
                                          ("init_scale", JSON.number(rule.initScale)), ("growth_interval", "\(rule.growthInterval)"),
                                          ("disagreements", "\(disagreements)")]
        if let d = firstDisagreement {
            fields.append(("first_disagreement", JSON.object([("step", "\(d.step)"), ("line", "\(d.line)"), ("logged", JSON.number(d.logged)),
                                                             ("predicted", JSON.number(d.predicted))])))
        }
        if let raised { fields.append(("raised", JSON.string(raised.description))) }
        fields.append(("agrees", "\(passes)"))
        return JSON.object(fields)
    }
}
