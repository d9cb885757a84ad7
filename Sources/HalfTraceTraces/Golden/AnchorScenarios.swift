import HalfTraceKernels
import HalfTraceAnchors
import HalfTraceFigures
import HalfTraceReference

/// YOLOv5's anchor metric on the bundled label set, per label: the best ratio over the given
/// anchors and how many anchors are above 1/thr, in Float32 (engine) against Float64 (formula).
/// Tolerance rel 3e-7 on `best`: the Float32 ratio and its reciprocal are each rounded once
/// (2 ulps of 2^-24 = 1.2e-7).
struct AnchorMetricScenario: Scenario {
    let imgSize: Int, thr: Double, anchors: [AnchorSize]
    init(_ c: ConfigReader) throws {
        imgSize = try c.int("img_size", in: 32...8192)
        thr = try c.double("thr", in: 1.000_001...1000)
        let v = try c.doubles("anchors", count: 2...2000, each: 0.01...1e5)
        guard v.count % 2 == 0 else { throw HalfTraceError.invalid("config.anchors", "\(v.count) numbers; expected w,h pairs") }
        anchors = stride(from: 0, to: v.count, by: 2).map { AnchorSize(v[$0], v[$0 + 1]) }
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("label", .key, label: "label"), GoldenColumn("w", .key, label: "label width (pixels)"),
         GoldenColumn("h", .key, label: "label height (pixels)"),
         GoldenColumn("best", .formula, .relative(3e-7), label: "best anchor ratio").sampled(),
         GoldenColumn("above", .formula, label: "anchors above 1/anchor_t").sampled()]  // labels: no line joins them
    }
    func sizes() throws -> [SIMD2<Float>] {
        guard let (labels, images) = YOLODataset.bundled else { throw HalfTraceError.inaccessible("boxes", "the bundled label set is missing") }
        return AutoAnchor.labelSizes(try YOLODataset.load(labels: labels, images: images), imgSize: imgSize)
    }
    func run(_: RunCache) throws -> EngineRun {
        let wh = try sizes()
        let m = AutoAnchor.ratioMatrix(wh, anchors: anchors)
        let t = Float(1 / thr)
        return EngineRun(rows: wh.indices.map { i in
            [Double(i), Double(wh[i].x), Double(wh[i].y), Double(m.map { $0[i] }.max()!), Double(m.filter { $0[i] > t }.count)]
        })
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let ratios = engineRows.map { r in anchors.map { Reference.anchorRatio(w: r[1], h: r[2], aw: $0.w, ah: $0.h) } }
        return ["best": ratios.map { $0.max()! }, "above": ratios.map { Double($0.filter { $0 > 1 / thr }.count) }]
    }
}

/// AutoAnchor's search on very elongated boxes (seeded): the best fitness per generation, and
/// the fitness of YOLOv5's default anchors for comparison (info). The run draws the label sizes
/// with the anchors and the fitness per generation (`AnchorFigures`), which are not columns.
struct AnchorSearchScenario: Scenario {
    let count: Int, seed: UInt64, n: Int, generations: Int, thr: Double

    init(_ c: ConfigReader) throws {
        count = try c.int("labels", in: 1...1_000_000)
        seed = try c.seed("seed")
        n = try c.int("n", in: 1...1000)
        generations = try c.int("gen", in: 0...1_000_000)
        thr = try c.double("thr", in: 1.000_001...1000)
        try HalfTraceError.check("config.gen", generations * count, in: 0...100_000_000)
        guard n <= count else { throw HalfTraceError.invalid("config.n", "\(n) anchors for \(count) labels") }
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("generation", .key, label: "generation"), GoldenColumn("fitness", .snapshot, label: "fitness"),
         GoldenColumn("default_fitness", .info, label: "fitness of YOLOv5's default anchors")]
    }
    func run(_: RunCache) throws -> EngineRun {
        let labels = AutoAnchor.elongatedBoxes(count: count, seed: seed)
        let r = try AutoAnchor.search(labels, n: n, thr: thr, generations: generations, seed: seed)
        let base = AutoAnchor.metrics(labels, anchors: AutoAnchor.yolov5Default, thr: thr).fitness
        return EngineRun(rows: r.fitnessHistory.enumerated().map { [Double($0), $1, base] },
                         figures: AnchorFigures.figures(AnchorFigures.Data(labels: labels, given: AutoAnchor.yolov5Default, search: r)))
    }

    func ownFigures(_ check: ScenarioCheck, as _: ComparisonFigure) -> [Figure] { check.runFigures }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        ["default_fitness": engineRows.map { $0[2] }]
    }
}
