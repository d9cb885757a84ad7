import HalfTraceOptim

/// A logged loss-scale sequence against `torch.amp.GradScaler`'s rule (`LossScaleRule.pytorch`,
/// the one update HalfTrace has: at every update, an iteration whose window completed, found_inf
/// multiplies the scale by the backoff factor and resets the growth tracker; a clean update
/// counts, and at `growth_interval` clean updates multiplies it by the growth factor; PyTorch
/// 2.x `_amp_update_scale_cpu_kernel`, float32 scale).
///
/// The settings are, in this order: given; written by the logger in the log's header
/// (`# scaler: growth_factor=..., backoff_factor=..., growth_interval=...`); inferred from the
/// log when asked (`inferScaler`), and said so; else PyTorch's defaults (2, 0.5, 2000). A log
/// with more clean updates than the interval and no growth disagrees where the growth was due.
public struct ScaleVerification: Sendable {
    /// GradScaler's settings as the check used them.
    public struct Settings: Sendable, Equatable {
        /// The first logged scale.
        public var initScale: Double
        /// The factor of a growth.
        public var growthFactor: Double
        /// The factor of a backoff.
        public var backoffFactor: Double
        /// Clean updates per growth.
        public var growthInterval: Int
        /// How each setting was found ("given", "PyTorch's default", "inferred from ...").
        public var sources: [String]

        /// The rule these settings make.
        var rule: LossScaleRule {
            var r = LossScaleRule.defaults(.pytorch)
            (r.initScale, r.growthFactor, r.backoffFactor, r.growthInterval) = (initScale, growthFactor, backoffFactor, growthInterval)
            return r
        }
    }

    /// The settings the check used.
    public var settings: Settings
    /// Rows checked.
    public var rows = 0
    /// The first row whose scale differs: (row index, logged, predicted).
    public var firstDisagreement: (row: Int, logged: Double, predicted: Double)?
    /// Rows whose scale differs.
    public var disagreements = 0
    /// Updates with found_inf (the backoffs).
    public var backoffs = 0
    /// Growths predicted.
    public var growths = 0
    /// Where the scale restarted at a resume (a fresh GradScaler).
    public var restarts: [Int] = []

    /// Every logged scale is the rule's.
    public var passes: Bool { firstDisagreement == nil }

    /// What the scale check may be told.
    public struct Given: Sendable, Equatable {
        /// growth_factor.
        public var growthFactor: Double?
        /// backoff_factor.
        public var backoffFactor: Double?
        /// growth_interval.
        public var growthInterval: Int?
        /// Infer what is not given from the log (the most common ratio and run of clean updates).
        public var infer = false
        /// Nothing given: the log's header, else PyTorch's defaults.
        public init(growthFactor: Double? = nil, backoffFactor: Double? = nil, growthInterval: Int? = nil, infer: Bool = false) {
            (self.growthFactor, self.backoffFactor, self.growthInterval, self.infer) = (growthFactor, backoffFactor, growthInterval, infer)
        }
    }

    /// The settings for `steps`: given, else its header's, else inferred (when asked), else PyTorch's.
    static func settings(_ steps: StepsLog, _ given: Given) -> Settings {
        var sources: [String] = []
        var backoffRatios: [Double] = [], growthRatios: [Double] = [], intervals: [Int] = []
        if given.infer {
            // The most common ratio over the backoffs and over the rises, and the most common number
            // of clean updates before a rise (since the start, a backoff or a rise), so that one
            // altered value cannot set the rule it is checked against. An update is a row where
            // the optimizer stepped or the scaler skipped the step.
            var clean = 0
            for k in 0..<max(0, steps.count - 1) {
                if steps.startsResume(k + 1) { clean = 0; continue }
                let inf = steps.foundInf(k) == true
                guard steps.optimizerStep(k) || inf else { continue }
                let ratio = steps.scale(k + 1)! / steps.scale(k)!
                if inf {
                    if ratio < 1 { backoffRatios.append(ratio) }
                    clean = 0
                } else {
                    clean += 1
                    if ratio > 1 { growthRatios.append(ratio); intervals.append(clean); clean = 0 }
                }
            }
        }
        func mode<T: Hashable>(_ values: [T]) -> T? {
            var counts: [T: Int] = [:]
            for v in values { counts[v, default: 0] += 1 }
            return values.first { counts[$0] == counts.values.max() }
        }
        func pick<T>(_ name: String, given: T?, header: T?, inferred: T?, count: Int, fallback: T) -> T {
            if let given { sources.append("\(name) \(given) (given)"); return given }
            if let header { sources.append("\(name) \(header) (the log's header)"); return header }
            if let inferred { sources.append("\(name) \(inferred) (inferred from \(count) \(name == "growth_interval" ? "growth(s)" : "update(s)") in the log)"); return inferred }
            sources.append("\(name) \(fallback) (PyTorch's default)")
            return fallback
        }
        let h = steps.scalerSettings
        let interval = h["growth_interval"].flatMap { $0 >= 1 && $0 <= 1e9 && $0 == $0.rounded() ? Int($0) : nil }
        let backoff = pick("backoff_factor", given: given.backoffFactor, header: h["backoff_factor"].flatMap { $0 > 0 && $0 < 1 ? $0 : nil },
                           inferred: mode(backoffRatios), count: backoffRatios.count, fallback: 0.5)
        let growth = pick("growth_factor", given: given.growthFactor, header: h["growth_factor"].flatMap { $0 > 1 ? $0 : nil },
                          inferred: mode(growthRatios), count: growthRatios.count, fallback: 2.0)
        let n = pick("growth_interval", given: given.growthInterval, header: interval, inferred: mode(intervals), count: intervals.count, fallback: 2000)
        if given.infer && growthRatios.isEmpty && given.growthInterval == nil && interval == nil {
            sources.append("no growth in the log to infer the interval from")
        }
        return Settings(initScale: steps.scale(0) ?? 65536, growthFactor: growth, backoffFactor: backoff, growthInterval: n, sources: sources)
    }

    /// Checks the scale row by row as a replay produces them.
    struct Checker {
        var result: ScaleVerification
        private var rule: LossScaleRule
        private var state: LossScaleRule.State

        init(_ settings: Settings) {
            result = ScaleVerification(settings: settings)
            rule = settings.rule
            state = rule.initialState
        }

        /// Row `k`: its logged scale and found_inf, whether its window completed (`updated`), and
        /// whether a resumed part starts at it (a fresh or restored scaler: the logged scale is taken).
        /// Returns the predicted scale.
        @discardableResult
        mutating func check(row k: Int, scale: Double, foundInf: Bool, updated: Bool, restart: Bool) -> Double {
            if restart {
                state = rule.initialState
                state.scale = Double(Float(scale))
                result.restarts.append(k)
            }
            let predicted = state.scale
            result.rows += 1
            if predicted != scale {
                result.disagreements += 1
                if result.firstDisagreement == nil { result.firstDisagreement = (k, scale, predicted) }
            }
            if updated {
                let before = state.scale
                try? rule.update(&state, foundInf: foundInf)  // PyTorch's rule never raises
                if foundInf { result.backoffs += 1 } else if state.scale > before { result.growths += 1 }
            }
            return predicted
        }
    }
}
