import HalfTraceKernels

/// One batch's per-channel statistics, as batch normalisation measures them in training.
public struct BatchStatistics: Sendable, Equatable {
    /// The mean of each channel over the batch (every pixel of every image).
    public var mean: [Double]
    /// Σ (x - mean)² of each channel, in Double.
    public var squaredDeviations: [Double]
    /// The values per channel (n * h * w).
    public var count: Int

    /// The biased variance Σ (x - mean)² / count, which normalises the batch.
    public var variance: [Double] { squaredDeviations.map { $0 / Double(count) } }
    /// The unbiased variance Σ (x - mean)² / (count - 1), which the running variance averages
    /// (PyTorch's `batch_norm_cpu_update_stats_template`).
    public var unbiasedVariance: [Double] { squaredDeviations.map { $0 / Double(count - 1) } }
}

/// Per-channel sums over the rows of a rows x channels matrix, in a fixed order: rows are cut
/// into blocks of `blockRows`, each block summed in Double in row order, and the block sums
/// added in block order. Blocks are shared between threads, so the result does not depend on
/// how many threads run.
enum ChannelSums {
    static let blockRows = 256

    /// `count` sums per channel: `accumulate(rows, partial)` adds the terms of `rows` into
    /// `partial` (count * channels Doubles, sum s of channel c at s * channels + c).
    static func compute(rows: Int, channels: Int, count: Int,
                        _ accumulate: (Range<Int>, UnsafeMutableBufferPointer<Double>) -> Void) -> [[Double]] {
        let blocks = max(1, (rows + blockRows - 1) / blockRows)
        let width = count * channels
        var partials = [Double](repeating: 0, count: blocks * width)
        partials.withUnsafeMutableBufferPointer { partials in
            let minimumBlocks = max(1, (1 << 16) / max(1, blockRows * channels * count))
            Parallel.forEachRange(blocks, minimum: minimumBlocks) { range in
                for block in range {
                    let lo = block * blockRows, hi = min(rows, lo + blockRows)
                    accumulate(lo..<hi, UnsafeMutableBufferPointer(rebasing: partials[(block * width)..<((block + 1) * width)]))
                }
            }
        }
        var total = [Double](repeating: 0, count: width)
        for block in 0..<blocks { for j in 0..<width { total[j] += partials[block * width + j] } }
        return (0..<count).map { s in Array(total[(s * channels)..<((s + 1) * channels)]) }
    }

    /// A rows x channels array built row by row, rows split between threads: `fill(row, out)`
    /// writes the row's `channels` values, so that its loop runs over channels with per-channel
    /// constants (and vectorises). Every element is computed the same whatever the split.
    static func buildRows<C>(_ rows: Int, _ channels: Int, _ fill: (_ row: Int, _ out: UnsafeMutablePointer<C>) -> Void) -> [C] {
        [C](unsafeUninitializedCapacity: rows * channels) { out, count in
            if let base = out.baseAddress, rows * channels > 0 {
                Parallel.forEachRange(rows, minimum: max(1, Parallel.elementwiseMinimum / max(1, channels))) { r in
                    for i in r { fill(i, base + i * channels) }
                }
            }
            count = rows * channels
        }
    }
}

extension Tensor {
    /// Batch normalisation over the last axis (channels of an NHWC batch, or features of a
    /// [batch, features] matrix), PyTorch's `F.batch_norm`:
    ///
    ///     y = (x - mean) / sqrt(var + eps) * weight + bias
    ///
    /// In training (`running == nil`) mean and var are the batch's (biased variance), returned
    /// as `BatchStatistics` for the caller's running averages; in evaluation they are the given
    /// running statistics. Statistics and the gradient's sums accumulate in Double in a fixed
    /// order (`ChannelSums`); each element is computed as PyTorch's CPU kernel does,
    /// y = x * alpha + beta with alpha = invstd * weight and beta = bias - mean * alpha, and
    /// rounded once to the input's dtype. A 16-bit input with float32 weight and bias (autocast's
    /// mixed precision) computes in float32 and returns the input's dtype, as PyTorch's mixed-type
    /// CPU batch norm: `batch_norm` is on none of autocast's op lists (PyTorch 2.13: no AutocastCPU
    /// kernel is registered for it), so it neither casts its input down nor its output up.
    ///
    /// Backward (PyTorch's `batch_norm_backward_cpu_template`): with dotp = Σ (x - mean) g and
    /// sum = Σ g per channel, training gives dx = (g - sum / n - (x - mean) dotp invstd² / n)
    /// invstd weight, evaluation dx = g invstd weight; dweight = dotp invstd, dbias = sum.
    public func batchNorm(weight: Tensor, bias: Tensor, running: (mean: [Double], variance: [Double])? = nil,
                          eps: Double) -> (output: Tensor, statistics: BatchStatistics?) {
        precondition(rank >= 2, "batchNorm: input must be [n, h, w, c] or [n, c]; shape is \(shape)")
        let (rows, channels) = matrixShape
        precondition(weight.shape == [channels] && bias.shape == [channels],
                     "batchNorm: weight \(weight.shape) and bias \(bias.shape) must be [\(channels)]")
        precondition(running.map { $0.mean.count == channels && $0.variance.count == channels } ?? true,
                     "batchNorm: running statistics must have \(channels) values")
        precondition(running != nil || rows > 1,
                     "batchNorm: expected more than 1 value per channel when training, got input size \(shape)")
        precondition(eps.isFinite && eps >= 0, "batchNorm: eps \(eps) must be finite and >= 0")
        let inputs = [self, weight, bias]
        return StepProfile.measure(.normalization) {
            inputs.contains { $0.dtype == .float64 }
                ? Self.batchNorm(inputs, rows, channels, running, eps, dtype, Double.self)
                : Self.batchNorm(inputs, rows, channels, running, eps, dtype, Float.self)
        }
    }

    private static func batchNorm<C: TensorCompute>(
        _ inputs: [Tensor], _ rows: Int, _ channels: Int, _ running: (mean: [Double], variance: [Double])?,
        _ eps: Double, _ outType: DType, _: C.Type
    ) -> (output: Tensor, statistics: BatchStatistics?) {
        let (x, w, b) = (inputs[0], inputs[1], inputs[2])
        let xs = C.load(x.storage)
        let ws = w.storage.doubles, bs = b.storage.doubles
        var statistics: BatchStatistics?
        let mean: [Double], invstd: [Double]
        if let running {
            mean = running.mean
            invstd = running.variance.map { 1 / ($0 + eps).squareRoot() }
        } else {
            let sums = xs.withUnsafeBufferPointer { xs in
                ChannelSums.compute(rows: rows, channels: channels, count: 1) { r, s in
                    for i in r {
                        let row = xs.baseAddress! + i * channels
                        for c in 0..<channels { s[c] += Double(row[c]) }
                    }
                }
            }[0]
            let m = sums.map { $0 / Double(rows) }
            let deviations = xs.withUnsafeBufferPointer { xs in
                m.withUnsafeBufferPointer { m in
                    ChannelSums.compute(rows: rows, channels: channels, count: 1) { r, s in
                        for i in r {
                            let row = xs.baseAddress! + i * channels
                            for c in 0..<channels { let d = Double(row[c]) - m[c]; s[c] += d * d }
                        }
                    }
                }
            }[0]
            statistics = BatchStatistics(mean: m, squaredDeviations: deviations, count: rows)
            mean = m
            invstd = deviations.map { 1 / ($0 / Double(rows) + eps).squareRoot() }
        }
        let alpha = (0..<channels).map { C(invstd[$0] * ws[$0]) }
        let beta = (0..<channels).map { C(bs[$0] - mean[$0] * invstd[$0] * ws[$0]) }
        let y: [C] = xs.withUnsafeBufferPointer { xs in
            alpha.withUnsafeBufferPointer { alpha in
                beta.withUnsafeBufferPointer { beta in
                    ChannelSums.buildRows(rows, channels) { i, y in
                        let row = xs.baseAddress! + i * channels
                        for c in 0..<channels { y[c] = row[c] * alpha[c] + beta[c] }
                    }
                }
            }
        }
        let training = running == nil
        let output = Tensor.make(C.store(y, as: outType), shape: x.shape, op: "batch_norm", parents: [x, w, b]) { gs in
            StepProfile.measure(.normalization) {
                let g = C.load(gs)
                let xs = C.load(x.storage)
                let mc = mean.map { C($0) }
                let sums = xs.withUnsafeBufferPointer { xs in
                    g.withUnsafeBufferPointer { g in
                        mean.withUnsafeBufferPointer { m in
                            ChannelSums.compute(rows: rows, channels: channels, count: 2) { r, s in
                                for i in r {
                                    let gr = g.baseAddress! + i * channels, xr = xs.baseAddress! + i * channels
                                    for c in 0..<channels {
                                        let gi = Double(gr[c])
                                        s[c] += gi
                                        s[channels + c] += (Double(xr[c]) - m[c]) * gi
                                    }
                                }
                            }
                        }
                    }
                }
                let (sum, dotp) = (sums[0], sums[1])
                let n = Double(rows)
                let scale = (0..<channels).map { C(invstd[$0] * ws[$0]) }
                let k = (0..<channels).map { C(training ? dotp[$0] * invstd[$0] * invstd[$0] / n : 0) }
                let gradMean = (0..<channels).map { C(training ? sum[$0] / n : 0) }
                var gx: Storage?
                if x.requiresGrad {
                    let dx: [C] = xs.withUnsafeBufferPointer { xs in
                        g.withUnsafeBufferPointer { g in
                            gradMean.withUnsafeBufferPointer { gm in
                                mc.withUnsafeBufferPointer { mc in
                                    k.withUnsafeBufferPointer { k in
                                        scale.withUnsafeBufferPointer { scale in
                                            ChannelSums.buildRows(rows, channels) { i, dx in
                                                let gr = g.baseAddress! + i * channels, xr = xs.baseAddress! + i * channels
                                                if training {
                                                    for c in 0..<channels { dx[c] = (gr[c] - gm[c] - (xr[c] - mc[c]) * k[c]) * scale[c] }
                                                } else {
                                                    for c in 0..<channels { dx[c] = gr[c] * scale[c] }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    gx = C.store(dx, as: x.dtype)
                }
                return [gx,
                        w.requiresGrad ? Double.store((0..<channels).map { dotp[$0] * invstd[$0] }, as: w.dtype) : nil,
                        b.requiresGrad ? Double.store(sum, as: b.dtype) : nil]
            }
        }
        return (output, statistics)
    }
}
