import Foundation
import HalfTraceAnchors

/// AutoAnchor's figures: label sizes with the given and new anchors (log axes), and the
/// fitness across generations of the genetic search.
public enum AnchorFigures {
    public static func figures(wh: [SIMD2<Float>], given: [Size], search: AnchorSearch) -> [Figure] {
        var labels = Series("labels (\(wh.count))", x: wh.map { Double($0.x) }, y: wh.map { Double($0.y) }, style: .points, color: "#9ecae1")
        labels.pointSize = 0.35
        var old = Series("given anchors", x: given.map(\.w), y: given.map(\.h), style: .points, color: "#7f7f7f")
        old.pointType = 5
        old.pointSize = 1.6
        var km = Series("k-means anchors (fitness \(String(format: "%.4f", search.kmeansMetrics.fitness)))", x: search.kmeans.map(\.w), y: search.kmeans.map(\.h), style: .points, color: "#2ca02c")
        km.pointType = 6
        km.pointSize = 1.6
        var new = Series("new anchors (fitness \(String(format: "%.4f", search.metrics.fitness)), bpr \(String(format: "%.4f", search.metrics.bpr)))", x: search.anchors.map(\.w), y: search.anchors.map(\.h), style: .points, color: "#d62728")
        new.pointType = 7
        new.pointSize = 1.5
        var sizes = Panel(yLabel: "label height (pixels)", series: [labels, old, km, new])
        sizes.logBase = 10
        var scatter = Figure(name: "anchors_sizes", title: "AutoAnchor: label sizes with the given and the new anchors", xLabel: "label width (pixels)", panels: [sizes])
        scatter.xLogBase = 10
        scatter.height = 760
        let g = search.fitnessHistory.indices.map(Double.init)
        let fitness = Panel(yLabel: "fitness: mean of best ratio above 1/anchor_t", series: [
            Series("best fitness so far", x: g, y: search.fitnessHistory, style: .steps, color: "#d62728"),
        ])
        return [scatter, Figure(name: "anchors_fitness", title: "AutoAnchor: fitness across generations of the genetic search (mutation p 0.9, sigma 0.1)",
                                xLabel: "generation", panels: [fitness])]
    }
}
