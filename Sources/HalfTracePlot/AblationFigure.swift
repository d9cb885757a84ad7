import HalfTraceFigures
import HalfTraceTraining

/// `ablate --plots`: per variant, each seed's mean mAP over its last 10 epochs (small points),
/// their mean (a bar-like mark) and their range (a vertical line), mAP@0.5 above and
/// mAP@0.5:0.95 below; the recipe's own mean as a dashed line across; and, when the recipe ran
/// with the same seeds, the paired difference from it with its two-standard-error bar, so that
/// a variant inside the seeds' spread reads as such.
public enum AblationFigure {
    public static func make(_ rows: [Ablation.Row], plan: Ablation.Plan) -> Figure? {
        guard !rows.isEmpty else { return nil }
        let names = plan.variants
        func panel(_ label: String, last: Bool, _ value: (Ablation.Row) -> Double) -> Panel {
            var seedsX: [Double] = [], seedsY: [Double] = [], meanX: [Double] = [], meanY: [Double] = []
            var series: [Series] = []
            for (k, name) in names.enumerated() {
                let v = rows.filter { $0.variant == name }.map(value)
                guard !v.isEmpty else { continue }
                seedsX += v.map { _ in Double(k) }
                seedsY += v
                meanX.append(Double(k))
                meanY.append(v.reduce(0, +) / Double(v.count))
                var range = Series(series.isEmpty ? "range over the seeds" : "", x: [Double(k), Double(k)], y: [v.min()!, v.max()!], style: .bars, color: "#9ecae1")
                range.barWidth = barWidth
                series.append(range)
            }
            var seedPoints = Series("each seed", x: seedsX, y: seedsY, style: .points, color: "#1f77b4")
            seedPoints.pointSize = 0.8
            var means = Series(meanTitle(plan), x: meanX, y: meanY, style: .points, color: "#d62728")
            means.pointType = 5
            means.pointSize = 1.5
            series += [seedPoints, means]
            if let base = names.firstIndex(of: "yolov5"), let m = meanX.firstIndex(of: Double(base)) {
                var line = Series("YOLOv5's recipe (mean)", x: [-0.5, Double(names.count) - 0.5], y: [meanY[m], meanY[m]], style: .line, color: "#555555")
                line.dashed = true
                series.append(line)
            }
            var p = Panel(yLabel: label, series: series)
            // The variants' names and the axis label under the lowest panel only (the upper's
            // would run into the next one's title); mAP from 0, a tenth above the highest seed.
            p.xTicks = names.enumerated().map { Tick(Double($0), last ? $1 : "") }
            if last { p.xLabel = variantAxis(plan) }
            p.yRange = 0...min(1, max(seedsY.max() ?? 0, 0.01) * 1.1)
            p.title = label
            return p
        }
        let difference = differencePanel(rows, plan: plan)
        let panels = [panel("mAP@0.5", last: false, \.meanMap50), panel("mAP@0.5:0.95", last: difference == nil, \.meanMap)] + [difference].compactMap { $0 }
        var f = Figure(name: "ablations", title: "What each trick buys: the detector with each variant of YOLOv5's recipe, mean of the last 10 epochs per seed",
                       xLabel: "", panels: panels)
        f.gridColumns = 1
        f.height = 300 * panels.count + 350
        f.width = 1200
        return f
    }

    /// The bars' width in variants (x units): about 6 px at 1200 px and 15 variants.
    static let barWidth = 0.08

    static func meanTitle(_ plan: Ablation.Plan) -> String { "mean over \(plan.seeds) seed\(plan.seeds == 1 ? "" : "s")" }

    static func variantAxis(_ plan: Ablation.Plan) -> String {
        "variant (\(plan.epochs) epochs, \(plan.images.train) + \(plan.images.validation) images of \(plan.imageSize) px)"
    }

    /// The verdict at a glance: per variant, each seed's mAP@0.5 minus the recipe's of the same
    /// seed, their mean, and the mean +- 2 standard errors as a bar; a bar that crosses the zero
    /// line is a difference inside the seeds' spread (`Ablation.Effect.verdict`). Nil without the
    /// recipe's rows or without a variant paired with them over two or more seeds.
    static func differencePanel(_ rows: [Ablation.Row], plan: Ablation.Plan) -> Panel? {
        let effects = Ablation.effects(rows, plan: plan)
        guard let recipe = effects.first(where: { $0.variant == "yolov5" }) else { return nil }
        var series: [Series] = []
        var seedsX: [Double] = [], seedsY: [Double] = [], meanX: [Double] = [], meanY: [Double] = []
        for effect in effects {
            // One seed has no spread: no bar (a bar of length 0 would read as a difference).
            guard let d = effect.difference, effect.map50.count > 1, let k = plan.variants.firstIndex(of: effect.variant) else { continue }
            let x = Double(k)
            var bar = Series(series.isEmpty ? "mean ± 2 standard errors (crossing 0: inside the seeds' spread)" : "",
                             x: [x, x], y: [d.mean - 2 * d.standardError, d.mean + 2 * d.standardError], style: .bars, color: "#fdae6b")
            bar.barWidth = barWidth
            series.append(bar)
            seedsX += effect.map50.map { _ in x }
            seedsY += zip(effect.map50, recipe.map50).map { $0 - $1 }
            meanX.append(x)
            meanY.append(d.mean)
        }
        guard !meanX.isEmpty else { return nil }
        // The same marks as the panels above (the legend names them once): here, differences.
        var seedPoints = Series("each seed", x: seedsX, y: seedsY, style: .points, color: "#1f77b4")
        seedPoints.pointSize = 0.8
        var means = Series(meanTitle(plan), x: meanX, y: meanY, style: .points, color: "#d62728")
        means.pointType = 5
        means.pointSize = 1.5
        var zero = Series("no difference", x: [-0.5, Double(plan.variants.count) - 0.5], y: [0, 0], style: .line, color: "#000000")
        zero.lineWidth = 1
        series += [seedPoints, means, zero]
        var p = Panel(yLabel: "mAP@0.5 difference", series: series)
        p.xTicks = plan.variants.enumerated().map { Tick(Double($0), $1) }
        p.title = "mAP@0.5 minus the recipe's, paired by seed"
        p.xLabel = variantAxis(plan)
        return p
    }

    /// `ablate --plots`: mAP@0.5 per epoch, the mean over the seeds of each variant, one panel per
    /// trick (warm-up, accumulation, schedule, precision) with the recipe's own curve in each,
    /// so that a variant that learns faster or slower, or collapses, shows where it does.
    public static func curves(_ points: [Ablation.CurvePoint], plan: Ablation.Plan) -> Figure? {
        guard !points.isEmpty else { return nil }
        func meanCurve(_ variant: String) -> (x: [Double], y: [Double])? {
            let mine = points.filter { $0.variant == variant }
            guard !mine.isEmpty else { return nil }
            let seeds = Set(mine.map(\.seed)).count
            var sum = [Double](repeating: 0, count: plan.epochs)
            for p in mine { sum[p.epoch] += p.map50 }
            return ((0..<plan.epochs).map(Double.init), sum.map { $0 / Double(seeds) })
        }
        let recipe = meanCurve("yolov5")
        var tricks: [String] = []
        for name in plan.variants {
            if let v = try? Ablation.variant(name), v.trick != "baseline", !tricks.contains(v.trick) { tricks.append(v.trick) }
        }
        var panels: [Panel] = []
        for trick in tricks {
            var series: [Series] = []
            if let recipe {
                var s = Series("yolov5 (the recipe)", x: recipe.x, y: recipe.y, style: .line, color: Palette.reference)
                s.lineWidth = 2
                series.append(s)
            }
            let names = plan.variants.filter { (try? Ablation.variant($0))?.trick == trick }
            for (k, name) in names.enumerated() {
                guard let c = meanCurve(name) else { continue }
                var s = Series(name, x: c.x, y: c.y, style: .line, color: Palette.colors[(k + 1) % Palette.colors.count])
                s.lineWidth = 1.2
                series.append(s)
            }
            var p = Panel(yLabel: "mAP@0.5", series: series)
            p.yRange = 0...1
            p.note = trick
            panels.append(p)
        }
        guard !panels.isEmpty else { return nil }
        var f = Figure(name: "ablation_curves",
                       title: "How each trick learns: the detector's mAP@0.5 per epoch, \(meanTitle(plan)) (\(plan.images.train) + \(plan.images.validation) images of \(plan.imageSize) px)",
                       xLabel: "epoch", panels: panels)
        f.height = max(520, 260 * panels.count + 160)  // one panel still keeps room for the epoch axis label
        f.width = 1200
        return f
    }
}
