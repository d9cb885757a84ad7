import HalfTraceOptim

/// A ground-truth box for the metrics: its class and corners in pixels.
public struct LabelBox: Sendable, Equatable, Codable {
    /// The class index.
    public var classIndex: Int
    /// (x1, y1, x2, y2) in pixels.
    public var box: SIMD4<Float>

    /// A label of `classIndex` at `box`.
    public init(classIndex: Int, box: SIMD4<Float>) {
        self.classIndex = classIndex
        self.box = box
    }
}

/// YOLOv5's validation metrics (`val.py` and `utils/metrics.py`, v7.0): precision and recall at
/// the maximum of the mean F1 curve, mAP@0.5 and mAP@0.5:0.95 from 101-point interpolated AP,
/// and the fitness 0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95.
public struct DetectionMetrics: Sendable, Equatable, Codable {
    /// mp: the mean over classes of the precision at the best mean-F1 confidence.
    public var precision: Double
    /// mr: the mean over classes of the recall at the best mean-F1 confidence.
    public var recall: Double
    /// map50: the mean over classes of AP at IoU 0.5.
    public var map50: Double
    /// map: the mean over classes of AP averaged over IoU 0.5, 0.55, ..., 0.95.
    public var map: Double

    /// Metrics from their values.
    public init(precision: Double, recall: Double, map50: Double, map: Double) {
        self.precision = precision
        self.recall = recall
        self.map50 = map50
        self.map = map
    }

    /// YOLOv5's `fitness`: the weights [0, 0, 0.1, 0.9] over [P, R, mAP@0.5, mAP@0.5:0.95],
    /// summed in that order from 0 as NumPy's `sum(1)` of four values does.
    public var fitness: Double { 0.0 + 0.0 * precision + 0.0 * recall + 0.1 * map50 + 0.9 * map }

    /// The ten IoU thresholds, `torch.linspace(0.5, 0.95, 10)` in float32: start + i * step for
    /// the first half, end - (steps - 1 - i) * step for the second, step = (end - start) / 9.
    public static let iouThresholds: [Float] = {
        let (start, end, steps) = (Float(0.5), Float(0.95), 10)
        let step = (end - start) / Float(steps - 1)
        return (0..<steps).map { i in i < steps / 2 ? start + Float(i) * step : end - Float(steps - 1 - i) * step }
    }()

    /// val.py's `process_batch`: for each detection (sorted by confidence, highest first), whether
    /// it is a true positive at each IoU threshold. At each threshold the (label, detection) pairs
    /// of matching class with IoU >= t are sorted by IoU, highest first; each detection keeps its
    /// best pair, and then each label the detection of lowest index (highest confidence) among
    /// those.
    public static func matches(_ detections: [Detection], labels: [LabelBox]) -> [[Bool]] {
        var correct = [[Bool]](repeating: [Bool](repeating: false, count: iouThresholds.count), count: detections.count)
        guard !labels.isEmpty, !detections.isEmpty else { return correct }
        let iou = labels.map { l in detections.map { BoxGeometry.cornerIoU(l.box, $0.box) } }
        for (t, threshold) in iouThresholds.enumerated() {
            var pairs: [(label: Int, detection: Int, iou: Float)] = []
            for (l, label) in labels.enumerated() {
                for (d, detection) in detections.enumerated() where iou[l][d] >= threshold && label.classIndex == detection.classIndex {
                    pairs.append((l, d, iou[l][d]))
                }
            }
            if pairs.count > 1 {
                // matches[matches[:, 2].argsort()[::-1]]: ascending by IoU, then reversed.
                let ascending = pairs.indices.sorted { pairs[$0].iou < pairs[$1].iou || (pairs[$0].iou == pairs[$1].iou && $0 < $1) }
                pairs = ascending.reversed().map { pairs[$0] }
                pairs = firstOfEach(pairs, by: \.detection)
                pairs = firstOfEach(pairs, by: \.label)
            }
            for p in pairs { correct[p.detection][t] = true }
        }
        return correct
    }

    /// `a[np.unique(a[:, k], return_index=True)[1]]`: the first row of each key, ordered by key.
    static func firstOfEach(_ rows: [(label: Int, detection: Int, iou: Float)],
                            by key: KeyPath<(label: Int, detection: Int, iou: Float), Int>) -> [(label: Int, detection: Int, iou: Float)] {
        var first: [Int: Int] = [:]
        for (i, r) in rows.enumerated() where first[r[keyPath: key]] == nil { first[r[keyPath: key]] = i }
        return first.keys.sorted().map { rows[first[$0]!] }
    }

    /// The per-class results of `ap_per_class`.
    public struct PerClass: Sendable, Equatable {
        /// The classes that have labels, ascending (`unique_classes`).
        public var classes: [Int]
        /// AP per class and IoU threshold.
        public var ap: [[Double]]
        /// Precision per class at the chosen confidence.
        public var precision: [Double]
        /// Recall per class at the chosen confidence.
        public var recall: [Double]
        /// F1 per class at the chosen confidence.
        public var f1: [Double]
        /// True positives per class, round(r * labels).
        public var truePositives: [Double]
        /// False positives per class, round(tp / (p + eps) - tp).
        public var falsePositives: [Double]
    }

    /// `ap_per_class(tp, conf, pred_cls, target_cls)` (v7.0), eps 1e-16: detections sorted by
    /// confidence (stable), per class with labels the cumulative TP/FP curves, recall
    /// tpc / (n_l + eps), precision tpc / (tpc + fpc), 1000-point precision and recall curves by
    /// `np.interp` over -conf, AP by `compute_ap`, and P, R, F1 at the maximum of the mean F1
    /// curve smoothed by a 101-point box filter. A class with no detections or no labels keeps
    /// zeros.
    public static func perClass(correct: [[Bool]], confidence: [Float], predictedClass: [Int], targetClass: [Int]) throws -> PerClass {
        let eps = 1e-16
        let order = confidence.indices.sorted { confidence[$0] > confidence[$1] || (confidence[$0] == confidence[$1] && $0 < $1) }
        let classes = Array(Set(targetClass)).sorted()
        let counts = classes.map { c in targetClass.filter { $0 == c }.count }
        let px = (0..<1000).map { Double($0) * (1.0 / 999) }
        let thresholds = iouThresholds.count
        var ap = [[Double]](repeating: [Double](repeating: 0, count: thresholds), count: classes.count)
        var p = [[Double]](repeating: [Double](repeating: 0, count: 1000), count: classes.count)
        var r = p
        for (ci, c) in classes.enumerated() {
            let rows = order.filter { predictedClass[$0] == c }
            let nl = Double(counts[ci])
            guard !rows.isEmpty, nl > 0 else { continue }
            let negConf = rows.map { -Double(confidence[$0]) }
            var tpc = [[Double]](repeating: [], count: thresholds), fpc = tpc
            for t in 0..<thresholds {
                var tp = 0.0, fp = 0.0
                for row in rows {
                    if correct[row][t] { tp += 1 } else { fp += 1 }
                    tpc[t].append(tp)
                    fpc[t].append(fp)
                }
            }
            let recall = tpc.map { $0.map { $0 / (nl + eps) } }
            let precision = (0..<thresholds).map { t in zip(tpc[t], fpc[t]).map { $0 / ($0 + $1) } }
            let rCurve = try Interpolation(xp: negConf, fp: recall[0], left: 0)
            let pCurve = try Interpolation(xp: negConf, fp: precision[0], left: 1)
            r[ci] = px.map { rCurve(-$0) }
            p[ci] = px.map { pCurve(-$0) }
            for t in 0..<thresholds { ap[ci][t] = try averagePrecision(recall: recall[t], precision: precision[t]) }
        }
        let f1 = (0..<classes.count).map { ci in (0..<1000).map { 2 * p[ci][$0] * r[ci][$0] / (p[ci][$0] + r[ci][$0] + eps) } }
        let meanF1 = (0..<1000).map { i in NumPySum.pairwise(f1.map { $0[i] }) / Double(max(classes.count, 1)) }
        let smoothed = smooth(meanF1, fraction: 0.1)
        var best = 0
        for i in smoothed.indices where smoothed[i] > smoothed[best] { best = i }
        let pi = p.map { $0[best] }, ri = r.map { $0[best] }, fi = f1.map { $0[best] }
        let tp = zip(ri, counts).map { roundHalfEven($0 * Double($1)) }
        let fp = zip(tp, pi).map { roundHalfEven($0 / ($1 + eps) - $0) }
        return PerClass(classes: classes, ap: ap, precision: pi, recall: ri, f1: fi, truePositives: tp, falsePositives: fp)
    }

    /// `compute_ap`: the precision envelope of (0, recall..., 1) x (1, precision..., 0), then
    /// `np.trapz(np.interp(x, mrec, mpre), x)` over x = linspace(0, 1, 101).
    public static func averagePrecision(recall: [Double], precision: [Double]) throws -> Double {
        let mrec = [0.0] + recall + [1.0]
        var mpre = [1.0] + precision + [0.0]
        for i in stride(from: mpre.count - 2, through: 0, by: -1) { mpre[i] = Swift.max(mpre[i], mpre[i + 1]) }
        let envelope = try Interpolation(xp: mrec, fp: mpre)
        let x = (0..<101).map { Double($0) * (1.0 / 100) }
        let y = x.map { envelope($0) }
        let areas = (0..<100).map { i -> Double in
            let width: Double = x[i + 1] - x[i], heights: Double = y[i + 1] + y[i]
            return width * heights / 2.0
        }
        return NumPySum.pairwise(areas)
    }

    /// `smooth(y, f)`: a box filter of nf = round(len * f * 2) // 2 + 1 points over y padded at both
    /// ends with its end values (`np.convolve(..., mode='valid')`), each window summed in order.
    static func smooth(_ y: [Double], fraction: Double) -> [Double] {
        let nf = Int(roundHalfEven(Double(y.count) * fraction * 2)) / 2 + 1
        let pad = nf / 2
        let padded = [Double](repeating: y[0], count: pad) + y + [Double](repeating: y[y.count - 1], count: pad)
        let w = 1.0 / Double(nf)
        return (0..<(padded.count - nf + 1)).map { i in
            var s = 0.0
            for k in 0..<nf { s += padded[i + k] * w }
            return s
        }
    }

    /// val.py's summary of the statistics of every image: `ap_per_class` over the concatenation,
    /// then mp, mr, map50 and map as the means over the classes with labels; all zero when no
    /// detection is correct at IoU 0.5 anywhere (`stats[0].any()` is false).
    public static func summarize(correct: [[Bool]], confidence: [Float], predictedClass: [Int], targetClass: [Int]) throws -> DetectionMetrics {
        guard correct.contains(where: { $0.contains(true) }) else { return DetectionMetrics(precision: 0, recall: 0, map50: 0, map: 0) }
        let result = try perClass(correct: correct, confidence: confidence, predictedClass: predictedClass, targetClass: targetClass)
        let n = Double(result.classes.count)
        let ap50 = result.ap.map { $0[0] }
        let apMean = result.ap.map { NumPySum.pairwise($0) / Double($0.count) }
        return DetectionMetrics(precision: NumPySum.pairwise(result.precision) / n, recall: NumPySum.pairwise(result.recall) / n,
                                map50: NumPySum.pairwise(ap50) / n, map: NumPySum.pairwise(apMean) / n)
    }
}

/// NumPy's float64 `add.reduce` on a contiguous array (`pairwise_sum`,
/// `numpy/_core/src/umath/loops_utils.h.src`): fewer than 8 values in order from -0.0; up to 128 with eight running sums combined as
/// ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), the rest in order; larger arrays split in
/// two halves at a multiple of 8 and summed recursively.
public enum NumPySum {
    /// The pairwise sum of `values`, bit for bit as NumPy's.
    public static func pairwise(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.withUnsafeBufferPointer { sum($0[...]) }
    }

    static func sum(_ a: Slice<UnsafeBufferPointer<Double>>) -> Double {
        let n = a.count, base = a.startIndex
        if n < 8 {
            var res = -0.0
            for i in 0..<n { res += a[base + i] }
            return res
        }
        if n <= 128 {
            var r = (0..<8).map { a[base + $0] }
            var i = 8
            while i < n - (n % 8) {
                for k in 0..<8 { r[k] += a[base + i + k] }
                i += 8
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n { res += a[base + i]; i += 1 }
            return res
        }
        var n2 = n / 2
        n2 -= n2 % 8
        return sum(a[base..<(base + n2)]) + sum(a[(base + n2)..<(base + n)])
    }
}
