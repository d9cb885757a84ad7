import Foundation
import HalfTraceAutograd
import HalfTraceKernels

/// YOLOv5's loss hyper-parameters as `ComputeLoss` reads them, after train.py has scaled them to
/// the number of output layers, classes and the image size (`DetectorHyperparameters.scaled`).
public struct LossGains: Sendable, Codable, Equatable {
    /// The box (CIoU) loss gain.
    public var box: Double
    /// The objectness loss gain.
    public var obj: Double
    /// The class loss gain.
    public var cls: Double
    /// BCEWithLogits' pos_weight of the class loss (`cls_pw`).
    public var clsPositiveWeight: Double
    /// BCEWithLogits' pos_weight of the objectness loss (`obj_pw`).
    public var objPositiveWeight: Double
    /// A target matches an anchor when both its width and height ratios lie within
    /// [1 / anchor_t, anchor_t].
    public var anchorThreshold: Double
    /// Class label smoothing eps: targets 1 - eps / 2 and eps / 2 (`smooth_BCE`).
    public var labelSmoothing: Double

    /// Gains as given (already scaled).
    public init(box: Double, obj: Double, cls: Double, clsPositiveWeight: Double = 1, objPositiveWeight: Double = 1,
                anchorThreshold: Double = 4, labelSmoothing: Double = 0) {
        self.box = box
        self.obj = obj
        self.cls = cls
        self.clsPositiveWeight = clsPositiveWeight
        self.objPositiveWeight = objPositiveWeight
        self.anchorThreshold = anchorThreshold
        self.labelSmoothing = labelSmoothing
    }
}

/// The three parts of the loss as `ComputeLoss` returns them detached: `[lbox, lobj, lcls]`,
/// each with its gain applied, before the batch-size factor.
public struct LossComponents: Sendable, Equatable, Codable {
    /// lbox: box * Σ over scales of mean(1 - CIoU).
    public var box: Double
    /// lobj: obj * Σ over scales of balance * mean BCE(objectness, IoU target).
    public var obj: Double
    /// lcls: cls * Σ over scales of mean BCE(class logits, one-hot target).
    public var cls: Double

    /// The components as given.
    public init(box: Double, obj: Double, cls: Double) {
        self.box = box
        self.obj = obj
        self.cls = cls
    }

    /// lbox + lobj + lcls.
    public var total: Double { box + obj + cls }
}

/// YOLOv5 v7.0's `ComputeLoss.__call__` (`utils/loss.py`) as one autograd op over the Detect
/// head's raw outputs (NHWC, channel a * no + k), with gr = 1, no autobalance, no focal loss:
///
///     for each scale i with matches (b, a, gj, gi) from build_targets:
///         pxy = sigmoid(p[..., 0:2]) * 2 - 0.5;  pwh = (sigmoid(p[..., 2:4]) * 2) ** 2 * anchors
///         iou = CIoU(pbox, tbox);  lbox += mean(1 - iou)
///         tobj[b, a, gj, gi] = iou.detach().clamp(0)            # in match order: the last wins
///         lcls += BCE(p[b, a, gj, gi, 5:], one-hot(c) smoothed)  # only when nc > 1
///         lobj += balance[i] * BCE(p[..., 4], tobj)              # mean over every anchor and cell
///     return (box * lbox + obj * lobj + cls * lcls) * bs
///
/// with balance [4.0, 1.0, 0.4] for three scales, else [4.0, 1.0, 0.25, 0.06, 0.02]. Every
/// quantity is computed in Float from the (exactly widened) outputs, as YOLOv5's BCE terms run
/// in float32 under autocast; the loss is a float32 scalar. The box term's gradient comes from
/// `Dual` numbers through `BoxGeometry.iou`, so the formula is written once; alpha is detached,
/// as YOLOv5's `torch.no_grad()` block.
public enum DetectionLoss {
    /// ComputeLoss' per-scale objectness weights.
    public static func balance(scales nl: Int) -> [Double] {
        Array((nl == 3 ? [4.0, 1.0, 0.4] : [4.0, 1.0, 0.25, 0.06, 0.02]).prefix(nl))
    }

    /// The loss of raw outputs `outputs` (one [bs, ny, nx, na * no] per scale) against `targets`,
    /// with anchors in pixels per scale and the scales' strides: (loss * bs, a scalar that
    /// backpropagates into the outputs, and the detached components).
    public static func compute(_ outputs: [Tensor], targets: [TargetBox], anchors: [[SIMD2<Float>]], strides: [Int],
                               classes nc: Int, gains: LossGains) -> (loss: Tensor, components: LossComponents) {
        precondition(!outputs.isEmpty && outputs.count == anchors.count && anchors.count == strides.count,
                     "DetectionLoss: \(outputs.count) outputs, \(anchors.count) anchor sets, \(strides.count) strides")
        let na = anchors[0].count, no = nc + 5
        let bs = outputs[0].shape[0]
        for o in outputs {
            precondition(o.rank == 4 && o.shape[0] == bs && o.shape[3] == na * no,
                         "DetectionLoss: output \(o.shape) is not [\(bs), ny, nx, \(na * no)]")
        }
        precondition(targets.allSatisfy { (0..<bs).contains($0.image) && (0..<nc).contains($0.classIndex) },
                     "DetectionLoss: a target's image or class is out of range")
        let grid = zip(anchors, strides).map { a, s in a.map { $0 / Float(s) } }
        let assignment = TargetAssignment.build(targets, grids: outputs.map { ($0.shape[1], $0.shape[2]) }, anchors: grid,
                                                anchorThreshold: Float(gains.anchorThreshold))
        let balance = balance(scales: outputs.count)
        let (cp, cn) = (Float(1 - 0.5 * gains.labelSmoothing), Float(0.5 * gains.labelSmoothing))
        let clsPW = Float(gains.clsPositiveWeight), objPW = Float(gains.objPositiveWeight)

        var lbox = 0.0, lobj = 0.0, lcls = 0.0
        // d(loss) / d(raw) per scale before the upstream gradient, bs and the gains.
        var boxGrad: [[Float]] = [], objGrad: [[Float]] = [], clsGrad: [[Float]] = []
        let raws = StepProfile.measure(.loss) { outputs.map { Float.load($0.storage) } }
        StepProfile.measure(.loss) {
            for (i, raw) in raws.enumerated() {
                let (ny, nx) = (outputs[i].shape[1], outputs[i].shape[2])
                let cells = bs * ny * nx * na
                var gBox = [Float](repeating: 0, count: raw.count), gCls = [Float](repeating: 0, count: raw.count)
                var tobj = [Float](repeating: 0, count: cells)
                let m = assignment[i]
                let n = m.count
                if n > 0 {
                    var sum = 0.0, clsSum = 0.0
                    for k in 0..<n {
                        let cell = ((m.image[k] * ny + m.gridY[k]) * nx + m.gridX[k]) * na + m.anchor[k]
                        let base = cell * no
                        let s = (0..<4).map { Dual.sigmoid(.variable(raw[base + $0], index: $0)) }
                        let two = Dual(2)
                        let pxy = (s[0] * two - Dual(0.5), s[1] * two - Dual(0.5))
                        let anchor = m.anchorSize[k]
                        let pw = (s[2] * two) * (s[2] * two) * Dual(anchor.x), ph = (s[3] * two) * (s[3] * two) * Dual(anchor.y)
                        let t = m.box[k]
                        let iou = BoxGeometry.iou((pxy.0, pxy.1, pw, ph), (Dual(t[0]), Dual(t[1]), Dual(t[2]), Dual(t[3])))
                        sum += Double(1 - iou.value)
                        for c in 0..<4 { gBox[base + c] -= iou.derivatives[c] / Float(n) }
                        tobj[cell] = iou.value.isNaN ? iou.value : Swift.max(iou.value, 0)
                        if nc > 1 {
                            for c in 0..<nc {
                                let x = raw[base + 5 + c], target = c == m.classIndex[k] ? cp : cn
                                clsSum += Double(bce(x, target, clsPW))
                                gCls[base + 5 + c] += bceGradient(x, target, clsPW) / Float(n * nc)
                            }
                        }
                    }
                    lbox += sum / Double(n)
                    if nc > 1 { lcls += clsSum / Double(n * nc) }
                }
                var gObj = [Float](repeating: 0, count: raw.count)
                var objSum = 0.0
                for cell in 0..<cells {
                    let x = raw[cell * no + 4]
                    objSum += Double(bce(x, tobj[cell], objPW))
                    gObj[cell * no + 4] = bceGradient(x, tobj[cell], objPW) / Float(cells)
                }
                lobj += balance[i] * objSum / Double(cells)
                boxGrad.append(gBox)
                objGrad.append(gObj)
                clsGrad.append(gCls)
            }
        }
        let components = LossComponents(box: Double(Float(lbox * gains.box)), obj: Double(Float(lobj * gains.obj)),
                                        cls: Double(Float(lcls * gains.cls)))
        let total = Float(components.total) * Float(bs)
        let loss = Tensor.operation(.float32([total]), shape: [], op: "yolov5_loss", parents: outputs) { gs in
            StepProfile.measure(.loss) {
                let scale = gs.floats[0] * Float(bs)
                let (box, cls) = (Float(gains.box) * scale, Float(gains.cls) * scale)
                return outputs.indices.map { i -> Storage? in
                    guard outputs[i].requiresGrad else { return nil }
                    let obj = Float(gains.obj * balance[i]) * scale
                    let (b, o, c) = (boxGrad[i], objGrad[i], clsGrad[i])
                    let grad = (0..<b.count).map { k in box * b[k] + obj * o[k] + cls * c[k] }
                    return Float.store(grad, as: outputs[i].dtype)
                }
            }
        }
        return (loss, components)
    }

    /// BCEWithLogits with pos_weight pw: (1 - t) x + (1 + (pw - 1) t) softplus(-x), with
    /// softplus(-x) = log1p(exp(-|x|)) + max(-x, 0).
    static func bce(_ x: Float, _ t: Float, _ pw: Float) -> Float {
        let softplus = log1pf(expf(-Swift.abs(x))) + Swift.max(-x, 0)
        return (1 - t) * x + (1 + (pw - 1) * t) * softplus
    }

    /// d bce / dx = (1 - t) + (1 + (pw - 1) t) (sigmoid(x) - 1); sigmoid(x) - t when pw = 1.
    static func bceGradient(_ x: Float, _ t: Float, _ pw: Float) -> Float {
        let s = 1 / (1 + expf(-x))
        return pw == 1 ? s - t : (1 - t) + (1 + (pw - 1) * t) * (s - 1)
    }
}

extension Dual {
    /// sigmoid(x) = 1 / (1 + exp(-x)); d sigmoid = s (1 - s) dx.
    public static func sigmoid(_ x: Dual) -> Dual {
        let s = 1 / (1 + expf(-x.value))
        return Dual(s, derivatives: x.derivatives * (s * (1 - s)))
    }
}

