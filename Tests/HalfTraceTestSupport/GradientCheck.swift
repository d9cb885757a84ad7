import HalfTraceAutograd

/// Central finite differences in float64 against the engine's backward pass.
///
/// For every element x_i of every input, numeric = (f(x + h e_i) - f(x - h e_i)) / 2h with the
/// scalar f = sum(output * weights) (fixed random weights, so that every output element matters).
/// The error of element i is |analytic - numeric| / max(|analytic|, |numeric|, 1e-3 * gmax),
/// where gmax is the largest |analytic| of that input: central differences carry an absolute
/// error of order h^2 f''' + eps f / h on the scale of the whole gradient, so an element a
/// thousand times smaller than the largest one is measured against that scale.
public func gradientCheck(
    _ inputs: [Tensor], h: Double = 1e-6, _ f: ([Tensor]) -> Tensor
) -> (worst: Double, input: Int, element: Int) {
    precondition(inputs.allSatisfy { $0.dtype == .float64 }, "gradient checks run in float64")
    for x in inputs { x.requiresGrad = true; x.zeroGrad() }
    let probe = f(inputs)
    var state: UInt64 = 0x1234_5678
    let weights = (0..<probe.count).map { _ -> Double in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) * 0x1p-53 + 0.5
    }
    let w = Tensor(weights, shape: probe.shape, dtype: .float64)
    func scalar(_ xs: [Tensor]) -> Tensor { (f(xs) * w).sum() }
    scalar(inputs).backward()
    var worst = (worst: 0.0, input: 0, element: 0)
    for (k, x) in inputs.enumerated() {
        let analytic = x.grad?.doubles ?? [Double](repeating: 0, count: x.count)
        let gmax = analytic.map(abs).max() ?? 0
        let original = x.doubles
        for i in 0..<x.count {
            func value(_ delta: Double) -> Double {
                var v = original
                v[i] += delta
                let xs = inputs.enumerated().map { j, t in
                    j == k ? Tensor(v, shape: x.shape, dtype: .float64) : t.detach()
                }
                return withNoGrad { scalar(xs).item() }
            }
            let numeric = (value(h) - value(-h)) / (2 * h)
            let a = analytic[i]
            let err = abs(a - numeric) / max(abs(a), abs(numeric), 1e-3 * gmax, 1e-12)
            if err > worst.worst { worst = (err, k, i) }
        }
    }
    return worst
}
