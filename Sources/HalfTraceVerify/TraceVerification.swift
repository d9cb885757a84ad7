import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// A per-step learning-rate log from any scheduler (PyTorch's, timm's, a user's), checked against
/// the exact formula: a CSV with an `epoch` column (the real epoch the scheduler was stepped to)
/// or a `step` column (epoch = step / steps per epoch), and an `lr` column; `#` lines are skipped.
public struct TraceVerification: Sendable {
    public enum Formula: Sendable {
        /// SGDR with exact integer cycle indexing (`CosineWarmRestarts`).
        case sgdr(lr: Double, t0: Int, tMult: Int, etaMin: Double)
        /// YOLOv5's LambdaLR multipliers: lr0 * lf(epoch).
        case linear(lr0: Double, lrf: Double, epochs: Int)
        case onecycle(lr0: Double, lrf: Double, epochs: Int)

        public func callAsFunction(_ t: Double) -> Double {
            switch self {
            case let .sgdr(lr, t0, tMult, etaMin):
                let p = CosineWarmRestarts.position(of: max(t, 0), t0: t0, tMult: tMult)
                let tCur = tMult == 1 && t >= Double(t0) ? t.truncatingRemainder(dividingBy: Double(t0)) : p.tCur
                return etaMin + (lr - etaMin) * (1 + Double.cos(Double.pi * tCur / p.tI)) / 2
            case let .linear(lr0, lrf, epochs): return lr0 * ((1 - t / Double(epochs)) * (1.0 - lrf) + lrf)
            case let .onecycle(lr0, lrf, epochs): return lr0 * (((1 - Double.cos(t * Double.pi / Double(epochs))) / 2) * (lrf - 1) + 1)
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
            return etaMin + (lr - etaMin) * (1 + Double.cos(Double.pi * tCur / tI)) / 2
        }
    }

    public struct Disagreement: Sendable {
        public var line: Int
        public var epoch: Double
        public var logged: Double
        public var predicted: Double
        /// The logged value is what PyTorch's floating-point restart index gives.
        public var pytorchRestartDefect: Bool
    }

    public var path: String
    public var rows: Int
    public var worstError: Double
    public var disagreements: [Disagreement]
    public var passes: Bool { disagreements.isEmpty }

    /// Checks the log in `text` (named `path`). A value agrees when it is within half a unit of
    /// its last printed digit, or within 2 units in the last place of a Double for full-precision logs.
    public static func verify(_ text: String, path: String, formula: Formula, stepsPerEpoch: Int = 1) throws -> TraceVerification {
        try HalfTraceError.check("steps_per_epoch", stepsPerEpoch, in: 1...1_000_000)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var index = 0
        while index < lines.count && (lines[index].hasPrefix("#") || lines[index].trimmingCharacters(in: .whitespaces).isEmpty) { index += 1 }
        guard index < lines.count else { throw HalfTraceError.file(path, "no header row") }
        let header = lines[index].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let lrColumn = header.firstIndex(of: "lr") else { throw HalfTraceError.file(path, line: index + 1, field: "lr", "column missing") }
        let epochColumn = header.firstIndex(of: "epoch"), stepColumn = header.firstIndex(of: "step")
        guard let timeColumn = epochColumn ?? stepColumn else {
            throw HalfTraceError.file(path, line: index + 1, field: "epoch", "needs an epoch or a step column")
        }
        var result = TraceVerification(path: path, rows: 0, worstError: 0, disagreements: [])
        for k in (index + 1)..<lines.count {
            let line = lines[k]
            if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == header.count else { throw HalfTraceError.file(path, line: k + 1, "\(cells.count) fields, the header has \(header.count)") }
            guard let time = Double(cells[timeColumn]), time.isFinite, time >= 0, time <= 1e9 else {
                throw HalfTraceError.file(path, line: k + 1, field: header[timeColumn], "'\(cells[timeColumn].prefix(40))' is not a step or epoch in [0, 1e9]")
            }
            guard let logged = Double(cells[lrColumn]), logged.isFinite else {
                throw HalfTraceError.file(path, line: k + 1, field: "lr", "'\(cells[lrColumn].prefix(40))' is not a finite number")
            }
            let t = epochColumn != nil ? time : time / Double(stepsPerEpoch)
            let predicted = formula(t)
            let digits = significantDigits(cells[lrColumn])
            let printedBound = RunVerification.lastDigit(logged, digits: digits) / 2
            let tolerance = max(printedBound, 2 * logged.ulp)
            let error = logged == predicted ? 0 : abs(logged - predicted) / max(2 * tolerance, .leastNonzeroMagnitude)  // in last printed digits
            result.rows += 1
            result.worstError = max(result.worstError, error)
            if abs(logged - predicted) > tolerance {
                let defect = formula.pytorch(t).map { abs($0 - logged) <= tolerance } ?? false
                result.disagreements.append(Disagreement(line: k + 1, epoch: t, logged: logged, predicted: predicted, pytorchRestartDefect: defect))
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

    public var report: String {
        var lines = ["\(path): \(rows) rows checked against the exact formula"]
        let defects = disagreements.filter(\.pytorchRestartDefect)
        for d in disagreements.prefix(20) {
            lines.append(String(format: "  line %d, epoch %.6g: logged %@, the formula gives %@", d.line, d.epoch, "\(d.logged)", "\(d.predicted)")
                         + (d.pytorchRestartDefect ? " (PyTorch's misplaced restart: its floating-point log puts epoch \(d.epoch) in the previous cycle)" : ""))
        }
        if disagreements.count > 20 { lines.append("  ... \(disagreements.count - 20) more") }
        if !defects.isEmpty {
            lines.append("\(defects.count) of the \(disagreements.count) disagreements are PyTorch's known SGDR defect (math.log in the cycle index); the rest are not")
        }
        lines.append(passes ? "every logged value agrees with the formula" : "\(disagreements.count) logged values disagree with the formula")
        return lines.joined(separator: "\n")
    }

    public var json: String {
        let items = disagreements.map {
            "{\"line\": \($0.line), \"epoch\": \($0.epoch), \"logged\": \($0.logged), \"predicted\": \($0.predicted), \"pytorch_restart_defect\": \($0.pytorchRestartDefect)}"
        }
        return "{\"trace\": \"\(path)\", \"rows\": \(rows), \"agrees\": \(passes), \"disagreements\": [\(items.joined(separator: ", "))]}"
    }
}
