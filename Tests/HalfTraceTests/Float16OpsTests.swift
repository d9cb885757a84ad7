import Foundation
import HalfTraceAutograd
import HalfTraceKernels
import Testing

/// Each op on float16 storage must equal `Float16(op(Float(x)))`: computed in Float, rounded
/// once. The references below do not use the engine's code, but they call the same C library
/// (`expf`, `tanhf`, ...) that the engine calls: they check the float16 rounding and the
/// computation type, not the C library's accuracy.
@Suite("Float16 semantics of every op")
struct Float16OpsTests {
    static var all: Tensor { Tensor(storage: .float16((0...UInt16.max).map { Float16(bitPattern: $0) }), shape: [65536]) }

    struct Unary: CustomStringConvertible, Sendable {
        let name: String
        let op: @Sendable (Tensor) -> Tensor
        let reference: @Sendable (Float) -> Float
        var description: String { name }
    }

    static let unaries: [Unary] = [
        Unary(name: "relu", op: { $0.relu() }, reference: { $0.isNaN ? $0 : ($0 > 0 ? $0 : 0) }),
        Unary(name: "tanh", op: { $0.tanh() }, reference: { tanhf($0) }),
        Unary(name: "sigmoid", op: { $0.sigmoid() }, reference: { 1 / (1 + expf(-$0)) }),
        Unary(name: "exp", op: { $0.exp() }, reference: { expf($0) }),
        Unary(name: "log", op: { $0.log() }, reference: { logf($0) }),
        Unary(name: "neg", op: { $0.neg() }, reference: { -$0 }),
        Unary(name: "pow 2", op: { $0.pow(2) }, reference: { powf($0, 2) }),
        Unary(name: "pow 3", op: { $0.pow(3) }, reference: { powf($0, 3) }),
        Unary(name: "pow 0.5", op: { $0.pow(0.5) }, reference: { powf($0, 0.5) }),
        Unary(name: "scaled by 1000", op: { $0.scaled(by: 1000) }, reference: { $0 * 1000 }),
        Unary(name: "shifted by 0.1", op: { $0.shifted(by: 0.1) }, reference: { $0 + Float(0.1) }),
    ]

    @Test("unary op on all 65,536 float16 patterns", arguments: unaries)
    func unaryExhaustive(u: Unary) {
        let out = u.op(Self.all)
        #expect(out.dtype == .float16)
        guard case .float16(let y) = out.storage, case .float16(let x) = Self.all.storage else {
            Issue.record("storage is not float16"); return
        }
        var bad = 0
        for (xi, yi) in zip(x, y) {
            let expected = Float16(u.reference(Float(xi)))
            if expected.isNaN ? !yi.isNaN : yi.bitPattern != expected.bitPattern {
                if bad < 3 { Issue.record("\(u.name)(\(xi)) = \(yi), expected \(expected)") }
                bad += 1
            }
        }
        #expect(bad == 0, "\(bad) of 65,536 patterns differ")
    }

    @Test("exp overflows to inf exactly above log(65520) and underflows through the subnormals")
    func overflowAndUnderflow() {
        // 11.0859375 and 11.09375 are neighbours in binary16; exp of the first is 65248.4
        // (finite), of the second 65760.5 (above 65520, so infinite).
        let x = Tensor([11.0859375, 11.09375, -10, -17, -18], dtype: .float16)
        let y = x.exp().doubles
        #expect(y[0] == 65248 && y[1].isInfinite, "\(y)")
        #expect(y[2] == Double(Float16(Float(4.539993e-05))), "exp(-10) is subnormal in binary16: \(y[2])")
        #expect(y[3] == 0x1p-24, "exp(-17) = 4.1e-8 rounds up to the smallest subnormal 2^-24")
        #expect(y[4] == 0, "exp(-18) = 1.5e-8 is below 2^-25 and flushes to zero")
        let big = Tensor([60000, 2048], dtype: .float16)
        #expect((big + big).doubles[0].isInfinite)
        #expect((big + Tensor([1, 1], dtype: .float16)).doubles[1] == 2048, "2048 + 1 == 2048 in binary16")
    }

    struct Binary: CustomStringConvertible, Sendable {
        let name: String
        let op: @Sendable (Tensor, Tensor) -> Tensor
        let reference: @Sendable (Float, Float) -> Float
        var description: String { name }
    }

    static let binaries: [Binary] = [
        Binary(name: "add", op: { $0 + $1 }, reference: { $0 + $1 }),
        Binary(name: "sub", op: { $0 - $1 }, reference: { $0 - $1 }),
        Binary(name: "mul", op: { $0 * $1 }, reference: { $0 * $1 }),
        Binary(name: "div", op: { $0 / $1 }, reference: { $0 / $1 }),
    ]

    @Test("binary op on 300,000 random float16 pairs (all patterns, specials included)", arguments: binaries)
    func binarySample(b: Binary) {
        var rng = SplitMix64(seed: 42)
        let n = 300_000
        let xs = (0..<n).map { _ in Float16(bitPattern: UInt16(truncatingIfNeeded: rng.next())) }
        let ys = (0..<n).map { _ in Float16(bitPattern: UInt16(truncatingIfNeeded: rng.next())) }
        let out = b.op(Tensor(storage: .float16(xs), shape: [n]), Tensor(storage: .float16(ys), shape: [n]))
        guard case .float16(let z) = out.storage else { Issue.record("not float16"); return }
        var bad = 0
        for i in 0..<n {
            let expected = Float16(b.reference(Float(xs[i]), Float(ys[i])))
            if expected.isNaN ? !z[i].isNaN : z[i].bitPattern != expected.bitPattern { bad += 1 }
        }
        #expect(bad == 0, "\(bad) of \(n) pairs differ")
    }

    @Test("mixed float16 and float32 operands promote to float32, computed once in Float")
    func promotion() {
        let h = Tensor([0.1, 3], dtype: .float16)
        let f = Tensor([0.2, 1e-8], dtype: .float32)
        let s = h + f
        #expect(s.dtype == .float32)
        #expect(s.doubles[0] == Double(Float(Float16(0.1)) + Float(0.2)))
        #expect(s.doubles[1] == Double(Float(3) + Float(1e-8)))
    }

    @Test("float16 matmul accumulates in Float32 and rounds once")
    func matmulAccumulatesInFloat() {
        // 2048 + 1 + 1 + ... in Float32 keeps the ones; a binary16 accumulator would not.
        let k = 64
        let a = Tensor([2048] + [Double](repeating: 1, count: k - 1), shape: [1, k], dtype: .float16)
        let b = Tensor([Double](repeating: 1, count: k), shape: [k, 1], dtype: .float16)
        let y = a.matmul(b)
        #expect(y.dtype == .float16)
        #expect(y.item() == Double(Float16(Float(2048 + k - 1))))
    }
}

/// relu on float16 and bfloat16 storage runs on the bit patterns (no conversion); it must give
/// exactly the bits of the Float path it replaces: widen, `x > 0 || x.isNaN ? x : 0` (gradient
/// `x > 0 ? g : 0`), round once. The reference widens and rounds with the conversion kernels,
/// which are tested exhaustively against Swift's own conversions.
@Suite("relu on 16-bit patterns")
struct PatternReluTests {
    enum Format: String, CaseIterable, Sendable { case float16, bfloat16 }

    static func storage(_ bits: [UInt16], _ f: Format) -> Storage {
        f == .float16 ? .float16(bits.map { Float16(bitPattern: $0) }) : .bfloat16(bits.map { BFloat16(bitPattern: $0) })
    }
    static func bits(_ s: Storage) -> [UInt16] {
        switch s {
        case .float16(let v): v.map(\.bitPattern)
        case .bfloat16(let v): v.map(\.bitPattern)
        default: []
        }
    }
    static func widen(_ bits: [UInt16], _ f: Format) -> [Float] {
        f == .float16 ? HalfConversion.widen(bits.map { Float16(bitPattern: $0) })
                      : BFloat16Conversion.widen(bits.map { BFloat16(bitPattern: $0) })
    }
    static func narrow(_ v: [Float], _ f: Format) -> [UInt16] {
        f == .float16 ? HalfConversion.narrow(v).map(\.bitPattern) : BFloat16Conversion.narrow(v).map(\.bitPattern)
    }

    /// Every pattern four times (262,144 elements, so the work is split between threads), each
    /// paired with a different gradient pattern.
    @Test("forward and gradient on every pattern equal the Float path bit for bit, NaNs included",
          arguments: Format.allCases)
    func everyPattern(format: Format) {
        let x = (0..<(4 << 16)).map { UInt16(truncatingIfNeeded: $0) }
        let g = (0..<(4 << 16)).map { UInt16(truncatingIfNeeded: $0 &* 40503 &+ ($0 >> 16) &* 7919) }
        let input = Tensor(storage: Self.storage(x, format), shape: [x.count], requiresGrad: true)
        let y = input.relu()
        y.backward(gradient: Self.storage(g, format))
        let xf = Self.widen(x, format), gf = Self.widen(g, format)
        let expectedY = Self.narrow(xf.map { $0 > 0 || $0.isNaN ? $0 : 0 }, format)
        let expectedG = Self.narrow(zip(xf, gf).map { $0 > 0 ? $1 : 0 }, format)
        let gotY = Self.bits(y.storage), gotG = Self.bits(input.grad?.storage ?? .float32([]))
        #expect(gotY.count == x.count && gotG.count == x.count)
        for (name, got, expected) in [("relu", gotY, expectedY), ("gradient", gotG, expectedG)] {
            let bad = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }
            for (i, (a, b)) in bad.prefix(3) {
                Issue.record("\(format) \(name) at x 0x\(String(x[i], radix: 16)), g 0x\(String(g[i], radix: 16)): 0x\(String(a, radix: 16)), Float path 0x\(String(b, radix: 16))")
            }
            #expect(bad.isEmpty, "\(format) \(name): \(bad.count) patterns differ")
        }
    }
}
