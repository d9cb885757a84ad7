/// A logged loss-scale sequence against `torch.amp.GradScaler`'s rule, given the log's overflow
/// flags: at every update (an iteration whose window completed), found_inf multiplies the scale
/// by the backoff factor and resets the growth tracker; a clean update counts, and at
/// `growth_interval` clean updates multiplies it by the growth factor (PyTorch 2.x,
/// `_amp_update_scale_cpu_kernel`: `scale = float(scale * factor)`). Factors and interval are
/// given, or inferred from the log's backoffs and growths, and said so.
public struct ScaleVerification: Sendable {
    /// GradScaler's settings as the check used them.
    public struct Settings: Sendable, Equatable {
        /// The first logged scale.
        public var initScale: Double
        /// The factor of a growth.
        public var growthFactor: Double
        /// The factor of a backoff.
        public var backoffFactor: Double
        /// nil: no growth in the log, so the interval is only known to exceed `longestCleanRun`.
        public var growthInterval: Int?
        /// How each setting was found ("given", "inferred from ...").
        public var sources: [String]
    }

    /// The settings the check used.
    public var settings: Settings
    /// The predicted scale of every row (the scale its loss was multiplied by).
    public var predicted: [Double]
    /// Rows checked.
    public var rows: Int
    /// The first row whose scale differs: (row index, logged, predicted).
    public var firstDisagreement: (row: Int, logged: Double, predicted: Double)?
    /// Updates with found_inf (the backoffs) and growths predicted.
    public var backoffs: Int
    /// Growths predicted.
    public var growths: Int
    /// Where the scale restarted at a resume (a fresh GradScaler).
    public var restarts: [Int]

    /// Every logged scale is the rule's.
    public var passes: Bool { firstDisagreement == nil }

    /// Checks `rows` (scale, found_inf and whether the window completed: `updated`); `segments`
    /// are the indices where a resumed part starts. Given settings override inferred ones.
    public static func check(scales: [Double], foundInf: [Bool], updated: [Bool], segments: Set<Int>,
                             growthFactor: Double? = nil, backoffFactor: Double? = nil, growthInterval: Int? = nil) -> ScaleVerification {
        precondition(scales.count == foundInf.count && scales.count == updated.count, "one flag per row")
        var sources: [String] = []
        // Inference: the most common ratio over the backoffs and over the rises, and the most
        // common number of clean updates before a rise (since the start, a backoff or a rise), so
        // that one altered value cannot set the rule it is checked against.
        var backoffRatios: [Double] = [], growthRatios: [Double] = [], intervals: [Int] = []
        var clean = 0
        for k in 0..<(scales.count - 1) {
            if segments.contains(k + 1) { clean = 0; continue }
            guard updated[k] else { continue }
            let ratio = scales[k + 1] / scales[k]
            if foundInf[k] {
                if ratio < 1 { backoffRatios.append(ratio) }
                clean = 0
            } else {
                clean += 1
                if ratio > 1 {
                    growthRatios.append(ratio)
                    intervals.append(clean)
                    clean = 0
                }
            }
        }
        func mode<T: Hashable>(_ values: [T]) -> T? {
            var counts: [T: Int] = [:]
            for v in values { counts[v, default: 0] += 1 }
            return values.first { counts[$0] == counts.values.max() }
        }
        let inferredBackoff = mode(backoffRatios), inferredGrowth = mode(growthRatios), inferredInterval = mode(intervals)
        let backoff = backoffFactor ?? inferredBackoff ?? 0.5
        sources.append(backoffFactor != nil ? "backoff_factor \(backoff) (given)"
                       : inferredBackoff != nil ? "backoff_factor \(backoff) (inferred from \(backoffRatios.count) backoff(s))" : "backoff_factor 0.5 (PyTorch's default; no backoff in the log)")
        let growth = growthFactor ?? inferredGrowth ?? 2
        sources.append(growthFactor != nil ? "growth_factor \(growth) (given)"
                       : inferredGrowth != nil ? "growth_factor \(growth) (inferred from \(growthRatios.count) growth(s))" : "growth_factor 2 (PyTorch's default; no growth in the log)")
        let interval = growthInterval ?? inferredInterval
        sources.append(growthInterval != nil ? "growth_interval \(interval!) (given)"
                       : interval != nil ? "growth_interval \(interval!) (inferred: \(intervals.filter { $0 == interval! }.count) of \(intervals.count) growth(s) came after \(interval!) clean updates)"
                       : "growth_interval unknown (no growth in the log: it exceeds every run of clean updates)")
        var result = ScaleVerification(settings: Settings(initScale: scales[0], growthFactor: growth, backoffFactor: backoff,
                                                          growthInterval: interval, sources: sources),
                                       predicted: [], rows: scales.count, firstDisagreement: nil, backoffs: 0, growths: 0, restarts: [])
        var scale = Float(scales[0]), tracker = 0
        for k in scales.indices {
            if k > 0 && segments.contains(k) {
                scale = Float(scales[k])  // a resumed run: a fresh (YOLOv5) or restored (Ultralytics 8.3.203+) scaler
                tracker = 0
                result.restarts.append(k)
            }
            result.predicted.append(Double(scale))
            if result.firstDisagreement == nil && Double(scale) != scales[k] { result.firstDisagreement = (k, scales[k], Double(scale)) }
            guard updated[k] else { continue }
            if foundInf[k] {
                scale = Float(Double(scale) * backoff)
                tracker = 0
                result.backoffs += 1
            } else {
                tracker += 1
                if let interval, tracker >= interval {
                    let grown = Float(Double(scale) * growth)
                    if grown.isFinite { scale = grown; result.growths += 1 }
                    tracker = 0
                }
            }
        }
        return result
    }
}
