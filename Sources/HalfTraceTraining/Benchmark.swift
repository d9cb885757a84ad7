#if canImport(Glibc)
import Glibc
#endif
import HalfTraceAutograd
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim

/// The figures `halftrace bench` prints, all measured in one run on this machine.
public struct BenchmarkReport: Sendable {
    /// Training steps per second (zero grad, forward, loss, backward, SGD step) per model and precision.
    public var stepsPerSecond: [String: [String: Double]] = [:]
    /// Every timing of each training-step figure, in the order taken (`stepsPerSecond` holds
    /// their median): model -> precision -> steps/s.
    public var stepRateTimings: [String: [String: [Double]]] = [:]
    /// GEMM GFLOP/s for 1024 x 1024 x 1024 in float32, float16 and bfloat16 storage.
    public var gemmGFLOPS: [String: Double] = [:]
    /// 16-bit <-> Float32 conversion throughput in G elements per second: to_float16 and
    /// to_float32 (from float16), to_bfloat16 and bfloat16_to_float32.
    public var conversionGElementsPerSecond: [String: Double] = [:]
    /// Bytes of tensor storage one training step touches, per model and precision.
    public var bytesPerStep: [String: [String: Int]] = [:]
    /// Milliseconds per step by phase (`StepProfile.Phase` names and "other"), per model and
    /// precision.
    public var stepSplitMS: [String: [String: [String: Double]]] = [:]
    /// GFLOP/s of every GEMM the models' steps run (forward and both backward products, in
    /// their layouts, float32 operands), keyed "model.layer.phase_layout mxnxk".
    public var gemmShapeGFLOPS: [String: Double] = [:]
    /// Peak resident memory (MiB) of the process after training the wide model in float32,
    /// measured before anything else.
    public var peakRSSMiBWide: Double? = nil
    /// Extra keys (e.g. schedule evaluation rate) added by later work.
    public var extra: [String: Double] = [:]
    /// The kernel ISA level the run used.
    public var isa: String = KernelISA.best.description
    /// The most threads a GEMM could use during the run.
    public var threads: Int = GEMM.defaultThreadCount
}

/// Measures training throughput, GEMM and conversion rates and memory on this machine
/// (`halftrace bench`).
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

    /// One training step of a toy model on a fixed random batch: fp32, fp16, bf16 and amp-bf16
    /// step plainly; amp steps through a GradScaler.
    public final class StepHarness: MeasuredStep {
        let model: MLP
        let optimizer: SGD
        let x: Tensor
        let labels: [Int]
        let loss: LossKind
        let precision: Precision
        let scaler: GradScaler?

        /// A `kind` model in `precision`'s parameter dtype, a normal random batch with uniform labels from
        /// `seed`, and one SGD group at lr 0.01 with YOLOv5's Nesterov momentum 0.937 and decay 5e-4.
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

        /// The model's parameters, in `namedParameters` order.
        public var parameters: [Tensor] { model.parameters }

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

        /// The optimizer's per-parameter buffers (SGD's momentum).
        public var optimizerStates: [ParameterState] { optimizer.parameterStates }
    }

    /// The precisions measured unless told otherwise: every one but fp64.
    public static let defaultPrecisions: [Precision] = [.fp32, .fp16, .amp, .bf16, .ampBF16]

    /// The median of `values` (the mean of the middle two for an even count).
    public static func median(_ values: [Double]) -> Double {
        let v = values.sorted()
        guard !v.isEmpty else { return .nan }
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

    /// The whole benchmark; with `stepsOnly`, only the training-step figures (steps/s, split,
    /// GEMM shapes with the float32 1024^3 rate they are compared with, bytes, memory) of
    /// `models` and `precisions`; `threads` bounds the threads a product or an element-wise
    /// pass may use (`GEMM.maxThreads`; 1 measures the single-threaded step).
    public static func run(seconds: Double = 1.0, repeats: Int = 5, models: [ToyModel] = ToyModel.allCases, detector: Bool = false,
                           precisions: [Precision] = defaultPrecisions, stepsOnly: Bool = false,
                           threads: Int = GEMM.defaultThreadCount,
                           progress: (String) -> Void = { _ in }) -> BenchmarkReport {
        GEMM.$maxThreads.withValue(max(1, threads)) {
            var report = measure(seconds: seconds, repeats: repeats, models: models, detector: detector, precisions: precisions,
                                 stepsOnly: stepsOnly, progress: progress)
            report.threads = max(1, threads)
            return report
        }
    }

    private static func measure(seconds: Double, repeats: Int, models: [ToyModel], detector: Bool, precisions: [Precision],
                                stepsOnly: Bool, progress: (String) -> Void) -> BenchmarkReport {
        var report = BenchmarkReport()
        if models.contains(.wide) {
            progress("peak memory, wide float32")
            let h = StepHarness(model: .wide, precision: .fp32)
            for _ in 0..<10 { h.step() }
            report.peakRSSMiBWide = peakResidentMiB()
        }
        func measureSteps(_ name: String, _ precision: Precision, _ h: MeasuredStep) {
            let rates = (0..<max(1, repeats)).map { _ in Benchmark.rate(seconds: seconds) { h.step() } }
            report.stepRateTimings[name, default: [:]][precision.dtypeKey] = rates
            report.stepsPerSecond[name, default: [:]][precision.dtypeKey] = median(rates)
            report.bytesPerStep[name, default: [:]][precision.dtypeKey] = h.bytesPerStep()
            report.stepSplitMS[name, default: [:]][precision.dtypeKey] = h.split(seconds: seconds / 2)
        }
        if detector {
            for precision in precisions where precision != .fp64 {
                progress("steps/s detector \(precision.rawValue)")
                measureSteps("detector", precision, DetectorStepHarness(precision: precision))
            }
        }
        for kind in models {
            for precision in precisions {
                progress("steps/s \(kind.rawValue) \(precision.rawValue)")
                measureSteps(kind.rawValue, precision, StepHarness(model: kind, precision: precision))
            }
            progress("gemm shapes \(kind.rawValue)")
            for (key, rate) in gemmShapeRates(kind, seconds: seconds / 8) { report.gemmShapeGFLOPS[key] = rate }
        }
        // The float32 1024^3 rate is the yardstick of the shape rates, so it is always measured.
        progress("gemm")
        for dtype in stepsOnly ? [DType.float32] : [DType.float32, .float16, .bfloat16] {
            var rng = SplitMix64(seed: 1)
            let n = 1024
            let a = Tensor((0..<(n * n)).map { _ in rng.nextNormal() }, shape: [n, n], dtype: dtype)
            let b = Tensor((0..<(n * n)).map { _ in rng.nextNormal() }, shape: [n, n], dtype: dtype)
            let rate = Benchmark.rate(seconds: seconds, warmup: 2) { _ = a.matmul(b) }
            report.gemmGFLOPS[dtype.rawValue] = rate * 2 * Double(n * n * n) / 1e9
        }
        if stepsOnly { return report }
        progress("conversion")
        report.conversionGElementsPerSecond = conversionRates(seconds: seconds)
        progress("schedules")
        report.extra["schedule_million_points_seconds"] = scheduleSeconds()
        return report
    }
}

extension Benchmark {
    /// GFLOP/s of each product a training step of `kind` runs, with float32 operands in the
    /// step's layouts: forward x W^T ("nt"), backward g W ("nn", not for the first layer, whose
    /// input needs no gradient) and g^T x ("tn").
    static func gemmShapeRates(_ kind: ToyModel, seconds: Double) -> [(String, Double)] {
        let b = kind.batchSize, sizes = kind.sizes
        var rng = SplitMix64(seed: 3)
        var out: [(String, Double)] = []
        for layer in 0..<(sizes.count - 1) {
            let (fanIn, fanOut) = (sizes[layer], sizes[layer + 1])
            // (phase, m, n, k, A transposed, B transposed)
            var products = [("forward_nt", b, fanOut, fanIn, false, true)]
            if layer > 0 { products.append(("backward_nn", b, fanIn, fanOut, false, false)) }
            products.append(("backward_tn", fanOut, fanIn, b, true, false))
            for (phase, m, n, k, ta, tb) in products {
                let a = (0..<(m * k)).map { _ in Float(rng.nextNormal()) }, bm = (0..<(k * n)).map { _ in Float(rng.nextNormal()) }
                var c = [Float](repeating: 0, count: m * n)
                let rate = a.withUnsafeBufferPointer { a in
                    bm.withUnsafeBufferPointer { bm in
                        c.withUnsafeMutableBufferPointer { c in
                            let oa = MatrixOperand(.float32(a.baseAddress!), rowStride: ta ? 1 : k, colStride: ta ? m : 1)
                            let ob = MatrixOperand(.float32(bm.baseAddress!), rowStride: tb ? 1 : n, colStride: tb ? k : 1)
                            return Benchmark.rate(seconds: seconds) {
                                GEMM.multiply(m: m, n: n, k: k, a: oa, b: ob, into: c.baseAddress!, ldc: n)
                            }
                        }
                    }
                }
                out.append(("\(kind.rawValue).fc\(layer).\(phase) \(m)x\(n)x\(k)", rate * 2 * Double(m * n * k) / 1e9))
            }
        }
        return out
    }

    /// The process's peak resident set size in MiB (getrusage's ru_maxrss, in KiB on Linux).
    static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }

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

/// A training step to measure: `Benchmark.StepHarness` (a toy model) or
/// `Benchmark.DetectorStepHarness` (the detector), each on a fixed batch.
public protocol MeasuredStep: AnyObject {
    /// One training step; returns its loss tensor (graph still attached).
    @discardableResult func step() -> Tensor
    /// The optimizer's per-parameter buffers after the steps run so far.
    var optimizerStates: [ParameterState] { get }
}

extension MeasuredStep {
    /// Milliseconds per step in each phase, from steps run for about `seconds` under a
    /// `StepProfile`; "other" is the rest (graph bookkeeping, zeroing gradients, the scaler).
    public func split(seconds: Double) -> [String: Double] {
        let profile = StepProfile()
        var steps = 0
        profile.record {
            let clock = ContinuousClock(), start = clock.now
            repeat { step(); steps += 1 } while (clock.now - start).seconds < seconds
        }
        var ms = Dictionary(uniqueKeysWithValues: profile.seconds.map { ("\($0.key)", $0.value * 1000 / Double(steps)) })
        ms["other"] = max(0, profile.total * 1000 / Double(steps) - ms.values.reduce(0, +))
        ms["gemm_gflop"] = 2 * profile.multiplyAdds / Double(steps) / 1e9  // per step, not ms (as the pool's keys below)
        // The pool's share, counted over a second stretch of steps (counting costs a clock read per region).
        var counted = 0
        let (_, pool) = Parallel.counting {
            let clock = ContinuousClock(), start = clock.now
            repeat { step(); counted += 1 } while (clock.now - start).seconds < seconds / 2
        }
        let n = Double(max(counted, 1))
        ms["parallel_regions"] = Double(pool.regions) / n
        ms["inline_regions"] = Double(pool.inlineRegions) / n
        ms["wait_for_worker"] = pool.waitSeconds * 1000 / n
        ms["worker_part_share"] = Double(pool.workerParts) / Double(max(1, pool.workerParts + pool.callerParts))
        return ms
    }

    /// Bytes of tensor storage the step touches: every tensor of the graph (inputs,
    /// activations, parameters), one gradient per graph tensor in its dtype, and the
    /// optimizer's momentum buffers.
    public func bytesPerStep() -> Int {
        let l = step()
        let nodes = l.graphNodes
        let graph = nodes.reduce(0) { $0 + $1.storage.byteCount }
        let gradients = graph
        let buffers = optimizerStates.reduce(0) { $0 + ($1.first?.byteCount ?? 0) }
        return graph + gradients + buffers
    }
}

extension Benchmark {
    /// One training step of the detector on a fixed augmented batch of the synthetic shapes
    /// (YOLOv5's recipe at its first iteration: SGD, Nesterov momentum 0.937, decay 5e-4; amp and
    /// fp16 step through a GradScaler): forward, ComputeLoss, backward, optimizer step.
    public final class DetectorStepHarness: MeasuredStep {
        let model: Detector
        let optimizer: SGD
        let images: Tensor
        let targets: [TargetBox]
        let precision: Precision
        let scaler: GradScaler?
        let gains: LossGains
        let anchors: [[SIMD2<Float>]]

        /// yolov5n-width detector in `precision`'s parameter dtype, a batch of `batch` augmented
        /// 64 px synthetic images drawn from `seed`.
        public init(precision: Precision, batch: Int = 16, seed: UInt64 = 0) {
            let data = SyntheticShapes.make(train: batch, validation: 1, size: 64, seed: seed)
            let samples = (0..<batch).map { k -> (RGBImage, [BoxLabel]) in
                var rng = SplitMix64.stream(seed: seed, index: UInt64(k))
                return Augmentation.sample(data.train, index: k, hyp: AugmentationHyperparameters(), using: &rng)
            }
            (images, targets) = DetectionDataset.batch(images: samples.map(\.0), labels: samples.map(\.1), dtype: precision.parameterDType)
            let architecture = DetectorArchitecture(classes: 3, anchors: DetectorTrainer.defaultAnchors)
            model = try! Detector(architecture, dtype: precision.parameterDType, seed: seed)
            let g = model.parameterGroups
            optimizer = try! SGD(groups: [g.biases, g.weights, g.normWeights].enumerated().map { k, params in
                ParamGroup(params: params, lr: 0.01, momentum: 0.937, weightDecay: k == 1 ? 5e-4 : 0, nesterov: true)
            })
            scaler = precision.scalerByDefault ? try! GradScaler() : nil
            self.precision = precision
            gains = DetectorHyperparameters().scaled(scales: 2, classes: 3, imageSize: 64)
            anchors = architecture.anchors.map { $0.map { SIMD2(Float($0.w), Float($0.h)) } }
        }

        /// Returns the loss tensor of the step (graph still attached) for measurements.
        @discardableResult
        public func step() -> Tensor {
            optimizer.zeroGrad()
            model.setTraining(true)
            let (l, _) = precision.scope {
                DetectionLoss.compute(model(images), targets: targets, anchors: anchors, strides: DetectorArchitecture.strides,
                                      classes: 3, gains: gains)
            }
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

        /// The optimizer's momentum buffers.
        public var optimizerStates: [ParameterState] { optimizer.parameterStates }
    }
}
