import HalfTraceVerify

/// `verify --plots`: per parameter group, the logged learning rates (points, at the end of their
/// epoch) over the predicted per-iteration curve, the end of warm-up marked; below, each logged
/// value's error in units of its last printed digit, with the rounding bound ±0.5.
public enum VerifyFigure {
    public static func make(_ v: RunVerification, name: String = "verify") -> Figure {
        let nb = Double(v.batchesPerEpoch)
        let x = v.prediction.perIteration.indices.map { Double($0) / nb }
        let colors = ["#ff7f0e", "#1f77b4", "#2ca02c"]
        let nw = Double(v.prediction.warmupIterations) / nb
        let marker = Marker(x: nw, label: "end of warm-up (\(v.prediction.warmupIterations) iterations)", color: "#d62728")
        var panels: [Panel] = []
        var residuals: [Series] = []
        for (j, column) in v.run.columns.enumerated() {
            let group = RunVerification.groupNames(v.run.kind)[j]
            var curve = Series("\(column) (\(group)), predicted", x: x, y: v.prediction.perIteration.map { $0[j] }, style: .line,
                               color: Palette.reference)
            curve.lineWidth = 1.2
            let ex = v.run.rows.map { Double($0.epoch) + (nb - 1) / nb }
            var points = Series("\(column), logged", x: ex, y: v.run.rows.map { $0.values[j] }, style: .points, color: colors[j])
            points.pointSize = 0.9
            var panel = Panel(yLabel: "learning rate, \(group)", series: [curve, points], weight: 1.3)
            panel.markers = [marker]
            panels.append(panel)
            var r = Series(column, x: ex, y: v.run.rows.map { row in
                let p = v.prediction.logged[row.epoch][j], unit = RunVerification.lastDigitUnit(row.values[j], digits: v.run.digits)
                return unit == 0 ? 0 : (row.values[j] - p) / unit
            }, style: .points, color: colors[j])
            r.pointSize = 0.8
            residuals.append(r)
        }
        var residual = Panel(yLabel: "logged − predicted (last digits)", series: residuals, weight: 1)
        residual.band = -0.5...0.5
        residual.bandLabel = "rounding of the printed value (±0.5)"
        residual.markers = [marker]
        let worst = residuals.flatMap(\.y).filter(\.isFinite).map(abs).max() ?? 0
        residual.yRange = -max(0.6, worst * 1.2)...max(0.6, worst * 1.2)
        panels.append(residual)
        let title = "\(v.run.kind == .yolov5 ? "YOLOv5" : "Ultralytics") run \(v.run.directory.split(separator: "/").last.map(String.init) ?? ""): logged learning rates against the formulas — \(v.passes ? "all agree" : "DISAGREES")"
        return Figure(name: name, title: title, xLabel: "epoch", panels: panels)
    }
}
