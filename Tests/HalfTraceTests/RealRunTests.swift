import Foundation
import HalfTraceAnchors
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceReference
import HalfTraceTestSupport
import HalfTraceVerify
import Testing

/// HalfTrace against the real YOLOv5 (pip yolov5 7.0.14) and Ultralytics (8.4.190) packages:
/// CPU training runs and AutoAnchor recorded by `Fixtures/record_real.py` in a virtual environment
/// outside the repository (neither package is a dependency).
@Suite("Real YOLOv5 and Ultralytics runs")
struct RealRunTests {
    static let real = Fixture.directory.appendingPathComponent("real").path
    static let runs = ["yolov5_b16_linear", "yolov5_onecycle_warmup", "yolov5_b24", "ultralytics_sgd", "ultralytics_auto_cos"]

    struct Meta: Decodable {
        var package: String
        var version: String
        var nb: Int
    }

    static func meta(_ run: String) throws -> Meta {
        try JSONDecoder().decode(Meta.self, from: Data(contentsOf: URL(fileURLWithPath: real + "/\(run)/meta.json")))
    }

    /// iterations.csv: per iteration, each group's lr and momentum (hex floats) and the step flag.
    static func iterations(_ run: String) throws -> (lr: [[Double]], momentum: [[Double]], stepped: [Bool]) {
        let lines = try String(contentsOfFile: real + "/\(run)/iterations.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        var lr: [[Double]] = [], momentum: [[Double]] = [], stepped: [Bool] = []
        for line in lines {
            let f = line.split(separator: ",").map(String.init)
            lr.append(f[2..<5].map { Double($0)! })
            momentum.append(f[5..<8].map { Double($0)! })
            stepped.append(f[8] == "1")
        }
        return (lr, momentum, stepped)
    }

    @Test("verify trace: PyTorch's own SGDR log disagrees exactly at its misplaced restart (epoch 121), named as PyTorch's defect")
    func pytorchTrace() throws {
        let path = Self.real + "/torch_sgdr_trace.csv"
        let v = try TraceVerification.verify(try String(contentsOfFile: path, encoding: .utf8), path: path,
                                             formula: .sgdr(lr: 0.1, t0: 1, tMult: 3, etaMin: 0))
        #expect(v.rows == 131)
        #expect(v.disagreements.map(\.epoch) == [121] && v.disagreements.allSatisfy(\.pytorchRestartDefect), "\(v.report)")
        let other = try TraceVerification.verify(try String(contentsOfFile: path, encoding: .utf8), path: path,
                                                 formula: .sgdr(lr: 0.1, t0: 1, tMult: 2, etaMin: 0))
        #expect(!other.disagreements.isEmpty && !other.disagreements.allSatisfy(\.pytorchRestartDefect), "a wrong T_mult is not PyTorch's defect")
    }

    struct AnchorFixture: Decodable {
        struct Image: Decodable { var image: String; var wh: [[String]] }
        struct Search: Decodable { var seed: Int; var anchors: [[String]]; var fitness: String }
        var labels: [Image]
        var default_anchors_bpr: String
        var default_anchors_aat: String
        var default_anchors_best: [String]
        var searches: [Search]
    }

    @Test("AutoAnchor on the bundled set: YOLOv5's own label sizes and metric, and (release builds) its kmean_anchors fitness over 5 seeds")
    func autoanchor() throws {
        let f = try JSONDecoder().decode(AnchorFixture.self, from: Data(contentsOf: URL(fileURLWithPath: Self.real + "/yolov5_autoanchor.json")))
        let (labels, images) = YOLODataset.bundled!
        let dataset = try YOLODataset.load(labels: labels, images: images)
        let wh = AutoAnchor.labelSizes(dataset, imgSize: 640)
        // Per image, as multisets: YOLOv5 reorders an image's labels when it removes duplicates.
        var ours: [String: [[Float]]] = [:], k = 0
        for image in dataset.images {
            ours[image.name] = image.boxes.indices.map { _ in defer { k += 1 }; return [wh[k].x, wh[k].y] }.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
        }
        for image in f.labels {
            let theirs = image.wh.map { $0.map { Float(Double($0)!) } }.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
            #expect(ours[image.image] == theirs, "\(image.image): label sizes")
        }
        let metrics = AutoAnchor.metrics(wh, anchors: AutoAnchor.yolov5Default)
        // YOLOv5 takes the means in float32: the same fractions, rounded to Float.
        #expect(Float(metrics.bpr) == Float(Double(f.default_anchors_bpr)!), "bpr \(metrics.bpr) vs YOLOv5 \(Double(f.default_anchors_bpr)!)")
        #expect(abs(metrics.aat - Double(f.default_anchors_aat)!) <= 1e-6, "aat \(metrics.aat) vs YOLOv5 \(Double(f.default_anchors_aat)!)")
        let best = AutoAnchor.ratioMatrix(wh, anchors: AutoAnchor.yolov5Default)
        let ourBest = wh.indices.map { i in best.map { $0[i] }.max()! }.sorted()
        #expect(ourBest == f.default_anchors_best.map { Float(Double($0)!) }.sorted(), "the best ratio of every label, bit for bit (Float32)")
        // Five 1,000-generation searches against YOLOv5's five: in optimised builds (BuildSize.releaseOnly).
        guard BuildSize.isOptimized else { return }
        let yolo = f.searches.map { Double($0.fitness)! }
        let halftrace = try (0..<5).map { try AutoAnchor.search(wh, n: 9, generations: 1000, seed: UInt64($0)).metrics.fitness }
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
        #expect(mean(halftrace) >= mean(yolo), "HalfTrace \(halftrace) vs YOLOv5's kmean_anchors \(yolo)")
    }
}
