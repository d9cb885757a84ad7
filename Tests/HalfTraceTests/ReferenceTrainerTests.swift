import Foundation
import HalfTraceKernels
import HalfTraceReference
import HalfTraceTraces
import Testing

/// The Float64 reference trainer checks the real Trainer; these tests check the reference against
/// sources of its own: central differences of its forward pass, Swift's own binary16 conversion,
/// and properties its scenarios must have to prove anything.
@Suite("Float64 reference trainer")
struct ReferenceTrainerTests {
    static func randomNetwork(seed: UInt64, inputs d: Int = 5, hidden h: Int = 4, classes c: Int = 3) -> [[Double]] {
        var rng = SplitMix64(seed: seed)
        return [d * h, h, h, h, c * h, c].map { n in (0..<n).map { _ in rng.nextUniform(-1, 1) } }
    }

    /// Central differences carry an absolute error of order h^2 times the third derivative plus
    /// eps f / h on the scale of the whole gradient, so each element is measured against
    /// max(|its value|, 1e-3 * the largest element of its tensor), with 1e-6, as `gradientCheck`
    /// measures the engine's ops.
    @Test("the hand-written gradient equals central differences of the forward pass (error < 1e-6)", arguments: [UInt64(1), 2, 3])
    func gradientMatchesFiniteDifferences(seed: UInt64) {
        let (d, h, c) = (5, 4, 3)
        var p = Self.randomNetwork(seed: seed)
        p[2] = p[2].map { $0 + 1.5 }  // a LayerNorm weight away from 0
        var rng = SplitMix64(seed: seed + 100)
        let rows = (0..<6).map { _ in ((0..<d).map { _ in rng.nextUniform(0, 1) }, rng.nextIndex(below: c)) }
        func loss(_ q: [[Double]]) -> Double {
            Reference.batchGradient(q, rows: rows, inputs: d, hidden: h, classes: c, epsilon: 1e-5, scale: 1).lossSum
        }
        let analytic = Reference.batchGradient(p, rows: rows, inputs: d, hidden: h, classes: c, epsilon: 1e-5, scale: 2.5).gradient
        var worst = 0.0, at = ""
        let step = 1e-6
        for k in p.indices {
            for q in p[k].indices {
                var plus = p, minus = p
                plus[k][q] += step
                minus[k][q] -= step
                let numeric = 2.5 * (loss(plus) - loss(minus)) / (2 * step)
                let largest = analytic[k].map(abs).max()!
                let error = abs(analytic[k][q] - numeric) / max(abs(analytic[k][q]), abs(numeric), 1e-3 * largest, 1e-12)
                if error > worst { (worst, at) = (error, "\(Reference.networkTensors[k])[\(q)]") }
            }
        }
        #expect(worst < 1e-6, "worst relative error \(worst) at \(at)")
    }

    @Test("binary16 rounding agrees with Swift's Float16(Double) on 300,000 values, ties, boundaries and specials")
    func binary16MatchesFloat16() {
        var rng = SplitMix64(seed: 7)
        var values: [Double] = [0, -0.0, 65504, 65519.99, 65520, -65520, 65536, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-14, 6.0e-8,
                                2049, 2051, 1 + 0x1p-11, 1 + 0x1p-11 + 0x1p-40, .greatestFiniteMagnitude, .infinity, -.infinity]
        for _ in 0..<300_000 {
            let exponent = Double(rng.nextIndex(below: 50)) - 30
            values.append((rng.nextUniform(-1, 1)) * Double.pow(2, exponent))
        }
        let bad = values.filter { Reference.binary16($0) != Double(Float16($0)) }
        #expect(bad.isEmpty, "\(bad.count) differ, e.g. \(bad.prefix(3)): \(bad.prefix(3).map(Reference.binary16)) vs \(bad.prefix(3).map { Double(Float16($0)) })")
    }

    /// The reference run of a golden scenario (what its formula columns hold).
    static func golden(_ name: String) throws -> GoldenFile {
        let path = GoldenTests.golden + "/" + name + ".csv"
        return try GoldenFile.parse(try String(contentsOfFile: path, encoding: .utf8), path: path)
    }

    @Test("the reference scenarios exercise what they claim: clipping on some steps, accumulate 1 to 4, partial windows, restarts")
    func scenariosExerciseTheRecipe() throws {
        let linear = try Self.golden("reference_sgd_linear")
        let steps = zip(linear.column("optimizer_step")!, linear.column("grad_norm")!).filter { $0.0 == 1 }.map(\.1)
        #expect(steps.contains { $0 > 10 } && steps.contains { $0 <= 10 }, "clipping active on some steps only")
        #expect(Set(linear.column("accumulate")!) == [1, 2, 3, 4])
        let b24 = try Self.golden("reference_sgd_onecycle_b24")
        #expect(b24.column("weight_decay")!.allSatisfy { $0 == 0.0005 * 1.125 }, "decay x bs * accumulate / nbs = 24 * 3 / 64")
        // A window still open at an epoch's end is dropped by the next epoch's zero_grad.
        let nb = 10
        let epochEnds = b24.rows.indices.filter { ($0 + 1) % nb == 0 }
        let open = epochEnds.filter { end in b24.rows[end][b24.columns.firstIndex { $0.name == "optimizer_step" }!] == 0 }
        #expect(open.count >= 5, "partial windows at \(open.count) epoch ends")
        let sgdr = try Self.golden("reference_sgdr")
        let lr = sgdr.column("lr_weight")!
        let jumps = lr.indices.dropFirst().filter { lr[$0] > lr[$0 - 1] * 1.5 }
        #expect(jumps.map { $0 / 15 }.contains(9) && jumps.map { $0 / 15 }.contains(21), "restarts at epochs 9 and 21: \(jumps)")
    }

    @Test("the amp scenario's scale grows and backs off during training, and every overflow decision is far from the threshold")
    func scalerScenario() throws {
        let amp = try Self.golden("reference_amp_scaler")
        let scale = amp.column("scale")!, skipped = amp.column("skipped")!
        #expect(zip(scale, scale.dropFirst()).contains { $1 > $0 } && zip(scale, scale.dropFirst()).contains { $1 < $0 })
        #expect(skipped.filter { $0 == 1 }.count >= 4)
        #expect(Set(scale).count >= 3)
    }
}
