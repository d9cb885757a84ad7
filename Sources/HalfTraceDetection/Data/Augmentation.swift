import Foundation
import HalfTraceKernels

/// YOLOv5's training augmentation hyper-parameters (`hyp.scratch-low.yaml`, v7.0 defaults).
public struct AugmentationHyperparameters: Sendable, Codable, Equatable {
    /// Hue gain: the hue is multiplied by 1 + U(-1, 1) * hsv_h (0.015).
    public var hsvH = 0.015
    /// Saturation gain (0.7).
    public var hsvS = 0.7
    /// Value gain (0.4).
    public var hsvV = 0.4
    /// Rotation, +- degrees (0).
    public var degrees = 0.0
    /// Translation, +- fraction of the image (0.1).
    public var translate = 0.1
    /// Scale, 1 +- this (0.5).
    public var scale = 0.5
    /// Shear, +- degrees (0).
    public var shear = 0.0
    /// Probability of an up-down flip (0).
    public var flipud = 0.0
    /// Probability of a left-right flip (0.5).
    public var fliplr = 0.5
    /// Probability of a four-image mosaic (1.0).
    public var mosaic = 1.0

    /// hyp.scratch-low's values.
    public init() {}

    /// No augmentation at all (validation, tests).
    public static let none: AugmentationHyperparameters = {
        var a = AugmentationHyperparameters()
        (a.hsvH, a.hsvS, a.hsvV, a.translate, a.scale, a.fliplr, a.mosaic) = (0, 0, 0, 0, 0, 0, 0)
        return a
    }()
}

/// YOLOv5 v7.0's training-time augmentation (`utils/dataloaders.py` `LoadImagesAndLabels.__getitem__`
/// and `load_mosaic`, `utils/augmentations.py` `random_perspective`, `box_candidates`,
/// `augment_hsv`), for square images of the training size:
///
///     with probability mosaic: four images (this one and three drawn) around a centre drawn in
///         [s/2, 3s/2) on a 2s x 2s canvas of grey 114; labels clipped to the canvas
///     random_perspective: scale U(1 - scale, 1 + scale), rotation U(+-degrees), shear, then a
///         translation to U(0.5 +- translate) of the output, bilinear warp to s x s (border 114);
///         boxes are the transformed corners' hull clipped to the image, kept when wider and
///         taller than 2 px, with an area above 10 % of the scaled original and aspect < 100
///     labels to normalised centre/size, clipped to [0, s - 1e-3]
///     augment_hsv: hue, saturation and value lookup tables with gains 1 + U(-1, 1) * (h, s, v)
///     flip up-down with probability flipud, left-right with probability fliplr
///
/// Departures, said here: the warp is bilinear in floating point rather than OpenCV's 1/32-pixel
/// fixed point; random draws come from HalfTrace's seeded generator (one stream per sample), not
/// from Python's `random` and NumPy's global state.
public enum Augmentation {
    /// The augmented image and its labels for sample `index` of `dataset`.
    public static func sample(_ dataset: DetectionDataset, index: Int, hyp: AugmentationHyperparameters,
                              using rng: inout SplitMix64) -> (RGBImage, [BoxLabel]) {
        let s = dataset.samples[index].image.width
        var canvas: RGBImage
        var boxes: [(cls: Int, box: SIMD4<Double>)]  // corners in canvas pixels
        var border = 0
        if rng.nextUnit() < hyp.mosaic {
            (canvas, boxes) = mosaic(dataset, index: index, using: &rng)
            border = -s / 2
        } else {
            let sample = dataset.samples[index]
            canvas = sample.image
            boxes = sample.labels.map { l in (l.classIndex, pixelCorners(l, width: s, height: s)) }
        }
        let (image, warped) = randomPerspective(canvas, boxes, hyp: hyp, border: border, using: &rng)
        var labels = warped.map { item -> BoxLabel in
            let e = 1e-3, (w, h) = (Double(image.width), Double(image.height))
            let x1 = min(max(item.box[0], 0), w - e), y1 = min(max(item.box[1], 0), h - e)
            let x2 = min(max(item.box[2], 0), w - e), y2 = min(max(item.box[3], 0), h - e)
            return BoxLabel(classIndex: item.cls, x: Float(((x1 + x2) / 2) / w), y: Float(((y1 + y2) / 2) / h),
                            w: Float((x2 - x1) / w), h: Float((y2 - y1) / h))
        }
        var out = image
        augmentHSV(&out, hgain: hyp.hsvH, sgain: hyp.hsvS, vgain: hyp.hsvV, using: &rng)
        if rng.nextUnit() < hyp.flipud {
            out = flipped(out, vertical: true)
            labels = labels.map { var l = $0; l.y = 1 - l.y; return l }
        }
        if rng.nextUnit() < hyp.fliplr {
            out = flipped(out, vertical: false)
            labels = labels.map { var l = $0; l.x = 1 - l.x; return l }
        }
        return (out, labels)
    }

    static func pixelCorners(_ l: BoxLabel, width: Int, height: Int, padW: Int = 0, padH: Int = 0) -> SIMD4<Double> {
        let (w, h) = (Double(width), Double(height))
        let (x, y, bw, bh) = (Double(l.x), Double(l.y), Double(l.w), Double(l.h))
        return SIMD4(w * (x - bw / 2) + Double(padW), h * (y - bh / 2) + Double(padH), w * (x + bw / 2) + Double(padW), h * (y + bh / 2) + Double(padH))
    }

    /// `load_mosaic`: the 2s x 2s canvas and its labels' corners, clipped to [0, 2s].
    static func mosaic(_ dataset: DetectionDataset, index: Int, using rng: inout SplitMix64) -> (RGBImage, [(cls: Int, box: SIMD4<Double>)]) {
        let s = dataset.samples[index].image.width
        let yc = Int(rng.nextUniform(Double(s) / 2, 3 * Double(s) / 2)), xc = Int(rng.nextUniform(Double(s) / 2, 3 * Double(s) / 2))
        var indices = [index] + (0..<3).map { _ in rng.nextIndex(below: dataset.count) }
        for i in stride(from: indices.count - 1, to: 0, by: -1) { indices.swapAt(i, rng.nextIndex(below: i + 1)) }
        var pixels = [UInt8](repeating: 114, count: 4 * s * s * 3)
        var boxes: [(cls: Int, box: SIMD4<Double>)] = []
        for (i, k) in indices.enumerated() {
            let sample = dataset.samples[k]
            let (w, h) = (sample.image.width, sample.image.height)
            let a: (Int, Int, Int, Int), b: (Int, Int, Int, Int)
            switch i {
            case 0:
                a = (max(xc - w, 0), max(yc - h, 0), xc, yc)
                b = (w - (a.2 - a.0), h - (a.3 - a.1), w, h)
            case 1:
                a = (xc, max(yc - h, 0), min(xc + w, 2 * s), yc)
                b = (0, h - (a.3 - a.1), min(w, a.2 - a.0), h)
            case 2:
                a = (max(xc - w, 0), yc, xc, min(2 * s, yc + h))
                b = (w - (a.2 - a.0), 0, w, min(a.3 - a.1, h))
            default:
                a = (xc, yc, min(xc + w, 2 * s), min(2 * s, yc + h))
                b = (0, 0, min(w, a.2 - a.0), min(a.3 - a.1, h))
            }
            for y in 0..<(a.3 - a.1) {
                let source = ((b.1 + y) * w + b.0) * 3, target = ((a.1 + y) * 2 * s + a.0) * 3
                for x in 0..<((a.2 - a.0) * 3) { pixels[target + x] = sample.image.pixels[source + x] }
            }
            for l in sample.labels {
                var c = pixelCorners(l, width: w, height: h, padW: a.0 - b.0, padH: a.1 - b.1)
                c = SIMD4(min(max(c[0], 0), Double(2 * s)), min(max(c[1], 0), Double(2 * s)), min(max(c[2], 0), Double(2 * s)), min(max(c[3], 0), Double(2 * s)))
                boxes.append((l.classIndex, c))
            }
        }
        return (RGBImage(width: 2 * s, height: 2 * s, pixels: pixels), boxes)
    }

    /// `random_perspective` without perspective: M = T S R C, the image warped to (canvas + 2 border)
    /// pixels square, the boxes moved and filtered by `box_candidates`.
    static func randomPerspective(_ image: RGBImage, _ boxes: [(cls: Int, box: SIMD4<Double>)], hyp: AugmentationHyperparameters,
                                  border: Int, using rng: inout SplitMix64) -> (RGBImage, [(cls: Int, box: SIMD4<Double>)]) {
        let height = image.height + 2 * border, width = image.width + 2 * border
        let angle = rng.nextUniform(-hyp.degrees, hyp.degrees) * Double.pi / 180
        let scale = rng.nextUniform(1 - hyp.scale, 1 + hyp.scale)
        let shearX = Foundation.tan(rng.nextUniform(-hyp.shear, hyp.shear) * Double.pi / 180)
        let shearY = Foundation.tan(rng.nextUniform(-hyp.shear, hyp.shear) * Double.pi / 180)
        let tx = rng.nextUniform(0.5 - hyp.translate, 0.5 + hyp.translate) * Double(width)
        let ty = rng.nextUniform(0.5 - hyp.translate, 0.5 + hyp.translate) * Double(height)
        // cv2.getRotationMatrix2D(angle, (0, 0), scale): [[a, b], [-b, a]], a = s cos, b = s sin (degrees counter-clockwise).
        let (ca, sa) = (scale * Foundation.cos(angle), scale * Foundation.sin(angle))
        let r = (ca, sa, -sa, ca)
        // S R: [[1, shx], [shy, 1]] * [[r0, r1], [r2, r3]]
        let m00 = r.0 + shearX * r.2, m01 = r.1 + shearX * r.3, m10 = shearY * r.0 + r.2, m11 = shearY * r.1 + r.3
        let (cx, cy) = (-Double(image.width) / 2, -Double(image.height) / 2)
        let m02 = m00 * cx + m01 * cy + tx, m12 = m10 * cx + m11 * cy + ty
        let identity = m00 == 1 && m01 == 0 && m10 == 0 && m11 == 1 && m02 == 0 && m12 == 0 && border == 0
        let warped = identity ? image : warpAffine(image, (m00, m01, m02, m10, m11, m12), width: width, height: height)
        var kept: [(cls: Int, box: SIMD4<Double>)] = []
        for (cls, b) in boxes {
            let corners = [(b[0], b[1]), (b[2], b[3]), (b[0], b[3]), (b[2], b[1])].map { x, y in
                (m00 * x + m01 * y + m02, m10 * x + m11 * y + m12)
            }
            let xs = corners.map(\.0), ys = corners.map(\.1)
            let new = SIMD4(min(max(xs.min()!, 0), Double(width)), min(max(ys.min()!, 0), Double(height)),
                            min(max(xs.max()!, 0), Double(width)), min(max(ys.max()!, 0), Double(height)))
            let (w1, h1) = ((b[2] - b[0]) * scale, (b[3] - b[1]) * scale)
            let (w2, h2) = (new[2] - new[0], new[3] - new[1])
            let eps = 1e-16
            let aspect = max(w2 / (h2 + eps), h2 / (w2 + eps))
            if w2 > 2 && h2 > 2 && w2 * h2 / (w1 * h1 + eps) > 0.1 && aspect < 100 { kept.append((cls, new)) }
        }
        return (warped, kept)
    }

    /// cv2.warpAffine(im, M, (width, height), borderValue=114) with bilinear interpolation: each
    /// output pixel samples the input at M^-1 (x, y), outside pixels reading 114.
    static func warpAffine(_ image: RGBImage, _ m: (Double, Double, Double, Double, Double, Double), width: Int, height: Int) -> RGBImage {
        let det = m.0 * m.4 - m.1 * m.3
        let i00 = m.4 / det, i01 = -m.1 / det, i10 = -m.3 / det, i11 = m.0 / det
        let i02 = -(i00 * m.2 + i01 * m.5), i12 = -(i10 * m.2 + i11 * m.5)
        var out = [UInt8](repeating: 114, count: width * height * 3)
        let (w, h) = (image.width, image.height)
        image.pixels.withUnsafeBufferPointer { p in
            func value(_ x: Int, _ y: Int, _ c: Int) -> Double { x < 0 || y < 0 || x >= w || y >= h ? 114 : Double(p[(y * w + x) * 3 + c]) }
            for y in 0..<height {
                for x in 0..<width {
                    let sx = i00 * Double(x) + i01 * Double(y) + i02, sy = i10 * Double(x) + i11 * Double(y) + i12
                    let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                    if x0 < -1 || y0 < -1 || x0 >= w || y0 >= h { continue }
                    let fx = sx - Double(x0), fy = sy - Double(y0)
                    for c in 0..<3 {
                        let top = value(x0, y0, c) * (1 - fx) + value(x0 + 1, y0, c) * fx
                        let bottom = value(x0, y0 + 1, c) * (1 - fx) + value(x0 + 1, y0 + 1, c) * fx
                        out[(y * width + x) * 3 + c] = UInt8(clamping: Int((top * (1 - fy) + bottom * fy).rounded()))
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// `augment_hsv` in OpenCV's 8-bit HSV (hue 0..179): lookup tables hue = (x * r0) % 180,
    /// saturation and value = clip(x * r, 0, 255), truncated to bytes.
    static func augmentHSV(_ image: inout RGBImage, hgain: Double, sgain: Double, vgain: Double, using rng: inout SplitMix64) {
        guard hgain != 0 || sgain != 0 || vgain != 0 else { return }
        let r = [hgain, sgain, vgain].map { rng.nextUniform(-1, 1) * $0 + 1 }
        let hue = (0..<256).map { UInt8(Int((Double($0) * r[0]).truncatingRemainder(dividingBy: 180))) }
        let sat = (0..<256).map { UInt8(Int(min(max(Double($0) * r[1], 0), 255))) }
        let val = (0..<256).map { UInt8(Int(min(max(Double($0) * r[2], 0), 255))) }
        for p in 0..<(image.width * image.height) {
            let (h, s, v) = HSV.fromRGB(image.pixels[3 * p], image.pixels[3 * p + 1], image.pixels[3 * p + 2])
            let (red, green, blue) = HSV.toRGB(hue[Int(h)], sat[Int(s)], val[Int(v)])
            image.pixels[3 * p] = red
            image.pixels[3 * p + 1] = green
            image.pixels[3 * p + 2] = blue
        }
    }

    /// OpenCV's 8-bit `COLOR_RGB2HSV` of one pixel (hue 0..179, saturation and value 0..255).
    public static func hsvFromRGB(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> (UInt8, UInt8, UInt8) { HSV.fromRGB(r, g, b) }

    /// OpenCV's 8-bit `COLOR_HSV2RGB` of one pixel.
    public static func rgbFromHSV(_ h: UInt8, _ s: UInt8, _ v: UInt8) -> (UInt8, UInt8, UInt8) { HSV.toRGB(h, s, v) }

    static func flipped(_ image: RGBImage, vertical: Bool) -> RGBImage {
        var out = image.pixels
        let (w, h) = (image.width, image.height)
        for y in 0..<h {
            for x in 0..<w {
                let (sx, sy) = vertical ? (x, h - 1 - y) : (w - 1 - x, y)
                for c in 0..<3 { out[(y * w + x) * 3 + c] = image.pixels[(sy * w + sx) * 3 + c] }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}

/// OpenCV's 8-bit RGB <-> HSV conversions (`COLOR_BGR2HSV`, `COLOR_HSV2BGR`; hue in 0..179).
enum HSV {
    static let shift = 12
    static let sdiv: [Int] = (0..<256).map { $0 == 0 ? 0 : Int((Double(255 << shift) / Double($0)).rounded()) }
    static let hdiv: [Int] = (0..<256).map { $0 == 0 ? 0 : Int((Double(180 << shift) / (6 * Double($0))).rounded()) }

    /// `RGB2HSV_b` (integer arithmetic with OpenCV's division tables).
    static func fromRGB(_ r8: UInt8, _ g8: UInt8, _ b8: UInt8) -> (UInt8, UInt8, UInt8) {
        let (r, g, b) = (Int(r8), Int(g8), Int(b8))
        let v = max(r, g, b), vmin = min(r, g, b), diff = v - vmin
        let s = (diff * sdiv[v] + (1 << (shift - 1))) >> shift
        var h: Int
        if v == r { h = g - b } else if v == g { h = b - r + 2 * diff } else { h = r - g + 4 * diff }
        h = (h * hdiv[diff] + (1 << (shift - 1))) >> shift
        if h < 0 { h += 180 }
        return (UInt8(h), UInt8(s), UInt8(v))
    }

    /// `HSV2RGB_b`: through OpenCV's float conversion (sectors of 60 degrees), rounded to bytes.
    static func toRGB(_ h8: UInt8, _ s8: UInt8, _ v8: UInt8) -> (UInt8, UInt8, UInt8) {
        let s = Float(s8) * (1 / 255), v = Float(v8) * (1 / 255)
        var r = v, g = v, b = v
        if s != 0 {
            var h = Float(h8) * (6 / 180)
            while h >= 6 { h -= 6 }
            var sector = Int(h.rounded(.down))
            h -= Float(sector)
            if sector < 0 || sector >= 6 { sector = 0; h = 0 }
            let t0 = v, t1 = v * (1 - s), t2 = v * (1 - s * h), t3 = v * (1 - s * (1 - h))
            switch sector {  // OpenCV's sector_data {1,3,0}, {1,0,2}, {3,0,1}, {0,2,1}, {0,1,3}, {2,1,0} as (b, g, r)
            case 0: (b, g, r) = (t1, t3, t0)
            case 1: (b, g, r) = (t1, t0, t2)
            case 2: (b, g, r) = (t3, t0, t1)
            case 3: (b, g, r) = (t0, t2, t1)
            case 4: (b, g, r) = (t0, t1, t3)
            default: (b, g, r) = (t2, t1, t0)
            }
        }
        func byte(_ x: Float) -> UInt8 { UInt8(clamping: Int((x * 255).rounded())) }
        return (byte(r), byte(g), byte(b))
    }
}
