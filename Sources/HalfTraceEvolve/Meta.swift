import Foundation
import HalfTraceOptim

/// One evolvable hyper-parameter: YOLOv5 v7.0's meta table entry (mutation gain, lower and upper
/// bound) for the keys the toy recipe uses. A gain of 0 would freeze the key.
public struct MetaEntry: Sendable, Equatable {
    public let key: String
    public let gain: Double
    public let lower: Double
    public let upper: Double

    public var range: Double { upper - lower }
}

public enum HyperparameterMeta {
    /// train.py v7.0 `meta` for lr0, lrf, momentum, weight_decay, warmup_epochs, warmup_momentum, warmup_bias_lr.
    public static let table: [MetaEntry] = [
        MetaEntry(key: "lr0", gain: 1, lower: 1e-5, upper: 1e-1),
        MetaEntry(key: "lrf", gain: 1, lower: 0.01, upper: 1.0),
        MetaEntry(key: "momentum", gain: 0.3, lower: 0.6, upper: 0.98),
        MetaEntry(key: "weight_decay", gain: 1, lower: 0.0, upper: 0.001),
        MetaEntry(key: "warmup_epochs", gain: 1, lower: 0.0, upper: 5.0),
        MetaEntry(key: "warmup_momentum", gain: 1, lower: 0.0, upper: 0.95),
        MetaEntry(key: "warmup_bias_lr", gain: 1, lower: 0.0, upper: 0.2),
    ]

    public static func vector(_ h: ScheduleHyperparameters) -> [Double] {
        [h.lr0, h.lrf, h.momentum, h.weightDecay, h.warmupEpochs, h.warmupMomentum, h.warmupBiasLR]
    }

    public static func hyperparameters(_ v: [Double]) -> ScheduleHyperparameters {
        var h = ScheduleHyperparameters()
        (h.lr0, h.lrf, h.momentum, h.weightDecay, h.warmupEpochs, h.warmupMomentum, h.warmupBiasLR) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6])
        return h
    }

    /// Clamped to each key's [lower, upper] and rounded to 5 decimals (YOLOv5's
    /// `round(hyp[k], 5)`: Python rounds the exact binary value, as printf does).
    public static func constrain(_ v: [Double]) -> [Double] {
        zip(v, table).map { x, m in round5(min(max(x, m.lower), m.upper)) }
    }

    /// %.5f rounds the exact binary value to nearest, ties to even, as Python's round(x, 5).
    static func round5(_ x: Double) -> Double { Double(String(format: "%.5f", x)) ?? x }
}
