import HalfTraceAnchors
import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN

/// The shape of HalfTrace's micro YOLOv5: its widths, classes and anchors.
///
/// The layers follow `models/yolov5n.yaml` (v7.0) without the P5/32 level, so that a 64 px
/// input detects on an 8 x 8 (stride 8) and a 4 x 4 (stride 16) grid:
///
///     0  Conv(3, w0, 6, 2, 2)        /2      8  Conv(w3, w2, 1, 1)
///     1  Conv(w0, w1, 3, 2)          /4      9  Upsample(2)
///     2  C3(w1, w1, 1)                       10 Concat(9, 4)
///     3  Conv(w1, w2, 3, 2)          /8      11 C3(2 w2, w2, 1, False)   -> P3/8
///     4  C3(w2, w2, 2)                       12 Conv(w2, w2, 3, 2)
///     5  Conv(w2, w3, 3, 2)          /16     13 Concat(12, 8)
///     6  C3(w3, w3, 1)                       14 C3(2 w2, w3, 1, False)   -> P4/16
///     7  SPPF(w3, w3, 5)                     15 Detect(11, 14)
///
/// With yolov5n's widths (16, 32, 64, 128) and three classes it has about 0.39 M parameters
/// (yolov5n: 1.9 M).
public struct DetectorArchitecture: Sendable, Codable, Equatable {
    /// Channels of the four stages (yolov5n: 16, 32, 64, 128).
    public var widths: [Int]
    /// The number of classes.
    public var classes: Int
    /// Anchors in pixels for the stride-8 and stride-16 scales, three each.
    public var anchors: [[AnchorSize]]

    /// The strides of the two detection scales.
    public static let strides = [8, 16]

    /// yolov5n's widths, `classes` classes, and `anchors` (two scales of three).
    public init(widths: [Int] = [16, 32, 64, 128], classes: Int, anchors: [[AnchorSize]]) {
        self.widths = widths
        self.classes = classes
        self.anchors = anchors
    }

    /// Refuses widths, classes or anchors the model cannot be built from.
    public func validate() throws {
        guard widths.count == 4, widths.allSatisfy({ (2...4096).contains($0) && $0 % 2 == 0 }) else {
            throw HalfTraceError.invalid("widths", "\(widths) must be four even channel counts in 2...4096")
        }
        try HalfTraceError.check("classes", classes, in: 1...1000)
        guard anchors.count == Self.strides.count, anchors.allSatisfy({ $0.count == 3 }) else {
            throw HalfTraceError.invalid("anchors", "expected \(Self.strides.count) scales of 3 anchors, got \(anchors.map(\.count))")
        }
        for a in anchors.joined() where !(a.w.isFinite && a.h.isFinite && a.w > 0 && a.h > 0 && a.w <= 1e5 && a.h <= 1e5) {
            throw HalfTraceError.invalid("anchors", "anchor \(a.w) x \(a.h) must be finite and positive pixels")
        }
    }
}

/// HalfTrace's micro YOLOv5 (see `DetectorArchitecture`): Conv-BN-SiLU blocks, C3, SPPF, an
/// upsampling path that joins the scales, and YOLOv5's `Detect` head, on NHWC batches of RGB
/// images in [0, 1].
public final class Detector {
    /// The widths, classes and anchors the model was built with.
    public let architecture: DetectorArchitecture
    let stem: ConvBlock, down1: ConvBlock, stage1: C3, down2: ConvBlock, stage2: C3
    let down3: ConvBlock, stage3: C3, sppf: SPPF, lateral: ConvBlock, headP3: C3
    let down4: ConvBlock, headP4: C3
    /// The detection head.
    public let detect: Detect

    /// The model in `dtype`, initialised from `seed` as PyTorch's defaults and YOLOv5's
    /// `initialize_weights` and `_initialize_biases` do.
    public init(_ architecture: DetectorArchitecture, dtype: DType, seed: UInt64) throws {
        try architecture.validate()
        self.architecture = architecture
        var rng = SplitMix64(seed: seed)
        let w = architecture.widths
        stem = ConvBlock(3, w[0], kernel: 6, stride: 2, padding: 2, dtype: dtype, name: "model.0", using: &rng)
        down1 = ConvBlock(w[0], w[1], kernel: 3, stride: 2, dtype: dtype, name: "model.1", using: &rng)
        stage1 = C3(w[1], w[1], repeats: 1, dtype: dtype, name: "model.2", using: &rng)
        down2 = ConvBlock(w[1], w[2], kernel: 3, stride: 2, dtype: dtype, name: "model.3", using: &rng)
        stage2 = C3(w[2], w[2], repeats: 2, dtype: dtype, name: "model.4", using: &rng)
        down3 = ConvBlock(w[2], w[3], kernel: 3, stride: 2, dtype: dtype, name: "model.5", using: &rng)
        stage3 = C3(w[3], w[3], repeats: 1, dtype: dtype, name: "model.6", using: &rng)
        sppf = SPPF(w[3], w[3], kernel: 5, dtype: dtype, name: "model.7", using: &rng)
        lateral = ConvBlock(w[3], w[2], kernel: 1, dtype: dtype, name: "model.8", using: &rng)
        headP3 = C3(2 * w[2], w[2], repeats: 1, shortcut: false, dtype: dtype, name: "model.11", using: &rng)
        down4 = ConvBlock(w[2], w[2], kernel: 3, stride: 2, dtype: dtype, name: "model.12", using: &rng)
        headP4 = C3(2 * w[2], w[3], repeats: 1, shortcut: false, dtype: dtype, name: "model.14", using: &rng)
        detect = Detect(classes: architecture.classes, anchors: architecture.anchors, strides: DetectorArchitecture.strides,
                        channels: [w[2], w[3]], dtype: dtype, name: "model.15", using: &rng)
    }

    /// The raw head outputs of a batch [n, h, w, 3] (h and w multiples of 16): [n, h/8, w/8,
    /// 3 * (5 + nc)] and [n, h/16, w/16, 3 * (5 + nc)].
    public func callAsFunction(_ images: Tensor) -> [Tensor] {
        precondition(images.rank == 4 && images.shape[3] == 3 && images.shape[1] % 16 == 0 && images.shape[2] % 16 == 0,
                     "Detector: images must be [n, h, w, 3] with h and w multiples of 16; got \(images.shape)")
        let p3 = stage2(down2(stage1(down1(stem(images)))))
        let p4 = sppf(stage3(down3(p3)))
        let h8 = lateral(p4)
        let outP3 = headP3(.concatenate(lastAxis: [h8.upsampleNearest(scale: 2), p3]))
        let outP4 = headP4(.concatenate(lastAxis: [down4(outP3), h8]))
        return detect([outP3, outP4])
    }

    /// The modules in YOLOv5's registration order (model.0 ... model.15).
    var modules: [any Module] {
        [stem, down1, stage1, down2, stage2, down3, stage3, sppf, lateral, headP3, down4, headP4]
    }

    /// Every parameter with its YOLOv5 name, in registration order (model.0.conv.weight, ...).
    public var namedParameters: [NamedParameter] { modules.flatMap(\.namedParameters) + detect.namedParameters }

    /// The parameter tensors in `namedParameters` order.
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// YOLOv5's three optimizer groups: biases, convolution weights (decayed), BatchNorm weights.
    public var parameterGroups: ParameterGroups { ParameterGroups(namedParameters) }

    /// Every BatchNorm2d, in registration order.
    public var batchNorms: [BatchNorm2d] {
        var found: [BatchNorm2d] = []
        func visit(_ b: ConvBlock) { found.append(b.bn) }
        func visit(_ c: C3) { visit(c.cv1); visit(c.cv2); visit(c.cv3); for m in c.m { visit(m.cv1); visit(m.cv2) } }
        visit(stem); visit(down1); visit(stage1); visit(down2); visit(stage2); visit(down3); visit(stage3)
        visit(sppf.cv1); visit(sppf.cv2); visit(lateral); visit(headP3); visit(down4); visit(headP4)
        return found
    }

    /// Puts every BatchNorm2d in training (batch statistics) or evaluation (running statistics) mode.
    public func setTraining(_ training: Bool) { for bn in batchNorms { bn.isTraining = training } }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// The number of parameter values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}
