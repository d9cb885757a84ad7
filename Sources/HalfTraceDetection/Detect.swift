import Foundation
import HalfTraceAnchors
import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN

/// YOLOv5's `Detect` head (`models/yolo.py`, v7.0): one 1 x 1 convolution with a bias per
/// output scale, from the scale's feature map to `anchors * (5 + classes)` channels.
///
/// On an NHWC feature map [n, ny, nx, c] the raw output is [n, ny, nx, na * no]: channel
/// a * no + k holds YOLOv5's p[i][n, a, y, x, k] (no = 5 + classes: x, y, w, h, objectness,
/// then one logit per class).
public final class Detect {
    /// The number of classes (nc).
    public let classes: Int
    /// Anchors in pixels, per scale (na per scale, the same count at every scale).
    public let anchors: [[AnchorSize]]
    /// The stride of each scale, in pixels.
    public let strides: [Int]
    /// The 1 x 1 convolutions, one per scale (YOLOv5's `m`).
    public let convs: [Conv2d]

    /// Outputs per anchor: x, y, w, h, objectness and one per class.
    public var outputsPerAnchor: Int { classes + 5 }
    /// Anchors per scale (na).
    public var anchorsPerScale: Int { anchors[0].count }
    /// The number of scales (nl).
    public var scales: Int { anchors.count }

    /// `Detect(nc, anchors, ch)` named `name.m.i`; the convolutions are initialised from `rng`
    /// as PyTorch's default, then their biases as `Model._initialize_biases` does.
    public init(classes: Int, anchors: [[AnchorSize]], strides: [Int], channels: [Int], dtype: DType, name: String,
                using rng: inout some RandomNumberGenerator) {
        precondition(classes >= 1 && !anchors.isEmpty && anchors.count == strides.count && anchors.count == channels.count,
                     "Detect: \(anchors.count) anchor sets, \(strides.count) strides and \(channels.count) inputs must match")
        precondition(anchors.allSatisfy { $0.count == anchors[0].count && !$0.isEmpty }, "Detect: every scale needs the same number of anchors")
        self.classes = classes
        self.anchors = anchors
        self.strides = strides
        let no = classes + 5, na = anchors[0].count
        var convs: [Conv2d] = []
        for (i, c) in channels.enumerated() {
            let conv = Conv2d(c, na * no, kernel: 1, bias: true, dtype: .float32, name: "\(name).m.\(i)", using: &rng)
            let initial = conv.bias!.storage.floats
            let adjusted = Self.initialBiases(initial, classes: classes, anchorsPerScale: na, stride: strides[i])
            conv.bias!.storage = Float.store(adjusted, as: dtype)
            conv.weight.storage = conv.weight.storage.converted(to: dtype)
            convs.append(conv)
        }
        self.convs = convs
    }

    /// YOLOv5 v7.0's `Model._initialize_biases(cf=None)`, per anchor a of a scale of stride s:
    ///
    ///     b[a, 4]         += log(8 / (640 / s) ** 2)         # obj (8 objects per 640 image)
    ///     b[a, 5:5 + nc]  += log(0.6 / (nc - 0.99999))       # cls
    ///
    /// each added in float32 to the float32 bias, as PyTorch's in-place add with a Python float.
    /// The 640 is YOLOv5's, whatever the input size.
    public static func initialBiases(_ bias: [Float], classes: Int, anchorsPerScale na: Int, stride: Int) -> [Float] {
        let no = classes + 5
        let objectness = Float(Foundation.log(8 / Foundation.pow(640 / Double(stride), 2)))
        let cls = Float(Foundation.log(0.6 / (Double(classes) - 0.99999)))
        var b = bias
        for a in 0..<na {
            b[a * no + 4] += objectness
            for c in 0..<classes { b[a * no + 5 + c] += cls }
        }
        return b
    }

    /// The raw outputs of the scales' feature maps (NHWC), one per scale.
    public func callAsFunction(_ features: [Tensor]) -> [Tensor] {
        precondition(features.count == convs.count, "Detect: \(features.count) feature maps for \(convs.count) scales")
        return zip(convs, features).map { $0($1) }
    }

    /// Every convolution's weight and bias, scale by scale.
    public var namedParameters: [NamedParameter] { convs.flatMap(\.namedParameters) }
}
