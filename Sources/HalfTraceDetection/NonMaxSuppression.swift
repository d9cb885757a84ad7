import Foundation
import HalfTraceAutograd

/// One detection: a corner box in pixels, its confidence (objectness * class probability) and class.
public struct Detection: Sendable, Equatable, Codable {
    /// (x1, y1, x2, y2) in pixels.
    public var box: SIMD4<Float>
    /// obj * cls confidence.
    public var confidence: Float
    /// The class index.
    public var classIndex: Int

    /// A detection of `classIndex` with `confidence` at `box`.
    public init(box: SIMD4<Float>, confidence: Float, classIndex: Int) {
        self.box = box
        self.confidence = confidence
        self.classIndex = classIndex
    }
}

/// YOLOv5's inference decode and `non_max_suppression` (v7.0, `models/yolo.py` and
/// `utils/general.py`).
public enum NonMaxSuppression {
    /// YOLOv5's class offset in batched NMS (`max_wh`, pixels).
    public static let classOffset: Float = 7680
    /// The most boxes YOLOv5 passes to NMS (`max_nms`).
    public static let maximumCandidates = 30000

    /// Detect's eval-mode decode of raw head outputs (NHWC [n, ny, nx, na * no] per scale), per
    /// image, as rows of 5 + nc values (x, y, w, h in pixels, objectness, class probabilities) in
    /// YOLOv5's order (scale, anchor, row, column):
    ///
    ///     y = sigmoid(p);  xy = (y[0:2] * 2 + grid) * stride, grid = (x - 0.5, y - 0.5)
    ///     wh = (y[2:4] * 2) ** 2 * anchor_grid, anchor_grid = (anchor / stride) * stride in float32
    public static func decode(_ outputs: [Tensor], anchors: [[SIMD2<Float>]], strides: [Int], classes nc: Int) -> [[[Float]]] {
        let no = nc + 5, na = anchors[0].count
        let bs = outputs[0].shape[0]
        var images = [[[Float]]](repeating: [], count: bs)
        for (i, output) in outputs.enumerated() {
            let (ny, nx) = (output.shape[1], output.shape[2])
            let raw = output.storage.floats
            let stride = Float(strides[i])
            let anchorGrid = anchors[i].map { ($0 / stride) * stride }
            for b in 0..<bs {
                for a in 0..<na {
                    for y in 0..<ny {
                        for x in 0..<nx {
                            let base = ((b * ny + y) * nx + x) * na * no + a * no
                            var row = (0..<no).map { k in 1 / (1 + expf(-raw[base + k])) }
                            row[0] = (row[0] * 2 + (Float(x) - 0.5)) * stride
                            row[1] = (row[1] * 2 + (Float(y) - 0.5)) * stride
                            row[2] = (row[2] * 2) * (row[2] * 2) * anchorGrid[a].x
                            row[3] = (row[3] * 2) * (row[3] * 2) * anchorGrid[a].y
                            images[b].append(row)
                        }
                    }
                }
            }
        }
        return images
    }

    /// `non_max_suppression(prediction, conf_thres, iou_thres, multi_label=multiLabel, max_det)`
    /// for one image's decoded rows (x, y, w, h, obj, class probabilities):
    ///
    ///     keep rows with obj > conf_thres;  cls *= obj  (float32)
    ///     multi_label (nc > 1): one candidate per (row, class) with cls > conf_thres, row-major
    ///     otherwise the best class per row (first on ties) if > conf_thres
    ///     sort by confidence, highest first (ties keep row order), at most 30000
    ///     torchvision's greedy NMS on boxes offset by class * 7680: suppress a later box whose
    ///     IoU with a kept one exceeds iou_thres (float32 IoU, compared in Double)
    ///     keep at most max_det
    ///
    /// YOLOv5 also stops NMS after a wall-clock limit (0.5 s + 0.05 s per image); HalfTrace never
    /// does, so its result does not depend on the machine's speed.
    public static func run(_ rows: [[Float]], confidenceThreshold: Double, iouThreshold: Double, multiLabel: Bool,
                           maximumDetections: Int = 300) -> [Detection] {
        guard let first = rows.first else { return [] }
        let nc = first.count - 5
        let conf = Float(confidenceThreshold)
        var candidates: [Detection] = []
        for row in rows where row[4] > conf {
            let (x, y, w, h) = (row[0], row[1], row[2], row[3])
            let box = SIMD4(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            let scores = (0..<nc).map { row[5 + $0] * row[4] }
            if multiLabel && nc > 1 {
                for (c, s) in scores.enumerated() where s > conf { candidates.append(Detection(box: box, confidence: s, classIndex: c)) }
            } else {
                var best = 0
                for c in 1..<max(nc, 1) where scores[c] > scores[best] { best = c }
                if scores[best] > conf { candidates.append(Detection(box: box, confidence: scores[best], classIndex: best)) }
            }
        }
        let order = candidates.indices.sorted { candidates[$0].confidence > candidates[$1].confidence || (candidates[$0].confidence == candidates[$1].confidence && $0 < $1) }
        let sorted = order.prefix(maximumCandidates).map { candidates[$0] }
        let boxes = sorted.map { $0.box + SIMD4(repeating: Float($0.classIndex) * classOffset) }
        let areas = boxes.map { ($0[2] - $0[0]) * ($0[3] - $0[1]) }
        var suppressed = [Bool](repeating: false, count: sorted.count)
        var kept: [Detection] = []
        for i in sorted.indices where !suppressed[i] {
            kept.append(sorted[i])
            if kept.count == maximumDetections { break }
            let a = boxes[i]
            for j in (i + 1)..<sorted.count where !suppressed[j] {
                let b = boxes[j]
                let w = Swift.max(0, Swift.min(a[2], b[2]) - Swift.max(a[0], b[0]))
                let h = Swift.max(0, Swift.min(a[3], b[3]) - Swift.max(a[1], b[1]))
                let inter = w * h
                let overlap = inter / (areas[i] + areas[j] - inter)
                if Double(overlap) > iouThreshold { suppressed[j] = true }
            }
        }
        return kept
    }
}
