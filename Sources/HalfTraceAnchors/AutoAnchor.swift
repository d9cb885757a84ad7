import HalfTraceKernels

/// An anchor or label size in pixels.
public struct AnchorSize: Equatable, Sendable, Codable {
    public var w: Double
    public var h: Double
    public init(_ w: Double, _ h: Double) {
        self.w = w
        self.h = h
    }
    public var area: Double { w * h }
}

/// YOLOv5's anchor metrics for a set of anchors on a set of labels (`utils/autoanchor.py`, v7.0).
public struct AnchorMetrics: Equatable, Sendable, Codable {
    /// Best possible recall: the fraction of labels whose best anchor ratio exceeds 1/thr.
    public var bpr: Double
    /// Anchors above threshold: the mean number of anchors per label with ratio above 1/thr.
    public var aat: Double
    /// kmean_anchors' fitness: mean over labels of best * (best > 1/thr).
    public var fitness: Double
}

/// The outcome of `AutoAnchor.search`.
public struct AnchorSearch: Sendable {
    /// Anchors sorted by area, small to large.
    public var anchors: [AnchorSize]
    public var metrics: AnchorMetrics
    /// The k-means anchors the genetic search started from, and their metrics.
    public var kmeans: [AnchorSize]
    public var kmeansMetrics: AnchorMetrics
    /// Best fitness after each generation (entry 0: the k-means start).
    public var fitnessHistory: [Double]
    /// Labels used by the search (at least one side >= 2 px, as YOLOv5 keeps them) and labels filtered out.
    public var labelsUsed: Int
    public var labelsFiltered: Int
}

/// YOLOv5's AutoAnchor (`utils/autoanchor.py`, v7.0) in HalfTrace.
///
/// The metric is computed in Float32 exactly as YOLOv5's torch code does (label sizes rounded to
/// Float32, r = wh / k, x = min(r, 1/r) minimised over (w, h), compared with 1/thr), so bpr and
/// aat agree with it element for element. The search follows `kmean_anchors`: drop labels with
/// both sides < 2 px, whiten by the per-axis standard deviation, k-means with 30 restarts, then
/// `gen` generations of multiplicative mutation (probability 0.9, sigma 0.1, clip 0.3...3.0,
/// anchors clipped to >= 2 px), accepted only on a strictly higher fitness.
///
/// Where HalfTrace departs, and why: k-means re-seeds an empty cluster with the point farthest
/// from its centre (scipy drops it, and YOLOv5 then falls back to random anchors); and the
/// genetic search runs 2 chains from the two k-means restarts of best *fitness*, each drawing 2
/// mutations per generation (YOLOv5: one chain from the best-distortion restart, one mutation).
/// Every mutation is YOLOv5's. With one chain and one mutant the search is YOLOv5's and ends,
/// over 10 seeds on very elongated boxes, at mean fitness 0.7757 (YOLOv5 itself: 0.7766 over 5
/// seeds, worst 0.7754); with 2 x 2 at mean 0.7775, worst 0.7771: never below YOLOv5's mean. The
/// four evaluations per generation cost little because the metric is vectorised (C kernel).
public enum AutoAnchor {
    /// YOLOv5's default anchors (pixels), P3/8, P4/16, P5/32.
    public static let yolov5Default: [AnchorSize] = [
        AnchorSize(10, 13), AnchorSize(16, 30), AnchorSize(33, 23), AnchorSize(30, 61), AnchorSize(62, 45), AnchorSize(59, 119),
        AnchorSize(116, 90), AnchorSize(156, 198), AnchorSize(373, 326),
    ]
    public static let strides = [8, 16, 32]

    /// Label sizes in pixels: (w, h) * imgSize * shape / max(shape) per image, times one
    /// U(0.9, 1.1) factor per image drawn from `jitterSeed` when given (check_anchors' augment scale); the Float64
    /// product is rounded to Float32 as YOLOv5's `.float()` does.
    public static func labelSizes(_ d: YOLODataset, imgSize: Int, jitterSeed: UInt64? = nil) -> [SIMD2<Float>] {
        var rng = SplitMix64(seed: jitterSeed ?? 0)
        var out: [SIMD2<Float>] = []
        out.reserveCapacity(d.labelCount)
        for image in d.images {
            let m = max(image.width, image.height)
            let scale = jitterSeed == nil ? 1.0 : rng.nextUniform(0.9, 1.1)
            let sw = Double(imgSize) * image.width / m * scale, sh = Double(imgSize) * image.height / m * scale
            for b in image.boxes { out.append(SIMD2(Float(Double(b.w) * sw), Float(Double(b.h) * sh))) }
        }
        return out
    }

    /// Label sizes as two arrays (the layout the C kernel reads).
    struct Labels {
        var w: [Float]
        var h: [Float]
        init(_ wh: [SIMD2<Float>]) {
            w = wh.map(\.x)
            h = wh.map(\.y)
        }
        var count: Int { w.count }
    }

    /// For each label, the best anchor ratio, and the number of (label, anchor) pairs above
    /// `thr` (YOLOv5's Float32 arithmetic, in `ElementKernels.anchorBest`).
    static func ratios(_ labels: Labels, _ anchors: [SIMD2<Float>], thr: Float) -> (best: [Float], above: Int) {
        let aw = anchors.map(\.x), ah = anchors.map(\.y)
        var above = 0
        let best = [Float](unsafeUninitializedCapacity: labels.count) { buffer, n in
            labels.w.withUnsafeBufferPointer { w in
                labels.h.withUnsafeBufferPointer { h in
                    above = ElementKernels.anchorBest(w: w, h: h, anchorWidths: aw, anchorHeights: ah, thr: thr,
                                                      best: UnsafeMutableBufferPointer(rebasing: buffer[0..<labels.count]))
                }
            }
            n = labels.count
        }
        return (best, above)
    }

    /// The ratio metric of every label against each anchor separately: result[a][i].
    public static func ratioMatrix(_ wh: [SIMD2<Float>], anchors: [AnchorSize]) -> [[Float]] {
        let labels = Labels(wh)
        return anchors.map { ratios(labels, [SIMD2(Float($0.w), Float($0.h))], thr: 1).best }
    }

    /// Very elongated boxes (aspect 6:1 to 14:1, 60 % tall), where YOLOv5's default anchors fit
    /// poorly: sizes in pixels, seeded.
    public static func elongatedBoxes(count: Int, seed: UInt64) -> [SIMD2<Float>] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let long = Double.exp(rng.nextUniform(Double.log(40), Double.log(600)))
            let short = long / Double.exp(rng.nextUniform(Double.log(6), Double.log(14)))
            return rng.nextUnit() < 0.6 ? SIMD2(Float(short), Float(long)) : SIMD2(Float(long), Float(short))
        }
    }

    /// bpr, aat and fitness of `anchors` on labels `wh` with anchor_t = `thr`.
    public static func metrics(_ wh: [SIMD2<Float>], anchors: [AnchorSize], thr: Double = 4.0) -> AnchorMetrics {
        let t = Float(1 / thr)
        let (best, above) = ratios(Labels(wh), anchors.map { SIMD2(Float($0.w), Float($0.h)) }, thr: t)
        let n = Double(max(wh.count, 1))
        let recalled = best.filter { $0 > t }.count
        return AnchorMetrics(bpr: Double(recalled) / n, aat: Double(above) / n, fitness: fitness(best, t))
    }

    static func fitness(_ best: [Float], _ t: Float) -> Double {
        var s = 0.0
        for x in best where x > t { s += Double(x) }
        return s / Double(max(best.count, 1))
    }

    /// The fitness of anchors on labels (the genetic search's objective).
    static func fitness(_ labels: Labels, _ anchors: [SIMD2<Double>], thr t: Float) -> Double {
        fitness(ratios(labels, anchors.map { SIMD2<Float>(Float($0.x), Float($0.y)) }, thr: t).best, t)
    }

    /// k-means anchors then the genetic refinement (see the type's documentation): `chains`
    /// independent chains start from the k-means restarts of best fitness; each generation every
    /// chain draws `mutants` mutations of its anchors, each exactly as YOLOv5 draws its one (mask
    /// with probability 0.9, one uniform scalar, normal * 0.1 + 1, clip 0.3...3.0, anchors clipped
    /// to >= 2 px), and keeps the best if its fitness is strictly higher.
    public static func search(_ wh0: [SIMD2<Float>], n: Int, thr: Double = 4.0, generations: Int = 1000, seed: UInt64 = 0,
                              mutants: Int = 2, chains: Int = 2, progress: ((Int, Double) -> Void)? = nil) throws -> AnchorSearch {
        guard n >= 1 else { throw HalfTraceError.invalid("n", "\(n) is invalid: expected at least 1 anchor") }
        guard generations >= 0 else { throw HalfTraceError.invalid("generations", "\(generations) is invalid: expected >= 0") }
        guard mutants >= 1, chains >= 1 else { throw HalfTraceError.invalid("mutants", "mutants \(mutants), chains \(chains): expected >= 1") }
        let wh = wh0.filter { $0.x >= 2 || $0.y >= 2 }
        guard n <= wh.count else {
            throw HalfTraceError.invalid("n", "\(n) is larger than the \(wh.count) labels with a side of at least 2 px")
        }
        var rng = SplitMix64(seed: seed)
        let t = Float(1 / thr)
        // whiten by the per-axis standard deviation (numpy's std: population, ddof 0)
        let points = wh.map { SIMD2<Double>(Double($0.x), Double($0.y)) }
        let mean = points.reduce(SIMD2<Double>(0, 0), +) / Double(points.count)
        var s = points.reduce(SIMD2<Double>(0, 0)) { $0 + ($1 - mean) * ($1 - mean) } / Double(points.count)
        s = SIMD2(s.x.squareRoot(), s.y.squareRoot())
        if s.x == 0 { s.x = 1 }
        if s.y == 0 { s.y = 1 }
        let whitened = points.map { $0 / s }
        let labels = Labels(wh)
        var starts: [(anchors: [SIMD2<Double>], fitness: Double)] = []
        for _ in 0..<30 {
            let centres = KMeans.run(whitened, k: n, using: &rng).map { $0 * s }
            starts.append((centres, fitness(labels, centres, thr: t)))
        }
        starts.sort { $0.fitness > $1.fitness }
        var state = starts.prefix(chains).map { (k: $0.anchors, f: $0.fitness) }
        let start = state[0].k
        var history = [state.map(\.f).max()!]
        for g in 0..<generations {
            for c in state.indices {
                var bestCandidate: [SIMD2<Double>] = [], bestFitness = -Double.infinity
                for _ in 0..<mutants {
                    let candidate = mutate(state[c].k, using: &rng)
                    let fc = fitness(labels, candidate, thr: t)
                    if fc > bestFitness { (bestCandidate, bestFitness) = (candidate, fc) }
                }
                if bestFitness > state[c].f { state[c] = (bestCandidate, bestFitness) }
            }
            history.append(state.map(\.f).max()!)
            progress?(g + 1, history.last!)
        }
        let k = state.max { $0.f < $1.f }!.k
        let sorted = k.sorted { $0.x * $0.y < $1.x * $1.y }.map { AnchorSize($0.x, $0.y) }
        let kmeansSorted = start.sorted { $0.x * $0.y < $1.x * $1.y }.map { AnchorSize($0.x, $0.y) }
        return AnchorSearch(anchors: sorted, metrics: metrics(wh0, anchors: sorted, thr: thr), kmeans: kmeansSorted,
                            kmeansMetrics: metrics(wh0, anchors: kmeansSorted, thr: thr), fitnessHistory: history,
                            labelsUsed: wh.count, labelsFiltered: wh0.count - wh.count)
    }

    /// One of YOLOv5's mutations: v = (mask(p 0.9) * r * N(0, 1) * 0.1 + 1).clip(0.3, 3.0) with one
    /// uniform r per draw, redrawn while v is all ones; the result (k * v) clipped to >= 2 px.
    static func mutate(_ k: [SIMD2<Double>], using rng: inout SplitMix64) -> [SIMD2<Double>] {
        var v = [SIMD2<Double>](repeating: SIMD2(1, 1), count: k.count)
        while v.allSatisfy({ $0 == SIMD2(1, 1) }) {
            let r = rng.nextUnit()
            v = k.indices.map { _ in
                var m = SIMD2<Double>(0, 0)
                for axis in 0..<2 {
                    let mask: Double = rng.nextUnit() < 0.9 ? 1 : 0
                    m[axis] = Swift.min(Swift.max(mask * r * rng.nextNormal() * 0.1 + 1, 0.3), 3.0)
                }
                return m
            }
        }
        return zip(k, v).map { pair -> SIMD2<Double> in
            let p = pair.0 * pair.1
            return SIMD2(Swift.max(p.x, 2), Swift.max(p.y, 2))
        }
    }

    /// YOLOv5's `check_anchor_order`: split anchors over output layers (strides 8, 16, 32) and,
    /// if the mean anchor area per layer runs opposite to the stride order, reverse the layers.
    public static func layers(_ anchors: [AnchorSize], count: Int = 3) throws -> (layers: [[AnchorSize]], reversed: Bool) {
        guard count >= 1, anchors.count % count == 0 else {
            throw HalfTraceError.invalid("anchors", "\(anchors.count) anchors cannot be split over \(count) output layers")
        }
        let per = anchors.count / count
        var layers = (0..<count).map { Array(anchors[($0 * per)..<(($0 + 1) * per)]) }
        let area = layers.map { l in l.reduce(0) { $0 + $1.area } / Double(per) }
        let da = area[count - 1] - area[0]
        let reversed = da != 0 && (da > 0) != (strides[min(count, strides.count) - 1] - strides[0] > 0)
        if reversed { layers.reverse() }
        return (layers, reversed)
    }
}

/// Lloyd's k-means with scipy.cluster.vq.kmeans' stopping rule: iterate until the mean
/// distance to the nearest centre changes by at most 1e-5. Initial centres are k distinct
/// points; an empty cluster is re-seeded with the point farthest from its centre.
enum KMeans {
    static func run(_ points: [SIMD2<Double>], k: Int, using rng: inout SplitMix64) -> [SIMD2<Double>] {
        var chosen = Set<Int>()
        while chosen.count < k { chosen.insert(rng.nextIndex(below: points.count)) }
        var centres = chosen.sorted().map { points[$0] }
        var previous = Double.infinity
        var assignment = [Int](repeating: 0, count: points.count)
        var distance = [Double](repeating: 0, count: points.count)
        for _ in 0..<300 {
            var total = 0.0
            for (i, p) in points.enumerated() {
                var best = 0, bestSquared = Double.infinity
                for (c, centre) in centres.enumerated() {
                    let d = p - centre
                    let squared = d.x * d.x + d.y * d.y
                    if squared < bestSquared { (best, bestSquared) = (c, squared) }
                }
                assignment[i] = best
                distance[i] = bestSquared.squareRoot()
                total += distance[i]
            }
            let mean = total / Double(points.count)
            var sums = [SIMD2<Double>](repeating: SIMD2(0, 0), count: k), counts = [Int](repeating: 0, count: k)
            for (i, c) in assignment.enumerated() {
                sums[c] += points[i]
                counts[c] += 1
            }
            for c in 0..<k {
                if counts[c] > 0 {
                    centres[c] = sums[c] / Double(counts[c])
                } else if let far = distance.indices.max(by: { distance[$0] < distance[$1] }) {
                    centres[c] = points[far]
                    distance[far] = 0
                }
            }
            if abs(previous - mean) <= 1e-5 { break }
            previous = mean
        }
        return centres
    }
}

/// The outcome of YOLOv5's `check_anchors` (`utils/autoanchor.py`, v7.0).
public struct AnchorCheck: Sendable, Equatable {
    /// The anchors the model trains with, per output layer (smallest stride first).
    public var layers: [[AnchorSize]]
    /// bpr, aat and fitness of the given anchors on the jittered label sizes.
    public var before: AnchorMetrics
    /// The same for the searched anchors, when a search ran.
    public var after: AnchorMetrics?
    /// Whether the searched anchors replaced the given ones (their bpr is higher).
    public var replaced: Bool
}

extension AutoAnchor {
    /// YOLOv5's `check_anchors(dataset, model, thr, imgsz)`: the given anchors' best possible
    /// recall on the label sizes, each image's scaled by U(0.9, 1.1) drawn from `seed`; above 0.98
    /// they stay. Otherwise `kmean_anchors` (k-means and 1000 generations of the genetic search,
    /// on the unjittered sizes) proposes as many anchors, which replace the given ones only if
    /// their bpr on the jittered sizes is higher, split over the layers by `check_anchor_order`.
    public static func check(_ dataset: YOLODataset, anchors given: [[AnchorSize]], imageSize: Int, thr: Double = 4,
                             seed: UInt64, generations: Int = 1000) throws -> AnchorCheck {
        let flat = Array(given.joined())
        let jittered = labelSizes(dataset, imgSize: imageSize, jitterSeed: seed)
        let before = metrics(jittered, anchors: flat, thr: thr)
        guard before.bpr <= 0.98 else { return AnchorCheck(layers: given, before: before, after: nil, replaced: false) }
        let search = try search(labelSizes(dataset, imgSize: imageSize), n: flat.count, thr: thr, generations: generations, seed: seed)
        let after = metrics(jittered, anchors: search.anchors, thr: thr)
        guard after.bpr > before.bpr else { return AnchorCheck(layers: given, before: before, after: after, replaced: false) }
        return AnchorCheck(layers: try layers(search.anchors, count: given.count).layers, before: before, after: after, replaced: true)
    }
}
