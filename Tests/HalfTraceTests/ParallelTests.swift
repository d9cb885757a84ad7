import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceTestSupport
import HalfTraceTraining
import Synchronization
import Testing

/// How many times each index was visited, from any thread.
final class VisitCounts: Sendable {
    private let counts: Mutex<[Int]>
    init(_ n: Int) { counts = Mutex([Int](repeating: 0, count: n)) }
    func visit(_ i: Int) { counts.withLock { $0[i] += 1 } }
    var values: [Int] { counts.withLock { $0 } }
}

@Suite("Worker pool and step profile")
struct ParallelTests {
    @Test("Parallel.run runs every part of the split it reports exactly once, call after call, for up to 1 to 9 parts")
    func everyPartOnce() {
        for maxParts in 1...9 {
            for _ in 0..<300 {
                let counts = VisitCounts(maxParts), seen = VisitCounts(maxParts + 1)
                let parts = Parallel.run(maxParts: maxParts) { parts, part in
                    counts.visit(part)
                    seen.visit(parts)
                }
                #expect(parts == 1 || parts == maxParts, "the pool runs a region alone or split as asked (\(parts) of \(maxParts))")
                #expect(counts.values == [Int](repeating: 1, count: parts) + [Int](repeating: 0, count: maxParts - parts), "max \(maxParts)")
                #expect(seen.values[parts] == parts && seen.values.reduce(0, +) == parts, "every part saw the same split")
            }
        }
    }

    @Test("forEachRange covers 0..<count once, in contiguous ranges, at every thread limit")
    func rangesCover() {
        let minimum = Parallel.elementwiseMinimum
        for threads in [1, 2, 3] {
            for count in [0, 1, 2 * minimum - 1, 2 * minimum, 5 * minimum + 7] {
                let seen = VisitCounts(count)
                let ranges = GEMM.$maxThreads.withValue(threads) {
                    Parallel.mapRanges(count) { r in
                        for i in r { seen.visit(i) }
                        return r
                    }
                }
                #expect(seen.values.allSatisfy { $0 == 1 }, "threads \(threads), count \(count)")
                #expect(ranges.map { $0.count }.reduce(0, +) == count)
                #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                let expectedParts = count < 2 * minimum ? min(count, 1) : min(threads, count / minimum)
                // The pool runs a region split as asked or, when its worker cannot take a share, alone in one range.
                #expect([min(count, 1), expectedParts].contains(ranges.count), "threads \(threads), count \(count): \(ranges.count) ranges")
            }
        }
    }

    /// The wide model's activations (256 x 1024) are large enough for every parallel path: GEMM
    /// column and row splits, element-wise ranges, conversions, column sums and the optimizer.
    @Test("training steps of the wide model (3; debug builds 1) give the same bits on one thread or two",
          arguments: [Precision.fp32, .amp, .fp16, .bf16])
    func sameBitsOnOneOrTwoThreads(precision: Precision) {
        func parameters(threads: Int) -> [[Float]] {
            GEMM.$maxThreads.withValue(threads) {
                let h = Benchmark.StepHarness(model: .wide, precision: precision, seed: 5)
                for _ in 0..<BuildSize.pick(release: 3, debug: 1) { h.step() }
                return h.parameters.map(\.storage.floats)
            }
        }
        let one = parameters(threads: 1), two = parameters(threads: 2)
        #expect(one.count == two.count)
        for (i, (a, b)) in zip(one, two).enumerated() {
            if let j = firstBitDifference(a, b) {
                Issue.record("\(precision) parameter \(i) element \(j): \(a[j]) on one thread, \(b[j]) on two")
            }
        }
    }

    @Test("StepProfile attributes exclusive time: nested phases are not counted twice")
    func exclusiveTimes() {
        func spin(_ n: Int) -> Double { (0..<n).reduce(0.0) { $0 + Double($1).squareRoot() } }
        // Unbound: nothing is collected.
        let idle = StepProfile()
        _ = StepProfile.measure(.loss) { spin(1000) }
        #expect(idle.seconds.isEmpty)
        let profile = StepProfile()
        profile.record {
            _ = StepProfile.measure(.loss) { spin(200_000) + StepProfile.measure(.conversion) { spin(200_000) } }
        }
        let loss = profile.seconds[.loss] ?? 0, conversion = profile.seconds[.conversion] ?? 0
        #expect(loss > 0 && conversion > 0)
        #expect(loss + conversion <= profile.total)
        #expect(Set(profile.seconds.keys) == [.loss, .conversion])
    }

    @Test("bench --json carries the step split of every model and precision it ran")
    func benchSplit() {
        let report = Benchmark.run(seconds: 0.02, models: [.tiny, .mlp], precisions: [.fp32, .amp], stepsOnly: true)
        for model in ["tiny", "mlp"] {
            for precision in ["float32", "amp"] {
                let split = report.stepSplitMS[model]?[precision] ?? [:]
                for phase in ["forward_gemm_nt", "backward_gemm_tn", "elementwise", "loss", "optimizer", "other"] {
                    #expect(split[phase] != nil, "\(model) \(precision): no \(phase)")
                }
                #expect(split.values.allSatisfy { $0 >= 0 && $0.isFinite })
            }
            #expect(report.stepSplitMS[model]?["amp"]?["conversion"] ?? 0 > 0, "\(model) amp converts")
        }
        #expect(report.json.contains("\"step_split_ms\": {\"tiny\": {\"amp\": {"))
        #expect(report.gemmShapeGFLOPS["mlp.fc1.backward_nn 64x256x256"] ?? 0 > 0)
        #expect(report.gemmGFLOPS["float32"] ?? 0 > 0)
    }
}
