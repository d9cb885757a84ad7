import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// A logged run checked against the formulas: every logged learning rate against the rules'
/// prediction, within the precision the package printed it with.
public struct RunVerification: Sendable {
    public struct Column: Sendable {
        public var name: String
        public var group: String
        public var rows: Int
        /// The largest |logged - predicted| in units of the last printed digit (0.5: the rounding bound).
        public var worstError: Double
        public var worstEpoch: Int
        /// The first epoch that disagrees: logged and predicted values.
        public var firstDisagreement: (epoch: Int, logged: Double, predicted: Double)?
        public var passes: Bool { firstDisagreement == nil }
    }

    public var run: LoggedRun
    public var batchesPerEpoch: Int
    /// Where nb came from ("the dataset ..." or "--nb").
    public var batchesSource: String
    public var prediction: RunRules.Prediction
    public var columns: [Column]
    /// What the log looks like it came from, when it disagrees and a known cause fits.
    public var causes: [String]
    /// Remarks on the log itself (an epoch logged twice, rows past the run's epochs).
    public var remarks: [String]

    public var passes: Bool { columns.allSatisfy(\.passes) && !columns.isEmpty }

    /// Group names in the run's column order.
    public static func groupNames(_ kind: LoggedRun.Kind) -> [String] {
        kind == .yolov5 ? ["biases", "weights", "norm weights"] : ["weights", "norm weights", "biases"]
    }

    /// The unit of the last significant digit of `v` printed with `digits` significant digits.
    public static func lastDigitUnit(_ v: Double, digits: Int) -> Double { lastDigit(v, digits: digits) }

    static func lastDigit(_ v: Double, digits: Int) -> Double {
        v == 0 ? 0 : Foundation.pow(10, Foundation.log10(abs(v)).rounded(.down) - Double(digits - 1))
    }

    /// |logged - predicted| in last-digit units (0 when equal; infinite when the log printed 0).
    static func error(logged: Double, predicted: Double, digits: Int) -> Double {
        if logged == predicted { return 0 }
        let unit = lastDigit(logged, digits: digits)
        return unit == 0 ? .infinity : abs(logged - predicted) / unit
    }

    /// Checks `run`. nb comes from `batchesPerEpoch` when given, else from the dataset the run
    /// names; `images` and `classes` stand in for an unreadable dataset (Ultralytics' `auto`).
    public static func verify(_ run: LoggedRun, batchesPerEpoch given: Int? = nil, images: Int? = nil,
                              classes: Int? = nil) throws -> RunVerification {
        let dataset = run.data.flatMap { RunDataset.count($0, runDirectory: run.directory) }
        let nb: Int, source: String
        if let given {
            try HalfTraceError.check("nb", given, in: 1...1_000_000)
            (nb, source) = (given, "--nb \(given)")
        } else if let dataset {
            guard dataset.images > 0 else { throw HalfTraceError.file(dataset.file, "the training set has no images") }
            nb = (dataset.images + run.batchSize - 1) / run.batchSize
            source = "the dataset \(dataset.file): \(dataset.images) training images / batch \(run.batchSize)"
        } else {
            throw HalfTraceError.invalid("nb", "the dataset the run names (\(run.data ?? "none")) is not readable here: give the batches per epoch")
        }
        let rules = RunRules(run, batchesPerEpoch: nb, images: images ?? dataset?.images,
                             classes: classes ?? dataset?.classes)
        let prediction = try rules.predict()
        var remarks: [String] = []
        var seen: [Int: Int] = [:]
        for row in run.rows {
            if let earlier = seen[row.epoch] {
                remarks.append("epoch \(row.epoch) is logged twice (lines \(earlier) and \(row.line)): a resumed run")
            }
            seen[row.epoch] = row.line
        }
        if let beyond = run.rows.first(where: { $0.epoch >= run.epochs }) {
            throw HalfTraceError.file(run.directory + "/results.csv", line: beyond.line,
                                      "epoch \(beyond.epoch) is past the run's \(run.epochs) epochs (a run extended after its settings were written?)")
        }
        let columns = compare(run, prediction.logged)
        var verification = RunVerification(run: run, batchesPerEpoch: nb, batchesSource: source, prediction: prediction,
                                           columns: columns, causes: [], remarks: remarks)
        if !verification.passes { verification.causes = likelyCauses(run, rules) }
        return verification
    }

    static func compare(_ run: LoggedRun, _ logged: [[Double]]) -> [Column] {
        let groups = groupNames(run.kind)
        return run.columns.enumerated().map { j, name in
            var column = Column(name: name, group: groups[j], rows: 0, worstError: 0, worstEpoch: 0, firstDisagreement: nil)
            for row in run.rows {
                let predicted = logged[row.epoch][j]
                let e = error(logged: row.values[j], predicted: predicted, digits: run.digits)
                column.rows += 1
                if e > column.worstError { (column.worstError, column.worstEpoch) = (e, row.epoch) }
                if e > 0.5 + 1e-6 && column.firstDisagreement == nil { column.firstDisagreement = (row.epoch, row.values[j], predicted) }
            }
            return column
        }
    }

    static func fits(_ run: LoggedRun, _ rules: RunRules) -> Bool {
        guard let p = try? rules.predict() else { return false }
        return compare(run, p.logged).allSatisfy(\.passes)
    }

    /// Known reasons a log disagrees, tried one at a time: another nb, another lr0, lrf or
    /// warm-up length than the settings file says, the other schedule.
    static func likelyCauses(_ run: LoggedRun, _ rules: RunRules) -> [String] {
        var causes: [String] = []
        let nb = rules.batchesPerEpoch
        let candidates = (max(1, nb / 2)...(2 * nb)).sorted { abs($0 - nb) < abs($1 - nb) }.prefix(200)
        for candidate in candidates where candidate != nb && run.epochs * candidate <= 2_000_000 {
            var r = rules
            r.batchesPerEpoch = candidate
            if fits(run, r) {
                causes.append("the log fits nb = \(candidate) batches per epoch, not \(nb): the dataset or the batch size differs from what the run's files say")
                break
            }
        }
        func tryValue(_ name: String, _ values: [Double], _ set: (inout RunRules, Double) -> Void, now: Double) {
            for v in values where v != now && v.isFinite && v >= 0 {
                var r = rules
                set(&r, v)
                if fits(run, r) {
                    causes.append("the log fits \(name) = \(v), not \(now): a hyper-parameter file edited after the run?")
                    return
                }
            }
        }
        if let last = run.rows.last, let predicted = try? rules.predict().logged[last.epoch][1], predicted != 0 {
            let ratio = last.values[1] / predicted
            let lr0 = Double(String(format: "%.5g", rules.hyp.lr0 * ratio))!
            tryValue("lr0", [lr0], { $0.hyp.lr0 = $1 }, now: rules.hyp.lr0)
        }
        tryValue("lrf", [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0], { $0.hyp.lrf = $1 }, now: rules.hyp.lrf)
        tryValue("warmup_epochs", stride(from: 0.0, through: 10, by: 0.5).map { $0 }, { $0.hyp.warmupEpochs = $1 }, now: rules.hyp.warmupEpochs)
        tryValue("warmup_bias_lr", [0.0, 0.01, 0.05, 0.1, 0.2], { $0.hyp.warmupBiasLR = $1 }, now: rules.hyp.warmupBiasLR)
        var flipped = rules
        flipped.cosine.toggle()
        if fits(run, flipped) { causes.append("the log fits the \(rules.cosine ? "linear" : "one-cycle (cos_lr)") schedule, not the \(rules.cosine ? "one-cycle" : "linear") one the settings name") }
        return causes
    }
}

extension RunVerification {
    /// The table `verify` prints: column, rows checked, worst error, verdict; then the first
    /// disagreement of each failing column and the likely causes.
    public var report: String {
        var lines = ["\(run.directory): \(run.kind == .yolov5 ? "YOLOv5" : "Ultralytics") run, \(run.epochs) epochs, batch \(run.batchSize), nb = \(batchesPerEpoch) (from \(batchesSource))"]
        lines += prediction.notes.map { "  " + $0 }
        lines += remarks.map { "  note: " + $0 }
        lines.append("")
        lines.append("column    group           rows  worst error (last printed digit)  verdict")
        for c in columns {
            let worst = c.worstError.isFinite ? String(format: "%.3g at epoch %d", c.worstError, c.worstEpoch) : "inf at epoch \(c.worstEpoch)"
            lines.append(c.name.padding(toLength: 10, withPad: " ", startingAt: 0) + c.group.padding(toLength: 16, withPad: " ", startingAt: 0)
                         + String(format: "%4d  ", c.rows) + worst.padding(toLength: 34, withPad: " ", startingAt: 0) + (c.passes ? "ok" : "DISAGREES"))
        }
        for c in columns {
            guard let d = c.firstDisagreement else { continue }
            lines.append("")
            lines.append("\(c.name) (\(c.group)) first disagrees at epoch \(d.epoch): logged \(d.logged), predicted \(Self.printed(d.predicted, run.digits)) (\(d.predicted))")
        }
        if !passes {
            lines.append("")
            lines += causes.isEmpty ? ["no known cause fits (another nb, lr0, lrf, warm-up, schedule)"] : causes.map { "likely cause: " + $0 }
        }
        lines.append("")
        lines.append(passes ? "every logged learning rate agrees with the formulas (to the \(run.digits) significant digits printed)"
                            : "the logged learning rates disagree with the formulas")
        return lines.joined(separator: "\n")
    }

    static func printed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)g", v) }

    /// One JSON object for machines.
    public var json: String {
        func string(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
        let cols = columns.map { c in
            "{\"column\": \(string(c.name)), \"group\": \(string(c.group)), \"rows\": \(c.rows), \"worst_error_last_digits\": \(number(c.worstError)), \"worst_epoch\": \(c.worstEpoch), \"agrees\": \(c.passes)"
                + (c.firstDisagreement.map { ", \"first_disagreement\": {\"epoch\": \($0.epoch), \"logged\": \(number($0.logged)), \"predicted\": \(number($0.predicted))}" } ?? "") + "}"
        }
        return "{\"run\": \(string(run.directory)), \"kind\": \(string(run.kind.rawValue)), \"epochs\": \(run.epochs), \"batch_size\": \(run.batchSize), \"nb\": \(batchesPerEpoch), \"nb_source\": \(string(batchesSource)), \"warmup_iterations\": \(prediction.warmupIterations), \"digits\": \(run.digits), \"columns\": [\(cols.joined(separator: ", "))], \"causes\": [\(causes.map(string).joined(separator: ", "))], \"remarks\": [\(remarks.map(string).joined(separator: ", "))], \"agrees\": \(passes)}"
    }
}
