import HalfTraceReference
import HalfTraceTraces

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
                series.append(Series("\(c.name) \(c.source == .formula ? "formula" : "golden")", x: x, y: golden,
                                     style: !ordered ? .points : x.count > 400 ? .line : .linesPoints, color: Palette.reference))
                var e = Series("\(c.name) engine", x: x, y: engine, style: .points, color: color)
                e.pointSize = x.count > 400 ? 0.35 : 0.7
                series.append(e)
            }
            var panel = Panel(yLabel: group.label, series: series, weight: 1.4)
            if case .log(let base) = columns[group.columns[0]].axis { panel.logBase = base }
            panel.markers = scenario.markers.map { Marker(x: $0.x, label: $0.label, color: "#d62728") }
            panels.append(panel)
        }
        panels.append(residualPanel(check, x: x))
        return Figure(name: check.name, title: "\(golden.title) — \(check.passes ? "all columns hold" : "MISMATCH")",
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

    static func signedResidual(_ e: Double, _ g: Double, _ t: Tolerance, scale: Double) -> Double {
        if e.bitPattern == g.bitPattern || (e.isNaN && g.isNaN) { return 0 }
        switch t {
        case .exact: return e - g
        case .relative: return (e - g) / max(abs(g), .leastNormalMagnitude)
        case .normwise: return (e - g) / max(scale, .leastNormalMagnitude)
        }
    }

    // MARK: comparison figures

    /// The declared comparison figures whose scenarios are all among `checks`.
    public static func comparisons(_ checks: [String: ScenarioCheck], declared: [ComparisonFigure] = Scenarios.figures) -> [Figure] {
        declared.flatMap { draw($0, checks) }
    }

    static func draw(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck]) -> [Figure] {
        switch f.kind {
        case .interpolation(let s): return [interpolation(f, checks, s)].compactMap { $0 }
        case .multipliers(let s): return [multipliers(f, checks, s)].compactMap { $0 }
        case .warmupGroups(let s): return [warmupGroups(f, checks, s)].compactMap { $0 }
        case .difference(let a, let b, let column, let legends, let yLabel):
            return [difference(f, checks, a, b, column, legends, yLabel)].compactMap { $0 }
        case .stepping(let batch, let epoch): return [stepping(f, checks, batch, epoch)].compactMap { $0 }
        case .restartCases(let s): return [restartCases(f, checks, s)].compactMap { $0 }
        case .lossScale(let training, let traces): return [lossScale(f, checks, training, traces)].compactMap { $0 }
        case .trainingCurves(let runs): return [trainingCurves(f, checks, runs)].compactMap { $0 }
        case .precisionComparison(let blocks): return [precisionComparison(f, checks, blocks)].compactMap { $0 }
        case .resume(let s): return [resume(f, checks, s)].compactMap { $0 }
        case .trainingRun(let s): return [trainingRun(f, checks, s)].compactMap { $0 }
        case .anchors(let s):
            guard let c = checks[s], let (g, e) = rows(checks, s),
                  let data = AnchorFigures.Data(attachments: c.attachments, fitnessHistory: col(g, e, "fitness")) else { return [] }
            return AnchorFigures.figures(data)
        }
    }

    static func rows(_ checks: [String: ScenarioCheck], _ name: String) -> (golden: GoldenFile, engine: [[Double]])? {
        guard let c = checks[name], let g = c.golden, !c.engineRows.isEmpty else { return nil }
        return (g, c.engineRows)
    }

    static func col(_ g: GoldenFile, _ rows: [[Double]], _ name: String) -> [Double] {
        guard let j = g.columns.firstIndex(where: { $0.name == name }) else { return [] }
        return rows.map { $0[j] }
    }

    static func markers(_ checks: [String: ScenarioCheck], _ name: String, color: String = "#d62728") -> [Marker] {
        (checks[name]?.scenario?.markers ?? []).map { Marker(x: $0.x, label: $0.label, color: color) }
    }

    static func interpolation(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ name: String) -> Figure? {
        guard let (g, e) = rows(checks, name), let xp = numbers(g.config["xp"]), let fp = numbers(g.config["fp"]),
              xp.count == fp.count, !xp.isEmpty else { return nil }
        let lo = xp[0] - 1.5, hi = xp[xp.count - 1] + 1.5
        let dense = (0...300).map { lo + (hi - lo) * Double($0) / 300 }
        var known = Series("known points (xp, fp)", x: xp, y: fp, style: .points, color: "#2ca02c")
        known.pointSize = 1.6
        var mine = Series("interpolated by HalfTrace", x: col(g, e, "x"), y: col(g, e, "y"), style: .points, color: Palette.engine)
        mine.pointSize = 1.3
        mine.pointType = 9
        let top = Panel(yLabel: "y", series: [Series("numpy.interp formula", x: dense, y: dense.map { Reference.interp($0, xp, fp) },
                                                     style: .line, color: Palette.reference), known, mine], weight: 3)
        return Figure(name: f.name, title: f.title, xLabel: "x", panels: [top, residualPanel(checks[name]!, x: col(g, e, "x"))])
    }

    static func multipliers(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ name: String) -> Figure? {
        guard let (g, e) = rows(checks, name), let scenario = checks[name]?.scenario,
              let key = scenario.columns.first(where: { $0.source == .key }) else { return nil }
        let x = col(g, e, key.name)
        var series: [Series] = []
        for (k, c) in scenario.columns.filter({ $0.source == .formula }).enumerated() {
            let lineColors = ["#17becf", "#8c564b", "#2ca02c"], pointColors = ["#1f77b4", "#e377c2", "#ff7f0e"]
            var line = Series("\(c.name) (formula)", x: x, y: col(g, g.rows, c.name), style: .line, color: lineColors[k % 3])
            line.dashed = k % 2 == 1
            line.lineWidth = 2.5
            var points = Series("\(c.name), engine (LambdaLR)", x: x, y: col(g, e, c.name), style: .points, color: pointColors[k % 3])
            points.pointSize = 0.5
            series += [line, points]
        }
        let top = Panel(yLabel: "learning-rate multiplier lf(epoch)", series: series, weight: 3)
        return Figure(name: f.name, title: f.title, xLabel: key.label, panels: [top, residualPanel(checks[name]!, x: x)])
    }

    static func warmupGroups(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ name: String) -> Figure? {
        guard let (g, e) = rows(checks, name) else { return nil }
        let x = col(g, e, "iteration")
        let marks = markers(checks, name)
        func group(_ column: String, _ title: String, _ color: String) -> [Series] {
            var p = Series("\(title) engine", x: x, y: col(g, e, column), style: .points, color: color)
            p.pointSize = 0.45
            return [Series("\(title) formula", x: x, y: col(g, g.rows, column), style: .line, color: color), p]
        }
        var lr = Panel(yLabel: "learning rate", series: group("lr_bias", "group 0 (biases)", "#ff7f0e")
                       + group("lr_weight", "group 1 (weights)", "#1f77b4") + group("lr_bn", "group 2 (norm weights)", "#2ca02c"), weight: 2.2)
        lr.markers = marks
        var mom = Panel(yLabel: "momentum", series: group("momentum", "momentum", "#9467bd"), weight: 1)
        mom.markers = marks
        var acc = Panel(yLabel: "accumulate (batches)", series: group("accumulate", "accumulate", "#8c564b"), weight: 1)
        acc.markers = marks
        return Figure(name: f.name, title: f.title, xLabel: "iteration ni", panels: [lr, mom, acc, residualPanel(checks[name]!, x: x)])
    }

    static func difference(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ first: String, _ second: String,
                           _ column: String, _ legends: [String], _ yLabel: String) -> Figure? {
        guard let (fg, fe) = rows(checks, first), let (sg, se) = rows(checks, second), legends.count == 3,
              let key = checks[first]?.scenario?.columns.first(where: { $0.source == .key }) else { return nil }
        let x = col(fg, fe, key.name)
        let a = col(fg, fe, column), b = col(sg, se, column)
        guard a.count == b.count else { return nil }
        var secondSeries = Series(legends[1], x: x, y: b, style: .line, color: "#d62728")
        secondSeries.dashed = true
        let top = Panel(yLabel: yLabel, series: [Series(legends[0], x: x, y: a, style: .line, color: "#1f77b4"), secondSeries], weight: 2.5)
        let diff = Panel(yLabel: legends[2], series: [Series("difference", x: x, y: zip(b, a).map { $0 - $1 }, style: .steps, color: "#d62728")])
        return Figure(name: f.name, title: f.title, xLabel: key.label, panels: [top, diff])
    }

    static func stepping(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ perBatch: String, _ perEpoch: String) -> Figure? {
        guard let (gb, eb) = rows(checks, perBatch), let (ge, ee) = rows(checks, perEpoch) else { return nil }
        var batch = Series("stepped per batch, step(epoch + i/nb), engine", x: col(gb, eb, "epoch"), y: col(gb, eb, "lr"), style: .line, color: "#1f77b4")
        batch.lineWidth = 1.2
        var epoch = Series("stepped per epoch, step(epoch), engine", x: col(ge, ee, "epoch"), y: col(ge, ee, "lr"), style: .points, color: Palette.engine)
        epoch.pointSize = 0.6
        var top = Panel(yLabel: "learning rate", series: [
            Series("closed form (per batch)", x: col(gb, gb.rows, "epoch"), y: col(gb, gb.rows, "lr"), style: .line, color: Palette.reference),
            batch, epoch,
        ], weight: 3)
        top.markers = markers(checks, perBatch, color: "#2ca02c")
        return Figure(name: f.name, title: f.title, xLabel: "epoch", panels: [top, residualPanel(checks[perBatch]!, x: col(gb, eb, "epoch"))])
    }

    static func restartCases(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ name: String) -> Figure? {
        guard let (g, e) = rows(checks, name), g.rows.count % 3 == 0 else { return nil }
        var series: [Series] = []
        var offsetsAll: [Double] = []
        let spread = 0.04  // cases drawn side by side, this far apart
        for k in 0..<(g.rows.count / 3) {
            let rs = Array(g.rows[(3 * k)..<(3 * k + 3)]), es = Array(e[(3 * k)..<(3 * k + 3)])
            let label = "T_0=\(Int(rs[1][0])), T_mult=\(Int(rs[1][1])), epoch \(Int(rs[1][2]))"
            let color = Palette.colors[k % Palette.colors.count]
            let offsets = [-1.0, 0, 1].map { $0 + Double(k) * spread }
            offsetsAll += offsets
            series.append(Series("HalfTrace, \(label)", x: offsets, y: es.map { $0[3] }, style: .linesPoints, color: color))
            var torch = Series("PyTorch 2.15, \(label)", x: offsets, y: rs.map { $0[4] }, style: .linesPoints, color: color)
            torch.dashed = true
            torch.pointType = 6
            series.append(torch)
        }
        var top = Panel(yLabel: "learning rate", series: series, weight: 3)
        let base = numbers(g.config["lr"])?.first ?? 0
        top.markers = [Marker(x: 0, label: "restart epoch: must be base lr \(base)", color: "#2ca02c")]
        top.yRange = -0.05 * base...1.1 * base
        return Figure(name: f.name, title: f.title, xLabel: "epochs from the restart (cases offset by \(spread) for legibility)",
                      panels: [top, residualPanel(checks[name]!, x: offsetsAll)])
    }

    static func lossScale(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ training: String, _ traces: [String]) -> Figure? {
        var panels: [Panel] = []
        if let (g, e) = rows(checks, training) {
            let x = col(g, e, "iteration"), skipped = col(g, e, "skipped"), scale = col(g, e, "scale")
            let skipX = x.indices.filter { skipped[$0] == 1 }
            var marks = Series("skipped step (float16 overflow)", x: skipX.map { x[$0] }, y: skipX.map { scale[$0] }, style: .points, color: Palette.engine)
            marks.pointType = 2
            marks.pointSize = 1.4
            var p = Panel(yLabel: "loss scale", series: [
                Series("the run's loss scale (golden)", x: x, y: col(g, g.rows, "scale"), style: .steps, color: Palette.reference),
                marks,
            ], weight: 1.5)
            p.logBase = 2
            p.note = g.title
            panels.append(p)
        }
        var sawtooth: [Series] = []
        for (k, name) in traces.enumerated() {
            guard let (g, e) = rows(checks, name) else { continue }
            let x = col(g, e, "step"), infs = col(g, e, "found_inf"), next = col(g, e, "next_scale")
            let color = Palette.colors[k % Palette.colors.count]
            let label = name.split(separator: "_").dropFirst().joined(separator: " ")  // "scaler_min_scale": "min scale"
            var line = Series(label, x: x, y: next, style: .steps, color: color)
            line.lineWidth = 1.6
            let ix = x.indices.filter { infs[$0] == 1 }
            var marks = Series("overflow (\(label))", x: ix.map { x[$0] }, y: ix.map { next[$0] }, style: .points, color: color)
            marks.pointType = 2
            marks.pointSize = 1.1
            sawtooth += [line, marks]
        }
        if !sawtooth.isEmpty {
            var p = Panel(yLabel: "loss scale after update", series: sawtooth, weight: 2)
            p.logBase = 2
            panels.append(p)
        }
        guard !panels.isEmpty else { return nil }
        return Figure(name: f.name, title: f.title, xLabel: "iteration (top) / optimizer step (bottom)", panels: panels)
    }

    static func trainingCurves(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ runs: [(scenario: String, label: String)]) -> Figure? {
        var loss: [Series] = [], accuracy: [Series] = []
        for (k, run) in runs.enumerated() {
            guard let (g, e) = rows(checks, run.scenario) else { continue }
            let x = col(g, e, "epoch"), color = Palette.colors[k % Palette.colors.count]
            var l = Series("\(run.label) train", x: x, y: col(g, e, "train_loss"), style: .linesPoints, color: color)
            l.pointSize = 0.5
            var v = Series("\(run.label) validation", x: x, y: col(g, e, "val_loss"), style: .line, color: color)
            v.dashed = true
            loss += [l, v]
            var a = Series(run.label, x: x, y: col(g, e, "val_accuracy"), style: .linesPoints, color: color)
            a.pointSize = 0.5
            accuracy.append(a)
        }
        guard !loss.isEmpty else { return nil }
        var lp = Panel(yLabel: "batch-mean cross-entropy", series: loss, weight: 1.6)
        lp.logBase = 10
        let ap = Panel(yLabel: "validation accuracy", series: accuracy, weight: 1.2)
        return Figure(name: f.name, title: f.title, xLabel: "epoch", panels: [lp, ap])
    }

    static func precisionComparison(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck],
                                    _ blocks: [(title: String, runs: [(scenario: String, label: String)])]) -> Figure? {
        var panels: [Panel] = []
        for block in blocks {
            guard let first = block.runs.first, let (g0, e0) = rows(checks, first.scenario) else { continue }
            let reference = col(g0, e0, "val_accuracy")
            var accuracy: [Series] = [], difference: [Series] = [], underflow: [Series] = []
            for (k, run) in block.runs.enumerated() {
                guard let (g, e) = rows(checks, run.scenario) else { continue }
                let x = col(g, e, "epoch"), acc = col(g, e, "val_accuracy")
                let color = k == 0 ? Palette.reference : Palette.colors[(k - 1) % Palette.colors.count]
                var a = Series(run.label, x: x, y: acc, style: .linesPoints, color: color)
                a.pointSize = 0.5
                a.lineWidth = k == 0 ? 2.5 : 1.3
                accuracy.append(a)
                guard k > 0 else { continue }
                var d = Series("", x: x, y: zip(acc, reference).map { $0 - $1 }, style: .linesPoints, color: color)
                d.pointSize = 0.4
                difference.append(d)
                var u = Series("", x: x, y: col(g, e, "underflow_fraction"), style: .linesPoints, color: color)
                u.pointSize = 0.4
                underflow.append(u)
            }
            var ap = Panel(yLabel: "val. accuracy", series: accuracy, weight: 1.4)
            ap.note = block.title + ": validation accuracy"
            ap.yRange = 0...1.05
            var dp = Panel(yLabel: "Δ accuracy", series: difference)
            dp.note = "residual: accuracy − \(first.label) accuracy"
            var up = Panel(yLabel: "underflow", series: underflow)
            up.note = "fraction of 16-bit gradient elements flushed to zero"
            panels += [ap, dp, up]
        }
        guard !panels.isEmpty else { return nil }
        var figure = Figure(name: f.name, title: f.title, xLabel: "epoch", panels: panels)
        figure.height = 1300
        return figure
    }

    static func resume(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ name: String) -> Figure? {
        guard let (g, e) = rows(checks, name) else { return nil }
        let x = col(g, e, "iteration")
        let marks = markers(checks, name)
        func panel(_ column: String, _ label: String, log: Double?) -> Panel {
            var a = Series("uninterrupted", x: x, y: col(g, e, column), style: .line, color: Palette.reference)
            a.lineWidth = 2.5
            var b = Series("HalfTrace resume (bit-identical)", x: x, y: col(g, e, "resumed_" + column), style: .points, color: "#1f77b4")
            b.pointSize = 0.4
            var c = Series("YOLOv5-style resume", x: x, y: col(g, e, "yolov5_" + column), style: .line, color: "#ff7f0e")
            c.dashed = true
            var p = Panel(yLabel: label, series: [a, b, c])
            p.logBase = log
            p.markers = marks
            return p
        }
        return Figure(name: f.name, title: f.title, xLabel: "iteration",
                      panels: [panel("loss", "batch-mean loss", log: 10), panel("scale", "loss scale", log: 2),
                               panel("lr_weight", "learning rate (weights)", log: nil)])
    }

    static func trainingRun(_ f: ComparisonFigure, _ checks: [String: ScenarioCheck], _ name: String) -> Figure? {
        guard let (g, e) = rows(checks, name) else { return nil }
        let x = col(g, e, "iteration")
        let marks = markers(checks, name, color: "#2ca02c")
        var lrSeries: [Series] = []
        for (column, title, color) in [("lr_bias", "group 0 (biases)", "#ff7f0e"), ("lr_weight", "group 1 (weights)", "#1f77b4"),
                                       ("lr_bn", "group 2 (norm weights)", "#9467bd")] {
            var line = Series("\(title), reference (formula)", x: x, y: col(g, g.rows, column), style: .line, color: color)
            line.lineWidth = 1.2
            var points = Series("\(title), Trainer", x: x, y: col(g, e, column), style: .points, color: color)
            points.pointSize = 0.35
            points.pointType = 6
            lrSeries += [line, points]
        }
        var lr = Panel(yLabel: "learning rate", series: lrSeries, weight: 2)
        lr.markers = marks
        var lossLine = Series("reference (Float64, by hand)", x: x, y: col(g, g.rows, "loss"), style: .line, color: Palette.reference)
        lossLine.lineWidth = 1.2
        var lossPoints = Series("Trainer (float64 storage)", x: x, y: col(g, e, "loss"), style: .points, color: Palette.engine)
        lossPoints.pointSize = 0.35
        var loss = Panel(yLabel: "batch-mean loss", series: [lossLine, lossPoints], weight: 1.4)
        loss.logBase = 10
        loss.markers = marks
        return Figure(name: f.name, title: f.title, xLabel: "iteration", panels: [lr, loss, residualPanel(checks[name]!, x: x)])
    }

    static func numbers(_ text: String?) -> [Double]? {
        guard let text else { return nil }
        let values = text.split(separator: ",").compactMap { Double($0) }
        return values.isEmpty ? nil : values
    }
}
