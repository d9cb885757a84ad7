import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN

/// YOLOv5's `Conv` (`models/common.py`, v7.0): a convolution without bias, BatchNorm2d (eps 1e-3,
/// momentum 0.03) and SiLU, with "same" padding `kernel / 2` unless given.
public final class ConvBlock: Module {
    /// The convolution (no bias).
    public let conv: Conv2d
    /// The batch norm after it.
    public let bn: BatchNorm2d

    /// `Conv(c1, c2, k, s, p)` named `name.conv` and `name.bn`.
    public init(_ c1: Int, _ c2: Int, kernel: Int = 1, stride: Int = 1, padding: Int? = nil, dtype: DType,
                name: String, using rng: inout some RandomNumberGenerator) {
        conv = Conv2d(c1, c2, kernel: kernel, stride: stride, padding: padding ?? kernel / 2, bias: false, dtype: dtype,
                      name: name + ".conv", using: &rng)
        bn = BatchNorm2d(c2, dtype: dtype, name: name + ".bn")
    }

    /// silu(bn(conv(x))).
    public func callAsFunction(_ x: Tensor) -> Tensor { bn(conv(x)).silu() }

    /// The convolution's weight, then the batch norm's weight and bias.
    public var namedParameters: [NamedParameter] { conv.namedParameters + bn.namedParameters }
}

/// YOLOv5's `Bottleneck`: cv2(cv1(x)), plus x when `shortcut` and the widths match.
public final class Bottleneck: Module {
    /// The 1 x 1 reduction.
    public let cv1: ConvBlock
    /// The 3 x 3 convolution.
    public let cv2: ConvBlock
    /// Whether the input is added to the output (a residual connection).
    public let add: Bool

    /// `Bottleneck(c1, c2, shortcut, e)`: hidden width c2 * e.
    public init(_ c1: Int, _ c2: Int, shortcut: Bool, expansion: Double = 1, dtype: DType, name: String,
                using rng: inout some RandomNumberGenerator) {
        let hidden = Int(Double(c2) * expansion)
        cv1 = ConvBlock(c1, hidden, kernel: 1, dtype: dtype, name: name + ".cv1", using: &rng)
        cv2 = ConvBlock(hidden, c2, kernel: 3, dtype: dtype, name: name + ".cv2", using: &rng)
        add = shortcut && c1 == c2
    }

    /// x + cv2(cv1(x)), or cv2(cv1(x)) without the shortcut.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = cv2(cv1(x))
        return add ? x + y : y
    }

    /// cv1's, then cv2's parameters.
    public var namedParameters: [NamedParameter] { cv1.namedParameters + cv2.namedParameters }
}

/// YOLOv5's `C3`: cv3(cat(m(cv1(x)), cv2(x))) with `n` bottlenecks of half the output width.
public final class C3: Module {
    /// The branch through the bottlenecks.
    public let cv1: ConvBlock
    /// The direct branch.
    public let cv2: ConvBlock
    /// The 1 x 1 convolution joining both branches.
    public let cv3: ConvBlock
    /// The bottlenecks (YOLOv5's `m`).
    public let m: [Bottleneck]

    /// `C3(c1, c2, n, shortcut)` with hidden width c2 / 2.
    public init(_ c1: Int, _ c2: Int, repeats n: Int, shortcut: Bool = true, dtype: DType, name: String,
                using rng: inout some RandomNumberGenerator) {
        let hidden = c2 / 2
        cv1 = ConvBlock(c1, hidden, kernel: 1, dtype: dtype, name: name + ".cv1", using: &rng)
        cv2 = ConvBlock(c1, hidden, kernel: 1, dtype: dtype, name: name + ".cv2", using: &rng)
        cv3 = ConvBlock(2 * hidden, c2, kernel: 1, dtype: dtype, name: name + ".cv3", using: &rng)
        var blocks: [Bottleneck] = []
        for i in 0..<n {
            blocks.append(Bottleneck(hidden, hidden, shortcut: shortcut, dtype: dtype, name: name + ".m.\(i)", using: &rng))
        }
        m = blocks
    }

    /// cv3(cat(m(cv1(x)), cv2(x))).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var y = cv1(x)
        for b in m { y = b(y) }
        return cv3(.concatenate(lastAxis: [y, cv2(x)]))
    }

    /// cv1, cv2, cv3, then the bottlenecks' parameters (YOLOv5's registration order).
    public var namedParameters: [NamedParameter] {
        cv1.namedParameters + cv2.namedParameters + cv3.namedParameters + m.flatMap(\.namedParameters)
    }
}

/// YOLOv5's `SPPF`: cv2(cat(x, m(x), m(m(x)), m(m(m(x))))) after cv1 halves the width, with
/// m a max pool of `kernel`, stride 1, padding kernel / 2.
public final class SPPF: Module {
    /// The 1 x 1 reduction to c1 / 2.
    public let cv1: ConvBlock
    /// The 1 x 1 convolution of the four joined maps.
    public let cv2: ConvBlock
    /// The pooling window.
    public let kernel: Int

    /// `SPPF(c1, c2, k)`.
    public init(_ c1: Int, _ c2: Int, kernel: Int = 5, dtype: DType, name: String, using rng: inout some RandomNumberGenerator) {
        let hidden = c1 / 2
        cv1 = ConvBlock(c1, hidden, kernel: 1, dtype: dtype, name: name + ".cv1", using: &rng)
        cv2 = ConvBlock(hidden * 4, c2, kernel: 1, dtype: dtype, name: name + ".cv2", using: &rng)
        self.kernel = kernel
    }

    /// cv2(cat(x, y1, y2, m(y2))) with x = cv1(input), y1 = m(x), y2 = m(y1).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let x = cv1(input)
        let y1 = x.maxPool2d(kernel: kernel, stride: 1, padding: kernel / 2)
        let y2 = y1.maxPool2d(kernel: kernel, stride: 1, padding: kernel / 2)
        let y3 = y2.maxPool2d(kernel: kernel, stride: 1, padding: kernel / 2)
        return cv2(.concatenate(lastAxis: [x, y1, y2, y3]))
    }

    /// cv1's, then cv2's parameters.
    public var namedParameters: [NamedParameter] { cv1.namedParameters + cv2.namedParameters }
}
