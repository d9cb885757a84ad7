import Foundation
import HalfTraceEvolve
import HalfTraceFigures

/// YOLOv5's evolve.png: the fitness of every trained individual against each hyper-parameter,
/// the best individual marked.
public enum EvolveFigure {
    public static func make(_ records: [EvolveRecord], table meta: [EvolvableKey] = HyperparameterMeta.table, title: String) -> Figure? {
        guard let best = records.max(by: { $0.fitness < $1.fitness }) else { return nil }
        let panels = meta.indices.map { j -> Panel in
            var all = Series("individuals", x: records.map { $0.hyp[j] }, y: records.map(\.fitness), style: .points, color: "#1f77b4")
            all.pointSize = 0.6
            var top = Series("best", x: [best.hyp[j]], y: [best.fitness], style: .points, color: "#d62728")
            top.pointType = 1
            top.pointSize = 3
            var p = Panel(yLabel: "fitness", series: [all, top])
            p.title = "\(meta[j].name) = \(best.hyp[j])"
            p.xLabel = "\(meta[j].name) (range \(meta[j].lower)...\(meta[j].upper))"
            return p
        }
        var f = Figure(name: "evolve", title: title, xLabel: "", panels: panels)
        f.gridColumns = 4
        f.width = 1400
        f.height = max(760, 190 * ((panels.count + 3) / 4) + 120)
        return f
    }
}
