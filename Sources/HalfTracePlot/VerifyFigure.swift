import HalfTraceFigures
import HalfTraceVerify

/// `verify --plots`. With a steps.csv, per iteration: every group's lr and momentum (logged
/// points over the predicted line), accumulate with the optimizer steps marked, the loss scale
/// with the skipped steps marked, and the residuals in units in the last place. Without one, per
/// group the logged per-epoch lr (points at the end of their epoch) over the predicted
/// per-iteration curve, and each logged value's error in units of its last printed digit.
public enum VerifyFigure {
    static let colors = ["#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

    public static func make(_ v: RunVerification, name: String = "verify") -> Figure {
        let title = "\(v.run.package.displayName) run \(v.run.directory.split(separator: "/").last.map(String.init) ?? ""), \(v.rules.displayName) rules — \(v.passes ? "all agree" : "DISAGREES")"
        let marker = Marker(x: Double(v.plan.warmupIterations), label: "end of warm-up (nw = \(v.plan.warmupIterations))", color: "#d62728")
        if let steps = v.run.steps, let sample = v.sample, !sample.rows.isEmpty {
            let rows = sample.rows.map(steps.row), x = sample.rows.map(Double.init)
            // Groups that warm up from warmup_bias_lr sit far above the others: a panel of their own.
            let high = v.plan.groups.indices.filter { v.plan.groups[$0].warmupStart != 0 }
            let split = !high.isEmpty && high.count < v.plan.groups.count
            let lrSets = split ? [high, v.plan.groups.indices.filter { !high.contains($0) }] : [Array(v.plan.groups.indices)]
            var panels = lrSets.map { set in
                groupsPanel(split ? (set == high ? "lr, from warmup_bias_lr" : "lr, from 0") : "learning rate", x, logged: rows.map(\.lr),
                            predicted: sample.lr, names: v.plan.groups.map(\.name), only: set)
            }
            panels += [
                groupsPanel("momentum (Adam: beta1)", x, logged: rows.map(\.momentum), predicted: sample.momentum, names: v.plan.groups.map(\.name)),
                stepsPanel(x, rows: rows, predictedAccumulate: sample.accumulate.map(Double.init), complete: sample.complete),
            ]
            if v.scale != nil { panels.append(scalePanel(x, rows: rows, predicted: sample.scale)) }
            let names = v.plan.groups.indices.map { "lr_pg\($0)" } + v.plan.groups.indices.map { "momentum_pg\($0)" } + (v.scale != nil ? ["scale"] : [])
            panels.append(ulpResiduals(x, logged: rows.map { $0.lr + $0.momentum + ($0.scale.map { [$0] } ?? []) },
                                       predicted: sample.rows.indices.map { k in
                                           sample.lr[k] + sample.momentum[k] + (v.scale != nil ? [sample.scale[k]] : [])
                                       }, names: names))
            if v.plan.warmupIterations > 0, steps.count > 0, steps.ni(0) == 0 { for k in panels.indices { panels[k].markers = [marker] } }
            return Figure(name: name, title: title, xLabel: "logged iteration (row of steps.csv; ni unless resumed)"
                          + (sample.complete ? "" : "; \(sample.rows.count) of \(steps.count) rows drawn, every change kept"), panels: panels)
        }
        let nb = Double(v.plan.batchesPerEpoch)
        // The whole run's predicted lr, as steps: only the iterations where it changes (the
        // warm-up's and each epoch's first), so that a COCO-sized run draws a few thousand points.
        var replay = ScheduleSimulator.Replay(v.plan)
        var curveX: [Double] = [], curveY: [[Double]] = []
        let total = v.plan.epochs * v.plan.batchesPerEpoch
        for n in 0..<total {
            let p = replay.next(ni: n, epoch: n / v.plan.batchesPerEpoch, i: n % v.plan.batchesPerEpoch, resumes: false)
            if n == 0 || n == total - 1 || p.lr != curveY.last! { curveX.append(Double(n) / nb); curveY.append(p.lr) }
        }
        var panels: [Panel] = []
        var residuals: [Series] = []
        let epochMarker = Marker(x: Double(v.plan.warmupIterations) / nb, label: marker.label, color: marker.color)
        for (j, column) in v.run.results.lrColumns.enumerated() where j < v.plan.groups.count {
            let group = v.plan.groups[j].name, color = colors[j % colors.count]
            var curve = Series("\(column) (\(group)), predicted", x: curveX, y: curveY.map { $0[j] }, style: .steps, color: Palette.reference)
            curve.lineWidth = 1.2
            let epochs = v.run.results.rows.map { Double($0.loggedEpoch - v.rules.results.firstEpoch) + (nb - 1) / nb }
            var points = Series("\(column), logged", x: epochs, y: v.run.results.rows.map { $0.values[j] }, style: .points, color: color)
            points.pointSize = 0.9
            var panel = Panel(yLabel: "lr, \(group)", series: [curve, points], weight: 1.3)
            panel.markers = [epochMarker]
            panels.append(panel)
            var r = Series(column, x: epochs, y: v.run.results.rows.map { row in
                let e = row.loggedEpoch - v.rules.results.firstEpoch
                guard v.predictedEpochs.indices.contains(e) else { return .nan }
                let unit = RunVerification.lastDigitUnit(row.values[j], digits: v.comparedDigits)
                return unit == 0 ? 0 : (row.values[j] - v.predictedEpochs[e][j]) / unit
            }, style: .points, color: color)
            r.pointSize = 0.8
            residuals.append(r)
        }
        var residual = Panel(yLabel: "logged − predicted (last digits)", series: residuals, weight: 1)
        residual.band = -0.5...0.5
        residual.bandLabel = "rounding of the printed value (±0.5)"
        residual.markers = [epochMarker]
        let worst = residuals.flatMap(\.y).filter(\.isFinite).map(abs).max() ?? 0
        residual.yRange = -max(0.6, worst * 1.2)...max(0.6, worst * 1.2)
        panels.append(residual)
        return Figure(name: name, title: title, xLabel: "epoch", panels: panels)
    }

    /// A training loop's steps.csv (`verify steps`), checked with `VerifyOptions.sample`.
    public static func make(_ v: LoopVerification, name: String = "verify") -> Figure {
        guard let sample = v.sample else { preconditionFailure("VerifyFigure: check the log with VerifyOptions.sample to draw it") }
        let rows = sample.rows.map(v.steps.row), x = sample.rows.map(Double.init)
        var panels: [Panel] = []
        let groups = v.formula == nil ? 0 : v.steps.groups
        if groups > 0 {
            panels.append(groupsPanel("learning rate", x, logged: rows.map(\.lr), predicted: sample.lr, names: (0..<groups).map { "group \($0)" }))
        }
        panels.append(stepsPanel(x, rows: rows, predictedAccumulate: nil, complete: sample.complete))
        if v.scale != nil { panels.append(scalePanel(x, rows: rows, predicted: sample.scale)) }
        let names = (0..<groups).map { "lr_pg\($0)" } + (v.scale != nil ? ["scale"] : [])
        if !names.isEmpty {
            panels.append(ulpResiduals(x, logged: rows.map { Array($0.lr.prefix(groups)) + ($0.scale.map { [$0] } ?? []) },
                                       predicted: sample.rows.indices.map { k in (groups > 0 ? sample.lr[k] : []) + (v.scale != nil ? [sample.scale[k]] : []) },
                                       names: names))
        }
        return Figure(name: name, title: "\(v.steps.path.split(separator: "/").last.map(String.init) ?? "steps.csv"): a training loop's steps — \(v.passes ? "all agree" : "DISAGREES")",
                      xLabel: "logged iteration (row of steps.csv)" + (sample.complete ? "" : "; \(sample.rows.count) of \(v.steps.count) rows drawn, every change kept"),
                      panels: panels)
    }

    static func groupsPanel(_ label: String, _ x: [Double], logged: [[Double]], predicted: [[Double]], names: [String], only: [Int]? = nil) -> Panel {
        var series: [Series] = []
        for j in only ?? Array(names.indices) {
            let color = colors[j % colors.count]
            var line = Series("pg\(j) (\(names[j])), predicted", x: x, y: predicted.map { $0[j] }, style: .steps, color: color)
            line.lineWidth = 1.1
            var points = Series("pg\(j), logged", x: x, y: logged.map { $0[j] }, style: .points, color: color)
            points.pointSize = 0.35
            points.pointType = 6
            series += [line, points]
        }
        return Panel(yLabel: label, series: series, weight: 1.4)
    }

    static func stepsPanel(_ x: [Double], rows: [StepsLog.Row], predictedAccumulate: [Double]?, complete: Bool) -> Panel {
        var series: [Series] = []
        if let predictedAccumulate {
            var line = Series("accumulate, predicted", x: x, y: predictedAccumulate, style: .steps, color: Palette.reference)
            line.lineWidth = 1.2
            series.append(line)
        }
        var logged = Series("accumulate, logged", x: x, y: rows.map { Double($0.accumulate) }, style: .points, color: "#1f77b4")
        logged.pointSize = 0.35
        let stepped = rows.indices.filter { rows[$0].optimizerStep }
        var marks = Series(complete ? "optimizer step" : "optimizer step (drawn rows only)", x: stepped.map { x[$0] },
                           y: stepped.map { Double(rows[$0].accumulate) }, style: .points, color: "#2ca02c")
        marks.pointType = 9
        marks.pointSize = 0.6
        var p = Panel(yLabel: "accumulate (batches)", series: series + [logged, marks], weight: 1)
        p.yRange = 0...Double((rows.map(\.accumulate).max() ?? 1) + 1)
        return p
    }

    static func scalePanel(_ x: [Double], rows: [StepsLog.Row], predicted: [Double]) -> Panel {
        var line = Series("scale, GradScaler rule", x: x, y: predicted, style: .steps, color: Palette.reference)
        line.lineWidth = 1.4
        var logged = Series("scale, logged", x: x, y: rows.map { $0.scale ?? .nan }, style: .points, color: "#1f77b4")
        logged.pointSize = 0.4
        let skipped = rows.indices.filter { rows[$0].foundInf == true }
        var marks = Series("skipped step (found_inf)", x: skipped.map { x[$0] }, y: skipped.map { rows[$0].scale ?? .nan }, style: .points, color: Palette.engine)
        marks.pointType = 2
        marks.pointSize = 1.3
        var p = Panel(yLabel: "loss scale", series: [line, logged, marks], weight: 1.2)
        p.logBase = 2
        return p
    }

    /// (logged - predicted) in units in the last place, per column.
    static func ulpResiduals(_ x: [Double], logged: [[Double]], predicted: [[Double]], names: [String]) -> Panel {
        var series: [Series] = []
        for j in names.indices {
            let y = zip(logged, predicted).map { l, p -> Double in
                l[j] == p[j] || (l[j].isNaN && p[j].isNaN) ? 0 : (l[j] - p[j]) / max(p[j].ulp, .leastNonzeroMagnitude)
            }
            var s = Series(names[j], x: x, y: y, style: .points, color: colors[j % colors.count])
            s.pointSize = 0.35
            series.append(s)
        }
        var p = Panel(yLabel: "logged − predicted (ulp)", series: series, weight: 1)
        let worst = series.flatMap(\.y).filter(\.isFinite).map(abs).max() ?? 0
        p.yRange = -max(1, worst * 1.2)...max(1, worst * 1.2)
        p.note = worst == 0 ? "every value exact (0 ulp)" : nil
        return p
    }
}
