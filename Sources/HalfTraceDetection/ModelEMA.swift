import Foundation
import HalfTraceAutograd

/// YOLOv5's `ModelEMA` (`utils/torch_utils.py`, v7.0): an exponential moving average of a model's
/// floating-point state (parameters and BatchNorm running statistics), kept in float32, that
/// YOLOv5 validates and saves instead of the model itself.
///
///     updates += 1;  d = decay * (1 - exp(-updates / tau))
///     for every floating entry v of the state:  v *= d;  v += (1 - d) * model[v]
///
/// in float32 with the Python doubles d and 1 - d rounded to float32, as PyTorch's in-place ops
/// with a Python scalar do. BatchNorm's integer `num_batches_tracked` is not averaged.
public struct ModelEMA: Sendable, Equatable, Codable {
    /// The decay's limit (0.9999).
    public let decay: Double
    /// The ramp's time constant in updates (2000).
    public let tau: Double
    /// Updates so far.
    public private(set) var updates: Int
    /// The averaged state, entry by entry in the model's state order.
    public private(set) var values: [[Float]]

    /// An average that starts at `state` (a copy of the model, as `deepcopy(model)`).
    public init(_ state: [[Float]], decay: Double = 0.9999, tau: Double = 2000, updates: Int = 0) {
        self.values = state
        self.decay = decay
        self.tau = tau
        self.updates = updates
    }

    /// d = decay * (1 - exp(-updates / tau)).
    public static func decay(updates: Int, decay: Double, tau: Double) -> Double {
        decay * (1 - Foundation.exp(-Double(updates) / tau))
    }

    /// One update towards the model's current `state` (same entries and sizes as `values`).
    public mutating func update(with state: [[Float]]) {
        precondition(state.count == values.count && zip(state, values).allSatisfy { $0.count == $1.count },
                     "ModelEMA: the model's state does not match the average's")
        updates += 1
        let d = Self.decay(updates: updates, decay: decay, tau: tau)
        let keep = Float(d), take = Float(1 - d)
        for k in values.indices {
            values[k].withUnsafeMutableBufferPointer { v in
                state[k].withUnsafeBufferPointer { m in
                    for i in v.indices { v[i] = v[i] * keep + take * m[i] }
                }
            }
        }
    }
}

extension Detector {
    /// The model's floating-point state as YOLOv5's state_dict orders it for the EMA: every
    /// parameter (widened to Float) in `namedParameters` order, then each BatchNorm's running mean
    /// and running variance.
    public var averagedState: [[Float]] {
        parameters.map(\.storage.floats) + batchNorms.flatMap { [$0.runningMean.map(Float.init), $0.runningVariance.map(Float.init)] }
    }

    /// Writes `state` (from `averagedState`, e.g. an EMA's values) into this model, each parameter
    /// rounded once to its dtype.
    public func load(averagedState state: [[Float]]) {
        let params = parameters, norms = batchNorms
        precondition(state.count == params.count + 2 * norms.count, "Detector.load: \(state.count) entries for \(params.count) parameters and \(norms.count) batch norms")
        for (p, values) in zip(params, state) {
            precondition(values.count == p.count, "Detector.load: \(values.count) values for a parameter of \(p.count)")
            p.storage = Float.store(values, as: p.dtype)
        }
        for (k, bn) in norms.enumerated() {
            bn.runningMean = state[params.count + 2 * k].map(Double.init)
            bn.runningVariance = state[params.count + 2 * k + 1].map(Double.init)
        }
    }
}
