import HalfTraceAutograd
import HalfTraceNN
import HalfTraceOptim
import HalfTraceTraining
import HalfTraceReference
import HalfTraceTraces
import HalfTraceKernels
import HalfTraceTestSupport
import Testing

@Suite("Training with YOLOv5's recipe")
struct TrainerTests {
    static func run(_ configure: (inout TrainingConfig) -> Void) throws -> (Trainer, [IterationRecord], [EpochResult]) {
        var c = TrainingConfig()
        configure(&c)
        let t = try Trainer(config: c)
        var records: [IterationRecord] = [], results: [EpochResult] = []
        try t.run(onIteration: { records.append($0) }, onEpoch: { results.append($0) })
        return (t, records, results)
    }

    @Test("mlp on digits learns in float32 (validation accuracy >= 0.905, PyTorch's 0.92 - 1.5 points; snapshot: train loss < 0.01)", .enabled(if: BuildSize.isOptimized, BuildSize.releaseOnly))
    func mlpLearns() throws {
        let (_, _, results) = try Self.run { $0.model = .mlp }
        #expect(results.count == 30)
        // PyTorch's 0.92 is not recorded in Fixtures/ (no script, no file): the bound's source cannot be re-checked.
        #expect(results.last!.validationAccuracy >= 0.905, "\(results.last!.validationAccuracy)")
        // snapshot: the 0.01 loss bound came in with 94e9bdd (2026-11-26) without a derivation, so only from the engine's own runs: not an independent source.
        #expect(results.last!.trainLoss < 0.01)
    }

    @Test("amp and fp16 with the scaler learn too (fp16's 0.88 floor is a snapshot), and amp starts at 2^16 and backs off on real overflow", .enabled(if: BuildSize.isOptimized, BuildSize.releaseOnly))
    func mixedPrecisionLearns() throws {
        let (_, ampRecords, amp) = try Self.run { $0.model = .mlp; $0.precision = .amp }
        #expect(amp.last!.validationAccuracy >= 0.905, "\(amp.last!.validationAccuracy)")
        #expect(ampRecords.first!.scale == 65536)
        let skips = ampRecords.filter(\.skipped)
        #expect(!skips.isEmpty, "scaled gradients overflow float16 at 2^16")
        // Each skip halves the scale: the scale seen by the next batch.
        for s in skips {
            let next = ampRecords[s.iteration + 1]
            #expect(next.scale == s.scale / 2)
        }
        let (_, _, fp16) = try Self.run { $0.model = .mlp; $0.precision = .fp16 }
        // snapshot: 0.88 came in with 94e9bdd (2026-11-26) without a derivation, a margin under the engine's own fp16 accuracy: not an independent source.
        #expect(fp16.last!.validationAccuracy >= 0.88, "\(fp16.last!.validationAccuracy)")
    }

    @Test("digits with amp-bf16 (no scaler) ends within 1 point of fp32 validation accuracy, mean of seeds 0-4", .enabled(if: BuildSize.isOptimized, BuildSize.releaseOnly))
    func ampBF16MatchesFloat32() throws {
        func meanAccuracy(_ precision: Precision) throws -> Double {
            try (0..<5).map { seed in
                try Self.run { $0.model = .mlp; $0.precision = precision; $0.seed = UInt64(seed) }.2.last!.validationAccuracy
            }.reduce(0, +) / 5
        }
        let (fp32, ampBF16) = (try meanAccuracy(.fp32), try meanAccuracy(.ampBF16))
        #expect(abs(ampBF16 - fp32) <= 0.01, "fp32 \(fp32), amp-bf16 \(ampBF16)")
    }

    @Test("the scaler's default follows the precision: on for amp and fp16, off for amp-bf16 and bf16 unless asked, refused for fp32")
    func scalerDefaults() {
        func config(_ p: Precision, _ enabled: Bool?) -> TrainingConfig {
            var c = TrainingConfig()
            c.precision = p
            c.scaler.enabled = enabled
            return c
        }
        #expect([Precision.fp32, .amp, .ampBF16, .fp16, .bf16].map { config($0, nil).usesScaler } == [false, true, false, true, false])
        #expect(config(.bf16, true).usesScaler && config(.ampBF16, true).usesScaler && !config(.amp, false).usesScaler)
        #expect(throws: HalfTraceError.self) { try config(.fp32, true).validate() }
        #expect(throws: Never.self) { try config(.fp32, false).validate() }
    }

    @Test("the same configuration gives bit-identical records and weights, run after run")
    func deterministic() throws {
        for precision in Precision.allCases {
            let (t1, r1, e1) = try Self.run { $0.model = .tiny; $0.epochs = 3; $0.precision = precision }
            let (t2, r2, e2) = try Self.run { $0.model = .tiny; $0.epochs = 3; $0.precision = precision }
            #expect(r1 == r2 && e1 == e2, "\(precision)")
            #expect(zip(t1.model.parameters, t2.model.parameters).allSatisfy { $0.storage == $1.storage })
        }
    }

    @Test("wiring only: the trainer's per-iteration lr, momentum and accumulate are the warm-up trace's (both drive YOLOv5Schedule)")
    func recipeMatchesWarmupTrace() throws {
        let (t, records, _) = try Self.run { $0.model = .tiny; $0.epochs = 10 }
        let trace = try ScheduleTraces.warmup(hyp: t.config.hyp, epochs: 10, nb: t.batchesPerEpoch, batchSize: 16, nbs: 64,
                                              cosine: false, lag: false)
        #expect(records.count == trace.rows.count)
        for (r, row) in zip(records, trace.rows) {
            #expect([Double(r.iteration), Double(r.epoch), r.lrBias, r.lrWeight, r.lrNorm, r.momentum[1], Double(r.accumulate)] == row)
        }
    }

    @Test("optimizer steps happen exactly when ni - last_opt_step >= accumulate, accumulate from YOLOv5's formula")
    func accumulationWindows() throws {
        let (t, records, _) = try Self.run { $0.model = .tiny; $0.epochs = 12 }
        let nw = Reference.warmupIterations(warmupEpochs: 3, nb: t.batchesPerEpoch)
        var last = -1, steps = 0
        for r in records {
            let accumulate = Reference.accumulate(ni: r.iteration, nw: nw, nbs: 64, batchSize: 16)
            #expect(r.accumulate == accumulate, "iteration \(r.iteration)")
            let due = r.iteration - last >= accumulate
            #expect(r.optimizerStep == due, "iteration \(r.iteration)")
            if due { last = r.iteration; steps += 1 }
        }
        #expect(records.last!.accumulate == 4, "batch 16, nbs 64")
        #expect(steps < records.count / 2, "accumulation spans several batches after warm-up")
    }

    @Test("bad configurations are refused with the field's name")
    func validation() {
        var c = TrainingConfig()
        c.epochs = 0
        #expect(throws: HalfTraceError.self) { try Trainer(config: c) }
        c = TrainingConfig()
        c.hyp.lr0 = .nan
        #expect { try Trainer(config: c) } throws: { ($0 as? HalfTraceError)?.field == "hyp.lr0" }
        c = TrainingConfig()
        c.scaler.growthFactor = 1
        #expect { try Trainer(config: c) } throws: { ($0 as? HalfTraceError)?.field == "scaler.growth_factor" }
        c = TrainingConfig()
        c.digitsPath = "/nonexistent.csv"
        #expect(throws: HalfTraceError.self) { try Trainer(config: c) }
    }
}
