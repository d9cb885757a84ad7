import Foundation

extension RunVerification {
    /// The table `verify` prints: the rules used and why, one row per checked column (rows,
    /// worst error, verdict), each disagreement's first row, and the likely causes.
    public var report: String {
        var lines = ["\(run.directory): \(run.package.displayName) run, \(run.epochs) epochs, batch \(run.batchSize), nb = \(plan.batchesPerEpoch) (\(batchesSource))"]
        lines.append("rules: \(rules.displayName) (\(rules.id))" + (rulesReasons.isEmpty ? "" : ": " + rulesReasons.joined(separator: "; ")))
        lines += rules.notes.map { "  " + $0 }
        lines.append("  optimizer \(plan.optimizer), \(plan.groups.count) groups: "
                     + plan.groups.map { "\($0.name)\($0.warmupStart != 0 ? " (warm-up from \($0.warmupStart))" : "")" }.joined(separator: ", ")
                     + "; nw = \(plan.warmupIterations)")
        lines += plan.notes.map { "  " + $0 }
        if !resumedEpochs.isEmpty { lines.append("  resumed at epoch \(resumedEpochs.map(String.init).joined(separator: ", ")): \(Self.resumeRule(rules))") }
        lines += remarks.map { "  note: " + $0 }
        lines += ["", "results.csv, per epoch"] + RunVerificationTable.rows(epochColumns)
        if let steps = run.steps {
            lines += ["", "\(steps.path), per iteration"] + RunVerificationTable.rows(stepColumns)
            if let scale {
                let s = scale.firstDisagreement
                lines.append(RunVerificationTable.pad("scale", 16) + RunVerificationTable.pad("loss scale", 30) + String(format: "%6d  ", scale.rows)
                             + RunVerificationTable.pad("\(scale.backoffs) backoffs, \(scale.growths) growths", 34) + (scale.passes ? "ok" : "DISAGREES"))
                lines.append("  GradScaler: " + scale.settings.sources.joined(separator: "; "))
                if !scale.restarts.isEmpty { lines.append("  the scale restarted at a resume (row \(scale.restarts.map(String.init).joined(separator: ", ")))") }
                if let s { lines.append("scale first disagrees at ni \(steps.ni(s.row)) (line \(steps.line(s.row))): logged \(s.logged), the rule gives \(s.predicted)") }
            }
        }
        for c in epochColumns + stepColumns {
            guard let d = c.firstDisagreement else { continue }
            lines.append("\(c.name) (\(c.what)) first disagrees at \(d.at) (line \(d.line)): logged \(d.logged), predicted \(d.predicted)")
        }
        if !contradictions.isEmpty {
            lines.append("")
            lines.append("steps.csv contradicts itself:")
            lines += contradictions.map { "  " + $0 }
        }
        if !passes {
            lines.append("")
            lines += causes.isEmpty ? ["no known cause fits (another release's rules, nb, lr0, lrf, warm-up, momentum, schedule, a resume)"]
                                    : causes.map { "likely cause: " + $0 }
        }
        lines.append("")
        let what = run.steps == nil ? "every logged learning rate" : "every logged learning rate, momentum, accumulate, optimizer step\(run.steps!.hasScaler ? " and loss scale" : "")"
        lines.append(passes ? "\(what) agrees with \(rules.displayName)'s rules" : "the log disagrees with \(rules.displayName)'s rules")
        return lines.joined(separator: "\n")
    }

    /// One JSON object for machines.
    public var json: String {
        var fields: [(String, String)] = [
            ("run", JSON.string(run.directory)), ("package", JSON.string(run.package.rawValue)), ("rules", JSON.string(rules.id)),
            ("rules_reasons", JSON.array(rulesReasons.map(JSON.string))), ("epochs", "\(run.epochs)"), ("batch_size", "\(run.batchSize)"),
            ("nb", "\(plan.batchesPerEpoch)"), ("nb_source", JSON.string(batchesSource)), ("optimizer", JSON.string(plan.optimizer)),
            ("warmup_iterations", "\(plan.warmupIterations)"), ("results_digits", "\(comparedDigits)"),
            ("resumed_epochs", JSON.array(resumedEpochs.map { "\($0)" })),
            ("epoch_columns", JSON.columns(epochColumns)), ("step_columns", JSON.columns(stepColumns)),
        ]
        if let scale { fields.append(("scale", JSON.scale(scale))) }
        fields += [("contradictions", JSON.array(contradictions.map(JSON.string))), ("causes", JSON.array(causes.map(JSON.string))),
                   ("remarks", JSON.array(remarks.map(JSON.string))), ("agrees", "\(passes)")]
        return JSON.object(fields)
    }
}
