import HalfTraceKernels

/// The sizes of one 2-D convolution or pooling window over an NHWC batch.
struct WindowGeometry: Equatable {
    let batch: Int, height: Int, width: Int, channels: Int
    let kernelHeight: Int, kernelWidth: Int
    let stride: Int, padding: Int

    /// PyTorch's output size: floor((in + 2 * padding - kernel) / stride) + 1.
    var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Output pixels of the whole batch: the rows of the im2col matrix.
    var outPixels: Int { batch * outHeight * outWidth }
    /// Columns of the im2col matrix: one per (ky, kx, c), channels fastest.
    var patchSize: Int { kernelHeight * kernelWidth * channels }
    /// A 1 x 1 window with stride 1 and no padding reads every pixel once, in place: the input
    /// itself is the im2col matrix.
    var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 }

    /// Refuses a window that does not fit (the messages name what PyTorch's would).
    static func validated(_ op: String, input: [Int], kernel: (Int, Int), stride: Int, padding: Int) -> WindowGeometry {
        precondition(input.count == 4, "\(op): input must be NHWC [n, h, w, c]; shape is \(input)")
        precondition(stride >= 1, "\(op): stride \(stride) must be >= 1")
        precondition(padding >= 0, "\(op): padding \(padding) must be >= 0")
        precondition(kernel.0 >= 1 && kernel.1 >= 1, "\(op): kernel \(kernel) must be >= 1")
        let g = WindowGeometry(batch: input[0], height: input[1], width: input[2], channels: input[3],
                               kernelHeight: kernel.0, kernelWidth: kernel.1, stride: stride, padding: padding)
        precondition(input[1] + 2 * padding >= kernel.0 && input[2] + 2 * padding >= kernel.1,
                     "\(op): kernel \(kernel) is larger than the padded input \(input[1]) x \(input[2]) (padding \(padding))")
        return g
    }
}

extension Storage {
    /// The im2col matrix of an NHWC batch: row (n, oy, ox), column (ky, kx, c) holds
    /// x[n, oy * stride - padding + ky, ox * stride - padding + kx, c], or +0 outside the image.
    /// A permutation with zeros: no value is rounded, 16-bit patterns are copied as they are.
    func im2col(_ g: WindowGeometry) -> Storage {
        switch self {
        case .float16(let v): .float16(Self.im2col(v, zero: 0, g))
        case .bfloat16(let v): .bfloat16(Self.im2col(v, zero: BFloat16(bitPattern: 0), g))
        case .float32(let v): .float32(Self.im2col(v, zero: 0, g))
        case .float64(let v): .float64(Self.im2col(v, zero: 0, g))
        }
    }

    private static func im2col<T>(_ x: [T], zero: T, _ g: WindowGeometry) -> [T] {
        let (oh, ow, k, c) = (g.outHeight, g.outWidth, g.patchSize, g.channels)
        return [T](unsafeUninitializedCapacity: g.outPixels * k) { out, count in
            x.withUnsafeBufferPointer { x in
                let rows = g.outPixels
                Parallel.forEachRange(rows, minimum: max(1, (1 << 15) / max(1, k))) { range in
                    for m in range {
                        let (n, pixel) = m.quotientAndRemainder(dividingBy: oh * ow)
                        let (oy, ox) = pixel.quotientAndRemainder(dividingBy: ow)
                        var o = m * k
                        for ky in 0..<g.kernelHeight {
                            let iy = oy * g.stride - g.padding + ky
                            for kx in 0..<g.kernelWidth {
                                let ix = ox * g.stride - g.padding + kx
                                if iy < 0 || iy >= g.height || ix < 0 || ix >= g.width {
                                    (out.baseAddress! + o).initialize(repeating: zero, count: c)
                                } else {
                                    let i = ((n * g.height + iy) * g.width + ix) * c
                                    (out.baseAddress! + o).initialize(from: x.baseAddress! + i, count: c)
                                }
                                o += c
                            }
                        }
                    }
                }
            }
            count = g.outPixels * k
        }
    }
}

enum Col2Im {
    /// The gradient of an NHWC input from the gradient of its im2col matrix: each input element
    /// sums the entries that copied it, in the order of output pixels then (ky, kx), in the
    /// compute type, and is rounded once to `dtype`. Images are independent, so they are split
    /// between threads without changing a bit.
    static func gradient<C: TensorCompute>(_ cols: [C], _ g: WindowGeometry, dtype: DType) -> Storage {
        let (oh, ow, k, c) = (g.outHeight, g.outWidth, g.patchSize, g.channels)
        let imageSize = g.height * g.width * c
        var dx = [C](repeating: 0, count: g.batch * imageSize)
        cols.withUnsafeBufferPointer { cols in
            dx.withUnsafeMutableBufferPointer { dx in
                Parallel.forEachRange(g.batch, minimum: max(1, (1 << 15) / max(1, oh * ow * k))) { images in
                    for n in images {
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                var o = ((n * oh + oy) * ow + ox) * k
                                for ky in 0..<g.kernelHeight {
                                    let iy = oy * g.stride - g.padding + ky
                                    for kx in 0..<g.kernelWidth {
                                        let ix = ox * g.stride - g.padding + kx
                                        if iy >= 0 && iy < g.height && ix >= 0 && ix < g.width {
                                            let i = ((n * g.height + iy) * g.width + ix) * c
                                            for j in 0..<c { dx[i + j] += cols[o + j] }
                                        }
                                        o += c
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return C.store(dx, as: dtype)
    }
}

extension Tensor {
    /// A 2-D convolution (PyTorch's `F.conv2d` with groups 1) on an NHWC batch.
    ///
    /// `self` is [n, h, w, c]; `weight` is [out, kh, kw, c] (PyTorch's [out, c, kh, kw] with the
    /// input channels last, so that a patch is one contiguous row); `bias` is [out]. The result is
    /// [n, oh, ow, out] with oh = (h + 2 padding - kh) / stride + 1 (floor), zero padding.
    ///
    /// It runs as im2col and the engine's GEMM: each output element is the GEMM's fixed fma
    /// chain over (ky, kx, c), plus the bias, rounded once. A 1 x 1 convolution with stride 1 and
    /// no padding multiplies the input in place. Under autocast it runs on 16-bit copies of
    /// float32 inputs (conv2d is on autocast's lower-precision list).
    ///
    /// Backward: dW = g^T cols and db = the column sums of g, each one GEMM; dx is g W scattered
    /// back by col2im, accumulated in the compute type and rounded once.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(weight.rank == 4, "conv2d: weight must be [out, kh, kw, in]; shape is \(weight.shape)")
        let g = WindowGeometry.validated("conv2d", input: shape, kernel: (weight.shape[1], weight.shape[2]),
                                         stride: stride, padding: padding)
        precondition(weight.shape[3] == g.channels,
                     "conv2d: weight \(weight.shape) expects \(weight.shape[3]) input channels; the input has \(g.channels)")
        let outChannels = weight.shape[0]
        precondition(bias.map { $0.shape == [outChannels] } ?? true,
                     "conv2d: bias \(bias?.shape ?? []) does not match weight \(weight.shape)")
        let inputs = Autocast.apply(.lowPrecision, to: [self, weight] + (bias.map { [$0] } ?? []))
        let (x, w, b) = (inputs[0], inputs[1], inputs.count > 2 ? inputs[2] : nil)
        let compute = DType.widest(inputs.map(\.dtype))
        let accumulation: DType = compute == .float64 ? .float64 : .float32
        let (m, k, o) = (g.outPixels, g.patchSize, outChannels)
        let cols = g.isPointwise ? x.storage : StepProfile.measure(.im2col) { x.storage.im2col(g) }
        let y = MatrixProduct.multiply(m: m, n: o, k: k, .rowMajor(cols, columns: k), .transposed(w.storage, columns: k),
                                       bias: b?.storage, computeType: compute, result: compute)
        return .make(y, shape: [g.batch, g.outHeight, g.outWidth, o], op: "conv2d", parents: inputs) { gy in
            var grads: [Storage?] = [nil, nil]
            if x.requiresGrad {
                if g.isPointwise {  // dx = g W
                    grads[0] = MatrixProduct.multiply(m: m, n: k, k: o, .rowMajor(gy, columns: o), .rowMajor(w.storage, columns: k),
                                                      computeType: compute, result: x.dtype, backward: true)
                } else {  // dcols = g W, then col2im, rounded once
                    let dcols = MatrixProduct.multiply(m: m, n: k, k: o, .rowMajor(gy, columns: o), .rowMajor(w.storage, columns: k),
                                                       computeType: compute, result: accumulation, backward: true)
                    grads[0] = StepProfile.measure(.im2col) {
                        switch dcols {
                        case .float64(let v): Col2Im.gradient(v, g, dtype: x.dtype)
                        case .float32(let v): Col2Im.gradient(v, g, dtype: x.dtype)
                        default: preconditionFailure("col2im accumulates in float32 or float64")
                        }
                    }
                }
            }
            if w.requiresGrad {  // dW = g^T cols
                grads[1] = MatrixProduct.multiply(m: o, n: k, k: m, .transposed(gy, columns: o), .rowMajor(cols, columns: k),
                                                  computeType: compute, result: w.dtype, backward: true)
            }
            if let b {
                grads.append(b.requiresGrad ? MatrixProduct.columnSums(gy, rows: m, columns: o, result: b.dtype) : nil)
            }
            return grads
        }
    }
}
