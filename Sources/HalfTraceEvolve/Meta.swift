import Foundation
import HalfTraceOptim

/// The evolvable hyper-parameters: `ScheduleHyperparameters.keys`, each with YOLOv5 v7.0's
/// evolution meta entry (mutation gain, lower and upper bound). A gain of 0 would freeze a key.
public enum HyperparameterMeta {
    public static var table: [HyperparameterKey] { ScheduleHyperparameters.keys }

    /// Clamped to each key's [lower, upper] and rounded to 5 decimals (YOLOv5's
    /// `round(hyp[k], 5)`: Python rounds the exact binary value, as printf does).
    public static func constrain(_ v: [Double]) -> [Double] {
        zip(v, table).map { x, m in round5(min(max(x, m.lower), m.upper)) }
    }

    /// %.5f rounds the exact binary value to nearest, ties to even, as Python's round(x, 5).
    static func round5(_ x: Double) -> Double { Double(String(format: "%.5f", x)) ?? x }
}
