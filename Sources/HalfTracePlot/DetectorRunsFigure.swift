import HalfTraceFigures
import HalfTraceTraining

/// Detector runs side by side per epoch (HalfTrace's and the real YOLOv5's results.csv): mAP@0.5
/// and mAP@0.5:0.95 with the targets dashed, the training and validation loss, and the weights' lr.
public enum DetectorRunsFigure {
    /// The figure named `name` of `runs` (label, results), the targets drawn at `targets`.
    public static func make(_ runs: [(label: String, results: DetectorResultsFile)], name: String, title: String,
                            targets: (map50: Double, map: Double) = (0.7, 0.4)) -> Figure {
        let last = Double(runs.flatMap { $0.results.rows.map(\.epoch) }.max() ?? 1)
        func panel(_ label: String, _ value: (DetectorResultsFile.Row) -> Double, target: Double?, targetLabel: String) -> Panel {
            var series = runs.enumerated().map { k, run in
                var s = Series(run.label, x: run.results.rows.map { Double($0.epoch) }, y: run.results.rows.map(value), style: .line,
                               color: Palette.colors[k % Palette.colors.count])
                s.lineWidth = 1.2
                return s
            }
            if let target {
                var t = Series(targetLabel, x: [0, last], y: [target, target], style: .line, color: Palette.reference)
                t.dashed = true
                t.lineWidth = 1
                series.append(t)
            }
            return Panel(yLabel: label, series: series)
        }
        var loss = panel("training loss (box + obj + cls)", { $0.trainLoss }, target: nil, targetLabel: "")
        loss.logBase = 10
        var lr = panel("learning rate (weights)", { $0.lr }, target: nil, targetLabel: "")
        // Runs of one schedule draw one line: say so, instead of a legend of lines hidden under it
        // (YOLOv5's results.csv rounds to 5 digits: equal within 0.1 % of the largest lr).
        let top = lr.series.flatMap(\.y).filter(\.isFinite).map(abs).max() ?? 0
        if let first = lr.series.first, lr.series.count > 1,
           lr.series.allSatisfy({ $0.x == first.x && zip($0.y, first.y).allSatisfy { abs($0 - $1) <= 1e-3 * top } }) {
            lr.series = [first]
            lr.series[0].title = "every run (one schedule, within 0.1 %)"
            lr.series[0].color = Palette.reference
        }
        return Figure(name: name, title: title, xLabel: "epoch", panels: [
            panel("mAP@0.5", { $0.map50 }, target: targets.map50, targetLabel: "target \(targets.map50)"),
            panel("mAP@0.5:0.95", { $0.map }, target: targets.map, targetLabel: "target \(targets.map)"),
            loss, lr,
        ])
    }
}
