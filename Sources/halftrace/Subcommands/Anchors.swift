import ArgumentParser
import Foundation
import HalfTraceAnchors
import HalfTraceFigures
import HalfTraceKernels
import HalfTracePlot
import HalfTraceTraces
import HalfTraceTraining

extension HalfTraceCommand {
    struct Anchors: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "YOLOv5's AutoAnchor on a YOLO-format label set: bpr and aat of the given anchors, and new anchors when they fit poorly.")

        @Option(help: "Directory of <image>.txt label files (default: the bundled example set).") var labels: String?
        @Option(help: "images.csv with image,width,height (default: the bundled example set's).") var images: String?
        @Option(name: .customLong("img-size"), help: "Training image size in pixels.") var imgSize: Int = 640
        @Option(parsing: .unconditional, help: "anchor_t: the label/anchor size ratio threshold.") var thr: Double = 4.0
        @Option(help: "Number of anchors to search for.") var n: Int = 9
        @Option(help: "Generations of the genetic refinement.") var gen: Int = 1000
        @Option(help: "Given anchors as w,h pairs in pixels (default: YOLOv5's nine).") var anchors: String?
        @Option(help: "Seed of k-means, the genetic search and --jitter.") var seed: UInt64 = 0
        @Flag(help: "Multiply each image's label sizes by U(0.9, 1.1), as check_anchors does.") var jitter = false
        @Flag(help: "Search for new anchors even when the given ones fit (bpr > 0.98).") var force = false
        @Flag(help: "Print one JSON object.") var json = false
        @Option(help: "Also write the figures (anchors_sizes, anchors_fitness) into this directory.") var plots: String?

        func validate() throws {
            guard (32...8192).contains(imgSize) else { throw ValidationError("--img-size \(imgSize) is outside 32...8192") }
            guard thr.isFinite, thr > 1, thr <= 1000 else { throw ValidationError("--thr \(thr) is invalid: expected a number in (1, 1000]") }
            guard (1...1000).contains(n) else { throw ValidationError("--n \(n) is outside 1...1000") }
            guard (0...1_000_000).contains(gen) else { throw ValidationError("--gen \(gen) is outside 0...1000000") }
            _ = try given()
            if labels != nil && images == nil || labels == nil && images != nil {
                throw ValidationError("--labels and --images go together (or neither, for the bundled example set)")
            }
        }

        /// The anchors to evaluate: YOLOv5's, or --anchors as w,h pairs in pixels (0.01...100000 each).
        func given() throws -> [AnchorSize] {
            guard let anchors else { return AutoAnchor.yolov5Default }
            let v = try numbers(anchors, flag: "--anchors")
            guard !v.isEmpty, v.count % 2 == 0, v.count <= 2000 else { throw ValidationError("--anchors: \(v.count) numbers; expected 1...1000 w,h pairs") }
            guard v.allSatisfy({ (0.01...100_000).contains($0) }) else { throw ValidationError("--anchors: every width and height must be in 0.01...100000 pixels") }
            return stride(from: 0, to: v.count, by: 2).map { AnchorSize(v[$0], v[$0 + 1]) }
        }

        func run() throws {
            guard let bundled = YOLODataset.bundled ?? (labels != nil && images != nil ? ("", "") : nil) else {
                throw CommandFailure("--labels/--images: the bundled example set is missing; pass both")
            }
            let (labelDir, imageFile) = (labels ?? bundled.labels, images ?? bundled.images)
            let dataset = try YOLODataset.load(labels: labelDir, images: imageFile)
            let given = try given()
            let wh = AutoAnchor.labelSizes(dataset, imgSize: imgSize, jitterSeed: jitter ? seed : nil)
            let before = AutoAnchor.metrics(wh, anchors: given, thr: thr)
            var search: AnchorSearch?
            if before.bpr <= 0.98 || force {
                let progress = ProgressLine()
                search = try AutoAnchor.search(AutoAnchor.labelSizes(dataset, imgSize: imgSize), n: n, thr: thr,
                                               generations: gen, seed: seed) { g, f in
                    if g % 25 == 0 || g == gen { progress.update("evolving anchors: generation \(g)/\(gen), fitness \(Format.fixed(f, 4))") }
                }
                progress.finish()
            }
            if let plots, let search {
                do {
                    try Gnuplot.prepare(directory: plots)
                    for figure in AnchorFigures.figures(AnchorFigures.Data(labels: wh, given: given, search: search)) {
                        try Gnuplot.render(figure, directory: plots)
                    }
                } catch let e as HalfTraceError { throw CommandFailure("--plots: \(e)") }
            }
            if json {
                print(Self.json(labels: wh.count, given: given, before, search))
                return
            }
            for w in dataset.warnings { print("warning: \(w)") }
            print("\(wh.count) labels from \(dataset.images.count) images (img-size \(imgSize), anchor_t \(thr)\(jitter ? ", jitter U(0.9, 1.1)" : ""))")
            print("given anchors: \(Self.list(given))")
            print("  bpr \(Format.fixed(before.bpr, 4)), \(Format.fixed(before.aat, 2)) anchors/target, fitness \(Format.fixed(before.fitness, 4))"
                  + (before.bpr > 0.98 ? ": a good fit (bpr > 0.98)" : ": a poor fit (bpr <= 0.98)"))
            guard let search else { return }
            print("new anchors (k-means on \(search.labelsUsed) labels with a side >= 2 px, then \(gen) generations): \(Self.list(search.anchors))")
            print("  bpr \(Format.fixed(search.metrics.bpr, 4)), \(Format.fixed(search.metrics.aat, 2)) anchors/target, fitness \(Format.fixed(search.metrics.fitness, 4)) (k-means alone: \(Format.fixed(search.kmeansMetrics.fitness, 4)))")
            if let (layers, reversed) = try? AutoAnchor.layers(search.anchors) {
                let names = ["P3/8", "P4/16", "P5/32"]
                print("  layers\(reversed ? " (order reversed)" : ""): " + layers.enumerated().map { "\(names[min($0, 2)]) \(Self.list($1))" }.joined(separator: "; "))
            }
            print(search.metrics.bpr > before.bpr ? "  new bpr is higher: replace the anchors" : "  new bpr is not higher: keep the given anchors (as YOLOv5)")
        }

        static func list(_ a: [AnchorSize]) -> String {
            a.map { "\(Int($0.w.rounded())),\(Int($0.h.rounded()))" }.joined(separator: ", ")
        }

        static func json(labels: Int, given: [AnchorSize], _ m: AnchorMetrics, _ s: AnchorSearch?) -> String {
            func set(_ a: [AnchorSize], _ m: AnchorMetrics) -> String {
                "{\"anchors\": [" + a.map { "[\($0.w), \($0.h)]" }.joined(separator: ", ") + "], \"bpr\": \(m.bpr), \"aat\": \(m.aat), \"fitness\": \(m.fitness)}"
            }
            return "{\"labels\": \(labels), \"given\": \(set(given, m)), \"new\": \(s.map { set($0.anchors, $0.metrics) } ?? "null")}"
        }
    }
}
