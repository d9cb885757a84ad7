import Foundation
import HalfTraceAutograd
import HalfTraceNN

/// A classifier's validation metrics, and a fitness in the spirit of YOLOv5's
/// `0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95` (a lenient and a strict metric, the strict one averaged
/// over thresholds):
///
///     accuracy            = fraction of validation examples classified correctly
///     accuracy@t          = fraction classified correctly with confidence (softmax, or sigmoid for
///                           one logit, of the predicted class) >= t
///     confident_accuracy  = mean of accuracy@t over t = 0.50, 0.55, ..., 0.95
///     fitness             = 0.1 * accuracy + 0.9 * confident_accuracy
public struct ValidationMetrics: Sendable, Equatable, Codable {
    /// The fraction of validation examples classified correctly.
    public var accuracy: Double
    /// The mean over `thresholds` of the fraction classified correctly with confidence >= t.
    public var confidentAccuracy: Double
    /// The mean loss per validation example.
    public var loss: Double

    /// The fitness weights, YOLOv5's 0.1 and 0.9 for mAP@0.5 and mAP@0.5:0.95.
    public static let weights = (accuracy: 0.1, confidentAccuracy: 0.9)
    /// The confidence thresholds 0.50, 0.55, ..., 0.95 (as mAP@0.5:0.95's IoU thresholds).
    public static let thresholds: [Double] = (0..<10).map { 0.5 + 0.05 * Double($0) }

    /// 0.1 * accuracy + 0.9 * confident accuracy.
    public var fitness: Double { Self.weights.accuracy * accuracy + Self.weights.confidentAccuracy * confidentAccuracy }

    /// Metrics from their values.
    public init(accuracy: Double, confidentAccuracy: Double, loss: Double) {
        self.accuracy = accuracy
        self.confidentAccuracy = confidentAccuracy
        self.loss = loss
    }
}

extension Trainer {
    /// The probability of class `k` given one row of logits: sigmoid for a single logit (of class
    /// 1, or its complement for class 0), softmax otherwise.
    static func confidence(_ logits: [Double], _ k: Int) -> Double {
        if logits.count == 1 {
            let p = 1 / (1 + Foundation.exp(-logits[0]))
            return k == 1 ? p : 1 - p
        }
        let m = logits.max()!
        let e = logits.map { Foundation.exp($0 - m) }
        return e[k] / e.reduce(0, +)
    }

    /// Loss, accuracy and confident accuracy on the validation set (no graph, run precision).
    public func validationMetrics() -> ValidationMetrics {
        let set = data.validation
        var lossSum = 0.0, correct = 0
        var confident = [Int](repeating: 0, count: ValidationMetrics.thresholds.count)
        withNoGrad {
            var lo = 0
            while lo < set.count {
                let hi = min(lo + 512, set.count)
                let x = set.inputs(lo..<hi, dtype: config.precision.parameterDType)
                let labels = set.labels(lo..<hi)
                config.precision.scope {
                    let y = logits(x)
                    lossSum += config.model.loss(y, labels: labels).item() * Double(hi - lo)
                    let v = y.doubles, columns = y.shape[1]
                    for (r, predicted) in config.model.loss.predictions(y).enumerated() where predicted == labels[r] {
                        correct += 1
                        let confidence = Self.confidence(Array(v[(r * columns)..<((r + 1) * columns)]), predicted)
                        for (i, t) in ValidationMetrics.thresholds.enumerated() where confidence >= t { confident[i] += 1 }
                    }
                }
                lo = hi
            }
        }
        let n = Double(max(set.count, 1))
        return ValidationMetrics(accuracy: Double(correct) / n,
                                 confidentAccuracy: confident.reduce(0) { $0 + Double($1) / n } / Double(confident.count),
                                 loss: lossSum / n)
    }
}
