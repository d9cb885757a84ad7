import HalfTraceAnchors
import HalfTraceReference
import HalfTraceTraces

/// Figures built from golden checks: one per scenario (engine points over the golden line, a
/// residual panel with the tolerance band), and the comparison figures users ask for.
public enum ScenarioFigures {
    /// Columns that are flags, not curves: shown in residuals only.
    static let flagLabels: Set<String> = ["optimizer step", "skipped", "found inf"]

    /// The default figure of a scenario.
    public static func figure(_ check: ScenarioCheck) -> Figure? {
        guard let golden = check.golden, !check.engineRows.isEmpty else { return nil }
        let columns = golden.columns
        let names = columns.map(\.name)
        let xIndex = names.firstIndex(of: "iteration") ?? names.firstIndex(of: "epoch") ?? columns.firstIndex { $0.source == .key } ?? 0
        // A key that is not in order (several cases in one file) would join unrelated rows:
        // plot against the row number instead, as points.
        let ordered = zip(golden.rows, golden.rows.dropFirst()).allSatisfy { $0[xIndex] <= $1[xIndex] }
        let x = ordered ? golden.rows.map { $0[xIndex] } : golden.rows.indices.map(Double.init)
        var groups: [(label: String, columns: [Int])] = []
        for (j, c) in columns.enumerated() where c.source != .key && !flagLabels.contains(c.label) {
            if let g = groups.firstIndex(where: { $0.label == c.label }) { groups[g].columns.append(j) } else { groups.append((c.label, [j])) }
        }
        var panels: [Panel] = []
        var colorIndex = 0
        for group in groups.prefix(5) {
            var series: [Series] = []
            for j in group.columns {
                let c = columns[j], color = Palette.colors[colorIndex % Palette.colors.count]
                colorIndex += 1
                let golden = golden.rows.map { $0[j] }, engine = check.engineRows.map { $0[j] }
                if c.source == .info {
                    var s = Series("\(c.name) (\(infoSource(check.name)))", x: x, y: golden, style: ordered ? .line : .points, color: color)
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
            if group.label == "loss scale" { panel.logBase = 2 }
            if group.label == "batch-mean loss" { panel.logBase = 10 }
            panels.append(panel)
        }
        panels.append(residualPanel(check, x: x))
        return Figure(name: check.name, title: "\(golden.title) — \(check.passes ? "all columns hold" : "MISMATCH")",
                      xLabel: ordered ? columns[xIndex].label : "row of \(check.name).csv", panels: panels)
    }

    static func infoSource(_ scenario: String) -> String { scenario.hasPrefix("sgdr") ? "PyTorch 2.15" : "info" }

    /// engine - golden in each column's own measure (absolute for exact columns, relative or
    /// normwise otherwise), with the largest tolerance as a band.
    static func residualPanel(_ check: ScenarioCheck, x: [Double]) -> Panel {
        guard let golden = check.golden else { return Panel(yLabel: "residual", series: []) }
        var series: [Series] = []
        var limit = 0.0
        var measures = Set<String>()
        for (k, (j, c)) in golden.columns.enumerated().filter({ $0.1.source == .formula || $0.1.source == .engine }).enumerated() {
            let scale = golden.rows.map { abs($0[j]) }.filter(\.isFinite).max() ?? 0
            let r = zip(check.engineRows, golden.rows).map { e, g in signedResidual(e[j], g[j], c.tolerance, scale: scale) }
            limit = max(limit, c.tolerance.limit)
            measures.insert(measureName(c.tolerance))
            var s = Series(c.name, x: x, y: r, style: .points, color: Palette.colors[k % Palette.colors.count])
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

    /// The figures that combine scenarios; each needs its scenarios among `checks`.
    public static func extras(_ checks: [String: ScenarioCheck]) -> [Figure] {
        [interpDocument(checks), cosineVsLinear(checks), warmupGroups(checks), formulaVsLag(checks),
         sgdrStepping(checks), sgdrDefect(checks), lossScale(checks), trainingCurves(checks), resume(checks)].compactMap { $0 }
            + anchors(checks)
    }

    static func rows(_ checks: [String: ScenarioCheck], _ name: String) -> (golden: GoldenFile, engine: [[Double]])? {
        guard let c = checks[name], let g = c.golden, !c.engineRows.isEmpty else { return nil }
        return (g, c.engineRows)
    }

    static func col(_ g: GoldenFile, _ rows: [[Double]], _ name: String) -> [Double] {
        let j = g.columns.firstIndex { $0.name == name }!
        return rows.map { $0[j] }
    }

    static func interpDocument(_ checks: [String: ScenarioCheck]) -> Figure? {
        guard let (g, e) = rows(checks, "interp_document"), let xp = try? parse(g.config["xp"]), let fp = try? parse(g.config["fp"]) else { return nil }
        let lo = (xp.first ?? 0) - 1.5, hi = (xp.last ?? 1) + 1.5
        let dense = (0...300).map { lo + (hi - lo) * Double($0) / 300 }
        var known = Series("known points (xp, fp)", x: xp, y: fp, style: .points, color: "#2ca02c")
        known.pointSize = 1.6
        var mine = Series("interpolated by HalfTrace", x: col(g, e, "x"), y: col(g, e, "y"), style: .points, color: Palette.engine)
        mine.pointSize = 1.3
        mine.pointType = 9
        let top = Panel(yLabel: "y", series: [Series("numpy.interp formula", x: dense, y: dense.map { Reference.interp($0, xp, fp) },
                                                     style: .line, color: Palette.reference), known, mine], weight: 3)
        return Figure(name: "document_interp", title: "Example for np.interp(): x = [0, 1.5, 3, 4.5, 6] gives [3, 4, 7, 10, 11]",
                      xLabel: "x", panels: [top, residualPanel(checks["interp_document"]!, x: col(g, e, "x"))])
    }

    static func cosineVsLinear(_ checks: [String: ScenarioCheck]) -> Figure? {
        guard let (g, e) = rows(checks, "cosine_vs_linear") else { return nil }
        let x = col(g, e, "epoch")
        var cosE = Series("cosine, engine (LambdaLR)", x: x, y: col(g, e, "cosine"), style: .points, color: "#1f77b4")
        cosE.pointSize = 0.5
        var linE = Series("linear, engine (LambdaLR)", x: x, y: col(g, e, "linear"), style: .points, color: "#e377c2")
        linE.pointSize = 0.5
        var linF = Series("Linear Scheduler (formula)", x: x, y: col(g, g.rows, "linear"), style: .line, color: "#8c564b")
        linF.dashed = true
        let top = Panel(yLabel: "learning-rate multiplier lf(epoch)", series: [
            Series("Cosine Scheduler (formula)", x: x, y: col(g, g.rows, "cosine"), style: .line, color: "#17becf"), cosE, linF, linE,
        ], weight: 3)
        return Figure(name: "document_cosine_vs_linear", title: "Comparison of Cosine and Linear Learning Rate Schedulers (epochs 100, lrf 0.1)",
                      xLabel: "epoch", panels: [top, residualPanel(checks["cosine_vs_linear"]!, x: x)])
    }

    static func warmupGroups(_ checks: [String: ScenarioCheck]) -> Figure? {
        guard let (g, e) = rows(checks, "warmup_yolov5_formula") else { return nil }
        let x = col(g, e, "iteration")
        let nw = Double(Reference.warmupIterations(warmupEpochs: Double(g.config["warmup_epochs"] ?? "3") ?? 3,
                                                   nb: Int(g.config["nb"] ?? "24") ?? 24))
        let markers = [Marker(x: nw, label: "end of warm-up (nw = \(Int(nw)))", color: "#d62728")]
        func group(_ name: String, _ title: String, _ color: String) -> [Series] {
            var p = Series("\(title) engine", x: x, y: col(g, e, name), style: .points, color: color)
            p.pointSize = 0.45
            return [Series("\(title) formula", x: x, y: col(g, g.rows, name), style: .line, color: color), p]
        }
        var lr = Panel(yLabel: "learning rate", series: group("lr_bias", "group 0 (biases)", "#ff7f0e")
                       + group("lr_weight", "group 1 (weights)", "#1f77b4") + group("lr_bn", "group 2 (norm weights)", "#2ca02c"), weight: 2.2)
        lr.markers = markers
        var mom = Panel(yLabel: "momentum", series: group("momentum", "momentum", "#9467bd"), weight: 1)
        mom.markers = markers
        var acc = Panel(yLabel: "accumulate (batches)", series: group("accumulate", "accumulate", "#8c564b"), weight: 1)
        acc.markers = markers
        return Figure(name: "warmup_groups", title: "YOLOv5 warm-up per parameter group (hyp.scratch-low, nb 24, batch 16; groups 1 and 2 share one lr)",
                      xLabel: "iteration ni", panels: [lr, mom, acc, residualPanel(checks["warmup_yolov5_formula"]!, x: x)])
    }

    static func formulaVsLag(_ checks: [String: ScenarioCheck]) -> Figure? {
        guard let (f, fe) = rows(checks, "warmup_yolov5_formula"), let (l, le) = rows(checks, "warmup_yolov5_lag") else { return nil }
        let x = col(f, fe, "iteration")
        let a = col(f, fe, "lr_weight"), b = col(l, le, "lr_weight")
        var lagSeries = Series("yolov5Lag: train.py (last_epoch = start_epoch - 1)", x: x, y: b, style: .line, color: "#d62728")
        lagSeries.dashed = true
        let top = Panel(yLabel: "learning rate (weights)", series: [
            Series("formula: lr0 · lf(epoch)", x: x, y: a, style: .line, color: "#1f77b4"), lagSeries,
        ], weight: 2.5)
        let diff = Panel(yLabel: "lag − formula", series: [Series("difference", x: x, y: zip(b, a).map { $0 - $1 }, style: .steps, color: "#d62728")])
        return Figure(name: "warmup_formula_vs_lag", title: "The documents' formula vs train.py's one-epoch scheduler lag (epoch e trains at lf(e-1))",
                      xLabel: "iteration ni", panels: [top, diff])
    }

    static func sgdrStepping(_ checks: [String: ScenarioCheck]) -> Figure? {
        guard let (ge, ee) = rows(checks, "sgdr_document_epoch"), let (gb, eb) = rows(checks, "sgdr_document_batch") else { return nil }
        let t0 = Int(ge.config["t0"] ?? "10") ?? 10, tMult = Int(ge.config["t_mult"] ?? "2") ?? 2
        var restarts: [Double] = [], start = 0, length = t0
        while start + length < 150 { start += length; length *= tMult; restarts.append(Double(start)) }
        var batch = Series("stepped per batch, step(epoch + i/10), engine", x: col(gb, eb, "epoch"), y: col(gb, eb, "lr"), style: .line, color: "#1f77b4")
        batch.lineWidth = 1.2
        var epoch = Series("stepped per epoch, step(epoch), engine", x: col(ge, ee, "epoch"), y: col(ge, ee, "lr"), style: .points, color: Palette.engine)
        epoch.pointSize = 0.6
        var top = Panel(yLabel: "learning rate", series: [
            Series("closed form (per batch)", x: col(gb, gb.rows, "epoch"), y: col(gb, gb.rows, "lr"), style: .line, color: Palette.reference),
            batch, epoch,
        ], weight: 3)
        top.markers = restarts.map { Marker(x: $0, label: "restart \(Int($0))", color: "#2ca02c") }
        return Figure(name: "sgdr_stepping", title: "CosineAnnealingWarmRestarts(T_0=10, T_mult=2), Adam lr 0.001: restarts at 10, 30, 70",
                      xLabel: "epoch", panels: [top, residualPanel(checks["sgdr_document_batch"]!, x: col(gb, eb, "epoch"))])
    }

    static func sgdrDefect(_ checks: [String: ScenarioCheck]) -> Figure? {
        guard let (g, e) = rows(checks, "sgdr_pytorch_restarts") else { return nil }
        var series: [Series] = []
        let count = g.rows.count / 3
        var offsetsAll: [Double] = []
        for k in 0..<count {
            let rs = Array(g.rows[(3 * k)..<(3 * k + 3)]), es = Array(e[(3 * k)..<(3 * k + 3)])
            let label = "T_0=\(Int(rs[1][0])), T_mult=\(Int(rs[1][1])), epoch \(Int(rs[1][2]))"
            let color = Palette.colors[k % Palette.colors.count]
            let offsets = [-1.0, 0, 1].map { $0 + Double(k) * 0.04 }
            offsetsAll += offsets
            series.append(Series("HalfTrace, \(label)", x: offsets, y: es.map { $0[3] }, style: .linesPoints, color: color))
            var torch = Series("PyTorch 2.15, \(label)", x: offsets, y: rs.map { $0[4] }, style: .linesPoints, color: color)
            torch.dashed = true
            torch.pointType = 6
            series.append(torch)
        }
        var top = Panel(yLabel: "learning rate", series: series, weight: 3)
        top.markers = [Marker(x: 0, label: "restart epoch: must be base lr 0.1", color: "#2ca02c")]
        top.yRange = -0.005...0.11
        let check = checks["sgdr_pytorch_restarts"]!
        return Figure(name: "sgdr_pytorch_defect",
                      title: "Where PyTorch's floating-point log misplaces an SGDR restart (it gives eta_min = 0; HalfTrace gives base lr)",
                      xLabel: "epochs from the restart (cases offset by 0.04 for legibility)",
                      panels: [top, residualPanel(check, x: offsetsAll)])
    }

    static func lossScale(_ checks: [String: ScenarioCheck]) -> Figure? {
        var panels: [Panel] = []
        if let (g, e) = rows(checks, "scaler_mlp_overflow") {
            let x = col(g, e, "iteration"), skipped = col(g, e, "skipped"), scale = col(g, e, "scale")
            let skipX = x.indices.filter { skipped[$0] == 1 }
            var marks = Series("skipped step (float16 overflow)", x: skipX.map { x[$0] }, y: skipX.map { scale[$0] }, style: .points, color: Palette.engine)
            marks.pointType = 2
            marks.pointSize = 1.4
            var p = Panel(yLabel: "loss scale", series: [
                Series("formula from the run's found-inf flags", x: x, y: col(g, g.rows, "scale"), style: .steps, color: Palette.reference),
                marks,
            ], weight: 1.5)
            p.logBase = 2
            p.note = "digits MLP, amp: starts at 2^16, backs off on real overflow"
            panels.append(p)
        }
        var sawtooth: [Series] = []
        for (k, name) in ["scaler_sawtooth", "scaler_hysteresis_clean", "scaler_hysteresis_growth", "scaler_min_scale"].enumerated() {
            guard let (g, e) = rows(checks, name) else { continue }
            let x = col(g, e, "step"), infs = col(g, e, "found_inf"), next = col(g, e, "next_scale")
            let color = Palette.colors[k % Palette.colors.count]
            var line = Series(name.replacingOccurrences(of: "scaler_", with: ""), x: x, y: next, style: .steps, color: color)
            line.lineWidth = 1.6
            let ix = x.indices.filter { infs[$0] == 1 }
            var marks = Series("overflow (\(name.replacingOccurrences(of: "scaler_", with: "")))", x: ix.map { x[$0] }, y: ix.map { next[$0] }, style: .points, color: color)
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
        return Figure(name: "loss_scale", title: "GradScaler: the loss scale on a log2 axis, skipped steps marked",
                      xLabel: "iteration (top) / optimizer step (bottom)", panels: panels)
    }

    static func trainingCurves(_ checks: [String: ScenarioCheck]) -> Figure? {
        let runs = [("digits_fp32_epochs", "fp32"), ("digits_amp_epochs", "amp + scaler"),
                    ("digits_fp16_epochs", "fp16 + scaler"), ("digits_fp16_noscaler_epochs", "fp16, no scaler")]
        var loss: [Series] = [], accuracy: [Series] = []
        for (k, (name, label)) in runs.enumerated() {
            guard let (g, e) = rows(checks, name) else { continue }
            let x = col(g, e, "epoch"), color = Palette.colors[k % Palette.colors.count]
            var l = Series("\(label) train", x: x, y: col(g, e, "train_loss"), style: .linesPoints, color: color)
            l.pointSize = 0.5
            var v = Series("\(label) validation", x: x, y: col(g, e, "val_loss"), style: .line, color: color)
            v.dashed = true
            loss += [l, v]
            var a = Series(label, x: x, y: col(g, e, "val_accuracy"), style: .linesPoints, color: color)
            a.pointSize = 0.5
            accuracy.append(a)
        }
        guard !loss.isEmpty else { return nil }
        var lp = Panel(yLabel: "batch-mean cross-entropy", series: loss, weight: 1.6)
        lp.logBase = 10
        let ap = Panel(yLabel: "validation accuracy", series: accuracy, weight: 1.2)
        return Figure(name: "training_curves", title: "Digits MLP (64-256-256-10) with YOLOv5's recipe: fp32, amp, fp16 with and without the scaler",
                      xLabel: "epoch", panels: [lp, ap])
    }

    static func anchors(_ checks: [String: ScenarioCheck]) -> [Figure] {
        guard let scenario = checks["anchors_search"]?.scenario as? AnchorSearchScenario, let result = scenario.result else { return [] }
        return AnchorFigures.figures(wh: scenario.labels, given: AutoAnchor.yolov5Default, search: result)
    }

    static func resume(_ checks: [String: ScenarioCheck]) -> Figure? {
        guard let (g, e) = rows(checks, "resume_amp") else { return nil }
        let x = col(g, e, "iteration")
        let stop = Double(g.config["stop"] ?? "0") ?? 0
        let markers = [Marker(x: stop, label: "stopped (iteration \(Int(stop)))", color: "#d62728"),
                       Marker(x: Double(Int(stop) / 24 * 24), label: "YOLOv5's last.pt", color: "#ff7f0e")]
        func panel(_ name: String, _ label: String, log: Double?) -> Panel {
            var a = Series("uninterrupted", x: x, y: col(g, e, name), style: .line, color: Palette.reference)
            a.lineWidth = 2.5
            var b = Series("HalfTrace resume (bit-identical)", x: x, y: col(g, e, "resumed_" + name), style: .points, color: "#1f77b4")
            b.pointSize = 0.4
            var c = Series("YOLOv5-style resume", x: x, y: col(g, e, "yolov5_" + name), style: .line, color: "#ff7f0e")
            c.dashed = true
            var p = Panel(yLabel: label, series: [a, b, c])
            p.logBase = log
            p.markers = markers
            return p
        }
        return Figure(name: "resume", title: "Resume (digits MLP, amp): HalfTrace restores everything; YOLOv5 restarts the scaler at 2^16 and the data order",
                      xLabel: "iteration", panels: [panel("loss", "batch-mean loss", log: 10), panel("scale", "loss scale", log: 2),
                                                    panel("lr_weight", "learning rate (weights)", log: nil)])
    }

    static func parse(_ text: String?) throws -> [Double] {
        guard let text else { throw GoldenError("missing") }
        return text.split(separator: ",").compactMap { Double($0) }
    }
}
