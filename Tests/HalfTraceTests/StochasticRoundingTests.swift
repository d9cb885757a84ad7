import Foundation
import HalfTraceAutograd
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTraining
import Testing

/// The two neighbours of a positive finite value in a 16-bit format, by binary search over the
/// format's positive patterns (values grow with the pattern), in Double: independent of the bit
/// trick and of `nextUp` the implementation uses.
private func neighbours(_ x: Double, largest: UInt16, value: (UInt16) -> Double) -> (lower: UInt16, upper: UInt16) {
    var lo: UInt16 = 0, hi = largest  // value(lo) <= x < value(hi)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2
        if value(mid) <= x { lo = mid } else { hi = mid }
    }
    return (lo, hi)
}

@Suite("stochastic rounding of 16-bit weights")
struct StochasticRoundingTests {
    static func bfloat16Value(_ p: UInt16) -> Double { Double(Float(bitPattern: UInt32(p) << 16)) }
    static func float16Value(_ p: UInt16) -> Double { Double(Float16(bitPattern: p)) }

    /// Values inside binades, at the edge of a binade, subnormal, negative and tiny.
    static let samples: [Float] = [1 + 0x1p-9, 1.5 + 0x1p-10, 1.999, -3.14159, 0x1p-130 * 1.3, 7e-3, -0.1, 3e4 + 0.37, 2e-6]

    @Test("bfloat16: over all 2^16 random halves, the value rounds up exactly (x - lower) / (upper - lower) of the time, to one of its two neighbours")
    func bfloat16Expectation() {
        for x in Self.samples {
            let (lower, upper) = neighbours(Double(x.magnitude), largest: 0x7F80, value: Self.bfloat16Value)
            var ups = 0
            for r in 0..<65_536 {
                let b = StochasticRounding.bfloat16(x, random: UInt64(r)).bitPattern & 0x7FFF
                #expect(b == lower || b == upper, "\(x) rounded to pattern \(b), neither neighbour \(lower) nor \(upper)")
                if b == upper { ups += 1 }
            }
            let p = (Double(x.magnitude) - Self.bfloat16Value(lower)) / (Self.bfloat16Value(upper) - Self.bfloat16Value(lower))
            #expect(Double(ups) == p * 65_536, "\(x): \(ups) of 65,536 rounded up; the exact share is \(p)")
        }
        for exact: Float in [1, -2.5, 0, 0x1p-133, 3.3895314e38] {
            #expect(StochasticRounding.bfloat16(exact, random: 0xFFFF).float == exact, "\(exact) is a bfloat16 and stays itself")
        }
        #expect(StochasticRounding.bfloat16(.infinity, random: 0xFFFF).float == .infinity)
        #expect(StochasticRounding.bfloat16(.nan, random: 0).isNaN)
    }

    @Test("float16: 4,096 evenly spaced draws round up p * 4,096 times (within the grid's 1), to one of the two neighbours")
    func float16Expectation() {
        for x in Self.samples where x.magnitude < 65_504 {
            let (lower, upper) = neighbours(Double(x.magnitude), largest: 0x7C00, value: Self.float16Value)
            var ups = 0
            for k in 0..<4_096 {
                let h = StochasticRounding.float16(x, random: UInt64(k * 4_096 + 2_048) << 40)
                let b = h.bitPattern & 0x7FFF
                #expect(b == lower || b == upper, "\(x) rounded to pattern \(b), neither neighbour \(lower) nor \(upper)")
                if b == upper { ups += 1 }
            }
            let exactValue = Self.float16Value(lower) == Double(x.magnitude)
            let p = exactValue ? 0 : (Double(x.magnitude) - Self.float16Value(lower)) / (Self.float16Value(upper) - Self.float16Value(lower))
            #expect(abs(Double(ups) - p * 4_096) <= 1, "\(x): \(ups) of 4,096 rounded up; the exact share is \(p)")
        }
        #expect(StochasticRounding.float16(70_000, random: 0) == .infinity, "beyond float16's range: infinity, as round to nearest")
        #expect(StochasticRounding.float16(0.5, random: .max) == 0.5)
    }

    /// SGD on 65,536 bfloat16 weights at 1.5 with an update of +2^-10, an eighth of bfloat16's
    /// unit in the last place there (2^-7).
    private func smallUpdate(_ rounding: WeightRounding, threads: Int = GEMM.defaultThreadCount) throws -> ([UInt16], WeightUpdateCounter) {
        let n = 65_536
        let p = Tensor(storage: .bfloat16([BFloat16](repeating: BFloat16(1.5), count: n)), shape: [n], requiresGrad: true)
        p.grad = Tensor(storage: .bfloat16([BFloat16](repeating: BFloat16(Float(-0x1p-10)), count: n)), shape: [n])
        let sgd = try SGD(groups: [ParamGroup(params: [p], lr: 1)])
        sgd.weightRounding = rounding
        let counter = WeightUpdateCounter()
        GEMM.$maxThreads.withValue(threads) { WeightUpdateCounter.$current.withValue(counter) { sgd.step() } }
        guard case .bfloat16(let v) = p.storage else { Issue.record("the weights left bfloat16"); return ([], counter) }
        return (v.map(\.bitPattern), counter)
    }

    @Test("an update under half an ulp: round to nearest loses all of it, stochastic rounding keeps it in expectation")
    func optimizerUpdate() throws {
        let (nearest, lost) = try smallUpdate(.nearest)
        #expect(Set(nearest) == [BFloat16(1.5).bitPattern], "round to nearest leaves every weight at 1.5")
        #expect(lost.elements == 65_536 && lost.changed == 65_536 && lost.stalled == 65_536,
                "counted \(lost.stalled) stalled of \(lost.changed) changed, \(lost.elements) elements")

        let (stochastic, kept) = try smallUpdate(.stochastic(seed: 7))
        let up = BFloat16(Float(1.5 + 0x1p-7)).bitPattern
        #expect(Set(stochastic) == [BFloat16(1.5).bitPattern, up])
        let ups = stochastic.filter { $0 == up }.count
        // Binomial(65,536, 1/8): mean 8,192, standard deviation 84.7; 5 standard deviations.
        #expect(abs(ups - 8_192) <= 424, "\(ups) of 65,536 weights rounded up; 8,192 expected")
        #expect(kept.stalled == 65_536 - ups && kept.changed == 65_536)

        let (again, _) = try smallUpdate(.stochastic(seed: 7), threads: 1)
        #expect(again == stochastic, "the same seed gives the same bits on one thread as on two")
        let (other, _) = try smallUpdate(.stochastic(seed: 8))
        #expect(other != stochastic, "another seed draws other bits")
    }

    /// Two epochs of a small detector (32 px, 8 images, batches of 4, so 4 optimizer steps with
    /// nbs 8) in `precision`; each epoch's results.csv row.
    private func detectorRows(_ precision: Precision, stochastic: Bool) throws -> [DetectorEpoch] {
        var config = DetectorConfig()
        (config.imageSize, config.batchSize, config.nominalBatchSize, config.epochs, config.widths, config.autoAnchor) = (32, 4, 8, 2, [8, 8, 16, 16], false)
        (config.precision, config.stochasticRounding, config.hyp.warmupEpochs) = (precision, stochastic, 0)
        let data = SyntheticShapes.make(train: 8, validation: 2, size: 32, seed: 3)
        var rows: [DetectorEpoch] = []
        try DetectorTrainer(config: config, data: data).run(onEpoch: { rows.append($0) })
        return rows
    }

    @Test("the detector in bf16: stochastic rounding stalls fewer updates than round to nearest, reproducibly; float32 weights stall none")
    func detectorStalledUpdates() throws {
        let nearest = try detectorRows(.bf16, stochastic: false), stochastic = try detectorRows(.bf16, stochastic: true)
        for (n, s) in zip(nearest, stochastic) {
            #expect(n.stalledFraction > 0 && s.stalledFraction < n.stalledFraction,
                    "epoch \(n.epoch): stalled \(s.stalledFraction) with stochastic rounding, \(n.stalledFraction) to nearest")
        }
        #expect(try detectorRows(.bf16, stochastic: true) == stochastic, "the same run again gives the same rows")
        #expect(try detectorRows(.fp32, stochastic: false).map(\.stalledFraction) == [0, 0])
        #expect(throws: HalfTraceError.self) { try detectorRows(.ampBF16, stochastic: true) }
    }
}
