/// One labelled box of a batch, as YOLOv5's collate function stacks them: the image's index in
/// the batch, the class, and the box's centre and size normalised to [0, 1] by the image size.
public struct TargetBox: Sendable, Equatable, Codable {
    /// The image's index in the batch.
    public var image: Int
    /// The class, 0..<nc.
    public var classIndex: Int
    /// Centre x, normalised by the image width.
    public var x: Float
    /// Centre y, normalised by the image height.
    public var y: Float
    /// Width, normalised by the image width.
    public var w: Float
    /// Height, normalised by the image height.
    public var h: Float

    /// A box of class `classIndex` in image `image`.
    public init(image: Int, classIndex: Int, x: Float, y: Float, w: Float, h: Float) {
        self.image = image
        self.classIndex = classIndex
        self.x = x
        self.y = y
        self.w = w
        self.h = h
    }
}

/// The targets `build_targets` assigns to one output scale: for each match, the image, anchor,
/// grid cell, class, the target box relative to the cell (x and y in grid units from the cell's
/// corner, w and h in grid units), and the matched anchor in grid units.
public struct ScaleTargets: Sendable, Equatable {
    /// b: the image of each match.
    public var image: [Int] = []
    /// a: the anchor of each match.
    public var anchor: [Int] = []
    /// gj: the grid row (clamped to the grid).
    public var gridY: [Int] = []
    /// gi: the grid column (clamped to the grid).
    public var gridX: [Int] = []
    /// c: the class of each match.
    public var classIndex: [Int] = []
    /// tbox: (gx - gi, gy - gj, gw, gh) in grid units.
    public var box: [SIMD4<Float>] = []
    /// anch: the matched anchor's (w, h) in grid units.
    public var anchorSize: [SIMD2<Float>] = []

    /// The number of matches.
    public var count: Int { image.count }
}

/// YOLOv5 v7.0's `ComputeLoss.build_targets` (`utils/loss.py`), in its float32 arithmetic and its
/// order of matches.
public enum TargetAssignment {
    /// The half-cell neighbour offsets (g = 0.5): none, then left (j), up (k), right (l), down (m).
    static let offsets: [SIMD2<Float>] = [SIMD2(0, 0), SIMD2(0.5, 0), SIMD2(0, 0.5), SIMD2(-0.5, 0), SIMD2(0, -0.5)]

    /// The matches of `targets` at every scale, for grids `grids[i] = (ny, nx)` and anchors in
    /// grid units (`anchors[i][a]`, pixels / stride in float32):
    ///
    ///     t = targets * (nx, ny, nx, ny)                       # per anchor a, anchor-major order
    ///     keep where max(r, 1 / r).max() < anchor_t, r = t.wh / anchor
    ///     j, k = (gxy % 1 < 0.5) & (gxy > 1);  l, m = (gxi % 1 < 0.5) & (gxi > 1), gxi = (nx, ny) - gxy
    ///     matches: all kept (offset 0), then those with j (offset (0.5, 0)), k, l, m
    ///     gij = (gxy - offset).long(), clamped in place to the grid
    ///     tbox = (gxy - gij, gwh)
    ///
    /// The in-place clamp of `gij` also reaches `tbox`, as in train.py (`gi, gj = gij.T` are views).
    public static func build(_ targets: [TargetBox], grids: [(ny: Int, nx: Int)], anchors: [[SIMD2<Float>]],
                             anchorThreshold: Float) -> [ScaleTargets] {
        zip(grids, anchors).map { grid, scaleAnchors in
            let gain = SIMD2<Float>(Float(grid.nx), Float(grid.ny))
            var kept: [(target: TargetBox, anchor: Int, gxy: SIMD2<Float>, gwh: SIMD2<Float>)] = []
            for (a, anchor) in scaleAnchors.enumerated() {
                for t in targets {
                    let gxy = SIMD2(t.x, t.y) * gain, gwh = SIMD2(t.w, t.h) * gain
                    let r = gwh / anchor
                    let inverse = 1 / r
                    let worst = Swift.max(Swift.max(r.x, inverse.x), Swift.max(r.y, inverse.y))
                    if worst < anchorThreshold { kept.append((t, a, gxy, gwh)) }
                }
            }
            func nearLow(_ v: Float) -> Bool { v - v.rounded(.down) < 0.5 && v > 1 }
            var out = ScaleTargets()
            for (o, offset) in offsets.enumerated() {
                for k in kept {
                    let gxi = gain - k.gxy
                    let take: Bool
                    switch o {
                    case 1: take = nearLow(k.gxy.x)
                    case 2: take = nearLow(k.gxy.y)
                    case 3: take = nearLow(gxi.x)
                    case 4: take = nearLow(gxi.y)
                    default: take = true
                    }
                    guard take else { continue }
                    let shifted = k.gxy - offset
                    let gi = Swift.min(Swift.max(Int(shifted.x), 0), grid.nx - 1)
                    let gj = Swift.min(Swift.max(Int(shifted.y), 0), grid.ny - 1)
                    out.image.append(k.target.image)
                    out.anchor.append(k.anchor)
                    out.gridY.append(gj)
                    out.gridX.append(gi)
                    out.classIndex.append(k.target.classIndex)
                    out.box.append(SIMD4(k.gxy.x - Float(gi), k.gxy.y - Float(gj), k.gwh.x, k.gwh.y))
                    out.anchorSize.append(scaleAnchors[k.anchor])
                }
            }
            return out
        }
    }
}
