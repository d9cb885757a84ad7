import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTraces
import Testing

@Suite("Schedules: interp, LambdaLR, SGDR, YOLOv5 warm-up, warm-up with restarts")
struct ScheduleTests {
    @Test("the document's interp example gives [3, 4, 7, 10, 11]; bad knots are errors")
    func interpExample() throws {
        let f = try Interpolation(xp: [1, 2, 3, 4, 5], fp: [3, 5, 7, 9, 11])
        #expect([0, 1.5, 3, 4.5, 6].map { f($0) } == [3, 4, 7, 10, 11])
        #expect(try interp(299, [0, 300], [0.1, 0.01]) == 0.010300000000000004, "NumPy's evaluation order (compiled_base.c: slope * (x - xp[j]) + fp[j])")
        #expect(throws: Interpolation.Failure.emptyKnots) { try Interpolation(xp: [], fp: []) }
        #expect(throws: Interpolation.Failure.lengthMismatch(xp: 2, fp: 1)) { try Interpolation(xp: [0, 1], fp: [1]) }
        #expect(throws: Interpolation.Failure.decreasing(index: 2, previous: 2, value: 1)) { try Interpolation(xp: [0, 2, 1], fp: [1, 2, 3]) }
        #expect(f(.nan).isNaN)
    }

    @Test("round half to even as Python: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4, -2.5 -> -2")
    func halfEven() {
        #expect([0.5, 1.5, 2.5, 3.5, -2.5, 2.4999999999999996].map(roundHalfEven) == [0, 2, 2, 4, -2, 2])
    }

    @Test("the accumulate ramp's half-even steps (bs 16, nw 300): 2 at 50, 2 at 150, 3 at 151, 4 at 250")
    func accumulateRamp() throws {
        var hyp = ScheduleHyperparameters()
        hyp.warmupEpochs = 3
        let optimizer = try yolov5Optimizer(.sgd, biases: [], weights: [], normWeights: [], hyp: hyp, batchSize: 16, nominalBatchSize: 64)
        var w = try YOLOv5Schedule(optimizer: optimizer, hyp: hyp, epochs: 10, batchesPerEpoch: 100, batchSize: 16)
        #expect(w.warmupIterations == 300)
        var got: [Int: Int] = [:]
        for ni in 0...300 {
            w.beforeBatch(iteration: ni, epoch: ni / 100, batch: ni % 100, optimizer: optimizer)
            got[ni] = w.accumulate
        }
        #expect([got[50], got[150], got[151], got[250], got[300]] == [2, 2, 3, 4, 4])
        #expect(YOLOv5Schedule.scaledWeightDecay(0.0005, batchSize: 24, nominalBatchSize: 64) == 0.0005 * (72.0 / 64))
    }

    @Test("warm-up is continuous at ni = nw and hands over to lr0 * lf(epoch)", arguments: [false, true])
    func warmupContinuity(cosine: Bool) throws {
        let hyp = ScheduleHyperparameters()
        let t = try ScheduleTraces.warmup(hyp: hyp, epochs: 10, nb: 24, batchSize: 16, nbs: 64, cosine: cosine, lag: false)
        let nw = 100
        let lf = try YOLOv5Multiplier(cosine: cosine, epochs: 10, lrf: hyp.lrf)
        for group in 2...4 {
            let at = t.rows[nw][group], after = t.rows[nw + 1][group], before = t.rows[nw - 1][group]
            #expect(at == hyp.lr0 * lf(4), "ni = nw reaches the target exactly")
            #expect(after == at, "the rest of the epoch keeps the warm-up's last value")
            #expect(abs(at - before) < 0.1 / 100 + 1e-12, "one warm-up step, no jump")
        }
        #expect(t.rows[nw][5] == hyp.momentum)
    }

    @Test("yolov5Lag: after warm-up epoch e trains at lf(e - 1); the formula at lf(e)")
    func lag() throws {
        let hyp = ScheduleHyperparameters()
        let formula = try ScheduleTraces.warmup(hyp: hyp, epochs: 10, nb: 24, batchSize: 16, nbs: 64, cosine: false, lag: false)
        let lagged = try ScheduleTraces.warmup(hyp: hyp, epochs: 10, nb: 24, batchSize: 16, nbs: 64, cosine: false, lag: true)
        let lf = try LinearSchedule(epochs: 10, lrf: hyp.lrf)
        for e in 5..<10 {
            #expect(formula.rows[e * 24][3] == hyp.lr0 * lf(Double(e)))
            #expect(lagged.rows[e * 24][3] == hyp.lr0 * lf(Double(e - 1)))
        }
        #expect(lagged.rows.last![3] > hyp.lr0 * hyp.lrf, "lrf is never reached with the lag")
    }

    @Test("SGDR validation names the parameter, the value and the range")
    func sgdrValidation() {
        #expect { try CosineWarmRestarts(baseLRs: [0.1], t0: 0) } throws: { "\($0)" == "T_0: Expected positive integer T_0, but got 0" }
        #expect { try CosineWarmRestarts(baseLRs: [0.1], t0: 5, tMult: 0) } throws: { "\($0)" == "T_mult: Expected integer T_mult >= 1, but got 0" }
        #expect { try CosineWarmRestarts(baseLRs: [0.1], t0: 5, etaMin: .nan) } throws: { ($0 as? HalfTraceError)?.field == "eta_min" }
        #expect { try CosineWarmRestarts(baseLRs: [-1], t0: 5) } throws: { ($0 as? HalfTraceError)?.field == "base_lrs[0]" }
        var s = try! CosineWarmRestarts(baseLRs: [0.1], t0: 5)
        #expect { try s.step(epoch: -1) } throws: { "\($0)" == "epoch: Expected non-negative epoch, but got -1.0" }
        #expect(throws: HalfTraceError.self) { try s.step(epoch: .infinity) }
    }

    static let sgdrCases: [(Int, Int)] = [(1, 1), (1, 2), (1, 3), (1, 10), (2, 2), (3, 3), (5, 10), (7, 3), (10, 2), (4, 1)]

    @Test("SGDR properties: restarts at T_0 (T_mult^n - 1)/(T_mult - 1), lr within [eta_min, base], step() == step(epoch:)",
          arguments: sgdrCases)
    func sgdrProperties(t0: Int, tMult: Int) throws {
        let base = 0.1, etaMin = 0.001
        var plain = try CosineWarmRestarts(baseLRs: [base], t0: t0, tMult: tMult, etaMin: etaMin)
        var restarts: Set<Int> = [], start = 0, length = t0
        while start <= 5000 { restarts.insert(start); start += length; length *= tMult }
        for e in 0...3000 {
            if e > 0 { plain.step() }
            var jumped = try CosineWarmRestarts(baseLRs: [base], t0: t0, tMult: tMult, etaMin: etaMin)
            try jumped.step(epoch: Double(e))
            let lr = jumped.learningRates[0]
            #expect(lr == plain.learningRates[0], "T_0=\(t0) T_mult=\(tMult) epoch \(e): step(epoch:) \(lr) vs step() \(plain.learningRates[0])")
            #expect(lr >= etaMin && lr <= base)
            #expect((lr == base) == restarts.contains(e), "epoch \(e): restart iff lr == base")
        }
    }

    @Test("fractional epochs: T_cur carries the fraction; step() after step(epoch: 4.5) keeps the phase (as PyTorch)")
    func fractional() throws {
        var s = try CosineWarmRestarts(baseLRs: [1], t0: 10, tMult: 2)
        try s.step(epoch: 4.5)
        #expect(s.tCur == 4.5 && s.tI == 10)
        s.step()
        #expect(s.tCur == 5.5 && s.lastEpoch == 5)
        try s.step(epoch: 31.25)
        #expect(s.tCur == 1.25 && s.tI == 40)
    }

    @Test("warm-up + restarts: plain settings equal SGDR bit for bit; decay, re-warm-up and limit follow their formulas")
    func cosineRestarts() throws {
        let plain = try SGDRSchedule(baseLR: 0.1, etaMin: 0.001, t0: 3, tMult: 2)
        var sgdr = try CosineWarmRestarts(baseLRs: [0.1], t0: 3, tMult: 2, etaMin: 0.001)
        for k in 0..<500 {
            let e = Double(k) / 4
            try sgdr.step(epoch: e)
            #expect(plain(e) == sgdr.learningRates[0])
        }
        let s = try Warmup(epochs: 2, startLR: 0, try SGDRSchedule(baseLR: 0.1, etaMin: 0.001, t0: 3, tMult: 2, cycleDecay: 0.5,
                                                                    restartWarmup: 1, cycleLimit: 3))
        #expect(s(0) == 0 && s(1) == 0.05 && s(2) == 0.1, "linear warm-up to the first peak")
        // cycles start at 2 + 0, 3, 9, 21 (after the 2-epoch warm-up)
        #expect(s(2 + 3) == 0.001, "restart: re-warm-up starts at eta_min")
        #expect(abs(s(2 + 3.5) - (0.001 + (0.05 - 0.001) * 0.5)) < 1e-15, "halfway up to the decayed peak 0.1 * 0.5")
        #expect(s(2 + 4) == 0.05, "the decayed peak after the re-warm-up")
        #expect(s(2 + 9 + 1) == 0.025, "third cycle peak: 0.1 * 0.5^2")
        #expect(s(2 + 21) == 0.001 && s(2 + 1000) == 0.001, "after the cycle limit: eta_min")
        for k in 0..<4000 {
            let v = s(Double(k) / 40)
            #expect(v >= 0 && v <= 0.1)
        }
        #expect(throws: HalfTraceError.self) { try SGDRSchedule(baseLR: 0.1, t0: 3, restartWarmup: 3) }
        #expect(throws: HalfTraceError.self) { try SGDRSchedule(baseLR: 0.1, t0: 3, cycleDecay: 1.5) }
    }

    @Test("LambdaLR: the constructor's step gives lf(0); each step recomputes initial_lr * lf(last_epoch)")
    func lambdaLR() throws {
        let optimizer = try SGD(groups: [ParamGroup(params: [], lr: 0.02), ParamGroup(params: [], lr: 0.01)])
        var s = LambdaLR(optimizer: optimizer, lambda: try LinearSchedule(epochs: 10, lrf: 0.1))
        #expect(optimizer.groups.map(\.lr) == [0.02 * 1, 0.01 * 1])
        optimizer.groups[0].lr = 123  // a schedule never reads the current lr
        s.step(optimizer)
        #expect(optimizer.groups[0].lr == 0.02 * ((1 - 1.0 / 10) * (1 - 0.1) + 0.1))
    }
}
