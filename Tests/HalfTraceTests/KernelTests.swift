import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTestSupport
import Testing

@Suite("Float16 conversion kernels")
struct ConversionTests {
    static let allHalves: [Float16] = (0...UInt16.max).map { Float16(bitPattern: $0) }

    @Test("widening all 65,536 float16 patterns matches Float(_: Float16) at every ISA level",
          arguments: KernelISA.allCases)
    func widenExhaustive(isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        let wide = HalfConversion.widen(Self.allHalves, isa: isa)
        for (h, f) in zip(Self.allHalves, wide) {
            let expected = Float(h)
            if expected.isNaN {
                #expect(f.isNaN, "0x\(String(h.bitPattern, radix: 16)) widened to \(f), expected NaN")
            } else if f.bitPattern != expected.bitPattern {
                Issue.record("0x\(String(h.bitPattern, radix: 16)) widened to \(f), expected \(expected) (\(isa))")
                return
            }
        }
    }

    /// Every float16 value, the midpoints between neighbours (ties to even), the floats just
    /// beside each midpoint, the overflow threshold 65520 and the underflow thresholds.
    static let narrowingProbes: [Float] = {
        var probes: [Float] = [65504, 65519.996, 65520, 65520.004, 65536, 1e9, .infinity, -.infinity, .nan,
                               0x1p-24, 0x1p-25, 0x1.000002p-25, 0x1.fffffep-26, 0x1p-14, 0x1.ffcp-15, 0, -0.0]
        for bits in UInt16(0)..<0x7C00 {
            let a = Float(Float16(bitPattern: bits)), b = Float(Float16(bitPattern: bits + 1))
            let mid = (a + b) / 2
            probes += [a, mid, mid.nextUp, mid.nextDown, -a, -mid, -mid.nextUp, -mid.nextDown]
        }
        var state: UInt64 = 7
        for _ in 0..<200_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            probes.append(Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32)))
        }
        return probes
    }()

    @Test("narrowing rounds to nearest even exactly as Float16(_: Float), at every ISA level",
          arguments: KernelISA.allCases)
    func narrowProbes(isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        let narrow = HalfConversion.narrow(Self.narrowingProbes, isa: isa)
        var mismatches = 0
        for (f, h) in zip(Self.narrowingProbes, narrow) {
            let expected = Float16(f)
            if expected.isNaN ? !h.isNaN : h.bitPattern != expected.bitPattern {
                if mismatches < 5 { Issue.record("\(f) narrowed to 0x\(String(h.bitPattern, radix: 16)), expected 0x\(String(expected.bitPattern, radix: 16)) (\(isa))") }
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
        #expect(narrow[2].isInfinite && narrow[1] == 65504, "65520 overflows to inf, 65519.996 stays 65504")
    }

    @Test("round-through-half equals narrowing then widening", arguments: KernelISA.allCases)
    func roundThrough(isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        var values = Array(Self.narrowingProbes.prefix(70_000))
        let expected = HalfConversion.widen(HalfConversion.narrow(values, isa: .portable), isa: .portable)
        values.withUnsafeMutableBufferPointer { HalfConversion.roundThroughHalf($0, isa: isa) }
        #expect(zip(values, expected).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern })
    }
}

@Suite("GEMM kernels")
struct GEMMTests {
    /// How an operand is stored: float32, float16 or bfloat16 (widened while packing).
    enum Format: String, Sendable { case f32 = "", f16 = "h", bf16 = "b" }

    struct Case: CustomStringConvertible, Sendable {
        let m: Int, n: Int, k: Int
        let transposeA: Bool, transposeB: Bool
        let formatA: Format, formatB: Format
        var description: String { "\(m)x\(k)\(transposeA ? "ᵀ" : "")\(formatA.rawValue) · \(k)x\(n)\(transposeB ? "ᵀ" : "")\(formatB.rawValue)" }
    }

    static let cases: [Case] = [
        Case(m: 1, n: 1, k: 1, transposeA: false, transposeB: false, formatA: .f32, formatB: .f32),
        Case(m: 16, n: 16, k: 2, transposeA: false, transposeB: true, formatA: .f32, formatB: .f32),
        Case(m: 13, n: 37, k: 300, transposeA: false, transposeB: false, formatA: .f32, formatB: .f32),
        Case(m: 64, n: 256, k: 64, transposeA: false, transposeB: true, formatA: .f16, formatB: .f16),
        Case(m: 130, n: 70, k: 513, transposeA: true, transposeB: false, formatA: .f32, formatB: .f16),
        Case(m: 257, n: 129, k: 65, transposeA: true, transposeB: true, formatA: .f16, formatB: .f32),
        Case(m: 250, n: 2100, k: 9, transposeA: false, transposeB: false, formatA: .f16, formatB: .f32),
        Case(m: 64, n: 256, k: 64, transposeA: false, transposeB: true, formatA: .bf16, formatB: .bf16),
        Case(m: 130, n: 70, k: 513, transposeA: true, transposeB: false, formatA: .bf16, formatB: .f16),
        Case(m: 7, n: 5, k: 3, transposeA: true, transposeB: true, formatA: .f32, formatB: .bf16),
    ]

    /// A (m x k) and B (k x n) as random storage plus strides; `a32`/`b32` hold the values the
    /// product sees (the 16-bit ones widened).
    struct Operands {
        var a32: [Float], b32: [Float], a16: [Float16], b16: [Float16], abf: [BFloat16], bbf: [BFloat16]
        let aStrides: (Int, Int), bStrides: (Int, Int)
        init(_ c: Case, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            a32 = (0..<(c.m * c.k)).map { _ in Float(rng.nextNormal()) }
            b32 = (0..<(c.k * c.n)).map { _ in Float(rng.nextNormal()) }
            a16 = a32.map { Float16($0) }
            b16 = b32.map { Float16($0) }
            abf = a32.map { BFloat16($0) }
            bbf = b32.map { BFloat16($0) }
            switch c.formatA { case .f32: break; case .f16: a32 = a16.map { Float($0) }; case .bf16: a32 = abf.map { Float($0) } }
            switch c.formatB { case .f32: break; case .f16: b32 = b16.map { Float($0) }; case .bf16: b32 = bbf.map { Float($0) } }
            aStrides = c.transposeA ? (1, c.m) : (c.k, 1)
            bStrides = c.transposeB ? (1, c.k) : (c.n, 1)
        }
        func a(_ i: Int, _ j: Int) -> Float { a32[i * aStrides.0 + j * aStrides.1] }
        func b(_ i: Int, _ j: Int) -> Float { b32[i * bStrides.0 + j * bStrides.1] }
    }

    /// The operand in its storage format, for the duration of `body`.
    static func withElements<R>(_ format: Format, _ f32: [Float], _ f16: [Float16], _ bf: [BFloat16],
                                _ body: (MatrixOperand.Elements) -> R) -> R {
        switch format {
        case .f32: f32.withUnsafeBufferPointer { body(.float32($0.baseAddress!)) }
        case .f16: f16.withUnsafeBufferPointer { body(.float16($0.baseAddress!)) }
        case .bf16: bf.withUnsafeBufferPointer { body(.bfloat16($0.baseAddress!)) }
        }
    }

    static func run(_ c: Case, _ o: Operands, isa: KernelISA, threads: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: c.m * c.n)
        withElements(c.formatA, o.a32, o.a16, o.abf) { ea in
            withElements(c.formatB, o.b32, o.b16, o.bbf) { eb in
                out.withUnsafeMutableBufferPointer { out in
                    GEMM.multiply(m: c.m, n: c.n, k: c.k,
                                  a: MatrixOperand(ea, rowStride: o.aStrides.0, colStride: o.aStrides.1),
                                  b: MatrixOperand(eb, rowStride: o.bStrides.0, colStride: o.bStrides.1),
                                  into: out.baseAddress!, ldc: c.n, isa: isa, threads: threads)
                }
            }
        }
        return out
    }

    @Test("every element is the fma chain over k from +0, at every ISA level and thread count",
          arguments: cases, KernelISA.allCases)
    func bitExact(c: Case, isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        let o = Operands(c, seed: UInt64(c.m * 31 + c.n * 7 + c.k))
        var reference = [Float](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var acc: Float = 0
                for p in 0..<c.k { acc = acc.addingProduct(o.a(i, p), o.b(p, j)) }
                reference[i * c.n + j] = acc
            }
        }
        for threads in [1, 2, 3] {
            let out = Self.run(c, o, isa: isa, threads: threads)
            let i = firstBitDifference(out, reference)
            #expect(i == nil, "\(c) \(isa) threads \(threads): element \(i ?? 0) is \(out[i ?? 0]), fma chain gives \(reference[i ?? 0])")
        }
    }

    @Test("float32 GEMM agrees with a Float64 product within its error bound")
    func accuracy() {
        let c = Case(m: 40, n: 50, k: 700, transposeA: false, transposeB: false, formatA: .f32, formatB: .f32)
        let o = Operands(c, seed: 99)
        let out = Self.run(c, o, isa: .best, threads: 2)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var exact = 0.0, magnitude = 0.0
                for p in 0..<c.k {
                    exact += Double(o.a(i, p)) * Double(o.b(p, j))
                    magnitude += abs(Double(o.a(i, p)) * Double(o.b(p, j)))
                }
                // Recursive summation bound: |error| <= k * u * sum |a b|, u = 2^-24.
                let bound = Double(c.k) * 0x1p-24 * magnitude
                #expect(abs(Double(out[i * c.n + j]) - exact) <= bound)
            }
        }
    }
}

@Suite("Exact fused multiply-add")
struct FusedMultiplyAddTests {
    @Test("Float.fma (round-to-odd through Double) equals the correctly rounded fmaf on 2 million inputs")
    func floatFMA() {
        var rng = SplitMix64(seed: 11)
        var bad = 0
        func check(_ a: Float, _ b: Float, _ c: Float) {
            let mine = Float.fma(a, b, c), exact = c.addingProduct(a, b)
            if mine.isNaN ? !exact.isNaN : mine.bitPattern != exact.bitPattern {
                if bad < 3 { Issue.record("fma(\(a), \(b), \(c)) = \(mine), exact \(exact)") }
                bad += 1
            }
        }
        for i in 0..<2_000_000 {
            // Random bit patterns, and products that nearly cancel c (where double rounding bites).
            let a = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            let b = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if i % 2 == 0 {
                check(a, b, Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())))
            } else {
                let x = Float(rng.nextUniform(-2, 2)), y = Float(rng.nextUniform(-2, 2))
                let c = -(x * y) + Float(rng.nextUniform(-1, 1)) * (x * y).ulp * 2
                check(x, y, c)
            }
        }
        for special: Float in [.infinity, -.infinity, .nan, 0, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude] {
            check(special, 2, 1); check(2, special, -1); check(1, 1, special); check(special, special, special)
        }
        #expect(bad == 0)
    }
}

@Suite("Optimizer kernels")
struct OptimizerKernelTests {
    static func randomArrays(_ n: Int, seed: UInt64) -> ([Float], [Float], [Float], [Float]) {
        var rng = SplitMix64(seed: seed)
        func draw() -> [Float] { (0..<n).map { _ in Float(rng.nextNormal()) * Float(Double.pow(10, rng.nextUniform(-6, 3))) } }
        var v = draw().map { abs($0) }
        v[0] = 0
        return (draw(), draw(), draw(), v)
    }

    @Test("the C SGD loop equals SGDStep<Float>.apply bit for bit at every ISA level",
          arguments: [(0.0, 0.0, 0.0, false), (0.9, 0.0, 5e-4, true), (0.937, 0.3, 0.01, false), (0.5, 0.0, 0.0, false)], KernelISA.allCases)
    func sgd(settings: (momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool), isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        let (momentum, dampening, weightDecay, nesterov) = settings
        let k = SGDStep<Float>(lr: 0.013, momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov)
        for first in [true, false] {
            let (p0, g, b0, _) = Self.randomArrays(1003, seed: 5)
            var expectedP = p0, expectedB = b0
            for i in p0.indices { k.apply(p: &expectedP[i], grad: g[i], buffer: &expectedB[i], first: first) }
            var p = p0, b = b0
            p.withUnsafeMutableBufferPointer { pv in
                g.withUnsafeBufferPointer { gv in
                    b.withUnsafeMutableBufferPointer { bv in k.apply(p: pv, grad: gv, buffer: bv, first: first, isa: isa) }
                }
            }
            #expect(p.map(\.bitPattern) == expectedP.map(\.bitPattern), "\(isa) first \(first): parameters")
            if momentum != 0 { #expect(b.map(\.bitPattern) == expectedB.map(\.bitPattern), "\(isa): buffer") }
        }
    }

    @Test("the C Adam loop equals AdamStep<Float>.apply bit for bit at every ISA level",
          arguments: [(0.9, 0.0, false), (0.3, 0.01, false), (0.937, 0.05, true)], KernelISA.allCases)
    func adam(settings: (beta1: Double, weightDecay: Double, decoupled: Bool), isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        let (beta1, weightDecay, decoupled) = settings
        for step in [1, 2, 57] {
            let k = AdamStep<Float>(lr: 0.002, beta1: beta1, beta2: 0.999, eps: 1e-8, weightDecay: weightDecay,
                                    decoupled: decoupled, step: step)
            let (p0, g, m0, v0) = Self.randomArrays(517, seed: UInt64(step))
            var ep = p0, em = m0, ev = v0
            for i in p0.indices { k.apply(p: &ep[i], grad: g[i], m: &em[i], v: &ev[i]) }
            var p = p0, m = m0, v = v0
            p.withUnsafeMutableBufferPointer { pv in
                g.withUnsafeBufferPointer { gv in
                    m.withUnsafeMutableBufferPointer { mv in
                        v.withUnsafeMutableBufferPointer { vv in k.apply(p: pv, grad: gv, m: mv, v: vv, isa: isa) }
                    }
                }
            }
            #expect(p.map(\.bitPattern) == ep.map(\.bitPattern) && m.map(\.bitPattern) == em.map(\.bitPattern)
                    && v.map(\.bitPattern) == ev.map(\.bitPattern), "\(isa) step \(step)")
        }
    }
}
