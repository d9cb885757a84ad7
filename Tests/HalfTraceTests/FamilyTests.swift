import Foundation
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTestSupport
import HalfTraceTraces
import HalfTraceVerify
import Testing

/// timm's and transformers' schedules and the loss scalers of PyTorch, Megatron-core and
/// DeepSpeed against the real packages: Fixtures/{timm_schedules,transformers_schedules,
/// scaler_rules}.json, recorded by Fixtures/record_families.py from timm 1.0.31, transformers
/// 5.25.0, megatron-core 0.16.1, DeepSpeed 0.19.8 and torch 2.13.0 driving a real optimizer.
@Suite("Other frameworks' schedules and scalers vs the real packages")
struct FamilyTests {
    /// The steps where each package's floating-point cycle index misplaces a restart, by
    /// fixture case: the package's defects, named and counted. Every other step must agree
    /// bit for bit with HalfTrace's exact value.
    static let timmDefects: [String: [Int]] = ["defect_T1_mul10": [111], "defect_T1_mul3": [121], "defect_T16_mul1.5": [211]]
    static let transformersDefects: [String: [Int]] = [
        "hard_restarts_defect_W0_N11_c55": [3, 6], "hard_restarts_defect_W0_N22_c22": [15],
        "hard_restarts_defect_W100_N122_c22": [115], "hard_restarts_defect_W0_N43_c43": [23, 31],
    ]

    static func timm(_ c: [String: Any]) throws -> TimmCosineSchedule {
        let a = c["args"] as! [String: Any]
        return try TimmCosineSchedule(tInitial: try Fixture.int(a["t_initial"]), lrMin: try Fixture.double(a["lr_min"]),
                                      cycleMul: try Fixture.double(a["cycle_mul"]), cycleDecay: try Fixture.double(a["cycle_decay"]),
                                      cycleLimit: try Fixture.int(a["cycle_limit"]), warmupT: try Fixture.int(a["warmup_t"]),
                                      warmupLRInit: try Fixture.double(a["warmup_lr_init"]), warmupPrefix: a["warmup_prefix"] as! Bool,
                                      kDecay: try Fixture.double(a["k_decay"]), baseLR: try Fixture.double(c["base_lr"]))
    }

    @Test("timm CosineLRScheduler: every step of 12 cases equals timm 1.0.31 bit for bit, except its 3 misplaced restarts")
    func timmSchedules() throws {
        let cases = try Fixture.load("timm_schedules")["cases"] as! [[String: Any]]
        #expect(cases.count == 12)
        var misplacedSeen: [String: [Int]] = [:]
        for c in cases {
            let name = c["name"] as! String, s = try Self.timm(c)
            let steps = (c["steps"] as! [Any]).map { try! Fixture.int($0) }, lr = try Fixture.doubles(c["lr"])
            #expect(s(0).bitPattern == (try Fixture.double(c["construction_lr"])).bitPattern, "\(name): the lr at construction")
            for (t, expected) in zip(steps, lr) {
                #expect(s.timm(t).bitPattern == expected.bitPattern, "\(name) step \(t): timm's arithmetic gives \(s.timm(t)), timm \(expected)")
                if s.timmMisplacesCycle(at: t) {
                    misplacedSeen[name, default: []].append(t)
                    // The exact restart: the new cycle's peak, not lr_min.
                    #expect(s(t) > expected, "\(name) step \(t): the restart must start the new cycle")
                } else {
                    #expect(s(t).bitPattern == expected.bitPattern, "\(name) step \(t): HalfTrace \(s(t)), timm \(expected)")
                }
            }
        }
        #expect(misplacedSeen == Self.timmDefects)
    }

    static func transformers(_ c: [String: Any]) throws -> TransformersSchedule {
        let a = c["args"] as! [String: Any]
        let w = try Fixture.int(a["num_warmup_steps"])
        let n = a["num_training_steps"].map { try! Fixture.int($0) }
        switch c["builder"] as! String {
        case "get_linear_schedule_with_warmup": return try TransformersSchedule(.linear, warmupSteps: w, trainingSteps: n!)
        case "get_cosine_schedule_with_warmup":
            return try TransformersSchedule(.cosine(numCycles: try Fixture.double(a["num_cycles"])), warmupSteps: w, trainingSteps: n!)
        case "get_cosine_with_hard_restarts_schedule_with_warmup":
            return try TransformersSchedule(.cosineWithHardRestarts(numCycles: try Fixture.double(a["num_cycles"])), warmupSteps: w, trainingSteps: n!)
        case "get_polynomial_decay_schedule_with_warmup":
            return try TransformersSchedule(.polynomial(lrEnd: try Fixture.double(a["lr_end"]), power: try Fixture.double(a["power"]),
                                                        lrInit: try Fixture.double(c["optimizer_default_lr"])), warmupSteps: w, trainingSteps: n!)
        case "get_inverse_sqrt_schedule":
            let timescale = try a["timescale"].map { try Fixture.int($0) } ?? (w == 0 ? 10_000 : w)
            return try TransformersSchedule(.inverseSqrt(timescale: timescale), warmupSteps: w, trainingSteps: max(w, 1))
        case "get_wsd_schedule":
            let decay = try Fixture.int(a["num_decay_steps"])
            let stable = try a["num_stable_steps"].map { try Fixture.int($0) } ?? (n! - w - decay)
            func shape(_ key: String, _ fallback: TransformersSchedule.Shape) -> TransformersSchedule.Shape {
                (a[key] as? String).flatMap(TransformersSchedule.Shape.init(rawValue:)) ?? fallback
            }
            return try TransformersSchedule(.wsd(stableSteps: stable, decaySteps: decay, warmupType: shape("warmup_type", .linear),
                                                 decayType: shape("decay_type", .cosine), minLRRatio: try a["min_lr_ratio"].map { try Fixture.double($0) } ?? 0,
                                                 numCycles: 0.5), warmupSteps: w, trainingSteps: w + stable + decay)
        case let b: throw FixtureError("unknown builder \(b)")
        }
    }

    @Test("transformers' six schedule builders: every step and group of 19 cases equals transformers 5.25.0 bit for bit, except its 6 misplaced restarts")
    func transformersSchedules() throws {
        let cases = try Fixture.load("transformers_schedules")["cases"] as! [[String: Any]]
        #expect(cases.count == 19)
        #expect(Set(cases.map { $0["builder"] as! String }).count == 6)
        var misplacedSeen: [String: [Int]] = [:]
        for c in cases {
            let name = c["name"] as! String, s = try Self.transformers(c), bases = try Fixture.doubles(c["base_lrs"])
            for (step, row) in (c["lr"] as! [[Any]]).enumerated() {
                let expected = try Fixture.doubles(row)
                for (g, base) in bases.enumerated() {
                    let package = base * s.transformers(step), exact = s.lr(base: base, at: step)
                    #expect(package.bitPattern == expected[g].bitPattern, "\(name) step \(step) group \(g): \(package) vs transformers \(expected[g])")
                    if s.transformersMisplacesCycle(at: step) {
                        #expect(exact > expected[g], "\(name) step \(step): the exact restart starts the new cycle")
                    } else {
                        #expect(exact.bitPattern == expected[g].bitPattern, "\(name) step \(step) group \(g): HalfTrace \(exact), transformers \(expected[g])")
                    }
                }
                if s.transformersMisplacesCycle(at: step) { misplacedSeen[name, default: []].append(step) }
            }
        }
        #expect(misplacedSeen == Self.transformersDefects)
    }

    static func rule(_ c: [String: Any]) throws -> LossScaleRule {
        let s = c["settings"] as! [String: Any]
        let framework = LossScaleRule.Framework(rawValue: c["framework"] as! String)!
        var r = LossScaleRule.defaults(framework)
        switch framework {
        case .pytorch:
            r.initScale = try Fixture.double(s["init_scale"])
            (r.growthFactor, r.backoffFactor) = (try Fixture.double(s["growth_factor"]), try Fixture.double(s["backoff_factor"]))
            r.growthInterval = try Fixture.int(s["growth_interval"])
        case .megatron:
            (r.initScale, r.minScale) = (try Fixture.double(s["initial_scale"]), try Fixture.double(s["min_scale"]))
            (r.growthFactor, r.backoffFactor) = (try Fixture.double(s["growth_factor"]), try Fixture.double(s["backoff_factor"]))
            (r.growthInterval, r.hysteresis) = (try Fixture.int(s["growth_interval"]), try Fixture.int(s["hysteresis"]))
        case .deepspeed:
            (r.initScale, r.minScale) = (try Fixture.double(s["init_scale"]), try Fixture.double(s["min_scale"]))
            (r.growthInterval, r.hysteresis) = (try Fixture.int(s["scale_window"]), try Fixture.int(s["delayed_shift"]))
            (r.consecutiveHysteresis, r.raiseAtMinScale) = (s["consecutive_hysteresis"] as! Bool, s["raise_error_at_min_scale"] as! Bool)
        case .deepspeedFP16:
            (r.initScale, r.minScale) = (try Fixture.double(s["init_scale"]), try Fixture.double(s["min_scale"]))
            r.growthInterval = try Fixture.int(s["scale_window"])
        }
        return r
    }

    @Test("each loss-scaling rule equals its framework on all 133 recorded overflow patterns, including DeepSpeed's raises at min_scale")
    func scalerRules() throws {
        let cases = try Fixture.load("scaler_rules")["cases"] as! [[String: Any]]
        #expect(cases.count == 133)
        var raises = 0
        for c in cases {
            let label = "\(c["framework"] as! String) \(c["name"] as! String) \(c["settings"] as! [String: Any])"
            let rule = try Self.rule(c)
            try rule.validate()
            let flags = (c["found_inf"] as! [Any]).map { try! Fixture.int($0) == 1 }
            let after = try Fixture.doubles(c["scale_after"]), before = try Fixture.doubles(c["scale_before"])
            let (scales, raised) = rule.trace(flags)
            #expect(scales.map(\.bitPattern) == after.map(\.bitPattern), "\(label): \(scales) vs \(after)")
            #expect(raised?.update == c["raised_at"].flatMap { try? Fixture.int($0) }, "\(label): raised at \(String(describing: raised))")
            #expect(Array(([rule.initScale] + scales).prefix(before.count)).map(\.bitPattern) == before.map(\.bitPattern), "\(label): scale before")
            if raised != nil { raises += 1 }
        }
        #expect(raises == 18)
    }

    @Test("GradScaler(rule:) skips the overflow steps and follows each framework's scale through a real SGD loop (cases within float32)")
    func gradScalerFollowsRules() throws {
        let cases = try Fixture.load("scaler_rules")["cases"] as! [[String: Any]]
        var checked = 0
        for c in cases {
            let after = try Fixture.doubles(c["scale_after"]), before = try Fixture.doubles(c["scale_before"])
            // GradScaler keeps its scale in float32, as PyTorch does, and a real backward pass
            // overflows where the recording set the gradient by hand: scenario G's scales
            // (DeepSpeed's double 2^1023, Megatron's inf) are for the rule alone.
            guard (before + after).allSatisfy({ $0.isFinite && Double(Float($0)) == $0 && $0 < 0x1p100 }) else { continue }
            let flags = (c["found_inf"] as! [Any]).map { try! Fixture.int($0) }
            var o = ScalerTraceOptions()
            (o.steps, o.infSteps, o.rule) = (flags.count, flags.indices.filter { flags[$0] == 1 }, try Self.rule(c))
            let rows: [[Double]]
            do { rows = try ScalerTraces.run(o).rows } catch let stop as ScalerTraceStopped {
                #expect(stop.step == (try Fixture.int(c["raised_at"])))
                rows = stop.trace.rows
            }
            #expect(rows.map { $0[4] } == after, "\(c["framework"]!) \(c["name"]!): next_scale")
            #expect(rows.map { $0[1] } == Array(before.prefix(rows.count)), "\(c["framework"]!) \(c["name"]!): scale")
            #expect(rows.map { $0[3] } == rows.indices.map { Double(flags[$0]) }, "\(c["framework"]!) \(c["name"]!): skipped")
            checked += 1
        }
        #expect(checked == 133 - 7)  // scenario G of each of the 7 framework settings
    }

    @Test("a misplaced-restart check in the golden recipe: timm misplaces 192, transformers 110 and 210")
    func goldenRecipeDefects() throws {
        let s = try TimmCosineSchedule(tInitial: 50, lrMin: 0.001, cycleMul: 1.2, cycleDecay: 0.8, cycleLimit: 4, warmupT: 10, warmupLRInit: 0.001,
                                       warmupPrefix: true, baseLR: 0.1)
        #expect((0..<260).filter(s.timmMisplacesCycle(at:)) == [192])
        let h = try TransformersSchedule(.cosineWithHardRestarts(numCycles: 2.3), warmupSteps: 10, trainingSteps: 240)
        #expect((0..<260).filter(h.transformersMisplacesCycle(at:)) == [110, 210])
        #expect(h(110) == 1 && h.transformers(110) < 1e-20)
    }

    @Test("trace scaler --scaler-rule deepspeed prints the rows before DeepSpeed's raise at min_scale and exits 2 naming the step")
    func deepSpeedRaiseInTrace() throws {
        let r = try CLITests.run(["trace", "scaler", "--scaler-rule", "deepspeed", "--init-scale", "4", "--scale-window", "4", "--delayed-shift", "1",
                                  "--min-scale", "1", "--inf-steps", "1,2,3,4", "--steps", "8"])
        #expect(r.exited && r.status == 2)
        let rows = r.out.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(rows == ["step,scale,found_inf,skipped,next_scale,growth_tracker", "0,4.0,0,0,4.0,1", "1,4.0,1,1,2.0,0", "2,2.0,1,1,1.0,0"])
        #expect(r.err.contains("step 3: Current loss scale already at minimum (1.0)"), "\(r.err)")
        let off = try CLITests.run(["trace", "scaler", "--scaler-rule", "deepspeed", "--init-scale", "4", "--scale-window", "4", "--delayed-shift", "1",
                                    "--min-scale", "1", "--inf-steps", "1,2,3,4", "--steps", "8", "--no-raise-error-at-min-scale"])
        #expect(off.status == 0 && off.out.split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 9)
    }

    @Test("verify trace on timm's and transformers' own logs names every misplaced restart as the package's defect, and only those")
    func verifyNamesPackageDefects() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ht-family-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let timmCase = (try Fixture.load("timm_schedules")["cases"] as! [[String: Any]]).first { $0["name"] as! String == "defect_T1_mul3" }!
        let lr = try Fixture.doubles(timmCase["lr"])
        let timmLog = dir.appendingPathComponent("timm.csv")
        try ("epoch,lr\n" + lr.enumerated().map { "\($0),\($1)" }.joined(separator: "\n") + "\n").write(to: timmLog, atomically: true, encoding: .utf8)
        let t = try CLITests.run(["verify", "--trace", timmLog.path, "--schedule", "timm-cosine", "--lr", "1", "--t-initial", "1", "--cycle-mul", "3",
                                  "--cycle-limit", "10"])
        #expect(t.status == 1)
        #expect(t.out.contains("epoch 121: logged 0.0, the formula gives 1.0 (timm's misplaced restart"), "\(t.out)")
        #expect(t.out.contains("every disagreement (1) is timm's known restart defect"), "\(t.out)")
        let hfCase = (try Fixture.load("transformers_schedules")["cases"] as! [[String: Any]]).first { $0["name"] as! String == "hard_restarts_defect_W0_N43_c43" }!
        let hfLR = try (hfCase["lr"] as! [[Any]]).map { try Fixture.double($0[0]) }
        let base = try Fixture.doubles(hfCase["base_lrs"])[0]
        let hfLog = dir.appendingPathComponent("hf.csv")
        try ("step,lr\n" + hfLR.enumerated().map { "\($0),\($1)" }.joined(separator: "\n") + "\n").write(to: hfLog, atomically: true, encoding: .utf8)
        let h = try CLITests.run(["verify", "--trace", hfLog.path, "--schedule", "hf-cosine-restarts", "--lr", "\(base)", "--num-training-steps", "43",
                                  "--num-cycles", "43"])
        #expect(h.out.contains("step 23:") && h.out.contains("step 31:") && h.out.contains("every disagreement (2) is transformers' known restart defect"),
                "\(h.out)")
        // One value changed elsewhere is not excused as a defect.
        var edited = hfLR
        edited[10] *= 1.001
        try ("step,lr\n" + edited.enumerated().map { "\($0),\($1)" }.joined(separator: "\n") + "\n").write(to: hfLog, atomically: true, encoding: .utf8)
        let e = try CLITests.run(["verify", "--trace", hfLog.path, "--schedule", "hf-cosine-restarts", "--lr", "\(base)", "--num-training-steps", "43",
                                  "--num-cycles", "43"])
        #expect(e.status == 1 && e.out.contains("2 of the 3 disagreements are transformers' known restart defect"), "\(e.out)")
    }

    /// A scale log (step,found_inf,scale before the update) of a recorded case.
    static func scaleLog(_ c: [String: Any]) throws -> String {
        let flags = (c["found_inf"] as! [Any]).map { try! Fixture.int($0) }, before = try Fixture.doubles(c["scale_before"])
        return "step,found_inf,scale\n" + before.indices.map { "\($0),\(flags[$0]),\(before[$0])" }.joined(separator: "\n") + "\n"
    }

    @Test("verify scale-log: every recorded framework log passes its own rule; a DeepSpeed log read with PyTorch's rule fails at its first growth")
    func scaleLogs() throws {
        let cases = try Fixture.load("scaler_rules")["cases"] as! [[String: Any]]
        var checked = 0
        for c in cases where c["raised_at"] == nil || c["raised_at"] is NSNull {
            let rule = try Self.rule(c)
            let v = try ScaleLogVerification.verify(try Self.scaleLog(c), path: "log.csv", rule: rule, initScaleGiven: true)
            #expect(v.passes, "\(c["framework"]!) \(c["name"]!): \(v.report)")
            checked += 1
        }
        #expect(checked == 133 - 18)
        // Scenario B (no overflow, window 3): DeepSpeed grows on the 4th clean update, PyTorch on the 3rd.
        let b = cases.first { $0["framework"] as! String == "deepspeed" && $0["name"] as! String == "B" }!
        var pytorch = LossScaleRule.defaults(.pytorch)
        pytorch.growthInterval = 3
        let wrong = try ScaleLogVerification.verify(try Self.scaleLog(b), path: "log.csv", rule: pytorch)
        #expect(!wrong.passes && wrong.firstDisagreement?.row == 3, "\(wrong.report)")
        #expect(wrong.report.contains("first disagreement at step 3 (line 5): logged 16.0, the rule gives 32.0"), "\(wrong.report)")
    }

    @Test("a run with a scaler rule resumes from its checkpoint; changing the rule needs --override scaler-rule")
    func resumeWithRule() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ht-family-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("run").path, ckpt = out + "/last.ckpt"
        let first = try CLITests.run(["train", "--model", "tiny", "--precision", "fp16", "--scaler", "--scaler-rule", "megatron",
                                      "--initial-scale", "1024", "--growth-interval", "50", "--hysteresis", "2", "--epochs", "1", "--out", out])
        #expect(first.status == 0, "\(first.text)")
        let again = try CLITests.run(["train", "--resume", ckpt, "--epochs", "2"])
        #expect(again.status == 0, "\(again.text)")
        let refused = try CLITests.run(["train", "--resume", ckpt, "--epochs", "3", "--scaler-rule", "deepspeed"])
        #expect(refused.status != 0 && refused.err.contains("--scaler-rule: the checkpoint was trained with megatron, the new configuration has deepspeed"),
                "\(refused.text)")
        #expect(refused.err.contains("add --override scaler-rule"), "\(refused.text)")
        let replaced = try CLITests.run(["train", "--resume", ckpt, "--epochs", "3", "--override", "scaler-rule", "--scaler-rule", "deepspeed",
                                         "--scale-window", "20"])
        #expect(replaced.status == 0, "\(replaced.text)")
        let resumedAgain = try CLITests.run(["train", "--resume", ckpt, "--epochs", "4"])
        #expect(resumedAgain.status == 0, "\(resumedAgain.text)")
    }
}
