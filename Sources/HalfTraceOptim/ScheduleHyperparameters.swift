import HalfTraceKernels

/// YOLOv5's hyper-parameters that the learning-rate schedule uses, with the defaults of
/// `data/hyps/hyp.scratch-low.yaml` (YOLOv5 v7.0).
public struct ScheduleHyperparameters: Sendable, Equatable, Codable {
    /// The initial learning rate (default 0.01).
    public var lr0: Double = 0.01
    /// The final learning rate as a fraction of lr0 (default 0.01).
    public var lrf: Double = 0.01
    /// SGD momentum, or Adam's beta1 (default 0.937).
    public var momentum: Double = 0.937
    /// Weight decay before YOLOv5's bs * accumulate / nbs scaling (default 5e-4).
    public var weightDecay: Double = 0.0005
    /// Warm-up length in epochs, fractions allowed (default 3.0).
    public var warmupEpochs: Double = 3.0
    /// The momentum at the start of the warm-up (default 0.8).
    public var warmupMomentum: Double = 0.8
    /// The bias group's lr at the start of the warm-up (default 0.1).
    public var warmupBiasLR: Double = 0.1

    /// The values of `hyp.scratch-low.yaml` (YOLOv5 v7.0).
    public init() {}

    /// Refuses a value outside its key's `valid` range, naming the key.
    public func validate() throws {
        for key in Self.keys { try HalfTraceError.check(key.name, self[keyPath: key.keyPath], in: key.valid) }
    }

    /// The values in the order of `keys`.
    public var vector: [Double] { Self.keys.map { self[keyPath: $0.keyPath] } }

    /// Hyper-parameters from values in the order of `keys`.
    public init(vector: [Double]) {
        precondition(vector.count == Self.keys.count, "\(vector.count) values for \(Self.keys.count) hyper-parameters")
        for (key, value) in zip(Self.keys, vector) { self[keyPath: key.keyPath] = value }
    }

    /// Every hyper-parameter the recipe reads, in YOLOv5's file order: the one table that hyp
    /// files, evolution, configuration diffs and golden scenarios read. Adding a key is one line.
    public static let keys: [HyperparameterKey] = [
        HyperparameterKey("lr0", \.lr0, valid: 0...1e12, evolve: (1, 1e-5, 1e-1), help: "Initial learning rate."),
        HyperparameterKey("lrf", \.lrf, valid: 0...10, evolve: (1, 0.01, 1.0), help: "Final learning rate as a fraction of lr0."),
        HyperparameterKey("momentum", \.momentum, valid: 0...0.999_999, evolve: (0.3, 0.6, 0.98), help: "SGD momentum / Adam beta1."),
        HyperparameterKey("weight_decay", \.weightDecay, valid: 0...1, evolve: (1, 0.0, 0.001), help: "Weight decay (before YOLOv5's bs * accumulate / nbs scaling)."),
        HyperparameterKey("warmup_epochs", \.warmupEpochs, valid: 0...1000, evolve: (1, 0.0, 5.0), help: "Warm-up epochs (fractions ok)."),
        HyperparameterKey("warmup_momentum", \.warmupMomentum, valid: 0...0.999_999, evolve: (1, 0.0, 0.95), help: "Initial warm-up momentum."),
        HyperparameterKey("warmup_bias_lr", \.warmupBiasLR, valid: 0...1e12, evolve: (1, 0.0, 0.2), help: "Initial bias learning rate of the warm-up."),
    ]

    /// The key named `name` (a YOLOv5 YAML key), if the recipe reads it.
    public static func key(_ name: String) -> HyperparameterKey? { keys.first { $0.name == name } }
}

/// One hyper-parameter: its YOLOv5 YAML key, where it lives, the range the recipe accepts, and
/// YOLOv5 v7.0's evolution meta entry (mutation gain, lower and upper bound; `train.py` `meta`).
public struct HyperparameterKey: Sendable {
    /// The YOLOv5 YAML key (`lr0`, `warmup_bias_lr`).
    public let name: String
    /// Where the value lives in `ScheduleHyperparameters`.
    public let keyPath: WritableKeyPath<ScheduleHyperparameters, Double> & Sendable
    /// The values the recipe accepts; a file or configuration outside this range is refused.
    public let valid: ClosedRange<Double>
    /// Evolution's mutation gain for the key (the first entry of YOLOv5's `meta`).
    public let gain: Double
    /// Evolution's lower bound for the key.
    public let lower: Double
    /// Evolution's upper bound for the key.
    public let upper: Double
    /// One line describing the key, for help texts.
    public let help: String

    init(_ name: String, _ keyPath: WritableKeyPath<ScheduleHyperparameters, Double> & Sendable, valid: ClosedRange<Double>,
         evolve: (gain: Double, lower: Double, upper: Double), help: String) {
        self.name = name
        self.keyPath = keyPath
        self.valid = valid
        self.gain = evolve.gain
        self.lower = evolve.lower
        self.upper = evolve.upper
        self.help = help
    }

    /// The width of the evolution bounds.
    public var range: Double { upper - lower }
}
