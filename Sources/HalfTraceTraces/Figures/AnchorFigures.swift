import HalfTraceFigures
import Foundation
import HalfTraceAnchors

/// AutoAnchor's figures: label sizes with the given and new anchors (log axes), and the
/// fitness across generations of the genetic search.
public enum AnchorFigures {
    /// What the figures draw: sizes in pixels as (w, h) columns, the search's outcome.
    public struct Data: Sendable {
        public var labels: (w: [Double], h: [Double])
        public var given: (w: [Double], h: [Double])
        public var kmeans: (w: [Double], h: [Double])
        public var new: (w: [Double], h: [Double])
        public var kmeansFitness: Double
        public var newFitness: Double
        public var newBPR: Double
        public var fitnessHistory: [Double]

        /// From a search run by the `anchors` command.
        public init(labels wh: [SIMD2<Float>], given: [AnchorSize], search: AnchorSearch) {
            labels = (wh.map { Double($0.x) }, wh.map { Double($0.y) })
            self.given = (given.map(\.w), given.map(\.h))
            kmeans = (search.kmeans.map(\.w), search.kmeans.map(\.h))
            new = (search.anchors.map(\.w), search.anchors.map(\.h))
            kmeansFitness = search.kmeansMetrics.fitness
            newFitness = search.metrics.fitness
            newBPR = search.metrics.bpr
            fitnessHistory = search.fitnessHistory
        }
    }

    public static func figures(_ d: Data) -> [Figure] {
        var labels = Series("labels (\(d.labels.w.count))", x: d.labels.w, y: d.labels.h, style: .points, color: "#9ecae1")
        labels.pointSize = 0.35
        var old = Series("given anchors", x: d.given.w, y: d.given.h, style: .points, color: "#7f7f7f")
        old.pointType = 5
        old.pointSize = 1.6
        var km = Series("k-means anchors (fitness \(String(format: "%.4f", d.kmeansFitness)))", x: d.kmeans.w, y: d.kmeans.h, style: .points, color: "#2ca02c")
        km.pointType = 6
        km.pointSize = 1.6
        var new = Series("new anchors (fitness \(String(format: "%.4f", d.newFitness)), bpr \(String(format: "%.4f", d.newBPR)))", x: d.new.w, y: d.new.h, style: .points, color: "#d62728")
        new.pointType = 7
        new.pointSize = 1.5
        var sizes = Panel(yLabel: "label height (pixels)", series: [labels, old, km, new])
        sizes.logBase = 10
        var scatter = Figure(name: "anchors_sizes", title: "AutoAnchor: label sizes with the given and the new anchors", xLabel: "label width (pixels)", panels: [sizes])
        scatter.xLogBase = 10
        scatter.height = 760
        let g = d.fitnessHistory.indices.map(Double.init)
        let fitness = Panel(yLabel: "fitness: mean of best ratio above 1/anchor_t", series: [
            Series("best fitness so far", x: g, y: d.fitnessHistory, style: .steps, color: "#d62728"),
        ])
        return [scatter, Figure(name: "anchors_fitness", title: "AutoAnchor: fitness across generations of the genetic search (mutation p 0.9, sigma 0.1)",
                                xLabel: "generation", panels: [fitness])]
    }
}
