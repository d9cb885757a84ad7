import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// A per-step learning-rate log from any scheduler (PyTorch's, timm's, a user's), checked against
/// the exact formula: a CSV with an `epoch` column (the real epoch the scheduler was stepped to)
/// or a `step` column (epoch = step / steps per epoch), and an `lr` column; `#` lines are skipped.
public struct TraceVerification: Sendable {
    /// The schedule a trace is checked against.
    public enum Formula: Sendable {
        /// SGDR with exact integer cycle indexing (`CosineWarmRestarts`).
        case sgdr(lr: Double, t0: Int, tMult: Int, etaMin: Double)
        /// YOLOv5's linear LambdaLR: lr0 * ((1 - epoch / epochs) * (1 - lrf) + lrf).
        case linear(lr0: Double, lrf: Double, epochs: Int)
        /// YOLOv5's one-cycle LambdaLR: lr0 * one_cycle(1, lrf, epochs)(epoch).
        case onecycle(lr0: Double, lrf: Double, epochs: Int)
        /// timm's or transformers' schedule at an integer step (epoch or update).
        case family(FamilySchedule)
        /// A PyTorch scheduler pasted as its constructor (`TorchScheduler`), traced for one
        /// parameter group: the closed form at step k, and PyTorch's own value there.
        case torch(TorchScheduleTrace, group: Int)

        /// A PyTorch scheduler's group `group` traced over `steps` steps (where PyTorch raises
        /// before, the trace stops there and later steps have no value).
        public static func torch(_ scheduler: TorchScheduler, steps: Int, group: Int = 0) throws -> Formula {
            try HalfTraceError.check("group", group, in: 0...(scheduler.baseLRs.count - 1))
            var n = steps
            while true {
                do { return .torch(try scheduler.trace(steps: n), group: group) } catch {
                    // OneCycleLR raises past total_steps: keep the steps it accepts.
                    guard n > scheduler.defaultSteps, scheduler.defaultSteps >= 0 else { throw error }
                    n = scheduler.defaultSteps + 1
                    if (try? scheduler.trace(steps: n)) == nil { n -= 1 }
                }
            }
        }

        /// The lr at epoch `t` (fractional: SGDR stepped per batch at epoch + i / nb).
        public func callAsFunction(_ t: Double) -> Double {
            switch self {
            case let .sgdr(lr, t0, tMult, etaMin):
                let p = CosineWarmRestarts.position(of: max(t, 0), t0: t0, tMult: tMult)
                let tCur = tMult == 1 && t >= Double(t0) ? t.truncatingRemainder(dividingBy: Double(t0)) : p.tCur
                return CosineWarmRestarts.annealed(base: lr, etaMin: etaMin, tCur: tCur, tI: p.tI)
            case let .linear(lr0, lrf, epochs): return lr0 * YOLOv5Formulas.linear(t, epochs: Double(epochs), lrf: lrf)
            case let .onecycle(lr0, lrf, epochs): return lr0 * YOLOv5Formulas.oneCycle(t, y1: 1, y2: lrf, steps: Double(epochs))
            case .family(let f): return t == t.rounded(.down) && t < 1e15 ? f.lr(Int(t)) : .nan
            case let .torch(trace, j):
                guard t == t.rounded(.down), t >= 0, t < Double(trace.count) else { return .nan }
                return trace.exactLR[Int(t)][j]
            }
        }

        /// What the package that defines the schedule computes where its floating-point
        /// arithmetic misplaces a cycle (PyTorch's SGDR, timm's cosine, transformers' hard
        /// restarts), with the package's name; nil elsewhere.
        func packageDefect(_ t: Double) -> (package: String, value: Double)? {
            switch self {
            case .sgdr: return pytorch(t).map { ("PyTorch", $0) }
            case .family(let f):
                guard t == t.rounded(.down), t < 1e15, f.packageMisplacesCycle(at: Int(t)) else { return nil }
                return (f.packageName, f.packageLR(Int(t)))
            case let .torch(trace, j):
                guard t == t.rounded(.down), t >= 0, t < Double(trace.count) else { return nil }
                let k = Int(t)
                return trace.exactLR[k][j] != trace.packageLR[k][j] ? ("PyTorch", trace.packageLR[k][j]) : nil
            default: return nil
            }
        }

        /// What PyTorch 2.15's `CosineAnnealingWarmRestarts.step(epoch)` computes, with its
        /// floating-point cycle index (nil for the other formulas).
        func pytorch(_ t: Double) -> Double? {
            guard case let .sgdr(lr, t0, tMult, etaMin) = self else { return nil }
            var tCur = t, tI = Double(t0)
            if t >= Double(t0) {
                if tMult == 1 { tCur = t.truncatingRemainder(dividingBy: Double(t0)) } else {
                    let n = CosineWarmRestarts.pytorchCycle(of: t, t0: t0, tMult: tMult)
                    let power = Double.pow(Double(tMult), Double(n))
                    tCur = t - Double(t0) * (power - 1) / Double(tMult - 1)
                    tI = Double(t0) * power
                }
            }
            return CosineWarmRestarts.annealed(base: lr, etaMin: etaMin, tCur: tCur, tI: tI)
        }
    }

    /// A logged value the formula does not give.
    public struct Disagreement: Sendable {
        /// Line in the trace (1-based).
        public var line: Int
        /// The (fractional) epoch of the row.
        public var epoch: Double
        /// The logged lr.
        public var logged: Double
        /// The formula's lr.
        public var predicted: Double
        /// The package whose floating-point cycle index gives the logged value (its misplaced
        /// restart), if one does: "PyTorch", "timm", "transformers".
        public var packageDefect: String?
        /// The logged value is what PyTorch's floating-point restart index gives.
        public var pytorchRestartDefect: Bool { packageDefect == "PyTorch" }
    }

    /// The trace file.
    public var path: String
    /// Rows checked.
    public var rows: Int
    /// The largest error, in units of the last printed digit.
    public var worstError: Double
    /// The rows that disagree (the first `keptDisagreements`).
    public var disagreements: [Disagreement]
    /// Rows that disagree.
    public var disagreementCount = 0
    /// Disagreeing rows that are a package's known restart defect, per package.
    public var defectCounts: [String: Int] = [:]
    /// The log's key column: "epoch" or "step".
    public var key = "epoch"
    /// The package's departures are its arithmetic (a pasted PyTorch scheduler's chainable form),
    /// not a misplaced restart.
    public var defectIsArithmetic = false
    /// No row disagrees.
    public var passes: Bool { disagreementCount == 0 }
    /// At most this many disagreements are kept (all are counted).
    public static let keptDisagreements = 10_000

    /// Checks the log in `text` (named `path`). A value agrees when it is within half a unit of
    /// its last printed digit, or within 2 units in the last place of a Double for full-precision logs.
    public static func verify(_ text: String, path: String, formula: Formula, stepsPerEpoch: Int = 1) throws -> TraceVerification {
        try verify(CSVReader(text: text, name: path), formula: formula, stepsPerEpoch: stepsPerEpoch)
    }

    /// The most steps a scheduler is traced for (`Formula.torch`): 10,000,000 `scheduler.step()`
    /// calls, 18 times COCO's 300 epochs at batch 64.
    public static let mostTracedSteps = 10_000_000

    /// The largest value of the log's `step` (or `epoch`) column: how far a formula that must be
    /// traced step by step (`Formula.torch`) has to go. Nil when the file has no such column or
    /// no row (the check itself then names the problem); a value past `mostTracedSteps` is an
    /// error naming its line (the trace would take time and memory in proportion to it).
    public static func largestKey(file path: String) throws -> Int? {
        var reader = try CSVReader(path: path)
        var column: Int?
        var name = "step"
        var largest = -1.0
        while try reader.next() {
            if reader.isComment { continue }
            guard let c = column else {
                column = reader.fields.firstIndex(of: "step") ?? reader.fields.firstIndex(of: "epoch")
                guard let c = column else { return nil }
                name = reader.fields[c]
                continue
            }
            guard c < reader.count, let v = reader.double(c), v.isFinite else { continue }
            if v > Double(mostTracedSteps) {
                throw HalfTraceError.file(path, line: reader.line, field: name,
                                          "\(reader.string(c).prefix(40)) is past \(mostTracedSteps) steps, the most a scheduler is traced for")
            }
            largest = max(largest, v)
        }
        return largest >= 0 ? Int(largest.rounded(.up)) : nil
    }

    /// Checks the log in the file at `path`, streaming it (`CSVReader`).
    public static func verify(file path: String, formula: Formula, stepsPerEpoch: Int = 1) throws -> TraceVerification {
        try verify(try CSVReader(path: path), formula: formula, stepsPerEpoch: stepsPerEpoch)
    }

    static func verify(_ source: CSVReader, formula: Formula, stepsPerEpoch: Int) throws -> TraceVerification {
        var reader = source
        let path = reader.name
        try HalfTraceError.check("steps_per_epoch", stepsPerEpoch, in: 1...1_000_000)
        guard let header = try reader.nextHeader(), !header.isEmpty else { throw HalfTraceError.file(path, "no header row") }
        let headerLine = reader.line
        guard let lrColumn = header.firstIndex(of: "lr") else { throw HalfTraceError.file(path, line: headerLine, field: "lr", "column missing") }
        var epochColumn = header.firstIndex(of: "epoch")
        let stepColumn = header.firstIndex(of: "step")
        // A scheduler stepped k times, or a per-update schedule, counts steps: with both columns
        // the step is the key (an epoch column there says which epoch a step fell in).
        let perStep: Bool
        switch formula {
        case .torch, .family: perStep = true
        case .sgdr, .linear, .onecycle: perStep = false
        }
        if perStep, stepColumn != nil { epochColumn = nil }
        guard let timeColumn = epochColumn ?? stepColumn else {
            throw HalfTraceError.file(path, line: headerLine, field: "epoch", "needs an epoch or a step column")
        }
        if let twice = CSVReader.repeatedColumn(header) {
            throw HalfTraceError.file(path, line: headerLine, field: twice, "the column appears twice")
        }
        var result = TraceVerification(path: path, rows: 0, worstError: 0, disagreements: [])
        result.key = header[timeColumn]
        if case .torch = formula { result.defectIsArithmetic = true }
        while try reader.next() {
            if reader.isComment { continue }
            let k = reader.line
            guard reader.count == header.count else { throw HalfTraceError.file(path, line: k, "\(reader.count) fields, the header has \(header.count)") }
            guard let time = reader.double(timeColumn), time.isFinite, time >= 0, time <= 1e9 else {
                throw HalfTraceError.file(path, line: k, field: header[timeColumn], "'\(reader.string(timeColumn).prefix(40))' is not a step or epoch in [0, 1e9]")
            }
            if perStep, time != time.rounded(.down) {
                throw HalfTraceError.file(path, line: k, field: header[timeColumn], "\(reader.string(timeColumn).prefix(40)) is not a whole number of steps")
            }
            guard let logged = reader.double(lrColumn), logged.isFinite else {
                throw HalfTraceError.file(path, line: k, field: "lr", "'\(reader.string(lrColumn).prefix(40))' is not a finite number")
            }
            let t = epochColumn != nil ? time : time / Double(stepsPerEpoch)
            let predicted = formula(t)
            let digits = significantDigits(reader.string(lrColumn))
            let printedBound = RunVerification.lastDigitUnit(logged, digits: digits) / 2
            let tolerance = max(printedBound, 2 * logged.ulp)
            let error = logged == predicted ? 0 : abs(logged - predicted) / max(2 * tolerance, .leastNonzeroMagnitude)  // in last printed digits
            result.rows += 1
            result.worstError = max(result.worstError, error)
            if abs(logged - predicted) > tolerance {
                let defect = formula.packageDefect(t).flatMap { abs($0.value - logged) <= tolerance ? $0.package : nil }
                result.disagreementCount += 1
                if let defect { result.defectCounts[defect, default: 0] += 1 }
                if result.disagreements.count < keptDisagreements {
                    result.disagreements.append(Disagreement(line: k, epoch: t, logged: logged, predicted: predicted, packageDefect: defect))
                }
            }
        }
        guard result.rows > 0 else { throw HalfTraceError.file(path, "no rows") }
        return result
    }

    /// Significant digits of a number as printed ("0.0955" has 3, "1.2300e-05" has 5).
    static func significantDigits(_ text: String) -> Int {
        let mantissa = text.lowercased().split(separator: "e").first.map(String.init) ?? text
        let digits = mantissa.filter(\.isNumber).drop { $0 == "0" }
        return max(1, min(digits.count, 17))
    }

    /// The lines `verify trace` prints.
    public var report: String {
        var lines = ["\(path): \(rows) rows checked against the exact formula"]
        let defects = defectCounts.values.reduce(0, +)
        func possessive(_ name: String) -> String { name.hasSuffix("s") ? "\(name)'" : "\(name)'s" }
        for d in disagreements.prefix(20) {
            lines.append(String(format: "  line %d, %@ %.6g: logged %@, the formula gives %@", d.line, key, d.epoch, "\(d.logged)", "\(d.predicted)")
                         + (d.packageDefect.map { defectIsArithmetic
                            ? " (\(possessive($0)) own arithmetic gives this value: its chainable form departs from the closed form here)"
                            : " (\(possessive($0)) misplaced restart: its floating-point arithmetic puts \(key) \(Self.integral(d.epoch)) in the previous cycle)" } ?? ""))
        }
        if disagreementCount > 20 { lines.append("  ... \(disagreementCount - 20) more") }
        if defects > 0 {
            let names = defectCounts.keys.sorted().map(possessive).joined(separator: ", ")
            if defectIsArithmetic {
                lines.append(defects == disagreementCount
                    ? "every disagreement (\(defects)) is \(names) own arithmetic: the log follows the package, whose chainable form departs from the closed form there"
                    : "\(defects) of the \(disagreementCount) disagreements are \(names) own arithmetic (its chainable form); the rest are not")
            } else {
                lines.append(defects == disagreementCount
                    ? "every disagreement (\(defects)) is \(names) known restart defect: the log follows the package's arithmetic, which restarts one \(key) late there"
                    : "\(defects) of the \(disagreementCount) disagreements are \(names) known restart defect (floating-point arithmetic in the cycle index); the rest are not")
            }
        }
        lines.append(passes ? "every logged value agrees with the formula" : "\(disagreementCount) logged values disagree with the formula")
        return lines.joined(separator: "\n")
    }

    /// 110.0 as "110", 2.5 as "2.5".
    static func integral(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? "\(Int(x))" : "\(x)" }

    /// One JSON object for machines.
    public var json: String {
        let items = disagreements.map {
            JSON.object([("line", "\($0.line)"), ("epoch", JSON.number($0.epoch)), ("logged", JSON.number($0.logged)), ("predicted", JSON.number($0.predicted)),
                         ("pytorch_restart_defect", "\($0.pytorchRestartDefect)"), ("package_defect", $0.packageDefect.map(JSON.string) ?? "null")])
        }
        return JSON.object([("trace", JSON.string(path)), ("rows", "\(rows)"), ("agrees", "\(passes)"), ("disagreement_count", "\(disagreementCount)"),
                            ("disagreements", JSON.array(items))])
    }
}
