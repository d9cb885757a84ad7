import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceOptim

/// Options of a GradScaler trace (`halftrace trace scaler`).
public struct ScalerTraceOptions: Sendable, Equatable {
    public var initScale = 65536.0
    public var growthFactor = 2.0
    public var backoffFactor = 0.5
    public var growthInterval = 2000
    public var steps = 100
    public var infSteps: [Int] = []
    public var accumulate = 1
    public var minScale: Double? = nil
    public var maxScale: Double? = nil
    public var hysteresis = 1
    public var refill: GradScaler.HysteresisRefill = .afterCleanStep
    /// The finite gradient of every element on a clean step (before scaling).
    public var gradient = 1.0
    /// Another framework's rule (Megatron's, DeepSpeed's, PyTorch's exactly): the options above
    /// but `steps`, `inf_steps`, `accumulate` and `gradient` are then the rule's.
    public var rule: LossScaleRule? = nil

    public init() {}

    /// Refuses what `ScalerTraces.run` would refuse, without running it.
    public func validate() throws {
        try ScheduleTraces.validatePositive("steps", steps)
        try HalfTraceError.check("accumulate", accumulate, in: 1...10_000)
        try ScheduleTraces.validatePositive("accumulate", ScheduleTraces.product(steps, accumulate))  // micro-batches in all
        if let bad = infSteps.first(where: { $0 < 0 || $0 >= steps }) {
            throw HalfTraceError.invalid("inf_steps", "step \(bad) is outside 0..<\(steps)")
        }
        _ = try makeScaler()
    }

    /// The scaler these options describe.
    func makeScaler() throws -> GradScaler {
        if let rule { return try GradScaler(rule: rule) }
        return try GradScaler(initScale: initScale, growthFactor: growthFactor, backoffFactor: backoffFactor,
                              growthInterval: growthInterval, minScale: minScale, maxScale: maxScale,
                              hysteresis: hysteresis, refill: refill)
    }

    public var summary: String {
        if let r = rule {
            return "scaler rule=\(r.framework.rawValue) init_scale=\(r.initScale) growth_factor=\(r.growthFactor) backoff_factor=\(r.backoffFactor) growth_interval=\(r.growthInterval) min_scale=\(r.minScale.map { "\($0)" } ?? "none") hysteresis=\(r.hysteresis) consecutive_hysteresis=\(r.consecutiveHysteresis) raise_error_at_min_scale=\(r.raiseAtMinScale) steps=\(steps) inf_steps=\(infSteps.map(String.init).joined(separator: ";")) accumulate=\(accumulate)"
        }
        return "scaler init_scale=\(initScale) growth_factor=\(growthFactor) backoff_factor=\(backoffFactor) growth_interval=\(growthInterval) steps=\(steps) inf_steps=\(infSteps.map(String.init).joined(separator: ";")) accumulate=\(accumulate) min_scale=\(minScale.map { "\($0)" } ?? "none") max_scale=\(maxScale.map { "\($0)" } ?? "none") hysteresis=\(hysteresis) refill=\(refill.rawValue)"
    }
}

/// A scaler trace that stopped where the framework raises (DeepSpeed at its minimum scale): the
/// rows before that step, and why.
public struct ScalerTraceStopped: Error, CustomStringConvertible {
    /// The rows up to the step that raised.
    public var trace: Trace
    /// The step that raised.
    public var step: Int
    public var reason: String
    public var description: String { "step \(step): \(reason)" }
}

public enum ScalerTraces {
    /// Drives the real GradScaler and an SGD optimizer (lr 0.1) on a float32 parameter of four
    /// elements through `steps` optimizer steps of `accumulate` micro-batches each. A micro-batch's
    /// loss is sum(p * gradient), scaled and backpropagated; at the listed steps element 1 of the
    /// scaled gradient is set to +inf. Columns: step, scale (before the step), found_inf, skipped,
    /// next_scale (after update), growth_tracker (after update); `parameters` receives p after each step.
    public static func run(_ o: ScalerTraceOptions, parameters: ((Int, [Double]) -> Void)? = nil) throws -> Trace {
        try o.validate()
        let scaler = try o.makeScaler()
        let p = Tensor([0, 0, 0, 0], dtype: .float32, requiresGrad: true)
        let optimizer = try SGD(groups: [ParamGroup(params: [p], lr: 0.1)])
        let g = Tensor([Double](repeating: o.gradient, count: 4), dtype: .float32)
        let infSteps = Set(o.infSteps)
        var trace = Trace(comments: [o.summary],
                          columns: ["step", "scale", "found_inf", "skipped", "next_scale", "growth_tracker"],
                          integerColumns: ["step", "found_inf", "skipped", "growth_tracker"])
        for step in 0..<o.steps {
            let before = scaler.scale
            for _ in 0..<o.accumulate {
                scaler.scale((p * g).sum()).backward()
                if infSteps.contains(step) {
                    var v = p.grad!.storage.floats
                    v[1] = .infinity
                    p.grad!.storage = .float32(v)
                }
            }
            let stepped = try scaler.step(optimizer)
            do { try scaler.update() } catch let e as HalfTraceError where e.field == "min_scale" {
                throw ScalerTraceStopped(trace: trace, step: step, reason: e.reason)
            }
            optimizer.zeroGrad()
            trace.append([Double(step), Double(before), scaler.state.lastStepSkipped ? 1 : 0, stepped ? 0 : 1,
                          Double(scaler.scale), Double(scaler.growthTracker)])
            parameters?(step, p.doubles)
        }
        return trace
    }
}
