import HalfTraceKernels

/// HalfTrace's own detection set: filled squares, discs and triangles of random colours on a
/// noisy background, drawn from a seed.
///
/// Each image has a random base colour with independent per-pixel noise of +-40 per channel, and
/// one to four shapes. A shape's class, size (8 to 32 px, the side of its bounding square), colour
/// (at least 120 away from the background in summed RGB distance), position and, for
/// triangles, whether it points up or down, are drawn uniformly; a shape whose box overlaps an
/// earlier one's by IoU > 0.2 is redrawn (up to 20 times, then left out). A pixel belongs to a
/// shape when its centre lies inside it. Labels are the bounding squares, exact multiples of
/// 1/128. Image k of a split draws from its own stream of the seed, so a set's first images do
/// not depend on how many are drawn.
public enum SyntheticShapes {
    /// The classes, in label order.
    public static let classNames = ["square", "disc", "triangle"]

    /// `train` and `validation` images of `size` x `size` pixels from `seed`.
    public static func make(train: Int = 300, validation: Int = 100, size: Int = 64, seed: UInt64 = 0) -> DetectionData {
        precondition(size >= 32 && train >= 1 && validation >= 1, "SyntheticShapes: size \(size) >= 32, at least one image per split")
        func split(_ name: String, _ count: Int, stream: UInt64) -> DetectionDataset {
            let samples = (0..<count).map { k -> DetectionSample in
                var rng = SplitMix64.stream(seed: seed &+ stream &* 1_000_003, index: UInt64(k))
                let (image, labels) = draw(size: size, using: &rng)
                return DetectionSample(name: name + String(format: "%03d", k), image: image, labels: labels)
            }
            return DetectionDataset(samples: samples, classNames: classNames)
        }
        return DetectionData(train: split("train", train, stream: 1), validation: split("val", validation, stream: 2),
                             source: "synthetic shapes (seed \(seed), \(train) + \(validation) images of \(size) px)")
    }

    static func draw(size: Int, using rng: inout SplitMix64) -> (RGBImage, [BoxLabel]) {
        let base = (0..<3).map { _ in 40 + rng.nextIndex(below: 176) }
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for i in 0..<(size * size) {
            for c in 0..<3 { pixels[3 * i + c] = UInt8(clamping: base[c] + rng.nextIndex(below: 81) - 40) }
        }
        var labels: [BoxLabel] = []
        var boxes: [SIMD4<Float>] = []
        let count = 1 + rng.nextIndex(below: 4)
        for _ in 0..<count {
            for _ in 0..<20 {
                let cls = rng.nextIndex(below: 3)
                let s = 8 + rng.nextIndex(below: 25)
                let x0 = rng.nextIndex(below: size - s + 1), y0 = rng.nextIndex(below: size - s + 1)
                let pointsDown = rng.nextIndex(below: 2) == 1
                var colour: [Int]
                repeat { colour = (0..<3).map { _ in rng.nextIndex(below: 256) } } while zip(colour, base).map({ abs($0 - $1) }).reduce(0, +) < 120
                let box = SIMD4(Float(x0), Float(y0), Float(x0 + s), Float(y0 + s))
                if boxes.contains(where: { BoxGeometry.cornerIoU($0, box) > 0.2 }) { continue }
                boxes.append(box)
                fill(&pixels, size: size, cls: cls, x0: x0, y0: y0, s: s, pointsDown: pointsDown, colour: colour)
                let scale = Float(size)
                labels.append(BoxLabel(classIndex: cls, x: (Float(x0) + Float(s) / 2) / scale, y: (Float(y0) + Float(s) / 2) / scale,
                                       w: Float(s) / scale, h: Float(s) / scale))
                break
            }
        }
        return (RGBImage(width: size, height: size, pixels: pixels), labels)
    }

    static func fill(_ pixels: inout [UInt8], size: Int, cls: Int, x0: Int, y0: Int, s: Int, pointsDown: Bool, colour: [Int]) {
        let side = Double(s), cx = Double(x0) + side / 2, cy = Double(y0) + side / 2
        for y in y0..<(y0 + s) {
            for x in x0..<(x0 + s) {
                let px = Double(x) + 0.5, py = Double(y) + 0.5
                let inside: Bool
                switch cls {
                case 0: inside = true
                case 1: inside = (px - cx) * (px - cx) + (py - cy) * (py - cy) <= side * side / 4
                default:
                    let depth = pointsDown ? Double(y0) + side - py : py - Double(y0)  // distance from the apex row
                    inside = abs(px - cx) <= depth / 2
                }
                if inside { for c in 0..<3 { pixels[(y * size + x) * 3 + c] = UInt8(colour[c]) } }
            }
        }
    }
}
