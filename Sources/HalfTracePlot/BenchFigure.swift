import HalfTraceFigures
import HalfTraceTraining

/// `bench --plots`: training steps per second, one panel per model, one column per precision:
/// every timing (small points, so that their spread shows) and their median (the figure the
/// table prints), with the bytes a step touches in the panel's heading.
public enum BenchFigure {
    public static func make(_ report: BenchmarkReport, title: String) -> Figure? {
        let order = ["float64", "float32", "amp", "amp-bf16", "float16", "bfloat16"]
        let models = report.stepsPerSecond.keys.sorted { rank($0) < rank($1) }
        let panels = models.map { model -> Panel in
            let rates = report.stepsPerSecond[model] ?? [:]
            let precisions = rates.keys.sorted { (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1) }
            var xs: [Double] = [], ys: [Double] = []
            for (k, p) in precisions.enumerated() {
                for t in report.stepRateTimings[model]?[p] ?? [] { xs.append(Double(k)); ys.append(t) }
            }
            var timings = Series("each timing", x: xs, y: ys, style: .points, color: "#9ecae1")
            timings.pointSize = 0.9
            var median = Series("median", x: precisions.indices.map(Double.init), y: precisions.map { rates[$0]! }, style: .points, color: "#d62728")
            median.pointType = 5
            median.pointSize = 1.6
            var panel = Panel(yLabel: "training steps / s", series: [timings, median])
            panel.title = model
            panel.xLabel = "storage precision"
            panel.xTicks = precisions.enumerated().map { Tick(Double($0), $1) }
            let top = (ys + median.y).filter(\.isFinite).max() ?? 1
            panel.yRange = 0...(top * 1.15)
            return panel
        }
        guard !panels.isEmpty else { return nil }
        var f = Figure(name: "bench", title: title, xLabel: "", panels: panels)
        f.gridColumns = min(3, panels.count)
        f.height = 300 * ((panels.count + 2) / 3) + 160
        return f
    }

    /// Toy models smallest first, then the detector.
    static func rank(_ model: String) -> Int { ["tiny", "mlp", "wide", "probe", "detector"].firstIndex(of: model) ?? 99 }
}
