import Foundation
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTestSupport
import HalfTraceVerify
import Testing

/// PyTorch's schedulers from the constructor a user wrote, against the real torch 2.13
/// (`Fixtures/record_torch_schedulers.py` steps each one and records every group's lr and
/// momentum; `torch_schedulers.json`).
@Suite("PyTorch schedulers from their constructor")
struct TorchSchedulerTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let expr: String, adam: Bool, lrs: [Double], steps: Int, lrRows: [[Double]], momentumRows: [[Double]]?
        var testDescription: String { expr }
    }

    nonisolated(unsafe) static let fixture = try! Fixture.loadExact("torch_schedulers")

    static let cases: [Case] = (fixture["cases"] as! [[String: Any]]).map { c in
        Case(expr: c["expr"] as! String, adam: c["optimizer"] as! String == "Adam", lrs: try! Fixture.doubles(c["lr"]),
             steps: try! Fixture.int(c["steps"]), lrRows: (c["lr_rows"] as! [Any]).map { try! Fixture.doubles($0) },
             momentumRows: (c["momentum_rows"] as? [Any])?.map { try! Fixture.doubles($0) })
    }

    static let refused: [(expr: String, error: String)] = (fixture["refused"] as! [[String: Any]]).map { ($0["expr"] as! String, $0["error"] as! String) }

    @Test("package_lr (and momentum) equal torch's bit for bit after every step; lr, the closed form, within 1e-13 of it", arguments: cases)
    func againstTorch(_ c: Case) throws {
        let s = try TorchScheduler(c.expr, lrs: c.lrs, momentum: 0.9, usesBeta1: c.adam)
        let t = try s.trace(steps: c.steps)
        #expect(t.count == c.lrRows.count)
        let scale = c.lrRows.flatMap { $0 }.map(abs).max() ?? 1
        for k in 0..<min(t.count, c.lrRows.count) {
            #expect(t.packageLR[k] == c.lrRows[k], "\(c.expr): package lr at step \(k): \(t.packageLR[k]) vs torch \(c.lrRows[k])")
            for j in 0..<c.lrs.count {
                #expect(abs(t.exactLR[k][j] - c.lrRows[k][j]) <= 1e-13 * scale, "\(c.expr): exact lr of group \(j) at step \(k): \(t.exactLR[k][j]) vs torch \(c.lrRows[k][j])")
            }
        }
        #expect(s.cyclesMomentum == (c.momentumRows != nil), "\(c.expr)")
        if let m = c.momentumRows {
            for k in 0..<min(t.count, m.count) {
                #expect(t.packageMomentum[k] == m[k], "\(c.expr): package momentum at step \(k): \(t.packageMomentum[k]) vs torch \(m[k])")
                for j in 0..<c.lrs.count {
                    #expect(abs(t.exactMomentum[k][j] - m[k][j]) <= 1e-13, "\(c.expr): exact momentum at step \(k)")
                }
            }
        }
    }

    @Test("what torch refuses is refused with torch's own message")
    func refusals() throws {
        #expect(Self.refused.count >= 10)
        for r in Self.refused {
            let lrs = r.expr.contains("max_lr=[0.1, 0.05], total_steps=10") ? [0.1] : [0.1]
            #expect(throws: HalfTraceError.self, "\(r.expr)") { try TorchScheduler(r.expr, lrs: lrs) }
            do {
                _ = try TorchScheduler(r.expr, lrs: lrs)
            } catch {
                #expect("\(error)".contains(r.error), "\(r.expr): \(error) should contain \(r.error)")
            }
        }
    }

    @Test("Python's number spellings, strings, True/False/None, lists, tuples, dicts and nested calls parse; errors name the column")
    func parser() throws {
        let v = try PythonExpression.parse("f(1_000, -2.5e-3, .5, 5., 0x10, +3, 'a\"b', \"c\", True, None, (1, 2,), [f(x=1)], {'k': 1e-5}, y=False)")
        guard case .call(let c) = v else { Issue.record("not a call: \(v)"); return }
        #expect(c.positional.description == "[1000, -0.0025, 0.5, 5.0, 16, 3, 'a\"b', 'c', True, None, [1, 2], [f(x=1)], {'k': 1e-05}]")
        #expect(c.positional.prefix(10) == [.int(1000), .float(-0.0025), .float(0.5), .float(5), .int(16), .int(3), .string("a\"b"), .string("c"), .bool(true), .none])
        #expect(c.positionalColumns.prefix(3) == [3, 10, 19])
        #expect(c.keywords.map(\.name) == ["y"] && c.keywords.first?.value == .bool(false))
        #expect(try PythonExpression.parse("float('inf')") == .float(.infinity))
        let errors: [(String, String)] = [
            ("StepLR(step_size=3,", "column 20: expected a value, found the end of the text"),
            ("StepLR(step_size=3 gamma=0.1)", "column 20: expected ',' or ')' in the call to StepLR, found 'gamma=0.1)'"),
            ("StepLR(step_size=3, step_size=4)", "column 21: keyword argument repeated: step_size"),
            ("StepLR(gamma=0.1, 3)", "column 19: positional argument follows keyword argument"),
            ("StepLR(step_size=03)", "column 18: '03': leading zeros in an integer are not allowed in Python"),
            ("StepLR(step_size=1__0)", "column 18: '1__0': an underscore may only separate digits"),
            ("StepLR(step_size=n)", "column 18: 'n' is a name, not a value: write the number or the call itself"),
            ("StepLR(step_size=3))", "column 20: unexpected ')' after the expression"),
            ("StepLR(gamma='0.1", "column 14: string not closed"),
        ]
        for (text, message) in errors {
            #expect(throws: PythonSyntaxError.self) { try PythonExpression.parse(text) }
            do { _ = try PythonExpression.parse(text) } catch { #expect("\(error)" == message, "\(text)") }
        }
    }

    @Test("an unknown scheduler lists the supported ones; an unknown keyword lists the class's parameters; a wrong type names the argument and its column")
    func helpfulErrors() throws {
        func message(_ expr: String, lrs: [Double] = [0.1]) -> String {
            do { _ = try TorchScheduler(expr, lrs: lrs); return "" } catch { return "\(error)" }
        }
        #expect(message("StepLRR(step_size=3)").contains("unknown scheduler StepLRR: expected one of StepLR, MultiStepLR, ConstantLR"))
        #expect(message("StepLR(step_size=3, gama=0.1)").contains("column 21: TypeError: StepLR.__init__() got an unexpected keyword argument 'gama'; its parameters: step_size, gamma, last_epoch"))
        #expect(message("StepLR(step_size=2.5)").contains("column 8: StepLR: step_size must be an integer, found float 2.5"))
        #expect(message("LambdaLR(lr_lambda=f)").contains("column 20: 'f' is a name"))
        #expect(message("LambdaLR(0)").contains("LambdaLR takes a Python function"))
        #expect(message("keras.StepLR(step_size=3)").contains("unknown module prefix 'keras.'"))
        #expect(message("OneCycleLR(max_lr=0.1, total_steps=5, pct_start=1)").contains("ValueError: Expected float between 0 and 1 pct_start, but got 1"))
        #expect(message("StepLR(step_size=3)", lrs: []).contains("lr"))
    }

    @Test("ramps of no steps (total_iters=0): torch's lr bit for bit, or its ZeroDivisionError at the step torch raises; the exact lr is the ramp's limit")
    func degenerateRamps() throws {
        let degenerate = Self.fixture["degenerate"] as! [[String: Any]]
        #expect(degenerate.count == 7)
        for d in degenerate {
            let expr = d["expr"] as! String, lrs = try Fixture.doubles(d["lr"])
            let rows = try (d["lr_rows"] as! [Any]).map(Fixture.doubles)
            let s = try TorchScheduler(expr, lrs: lrs)
            if d["raised_at"] != nil {
                let raisedAt = try Fixture.int(d["raised_at"])
                #expect(try s.trace(steps: raisedAt - 1).packageLR == rows, "\(expr)")
                #expect(throws: HalfTraceError.self, "\(expr)") { try s.trace(steps: raisedAt) }
                do { _ = try s.trace(steps: raisedAt) } catch { #expect("\(error)".contains("ZeroDivisionError"), "\(expr): \(error) for torch's \(d["error"]!)") }
                continue
            }
            let t = try s.trace(steps: rows.count - 1)
            #expect(t.packageLR == rows, "\(expr): \(t.packageLR) against torch's \(rows)")
            guard !expr.hasPrefix("SequentialLR") else { continue }
            // The limit of min(total, k) / total as total -> 0: 0 at step 0, 1 after; LinearLR goes
            // from start_factor to end_factor, PolynomialLR from 1 to 0.
            let linear = expr.hasPrefix("LinearLR")
            let (start, end) = linear ? (expr.contains("0.5") ? (0.5, 0.25) : (1.0 / 3, 1.0)) : (1.0, 0.0)
            for k in 0..<t.count {
                let expected = lrs.map { $0 * (k == 0 ? start : end) }
                #expect(zip(t.exactLR[k], expected).allSatisfy { abs($0 - $1) <= 1e-15 * $1 } && t.exactLR[k].count == expected.count,
                        "\(expr): exact lr at step \(k): \(t.exactLR[k]), the limit \(expected)")
            }
        }
    }

    @Test("the constructor line as a training script holds it (an assignment, the optimizer first or as optimizer=, # comments, lines) traces as the bare call")
    func constructorLines() throws {
        let pairs: [(line: String, bare: String)] = [
            ("scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)  # decay", "StepLR(step_size=3, gamma=0.5)"),
            ("self.scheduler = SequentialLR(opt, schedulers=[LinearLR(opt, start_factor=0.1, total_iters=5), CosineAnnealingLR(opt, T_max=95)], milestones=[5])",
             "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=95)], milestones=[5])"),
            ("ChainedScheduler([StepLR(self.optimizer, 3), ExponentialLR(self.optimizer, 0.9)], optimizer=self.optimizer)",
             "ChainedScheduler([StepLR(3), ExponentialLR(0.9)])"),
            ("StepLR(\n    optimizer,  # SGD, momentum 0.9\n    step_size=3,\n)", "StepLR(step_size=3)"),
            ("lr_scheduler = get_scheduler('linear', optimizer, 2, 10)", "get_scheduler('linear', 2, 10)"),
            ("sched = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=2, num_training_steps=10)", "get_linear_schedule_with_warmup(num_warmup_steps=2, num_training_steps=10)"),
            ("s = OptimizerParamScheduler(optimizer, init_lr=0.0, max_lr=3e-4, min_lr=3e-5, lr_warmup_steps=5, lr_decay_steps=20, lr_decay_style='cosine', start_wd=0.1, end_wd=0.1, wd_incr_steps=20, wd_incr_style='constant')",
             "OptimizerParamScheduler(init_lr=0.0, max_lr=3e-4, min_lr=3e-5, lr_warmup_steps=5, lr_decay_steps=20, lr_decay_style='cosine', start_wd=0.1, end_wd=0.1, wd_incr_steps=20, wd_incr_style='constant')"),
        ]
        for (line, bare) in pairs {
            let a = try TorchScheduler(line, lrs: [0.1]), b = try TorchScheduler(bare, lrs: [0.1])
            #expect(try a.trace(steps: 25) == b.trace(steps: 25), "\(line)")
        }
        // Only the first positional is the optimizer: a second name is still a name, and so is a
        // comparison that is not an assignment.
        for (line, message) in [("StepLR(opt, opt2, step_size=3)", "'opt2' is a name"), ("s == StepLR(step_size=3)", "'s' is a name")] {
            #expect(throws: HalfTraceError.self, "\(line)") { try TorchScheduler(line, lrs: [0.1]) }
            do { _ = try TorchScheduler(line, lrs: [0.1]) } catch { #expect("\(error)".contains(message), "\(line): \(error)") }
        }
    }

    @Test("OneCycleLR accepts total_steps steps and raises on the next, as torch does")
    func oneCycleEnd() throws {
        let s = try TorchScheduler("OneCycleLR(max_lr=0.1, total_steps=5)", lrs: [0.1])
        let t = try s.trace(steps: 5)
        #expect(t.count == 6)
        #expect(throws: HalfTraceError.self) { try s.trace(steps: 6) }
    }
}

/// `verify trace --scheduler`: a user's per-step lr log checked against the pasted constructor.
@Suite("verify trace with a pasted PyTorch scheduler")
struct TorchSchedulerVerifyTests {
    /// The fixture case's group-0 lrs as a `step,lr` log.
    static func log(_ c: TorchSchedulerTests.Case, in dir: String, change: (Int, Double) -> Double = { $1 }) throws -> String {
        let path = dir + "/lr.csv"
        let rows = c.lrRows.enumerated().map { k, r in "\(k),\(change(k, r[0]))" }
        try (["step,lr"] + rows).joined(separator: "\r\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func fixtureCase(_ expr: String) throws -> TorchSchedulerTests.Case {
        try #require(TorchSchedulerTests.cases.first { $0.expr == expr }, "\(expr) is recorded")
    }

    @Test("torch's own log passes where torch keeps to the closed form; where its chainable form departs, every disagreement is named PyTorch's; an altered value is the user's")
    func verifyLog() throws {
        try withTemporaryDirectory("torch-verify") { dir in
            let step = try Self.fixtureCase("SequentialLR([LinearLR(start_factor=0.2, total_iters=4), StepLR(step_size=3, gamma=0.5)], milestones=[4])")
            let s = try TorchScheduler(step.expr, lrs: step.lrs)
            let path = try Self.log(step, in: dir)
            let formula = try TraceVerification.Formula.torch(s, steps: try #require(try TraceVerification.largestKey(file: path)))
            let ok = try TraceVerification.verify(file: path, formula: formula)
            #expect(ok.passes && ok.rows == step.lrRows.count, "\(ok.report)")

            let cosine = try Self.fixtureCase("CosineAnnealingLR(T_max=7)")
            let c = try TorchScheduler(cosine.expr, lrs: cosine.lrs)
            let cosinePath = try Self.log(cosine, in: dir)
            let v = try TraceVerification.verify(file: cosinePath, formula: try .torch(c, steps: cosine.steps))
            #expect(v.disagreementCount > 0 && v.defectCounts["PyTorch"] == v.disagreementCount, "\(v.report)")
            #expect(v.report.contains("PyTorch's own arithmetic gives this value"), "\(v.report)")

            let altered = try Self.log(step, in: dir) { k, lr in k == 9 ? lr * 1.001 : lr }
            let w = try TraceVerification.verify(file: altered, formula: formula)
            #expect(w.disagreementCount == 1 && w.disagreements.first?.line == 11 && w.disagreements.first?.packageDefect == nil, "\(w.report)")
        }
    }
}

/// DeepSpeed's `lr_schedules` and Megatron-core's `OptimizerParamScheduler` from their constructor,
/// against the real DeepSpeed 0.19.8 and megatron-core 0.16.1 (`Fixtures/record_ds_megatron_schedules.py`,
/// `ds_megatron_schedules.json`).
@Suite("DeepSpeed and Megatron schedules from their constructor")
struct DeepSpeedMegatronScheduleTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String, expr: String, adam: Bool, lrs: [Double], steps: Int, increment: Int
        let lr: [[Double]], momentum: [[Double]]?, weightDecay: [[Double]]?
        var testDescription: String { name }
    }

    nonisolated(unsafe) static let fixture = try! Fixture.loadExact("ds_megatron_schedules")

    static func cases(_ package: String) -> [Case] {
        ((fixture[package] as! [String: Any])["cases"] as! [[String: Any]]).compactMap { c in
            let optimizer = c["optimizer"] as! [String: Any]
            let groups = optimizer["groups"] as! [[String: Any]]
            // Per-group overrides (Megatron's max_lr, wd_mult ... in the group dicts) have no constructor spelling.
            guard groups.allSatisfy({ Set($0.keys) == ["lr"] }) else { return nil }
            let adam = (optimizer["type"] as! String) != "SGD"
            let betas = (c["betas"] as? [Any])?.map { row in (row as! [Any]).map { try! Fixture.double(($0 as! [Any])[0]) } }
            let momentum = adam ? betas : (c["momentum"] as? [Any])?.map { try! Fixture.doubles($0) }
            return Case(name: c["name"] as! String, expr: c["constructor"] as! String, adam: adam,
                        lrs: groups.map { try! Fixture.double($0["lr"]) }, steps: try! Fixture.int(c["steps"]),
                        increment: (try? Fixture.int(c["increment"])) ?? 1,
                        lr: (c["lr"] as! [Any]).map { try! Fixture.doubles($0) }, momentum: momentum,
                        weightDecay: (c["weight_decay"] as? [Any])?.map { try! Fixture.doubles($0) })
        }
    }

    static let all = cases("deepspeed") + cases("megatron")

    @Test("package_lr, the momentum (or beta1) and the weight decay equal the package's bit for bit after every step", arguments: all)
    func againstPackage(_ c: Case) throws {
        let s = try TorchScheduler(c.expr, lrs: c.lrs, momentum: 0.9, usesBeta1: c.adam)
        let t = try s.trace(steps: c.steps, increment: c.increment)
        #expect(t.count == c.lr.count)
        for k in 0..<min(t.count, c.lr.count) {
            #expect(t.packageLR[k] == c.lr[k], "\(c.name): lr at step \(k): \(t.packageLR[k]) vs \(c.lr[k])")
            if let m = c.momentum {
                let ours = s.cyclesMomentum ? t.packageMomentum[k] : c.lrs.map { _ in 0.9 }
                #expect(ours == m[k], "\(c.name): momentum at step \(k): \(ours) vs \(m[k])")
            }
            if let wd = c.weightDecay { #expect(t.packageWeightDecay[k] == wd[k], "\(c.name): weight decay at step \(k)") }
        }
    }

    @Test("each case's ds_config.json scheduler block (read as JSON, written with \\r\\n and a byte-order mark) gives the constructor's trace")
    func deepSpeedConfig() throws {
        let text = try String(contentsOf: Fixture.directory.appendingPathComponent("ds_megatron_schedules.json"), encoding: .utf8)
        guard case .dict(let top) = try PythonExpression.parseJSON(text), case .dict(let ds)? = top.first(where: { $0.name == "deepspeed" })?.value,
              case .list(let cases)? = ds.first(where: { $0.name == "cases" })?.value else { Issue.record("fixture layout"); return }
        var checked = 0
        for item in cases {
            guard case .dict(let c) = item, case .string(let name)? = c.first(where: { $0.name == "name" })?.value,
                  let block = c.first(where: { $0.name == "ds_config" })?.value else { continue }
            let fixtureCase = try #require(Self.all.first { $0.name == name }, "\(name)")
            let config = "\u{FEFF}" + "\(block)".replacingOccurrences(of: ", ", with: ",\r\n  ")
            let json = config.replacingOccurrences(of: "'", with: "\"").replacingOccurrences(of: "True", with: "true")
                .replacingOccurrences(of: "False", with: "false").replacingOccurrences(of: "None", with: "null")
            let parsed = try TorchScheduler.deepSpeedConfig(json, path: "ds_config.json")
            let s = try TorchScheduler(call: parsed.call, lrs: fixtureCase.lrs, usesBeta1: fixtureCase.adam)
            let t = try s.trace(steps: fixtureCase.steps)
            #expect(t.packageLR == fixtureCase.lr, "\(name): \(json)")
            checked += 1
        }
        #expect(checked == Self.cases("deepspeed").count)
        #expect(throws: HalfTraceError.self) { try TorchScheduler.deepSpeedConfig("{\"scheduler\": {\"type\": \"CosineLR\", \"params\": {}}}", path: "c.json") }
        #expect(throws: HalfTraceError.self) { try TorchScheduler.deepSpeedConfig("{\"optimizer\": {}}", path: "c.json") }
        #expect(throws: HalfTraceError.self) { try TorchScheduler.deepSpeedConfig("{\"scheduler\": {\"type\": \"WarmupLR\"}", path: "c.json") }
    }

    @Test("what DeepSpeed and Megatron refuse at construction is refused, with the package's exception and message")
    func refusals() throws {
        let refusals = (Self.fixture["refusals"] as! [[String: Any]]).filter { ($0["raised_at"] as? String) == "construction" }
        #expect(refusals.count >= 15)
        for r in refusals {
            let expr = r["constructor"] as! String
            let groups = ((r["optimizer"] as! [String: Any])["groups"] as! [[String: Any]])
            guard groups.allSatisfy({ Set($0.keys) == ["lr"] }) else { continue }
            let lrs = groups.map { try! Fixture.double($0["lr"]) }
            let type = r["exception_type"] as! String, message = r["message"] as! String
            do {
                _ = try TorchScheduler(expr, lrs: lrs)
                Issue.record("\(expr) was accepted; the package raises \(type): \(message)")
            } catch {
                #expect("\(error)".contains(type + (message.isEmpty ? "" : ": " + message)), "\(expr): \(error) should say \(type): \(message)")
            }
        }
    }
}
