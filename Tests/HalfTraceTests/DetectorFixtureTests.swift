import Foundation
import HalfTraceAnchors
import HalfTraceAutograd
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim
import HalfTraceTraining
import HalfTraceTestSupport
import Testing

/// The detector's YOLOv5 parts against the real YOLOv5 7.0.14 on torch 2.13 (CPU), recorded by
/// Fixtures/record_yolov5_detector.py into Fixtures/yolov5_detector.json.
@Suite("Detector parts against YOLOv5 7.0")
struct DetectorFixtureTests {
    static func fixture() throws -> [String: Any] { try Fixture.loadExact("yolov5_detector") }

    /// A recorded tensor {dtype, shape, data}: its shape and values.
    struct Recorded {
        let shape: [Int]
        let values: [Double]
        init(_ any: Any?) throws {
            guard let d = any as? [String: Any] else { throw FixtureError("not a tensor: \(String(describing: any))") }
            shape = try (d["shape"] as! [Any]).map(Fixture.int)
            values = (d["data"] as! [Any]).map { v in
                if let b = v as? Bool { return b ? 1 : 0 }
                return (try? Fixture.double(v)) ?? .nan
            }
        }
        var floats: [Float] { values.map { Float($0) } }
        var ints: [Int] { values.map { Int($0) } }
    }

    /// A (bs, na, ny, nx, no) prediction as the NHWC head output [bs, ny, nx, na * no].
    static func headOutput(_ p: Recorded) -> [Double] {
        let (bs, na, ny, nx, no) = (p.shape[0], p.shape[1], p.shape[2], p.shape[3], p.shape[4])
        var out = [Double](repeating: 0, count: p.values.count)
        for b in 0..<bs { for a in 0..<na { for y in 0..<ny { for x in 0..<nx { for k in 0..<no {
            out[(((b * ny + y) * nx + x) * na + a) * no + k] = p.values[(((b * na + a) * ny + y) * nx + x) * no + k]
        } } } } }
        return out
    }

    /// The inverse of `headOutput` for a gradient.
    static func recordedLayout(_ g: [Double], shape: [Int]) -> [Double] {
        let (bs, na, ny, nx, no) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        var out = [Double](repeating: 0, count: g.count)
        for b in 0..<bs { for a in 0..<na { for y in 0..<ny { for x in 0..<nx { for k in 0..<no {
            out[(((b * na + a) * ny + y) * nx + x) * no + k] = g[(((b * ny + y) * nx + x) * na + a) * no + k]
        } } } } }
        return out
    }

    static func targets(_ r: Recorded) -> [TargetBox] {
        stride(from: 0, to: r.values.count, by: 6).map { i in
            TargetBox(image: Int(r.values[i]), classIndex: Int(r.values[i + 1]), x: Float(r.values[i + 2]), y: Float(r.values[i + 3]),
                      w: Float(r.values[i + 4]), h: Float(r.values[i + 5]))
        }
    }

    static func ulps(_ a: Float, _ e: Float) -> Float { a == e ? 0 : abs(a - e) / e.ulp }

    @Test("bbox_iou (CIoU and IoU) and box_iou agree with YOLOv5 within 8 float32 ulps of 1 on 42 box pairs")
    func boxIoU() throws {
        let f = try Self.fixture()["bbox_iou"] as! [String: Any]
        let names = f["names"] as! [String]
        let b1 = try Recorded(f["box1_xywh"]).floats, b2 = try Recorded(f["box2_xywh"]).floats
        let ciou = try Recorded(f["ciou"]).floats, iou = try Recorded(f["iou"]).floats
        for (k, name) in names.enumerated() {
            let a = (b1[4 * k], b1[4 * k + 1], b1[4 * k + 2], b1[4 * k + 3]), b = (b2[4 * k], b2[4 * k + 1], b2[4 * k + 2], b2[4 * k + 3])
            let mineC = BoxGeometry.iou(a, b), mineI = BoxGeometry.iou(a, b, complete: false)
            // Values in [-1, 1]: an error of a few ulps of 1 is float32 rounding of the same formula
            // (atan is the C library's here, PyTorch's SLEEF there).
            for (what, m, e) in [("CIoU", mineC, ciou[k]), ("IoU", mineI, iou[k])] {
                if e.isNaN { #expect(m.isNaN, "\(name) \(what): \(m), YOLOv5 NaN"); continue }
                #expect(abs(m - e) <= 8 * Float.ulpOfOne, "\(name) \(what): \(m), YOLOv5 \(e)")
            }
        }
        let box = f["box_iou"] as! [String: Any]
        let x1 = try Recorded(box["box1_xyxy"]).floats, x2 = try Recorded(box["box2_xyxy"]).floats, m = try Recorded(box["iou"]).floats
        let (n1, n2) = (x1.count / 4, x2.count / 4)
        for i in 0..<n1 {
            for j in 0..<n2 {
                let mine = BoxGeometry.cornerIoU(SIMD4(x1[4 * i], x1[4 * i + 1], x1[4 * i + 2], x1[4 * i + 3]),
                                                 SIMD4(x2[4 * j], x2[4 * j + 1], x2[4 * j + 2], x2[4 * j + 3]))
                #expect(mine.bitPattern == m[i * n2 + j].bitPattern, "box_iou[\(i), \(j)]: \(mine) vs \(m[i * n2 + j])")
            }
        }
    }

    static func loss(_ config: [String: Any], _ c: [String: Any]) throws -> (Tensor, [Tensor], LossComponents, [[SIMD2<Float>]]) {
        let nc = try Fixture.int(config["nc"])
        let strides = try (config["strides"] as! [Any]).map(Fixture.int)
        let px = (config["anchors_px"] as! [[Any]]).map { try! $0.map(Fixture.double) }
        let anchors = px.map { v in stride(from: 0, to: v.count, by: 2).map { SIMD2(Float(v[$0]), Float(v[$0 + 1])) } }
        let h = config["hyp"] as! [String: Any]
        let gains = LossGains(box: try Fixture.double(h["box"]), obj: try Fixture.double(h["obj"]), cls: try Fixture.double(h["cls"]),
                              clsPositiveWeight: try Fixture.double(h["cls_pw"]), objPositiveWeight: try Fixture.double(h["obj_pw"]),
                              anchorThreshold: try Fixture.double(h["anchor_t"]), labelSmoothing: try Fixture.double(h["label_smoothing"]))
        let ps = try (c["p"] as! [Any]).map(Recorded.init)
        let outputs = ps.map { p in
            Tensor(headOutput(p), shape: [p.shape[0], p.shape[2], p.shape[3], p.shape[1] * p.shape[4]], dtype: .float32, requiresGrad: true)
        }
        let (loss, components) = DetectionLoss.compute(outputs, targets: targets(try Recorded(c["targets"])), anchors: anchors,
                                                       strides: strides, classes: nc, gains: gains)
        return (loss, outputs, components, anchors.enumerated().map { i, a in a.map { $0 / Float(strides[i]) } })
    }

    @Test("build_targets gives YOLOv5's matches (image, anchor, cell, class, box, anchor) in its order, bit for bit, in 7 cases")
    func buildTargets() throws {
        var cases = 0
        let configs = (try Self.fixture()["compute_loss"] as! [String: Any])["configs"] as! [String: Any]
            for (configName, configAny) in configs {
                let config = configAny as! [String: Any]
                let grids = try (config["grids"] as! [Any]).map(Fixture.int)
                let strides = try (config["strides"] as! [Any]).map(Fixture.int)
                let px = (config["anchors_px"] as! [[Any]]).map { try! $0.map(Fixture.double) }
                let anchors = px.enumerated().map { i, v in
                    stride(from: 0, to: v.count, by: 2).map { SIMD2(Float(v[$0]), Float(v[$0 + 1])) / Float(strides[i]) }
                }
                let grid = try Recorded(config["anchors_grid"]).floats
                #expect(anchors.joined().flatMap { [$0.x, $0.y] } == grid, "\(configName): anchors in grid units")
                let anchorT = Float(try Fixture.double((config["hyp"] as! [String: Any])["anchor_t"]))
                for c in config["cases"] as! [[String: Any]] {
                    let name = "\(configName)/\(c["name"]!)"
                    let built = TargetAssignment.build(Self.targets(try Recorded(c["targets"])), grids: grids.map { ($0, $0) },
                                                       anchors: anchors, anchorThreshold: anchorT)
                    for (i, layer) in (c["build_targets"] as! [[String: Any]]).enumerated() {
                        let m = built[i]
                        #expect(m.classIndex == (try Recorded(layer["tcls"]).ints), "\(name) layer \(i): tcls")
                        #expect(m.image == (try Recorded(layer["b"]).ints), "\(name) layer \(i): b")
                        #expect(m.anchor == (try Recorded(layer["a"]).ints), "\(name) layer \(i): a")
                        #expect(m.gridY == (try Recorded(layer["gj"]).ints), "\(name) layer \(i): gj")
                        #expect(m.gridX == (try Recorded(layer["gi"]).ints), "\(name) layer \(i): gi")
                        #expect(m.box.flatMap { [$0[0], $0[1], $0[2], $0[3]] }.map(\.bitPattern) == (try Recorded(layer["tbox"]).floats).map(\.bitPattern),
                                "\(name) layer \(i): tbox")
                        #expect(m.anchorSize.flatMap { [$0.x, $0.y] } == (try Recorded(layer["anch"]).floats), "\(name) layer \(i): anch")
                    }
                    cases += 1
                }
            }
        #expect(cases == 7)
    }

    @Test("ComputeLoss: loss * bs, [lbox, lobj, lcls] and the gradient of every prediction equal YOLOv5's to float32 rounding")
    func computeLoss() throws {
        let configs = (try Self.fixture()["compute_loss"] as! [String: Any])["configs"] as! [String: Any]
        var cases = 0
        for (configName, configAny) in configs {
            let config = configAny as! [String: Any]
            for c in config["cases"] as! [[String: Any]] {
                let name = "\(configName)/\(c["name"]!)"
                let (loss, outputs, components, _) = try Self.loss(config, c)
                loss.backward()
                let expected = try Recorded(c["loss"]).values[0], items = try Recorded(c["loss_items"]).values
                // Sums of a few thousand float32 terms in another order: a relative 1e-6.
                #expect(abs(loss.item() - expected) <= 1e-6 * abs(expected), "\(name): loss \(loss.item()) vs YOLOv5 \(expected)")
                for (what, m, e) in [("lbox", components.box, items[0]), ("lobj", components.obj, items[1]), ("lcls", components.cls, items[2])] {
                    #expect(abs(m - e) <= 1e-6 * max(abs(e), 1e-6), "\(name): \(what) \(m) vs YOLOv5 \(e)")
                }
                for (i, g) in try (c["grad"] as! [Any]).map(Recorded.init).enumerated() {
                    let mine = Self.recordedLayout(outputs[i].grad!.doubles, shape: g.shape)
                    // Norm-wise: each element's gradient is a few float32 operations on the
                    // same inputs; measured against the largest gradient of the layer.
                    let scale = g.values.map(abs).max() ?? 1
                    let worst = zip(mine, g.values).map { abs($0 - $1) }.enumerated().max { $0.element < $1.element }!
                    #expect(worst.element <= 1e-5 * scale, "\(name) layer \(i): gradient differs by \(worst.element) at \(worst.offset) (largest \(scale))")
                }
                cases += 1
            }
        }
        #expect(cases == 7)
    }

    @Test("The objectness target of a cell two targets share is the last match's clamped CIoU, as YOLOv5's tobj[b, a, gj, gi] = iou")
    func objectnessTargets() throws {
        // The gradient of the objectness logits is (sigmoid(p) - tobj) * gain / n: recover tobj.
        let configs = (try Self.fixture()["compute_loss"] as! [String: Any])["configs"] as! [String: Any]
        var collisions = 0
        for (configName, configAny) in configs {
            let config = configAny as! [String: Any]
            let nc = try Fixture.int(config["nc"]), balance = try Fixture.doubles(config["balance"])
            let obj = try Fixture.double((config["hyp"] as! [String: Any])["obj"])
            for c in config["cases"] as! [[String: Any]] {
                let (loss, outputs, _, grid) = try Self.loss(config, c)
                loss.backward()
                let tobj = try (c["tobj"] as! [Any]).map(Recorded.init)
                let strides = try (config["strides"] as! [Any]).map(Fixture.int)
                let built = TargetAssignment.build(Self.targets(try Recorded(c["targets"])), grids: outputs.map { ($0.shape[1], $0.shape[2]) },
                                                   anchors: grid, anchorThreshold: 4)
                for (i, out) in outputs.enumerated() {
                    let (bs, ny, nx) = (out.shape[0], out.shape[1], out.shape[2]), na = grid[i].count, no = nc + 5
                    let cells = bs * ny * nx * na
                    let raw = out.doubles, g = out.grad!.doubles
                    let scale = obj * balance[i] * Double(bs) / Double(cells)
                    var seen: [Int: Int] = [:]
                    for k in 0..<built[i].count {
                        let cell = ((built[i].image[k] * ny + built[i].gridY[k]) * nx + built[i].gridX[k]) * na + built[i].anchor[k]
                        seen[cell, default: 0] += 1
                    }
                    for (cell, count) in seen where count > 1 {
                        collisions += 1
                        let (rest, a) = cell.quotientAndRemainder(dividingBy: na)
                        let (rest2, x) = rest.quotientAndRemainder(dividingBy: nx)
                        let (b, y) = rest2.quotientAndRemainder(dividingBy: ny)
                        let recorded = tobj[i].values[((b * na + a) * ny + y) * nx + x]
                        let sigma = 1 / (1 + Foundation.exp(-raw[cell * no + 4]))
                        let mine = sigma - g[cell * no + 4] / scale
                        #expect(abs(mine - recorded) <= 1e-4, "\(configName)/\(c["name"]!) layer \(i) cell \(cell) (stride \(strides[i])): tobj \(mine) vs YOLOv5 \(recorded)")
                    }
                }
            }
        }
        #expect(collisions >= 5, "the fixtures exercise shared cells (\(collisions))")
    }

    @Test("Detect's biases start as Model._initialize_biases sets them (its 640 included), bit for bit")
    func initializeBiases() throws {
        for c in (try Self.fixture()["initialize_biases"] as! [String: Any])["cases"] as! [[String: Any]] {
            let nc = try Fixture.int(c["nc"]), na = try Fixture.int(c["na"])
            let strides = try (c["strides"] as! [Any]).map(Fixture.int)
            let before = try (c["bias_before"] as! [Any]).map(Recorded.init), after = try (c["bias_after"] as! [Any]).map(Recorded.init)
            for i in strides.indices {
                let mine = Detect.initialBiases(before[i].floats, classes: nc, anchorsPerScale: na, stride: strides[i])
                #expect(mine.map(\.bitPattern) == after[i].floats.map(\.bitPattern), "\(c["name"]!) stride \(strides[i]): \(mine) vs \(after[i].floats)")
            }
        }
    }

    @Test("Detect's eval decode (grid, stride, anchor_grid) is within 4 float32 ulps of the exact decode, and YOLOv5's within 16")
    func decode() throws {
        for c in (try Self.fixture()["detect_decode"] as! [String: Any])["cases"] as! [[String: Any]] {
            let nc = try Fixture.int(c["nc"]), no = nc + 5
            let strides = try (c["strides"] as! [Any]).map(Fixture.int)
            let anchors = (c["anchors_px"] as! [[Any]]).map { v in
                stride(from: 0, to: v.count, by: 2).map { SIMD2(Float(try! Fixture.double(v[$0])), Float(try! Fixture.double(v[$0 + 1]))) }
            }
            let xs = try (c["x"] as! [Any]).map(Recorded.init)
            let outputs = xs.map { x -> Tensor in
                let (n, ch, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
                return Tensor(ConvOpsTests.channelsLast(x.values, n, ch, h, w), shape: [n, h, w, ch])
            }
            let rows = NonMaxSuppression.decode(outputs, anchors: anchors, strides: strides, classes: nc)
            let z = try Recorded(c["z"])
            let mine = rows.flatMap { $0.flatMap { $0 } }
            #expect(mine.count == z.values.count)
            // The exact decode in Double, row by row in YOLOv5's order, and the size of its largest
            // term: PyTorch's vectorised sigmoid (SLEEF's exp and a reciprocal) and the C library's
            // each err by an ulp or two, which xy's cancellation against the grid and wh's square
            // carry into the result in units of the terms, not of the (possibly tiny) result.
            var exact: [(value: Double, scale: Double)] = []
            for b in 0..<outputs[0].shape[0] {
                for (i, out) in outputs.enumerated() {
                    let (ny, nx, raw) = (out.shape[1], out.shape[2], out.doubles)
                    let s = Double(strides[i])
                    for a in 0..<anchors[i].count { for y in 0..<ny { for x in 0..<nx {
                        let base = ((b * ny + y) * nx + x) * anchors[i].count * no + a * no
                        let sig = (0..<no).map { 1 / (1 + Foundation.exp(-raw[base + $0])) }
                        let grid = [Double(Float(anchors[i][a].x) / Float(s) * Float(s)), Double(Float(anchors[i][a].y) / Float(s) * Float(s))]
                        exact.append(((2 * sig[0] + Double(x) - 0.5) * s, max(2 * sig[0] * s, abs(Double(x) - 0.5) * s)))
                        exact.append(((2 * sig[1] + Double(y) - 0.5) * s, max(2 * sig[1] * s, abs(Double(y) - 0.5) * s)))
                        exact.append((4 * sig[2] * sig[2] * grid[0], 4 * sig[2] * sig[2] * grid[0]))
                        exact.append((4 * sig[3] * sig[3] * grid[1], 4 * sig[3] * sig[3] * grid[1]))
                        for k in 4..<no { exact.append((sig[k], sig[k])) }
                    } } }
                }
            }
            for (k, e) in exact.enumerated() {
                let ulp = Double(Float(e.scale).ulp)
                #expect(abs(Double(mine[k]) - e.value) <= 4 * ulp, "\(c["name"]!) value \(k): \(mine[k]), exact \(e.value)")
                #expect(abs(z.values[k] - e.value) <= 16 * ulp, "\(c["name"]!) value \(k): YOLOv5 \(z.values[k]), exact \(e.value)")
            }
        }
    }

    @Test("non_max_suppression keeps YOLOv5's detections in its order, with val.py's and detect.py's settings")
    func nms() throws {
        let f = try Self.fixture()["nms"] as! [String: Any]
        let prediction = try Recorded(f["prediction"])
        let (bs, n, width) = (prediction.shape[0], prediction.shape[1], prediction.shape[2])
        for s in f["settings"] as! [[String: Any]] {
            for b in 0..<bs {
                let rows = (0..<n).map { r in (0..<width).map { Float(prediction.values[(b * n + r) * width + $0]) } }
                let kept = NonMaxSuppression.run(rows, confidenceThreshold: try Fixture.double(s["conf_thres"]),
                                                 iouThreshold: try Fixture.double(s["iou_thres"]), multiLabel: s["multi_label"] as! Bool,
                                                 maximumDetections: try Fixture.int(s["max_det"]))
                let expected = try Recorded((s["output"] as! [Any])[b])
                let mine = kept.flatMap { [$0.box[0], $0.box[1], $0.box[2], $0.box[3], $0.confidence, Float($0.classIndex)] }
                #expect(mine.map(\.bitPattern) == expected.floats.map(\.bitPattern), "\(s["name"]!) image \(b): \(kept.count) kept, YOLOv5 \(expected.shape[0])")
            }
        }
    }

    static func detections(_ r: Recorded) -> [Detection] {
        stride(from: 0, to: r.values.count, by: 6).map { i in
            let v = r.floats
            return Detection(box: SIMD4(v[i], v[i + 1], v[i + 2], v[i + 3]), confidence: v[i + 4], classIndex: Int(v[i + 5]))
        }
    }

    @Test("val.py's process_batch marks the same detections correct at the same IoU thresholds (torch.linspace's float32 thresholds)")
    func processBatch() throws {
        let f = try Self.fixture()["process_batch"] as! [String: Any]
        #expect(DetectionMetrics.iouThresholds.map(\.bitPattern) == (try Recorded(f["iouv"])).floats.map(\.bitPattern))
        for image in f["images"] as! [[String: Any]] {
            let labels = try Recorded(image["labels"]).floats
            let boxes = stride(from: 0, to: labels.count, by: 5).map { i -> LabelBox in
                let corners = SIMD4<Float>(labels[i + 1], labels[i + 2], labels[i + 3], labels[i + 4])
                return LabelBox(classIndex: Int(labels[i]), box: corners)
            }
            let correct = DetectionMetrics.matches(Self.detections(try Recorded(image["detections"])), labels: boxes)
            let expected = try Recorded(image["correct"]).values.map { $0 != 0 }
            #expect(correct.flatMap { $0 } == expected, "\(image["name"]!)")
        }
    }

    static func checkAP(_ inputs: [String: Any], _ outputs: [String: Any], _ name: String) throws {
        let tp = try Recorded(inputs["tp"])
        let correct = stride(from: 0, to: tp.values.count, by: 10).map { i in (0..<10).map { tp.values[i + $0] != 0 } }
        let result = try DetectionMetrics.perClass(correct: correct, confidence: try Recorded(inputs["conf"]).floats,
                                                   predictedClass: try Recorded(inputs["pred_cls"]).ints,
                                                   targetClass: try Recorded(inputs["target_cls"]).ints)
        #expect(result.classes == (try Recorded(outputs["ap_class"]).ints), "\(name): classes")
        let ap = try Recorded(outputs["ap"]).values
        #expect(result.ap.flatMap { $0 }.map(\.bitPattern) == ap.map(\.bitPattern), "\(name): ap \(result.ap.flatMap { $0 }) vs \(ap)")
        let columns: [(String, [Double])] = [("p", result.precision), ("r", result.recall), ("f1", result.f1),
                                             ("tp", result.truePositives), ("fp", result.falsePositives)]
        for (key, mine) in columns {
            let what = key
            let e = try Recorded(outputs[key]).values
            #expect(mine.map(\.bitPattern) == e.map(\.bitPattern), "\(name): \(what) \(mine) vs \(e)")
        }
    }

    @Test("ap_per_class equals YOLOv5's AP, P, R, F1, TP and FP bit for bit (NumPy's interp and pairwise sums), and val.py's summary")
    func apPerClass() throws {
        let f = try Self.fixture()
        let single = f["ap_per_class"] as! [String: Any]
        try Self.checkAP(single["inputs"] as! [String: Any], single["outputs"] as! [String: Any], "fixed")
        for set in (f["ap_per_class_random"] as! [String: Any])["sets"] as! [[String: Any]] {
            try Self.checkAP(set["inputs"] as! [String: Any], set["outputs"] as! [String: Any], set["name"] as! String)
        }
        let inputs = single["inputs"] as! [String: Any]
        let tp = try Recorded(inputs["tp"])
        let summary = try DetectionMetrics.summarize(
            correct: stride(from: 0, to: tp.values.count, by: 10).map { i in (0..<10).map { tp.values[i + $0] != 0 } },
            confidence: try Recorded(inputs["conf"]).floats, predictedClass: try Recorded(inputs["pred_cls"]).ints,
            targetClass: try Recorded(inputs["target_cls"]).ints)
        let v = single["val_summary"] as! [String: Any]
        #expect(summary.precision == (try Fixture.double(v["mp"])))
        #expect(summary.recall == (try Fixture.double(v["mr"])))
        #expect(summary.map50 == (try Fixture.double(v["map50"])))
        #expect(summary.map == (try Fixture.double(v["map"])))
        let fitness = f["fitness"] as! [String: Any]
        let x = try Recorded(fitness["x"]).values, expected = try Recorded(fitness["fitness"]).values
        for (k, e) in expected.enumerated() {
            let m = DetectionMetrics(precision: x[7 * k], recall: x[7 * k + 1], map50: x[7 * k + 2], map: x[7 * k + 3])
            #expect(m.fitness.bitPattern == e.bitPattern, "fitness row \(k): \(m.fitness) vs \(e)")
        }
    }

    @Test("ModelEMA's average of parameters and BatchNorm statistics equals YOLOv5's bit for bit over 5 updates (tau 2000 and 2)")
    func modelEMA() throws {
        for run in (try Self.fixture()["model_ema"] as! [String: Any])["runs"] as! [[String: Any]] {
            let initial = run["initial"] as! [String: Any]
            let keys = initial.keys.filter { ((initial[$0] as! [String: Any])["dtype"] as! String) == "float32" }.sorted()
            var ema = ModelEMA(try keys.map { try Recorded(initial[$0]).floats }, decay: try Fixture.double(run["decay"]), tau: try Fixture.double(run["tau"]))
            for step in run["steps"] as! [[String: Any]] {
                let model = step["model"] as! [String: Any], expected = step["ema"] as! [String: Any]
                ema.update(with: try keys.map { try Recorded(model[$0]).floats })
                #expect(ema.updates == (try Fixture.int(step["updates"])))
                #expect(ModelEMA.decay(updates: ema.updates, decay: ema.decay, tau: ema.tau) == (try Fixture.double(step["d"])))
                for (k, key) in keys.enumerated() {
                    #expect(ema.values[k].map(\.bitPattern) == (try Recorded(expected[key]).floats).map(\.bitPattern), "\(run["name"]!) update \(ema.updates): \(key)")
                }
            }
        }
    }
}

extension DetectorFixtureTests {
    @Test("the three parameter groups hold the same parameters in the same order as YOLOv5's smart_optimizer, with its decays")
    func smartOptimizer() throws {
        let f = try Self.fixture()["smart_optimizer"] as! [String: Any]
        // The fixture's model: Conv(3,4,3,2), Conv(4,8,3,2), Conv(8,8,1,1), Conv(8,16,3,2), Detect(nc=3, ch=[8, 16]).
        var rng = SplitMix64(seed: 1)
        let blocks = [(3, 4, 3, 2), (4, 8, 3, 2), (8, 8, 1, 1), (8, 16, 3, 2)].enumerated().map { k, c in
            ConvBlock(c.0, c.1, kernel: c.2, stride: c.3, dtype: .float32, name: "model.\(k)", using: &rng)
        }
        let detect = Detect(classes: 3, anchors: DetectorTrainer.defaultAnchors, strides: [8, 16], channels: [8, 16], dtype: .float32,
                            name: "model.4", using: &rng)
        let named = blocks.flatMap(\.namedParameters) + detect.namedParameters
        #expect(named.map(\.name) == (f["named_parameters"] as! [String]))
        let groups = ParameterGroups(named)
        let byTensor = Dictionary(uniqueKeysWithValues: named.map { (ObjectIdentifier($0.tensor), $0.name) })
        let mine = [groups.biases, groups.weights, groups.normWeights].map { $0.map { byTensor[ObjectIdentifier($0)]! } }
        let expected = (f["param_groups"] as! [[String: Any]]).map { $0["params"] as! [String] }
        #expect(mine == expected)
        let optimizer = try yolov5Optimizer(.sgd, biases: groups.biases, weights: groups.weights, normWeights: groups.normWeights,
                                            hyp: ScheduleHyperparameters(), batchSize: 64, nominalBatchSize: 64)
        let decays = try (f["param_groups"] as! [[String: Any]]).map { try Fixture.double($0["weight_decay"]) }
        #expect(optimizer.groups.map(\.weightDecay) == decays)
    }
}
