import HalfTraceKernels

extension Storage {
    /// The transpose of a row-major rows x columns matrix (a permutation: no rounding).
    func transposed(rows: Int, columns: Int) -> Storage {
        func t<T>(_ v: [T]) -> [T] {
            v.withUnsafeBufferPointer { v in
                StorageMath.build(v.count) { r, out in
                    for idx in r {
                        let (j, i) = idx.quotientAndRemainder(dividingBy: rows)
                        out[idx] = v[i * columns + j]
                    }
                }
            }
        }
        switch self {
        case .float16(let v): return .float16(t(v))
        case .bfloat16(let v): return .bfloat16(t(v))
        case .float32(let v): return .float32(t(v))
        case .float64(let v): return .float64(t(v))
        }
    }
}

extension Tensor {
    /// The same elements in another shape of equal size (storage is shared until written).
    public func reshape(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) == count && newShape.count <= Tensor.maximumRank,
                     "reshape: cannot view shape \(shape) as \(newShape)")
        return .make(storage, shape: newShape, op: "reshape", parents: [self]) { g in [g] }
    }

    /// The transpose of a matrix (a vector or scalar is returned unchanged, as PyTorch's `.t()`).
    public func transpose() -> Tensor {
        guard rank == 2 else { return reshape(shape) }
        let (r, c) = (shape[0], shape[1])
        return .make(storage.transposed(rows: r, columns: c), shape: [c, r], op: "transpose", parents: [self]) { g in
            [g.transposed(rows: c, columns: r)]
        }
    }

    /// This tensor in `dtype`, rounded once (returns self when the dtype already matches, as
    /// PyTorch's `.to()`). The gradient flows back converted to the source dtype, so a float32
    /// master weight used through a float16 copy receives a float32 gradient.
    public func cast(to dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let source = self.dtype
        let y = StepProfile.measure(.conversion) { storage.converted(to: dtype) }
        return .make(y, shape: shape, op: "cast", parents: [self]) { g in
            [StepProfile.measure(.conversion) { g.converted(to: source) }]
        }
    }

    /// A tensor sharing these values that is cut from the graph.
    public func detach() -> Tensor { Tensor(storage: storage, shape: shape) }
}
