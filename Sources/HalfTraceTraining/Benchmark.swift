import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim

/// The figures `halftrace bench` prints, all measured in one run on this machine.
public struct BenchmarkReport: Sendable {
    /// Training steps per second (zero grad, forward, loss, backward, SGD step) per model and precision.
    public var stepsPerSecond: [String: [String: Double]] = [:]
    /// GEMM GFLOP/s for 1024 x 1024 x 1024 in float32, float16 and bfloat16 storage.
    public var gemmGFLOPS: [String: Double] = [:]
    /// 16-bit <-> Float32 conversion throughput in G elements per second: to_float16 and
    /// to_float32 (from float16), to_bfloat16 and bfloat16_to_float32.
    public var conversionGElementsPerSecond: [String: Double] = [:]
    /// Bytes of tensor storage one training step touches, per model and precision.
    public var bytesPerStep: [String: [String: Int]] = [:]
    /// Extra keys (e.g. schedule evaluation rate) added by later work.
    public var extra: [String: Double] = [:]
    public var isa: String = KernelISA.best.description
    public var threads: Int = GEMM.defaultThreadCount
}

public enum Benchmark {
    /// Times `body` repeatedly for about `seconds` (after `warmup` calls); returns calls per second.
    public static func rate(seconds: Double, warmup: Int = 3, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        let clock = ContinuousClock()
        var calls = 0
        let start = clock.now
        var elapsed = 0.0
        repeat {
            for _ in 0..<max(1, calls / 8 + 1) { body(); calls += 1 }
            elapsed = (clock.now - start).seconds
        } while elapsed < seconds
        return Double(calls) / elapsed
    }

    /// One training step of a toy model on a fixed random batch, as `torch_bench.py` runs it:
    /// fp32, fp16, bf16 and amp-bf16 step plainly; amp steps through a GradScaler.
    public final class StepHarness {
        let model: MLP
        let optimizer: SGD
        let x: Tensor
        let labels: [Int]
        let loss: LossKind
        let precision: Precision
        let scaler: GradScaler?

        public init(model kind: ToyModel, precision: Precision, seed: UInt64 = 0) {
            var rng = SplitMix64(seed: seed)
            model = kind.makeModel(dtype: precision.parameterDType, seed: seed)
            let b = kind.batchSize, d = kind.sizes[0]
            x = Tensor((0..<(b * d)).map { _ in rng.nextNormal() }, shape: [b, d], dtype: precision.parameterDType)
            let classes = kind.loss == .binaryCrossEntropy ? 2 : kind.sizes.last!
            labels = (0..<b).map { _ in rng.nextIndex(below: classes) }
            loss = kind.loss
            self.precision = precision
            optimizer = try! SGD(groups: [ParamGroup(params: model.parameters, lr: 0.01, momentum: 0.937,
                                                     weightDecay: 5e-4, nesterov: true)])
            scaler = precision == .amp ? try! GradScaler() : nil  // fp16 steps plainly, as torch_bench.py's
        }

        /// Returns the loss tensor of the step (graph still attached) for measurements.
        @discardableResult
        public func step() -> Tensor {
            optimizer.zeroGrad()
            let l = precision.scope { loss(model(x), labels: labels) }
            if let scaler {
                scaler.scale(l).backward()
                _ = try! scaler.step(optimizer)
                try! scaler.update()
            } else {
                l.backward()
                optimizer.step()
            }
            return l
        }

        /// Bytes of tensor storage the step touches: every tensor of the graph (inputs,
        /// activations, parameters), one gradient per graph tensor in its dtype, and the
        /// optimizer's momentum buffers.
        public func bytesPerStep() -> Int {
            let l = step()
            let nodes = l.graphNodes
            let graph = nodes.reduce(0) { $0 + $1.storage.byteCount }
            let gradients = graph
            let buffers = optimizer.parameterStates.reduce(0) { $0 + ($1.first?.byteCount ?? 0) }
            return graph + gradients + buffers
        }
    }

    public static func run(seconds: Double = 1.0, models: [ToyModel] = ToyModel.allCases,
                           precisions: [Precision] = [.fp32, .fp16, .amp, .bf16, .ampBF16], progress: (String) -> Void = { _ in }) -> BenchmarkReport {
        var report = BenchmarkReport()
        for kind in models {
            for precision in precisions {
                progress("steps/s \(kind.rawValue) \(precision.rawValue)")
                let h = StepHarness(model: kind, precision: precision)
                let rate = Benchmark.rate(seconds: seconds) { h.step() }
                report.stepsPerSecond[kind.rawValue, default: [:]][precision.dtypeKey] = rate
                report.bytesPerStep[kind.rawValue, default: [:]][precision.dtypeKey] = h.bytesPerStep()
            }
        }
        progress("gemm")
        for dtype in [DType.float32, .float16, .bfloat16] {
            var rng = SplitMix64(seed: 1)
            let n = 1024
            let a = Tensor((0..<(n * n)).map { _ in rng.nextNormal() }, shape: [n, n], dtype: dtype)
            let b = Tensor((0..<(n * n)).map { _ in rng.nextNormal() }, shape: [n, n], dtype: dtype)
            let rate = Benchmark.rate(seconds: seconds, warmup: 2) { _ = a.matmul(b) }
            report.gemmGFLOPS[dtype.rawValue] = rate * 2 * Double(n * n * n) / 1e9
        }
        progress("conversion")
        report.conversionGElementsPerSecond = conversionRates(seconds: seconds)
        progress("schedules")
        report.extra["schedule_million_points_seconds"] = scheduleSeconds()
        return report
    }
}

extension Benchmark {
    /// Conversion throughput (G elements/s) both ways for float16 and bfloat16, on 2^16
    /// elements (256 KiB of Float32, in L2 cache: the kernel's rate, not the memory's; at 2^20
    /// elements every path runs at the memory bandwidth, about 3.7 G elements/s here).
    static func conversionRates(seconds: Double, count: Int = 1 << 16) -> [String: Double] {
        var rng = SplitMix64(seed: 2)
        let floats = (0..<count).map { _ in Float(rng.nextNormal()) }
        var back = [Float](repeating: 0, count: count)
        var halves = [Float16](repeating: 0, count: count)
        var brains = [BFloat16](repeating: BFloat16(bitPattern: 0), count: count)
        func rate(_ body: () -> Void) -> Double { Benchmark.rate(seconds: seconds, body) * Double(count) / 1e9 }
        return [
            "to_float16": rate { floats.withUnsafeBufferPointer { s in halves.withUnsafeMutableBufferPointer { HalfConversion.narrow(s, into: $0) } } },
            "to_float32": rate { halves.withUnsafeBufferPointer { s in back.withUnsafeMutableBufferPointer { HalfConversion.widen(s, into: $0) } } },
            "to_bfloat16": rate { floats.withUnsafeBufferPointer { s in brains.withUnsafeMutableBufferPointer { BFloat16Conversion.narrow(s, into: $0) } } },
            "bfloat16_to_float32": rate { brains.withUnsafeBufferPointer { s in back.withUnsafeMutableBufferPointer { BFloat16Conversion.widen(s, into: $0) } } },
        ]
    }

    /// Seconds to evaluate a million schedule points: SGDR stepped to a million fractional epochs
    /// (the stateful object, exact cycle indexing) and a million points of warm-up + restarts.
    static func scheduleSeconds() -> Double {
        let clock = ContinuousClock()
        var sink = 0.0
        let t = clock.measure {
            var s = try! CosineWarmRestarts(baseLRs: [0.1], t0: 10, tMult: 2)
            for i in 0..<500_000 {
                try! s.step(epoch: Double(i) / 100)
                sink += s.learningRates[0]
            }
            let w = try! Warmup(epochs: 5, try! SGDRSchedule(baseLR: 0.1, etaMin: 0.001, t0: 10, tMult: 2, cycleDecay: 0.7,
                                                           restartWarmup: 1, cycleLimit: 6))
            for i in 0..<500_000 { sink += w(Double(i) / 1000) }
        }
        precondition(sink.isFinite)
        return t.seconds
    }
}

extension Duration {
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
