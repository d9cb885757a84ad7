import HalfTraceKernels
import HalfTraceAutograd

/// Dynamic loss scaling for float16 gradients: `torch.amp.GradScaler`'s state machine (PyTorch
/// 2.15, `torch/amp/grad_scaler.py` and `AmpGradScalerKernels.cpp`), plus options PyTorch lacks.
///
/// With default options every value matches PyTorch step for step:
/// - `scale(loss) = loss * scale`, the scale a Float32 (2^16 does not fit in Float16);
/// - `unscale(opt)`: `inv = Float(1 / Double(scale))`; a gradient element that is not finite
///   sets found_inf; then `g = g * inv`;
/// - `step(opt)` unscales if needed and skips `opt.step()` when found_inf;
/// - `update()`, once per iteration, with found_inf summed over the optimizers stepped:
///   found_inf: `scale = Float(Double(scale) * backoff)`, tracker = 0; else tracker += 1 and at
///   `growthInterval` `scale = Float(Double(scale) * growth)` if finite, tracker = 0.
///
/// Where HalfTrace departs from PyTorch, and why:
/// - **The fix (always on).** PyTorch tests finiteness only on the scaled gradient. After about
///   144 consecutive overflows `1/scale` overflows Float32, finite scaled gradients are multiplied
///   by infinity and the parameters become non-finite (-inf, inf or NaN; reproduced with PyTorch
///   2.15 on CPU: -inf). HalfTrace also tests the unscaled
///   value `g * inv` (after rounding to the gradient's dtype): a non-finite result sets found_inf
///   and the step is skipped. This changes nothing while `inv` is finite and `g * inv` does not
///   overflow, i.e. whenever PyTorch's own update would be finite.
/// - **float16 gradients** are unscaled in Float and rounded once (PyTorch refuses to unscale
///   FP16 gradients; pure-float16 training needs it).
/// - **Options** (defaults reproduce PyTorch): `minScale` (a backoff gives
///   `max(scale * backoff, minScale)`), `maxScale` (a growth gives `min(scale * growth, maxScale)`),
///   and `hysteresis` N: an overflow spends one unit of a budget of N and backs off only when the
///   budget is spent (N = 1 is PyTorch). The budget refills by one named rule:
///   `.afterCleanStep` (apex, DeepSpeed's consecutive_hysteresis): after every step without
///   overflow; `.onGrowth` (Megatron): only when the scale grows.
/// - Skips are reported: `lastStepSkipped`, `consecutiveSkips`, `totalSkips`.
public final class GradScaler {
    /// When the hysteresis budget, partly spent by overflows, is restored.
    public enum HysteresisRefill: String, Sendable, Codable, CaseIterable {
        /// apex / DeepSpeed (consecutive_hysteresis=True): the budget refills after any clean step.
        case afterCleanStep = "clean"
        /// Megatron-LM: the budget refills only when the scale grows.
        case onGrowth = "growth"
    }

    /// Everything the scaler's future depends on (for checkpoints).
    public struct State: Codable, Equatable, Sendable {
        /// The loss scale, a Float32 (2^16 does not fit in Float16).
        public var scale: Float
        /// The factor a growth multiplies the scale by (PyTorch's growth_factor, default 2).
        public var growthFactor: Double
        /// The factor a backoff multiplies the scale by (backoff_factor, default 0.5).
        public var backoffFactor: Double
        /// Clean steps in a row before the scale grows (growth_interval, default 2000).
        public var growthInterval: Int
        /// Clean steps since the last growth or overflow (PyTorch's `_growth_tracker`).
        public var growthTracker: Int
        /// Whether the scaler scales; disabled, it passes the loss through and always steps.
        public var enabled: Bool
        /// The floor a backoff cannot go below, or nil (PyTorch has none).
        public var minScale: Float?
        /// The ceiling a growth cannot exceed, or nil (PyTorch has none).
        public var maxScale: Float?
        /// Overflows tolerated before a backoff (1 is PyTorch's behaviour).
        public var hysteresis: Int
        /// Overflows left in the budget before the next backoff.
        public var hysteresisRemaining: Int
        /// When the hysteresis budget refills.
        public var refill: HysteresisRefill
        /// Steps skipped for a non-finite gradient since the run began.
        public var totalSkips: Int
        /// Steps skipped in a row, up to the last update.
        public var consecutiveSkips: Int
        /// Whether the last update saw a non-finite gradient.
        public var lastStepSkipped: Bool
        /// Another framework's rule the scale follows instead of PyTorch's (with HalfTrace's
        /// options), and its state; nil: PyTorch's rule.
        public var rule: LossScaleRule? = nil
        /// The state of `rule` (nil exactly when `rule` is nil).
        public var ruleState: LossScaleRule.State? = nil

        /// Refuses a state that the options and the update rule cannot produce (a hand-edited
        /// checkpoint): every value is checked before the scaler does arithmetic with it.
        public func validate() throws {
            guard scale.isFinite, scale > 0 else { throw HalfTraceError.invalid("scale", "\(scale) is invalid: expected a finite value > 0") }
            guard growthFactor.isFinite, growthFactor > 1 else {
                throw HalfTraceError.invalid("growth_factor", "\(growthFactor) is invalid: the growth factor must be > 1.0")
            }
            guard backoffFactor.isFinite, backoffFactor > 0, backoffFactor < 1 else {
                throw HalfTraceError.invalid("backoff_factor", "\(backoffFactor) is invalid: the backoff factor must be in (0, 1)")
            }
            try HalfTraceError.check("growth_interval", growthInterval, in: 1...(1 << 40))
            try HalfTraceError.check("growth_tracker", growthTracker, in: 0...(growthInterval - 1))
            try HalfTraceError.check("hysteresis", hysteresis, in: 1...(1 << 40))
            try HalfTraceError.check("hysteresis_remaining", hysteresisRemaining, in: 0...hysteresis)
            if let minScale { try HalfTraceError.check("min_scale", Double(minScale), atLeast: 0) }
            if let maxScale {
                guard maxScale.isFinite, maxScale > 0 else { throw HalfTraceError.invalid("max_scale", "\(maxScale) is invalid: expected a finite value > 0") }
                if let minScale, minScale > maxScale { throw HalfTraceError.invalid("min_scale", "\(minScale) is larger than max_scale \(maxScale)") }
            }
            try HalfTraceError.check("total_skips", totalSkips, in: 0...(1 << 53))
            try HalfTraceError.check("consecutive_skips", consecutiveSkips, in: 0...totalSkips)
            guard (rule == nil) == (ruleState == nil) else { throw HalfTraceError.invalid("rule", "a rule needs its state and a state its rule") }
            if let rule, let r = ruleState {
                try rule.validate()
                guard r.scale.isFinite, r.scale > 0 else { throw HalfTraceError.invalid("rule_state.scale", "\(r.scale) is invalid: expected a finite value > 0") }
                try HalfTraceError.check("rule_state.growth_tracker", r.growthTracker, in: 0...rule.growthInterval)
                try HalfTraceError.check("rule_state.hysteresis", r.hysteresis, in: -(1 << 40)...rule.hysteresis)
                try HalfTraceError.check("rule_state.cur_iter", r.curIter, in: 0...(1 << 53))
                try HalfTraceError.check("rule_state.last_overflow_iter", r.lastOverflowIter, in: -1...r.curIter)
            }
        }
    }

    private enum Stage { case ready, unscaled, stepped }
    private struct PerOptimizer {
        var stage: Stage = .ready
        var foundInf = false
    }

    /// The scaler's whole state, to save in a checkpoint and restore with `init(state:)`.
    public private(set) var state: State
    private var perOptimizer: [ObjectIdentifier: PerOptimizer] = [:]

    /// A scaler with PyTorch's defaults (init_scale 2^16, growth 2, backoff 0.5, interval 2000) and
    /// HalfTrace's options off. An invalid value throws, naming its field (`growth_factor`, ...).
    public init(initScale: Double = 65536, growthFactor: Double = 2, backoffFactor: Double = 0.5,
                growthInterval: Int = 2000, enabled: Bool = true, minScale: Double? = nil,
                maxScale: Double? = nil, hysteresis: Int = 1, refill: HysteresisRefill = .afterCleanStep) throws {
        guard initScale.isFinite, initScale > 0, Float(initScale).isFinite else {
            throw HalfTraceError.invalid("init_scale", "\(initScale) is invalid: expected a finite value > 0")
        }
        guard growthFactor.isFinite, growthFactor > 1 else {
            throw HalfTraceError.invalid("growth_factor", "\(growthFactor) is invalid: the growth factor must be > 1.0")
        }
        guard backoffFactor.isFinite, backoffFactor > 0, backoffFactor < 1 else {
            throw HalfTraceError.invalid("backoff_factor", "\(backoffFactor) is invalid: the backoff factor must be in (0, 1)")
        }
        try HalfTraceError.check("growth_interval", growthInterval, in: 1...(1 << 40))
        try HalfTraceError.check("hysteresis", hysteresis, in: 1...(1 << 40))
        if let minScale { try HalfTraceError.check("min_scale", minScale, atLeast: 0) }
        if let maxScale {
            guard maxScale.isFinite, maxScale > 0, Float(maxScale).isFinite else {
                throw HalfTraceError.invalid("max_scale", "\(maxScale) is invalid: expected a finite Float32 value > 0")
            }
            if let minScale, minScale > maxScale {
                throw HalfTraceError.invalid("min_scale", "\(minScale) is larger than max_scale \(maxScale)")
            }
        }
        state = State(scale: Float(initScale), growthFactor: growthFactor, backoffFactor: backoffFactor,
                      growthInterval: growthInterval, growthTracker: 0, enabled: enabled,
                      minScale: minScale.map { Float($0) }, maxScale: maxScale.map { Float($0) },
                      hysteresis: hysteresis, hysteresisRemaining: hysteresis, refill: refill,
                      totalSkips: 0, consecutiveSkips: 0, lastStepSkipped: false)
    }

    /// A scaler whose scale follows `rule` (Megatron's, DeepSpeed's ... or PyTorch's exactly,
    /// without HalfTrace's options). The skip logic and the unscale are the same whatever the rule.
    public convenience init(rule: LossScaleRule, enabled: Bool = true) throws {
        try rule.validate()
        try self.init(initScale: Double(Float(rule.initScale)), growthFactor: rule.growthFactor, backoffFactor: rule.backoffFactor,
                      growthInterval: rule.growthInterval, enabled: enabled)
        state.rule = rule
        state.ruleState = rule.initialState
    }

    /// Restores a saved state (between iterations), refusing one no scaler can be in.
    public init(state: State) throws {
        try state.validate()
        self.state = state
    }

    /// The current loss scale.
    public var scale: Float { state.scale }
    /// Clean steps since the last growth or overflow (DeepSpeed's rules: clean steps since the
    /// last overflow, its stable_interval).
    public var growthTracker: Int {
        guard let rule = state.rule, let r = state.ruleState else { return state.growthTracker }
        return rule.framework == .deepspeed || rule.framework == .deepspeedFP16 ? r.curIter - r.lastOverflowIter - 1 : r.growthTracker
    }
    /// Whether the scaler scales losses and checks gradients.
    public var isEnabled: Bool { state.enabled }

    /// `loss * scale` (the loss unchanged when disabled).
    public func scale(_ loss: Tensor) -> Tensor {
        state.enabled ? loss.scaled(by: Double(state.scale)) : loss
    }

    /// Divides the optimizer's gradients by the scale in place and records whether any was not
    /// finite. Errors as PyTorch: a second call before `update()`, or a call after `step()`.
    public func unscale(_ optimizer: Optimizer) throws {
        guard state.enabled else { return }
        let id = ObjectIdentifier(optimizer)
        var entry = perOptimizer[id] ?? PerOptimizer()
        switch entry.stage {
        case .unscaled: throw HalfTraceError.misuse("unscale_() has already been called on this optimizer since the last update().")
        case .stepped: throw HalfTraceError.misuse("unscale_() is being called after step().")
        case .ready: break
        }
        let inverse = Float(1 / Double(state.scale))
        var found = false
        for p in optimizer.allParameters {
            guard let g = p.grad else { continue }
            if GradScaler.unscaleInPlace(g, inverse: inverse) { found = true }
        }
        entry.foundInf = found
        entry.stage = .unscaled
        perOptimizer[id] = entry
    }

    /// Unscales one gradient; returns whether a scaled or unscaled element was not finite.
    static func unscaleInPlace(_ g: Tensor, inverse: Float) -> Bool {
        var found = false
        if g.dtype == .float64 {
            var values = g.storage.doubles
            let inv = Double(inverse)
            for i in values.indices {
                let v = values[i]
                if !v.isFinite { found = true }
                values[i] = inv == 1 ? v : v * inv
                if !values[i].isFinite { found = true }
            }
            g.storage = .float64(values)
            return found
        }
        var values = Float.load(g.storage)
        g.storage = .zeros(0, dtype: g.dtype)  // one owner: float32 values are updated in place
        let chunks = values.withUnsafeMutableBufferPointer { v in
            Parallel.mapRanges(v.count) { r in unscale(UnsafeMutableBufferPointer(rebasing: v[r]), inverse) }
        }
        found = chunks.contains(true)
        g.storage = Float.store(values, as: g.dtype)
        if g.dtype.isHalf && !found && !g.storage.allFinite { found = true }  // overflow when rounding
        return found
    }

    /// x * inverse in place (x unchanged when inverse is 1); whether an element was not finite
    /// before or after. The test looks at exponent bits, OR-ed without branches (vectorised).
    static func unscale(_ v: UnsafeMutableBufferPointer<Float>, _ inverse: Float) -> Bool {
        @inline(__always) func nonFinite(_ x: Float) -> UInt32 { ~x.bitPattern & 0x7F80_0000 == 0 ? 1 : 0 }
        var flags: UInt32 = 0
        if inverse == 1 {
            for x in v { flags |= nonFinite(x) }
        } else {
            for i in v.indices {
                let x = v[i], y = x * inverse
                v[i] = y
                flags |= nonFinite(x) | nonFinite(y)
            }
        }
        return flags != 0
    }

    /// Unscales (if not yet done) and steps the optimizer unless a gradient was not finite.
    /// Returns true when the optimizer stepped, false when the step was skipped.
    @discardableResult
    public func step(_ optimizer: Optimizer) throws -> Bool {
        guard state.enabled else {
            optimizer.step()
            return true
        }
        let id = ObjectIdentifier(optimizer)
        if perOptimizer[id]?.stage == .stepped {
            throw HalfTraceError.misuse("step() has already been called since the last update().")
        }
        if perOptimizer[id]?.stage != .unscaled { try unscale(optimizer) }
        var entry = perOptimizer[id]!
        let skipped = entry.foundInf
        if !skipped { optimizer.step() }
        entry.stage = .stepped
        perOptimizer[id] = entry
        return !skipped
    }

    /// Updates the scale once per iteration from the inf checks recorded since the last update
    /// (any optimizer's inf counts once), or sets it to `newScale` (tracker unchanged).
    public func update(newScale: Double? = nil) throws {
        guard state.enabled else { return }
        defer { perOptimizer = [:] }
        if let newScale {
            guard newScale.isFinite, newScale > 0 else {
                throw HalfTraceError.invalid("new_scale", "\(newScale) is invalid: expected a finite value > 0")
            }
            state.scale = Float(newScale)
            return
        }
        guard !perOptimizer.isEmpty else {
            throw HalfTraceError.misuse("No inf checks were recorded prior to update().")
        }
        let foundInf = perOptimizer.values.contains { $0.foundInf }
        if let rule = state.rule, var r = state.ruleState {
            do { try rule.update(&r, foundInf: foundInf) } catch let e as LossScaleRule.MinimumReached {
                throw HalfTraceError(.misuse, field: "min_scale", e.message)
            }
            state.ruleState = r
            state.scale = Float(r.scale)
            state.lastStepSkipped = foundInf
            if foundInf { state.totalSkips += 1; state.consecutiveSkips += 1 } else { state.consecutiveSkips = 0 }
            return
        }
        advance(foundInf: foundInf)
    }

    /// The update rule on one found_inf flag (public so that traces can drive it directly):
    /// PyTorch's (`LossScaleRule.pytorchUpdate`), with HalfTrace's hysteresis holding a backoff back
    /// until that many overflows, and the scale kept within min_scale and max_scale.
    public func advance(foundInf: Bool) {
        state.lastStepSkipped = foundInf
        if foundInf {
            state.totalSkips += 1
            state.consecutiveSkips += 1
            state.hysteresisRemaining = max(state.hysteresisRemaining - 1, 0)
        } else {
            state.consecutiveSkips = 0
            if state.refill == .afterCleanStep { state.hysteresisRemaining = state.hysteresis }
        }
        var (scale, tracker) = (state.scale, state.growthTracker)
        let grew = LossScaleRule.pytorchUpdate(scale: &scale, growthTracker: &tracker, foundInf: foundInf,
                                               growthFactor: state.growthFactor, backoffFactor: state.backoffFactor,
                                               growthInterval: state.growthInterval, backsOff: state.hysteresisRemaining == 0,
                                               minScale: state.minScale, maxScale: state.maxScale)
        (state.scale, state.growthTracker) = (scale, tracker)
        if grew { state.hysteresisRemaining = state.hysteresis }
    }
}
