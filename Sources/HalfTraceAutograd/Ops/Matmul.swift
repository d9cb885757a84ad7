import HalfTraceKernels

/// One strided matrix operand over a storage: element (i, j) at i * rowStride + j * colStride.
struct StridedMatrix {
    let storage: Storage
    let rowStride: Int
    let colStride: Int

    static func rowMajor(_ s: Storage, columns: Int) -> StridedMatrix {
        StridedMatrix(storage: s, rowStride: columns, colStride: 1)
    }

    /// The transpose of a row-major matrix with `columns` columns.
    static func transposed(_ s: Storage, columns: Int) -> StridedMatrix {
        StridedMatrix(storage: s, rowStride: 1, colStride: columns)
    }

    /// "n" when rows are contiguous runs, "t" when read transposed.
    var layout: String { colStride == 1 ? "n" : "t" }
}

enum MatrixProduct {
    /// (m x k) * (k x n), accumulated in Float (Double when `computeType` is float64) as the
    /// fixed fma chain of `GEMM`, plus an optional bias row added in the compute type, then
    /// rounded once to `result`.
    static func multiply(
        m: Int, n: Int, k: Int, _ a: StridedMatrix, _ b: StridedMatrix, bias: Storage? = nil,
        computeType: DType, result: DType, backward: Bool = false
    ) -> Storage {
        let phase = StepProfile.Phase.gemm(backward: backward, layout: a.layout + b.layout)
        StepProfile.countMultiplyAdds(m * n * k)
        if computeType == .float64 {
            var c = StepProfile.measure(.allocation) { [Double](repeating: 0, count: m * n) }
            if m > 0, n > 0, k > 0 { StepProfile.measure(phase) {
                let x = a.storage.doubles, y = b.storage.doubles
                x.withUnsafeBufferPointer { x in
                    y.withUnsafeBufferPointer { y in
                        c.withUnsafeMutableBufferPointer { c in
                            GEMM.multiply(m: m, n: n, k: k, a: x.baseAddress!, aRowStride: a.rowStride,
                                          aColStride: a.colStride, b: y.baseAddress!, bRowStride: b.rowStride,
                                          bColStride: b.colStride, into: c.baseAddress!, ldc: n)
                        }
                    }
                }
            } }
            if let bias { StepProfile.measure(.elementwise) { addRow(bias.doubles, to: &c, columns: n) } }
            return Double.store(c, as: result)
        }
        // Every element is written by the GEMM (K = 0 writes the zero sum), so the output starts
        // uninitialised; the bias is the GEMM's epilogue.
        let biasValues = bias.map { Float.load($0) }
        if m == 0 || n == 0 || k == 0 {  // empty sums: +0, plus the bias
            let row = biasValues ?? [Float](repeating: 0, count: n)
            return Float.store((0..<(m * n)).map { row[$0 % n] + 0 }, as: result)
        }
        let c = [Float](unsafeUninitializedCapacity: m * n) { c, count in
            StepProfile.measure(phase) {
                withOperand(a) { oa in
                    withOperand(b) { ob in
                        if let biasValues {
                            biasValues.withUnsafeBufferPointer { bp in
                                GEMM.multiply(m: m, n: n, k: k, a: oa, b: ob, bias: bp.baseAddress, into: c.baseAddress!, ldc: n)
                            }
                        } else {
                            GEMM.multiply(m: m, n: n, k: k, a: oa, b: ob, into: c.baseAddress!, ldc: n)
                        }
                    }
                }
            }
            count = m * n
        }
        return Float.store(c, as: result)
    }

    private static func addRow<C: TensorCompute>(_ row: [C], to c: inout [C], columns: Int) {
        guard columns > 0 else { return }
        row.withUnsafeBufferPointer { row in
            c.withUnsafeMutableBufferPointer { c in
                for i in stride(from: 0, to: c.count, by: columns) {
                    for j in 0..<columns { c[i + j] += row[j] }
                }
            }
        }
    }

    private static func withOperand<R>(_ m: StridedMatrix, _ body: (MatrixOperand) -> R) -> R {
        switch m.storage {
        case .float16(let v):
            v.withUnsafeBufferPointer {
                body(MatrixOperand(.float16($0.baseAddress!), rowStride: m.rowStride, colStride: m.colStride))
            }
        case .bfloat16(let v):
            v.withUnsafeBufferPointer {
                body(MatrixOperand(.bfloat16($0.baseAddress!), rowStride: m.rowStride, colStride: m.colStride))
            }
        case .float32(let v):
            v.withUnsafeBufferPointer {
                body(MatrixOperand(.float32($0.baseAddress!), rowStride: m.rowStride, colStride: m.colStride))
            }
        case .float64:
            preconditionFailure("float64 operands are multiplied in Double")
        }
    }

    /// Sums of the columns of a rows x columns matrix, in order of rows, rounded once.
    static func columnSums(_ g: Storage, rows: Int, columns: Int, result: DType) -> Storage {
        func sums<C: TensorCompute>(_: C.Type) -> Storage {
            let x = C.load(g)
            var s = [C](repeating: 0, count: columns)
            x.withUnsafeBufferPointer { x in
                s.withUnsafeMutableBufferPointer { s in
                    // Columns split between threads; each column sums its rows in order.
                    Parallel.forEachRange(columns, minimum: max(16, (1 << 15) / max(1, rows))) { r in
                        for i in 0..<rows { for j in r { s[j] += x[i * columns + j] } }
                    }
                }
            }
            return C.store(s, as: result)
        }
        return StepProfile.measure(.elementwise) { g.dtype == .float64 ? sums(Double.self) : sums(Float.self) }
    }
}

extension Tensor {
    /// Matrix product of [m, k] and [k, n]. Under autocast it runs on 16-bit copies of float32
    /// inputs; 16-bit products accumulate in Float32 and round once.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[0],
                     "matmul: shapes \(shape) and \(other.shape) do not multiply")
        let inputs = Autocast.apply(.lowPrecision, to: [self, other])
        let (a, b) = (inputs[0], inputs[1])
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        let compute = DType.widest(a.dtype, b.dtype)
        let y = MatrixProduct.multiply(m: m, n: n, k: k, .rowMajor(a.storage, columns: k),
                                       .rowMajor(b.storage, columns: n), computeType: compute, result: compute)
        return .make(y, shape: [m, n], op: "matmul", parents: [a, b]) { g in
            // dA = g * B^T, dB = A^T * g
            [a.requiresGrad
                ? MatrixProduct.multiply(m: m, n: k, k: n, .rowMajor(g, columns: n), .transposed(b.storage, columns: n),
                                         computeType: compute, result: a.dtype, backward: true) : nil,
             b.requiresGrad
                ? MatrixProduct.multiply(m: k, n: n, k: m, .transposed(a.storage, columns: k), .rowMajor(g, columns: n),
                                         computeType: compute, result: b.dtype, backward: true) : nil]
        }
    }

    /// The affine map of a linear layer, PyTorch's `F.linear`: y = x W^T + b with x [batch, in],
    /// W [out, in], b [out]. The sum over `in` is the GEMM's fma chain, the bias is added in the
    /// compute type, and y is rounded once. Under autocast it runs on 16-bit copies in the
    /// autocast dtype (float16 or bfloat16).
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(rank == 2 && weight.rank == 2 && shape[1] == weight.shape[1],
                     "linear: input \(shape) does not match weight \(weight.shape)")
        precondition(bias.map { $0.shape == [weight.shape[0]] } ?? true,
                     "linear: bias \(bias?.shape ?? []) does not match weight \(weight.shape)")
        let inputs = Autocast.apply(.lowPrecision, to: [self, weight] + (bias.map { [$0] } ?? []))
        let (x, w, b) = (inputs[0], inputs[1], inputs.count > 2 ? inputs[2] : nil)
        let (batch, fanIn, fanOut) = (x.shape[0], x.shape[1], w.shape[0])
        let compute = DType.widest(inputs.map(\.dtype))
        let y = MatrixProduct.multiply(m: batch, n: fanOut, k: fanIn, .rowMajor(x.storage, columns: fanIn),
                                       .transposed(w.storage, columns: fanIn), bias: b?.storage,
                                       computeType: compute, result: compute)
        return .make(y, shape: [batch, fanOut], op: "linear", parents: inputs) { g in
            var grads: [Storage?] = [
                x.requiresGrad  // dx = g W
                    ? MatrixProduct.multiply(m: batch, n: fanIn, k: fanOut, .rowMajor(g, columns: fanOut),
                                             .rowMajor(w.storage, columns: fanIn), computeType: compute, result: x.dtype,
                                             backward: true)
                    : nil,
                w.requiresGrad  // dW = g^T x
                    ? MatrixProduct.multiply(m: fanOut, n: fanIn, k: batch, .transposed(g, columns: fanOut),
                                             .rowMajor(x.storage, columns: fanIn), computeType: compute, result: w.dtype,
                                             backward: true)
                    : nil,
            ]
            if let b {
                grads.append(b.requiresGrad ? MatrixProduct.columnSums(g, rows: batch, columns: fanOut, result: b.dtype) : nil)
            }
            return grads
        }
    }
}
