import HalfTraceAutograd
import HalfTraceOptim
import HalfTraceTestSupport
import HalfTraceTraces
import Testing

/// HalfTrace's stateful objects against NumPy 2.4 and PyTorch 2.15, recorded in Fixtures/.
@Suite("Differential tests against NumPy and PyTorch")
struct PyTorchDifferentialTests {
    @Test("interp is bit-identical to numpy.interp on 45 cases (knots, duplicates, NaN, inf, outside)")
    func numpyInterp() throws {
        let cases = try Fixture.load("numpy_interp")["cases"] as! [[String: Any]]
        #expect(cases.count == 45)
        for (c, entry) in cases.enumerated() {
            let xp = try Fixture.doubles(entry["xp"]), fp = try Fixture.doubles(entry["fp"])
            let xs = try Fixture.doubles(entry["x"]), ys = try Fixture.doubles(entry["y"])
            let f = try Interpolation(xp: xp, fp: fp)
            for (x, y) in zip(xs, ys) {
                let mine = f(x)
                #expect(mine.bitPattern == y.bitPattern || (mine.isNaN && y.isNaN),
                        "case \(c): interp(\(x)) = \(mine), numpy \(y)")
            }
        }
    }

    @Test("LambdaLR with YOLOv5's linear and one_cycle multipliers equals PyTorch bit for bit")
    func lambdaLR() throws {
        for run in try Fixture.load("torch_lambda")["runs"] as! [[String: Any]] {
            let trace = try ScheduleTraces.lambda(cosine: run["cos_lr"] as! Bool, lr0: try Fixture.double(run["lr0"]),
                                                  lrf: try Fixture.double(run["lrf"]), epochs: try Fixture.int(run["epochs"]))
            let expected = try Fixture.doubles(run["lr"])
            #expect(trace.column("lr")!.map(\.bitPattern) == expected.map(\.bitPattern), "\(trace.comments)")
        }
    }

    @Test("SGDR equals PyTorch everywhere except where PyTorch's log misplaces a restart")
    func sgdr() throws {
        var defects: Set<[Int]> = []
        for run in try Fixture.load("torch_sgdr")["runs"] as! [[String: Any]] {
            let t0 = try Fixture.int(run["t0"]), tMult = try Fixture.int(run["t_mult"])
            let lr = try Fixture.double(run["lr"]), etaMin = try Fixture.double(run["eta_min"])
            var s = try CosineWarmRestarts(baseLRs: [lr], t0: t0, tMult: tMult, etaMin: etaMin)
            for row in run["rows"] as! [[Any]] {
                let epoch = try Fixture.double(row[0]), torchLR = try Fixture.double(row[1])
                try s.step(epoch: epoch)
                let mine = s.learningRates[0]
                let exact = CosineWarmRestarts.position(of: epoch, t0: t0, tMult: tMult)
                if CosineWarmRestarts.pytorchCycle(of: epoch, t0: t0, tMult: tMult) == exact.cycle || tMult == 1 {
                    #expect(mine.bitPattern == torchLR.bitPattern, "T_0=\(t0) T_mult=\(tMult) epoch \(epoch): \(mine) vs PyTorch \(torchLR)")
                } else {
                    defects.insert([t0, tMult, Int(epoch)])
                    #expect(exact.tCur == 0 && mine == lr, "a restart epoch gives base_lr: \(mine)")
                    #expect(torchLR == etaMin, "PyTorch gives eta_min there: \(torchLR)")
                }
            }
            // step() without an epoch: no log, so PyTorch is right and the two agree everywhere.
            var plain = try CosineWarmRestarts(baseLRs: [lr], t0: t0, tMult: tMult, etaMin: etaMin)
            for (e, expected) in try Fixture.doubles(run["plain_step"]).enumerated() {
                if e > 0 { plain.step() }
                #expect(plain.learningRates[0].bitPattern == expected.bitPattern, "step() at epoch \(e)")
            }
        }
        // The known misplaced restarts (T_0=1, T_mult=3 at 121; T_0=5, T_mult=10 at 555; ...) are among the defects found.
        for d in [[1, 3, 121], [1, 10, 111], [3, 3, 363], [5, 10, 555], [7, 3, 847]] {
            #expect(defects.contains(d), "PyTorch misplaces the restart T_0=\(d[0]) T_mult=\(d[1]) at epoch \(d[2])")
        }
    }

    @Test("YOLOv5 warm-up equals a replay of train.py's warm-up (torch SGD, LambdaLR and np.interp), bit for bit, in 7 configurations")
    func yolov5Warmup() throws {
        for run in try Fixture.load("yolov5_warmup")["runs"] as! [[String: Any]] {
            let h = run["hyp"] as! [String: Any]
            var hyp = ScheduleHyperparameters()
            hyp.lr0 = try Fixture.double(h["lr0"])
            hyp.lrf = try Fixture.double(h["lrf"])
            hyp.momentum = try Fixture.double(h["momentum"])
            hyp.weightDecay = try Fixture.double(h["weight_decay"])
            hyp.warmupEpochs = try Fixture.double(h["warmup_epochs"])
            hyp.warmupMomentum = try Fixture.double(h["warmup_momentum"])
            hyp.warmupBiasLR = try Fixture.double(h["warmup_bias_lr"])
            let bs = try Fixture.int(run["batch_size"]), nbs = try Fixture.int(run["nbs"])
            let trace = try ScheduleTraces.warmup(hyp: hyp, epochs: try Fixture.int(run["epochs"]), nb: try Fixture.int(run["nb"]),
                                                  batchSize: bs, nbs: nbs, cosine: run["cos_lr"] as! Bool, lag: run["lag"] as! Bool)
            let rows = run["rows"] as! [[Any]]
            #expect(trace.rows.count == rows.count)
            for (mine, theirs) in zip(trace.rows, rows) {
                let expected = [try Fixture.double(theirs[0]), try Fixture.double(theirs[1])]
                    + (try (2...5).map { try Fixture.double(theirs[$0]) }) + [try Fixture.double(theirs[6])]
                #expect(mine.map(\.bitPattern) == expected.map(\.bitPattern), "\(trace.comments[0]): row \(mine) vs \(expected)")
            }
            let wd = YOLOv5Schedule.scaledWeightDecay(hyp.weightDecay, batchSize: bs, nominalBatchSize: nbs)
            #expect(wd.bitPattern == (try Fixture.double(run["weight_decay_scaled"])).bitPattern)
        }
    }

    /// SGD's trajectory is bit-identical to PyTorch's. Adam's differs only through PyTorch's
    /// float64 `sqrt`, which is not correctly rounded on this CPU (`adamStepReplay` proves that
    /// this is the only difference). Those 1-ulp seeds grow relative to values that oscillate
    /// through or converge to zero, so an element-wise relative error has no meaningful bound;
    /// Adam's trajectories are compared normwise: |a - e| / max_t |e_t| per parameter.
    @Test("SGD trajectories equal PyTorch bit for bit; Adam and AdamW within 1e-12 normwise")
    func optimizers() throws {
        for run in try Fixture.load("torch_optimizers")["runs"] as! [[String: Any]] {
            let kind = OptimizerKind(rawValue: run["kind"] as! String)!
            let o = run["options"] as! [String: Any]
            let trace = try ScheduleTraces.quadratic(kind, a: try Fixture.doubles(run["a"]), w0: try Fixture.doubles(run["w0"]),
                                                     group: try Self.group(kind, o), steps: try Fixture.int(run["steps"]))
            let rows = try (run["rows"] as! [[Any]]).map { try Fixture.doubles($0) }
            let mine = trace.rows.map { Array($0.dropFirst()) }
            if kind == .sgd {
                #expect(mine.flatMap { $0 }.map(\.bitPattern) == rows.flatMap { $0 }.map(\.bitPattern), "\(kind) \(o)")
                continue
            }
            for i in rows[0].indices {
                let expected = rows.map { $0[i] }, actual = mine.map { $0[i] }
                let scale = expected.map(abs).max()!
                let result = compare(actual, expected, tolerance: 1e-12, floor: scale, label: "\(kind) \(o) w\(i)")
                #expect(result.passes, "\(result)")
            }
        }
    }

    /// PyTorch's state before each step goes through HalfTrace's `AdamStep`; the outputs must be
    /// bit-identical, except where PyTorch's sqrt(v) is not the correctly rounded square root.
    @Test("one Adam/AdamW step from PyTorch's own state is bit-identical but for PyTorch's sqrt rounding")
    func adamStepReplay() throws {
        var sqrtDeviations = 0, compared = 0
        for run in try Fixture.load("torch_optimizers")["adam_replays"] as! [[String: Any]] {
            let kind = OptimizerKind(rawValue: run["kind"] as! String)!
            let g = try Self.group(kind, run["options"] as! [String: Any])
            for (t, row) in (run["rows"] as! [[Any]]).enumerated() {
                let v = try row.map { try Fixture.doubles($0) }
                let (p0, grad, m0, v0, p1, m1, v1, torchSqrt) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
                let k = AdamStep<Double>(lr: g.lr, beta1: g.momentum, beta2: g.beta2, eps: g.eps,
                                         weightDecay: g.weightDecay, decoupled: kind == .adamw, step: t + 1)
                for i in p0.indices {
                    var (p, m, s) = (p0[i], m0[i], v0[i])
                    k.apply(p: &p, grad: grad[i], m: &m, v: &s)
                    #expect(m.bitPattern == m1[i].bitPattern && s.bitPattern == v1[i].bitPattern, "step \(t + 1) element \(i): moments")
                    if torchSqrt[i] == v1[i].squareRoot() {
                        compared += 1
                        #expect(p.bitPattern == p1[i].bitPattern, "step \(t + 1) element \(i): \(p) vs PyTorch \(p1[i])")
                    } else {
                        sqrtDeviations += 1
                        #expect(abs(torchSqrt[i] - v1[i].squareRoot()) == v1[i].squareRoot().ulp, "PyTorch's sqrt is 1 ulp off")
                    }
                }
            }
        }
        #expect(compared > 3000 && sqrtDeviations < compared / 50, "\(compared) compared, \(sqrtDeviations) PyTorch sqrt deviations")
    }

    static func group(_ kind: OptimizerKind, _ o: [String: Any]) throws -> ParamGroup {
        let betas = try (o["betas"] as? [Any]).map { try Fixture.doubles($0) } ?? [0.9, 0.999]
        return ParamGroup(
            params: [], lr: try Fixture.double(o["lr"]),
            momentum: kind == .sgd ? ((try? Fixture.double(o["momentum"])) ?? 0) : betas[0],
            beta2: betas[1], dampening: (try? Fixture.double(o["dampening"])) ?? 0,
            weightDecay: (try? Fixture.double(o["weight_decay"])) ?? (kind == .adamw ? 0.01 : 0),
            nesterov: (o["nesterov"] as? Bool) ?? false, eps: (try? Fixture.double(o["eps"])) ?? 1e-8)
    }

    @Test("GradScaler with default rules equals torch.amp.GradScaler step for step, and fixes its NaN defect")
    func gradScaler() throws {
        for run in try Fixture.load("torch_gradscaler")["runs"] as! [[String: Any]] {
            let options = run["options"] as! [String: Any]
            var o = ScalerTraceOptions()
            o.steps = try Fixture.int(run["steps"])
            o.infSteps = (run["inf_steps"] as! [Any]).map { try! Fixture.int($0) }
            o.accumulate = try Fixture.int(run["accumulate"])
            o.gradient = try Fixture.double(run["finite_grad"])
            o.initScale = (try? Fixture.double(options["init_scale"])) ?? 65536
            o.growthFactor = (try? Fixture.double(options["growth_factor"])) ?? 2
            o.backoffFactor = (try? Fixture.double(options["backoff_factor"])) ?? 0.5
            o.growthInterval = (try? Fixture.int(options["growth_interval"])) ?? 2000
            var params: [[Double]] = []
            let trace = try ScalerTraces.run(o) { _, p in params.append(p) }
            let rows = run["rows"] as! [[Any]]
            for (k, (mine, theirs)) in zip(trace.rows, rows).enumerated() {
                let torchScale = try Fixture.double(theirs[1]), torchNext = try Fixture.double(theirs[4])
                let torchParams = try Fixture.doubles(theirs[6])
                // get_scale() returns the Python double init_scale until the Float32 scale exists.
                if torchParams.allSatisfy({ $0.isFinite }) {  // PyTorch is right until its parameters break
                    #expect(mine[1] == Double(Float(torchScale)) && mine[4] == torchNext, "step \(k): scale \(mine[1]) -> \(mine[4]), PyTorch \(torchScale) -> \(torchNext)")
                    #expect(Int(mine[2]) == (try Fixture.int(theirs[2])), "step \(k) found_inf")
                    #expect(Int(mine[5]) == (try Fixture.int(theirs[5])), "step \(k) growth tracker")
                    #expect(params[k] == torchParams, "step \(k) parameters \(params[k]) vs \(torchParams)")
                } else {
                    // PyTorch: 1/scale = inf, the finite step is not flagged and p becomes -inf.
                    #expect(Float(1 / Double(Float(torchScale))).isInfinite, "PyTorch breaks once 1/scale overflows")
                    #expect(params[k].allSatisfy { $0.isFinite }, "HalfTrace's parameters stay finite at step \(k): \(params[k])")
                    #expect(mine[2] == 1 && mine[3] == 1, "HalfTrace flags the step and skips it")
                }
            }
        }
    }
}
