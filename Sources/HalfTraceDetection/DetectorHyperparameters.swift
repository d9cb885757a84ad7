import HalfTraceKernels

/// YOLOv5's loss and augmentation hyper-parameters the detector reads, with the defaults of
/// `data/hyps/hyp.scratch-low.yaml` (v7.0) as they stand in the file (before train.py scales the
/// loss gains). The schedule's keys live in `ScheduleHyperparameters`.
public struct DetectorHyperparameters: Sendable, Codable, Equatable {
    /// Box (CIoU) loss gain (0.05).
    public var box = 0.05
    /// Class loss gain (0.5).
    public var cls = 0.5
    /// Class BCE positive weight (1.0).
    public var clsPW = 1.0
    /// Objectness loss gain (1.0).
    public var obj = 1.0
    /// Objectness BCE positive weight (1.0).
    public var objPW = 1.0
    /// Anchor-multiple threshold (4.0).
    public var anchorT = 4.0
    /// The training-time augmentation.
    public var augmentation = AugmentationHyperparameters()

    /// hyp.scratch-low's values.
    public init() {}

    /// The gains as train.py v7.0 scales them before building ComputeLoss, in Python's double
    /// arithmetic (`hyp['box'] *= 3 / nl`, `hyp['cls'] *= nc / 80 * 3 / nl`,
    /// `hyp['obj'] *= (imgsz / 640) ** 2 * 3 / nl`), with label smoothing 0.
    public func scaled(scales nl: Int, classes nc: Int, imageSize: Int) -> LossGains {
        let ratio = Double(imageSize) / 640
        return LossGains(box: box * (3 / Double(nl)), obj: obj * (ratio * ratio * 3 / Double(nl)), cls: cls * (Double(nc) / 80 * 3 / Double(nl)),
                         clsPositiveWeight: clsPW, objPositiveWeight: objPW, anchorThreshold: anchorT, labelSmoothing: 0)
    }

    /// One key: its YOLOv5 name, where it lives, the values accepted, and train.py v7.0's
    /// evolution `meta` entry (mutation gain, lower, upper).
    public struct Key: Sendable {
        /// The YOLOv5 YAML key.
        public let name: String
        /// Where the value lives.
        public let keyPath: WritableKeyPath<DetectorHyperparameters, Double> & Sendable
        /// The values accepted.
        public let valid: ClosedRange<Double>
        /// Evolution's mutation gain (0: never mutated).
        public let gain: Double
        /// Evolution's lower bound.
        public let lower: Double
        /// Evolution's upper bound.
        public let upper: Double
    }

    /// The keys in YOLOv5's file order.
    public static let keys: [Key] = [
        Key(name: "box", keyPath: \.box, valid: 0...1e3, gain: 1, lower: 0.02, upper: 0.2),
        Key(name: "cls", keyPath: \.cls, valid: 0...1e3, gain: 1, lower: 0.2, upper: 4.0),
        Key(name: "cls_pw", keyPath: \.clsPW, valid: 1e-3...1e3, gain: 1, lower: 0.5, upper: 2.0),
        Key(name: "obj", keyPath: \.obj, valid: 0...1e3, gain: 1, lower: 0.2, upper: 4.0),
        Key(name: "obj_pw", keyPath: \.objPW, valid: 1e-3...1e3, gain: 1, lower: 0.5, upper: 2.0),
        Key(name: "anchor_t", keyPath: \.anchorT, valid: 1.000_001...100, gain: 1, lower: 2.0, upper: 8.0),
        Key(name: "hsv_h", keyPath: \.augmentation.hsvH, valid: 0...1, gain: 1, lower: 0.0, upper: 0.1),
        Key(name: "hsv_s", keyPath: \.augmentation.hsvS, valid: 0...1, gain: 1, lower: 0.0, upper: 0.9),
        Key(name: "hsv_v", keyPath: \.augmentation.hsvV, valid: 0...1, gain: 1, lower: 0.0, upper: 0.9),
        Key(name: "degrees", keyPath: \.augmentation.degrees, valid: 0...180, gain: 1, lower: 0.0, upper: 45.0),
        Key(name: "translate", keyPath: \.augmentation.translate, valid: 0...0.9, gain: 1, lower: 0.0, upper: 0.9),
        Key(name: "scale", keyPath: \.augmentation.scale, valid: 0...0.9, gain: 1, lower: 0.0, upper: 0.9),
        Key(name: "shear", keyPath: \.augmentation.shear, valid: 0...45, gain: 1, lower: 0.0, upper: 10.0),
        Key(name: "flipud", keyPath: \.augmentation.flipud, valid: 0...1, gain: 1, lower: 0.0, upper: 1.0),
        Key(name: "fliplr", keyPath: \.augmentation.fliplr, valid: 0...1, gain: 0, lower: 0.0, upper: 1.0),
        Key(name: "mosaic", keyPath: \.augmentation.mosaic, valid: 0...1, gain: 1, lower: 0.0, upper: 1.0),
    ]

    /// The key named `name`, if the detector reads it.
    public static func key(_ name: String) -> Key? { keys.first { $0.name == name } }

    /// Refuses a value outside its key's range, naming the key.
    public func validate() throws {
        for key in Self.keys { try HalfTraceError.check(key.name, self[keyPath: key.keyPath], in: key.valid) }
    }
}
