import HalfTraceKernels
import HalfTraceOptim
import HalfTraceReference

/// The GradScaler driven through optimizer steps with non-finite gradients at given steps:
/// step, found_inf (inputs), and scale, skipped, next_scale, growth_tracker from the formula.
struct ScalerScenario: Scenario {
    let options: ScalerTraceOptions
    init(_ c: ConfigReader) throws {
        var o = ScalerTraceOptions()
        o.initScale = try c.double("init_scale", in: 1e-30...1e30); o.growthFactor = try c.double("growth_factor", in: 1...1e6)
        o.backoffFactor = try c.double("backoff_factor", in: 0...1); o.growthInterval = try c.int("growth_interval", in: 1...1_000_000_000)
        o.steps = try c.int("steps", in: 1...1_000_000)
        o.infSteps = try c.ints("inf_steps", count: 0...o.steps, each: 0...(o.steps - 1))
        o.accumulate = try c.int("accumulate", in: 1...10_000)
        try HalfTraceError.check("config.accumulate", o.steps * o.accumulate, in: 1...ScheduleTraces.maximumRows)
        o.minScale = try c.optionalDouble("min_scale", in: 0...1e30); o.maxScale = try c.optionalDouble("max_scale", in: 1e-30...1e30)
        o.hysteresis = try c.int("hysteresis", in: 1...1_000_000)
        o.refill = try c.choice("refill", GradScaler.HysteresisRefill.self)
        options = o
    }
    var columns: [GoldenColumn] {
        [GoldenColumn("step", .key, label: "optimizer step"), GoldenColumn("found_inf", .key, label: "found inf", axis: .flag),
         GoldenColumn("scale", .formula, label: "loss scale", axis: .log(2)), GoldenColumn("skipped", .formula, label: "skipped", axis: .flag),
         GoldenColumn("next_scale", .formula, label: "loss scale after update", axis: .log(2)),
         GoldenColumn("growth_tracker", .formula, label: "growth tracker")]
    }
    func run(_: RunCache) throws -> EngineRun {
        // ScalerTraces columns: step, scale, found_inf, skipped, next_scale, growth_tracker
        EngineRun(rows: try ScalerTraces.run(options).rows.map { [$0[0], $0[2], $0[1], $0[3], $0[4], $0[5]] })
    }
    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let infs = Set(options.infSteps)
        let flags = (0..<options.steps).map { infs.contains($0) }
        var rule = Reference.ScalerRule()
        rule.initScale = options.initScale; rule.growthFactor = options.growthFactor
        rule.backoffFactor = options.backoffFactor; rule.growthInterval = options.growthInterval
        rule.minScale = options.minScale; rule.maxScale = options.maxScale; rule.hysteresis = options.hysteresis
        rule.refillOnCleanStep = options.refill == .afterCleanStep
        let after = Reference.scaler(foundInf: flags, rule: rule)
        let before = [Double(Float(options.initScale))] + after.dropLast().map(\.scale)
        return ["scale": before, "skipped": flags.map { $0 ? 1 : 0 }, "next_scale": after.map(\.scale),
                "growth_tracker": after.map { Double($0.tracker) }]
    }
}
