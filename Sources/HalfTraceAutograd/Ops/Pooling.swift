import HalfTraceKernels

extension Tensor {
    /// Max pooling over an NHWC batch (PyTorch's `F.max_pool2d`, dilation 1, floor mode):
    /// [n, h, w, c] to [n, oh, ow, c] with oh = (h + 2 padding - kernel) / stride + 1. Padding
    /// is never selected. As PyTorch's CPU kernel (`val > maxval || isnan(val)`), the first
    /// maximum of a window in row-major order wins a tie and a NaN wins over any number (the
    /// last NaN of the window), so the output is always one of the inputs and is not rounded.
    ///
    /// Backward: each output's gradient goes to the input it selected; an input selected by
    /// several overlapping windows sums their gradients in output order, in the compute type,
    /// rounded once.
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let stride = stride ?? kernel
        let g = WindowGeometry.validated("maxPool2d", input: shape, kernel: (kernel, kernel), stride: stride, padding: padding)
        precondition(padding <= kernel / 2, "maxPool2d: padding \(padding) should be at most half of kernel \(kernel)")
        let x = self
        let outShape = [g.batch, g.outHeight, g.outWidth, g.channels]
        let (y, selected) = StepProfile.measure(.pooling) {
            x.dtype == .float64 ? Self.maxPool(x.storage, g, Double.self) : Self.maxPool(x.storage, g, Float.self)
        }
        return .make(y, shape: outShape, op: "max_pool2d", parents: [x]) { gs in
            StepProfile.measure(.pooling) {
                [x.dtype == .float64 ? Self.scatter(gs, selected, g, x.dtype, Double.self)
                                     : Self.scatter(gs, selected, g, x.dtype, Float.self)]
            }
        }
    }

    private static func maxPool<C: TensorCompute>(_ s: Storage, _ g: WindowGeometry, _: C.Type) -> (Storage, [Int32]) {
        let x = C.load(s)
        let (oh, ow, c) = (g.outHeight, g.outWidth, g.channels)
        let count = g.outPixels * c
        var y = [C](repeating: 0, count: count)
        var selected = [Int32](repeating: -1, count: count)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                selected.withUnsafeMutableBufferPointer { selected in
                    Parallel.forEachRange(g.outPixels, minimum: max(1, (1 << 14) / max(1, c * g.kernelHeight * g.kernelWidth))) { pixels in
                        for m in pixels {
                            let (n, pixel) = m.quotientAndRemainder(dividingBy: oh * ow)
                            let (oy, ox) = pixel.quotientAndRemainder(dividingBy: ow)
                            let o = m * c
                            for ky in 0..<g.kernelHeight {
                                let iy = oy * g.stride - g.padding + ky
                                guard iy >= 0 && iy < g.height else { continue }
                                for kx in 0..<g.kernelWidth {
                                    let ix = ox * g.stride - g.padding + kx
                                    guard ix >= 0 && ix < g.width else { continue }
                                    let i = ((n * g.height + iy) * g.width + ix) * c
                                    for j in 0..<c {
                                        let v = x[i + j]
                                        if selected[o + j] < 0 || v > y[o + j] || v.isNaN {
                                            y[o + j] = v
                                            selected[o + j] = Int32(i + j)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (C.store(y, as: s.dtype), selected)
    }

    /// dx[selected[k]] += g[k] over the outputs k of each image in order, rounded once to `dtype`.
    private static func scatter<C: TensorCompute>(_ gs: Storage, _ selected: [Int32], _ g: WindowGeometry,
                                                  _ dtype: DType, _: C.Type) -> Storage {
        let gy = C.load(gs)
        let perImage = g.outHeight * g.outWidth * g.channels
        var dx = [C](repeating: 0, count: g.batch * g.height * g.width * g.channels)
        gy.withUnsafeBufferPointer { gy in
            selected.withUnsafeBufferPointer { selected in
                dx.withUnsafeMutableBufferPointer { dx in
                    Parallel.forEachRange(g.batch, minimum: max(1, (1 << 15) / max(1, perImage))) { images in
                        for k in (images.lowerBound * perImage)..<(images.upperBound * perImage) {
                            dx[Int(selected[k])] += gy[k]
                        }
                    }
                }
            }
        }
        return C.store(dx, as: dtype)
    }

    /// Nearest-neighbour upsampling of an NHWC batch by an integer `scale` (PyTorch's
    /// `F.interpolate(mode="nearest", scale_factor=scale)`): y[n, oy, ox, c] = x[n, oy / scale,
    /// ox / scale, c]. A copy, not rounded. Backward: each input sums the gradients of its
    /// scale x scale block in output order, in the compute type, rounded once.
    public func upsampleNearest(scale: Int = 2) -> Tensor {
        precondition(rank == 4, "upsampleNearest: input must be NHWC [n, h, w, c]; shape is \(shape)")
        precondition(scale >= 1, "upsampleNearest: scale \(scale) must be >= 1")
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = (h * scale, w * scale)
        let x = self
        let y = StepProfile.measure(.pooling) {
            x.storage.rowsCopied(count: n * oh * ow, width: c) { row in
                let (image, pixel) = row.quotientAndRemainder(dividingBy: oh * ow)
                let (oy, ox) = pixel.quotientAndRemainder(dividingBy: ow)
                return ((image * h + oy / scale) * w + ox / scale) * c
            }
        }
        return .make(y, shape: [n, oh, ow, c], op: "upsample_nearest", parents: [x]) { gs in
            StepProfile.measure(.pooling) {
                func run<C: TensorCompute>(_: C.Type) -> Storage {
                    let g = C.load(gs)
                    var dx = [C](repeating: 0, count: n * h * w * c)
                    g.withUnsafeBufferPointer { g in
                        dx.withUnsafeMutableBufferPointer { dx in
                            // Input pixels are independent: rows of pixels are shared between threads.
                            Parallel.forEachRange(n * h, minimum: max(1, (1 << 14) / max(1, w * c * scale * scale))) { rows in
                                for row in rows {
                                    let (image, iy) = row.quotientAndRemainder(dividingBy: h)
                                    for ix in 0..<w {
                                        let o = ((image * h + iy) * w + ix) * c
                                        for dy in 0..<scale {
                                            for dxo in 0..<scale {
                                                let i = ((image * oh + iy * scale + dy) * ow + ix * scale + dxo) * c
                                                for j in 0..<c { dx[o + j] += g[i + j] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    return C.store(dx, as: x.dtype)
                }
                return [x.dtype == .float64 ? run(Double.self) : run(Float.self)]
            }
        }
    }

    /// Tensors of equal leading dimensions joined along their last axis (channels of NHWC
    /// batches), as `torch.cat(dim=-1)`: the widest dtype of the parts, each value converted
    /// once if its part is narrower. Backward: each part receives its slice of the gradient.
    public static func concatenate(lastAxis parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatenate: no tensors")
        let leading = Array(parts[0].shape.dropLast())
        precondition(parts.allSatisfy { $0.rank >= 1 && Array($0.shape.dropLast()) == leading },
                     "concatenate: shapes \(parts.map(\.shape)) differ before the last axis")
        let dtype = DType.widest(parts.map(\.dtype))
        let widths = parts.map { $0.shape[$0.rank - 1] }
        let total = widths.reduce(0, +)
        let rows = leading.reduce(1, *)
        let offsets = widths.indices.map { widths[..<$0].reduce(0, +) }
        let sources = parts.map { $0.storage.converted(to: dtype) }
        let y = StepProfile.measure(.pooling) { Storage.joined(sources, widths: widths, rows: rows, dtype: dtype) }
        return .make(y, shape: leading + [total], op: "cat", parents: parts) { gs in
            StepProfile.measure(.pooling) {
                parts.indices.map { p in
                    guard parts[p].requiresGrad else { return nil }
                    let slice = gs.rowsCopied(count: rows, width: widths[p]) { row in row * total + offsets[p] }
                    return slice.converted(to: parts[p].dtype)
                }
            }
        }
    }
}

extension Storage {
    /// A new storage of `count` rows of `width` elements, row r copied from the `width` elements
    /// starting at `start(r)` (no rounding); rows are shared between threads.
    func rowsCopied(count: Int, width: Int, _ start: (Int) -> Int) -> Storage {
        func copy<T>(_ v: [T]) -> [T] {
            [T](unsafeUninitializedCapacity: count * width) { out, n in
                v.withUnsafeBufferPointer { v in
                    Parallel.forEachRange(count, minimum: max(1, (1 << 15) / max(1, width))) { rows in
                        for r in rows { (out.baseAddress! + r * width).initialize(from: v.baseAddress! + start(r), count: width) }
                    }
                }
                n = count * width
            }
        }
        switch self {
        case .float16(let v): return .float16(copy(v))
        case .bfloat16(let v): return .bfloat16(copy(v))
        case .float32(let v): return .float32(copy(v))
        case .float64(let v): return .float64(copy(v))
        }
    }

    /// Row-major matrices of equal row counts and one dtype joined side by side.
    static func joined(_ parts: [Storage], widths: [Int], rows: Int, dtype: DType) -> Storage {
        let total = widths.reduce(0, +)
        func join<T>(_ arrays: [[T]]) -> [T] {
            [T](unsafeUninitializedCapacity: rows * total) { out, count in
                var offset = 0
                for (a, width) in zip(arrays, widths) {
                    a.withUnsafeBufferPointer { a in
                        for r in 0..<rows {
                            (out.baseAddress! + r * total + offset).initialize(from: a.baseAddress! + r * width, count: width)
                        }
                    }
                    offset += width
                }
                count = rows * total
            }
        }
        switch dtype {
        case .float16: return .float16(join(parts.map { if case .float16(let v) = $0 { v } else { [] } }))
        case .bfloat16: return .bfloat16(join(parts.map { if case .bfloat16(let v) = $0 { v } else { [] } }))
        case .float32: return .float32(join(parts.map { if case .float32(let v) = $0 { v } else { [] } }))
        case .float64: return .float64(join(parts.map { if case .float64(let v) = $0 { v } else { [] } }))
        }
    }
}
