import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceTestSupport
import Testing

/// Every op's backward against central finite differences in float64 (relative error < 1e-6).
@Suite("Gradients against finite differences")
struct GradientTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let shapes: [[Int]]
        let positive: Bool
        let f: @Sendable ([Tensor]) -> Tensor
        init(_ name: String, _ shapes: [[Int]], positive: Bool = false, _ f: @escaping @Sendable ([Tensor]) -> Tensor) {
            self.name = name; self.shapes = shapes; self.positive = positive; self.f = f
        }
        var description: String { name }
    }

    static let labels = [2, 0, 3, 1, 3]

    static let cases: [Case] = [
        Case("add", [[3, 4], [3, 4]]) { $0[0] + $0[1] },
        Case("add broadcast row", [[3, 4], [4]]) { $0[0] + $0[1] },
        Case("add broadcast column", [[3, 4], [3, 1]]) { $0[0] + $0[1] },
        Case("sub broadcast scalar", [[3, 4], []]) { $0[0] - $0[1] },
        Case("mul broadcast [1,4]", [[3, 4], [1, 4]]) { $0[0] * $0[1] },
        Case("div", [[3, 4], [3, 4]], positive: true) { $0[0] / $0[1] },
        Case("div broadcast row", [[2, 5], [5]], positive: true) { $0[0] / $0[1] },
        Case("neg", [[4]]) { -$0[0] },
        Case("matmul", [[3, 5], [5, 2]]) { $0[0].matmul($0[1]) },
        Case("linear", [[4, 3], [5, 3], [5]]) { $0[0].linear(weight: $0[1], bias: $0[2]) },
        Case("linear without bias", [[2, 3], [4, 3]]) { $0[0].linear(weight: $0[1], bias: nil) },
        Case("transpose", [[2, 3]]) { $0[0].transpose() },
        Case("reshape", [[2, 6]]) { $0[0].reshape([3, 4]) },
        Case("sum", [[3, 4]]) { $0[0].sum() },
        Case("sum axis 0", [[3, 4]]) { $0[0].sum(axis: 0) },
        Case("sum axis 1", [[3, 4]]) { $0[0].sum(axis: 1) },
        Case("mean", [[3, 4]]) { $0[0].mean() },
        Case("mean axis 0", [[3, 4]]) { $0[0].mean(axis: 0) },
        Case("mean axis -1", [[3, 4]]) { $0[0].mean(axis: -1) },
        Case("relu", [[3, 4]]) { $0[0].relu() },
        Case("tanh", [[3, 4]]) { $0[0].tanh() },
        Case("sigmoid", [[3, 4]]) { $0[0].sigmoid() },
        Case("exp", [[3, 4]]) { $0[0].exp() },
        Case("log", [[3, 4]], positive: true) { $0[0].log() },
        Case("pow 3", [[3, 4]]) { $0[0].pow(3) },
        Case("pow 2", [[3, 4]]) { $0[0].pow(2) },
        Case("pow -1.5", [[3, 4]], positive: true) { $0[0].pow(-1.5) },
        Case("scaled", [[3]]) { $0[0].scaled(by: -2.5) },
        Case("shifted", [[3]]) { $0[0].shifted(by: 7) },
        Case("softmax", [[3, 5]]) { $0[0].softmax() },
        Case("softmax vector", [[6]]) { $0[0].softmax() },
        Case("logSoftmax", [[3, 5]]) { $0[0].logSoftmax() },
        Case("layerNorm", [[4, 6], [6], [6]]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) },
        Case("mse loss", [[4, 3], [4, 3]]) { $0[0].mseLoss($0[1]) },
        Case("bce with logits", [[5, 1]]) { xs in
            xs[0].binaryCrossEntropyWithLogits(Tensor([1, 0, 1, 1, 0], shape: [5, 1], dtype: .float64))
        },
        Case("cross entropy", [[5, 4]]) { $0[0].crossEntropy(labels: labels) },
        Case("a two-layer network", [[4, 3], [6, 3], [6], [2, 6], [2]]) { x in
            x[0].linear(weight: x[1], bias: x[2]).tanh().linear(weight: x[3], bias: x[4]).crossEntropy(labels: [1, 0, 1, 1])
        },
        Case("a tensor used twice", [[3, 3]]) { x in (x[0] * x[0]).matmul(x[0]) + x[0] },
        Case("add NHWC + channel vector", [[2, 3, 2, 4], [4]]) { $0[0] + $0[1] },
        Case("mul NHWC * NHWC", [[2, 2, 3, 2], [2, 2, 3, 2]]) { $0[0] * $0[1] },
        Case("conv2d 3x3 stride 1 padding 1 with bias", [[2, 5, 4, 3], [4, 3, 3, 3], [4]]) {
            $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 1, padding: 1)
        },
        Case("conv2d 3x3 stride 2 padding 1 on 7x6", [[1, 7, 6, 2], [3, 3, 3, 2]]) {
            $0[0].conv2d(weight: $0[1], stride: 2, padding: 1)
        },
        Case("conv2d 6x6 stride 2 padding 2 (YOLOv5's stem)", [[1, 8, 8, 3], [2, 6, 6, 3], [2]]) {
            $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 2, padding: 2)
        },
        Case("conv2d 1x1 in place", [[2, 3, 3, 4], [5, 1, 1, 4], [5]]) { $0[0].conv2d(weight: $0[1], bias: $0[2]) },
        Case("conv2d 2x2 stride 2, no padding", [[1, 5, 5, 2], [2, 2, 2, 2]]) { $0[0].conv2d(weight: $0[1], stride: 2) },
        Case("batchNorm training (batch statistics)", [[2, 3, 2, 4], [4], [4]]) {
            $0[0].batchNorm(weight: $0[1], bias: $0[2], eps: 1e-3).output
        },
        Case("batchNorm evaluation (running statistics)", [[2, 2, 3, 3], [3], [3]]) {
            $0[0].batchNorm(weight: $0[1], bias: $0[2], running: ([0.25, -0.5, 1], [0.5, 2, 1.5]), eps: 1e-3).output
        },
        Case("silu", [[3, 4]]) { $0[0].silu() },
        Case("maxPool2d 5x5 stride 1 padding 2 (SPPF)", [[1, 4, 5, 2]]) { $0[0].maxPool2d(kernel: 5, stride: 1, padding: 2) },
        Case("maxPool2d 3x3 stride 2 padding 1", [[2, 5, 5, 1]]) { $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1) },
        Case("upsampleNearest x2", [[2, 2, 3, 2]]) { $0[0].upsampleNearest(scale: 2) },
        Case("concatenate channels", [[2, 2, 2, 3], [2, 2, 2, 1]]) { Tensor.concatenate(lastAxis: [$0[0], $0[1]]) },
        Case("a Conv-BN-SiLU block into a pool", [[2, 4, 4, 2], [3, 3, 3, 2], [3], [3]]) { x in
            x[0].conv2d(weight: x[1], padding: 1).batchNorm(weight: x[2], bias: x[3], eps: 1e-3).output.silu()
                .maxPool2d(kernel: 2)
        },
    ]

    @Test("backward matches central differences", arguments: cases)
    func finiteDifferences(c: Case) {
        var rng = SplitMix64(seed: UInt64(c.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        let inputs = c.shapes.map { shape -> Tensor in
            let n = shape.reduce(1, *)
            let values = (0..<n).map { _ -> Double in
                let v = rng.nextUniform(-2, 2)
                if c.positive { return abs(v) + 0.5 }
                return abs(v) < 0.05 ? v + 0.3 : v  // keep relu's kink out of reach of h
            }
            return Tensor(values, shape: shape, dtype: .float64, requiresGrad: true)
        }
        let result = gradientCheck(inputs, c.f)
        #expect(result.worst < 1e-6, "\(c.name): relative error \(result.worst) at input \(result.input), element \(result.element)")
    }
}
