import HalfTraceAutograd

/// PyTorch's `clip_grad_norm_(params, max_norm)` (2-norm):
///
///     norm_i = ||g_i||_2                   (per gradient, in its dtype)
///     total = ||(norm_1, ..., norm_n)||_2
///     coef = max_norm / (total + 1e-6)
///     g_i *= min(coef, 1)                   (every gradient, even when coef >= 1)
///
/// Sums run in Float (Double for float64) in index order; `norm_i` is rounded to the gradient's
/// dtype, as PyTorch's per-tensor `vector_norm` is. Returns the total norm.
@discardableResult
public func clipGradNorm(_ params: [Tensor], maxNorm: Double) -> Double {
    let grads = params.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    let wide = grads.contains { $0.dtype == .float64 }
    func norm<C: TensorCompute>(_ s: Storage, _: C.Type) -> C {
        var acc: C = 0
        for x in C.load(s) { acc += x * x }
        return acc.squareRoot()
    }
    let total: Double
    let coefficient: Double
    if wide {
        var acc = 0.0
        for g in grads { let n = Storage([norm(g.storage, Double.self)], dtype: g.dtype).doubles[0]; acc += n * n }
        total = acc.squareRoot()
        coefficient = min(maxNorm / (total + 1e-6), 1)
    } else {
        var acc: Float = 0
        for g in grads { let n = Float.load(Float.store([norm(g.storage, Float.self)], as: g.dtype))[0]; acc += n * n }
        let t = acc.squareRoot()
        total = Double(t)
        coefficient = Double(min(Float(maxNorm) / (t + Float(1e-6)), 1))
    }
    for g in grads { g.storage = StorageMath.scale(g.storage, by: coefficient) }
    return total
}
