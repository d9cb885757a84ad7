import Foundation
import HalfTraceDetection
import HalfTraceOptim

/// One evolvable hyper-parameter: its YOLOv5 YAML key and YOLOv5 v7.0's evolution meta entry
/// (train.py `meta`: mutation gain, lower and upper bound). A gain of 0 freezes the key.
public struct EvolvableKey: Sendable, Equatable {
    /// The YOLOv5 YAML key.
    public let name: String
    /// The mutation gain.
    public let gain: Double
    /// The lower bound.
    public let lower: Double
    /// The upper bound.
    public let upper: Double

    /// The width of the bounds.
    public var range: Double { upper - lower }
}

/// The evolvable hyper-parameters of each model: the schedule's keys
/// (`ScheduleHyperparameters.keys`), and for the detector also its loss and augmentation keys
/// (`DetectorHyperparameters.keys`), each with YOLOv5 v7.0's meta entry.
public enum HyperparameterMeta {
    /// The schedule's keys: the toy models' table.
    public static var table: [EvolvableKey] { table(for: .tiny) }

    /// The keys `model` evolves, in evolve.csv's order.
    public static func table(for model: EvolveModel) -> [EvolvableKey] {
        let schedule = ScheduleHyperparameters.keys.map { EvolvableKey(name: $0.name, gain: $0.gain, lower: $0.lower, upper: $0.upper) }
        guard model == .detector else { return schedule }
        return schedule + DetectorHyperparameters.keys.map { EvolvableKey(name: $0.name, gain: $0.gain, lower: $0.lower, upper: $0.upper) }
    }

    /// Clamped to each key's [lower, upper] and rounded to 5 decimals (YOLOv5's
    /// `round(hyp[k], 5)`: Python rounds the exact binary value, as printf does).
    public static func constrain(_ v: [Double], table: [EvolvableKey] = table) -> [Double] {
        zip(v, table).map { x, m in round5(min(max(x, m.lower), m.upper)) }
    }

    /// %.5f rounds the exact binary value to nearest, ties to even, as Python's round(x, 5).
    static func round5(_ x: Double) -> Double { Double(String(format: "%.5f", x)) ?? x }
}
