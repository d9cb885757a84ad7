import HalfTraceKernels
import HalfTraceOptim
import HalfTraceReference

/// timm's CosineLRScheduler and transformers' schedules on one recipe (a warm-up, then
/// restarts), per step: HalfTrace's values (exact restarts) as formula columns, each package's
/// own arithmetic as info columns, its misplaced restarts as markers.
struct FamilySchedulesScenario: Scenario {
    let steps: Int, lr: Double
    let timm: TimmCosineSchedule, timmReference: Reference.TimmCosine
    let hfWarmup: Int, hfTraining: Int, hfCycles: (p: Int, q: Int), hfWSDDecay: Int

    init(_ c: ConfigReader) throws {
        steps = try c.int("steps", in: 1...100_000)
        lr = try c.double("lr", in: 0...1e6)
        let mulText = try c.string("timm_cycle_mul")
        let mul = try Self.decimal("timm_cycle_mul", mulText)
        timm = try TimmCosineSchedule(tInitial: try c.int("timm_t_initial", in: 1...1_000_000), lrMin: try c.double("timm_lr_min", in: 0...1e6),
                                      cycleMul: Double(mul.p) / Double(mul.q), cycleDecay: try c.double("timm_cycle_decay", in: 1e-6...1e6),
                                      cycleLimit: try c.int("timm_cycle_limit", in: 1...1_000), warmupT: try c.int("timm_warmup_t", in: 0...1_000_000),
                                      warmupLRInit: try c.double("timm_warmup_lr_init", in: 0...1e6), warmupPrefix: try c.bool("timm_warmup_prefix"),
                                      baseLR: lr)
        var r = Reference.TimmCosine()
        (r.tInitial, r.cycleMulNumerator, r.cycleMulDenominator) = (timm.tInitial, mul.p, mul.q)
        (r.lrMin, r.cycleDecay, r.cycleLimit, r.warmupT) = (timm.lrMin, timm.cycleDecay, timm.cycleLimit, timm.warmupT)
        (r.warmupLRInit, r.warmupPrefix, r.baseLR) = (timm.warmupLRInit, timm.warmupPrefix, lr)
        timmReference = r
        hfWarmup = try c.int("hf_num_warmup_steps", in: 0...1_000_000)
        hfTraining = try c.int("hf_num_training_steps", in: max(1, hfWarmup + 1)...1_000_000)
        hfCycles = try Self.decimal("hf_num_cycles", try c.string("hf_num_cycles"))
        hfWSDDecay = try c.int("hf_wsd_num_decay_steps", in: 1...(hfTraining - hfWarmup))
    }

    /// A positive decimal ("2.3") as the fraction it names (23/10), for the reference.
    static func decimal(_ key: String, _ text: String) throws -> (p: Int, q: Int) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int(parts[0]), whole >= 0, parts.count == 1 || (1...6).contains(parts[1].count),
              parts.count == 1 || parts[1].allSatisfy(\.isNumber), let frac = parts.count == 2 ? Int(parts[1]) : 0 else {
            throw HalfTraceError.invalid("config.\(key)", "'\(text.prefix(40))' is not a decimal number like 1.5")
        }
        var q = 1
        for _ in 0..<(parts.count == 2 ? parts[1].count : 0) { q *= 10 }
        guard whole * q + frac > 0 else { throw HalfTraceError.invalid("config.\(key)", "'\(text.prefix(40))' is invalid: expected > 0") }
        return (whole * q + frac, q)
    }

    var hfRestarts: TransformersSchedule {
        get throws {
            try TransformersSchedule(.cosineWithHardRestarts(numCycles: Double(hfCycles.p) / Double(hfCycles.q)), warmupSteps: hfWarmup, trainingSteps: hfTraining)
        }
    }
    var hfCosine: TransformersSchedule { get throws { try TransformersSchedule(.cosine(numCycles: 0.5), warmupSteps: hfWarmup, trainingSteps: hfTraining) } }
    var hfWSD: TransformersSchedule {
        get throws {
            try TransformersSchedule(.wsd(stableSteps: hfTraining - hfWarmup - hfWSDDecay, decaySteps: hfWSDDecay, warmupType: .linear, decayType: .cosine,
                                          minLRRatio: 0, numCycles: 0.5), warmupSteps: hfWarmup, trainingSteps: hfTraining)
        }
    }

    /// The reference takes the position in a cycle as an exact fraction where the packages (and
    /// HalfTrace, which keeps their operations wherever the cycle agrees) evaluate
    /// `t - (1 - m^i) / (1 - m) T` or `(c * progress) % 1` in doubles: a few ulps of the position.
    static let tolerance = Tolerance.normwise(1e-14)

    var columns: [GoldenColumn] {
        [GoldenColumn("step", .key, label: "step (optimizer update)"),
         GoldenColumn("timm_lr", .formula, Self.tolerance, label: "learning rate"),
         GoldenColumn("timm_package_lr", .info, label: "timm's floating-point cycle index"),
         GoldenColumn("hf_restarts_lr", .formula, Self.tolerance, label: "learning rate"),
         GoldenColumn("hf_restarts_package_lr", .info, label: "transformers' floating-point position"),
         GoldenColumn("hf_cosine_lr", .formula, Self.tolerance, label: "learning rate"),
         GoldenColumn("hf_wsd_lr", .formula, Self.tolerance, label: "learning rate")]
    }

    func run(_: RunCache) throws -> EngineRun {
        let restarts = try hfRestarts, cosine = try hfCosine, wsd = try hfWSD
        return EngineRun(rows: (0..<steps).map { t in
            [Double(t), timm(t), timm.timm(t), restarts.lr(base: lr, at: t), lr * restarts.transformers(t), cosine.lr(base: lr, at: t), wsd.lr(base: lr, at: t)]
        })
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let t = 0..<steps, c = Double(hfCycles.p) / Double(hfCycles.q)
        return ["timm_lr": t.map { Reference.timmCosine($0, timmReference) },
                "timm_package_lr": t.map { Reference.timmCosinePackage($0, timmReference) },
                "hf_restarts_lr": t.map { lr * Reference.hfCosineHardRestarts($0, warmup: hfWarmup, training: hfTraining, cyclesNumerator: hfCycles.p,
                                                                              cyclesDenominator: hfCycles.q) },
                "hf_restarts_package_lr": t.map { lr * Reference.hfCosineHardRestartsPackage($0, warmup: hfWarmup, training: hfTraining, cycles: c) },
                "hf_cosine_lr": t.map { lr * Reference.hfCosine($0, warmup: hfWarmup, training: hfTraining, cycles: 0.5) },
                "hf_wsd_lr": t.map { lr * Reference.hfWSD($0, warmup: hfWarmup, stable: hfTraining - hfWarmup - hfWSDDecay, decay: hfWSDDecay,
                                                          minRatio: 0, cosineDecay: true) }]
    }

    /// Where each package misplaces a restart.
    var misplaced: [(package: String, step: Int)] {
        let restarts = try? hfRestarts
        return (0..<steps).compactMap { t in
            if timm.timmMisplacesCycle(at: t) { return ("timm", t) }
            if restarts?.transformersMisplacesCycle(at: t) == true { return ("transformers", t) }
            return nil
        }
    }

    var figureLabels: [String]? { ["learning rate"] }

    var markers: [ScenarioMarker] {
        [ScenarioMarker(x: Double(max(timm.warmupT, hfWarmup)), label: "warm-up ends")]
            + misplaced.map { ScenarioMarker(x: Double($0.step), label: "\($0.package) misplaces the restart at \($0.step)") }
    }
}

/// One overflow pattern through every framework's dynamic loss scaling (`LossScaleRule`), each
/// driving the real GradScaler and SGD; the reference is each framework's rule written again
/// from its source.
struct FamilyScalersScenario: Scenario {
    let steps: Int, infSteps: [Int], initScale: Double, interval: Int, minScale: Double, hysteresis: Int

    init(_ c: ConfigReader) throws {
        steps = try c.int("steps", in: 1...100_000)
        infSteps = try c.ints("inf_steps", count: 0...steps, each: 0...(steps - 1))
        initScale = try c.double("init_scale", in: 1...1e30)
        interval = try c.int("growth_interval", in: 1...1_000_000)
        minScale = try c.double("min_scale", in: 1e-30...initScale)
        hysteresis = try c.int("hysteresis", in: 1...1_000)
    }

    static let frameworks: [(column: String, framework: LossScaleRule.Framework, consecutive: Bool)] = [
        ("pytorch", .pytorch, false), ("megatron", .megatron, false), ("deepspeed", .deepspeed, false),
        ("deepspeed_consecutive", .deepspeed, true), ("deepspeed_fp16", .deepspeedFP16, false),
    ]

    func rule(_ framework: LossScaleRule.Framework, consecutive: Bool) -> LossScaleRule {
        var r = LossScaleRule.defaults(framework)
        (r.initScale, r.growthInterval) = (initScale, interval)
        if framework != .pytorch { r.minScale = minScale }
        if framework == .megatron || framework == .deepspeed { r.hysteresis = hysteresis }
        r.consecutiveHysteresis = consecutive
        return r
    }

    var columns: [GoldenColumn] {
        [GoldenColumn("step", .key, label: "optimizer step"), GoldenColumn("found_inf", .key, label: "found inf", axis: .flag)]
            + Self.frameworks.map { GoldenColumn($0.column, .formula, label: "loss scale after update", axis: .log(2), stepwise: true) }
    }

    func run(_: RunCache) throws -> EngineRun {
        var columns: [[Double]] = []
        for f in Self.frameworks {
            var o = ScalerTraceOptions()
            (o.steps, o.infSteps, o.rule) = (steps, infSteps, rule(f.framework, consecutive: f.consecutive))
            columns.append(try ScalerTraces.run(o).rows.map { $0[4] })  // next_scale
        }
        let infs = Set(infSteps)
        return EngineRun(rows: (0..<steps).map { t in [Double(t), infs.contains(t) ? 1 : 0] + columns.map { $0[t] } })
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let infs = Set(infSteps), flags = (0..<steps).map { infs.contains($0) }
        let scalers: [String: Reference.LossScaler] = [
            "pytorch": .pytorch(initScale: initScale, growthFactor: 2, backoffFactor: 0.5, growthInterval: interval),
            "megatron": .megatron(initialScale: initScale, minScale: minScale, growthFactor: 2, backoffFactor: 0.5, growthInterval: interval,
                                  hysteresis: hysteresis),
            "deepspeed": .deepspeed(initScale: initScale, scaleWindow: interval, minScale: minScale, delayedShift: hysteresis,
                                    consecutiveHysteresis: false, raiseAtMin: true),
            "deepspeed_consecutive": .deepspeed(initScale: initScale, scaleWindow: interval, minScale: minScale, delayedShift: hysteresis,
                                                consecutiveHysteresis: true, raiseAtMin: true),
            "deepspeed_fp16": .deepspeedFP16(initScale: initScale, scaleWindow: interval, minScale: minScale),
        ]
        return scalers.mapValues { Reference.lossScales($0, foundInf: flags) }
    }

    var markers: [ScenarioMarker] { infSteps.map { ScenarioMarker(x: Double($0), label: "") } }
}

/// Consecutive overflows down to and past the minimum scale: PyTorch (no floor), Megatron-core
/// (stays at its floor), DeepSpeed's FP16_Optimizer (clamps) and DeepSpeed under ZeRO
/// (`raise_error_at_min_scale`, its default: the overflow that would go below the minimum raises
/// "Current loss scale already at minimum - cannot decrease scale anymore. Exiting run.", so its
/// column is NaN from that update on, the run having stopped).
struct ScalerMinRaiseScenario: Scenario {
    let steps: Int, overflows: Int, initScale: Double, minScale: Double, hysteresis: Int, interval: Int

    init(_ c: ConfigReader) throws {
        steps = try c.int("steps", in: 1...10_000)
        overflows = try c.int("overflows", in: 0...steps)
        initScale = try c.double("init_scale", in: 1...1e30)
        minScale = try c.double("min_scale", in: 1e-30...initScale)
        hysteresis = try c.int("hysteresis", in: 1...1_000)
        interval = try c.int("growth_interval", in: 1...1_000_000)
    }

    static let frameworks: [(column: String, framework: LossScaleRule.Framework)] = [
        ("pytorch", .pytorch), ("megatron", .megatron), ("deepspeed_fp16", .deepspeedFP16), ("deepspeed", .deepspeed),
    ]

    var columns: [GoldenColumn] {
        [GoldenColumn("step", .key, label: "optimizer step"), GoldenColumn("found_inf", .key, label: "found inf", axis: .flag)]
            + Self.frameworks.map { GoldenColumn($0.column, .formula, label: "loss scale after update", axis: .log(2), stepwise: true) }
    }

    func rule(_ framework: LossScaleRule.Framework) -> LossScaleRule {
        var r = LossScaleRule.defaults(framework)
        (r.initScale, r.growthInterval) = (initScale, interval)
        if framework != .pytorch { r.minScale = minScale }
        if framework == .megatron || framework == .deepspeed { r.hysteresis = hysteresis }
        return r
    }

    func run(_: RunCache) throws -> EngineRun {
        var columns: [[Double]] = []
        for f in Self.frameworks {
            var o = ScalerTraceOptions()
            (o.steps, o.infSteps, o.rule) = (steps, Array(0..<overflows), rule(f.framework))
            let rows: [[Double]]
            do { rows = try ScalerTraces.run(o).rows } catch let stopped as ScalerTraceStopped { rows = stopped.trace.rows }
            columns.append(rows.map { $0[4] } + Array(repeating: .nan, count: steps - rows.count))  // next_scale; NaN once stopped
        }
        return EngineRun(rows: (0..<steps).map { t in [Double(t), t < overflows ? 1 : 0] + columns.map { $0[t] } })
    }

    func reference(engineRows: [[Double]]) throws -> [String: [Double]] {
        let flags = (0..<steps).map { $0 < overflows }
        let scalers: [String: Reference.LossScaler] = [
            "pytorch": .pytorch(initScale: initScale, growthFactor: 2, backoffFactor: 0.5, growthInterval: interval),
            "megatron": .megatron(initialScale: initScale, minScale: minScale, growthFactor: 2, backoffFactor: 0.5, growthInterval: interval,
                                  hysteresis: hysteresis),
            "deepspeed_fp16": .deepspeedFP16(initScale: initScale, scaleWindow: interval, minScale: minScale),
            "deepspeed": .deepspeed(initScale: initScale, scaleWindow: interval, minScale: minScale, delayedShift: hysteresis,
                                    consecutiveHysteresis: false, raiseAtMin: true),
        ]
        return scalers.mapValues { s in
            let v = Reference.lossScales(s, foundInf: flags)
            return v + Array(repeating: .nan, count: steps - v.count)
        }
    }

    /// The update where DeepSpeed raises: the formula's own count of its rows.
    var raiseStep: Int? {
        let v = Reference.lossScales(.deepspeed(initScale: initScale, scaleWindow: interval, minScale: minScale, delayedShift: hysteresis,
                                                consecutiveHysteresis: false, raiseAtMin: true), foundInf: (0..<steps).map { $0 < overflows })
        return v.count < steps ? v.count : nil
    }

    var markers: [ScenarioMarker] {
        (raiseStep.map { [ScenarioMarker(x: Double($0), label: "DeepSpeed (ZeRO) raises at update \($0): loss scale already at minimum, exiting run")] } ?? [])
            + [ScenarioMarker(x: Double(overflows), label: "last overflow")]
    }

    var figureNote: String? { "min scale \(Int(minScale)) (none in PyTorch); \(overflows) overflows in a row; hysteresis \(hysteresis)" }
}
