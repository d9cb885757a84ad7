import Foundation
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTestSupport
import Testing

/// timm's schedulers and transformers' schedule builders from the constructor a user wrote,
/// against the real timm 1.0.31 and transformers 5.25.0
/// (`Fixtures/record_timm_transformers_schedules.py`, `timm_transformers_schedules.json`).
@Suite("timm and transformers schedules from their constructor")
struct TimmTransformersSchedulerTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String, expr: String, lrs: [Double], optimizerLR: Double, steps: Int, lr: [[Double]]
        /// What the package does that HalfTrace refuses (timm's noise), or nil.
        let refusedBecause: String?
        var testDescription: String { name }
    }

    nonisolated(unsafe) static let fixture = try! Fixture.loadExact("timm_transformers_schedules")

    static func cases(_ package: String) -> [Case] {
        ((fixture[package] as! [String: Any])["cases"] as! [[String: Any]]).compactMap { c in
            let optimizer = c["optimizer"] as! [String: Any]
            let groups = optimizer["groups"] as! [[String: Any]]
            // A group's lr_scale (timm) is a key of the group dict, not of the constructor.
            guard groups.allSatisfy({ Set($0.keys) == ["lr"] }) else { return nil }
            // One timm case calls step() on a per-update scheduler to show it is a no-op; a trace is of the method train.py calls.
            if let inEpochs = c["t_in_epochs"] as? Bool, (c["step_method"] as! String == "step") != inEpochs { return nil }
            let lrs = groups.map { try! Fixture.double($0["lr"]) }
            return Case(name: c["name"] as! String, expr: c["constructor"] as! String, lrs: lrs,
                        optimizerLR: (try? Fixture.double(c["optimizer_defaults_lr"])) ?? (try? Fixture.double(optimizer["lr"])) ?? lrs[0],
                        steps: try! Fixture.int(c["steps"]), lr: (c["lr"] as! [Any]).map { try! Fixture.doubles($0) },
                        refusedBecause: c["noise"] != nil ? "torch's random generator" : nil)
        }
    }

    static let all = cases("timm") + cases("transformers")

    /// Cases where the package's arithmetic leaves the exact formula: timm's float cycle index,
    /// timm's bisect of an unsorted milestone list, transformers' float `(c * progress) % 1.0`.
    static let departing: Set<String> = ["cosine_cycle_mul_1.5_log_rounding", "multistep_unsorted", "hard_restarts_mod_rounding"]

    @Test("package_lr equals the package's lr bit for bit after every step; lr, the exact form, equals it except where the package departs", arguments: all)
    func againstPackage(_ c: Case) throws {
        if let reason = c.refusedBecause {
            #expect(throws: HalfTraceError.self, "\(c.expr)") { try TorchScheduler(c.expr, lrs: c.lrs, optimizerLR: c.optimizerLR) }
            do { _ = try TorchScheduler(c.expr, lrs: c.lrs, optimizerLR: c.optimizerLR) } catch { #expect("\(error)".contains(reason), "\(error)") }
            return
        }
        let s = try TorchScheduler(c.expr, lrs: c.lrs, optimizerLR: c.optimizerLR)
        let t = try s.trace(steps: c.steps)
        #expect(t.count == c.lr.count)
        var departures = 0
        for k in 0..<min(t.count, c.lr.count) {
            #expect(t.packageLR[k] == c.lr[k], "\(c.name): package lr at step \(k): \(t.packageLR[k]) vs \(c.lr[k])")
            if t.departs(k) { departures += 1 } else { #expect(t.exactLR[k] == c.lr[k], "\(c.name): exact lr at step \(k)") }
        }
        #expect((departures > 0) == Self.departing.contains(c.name), "\(c.name): \(departures) departing rows")
        #expect(s.package.hasPrefix(c.expr.hasPrefix("get_") ? "transformers " : "timm "))
    }

    @Test("where the package departs, the exact form holds the rule: timm's restart at its peak, timm's milestones counted, transformers' restart at 1")
    func departures() throws {
        // CosineLRScheduler(t_initial=16, cycle_mul=1.5): cycle i starts at 16 (1.5^i - 1) / 0.5 = 32 (1.5^i - 1): 0, 16, 40, 76, 130, 211.
        let timm = try TorchScheduler("CosineLRScheduler(t_initial=16, cycle_mul=1.5, cycle_limit=6, t_in_epochs=False)", lrs: [0.1]).trace(steps: 220)
        let restarts = (0...220).filter { timm.departs($0) }
        #expect(!restarts.isEmpty)
        for k in restarts {
            #expect([16, 40, 76, 130, 211].contains(k), "departure at \(k) is not a restart")
            #expect(timm.exactLR[k] == [0.1], "at the restart t = \(k) the lr is the peak: \(timm.exactLR[k])")
        }
        // MultiStepLRScheduler(decay_t=[6, 3]): milestone m applies from t = m - 1, whatever the list's order.
        let multi = try TorchScheduler("MultiStepLRScheduler(decay_t=[6, 3], decay_rate=0.5)", lrs: [0.1]).trace(steps: 9)
        for t in 1...9 {
            let passed = [6, 3].filter { $0 <= t + 1 }.count
            #expect(multi.exactLR[t] == [0.1 * pow(0.5, Double(passed))], "t = \(t)")
        }
        // get_cosine_with_hard_restarts_schedule_with_warmup(2, 24, num_cycles=22): each step after the warm-up starts a cycle.
        let hf = try TorchScheduler("get_cosine_with_hard_restarts_schedule_with_warmup(num_warmup_steps=2, num_training_steps=24, num_cycles=22)", lrs: [0.1]).trace(steps: 25)
        for k in 2..<24 { #expect(hf.exactLR[k] == [0.1], "step \(k): a restart, λ = 1: \(hf.exactLR[k])") }
        #expect((2..<24).contains { hf.departs($0) })
    }

    @Test("what timm and transformers refuse is refused, with the package's exception and message")
    func refusals() throws {
        let refusals = Self.fixture["refusals"] as! [[String: Any]]
        #expect(refusals.count >= 30)
        for r in refusals {
            let expr = r["constructor"] as! String
            let groups = (r["optimizer"] as! [String: Any])["groups"] as! [[String: Any]]
            let lrs = groups.map { try! Fixture.double($0["lr"]) }
            let type = r["exception_type"] as! String, message = r["message"] as! String
            let expected = type + (message.isEmpty ? "" : ": " + message)
            do {
                let s = try TorchScheduler(expr, lrs: lrs)
                _ = try s.trace(steps: 20)
                Issue.record("\(expr) was accepted; the package raises \(expected)")
            } catch {
                let text = "\(error)"
                // transformers' get_adafactor_schedule and the metric-driven schedules raise only when stepped; HalfTrace says why at once.
                let reason = ["get_adafactor_schedule", "reduce_lr_on_plateau", "greedy"].contains { expr.contains($0) }
                #expect(reason ? text.contains("scheduler: column") : text.contains(expected), "\(expr): \(error) should say \(expected)")
            }
        }
    }

    @Test("get_scheduler(name, ...) is the builder it names, with the same rows")
    func getScheduler() throws {
        let pairs = [
            ("get_scheduler('cosine', num_warmup_steps=3, num_training_steps=20, scheduler_specific_kwargs={'num_cycles': 1.5})",
             "get_cosine_schedule_with_warmup(3, 20, num_cycles=1.5)"),
            ("transformers.get_scheduler(\"polynomial\", 2, 10, {'lr_end': 1e-4, 'power': 2})",
             "get_polynomial_decay_schedule_with_warmup(num_warmup_steps=2, num_training_steps=10, lr_end=0.0001, power=2)"),
            ("get_scheduler('constant', num_warmup_steps=5, num_training_steps=10)", "get_constant_schedule()"),
        ]
        for (a, b) in pairs {
            let x = try TorchScheduler(a, lrs: [0.1, 0.01]).trace(steps: 25), y = try TorchScheduler(b, lrs: [0.1, 0.01]).trace(steps: 25)
            #expect(x == y, "\(a)")
        }
        let e = #expect(throws: HalfTraceError.self) { try TorchScheduler("get_scheduler('cosine', num_warmup_steps=3, num_training_steps=20, scheduler_specific_kwargs={'lr_end': 0.1})", lrs: [0.1]) }
        #expect(e?.description.contains("column 95: TypeError: get_cosine_schedule_with_warmup() got an unexpected keyword argument 'lr_end'") == true, "\(String(describing: e))")
    }
}

/// The loss-scale rule a ds_config.json selects, against the real DeepSpeed 0.19.8 FP16_Optimizer
/// and FP16_UnfusedOptimizer stepped with hysteresis 1, 2 and 3 in their fp16 block
/// (`Fixtures/record_ds_fp16_hysteresis.py`, `ds_fp16_hysteresis.json`).
@Suite("DeepSpeed's fp16 block")
struct DeepSpeedFP16ConfigTests {
    nonisolated(unsafe) static let fixture = try! Fixture.loadExact("ds_fp16_hysteresis")

    @Test("a config without ZeRO gives FP16_Optimizer's rule, which ignores hysteresis: every recorded step's scale equals DeepSpeed's")
    func withoutZeRO() throws {
        let runs = Self.fixture["runs"] as! [[String: Any]]
        let run = try #require(runs.first { $0["deepspeed"] as? String == "0.19.8" })
        let cases = run["cases"] as! [[String: Any]]
        #expect(cases.count >= 100)
        var withHysteresis = 0
        for c in cases {
            let s = c["settings"] as! [String: Any]
            let initScale = try Fixture.double(s["init_scale"]), minScale = try Fixture.double(s["min_scale"])
            let hysteresis = try Fixture.int(s["delayed_shift"]), consecutive = s["consecutive_hysteresis"] as! Bool
            try #require(initScale.significand == 1 && minScale == minScale.rounded())
            let config = "\u{FEFF}{\r\n \"fp16\": {\"enabled\": true, \"loss_scale\": 0, \"initial_scale_power\": \(Int(initScale.exponent)), "
                + "\"loss_scale_window\": \(try Fixture.int(s["scale_window"])), \"hysteresis\": \(hysteresis), "
                + "\"consecutive_hysteresis\": \(consecutive), \"min_loss_scale\": \(Int(minScale))},\r\n \"zero_optimization\": {\"stage\": 0}\r\n}\r\n"
            let rule = try LossScaleRule.deepSpeedConfig(config, path: "ds_config.json")
            #expect(rule.framework == .deepspeedFP16)
            var state = rule.initialState
            let found = (c["found_inf"] as! [Any]).map { try! Fixture.int($0) == 1 }
            let after = try Fixture.doubles(c["scale_after"])
            for (i, inf) in found.enumerated() where i < after.count {
                try rule.update(&state, foundInf: inf)
                #expect(state.scale == after[i], "\(c["name"]!) (\(c["optimizer"]!)): scale after step \(i): \(state.scale) vs \(after[i])")
            }
            if hysteresis > 1 { withHysteresis += 1 }
        }
        #expect(withHysteresis >= 60)
    }

    @Test("ZeRO's stage selects DynamicLossScaler with the block's hysteresis; what DeepSpeed rejects is refused naming the key")
    func zeroAndRefusals() throws {
        let zero = try LossScaleRule.deepSpeedConfig("{\"fp16\": {\"enabled\": true, \"hysteresis\": 3, \"consecutive_hysteresis\": true}, \"zero_optimization\": {\"stage\": 2}}", path: "c.json")
        #expect(zero.framework == .deepspeed && zero.hysteresis == 3 && zero.consecutiveHysteresis && zero.raiseAtMinScale)
        #expect(zero.initScale == 65536 && zero.growthInterval == 1000 && zero.minScale == 1)
        let refused: [(String, String)] = [
            ("{\"fp16\": {\"enabled\": false}}", "fp16.enabled"), ("{\"bf16\": {\"enabled\": true}}", "bf16"),
            ("{\"fp16\": {\"enabled\": true, \"loss_scale\": 128}}", "fp16.loss_scale"),
            ("{\"fp16\": {\"enabled\": true, \"loss_scale_window\": 0}}", "fp16.loss_scale_window must be > 0"),
            ("{\"fp16\": {\"enabled\": true, \"min_loss_scale\": 0}}", "fp16.min_loss_scale must be > 0"),
            ("{\"fp16\": {\"enabled\": true, \"initial_scale_power\": \"auto\"}}", "fp16.initial_scale_power: \"auto\""),
            ("{\"fp16\": {\"enabled\": true, \"scale_window\": 10}}", "fp16.scale_window: Extra inputs are not permitted"),
            ("{\"fp16\": {\"enabled\": true}, \"zero_optimization\": {\"stage\": 4}}", "zero_optimization.stage"),
            ("{\"fp16\": {\"enabled\": true, \"hysteresis\": 0}, \"zero_optimization\": {\"stage\": 1}}", "fp16.hysteresis"),
            ("{\"fp16\": {\"enabled\": true,}", "not JSON"),
        ]
        for (text, expected) in refused {
            do {
                _ = try LossScaleRule.deepSpeedConfig(text, path: "c.json")
                Issue.record("\(text) was accepted")
            } catch {
                #expect("\(error)".contains("c.json") && "\(error)".contains(expected), "\(text): \(error)")
            }
        }
    }
}
