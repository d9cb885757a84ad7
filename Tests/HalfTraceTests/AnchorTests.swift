import Foundation
import HalfTraceAnchors
import HalfTraceKernels
import HalfTraceTestSupport
import Testing

@Suite("AutoAnchor")
struct AnchorTests {
    static func sizes(_ hex: Any?) throws -> [SIMD2<Float>] {
        let v = try Fixture.doubles(hex)
        return stride(from: 0, to: v.count, by: 2).map { SIMD2(Float(v[$0]), Float(v[$0 + 1])) }
    }

    static func anchors(_ hex: Any?) throws -> [AnchorSize] {
        let v = try Fixture.doubles(hex)
        return stride(from: 0, to: v.count, by: 2).map { AnchorSize(v[$0], v[$0 + 1]) }
    }

    /// YOLOv5's own autoanchor functions, recorded by `Fixtures/record_real.py`.
    static func realFixture() throws -> [String: Any] {
        let data = try Data(contentsOf: Fixture.directory.appendingPathComponent("real/yolov5_autoanchor.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// bpr and fitness are float32 means in YOLOv5 (one rounding of the same fraction: compared
    /// as Float); aat is a float32 mean times n (two roundings: 1e-6).
    @Test("bpr, aat and fitness agree with YOLOv5's own metric on random label sets, ratios at the 1/thr boundary included")
    func metricMatchesYOLOv5() throws {
        for case let c as [String: Any] in try Self.realFixture()["metric_cases"] as! [Any] {
            let m = AutoAnchor.metrics(try Self.sizes(c["wh"]), anchors: try Self.anchors(c["anchors"]), thr: try Fixture.double(c["thr"]))
            let expected = try Fixture.doubles(c["bpr_aat_fitness"])
            let name = c["name"] as! String
            #expect(Float(m.bpr) == Float(expected[0]), "\(name): bpr \(m.bpr) vs \(expected[0])")
            #expect(abs(m.aat - expected[1]) <= 1e-6, "\(name): aat \(m.aat) vs \(expected[1])")
            #expect(abs(m.fitness - expected[2]) <= 1e-6, "\(name): fitness \(m.fitness) vs \(expected[2])")
        }
    }

    @Test("on very elongated boxes (default bpr < 0.98) the search is at least as good as YOLOv5's own kmean_anchors", .enabled(if: BuildSize.isOptimized, BuildSize.releaseOnly))
    func searchBeatsYOLOv5() throws {
        let fixture = try Self.realFixture()
        let wh = try Self.sizes(fixture["elongated_wh"])
        #expect(AutoAnchor.metrics(wh, anchors: AutoAnchor.yolov5Default).bpr < 0.98)
        let theirs = try (fixture["elongated_searches"] as! [[String: Any]]).map { try Fixture.double($0["fitness"]) }
        let ours = try (0..<5).map { try AutoAnchor.search(wh, n: 9, generations: 1000, seed: UInt64($0)).metrics.fitness }
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
        #expect(mean(ours) >= mean(theirs), "HalfTrace \(ours) vs YOLOv5 \(theirs)")
        #expect(ours.min()! >= theirs.min()!, "HalfTrace \(ours) vs YOLOv5 \(theirs)")
        #expect(ours.allSatisfy { $0 > AutoAnchor.metrics(wh, anchors: AutoAnchor.yolov5Default).fitness })
    }

    @Test("the search is seeded, sorts anchors by area, improves monotonically, and clips anchors to >= 2 px")
    func searchProperties() throws {
        let (labels, images) = YOLODataset.bundled!
        let wh = AutoAnchor.labelSizes(try YOLODataset.load(labels: labels, images: images), imgSize: 640)
        let a = try AutoAnchor.search(wh, n: 6, generations: 200, seed: 7), b = try AutoAnchor.search(wh, n: 6, generations: 200, seed: 7)
        #expect(a.anchors == b.anchors && a.fitnessHistory == b.fitnessHistory)
        #expect(zip(a.anchors, a.anchors.dropFirst()).allSatisfy { $0.area <= $1.area })
        #expect(zip(a.fitnessHistory, a.fitnessHistory.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(a.fitnessHistory.count == 201 && a.anchors.allSatisfy { $0.w >= 2 && $0.h >= 2 })
        #expect(a.metrics.fitness == a.fitnessHistory.last! || abs(a.metrics.fitness - a.fitnessHistory.last!) < 1e-12)
    }

    @Test("check_anchor_order reverses layers whose mean area runs against the strides")
    func anchorOrder() throws {
        let forward = try AutoAnchor.layers(AutoAnchor.yolov5Default)
        #expect(!forward.reversed && forward.layers[0][0] == AnchorSize(10, 13))
        let backward = try AutoAnchor.layers(Array(AutoAnchor.yolov5Default.reversed()))
        #expect(backward.reversed && backward.layers[0].contains(AnchorSize(10, 13)))
        #expect(throws: HalfTraceError.self) { try AutoAnchor.layers(Array(AutoAnchor.yolov5Default.prefix(8))) }
    }

    static func dataset(_ files: [String: String], images: String) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ht-anchors-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: root + "/labels", withIntermediateDirectories: true)
        try images.write(toFile: root + "/images.csv", atomically: true, encoding: .utf8)
        for (name, text) in files { try text.write(toFile: root + "/labels/\(name).txt", atomically: true, encoding: .utf8) }
        return root
    }

    static func loadError(_ files: [String: String], images: String = "image,width,height\na,640,480\nb,100,100\n") -> String {
        do {
            let root = try dataset(files, images: images)
            defer { try? FileManager.default.removeItem(atPath: root) }
            _ = try YOLODataset.load(labels: root + "/labels", images: root + "/images.csv")
            return "loaded"
        } catch { return "\(error)".replacingOccurrences(of: #"/[^ ]*/ht-anchors-[0-9]+-[0-9]+/"#, with: "", options: .regularExpression) }
    }

    @Test("bad label sets are reported with file:line and what is wrong")
    func badInput() throws {
        #expect(Self.loadError(["a": "0 0.5 0.5 0.1 0.2\n"]) == "loaded")
        #expect(Self.loadError(["a": "0 0.5 0.5 0.1 0.2\n0 0.5 0.5 0.1\n"]) == "labels/a.txt:2: 4 fields, expected 5 (class cx cy w h)")
        #expect(Self.loadError(["a": "0 0.5 x 0.1 0.2\n"]) == "labels/a.txt:1: 'x' is not a number")
        #expect(Self.loadError(["a": "0 0.5 0.5 1.2 0.2\n"]) == "labels/a.txt:1: w = 1.2 is outside [0, 1] (non-normalized or out of bounds coordinates)")
        #expect(Self.loadError(["a": "-1 0.5 0.5 0.1 0.2\n"]) == "labels/a.txt:1: class -1 is not a non-negative integer")
        #expect(Self.loadError(["c": "0 0.5 0.5 0.1 0.2\n"]) == "labels/c.txt: no row for image 'c' in " + "images.csv")
        #expect(Self.loadError(["a": "\n"]) == "labels: the dataset has no labels")
        #expect(Self.loadError(["a": "0 0.5 0.5 0.1 0.2\n"], images: "image,width,height\na,640\n") == "images.csv:2: 2 fields, expected 3 (image,width,height)")
        #expect(Self.loadError(["a": "0 0.5 0.5 0.1 0.2\n"], images: "image,width,height\na,640,-3\n") == "images.csv:2: width and height must be numbers of pixels in 1...1000000, got '640', '-3'")
        let root = try Self.dataset(["a": "0 0.5 0.5 0.1 0.2\n0 0.5 0.5 0.1 0.2\n3 0.2 0.2 0.3 0.1\n"], images: "image,width,height\na,640,480\nb,10,10\n")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let d = try YOLODataset.load(labels: root + "/labels", images: root + "/images.csv")
        #expect(d.labelCount == 2 && d.warnings.count == 2, "duplicates removed and a background image, as YOLOv5: \(d.warnings)")
        #expect { try AutoAnchor.search(AutoAnchor.labelSizes(d, imgSize: 640), n: 9) } throws: {
            "\($0)" == "n: 9 is larger than the 2 labels with a side of at least 2 px"
        }
    }
}
