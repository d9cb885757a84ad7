import Foundation
import HalfTraceFigures

/// Figures built from golden checks: one per scenario (engine points over the golden line, a
/// residual panel with the tolerance band), and the comparison figures users ask for.
public enum ScenarioFigures {
    /// The default figure of a scenario.
    public static func figure(_ check: ScenarioCheck) -> Figure? {
        guard let golden = check.golden, let scenario = check.scenario, !check.engineRows.isEmpty else { return nil }
        let columns = scenario.columns
        let names = columns.map(\.name)
        let xIndex = names.firstIndex(of: "iteration") ?? names.firstIndex(of: "epoch") ?? columns.firstIndex { $0.source == .key } ?? 0
        // A key that is not in order (several cases in one file) would join unrelated rows:
        // plot against the row number instead, as points.
        let ordered = zip(golden.rows, golden.rows.dropFirst()).allSatisfy { $0[xIndex] <= $1[xIndex] }
        let x = ordered ? golden.rows.map { $0[xIndex] } : golden.rows.indices.map(Double.init)
        var groups: [(label: String, columns: [Int])] = []
        for (j, c) in columns.enumerated() where c.source != .key && c.axis != .flag {
            if let g = groups.firstIndex(where: { $0.label == c.label }) { groups[g].columns.append(j) } else { groups.append((c.label, [j])) }
        }
        var panels: [Panel] = []
        var colorIndex = 0
        let drawn = scenario.figureLabels.map { labels in groups.filter { labels.contains($0.label) } } ?? Array(groups.prefix(5))
        for group in drawn {
            var series: [Series] = []
            for j in group.columns {
                let c = columns[j], color = Palette.colors[colorIndex % Palette.colors.count]
                colorIndex += 1
                let golden = golden.rows.map { $0[j] }, engine = check.engineRows.map { $0[j] }
                if c.source == .info {
                    var s = Series("\(c.name) (\(infoSource(c)))", x: x, y: golden, style: ordered ? .line : .points, color: color)
                    s.dashed = true
                    series.append(s)
                    continue
                }
                // One legend entry for the panel's black lines (or rings), one per engine series.
                let kind = c.source == .formula ? "formula" : "golden"
                let firstOfKind = !series.contains { $0.title.hasPrefix(kind) || ($0.title.isEmpty && $0.color == Palette.reference) }
                var formula = Series(firstOfKind ? "\(kind) (black)" : "", x: x, y: golden,
                                     style: !ordered || c.samples ? .points : c.stepwise ? .hold : x.count > 400 ? .line : .linesPoints, color: Palette.reference)
                if c.samples { (formula.pointType, formula.pointSize) = (6, x.count > 400 ? 0.8 : 1.6) }  // open rings around the engine's points
                series.append(formula)
                var e = Series("\(c.name) engine", x: x, y: engine, style: .points, color: color)
                e.pointSize = x.count > 400 ? 0.35 : 0.7
                series.append(e)
            }
            var panel = Panel(yLabel: group.label, series: series, weight: 1.4)
            if case .log(let base) = columns[group.columns[0]].axis { panel.logBase = base }
            panel.markers = scenario.markers.map { Marker(x: $0.x, label: $0.label, color: "#d62728") }
            if panels.isEmpty, let note = scenario.figureNote { panel.note = note }
            panels.append(panel)
        }
        panels.append(residualPanel(check, x: x))
        return Figure(name: check.name, title: check.figureTitle,
                      xLabel: ordered ? columns[xIndex].label : "row of \(check.name).csv", panels: panels)
    }

    /// An info column's legend: its label says what computed it.
    static func infoSource(_ column: GoldenColumn) -> String { column.label }

    /// engine - golden in each column's own measure (absolute for exact columns, relative or
    /// normwise otherwise), with the largest tolerance as a band.
    static func residualPanel(_ check: ScenarioCheck, x: [Double]) -> Panel {
        guard let golden = check.golden, let scenario = check.scenario else { return Panel(yLabel: "residual", series: []) }
        var series: [Series] = []
        var limit = 0.0
        var measures = Set<String>()
        let compared = scenario.columns.enumerated().filter { $0.1.source == .formula || $0.1.source == .snapshot }
        // Many columns: one series per tolerance (all its columns in one colour), so the legend fits.
        let grouped = compared.count > 8
        var order: [String] = []
        var byKey: [String: (x: [Double], y: [Double], count: Int)] = [:]
        for (j, c) in compared {
            let scale = golden.rows.map { abs($0[j]) }.filter(\.isFinite).max() ?? 0
            let r = zip(check.engineRows, golden.rows).map { e, g in signedResidual(e[j], g[j], c.tolerance, scale: scale) }
            limit = max(limit, c.tolerance.limit)
            measures.insert(measureName(c.tolerance))
            let key = grouped ? "\(c.source.rawValue), \(c.tolerance)" : c.name
            if byKey[key] == nil { order.append(key); byKey[key] = ([], [], 0) }
            byKey[key]!.x += x
            byKey[key]!.y += r
            byKey[key]!.count += 1
        }
        for (k, key) in order.enumerated() {
            let g = byKey[key]!
            var s = Series(g.count > 1 ? "\(key) (\(g.count) columns)" : key, x: g.x, y: g.y, style: .points,
                           color: Palette.colors[k % Palette.colors.count])
            s.pointSize = x.count > 400 ? 0.3 : 0.6
            series.append(s)
        }
        var panel = Panel(yLabel: "residual", series: series, weight: 1)
        let worst = series.flatMap(\.y).filter(\.isFinite).map(abs).max() ?? 0
        panel.note = "residual = \(measures.sorted().joined(separator: "; "))"
        if limit > 0 {
            panel.band = -limit...limit
            panel.bandLabel = "tolerance ±\(limit)"
            panel.yRange = -max(limit, worst) * 1.3...max(limit, worst) * 1.3
        } else if worst == 0 {
            panel.yRange = -1...1
            panel.note! += "; tolerance exact: every residual is 0"
        }
        return panel
    }

    static func measureName(_ t: Tolerance) -> String {
        switch t {
        case .exact: "engine − golden"
        case .relative: "(engine − golden) / |golden|"
        case .normwise: "(engine − golden) / max |golden|"
        }
    }

    /// NaN where both are NaN (drawn as a named gap, not as a residual of 0).
    static func signedResidual(_ e: Double, _ g: Double, _ t: Tolerance, scale: Double) -> Double {
        if e.isNaN && g.isNaN { return .nan }
        if e.bitPattern == g.bitPattern { return 0 }
        switch t {
        case .exact: return e - g
        case .relative: return (e - g) / max(abs(g), .leastNormalMagnitude)
        case .normwise: return (e - g) / max(scale, .leastNormalMagnitude)
        }
    }

    // MARK: comparison figures

    /// The declared comparison figures whose scenarios are all among `checks`.
    public static func comparisons(_ checks: [String: ScenarioCheck], declared: [ComparisonFigure] = Scenarios.figures) -> [Figure] {
        declared.flatMap { $0.figures(checks) }
    }

    static func marks(_ markers: [ScenarioMarker], color: String = "#d62728") -> [Marker] {
        markers.map { Marker(x: $0.x, label: $0.label, color: color) }
    }

    static func interpolation(_ f: ComparisonFigure, _ knots: (x: [Double], y: [Double]), _ formula: (x: [Double], y: [Double]),
                              _ engine: (x: [Double], y: [Double]), _ check: ScenarioCheck) -> Figure {
        var known = Series("known points (xp, fp)", x: knots.x, y: knots.y, style: .points, color: "#2ca02c")
        known.pointSize = 1.6
        var mine = Series("interpolated by HalfTrace", x: engine.x, y: engine.y, style: .points, color: Palette.engine)
        mine.pointSize = 1.3
        mine.pointType = 9
        let top = Panel(yLabel: "y", series: [Series("numpy.interp formula", x: formula.x, y: formula.y, style: .line, color: Palette.reference),
                                              known, mine], weight: 3)
        return Figure(name: f.name, title: f.title, xLabel: "x", panels: [top, residualPanel(check, x: engine.x)])
    }

    static func multipliers(_ f: ComparisonFigure, _ keyLabel: String, _ curves: [(name: String, series: ColumnSeries)],
                            _ check: ScenarioCheck) -> Figure {
        var series: [Series] = []
        for (k, c) in curves.enumerated() {
            let lineColors = ["#17becf", "#8c564b", "#2ca02c"], pointColors = ["#1f77b4", "#e377c2", "#ff7f0e"]
            var line = Series("\(c.name) (formula)", x: c.series.x, y: c.series.golden, style: .line, color: lineColors[k % 3])
            line.dashed = k % 2 == 1
            line.lineWidth = 2.5
            var points = Series("\(c.name), engine (LambdaLR)", x: c.series.x, y: c.series.engine, style: .points, color: pointColors[k % 3])
            points.pointSize = 0.5
            series += [line, points]
        }
        let top = Panel(yLabel: "learning-rate multiplier lf(epoch)", series: series, weight: 3)
        return Figure(name: f.name, title: f.title, xLabel: keyLabel, panels: [top, residualPanel(check, x: curves.first?.series.x ?? [])])
    }

    /// A formula (or golden) line with the engine's points over it.
    static func lineWithPoints(_ title: String, _ s: ColumnSeries, _ color: String, pointSize: Double = 0.45) -> [Series] {
        var p = Series("\(title) engine", x: s.x, y: s.engine, style: .points, color: color)
        p.pointSize = pointSize
        return [Series("\(title) formula", x: s.x, y: s.golden, style: .line, color: color), p]
    }

    static func warmupGroups(_ f: ComparisonFigure, _ lr: [(group: String, series: ColumnSeries)], _ momentum: ColumnSeries,
                             _ accumulate: ColumnSeries, _ markers: [ScenarioMarker], _ check: ScenarioCheck) -> Figure {
        let colors = ["#ff7f0e", "#1f77b4", "#2ca02c"]
        var lrPanel = Panel(yLabel: "learning rate", series: lr.enumerated().flatMap { k, g in lineWithPoints(g.group, g.series, colors[k % 3]) }, weight: 2.2)
        lrPanel.markers = marks(markers)
        var mom = Panel(yLabel: "momentum", series: lineWithPoints("momentum", momentum, "#9467bd"), weight: 1)
        mom.markers = marks(markers)
        var acc = Panel(yLabel: "accumulate (batches)", series: lineWithPoints("accumulate", accumulate, "#8c564b"), weight: 1)
        acc.markers = marks(markers)
        return Figure(name: f.name, title: f.title, xLabel: "iteration ni", panels: [lrPanel, mom, acc, residualPanel(check, x: momentum.x)])
    }

    static func difference(_ f: ComparisonFigure, keyLabel: String, x: [Double], first: [Double], second: [Double], legends: [String],
                           yLabel: String) -> Figure {
        var secondSeries = Series(legends[1], x: x, y: second, style: .line, color: "#d62728")
        secondSeries.dashed = true
        let top = Panel(yLabel: yLabel, series: [Series(legends[0], x: x, y: first, style: .line, color: "#1f77b4"), secondSeries], weight: 2.5)
        let diff = Panel(yLabel: legends[2], series: [Series("difference", x: x, y: zip(second, first).map { $0 - $1 }, style: .steps, color: "#d62728")])
        return Figure(name: f.name, title: f.title, xLabel: keyLabel, panels: [top, diff])
    }

    static func stepping(_ f: ComparisonFigure, _ perBatch: ColumnSeries, _ perEpoch: ColumnSeries, _ markers: [ScenarioMarker],
                         _ check: ScenarioCheck) -> Figure {
        var batch = Series("stepped per batch, step(epoch + i/nb), engine", x: perBatch.x, y: perBatch.engine, style: .line, color: "#1f77b4")
        batch.lineWidth = 1.2
        var epoch = Series("stepped per epoch, step(epoch), engine", x: perEpoch.x, y: perEpoch.engine, style: .points, color: Palette.engine)
        epoch.pointSize = 0.6
        var top = Panel(yLabel: "learning rate", series: [
            Series("closed form (per batch)", x: perBatch.x, y: perBatch.golden, style: .line, color: Palette.reference), batch, epoch,
        ], weight: 3)
        top.markers = marks(markers, color: "#2ca02c")
        return Figure(name: f.name, title: f.title, xLabel: "epoch", panels: [top, residualPanel(check, x: perBatch.x)])
    }

    /// One panel per case, on the epochs around its restart: the lr each epoch trains at, held
    /// over the epoch (steps), HalfTrace solid and PyTorch dashed, the restart marked; the panel's
    /// note gives both values at the restart.
    static func restartCases(_ f: ComparisonFigure, _ cases: [(t0: Int, tMult: Int, epoch: Int, engine: [Double], pytorch: [Double])],
                             baseLR: Double, _ check: ScenarioCheck) -> Figure {
        var panels: [Panel] = []
        var residualX: [Double] = []
        for (k, c) in cases.enumerated() {
            let x = [-1.0, 0, 1, 2]  // epoch e's lr holds over [e, e + 1)
            residualX += x.dropLast()
            let color = Palette.colors[k % Palette.colors.count]
            var ours = Series(k == 0 ? "HalfTrace (exact restart)" : "", x: x, y: c.engine + [c.engine.last ?? .nan], style: .hold, color: color)
            ours.lineWidth = 2.2
            var torch = Series(k == 0 ? "PyTorch 2.15 (float log)" : "", x: x, y: c.pytorch + [c.pytorch.last ?? .nan], style: .hold, color: Palette.reference)
            torch.dashed = true
            var panel = Panel(yLabel: "lr", series: [ours, torch], weight: 1)
            panel.note = "T_0=\(c.t0), T_mult=\(c.tMult): restart at epoch \(c.epoch); HalfTrace \(c.engine[1]), PyTorch \(c.pytorch[1])"
            panel.markers = [Marker(x: 0, label: k == 0 ? "restart epoch: the new cycle starts at base lr \(baseLR)" : nil, color: "#2ca02c")]
            panel.yRange = -0.15 * baseLR...1.45 * baseLR
            panels.append(panel)
        }
        return Figure(name: f.name, title: f.title, xLabel: "epochs from the restart (each epoch's lr held over the epoch)",
                      panels: panels + [residualPanel(check, x: residualX)])
    }

    static func lossScale(_ f: ComparisonFigure, _ training: (title: String, iteration: [Double], scale: [Double], skipped: [Bool]),
                          _ traces: [(label: String, step: [Double], nextScale: [Double], foundInf: [Bool])]) -> Figure {
        let x = training.iteration
        let skipX = x.indices.filter { training.skipped[$0] }
        var marksSeries = Series("skipped step (float16 overflow)", x: skipX.map { x[$0] }, y: skipX.map { training.scale[$0] }, style: .points,
                                 color: Palette.engine)
        marksSeries.pointType = 2
        marksSeries.pointSize = 1.4
        var top = Panel(yLabel: "loss scale", series: [
            Series("the run's loss scale (golden)", x: x, y: training.scale, style: .steps, color: Palette.reference), marksSeries,
        ], weight: 1.5)
        top.logBase = 2
        top.note = training.title
        top.xLabel = "iteration (the digits MLP run)"
        var sawtooth: [Series] = []
        for (k, t) in traces.enumerated() {
            let color = Palette.colors[k % Palette.colors.count]
            var line = Series(t.label, x: t.step, y: t.nextScale, style: .steps, color: color)
            line.lineWidth = 1.6
            let ix = t.step.indices.filter { t.foundInf[$0] }
            var m = Series("overflow (\(t.label))", x: ix.map { t.step[$0] }, y: ix.map { t.nextScale[$0] }, style: .points, color: color)
            m.pointType = 2
            m.pointSize = 1.1
            sawtooth += [line, m]
        }
        var bottom = Panel(yLabel: "loss scale after update", series: sawtooth, weight: 2)
        bottom.logBase = 2
        return Figure(name: f.name, title: f.title, xLabel: "optimizer step (scripted overflow patterns)", panels: [top, bottom])
    }

    static func trainingCurves(_ f: ComparisonFigure, _ runs: [LabelledRun]) -> Figure? {
        var loss: [Series] = [], accuracy: [Series] = []
        for (k, run) in runs.enumerated() {
            let color = Palette.colors[k % Palette.colors.count]
            var l = Series("\(run.label) train", x: run.epoch, y: run.trainLoss, style: .linesPoints, color: color)
            l.pointSize = 0.5
            var v = Series("\(run.label) validation", x: run.epoch, y: run.validationLoss, style: .line, color: color)
            v.dashed = true
            loss += [l, v]
            var a = Series(run.label, x: run.epoch, y: run.validationAccuracy, style: .linesPoints, color: color)
            a.pointSize = 0.5
            accuracy.append(a)
        }
        guard !loss.isEmpty else { return nil }
        var lp = Panel(yLabel: "batch-mean cross-entropy", series: loss, weight: 1.6)
        lp.logBase = 10
        let ap = Panel(yLabel: "validation accuracy", series: accuracy, weight: 1.2)
        return Figure(name: f.name, title: f.title, xLabel: "epoch", panels: [lp, ap])
    }

    static func precisionComparison(_ f: ComparisonFigure, _ blocks: [(title: String, runs: [LabelledRun])]) -> Figure? {
        var panels: [Panel] = []
        for block in blocks {
            guard let first = block.runs.first else { continue }
            var accuracy: [Series] = [], difference: [Series] = [], underflow: [Series] = []
            // A run whose loss stops being finite: its later underflow fractions count the
            // flushed elements of NaN gradients (none), so they are not drawn; a line marks the
            // epoch and the block's note names it.
            var stopped: [(label: String, epoch: Double, color: String)] = []
            for (k, run) in block.runs.enumerated() {
                let color = k == 0 ? Palette.reference : Palette.colors[(k - 1) % Palette.colors.count]
                if let e = run.trainLoss.indices.first(where: { !run.trainLoss[$0].isFinite }) { stopped.append((run.label, run.epoch[e], color)) }
            }
            for (k, run) in block.runs.enumerated() {
                let color = k == 0 ? Palette.reference : Palette.colors[(k - 1) % Palette.colors.count]
                var a = Series(run.label, x: run.epoch, y: run.validationAccuracy, style: .linesPoints, color: color)
                a.pointSize = 0.5
                a.lineWidth = k == 0 ? 2.5 : 1.3
                accuracy.append(a)
                guard k > 0 else { continue }
                var d = Series("", x: run.epoch, y: zip(run.validationAccuracy, first.validationAccuracy).map { $0 - $1 }, style: .linesPoints, color: color)
                d.pointSize = 0.4
                difference.append(d)
                let nanFrom = run.trainLoss.firstIndex { !$0.isFinite } ?? run.epoch.count
                var u = Series("", x: run.epoch, y: run.underflowFraction.enumerated().map { $0.offset < nanFrom ? $0.element : .nan },
                               style: .linesPoints, color: color)
                u.pointSize = 0.4
                underflow.append(u)
            }
            var ap = Panel(yLabel: "val. accuracy", series: accuracy, weight: 1.4)
            ap.note = block.title + ": validation accuracy"
                + stopped.map { "; \($0.label): loss NaN from epoch \(Int($0.epoch)) (dashed line)" }.joined()
            let lines = stopped.map { Marker(x: $0.epoch, label: nil, color: $0.color) }
            ap.markers = lines
            ap.yRange = 0...1.05
            var dp = Panel(yLabel: "Δ accuracy", series: difference)
            dp.note = "residual: accuracy − \(first.label) accuracy"
            dp.markers = lines
            var up = Panel(yLabel: "underflow", series: underflow)
            up.note = "fraction of 16-bit gradient elements flushed to zero" + (stopped.isEmpty ? "" : " (not drawn once the loss is NaN)")
            up.markers = lines
            panels += [ap, dp, up]
        }
        guard !panels.isEmpty else { return nil }
        var figure = Figure(name: f.name, title: f.title, xLabel: "epoch", panels: panels)
        figure.height = 1300
        return figure
    }

    static func resume(_ f: ComparisonFigure, _ x: [Double],
                       _ panels: [(label: String, logBase: Double?, uninterrupted: [Double], resumed: [Double], yolov5: [Double])],
                       _ markers: [ScenarioMarker]) -> Figure {
        Figure(name: f.name, title: f.title, xLabel: "iteration", panels: panels.map { q in
            // A loss scale holds between updates: steps, never a ramp.
            let held = q.logBase == 2
            var a = Series("uninterrupted", x: x, y: q.uninterrupted, style: held ? .hold : .line, color: Palette.reference)
            a.lineWidth = 2.5
            var b = Series("HalfTrace resume (bit-identical)", x: x, y: q.resumed, style: .points, color: "#1f77b4")
            b.pointSize = 0.4
            var c = Series("YOLOv5-style resume", x: x, y: q.yolov5, style: held ? .hold : .line, color: "#ff7f0e")
            c.dashed = true
            var p = Panel(yLabel: q.label, series: [a, b, c])
            p.logBase = q.logBase
            p.markers = marks(markers)
            return p
        })
    }

    static func trainingRun(_ f: ComparisonFigure, _ lr: [(group: String, series: ColumnSeries)], _ loss: ColumnSeries,
                            _ markers: [ScenarioMarker], _ check: ScenarioCheck) -> Figure {
        let colors = ["#ff7f0e", "#1f77b4", "#9467bd"]
        var lrSeries: [Series] = []
        for (k, g) in lr.enumerated() {
            var line = Series("\(g.group), reference (formula)", x: g.series.x, y: g.series.golden, style: .line, color: colors[k % 3])
            line.lineWidth = 1.2
            var points = Series("\(g.group), Trainer", x: g.series.x, y: g.series.engine, style: .points, color: colors[k % 3])
            points.pointSize = 0.35
            points.pointType = 6
            lrSeries += [line, points]
        }
        var lrPanel = Panel(yLabel: "learning rate", series: lrSeries, weight: 2)
        lrPanel.markers = marks(markers, color: "#2ca02c")
        var lossLine = Series("reference (Float64, by hand)", x: loss.x, y: loss.golden, style: .line, color: Palette.reference)
        lossLine.lineWidth = 1.2
        var lossPoints = Series("Trainer (float64 storage)", x: loss.x, y: loss.engine, style: .points, color: Palette.engine)
        lossPoints.pointSize = 0.35
        var lossPanel = Panel(yLabel: "batch-mean loss", series: [lossLine, lossPoints], weight: 1.4)
        lossPanel.logBase = 10
        lossPanel.markers = marks(markers, color: "#2ca02c")
        return Figure(name: f.name, title: f.title, xLabel: "iteration", panels: [lrPanel, lossPanel, residualPanel(check, x: loss.x)])
    }

    /// Each framework's formula line in its colour with the engine's points on it; a package's
    /// own values dashed over it and, below, the package minus the exact value; markers (labelled)
    /// and ticks (overflows, unlabelled); the residual panel last.
    static func frameworks(_ f: ComparisonFigure, keyLabel: String, yLabel: String, logBase: Double?, curves: [FrameworkCurve],
                           markers: [ScenarioMarker], ticks: [Double], _ check: ScenarioCheck) -> Figure {
        var top: [Series] = [], deviations: [Series] = []
        for (k, c) in curves.enumerated() {
            let color = Palette.colors[k % Palette.colors.count]
            var line = Series(c.name, x: c.series.x, y: c.series.golden, style: logBase == nil ? .line : .steps, color: color)
            line.lineWidth = 1.8
            var points = Series("", x: c.series.x, y: c.series.engine, style: .points, color: color)
            points.pointSize = 0.4
            top += [line, points]
            if let package = c.package {
                var p = Series(package.label, x: c.series.x, y: package.y, style: .line, color: color)
                p.dashed = true
                p.lineWidth = 1.2
                top.append(p)
                deviations.append(Series(package.label, x: c.series.x, y: zip(package.y, c.series.golden).map { $0 - $1 }, style: .steps, color: color))
            }
        }
        let labelled = marks(markers), unlabelled = ticks.map { Marker(x: $0, label: nil, color: "#bbbbbb") }
        var panel = Panel(yLabel: yLabel, series: top, weight: 3)
        panel.logBase = logBase
        panel.markers = labelled + unlabelled
        panel.note = "lines: formula; points: engine" + (deviations.isEmpty ? "" : "; dashed: the package's arithmetic")
            + (ticks.isEmpty ? "" : "; grey lines: overflows")
        if let base = logBase {
            let ys = curves.flatMap { $0.series.golden + $0.series.engine }.filter { $0.isFinite && $0 > 0 }
            if let lo = ys.min(), let hi = ys.max() { panel.yRange = lo / base...hi * base }
        }
        var panels = [panel]
        if !deviations.isEmpty {
            var d = Panel(yLabel: "package − exact (\(yLabel))", series: deviations, weight: 1.3)
            d.markers = labelled
            panels.append(d)
        }
        panels.append(residualPanel(check, x: curves.first?.series.x ?? []))
        return Figure(name: f.name, title: f.title, xLabel: keyLabel, panels: panels)
    }
}

extension ScenarioFigures {
    /// One package's misplaced restart for `restartZooms`: a check, its key column, the exact
    /// column (golden: the formula) and the package's column (golden: info).
    struct RestartZoom {
        let package: String
        let check: ScenarioCheck
        let key: String, exact: String, packageColumn: String
    }

    /// Each package's first misplaced restart, zoomed (one panel per package, each with its own
    /// axis): the exact lr and the package's, each held over its step, the step where they part
    /// marked with both values. The window is the run of consecutive keys around that step, at
    /// most `radius` either side (a file of several cases is not joined across them).
    static func restartZooms(_ f: ComparisonFigure, _ zooms: [RestartZoom], radius: Int = 3) -> Figure? {
        var panels: [Panel] = []
        for zoom in zooms {
            let x = zoom.check.golden(zoom.key), exact = zoom.check.golden(zoom.exact), package = zoom.check.golden(zoom.packageColumn)
            let scale = exact.filter(\.isFinite).map(abs).max() ?? 0
            guard x.count == exact.count, x.count == package.count,
                  let i = exact.indices.first(where: { abs(package[$0] - exact[$0]) > 1e-9 * max(scale, .leastNormalMagnitude) }) else { continue }
            var lo = i, hi = i
            while lo > max(0, i - radius), x[lo - 1] == x[lo] - 1 { lo -= 1 }
            while hi < min(x.count - 1, i + radius), x[hi + 1] == x[hi] + 1 { hi += 1 }
            let window = Array(lo...hi)
            let wx = window.map { x[$0] } + [x[hi] + 1]  // the last value held over its step too
            var ours = Series("HalfTrace: the exact restart", x: wx, y: window.map { exact[$0] } + [exact[hi]], style: .hold, color: Palette.colors[0])
            ours.lineWidth = 2.4
            var theirs = Series("the package's own arithmetic", x: wx, y: window.map { package[$0] } + [package[hi]], style: .hold,
                                color: Palette.reference)
            theirs.dashed = true
            theirs.lineWidth = 1.6
            var panel = Panel(yLabel: "learning rate", series: [ours, theirs])
            panel.title = zoom.package
            panel.xLabel = zoom.check.scenario?.columns.first { $0.name == zoom.key }?.label ?? zoom.key
            panel.markers = [Marker(x: x[i], label: "\(zoom.key) \(Int(x[i]))", color: "#2ca02c")]
            panel.note = "exact \(Self.short(exact[i])), package \(Self.short(package[i]))"
            let ys = (window.map { exact[$0] } + window.map { package[$0] }).filter(\.isFinite)
            if let a = ys.min(), let b = ys.max() {
                let pad = max(b - a, 1e-12) * 0.25
                panel.yRange = (a - pad)...(b + pad)
            }
            panels.append(panel)
        }
        guard !panels.isEmpty else { return nil }
        var figure = Figure(name: f.name, title: f.title, xLabel: "", panels: panels)
        figure.gridColumns = panels.count
        figure.height = 520
        return figure
    }

    /// A value with 6 significant digits, for notes.
    static func short(_ v: Double) -> String { String(format: "%.6g", v) }
}
