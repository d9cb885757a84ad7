import Foundation

/// The arithmetic the box formulas need, so that one generic body serves plain Float values and
/// `Dual` values that carry their derivatives.
public protocol BoxScalar {
    /// A constant.
    init(_ value: Float)
    /// The value without derivatives.
    var value: Float { get }
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
    static func / (a: Self, b: Self) -> Self
    /// torch.minimum: at a tie both inputs receive half of the gradient.
    static func minimum(_ a: Self, _ b: Self) -> Self
    /// torch.maximum: at a tie both inputs receive half of the gradient.
    static func maximum(_ a: Self, _ b: Self) -> Self
    /// clamp(min: lower): the gradient passes where x >= lower.
    func clamped(min lower: Float) -> Self
    /// atan.
    static func atan(_ x: Self) -> Self
    /// The value with its derivatives dropped (PyTorch's `torch.no_grad()` / `detach()`).
    var detached: Self { get }
}

/// Float is the box formulas' plain arithmetic: YOLOv5's float32 values without derivatives.
extension Float: BoxScalar {
    /// The value itself.
    public var value: Float { self }
    /// min(a, b) (NaN-propagating as torch.minimum).
    public static func minimum(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.min(a, b) }
    /// max(a, b) (NaN-propagating as torch.maximum).
    public static func maximum(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }
    /// max(self, lower), NaN kept.
    public func clamped(min lower: Float) -> Float { isNaN ? self : Swift.max(self, lower) }
    /// atanf from the C library.
    public static func atan(_ x: Float) -> Float { atanf(x) }
    /// The value itself.
    public var detached: Float { self }
}

/// A Float with its derivatives with respect to four inputs (forward-mode differentiation): the
/// box loss's gradient with respect to a prediction's x, y, w and h logits, exact to Float
/// rounding and free of hand-derived formulas.
public struct Dual: BoxScalar, Equatable {
    /// The value.
    public var value: Float
    /// d value / d input k, k = 0..<4.
    public var derivatives: SIMD4<Float>

    /// A value with the given derivatives.
    public init(_ value: Float, derivatives: SIMD4<Float>) {
        self.value = value
        self.derivatives = derivatives
    }

    /// A constant (all derivatives zero).
    public init(_ value: Float) { self.init(value, derivatives: .zero) }

    /// Input k of four: derivative 1 with respect to itself.
    public static func variable(_ value: Float, index k: Int) -> Dual {
        var d = SIMD4<Float>.zero
        d[k] = 1
        return Dual(value, derivatives: d)
    }

    /// Sum.
    public static func + (a: Dual, b: Dual) -> Dual { Dual(a.value + b.value, derivatives: a.derivatives + b.derivatives) }
    /// Difference.
    public static func - (a: Dual, b: Dual) -> Dual { Dual(a.value - b.value, derivatives: a.derivatives - b.derivatives) }
    /// Product: d(ab) = b da + a db.
    public static func * (a: Dual, b: Dual) -> Dual {
        Dual(a.value * b.value, derivatives: a.derivatives * b.value + b.derivatives * a.value)
    }
    /// Quotient: d(a/b) = da / b - (a / b) db / b.
    public static func / (a: Dual, b: Dual) -> Dual {
        let q = a.value / b.value
        return Dual(q, derivatives: a.derivatives / b.value - b.derivatives * (q / b.value))
    }
    /// The smaller; at a tie each side's derivative is halved and summed (torch.minimum).
    public static func minimum(_ a: Dual, _ b: Dual) -> Dual {
        if a.value == b.value { return Dual(a.value, derivatives: (a.derivatives + b.derivatives) * 0.5) }
        return a.value < b.value ? a : b
    }
    /// The larger; at a tie each side's derivative is halved and summed (torch.maximum).
    public static func maximum(_ a: Dual, _ b: Dual) -> Dual {
        if a.value == b.value { return Dual(a.value, derivatives: (a.derivatives + b.derivatives) * 0.5) }
        return a.value > b.value ? a : b
    }
    /// max(self, lower); the derivative passes where self >= lower (PyTorch's clamp_min backward).
    public func clamped(min lower: Float) -> Dual { value >= lower ? self : Dual(lower) }
    /// atan: d atan(x) = dx / (1 + x²).
    public static func atan(_ x: Dual) -> Dual {
        Dual(atanf(x.value), derivatives: x.derivatives / (1 + x.value * x.value))
    }
    /// The value as a constant.
    public var detached: Dual { Dual(value) }
}

/// Boxes as YOLOv5's `utils/metrics.py` (v7.0) measures them.
public enum BoxGeometry {
    /// YOLOv5's eps in `bbox_iou` and `box_iou` (1e-7, as float32).
    public static let eps: Float = 1e-7

    /// `bbox_iou(box1, box2, xywh=True, CIoU=True)` for one pair of boxes (x, y, w, h), in
    /// YOLOv5's float32 order of operations:
    ///
    ///     inter = (min(b1x2, b2x2) - max(b1x1, b2x1)).clamp(0) * (min(b1y2, b2y2) - max(b1y1, b2y1)).clamp(0)
    ///     union = w1 h1 + w2 h2 - inter + eps;  iou = inter / union
    ///     c2    = cw² + ch² + eps;  rho2 = ((b2x1 + b2x2 - b1x1 - b1x2)² + (b2y1 + b2y2 - b1y1 - b1y2)²) / 4
    ///     v     = 4 / pi² (atan(w2 / h2) - atan(w1 / h1))²;  alpha = v / (v - iou + (1 + eps)) (no gradient)
    ///     CIoU  = iou - (rho2 / c2 + v alpha)
    ///
    /// With `complete == false` it returns the plain IoU of the same code path.
    public static func iou<S: BoxScalar>(_ box1: (S, S, S, S), _ box2: (S, S, S, S), complete: Bool = true) -> S {
        let (x1, y1, w1, h1) = box1, (x2, y2, w2, h2) = box2
        let two = S(2)
        let (w1h, h1h, w2h, h2h) = (w1 / two, h1 / two, w2 / two, h2 / two)
        let (b1x1, b1x2, b1y1, b1y2) = (x1 - w1h, x1 + w1h, y1 - h1h, y1 + h1h)
        let (b2x1, b2x2, b2y1, b2y2) = (x2 - w2h, x2 + w2h, y2 - h2h, y2 + h2h)
        let inter = (S.minimum(b1x2, b2x2) - S.maximum(b1x1, b2x1)).clamped(min: 0)
            * (S.minimum(b1y2, b2y2) - S.maximum(b1y1, b2y1)).clamped(min: 0)
        let eps = S(Self.eps)
        let union = w1 * h1 + w2 * h2 - inter + eps
        let iou = inter / union
        guard complete else { return iou }
        let cw = S.maximum(b1x2, b2x2) - S.minimum(b1x1, b2x1)
        let ch = S.maximum(b1y2, b2y2) - S.minimum(b1y1, b2y1)
        let c2 = cw * cw + ch * ch + eps
        let dx = b2x1 + b2x2 - b1x1 - b1x2, dy = b2y1 + b2y2 - b1y1 - b1y2
        let rho2 = (dx * dx + dy * dy) / S(4)
        let dAtan = S.atan(w2 / h2) - S.atan(w1 / h1)
        let v = S(Float(4 / (Double.pi * Double.pi))) * (dAtan * dAtan)
        let alpha = (v / (v - iou + S(1 + Self.eps))).detached
        return iou - (rho2 / c2 + v * alpha)
    }

    /// `box_iou` (torchvision's): the IoU of two corner boxes (x1, y1, x2, y2) in float32 as YOLOv5
    /// writes it, inter / (area1 + area2 - inter + eps).
    public static func cornerIoU(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> Float {
        let iw = Swift.max(Swift.min(a[2], b[2]) - Swift.max(a[0], b[0]), 0)
        let ih = Swift.max(Swift.min(a[3], b[3]) - Swift.max(a[1], b[1]), 0)
        let inter = iw * ih
        let areaA = (a[2] - a[0]) * (a[3] - a[1]), areaB = (b[2] - b[0]) * (b[3] - b[1])
        return inter / (areaA + areaB - inter + eps)
    }
}
