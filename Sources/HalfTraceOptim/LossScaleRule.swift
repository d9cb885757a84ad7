import HalfTraceKernels

/// Dynamic loss scaling as four frameworks do it, each reproduced from its code: the scale
/// after every update given whether that step found an inf/NaN gradient.
///
/// - `pytorch`: `torch.amp.GradScaler` (`_amp_update_scale_`, AmpGradScalerKernels.cpp):
///   found_inf: scale *= backoff, tracker = 0; else tracker += 1 and at growth_interval
///   scale *= growth if the result is finite, tracker = 0. Float32 scale, no minimum.
/// - `megatron`: megatron-core `DynamicGradScaler.update` (`optimizer/grad_scaler.py`:108-130,
///   0.16): found_inf: growth tracker = 0, hysteresis tracker -= 1, and when it is <= 0 the
///   scale becomes max(scale * backoff, min_scale) (the tracker is not refilled by clean steps,
///   so every further overflow backs off); clean: growth tracker += 1, and at growth_interval
///   the tracker is reset, the hysteresis refilled and the scale multiplied by growth (no cap:
///   the float32 scale may reach inf). Float32 arithmetic.
/// - `deepspeed`: DeepSpeed `DynamicLossScaler.update_scale` (`runtime/fp16/loss_scaler.py`
///   :253-288, 0.18+), ZeRO's scaler: an overflow with delayed_shift == 1 or the hysteresis at 1
///   halves the scale, clamped at min_scale, and raises "Current loss scale already at minimum"
///   when the scale is already there (unless raise_error_at_min_scale is off); otherwise it
///   spends one unit of hysteresis; every overflow sets last_overflow_iter = cur_iter. Clean:
///   with consecutive_hysteresis the hysteresis refills; `stable_interval = cur_iter -
///   last_overflow_iter - 1`, and when it is > 0 and a multiple of scale_window the scale
///   doubles (and without consecutive_hysteresis the hysteresis refills): growth on the
///   (window + 1)-th clean step, then every window. cur_iter += 1 after each update. Double
///   arithmetic, factor 2.
/// - `deepspeedFP16`: DeepSpeed's non-ZeRO `FP16_Optimizer._update_scale` (fused_optimizer.py
///   :404-428; the unfused optimizer is the same): no hysteresis (the configured one is
///   ignored), an overflow halves clamped at min_scale and never raises, growth as above.
public struct LossScaleRule: Sendable, Equatable, Codable {
    /// Whose rule.
    public enum Framework: String, Sendable, CaseIterable, Codable {
        /// PyTorch's `torch.amp.GradScaler`.
        case pytorch
        /// Megatron-core's `DynamicGradScaler`.
        case megatron
        /// DeepSpeed's ZeRO `DynamicLossScaler`.
        case deepspeed
        /// DeepSpeed's non-ZeRO `FP16_Optimizer`.
        case deepspeedFP16 = "deepspeed-fp16"
    }

    /// Everything the next update depends on.
    public struct State: Sendable, Equatable, Codable {
        /// The loss scale.
        public var scale: Double
        /// PyTorch and Megatron: clean updates since the last growth or overflow.
        public var growthTracker = 0
        /// Megatron: overflows left before a backoff; DeepSpeed: cur_hysteresis.
        public var hysteresis: Int
        /// DeepSpeed: updates so far.
        public var curIter = 0
        /// DeepSpeed: the update of the last overflow (-1: none).
        public var lastOverflowIter = -1
    }

    /// The framework's scale left at its minimum and asked to go lower (DeepSpeed's ZeRO scaler
    /// raises and the run ends).
    public struct MinimumReached: Error, CustomStringConvertible, Equatable {
        /// The update (0-based) that raised.
        public var update: Int
        /// The scale at its minimum.
        public var scale: Double
        /// DeepSpeed's message, with the scale.
        public var message: String {
            "Current loss scale already at minimum (\(scale)) - cannot decrease scale anymore. Exiting run. (DeepSpeed DynamicLossScaler)"
        }
        /// The update and DeepSpeed's message.
        public var description: String { "update \(update): \(message)" }
    }

    /// Whose rule this is.
    public var framework: Framework
    /// init_scale / initial_scale.
    public var initScale: Double
    /// growth_factor (DeepSpeed: scale_factor, always 2).
    public var growthFactor: Double
    /// backoff_factor (DeepSpeed: 1 / scale_factor).
    public var backoffFactor: Double
    /// growth_interval / scale_window.
    public var growthInterval: Int
    /// min_scale (nil: PyTorch, none).
    public var minScale: Double?
    /// hysteresis / delayed_shift (1: back off at the first overflow).
    public var hysteresis: Int
    /// DeepSpeed: refill the hysteresis after every clean step instead of at a growth.
    public var consecutiveHysteresis: Bool
    /// DeepSpeed: raise at the minimum scale (its default) instead of staying there.
    public var raiseAtMinScale: Bool

    /// The framework's defaults: PyTorch init 2^16, growth 2, backoff 0.5, interval 2000;
    /// Megatron-LM init 2^32, min 1, window 1000, hysteresis 2; DeepSpeed init 2^16
    /// (initial_scale_power 16), window 1000, min 1, hysteresis 2, no consecutive hysteresis,
    /// raise at the minimum; DeepSpeed FP16_Optimizer the same without hysteresis.
    public static func defaults(_ framework: Framework) -> LossScaleRule {
        switch framework {
        case .pytorch:
            LossScaleRule(framework: framework, initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000, minScale: nil,
                          hysteresis: 1, consecutiveHysteresis: false, raiseAtMinScale: false)
        case .megatron:
            LossScaleRule(framework: framework, initScale: 4_294_967_296, growthFactor: 2, backoffFactor: 0.5, growthInterval: 1000, minScale: 1,
                          hysteresis: 2, consecutiveHysteresis: false, raiseAtMinScale: false)
        case .deepspeed:
            LossScaleRule(framework: framework, initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 1000, minScale: 1,
                          hysteresis: 2, consecutiveHysteresis: false, raiseAtMinScale: true)
        case .deepspeedFP16:
            LossScaleRule(framework: framework, initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 1000, minScale: 1,
                          hysteresis: 1, consecutiveHysteresis: false, raiseAtMinScale: false)
        }
    }

    /// Refuses settings the framework refuses or that cannot work, naming the setting:
    /// init_scale finite and > 0, growth_factor > 1, backoff_factor in (0, 1), growth_interval
    /// >= 1, min_scale in (0, init_scale] (DeepSpeed accepts a larger one and then raises the
    /// scale to it), hysteresis >= 1 (DeepSpeed accepts 0, and then never backs off).
    public func validate() throws {
        guard initScale.isFinite, initScale > 0 else {
            throw HalfTraceError.invalid(framework == .megatron ? "initial_scale" : "init_scale", "\(initScale) is invalid: expected a finite scale > 0")
        }
        guard growthFactor.isFinite, growthFactor > 1 else { throw HalfTraceError.invalid("growth_factor", "\(growthFactor) is invalid: the growth factor must be > 1.0") }
        guard backoffFactor.isFinite, backoffFactor > 0, backoffFactor < 1 else {
            throw HalfTraceError.invalid("backoff_factor", "\(backoffFactor) is invalid: the backoff factor must be in (0, 1)")
        }
        guard growthInterval >= 1 else {
            throw HalfTraceError.invalid(framework == .pytorch || framework == .megatron ? "growth_interval" : "scale_window",
                                         "\(growthInterval) is invalid: expected at least 1 clean step")
        }
        if let minScale {
            guard minScale.isFinite, minScale > 0, minScale <= initScale else {
                throw HalfTraceError.invalid("min_scale", "\(minScale) is invalid: expected a scale in (0, init_scale = \(initScale)]")
            }
        }
        guard hysteresis >= 1 else {
            throw HalfTraceError.invalid(framework == .deepspeed ? "delayed_shift" : "hysteresis", "\(hysteresis) is invalid: expected at least 1 (0 never backs off)")
        }
    }

    /// The state before the first update.
    public var initialState: State { State(scale: initScale, hysteresis: hysteresis) }

    /// One update with this step's overflow flag. Throws `MinimumReached` where DeepSpeed's
    /// scaler raises; the state is then unchanged.
    public func update(_ s: inout State, foundInf: Bool) throws {
        switch framework {
        case .pytorch:
            var scale = Float(s.scale)
            Self.pytorchUpdate(scale: &scale, growthTracker: &s.growthTracker, foundInf: foundInf,
                               growthFactor: growthFactor, backoffFactor: backoffFactor, growthInterval: growthInterval)
            s.scale = Double(scale)
        case .megatron:
            let f = Float(s.scale)
            if foundInf {
                s.growthTracker = 0
                s.hysteresis -= 1
                if s.hysteresis <= 0 { s.scale = Double(max(f * Float(backoffFactor), Float(minScale ?? 0))) }
            } else {
                s.growthTracker += 1
                if s.growthTracker == growthInterval {
                    s.growthTracker = 0
                    s.hysteresis = hysteresis
                    s.scale = Double(f * Float(growthFactor))
                }
            }
        case .deepspeed, .deepspeedFP16:
            let hysteresis = framework == .deepspeed ? self.hysteresis : 1
            if foundInf {
                if hysteresis == 1 || s.hysteresis == 1 {
                    if framework == .deepspeed, let minScale, s.scale == minScale, raiseAtMinScale {
                        throw MinimumReached(update: s.curIter, scale: s.scale)
                    }
                    s.scale = max(s.scale / 2, minScale ?? 0)
                } else {
                    s.hysteresis -= 1
                }
                s.lastOverflowIter = s.curIter
            } else {
                if framework == .deepspeed && consecutiveHysteresis { s.hysteresis = hysteresis }
                let stable = s.curIter - s.lastOverflowIter - 1
                if stable > 0 && stable % growthInterval == 0 {
                    if !consecutiveHysteresis { s.hysteresis = hysteresis }
                    s.scale *= 2
                }
            }
            s.curIter += 1
        }
    }

    /// PyTorch's update of a float32 scale, `_amp_update_scale_cpu_kernel`
    /// (aten/src/ATen/native/cpu/AmpGradScalerKernels.cpp, torch 2.x): found_inf: scale *=
    /// backoff_factor, tracker = 0; clean: tracker += 1, and when it reaches growth_interval the
    /// scale is multiplied by growth_factor if the product is finite (else left), tracker = 0. Each
    /// product is computed in double and rounded to float once, as the kernel's `scale * factor`
    /// with a double factor does. The one home of this rule: `.pytorch` and `GradScaler` both call it.
    ///
    /// GradScaler's options (none in PyTorch): `backsOff` false lets a hysteresis hold a backoff
    /// back (the tracker is reset either way); a backoff stops at `minScale`, a growth at `maxScale`.
    /// Returns whether the scale grew.
    @discardableResult
    public static func pytorchUpdate(scale: inout Float, growthTracker: inout Int, foundInf: Bool, growthFactor: Double,
                                     backoffFactor: Double, growthInterval: Int, backsOff: Bool = true,
                                     minScale: Float? = nil, maxScale: Float? = nil) -> Bool {
        if foundInf {
            if backsOff {
                scale = Float(Double(scale) * backoffFactor)
                if let minScale { scale = max(scale, minScale) }
            }
            growthTracker = 0
            return false
        }
        growthTracker += 1
        guard growthTracker == growthInterval else { return false }
        growthTracker = 0
        var grown = Float(Double(scale) * growthFactor)
        if let maxScale { grown = min(grown, maxScale) }
        guard grown.isFinite else { return false }
        let grew = grown > scale
        scale = grown
        return grew
    }

    /// The scale after every update of `foundInf`, and where DeepSpeed raised (the rows stop there).
    public func trace(_ foundInf: [Bool]) -> (scales: [Double], raised: MinimumReached?) {
        var s = initialState, out: [Double] = []
        for f in foundInf {
            do { try update(&s, foundInf: f) } catch let e as MinimumReached { return (out, e) } catch { return (out, nil) }
            out.append(s.scale)
        }
        return (out, nil)
    }
}

extension LossScaleRule {
    /// The keys DeepSpeed's `fp16` block takes (`DeepSpeedFP16Config`, runtime/precision_config.py,
    /// 0.19.8; it forbids any other).
    static let deepSpeedFP16Keys = ["enabled", "auto_cast", "loss_scale", "initial_scale_power", "loss_scale_window", "hysteresis",
                                    "consecutive_hysteresis", "min_loss_scale", "fp16_master_weights_and_grads"]

    /// The rule a DeepSpeed config (ds_config.json; any line ending, a byte-order mark) selects,
    /// from its `fp16` block with DeepSpeed's defaults (`initial_scale_power` 16,
    /// `loss_scale_window` 1000, `hysteresis` 2, `consecutive_hysteresis` false,
    /// `min_loss_scale` 1) and its `zero_optimization.stage`: ZeRO (stage 1, 2 or 3) scales with
    /// `DynamicLossScaler` (`.deepspeed`, raising at the minimum scale); without ZeRO the engine
    /// wraps the optimizer in `FP16_Optimizer` or `FP16_UnfusedOptimizer` (`.deepspeedFP16`),
    /// whose update ignores `hysteresis` and `consecutive_hysteresis` in every release up to
    /// 0.19.8. Refused, naming the key: fp16 not enabled (bf16 has no loss scaler), a static
    /// `loss_scale`, `"auto"` values (transformers' Trainer fills them in), keys DeepSpeed
    /// forbids, values it rejects.
    public static func deepSpeedConfig(_ text: String, path: String) throws -> LossScaleRule {
        let value: PythonValue
        do { value = try PythonExpression.parseJSON(text) } catch let e as PythonSyntaxError {
            throw HalfTraceError.file(path, "not JSON: character \(e.column): \(e.message)")
        }
        guard case .dict(let top) = value else { throw HalfTraceError.file(path, "expected a JSON object, found \(value.typeName)") }
        try value.refuseRepeatedKeys(path: path)
        func entry(_ dict: [PythonKeyword], _ key: String) -> PythonValue? { dict.first { $0.name == key }?.value }
        func bad(_ field: String, _ message: String) -> HalfTraceError { HalfTraceError.file(path, field: field, message) }
        guard case .dict(let fp16)? = entry(top, "fp16") else {
            if case .dict(let bf16)? = entry(top, "bf16"), case .bool(true)? = entry(bf16, "enabled") {
                throw bad("bf16", "bf16 training has no loss scaler: nothing to trace")
            }
            throw bad("fp16", "no \"fp16\" block: DeepSpeed scales the loss only with fp16 enabled")
        }
        for item in fp16 {
            if case .string("auto") = item.value { throw bad("fp16.\(item.name)", PythonValue.autoMessage) }
            guard deepSpeedFP16Keys.contains(item.name) else {
                throw bad("fp16.\(item.name)", "Extra inputs are not permitted (DeepSpeed's fp16 block takes \(deepSpeedFP16Keys.joined(separator: ", ")))")
            }
        }
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let v = entry(fp16, key) else { return fallback }
            guard case .int(let i) = v else { throw bad("fp16.\(key)", "fp16.\(key) must be an integer, found \(v.typeName) \(v)") }
            return i
        }
        guard case .bool(true)? = entry(fp16, "enabled") else { throw bad("fp16.enabled", "fp16 is not enabled: DeepSpeed uses no loss scaler") }
        if case .dict(let bf16)? = entry(top, "bf16") ?? entry(top, "bfloat16"), case .bool(true)? = entry(bf16, "enabled") {
            throw bad("bf16.enabled", "bfloat16 and fp16 modes cannot be simultaneously enabled")
        }
        if let v = entry(fp16, "loss_scale") {
            guard let s = v.number else { throw bad("fp16.loss_scale", "expected a number, found \(v.typeName) \(v)") }
            if s != 0 { throw bad("fp16.loss_scale", "\(v): a static loss scale never changes; 0 selects dynamic loss scaling") }
        }
        let power = try int("initial_scale_power", 16)
        guard (-1_074...1_023).contains(power) else { throw bad("fp16.initial_scale_power", "\(power) is outside -1074...1023 (2 ** power must be a double)") }
        let window = try int("loss_scale_window", 1000)
        guard window > 0 else { throw bad("fp16.loss_scale_window", "fp16.loss_scale_window must be > 0 when dynamic loss scaling is enabled (loss_scale=0)") }
        let hysteresis = try int("hysteresis", 2)
        var consecutive = false
        if let v = entry(fp16, "consecutive_hysteresis") {
            guard case .bool(let b) = v else { throw bad("fp16.consecutive_hysteresis", "expected true or false, found \(v)") }
            consecutive = b
        }
        let minScale: Double
        switch entry(fp16, "min_loss_scale") {
        case nil: minScale = 1
        case .int(let i)?: minScale = Double(i)
        case .float(let x)? where x.isFinite: minScale = x.rounded(.towardZero)  // pydantic coerces to int
        case let v?: throw bad("fp16.min_loss_scale", "fp16.min_loss_scale must be an integer, found \(v.typeName) \(v)")
        }
        guard minScale > 0 else { throw bad("fp16.min_loss_scale", "fp16.min_loss_scale must be > 0 when dynamic loss scaling is enabled (loss_scale=0)") }
        var stage = 0
        if case .dict(let zero)? = entry(top, "zero_optimization"), let v = entry(zero, "stage") {
            guard case .int(let s) = v, (0...3).contains(s) else { throw bad("zero_optimization.stage", "expected 0, 1, 2 or 3, found \(v)") }
            stage = s
        }
        var rule = LossScaleRule.defaults(stage > 0 ? .deepspeed : .deepspeedFP16)
        rule.initScale = Double(sign: .plus, exponent: power, significand: 1)  // 2 ** initial_scale_power
        rule.growthInterval = window
        rule.minScale = minScale
        if stage > 0 {
            rule.hysteresis = hysteresis
            rule.consecutiveHysteresis = consecutive
        }
        do { try rule.validate() } catch let e as HalfTraceError {
            throw bad("fp16." + (e.field == "delayed_shift" ? "hysteresis" : e.field == "min_scale" ? "min_loss_scale" : "initial_scale_power"), e.reason)
        }
        return rule
    }
}
