import Foundation
import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceTestSupport
import HalfTraceTraining
import Testing

/// bfloat16 rounding from its definition, independent of the integer trick the kernels use: the
/// two bfloat16 values around |x| are found by binary search over the bit patterns (values are
/// monotonic in the pattern), their distances to x compared exactly in Double, ties to the even
/// pattern. Overflow follows IEEE 754: 2^128 stands for the value after the largest finite one,
/// so |x| at or above the midpoint (2^128 - 2^119) rounds to infinity.
enum BFloat16Reference {
    static func value(_ p: UInt16) -> Double { p == 0x7F80 ? 0x1p128 : Double(Float(bitPattern: UInt32(p) << 16)) }

    /// The nearest bfloat16 pattern; nil for NaN (whose result is a rule, not a rounding).
    static func round(_ x: Double) -> UInt16? {
        if x.isNaN { return nil }
        let sign: UInt16 = x.sign == .minus ? 0x8000 : 0
        let a = x.magnitude
        if a >= 0x1p128 { return sign | 0x7F80 }
        var lo: UInt16 = 0, hi: UInt16 = 0x7F80  // value(lo) <= a < value(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if value(mid) <= a { lo = mid } else { hi = mid }
        }
        let below = a - value(lo), above = value(hi) - a  // exact: Sterbenz's lemma
        return sign | (below < above ? lo : above < below ? hi : (lo & 1 == 0 ? lo : hi))
    }

    static func round(_ x: Float) -> UInt16? { round(Double(x)) }
}

private func hex(_ v: some BinaryInteger) -> String { "0x" + String(v, radix: 16) }

@Suite("bfloat16 conversion")
struct BFloat16ConversionTests {
    static let allPatterns: [BFloat16] = (0...UInt16.max).map { BFloat16(bitPattern: $0) }

    @Test("all 65,536 bfloat16 patterns widen exactly and narrow back to themselves, on every path",
          arguments: KernelISA.allCases)
    func roundTripExhaustive(isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        let wide = BFloat16Conversion.widen(Self.allPatterns, isa: isa)
        let back = BFloat16Conversion.narrow(wide, isa: isa)
        var bad = 0
        for (i, b) in Self.allPatterns.enumerated() {
            let expectedWide = UInt32(b.bitPattern) << 16
            // A NaN keeps its payload and comes back quiet; every other pattern comes back as is.
            let expectedBack = b.isNaN ? b.bitPattern | 0x40 : b.bitPattern
            if wide[i].bitPattern != expectedWide || back[i].bitPattern != expectedBack {
                if bad < 3 { Issue.record("\(hex(b.bitPattern)) widened to \(hex(wide[i].bitPattern)), narrowed back to \(hex(back[i].bitPattern)) (\(isa))") }
                bad += 1
            }
        }
        #expect(bad == 0, "\(bad) of 65,536 patterns")
    }

    /// Every tie (the midpoint above each finite pattern) and the Floats just beside it, every
    /// exponent boundary, the overflow threshold, subnormals, signed zeros, infinities and NaNs
    /// (signalling and quiet, payload only in the low half), and random bit patterns.
    static let probes: [Float] = {
        var bits: [UInt32] = [0x7F7F_7FFF, 0x7F7F_8000, 0x7F7F_8001, 0x7F7F_FFFF, 0x7F80_0000, 0x7F80_0001, 0x7F80_8000,
                              0x7FBF_FFFF, 0x7FC0_0000, 0x7FFF_FFFF, 0x0000_0000, 0x0000_0001, 0x0000_7FFF, 0x0000_8000,
                              0x0000_8001, 0x0001_8000, 0x007F_FFFF, 0x007F_8000, 0x0080_0000]
        for p in UInt32(0)..<0x7F80 {
            let tie = p << 16 | 0x8000
            bits += [tie, tie - 1, tie + 1, p << 16]
        }
        for e in UInt32(0)...255 {
            let power = e << 23
            bits += [power, power &- 1, power | 0x7F_FFFF, power | 0x7F_8000, power | 0x7F_7FFF, power | 0x1_8000, power | 0x8000]
        }
        var state: UInt64 = 0x5EED
        for _ in 0..<1_000_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bits.append(UInt32(truncatingIfNeeded: state >> 32))
        }
        let positive = bits.map { $0 & 0x7FFF_FFFF }
        return (positive + positive.map { $0 | 0x8000_0000 }).map(Float.init(bitPattern:))
    }()

    @Test("narrowing equals the independent reference on every tie, exponent boundary and 2M random Floats, on every path",
          arguments: KernelISA.allCases)
    func narrowAgainstReference(isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        let out = BFloat16Conversion.narrow(Self.probes, isa: isa)
        var bad = 0
        for (x, b) in zip(Self.probes, out) {
            let expected = BFloat16Reference.round(x) ?? UInt16(truncatingIfNeeded: x.bitPattern >> 16) | 0x40
            if b.bitPattern != expected {
                if bad < 5 { Issue.record("\(hex(x.bitPattern)) narrowed to \(hex(b.bitPattern)), expected \(hex(expected)) (\(isa))") }
                bad += 1
            }
        }
        #expect(bad == 0, "\(bad) of \(Self.probes.count) probes")
        // The boundaries by value: the largest finite bfloat16 is 0x7F7F; from the midpoint
        // 2^128 - 2^119 up, values overflow; a NaN whose payload sits in the low half stays NaN.
        let edge = BFloat16Conversion.narrow([Float(bitPattern: 0x7F7F_7FFF), Float(bitPattern: 0x7F7F_8000),
                                              Float(bitPattern: 0x7F80_0001), 0x1p-133, 0x1p-134, 0x1.8p-134], isa: isa)
        #expect(edge.map(\.bitPattern) == [0x7F7F, 0x7F80, 0x7FC0, 0x0001, 0x0000, 0x0001])
    }

    @Test("vector bodies, tails and misaligned starts give the scalar bits, with subnormal lanes mixed in",
          arguments: KernelISA.allCases)
    func tailsAndMixedLanes(isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        var state: UInt64 = 99
        var values: [Float] = []
        for _ in 0..<4096 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let r = UInt32(truncatingIfNeeded: state >> 32)
            // one lane in four a subnormal (what the AVX-512 BF16 instruction would flush)
            values.append(Float(bitPattern: r % 4 == 0 ? r & 0x807F_FFFF : r))
        }
        values.withUnsafeBufferPointer { all in
            for start in 0..<3 {
                for n in [0, 1, 7, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 1000] {
                    let src = UnsafeBufferPointer(rebasing: all[start..<(start + n)])
                    var out = [BFloat16](repeating: BFloat16(bitPattern: 0xDEAD), count: n)
                    out.withUnsafeMutableBufferPointer { BFloat16Conversion.narrow(src, into: $0, isa: isa) }
                    let scalar = src.map { BFloat16($0) }
                    #expect(out == scalar, "narrow \(n) from offset \(start) (\(isa))")
                    let wide = BFloat16Conversion.widen(scalar, isa: isa)
                    #expect(wide.map(\.bitPattern) == scalar.map { UInt32($0.bitPattern) << 16 }, "widen \(n) (\(isa))")
                }
            }
        }
    }

    /// Every upper half (sign, exponent, top of the significand: each NaN, infinity, subnormal
    /// and normal class) joined with every rounding class of the lower half (zero, one, just below,
    /// at and above the tie, all ones) and random lower halves: 2^16 x 32 Floats.
    @Test("the vector paths agree with the portable path on every upper half with 32 lower halves each",
          arguments: KernelISA.allCases.filter { $0 != .portable })
    func pathAgreement(isa: KernelISA) throws {
        try isa.requireOnThisCPU()
        var rng = SplitMix64(seed: 17)
        let lows: [UInt32] = [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x4000, 0xC000]
            + (0..<24).map { _ in UInt32(truncatingIfNeeded: rng.next()) & 0xFFFF }
        let input = (0...UInt32(0xFFFF)).flatMap { high in lows.map { Float(bitPattern: high << 16 | $0) } }
        let reference = BFloat16Conversion.narrow(input, isa: .portable)
        let out = BFloat16Conversion.narrow(input, isa: isa)
        let i = out.indices.first { out[$0] != reference[$0] }
        #expect(out.count == input.count && i == nil,
                "\(hex(input[i ?? 0].bitPattern)): \(isa) gives \(hex(out[i ?? 0].bitPattern)), portable \(hex(reference[i ?? 0].bitPattern))")
    }

    @Test("BFloat16(Float) and BFloat16(Double) round once, to nearest even (no double rounding through Float)")
    func scalarConversions() {
        for x in Self.probes.prefix(200_000) {
            let expected = BFloat16Reference.round(x) ?? UInt16(truncatingIfNeeded: x.bitPattern >> 16) | 0x40
            #expect(BFloat16(x).bitPattern == expected, "BFloat16(\(x))")
        }
        var rng = SplitMix64(seed: 5)
        var doubles: [Double] = []
        for p in stride(from: UInt16(1), to: 0x7F7F, by: 7) {
            let lo = BFloat16Reference.value(p), hi = BFloat16Reference.value(p + 1), mid = (lo + hi) / 2
            // Just above and below a tie by less than a Float ulp: through Float these land on
            // the tie and round to even, which is wrong for one of the two.
            doubles += [mid, mid.nextUp, mid.nextDown, mid + (hi - lo) * 0x1p-30, mid - (hi - lo) * 0x1p-30]
        }
        for _ in 0..<100_000 { doubles.append(Double(bitPattern: rng.next() & ~(UInt64(1) << 63)) * (rng.next() & 1 == 0 ? 1 : -1)) }
        var bad = 0
        for x in doubles where !x.isNaN {
            let expected = BFloat16Reference.round(x)!
            if BFloat16(x).bitPattern != expected {
                if bad < 3 { Issue.record("BFloat16(\(x)) = \(hex(BFloat16(x).bitPattern)), expected \(hex(expected))") }
                bad += 1
            }
        }
        #expect(bad == 0)
        #expect(BFloat16(Double.nan).isNaN && BFloat16(Float.nan).isNaN)
    }
}

/// Each op on bfloat16 storage equals the reference rounding of the Float result: computed in
/// Float, rounded once (the Float results come from the same C library calls as the engine's).
@Suite("bfloat16 semantics of every op")
struct BFloat16OpsTests {
    static var all: Tensor { Tensor(storage: .bfloat16(BFloat16ConversionTests.allPatterns), shape: [65536]) }

    static func matches(_ y: BFloat16, _ exact: Float) -> Bool {
        if let expected = BFloat16Reference.round(exact) { return y.bitPattern == expected }
        return y.isNaN
    }

    @Test("unary op on all 65,536 bfloat16 patterns", arguments: Float16OpsTests.unaries)
    func unaryExhaustive(u: Float16OpsTests.Unary) {
        let out = u.op(Self.all)
        guard case .bfloat16(let y) = out.storage else { Issue.record("storage is \(out.dtype), not bfloat16"); return }
        var bad = 0
        for (x, yi) in zip(BFloat16ConversionTests.allPatterns, y) where !Self.matches(yi, u.reference(Float(x))) {
            if bad < 3 { Issue.record("\(u.name)(\(x)) = \(yi) (\(hex(yi.bitPattern)))") }
            bad += 1
        }
        #expect(bad == 0, "\(bad) of 65,536 patterns differ")
    }

    @Test("binary op on 300,000 random bfloat16 pairs", arguments: Float16OpsTests.binaries)
    func binarySample(b: Float16OpsTests.Binary) {
        var rng = SplitMix64(seed: 43)
        let n = 300_000
        let xs = (0..<n).map { _ in BFloat16(bitPattern: UInt16(truncatingIfNeeded: rng.next())) }
        let ys = (0..<n).map { _ in BFloat16(bitPattern: UInt16(truncatingIfNeeded: rng.next())) }
        let out = b.op(Tensor(storage: .bfloat16(xs), shape: [n]), Tensor(storage: .bfloat16(ys), shape: [n]))
        guard case .bfloat16(let z) = out.storage else { Issue.record("not bfloat16"); return }
        let bad = (0..<n).filter { !Self.matches(z[$0], b.reference(Float(xs[$0]), Float(ys[$0]))) }.count
        #expect(bad == 0, "\(bad) of \(n) pairs differ")
    }

    @Test("bfloat16 overflows only near 3.4e38 and keeps subnormals down to 2^-133")
    func rangeEnds() {
        let x = Tensor([88.5, 89, -91, -92.5, -93], dtype: .bfloat16)
        let y = x.exp().doubles
        #expect(y[0].isFinite && y[1].isInfinite, "exp(88.5) = 2.7e38 fits, exp(89) = 4.5e38 overflows: \(y)")
        #expect(y[2] > 0x1p-133 && y[2] < 0x1p-126, "exp(-91) = 3.0e-40 is a bfloat16 subnormal: \(y[2])")
        #expect(y[3] == 0x1p-133, "exp(-92.5) = 6.9e-41 rounds up to the smallest subnormal 2^-133: \(y[3])")
        #expect(y[4] == 0, "exp(-93) = 4.2e-41 is below 2^-134 and flushes to zero: \(y[4])")
        #expect((Tensor([256], dtype: .bfloat16) + Tensor([1], dtype: .bfloat16)).item() == 256, "256 + 1 == 256 with 8 significant bits")
    }

    @Test("float16 with bfloat16 promotes to float32 (neither holds the other), as torch.promote_types")
    func promotion() {
        let h = Tensor([0.1, 60000], dtype: .float16), b = Tensor([0.1, 1e30], dtype: .bfloat16)
        let s = h + b
        #expect(s.dtype == .float32)
        #expect(s.doubles == [Double(Float(Float16(0.1)) + Float(BFloat16(Float(0.1)))), Double(Float(60000) + Float(BFloat16(Float(1e30))))])
        #expect(DType.widest(.bfloat16, .float32) == .float32 && DType.widest(.float16, .bfloat16) == .float32)
    }

    @Test("bfloat16 matmul packs to Float32, accumulates in Float32 and rounds once")
    func matmulAccumulatesInFloat() {
        let k = 64
        let a = Tensor([256] + [Double](repeating: 1, count: k - 1), shape: [1, k], dtype: .bfloat16)
        let b = Tensor([Double](repeating: 1, count: k), shape: [k, 1], dtype: .bfloat16)
        let y = a.matmul(b)
        #expect(y.dtype == .bfloat16)
        // 256 + 63 = 319 in Float32, rounded once to 320; a bfloat16 accumulator would stay at 256.
        #expect(y.item() == 320)
    }

    @Test("withAutocast(.bfloat16): matmul in bfloat16, reductions in float32, gradients reach float32 masters")
    func autocast() {
        let w = Tensor([0.1, 0.2, 0.3, 0.4], shape: [2, 2], dtype: .float32, requiresGrad: true)
        let x = Tensor([1, 2, 3, 4], shape: [2, 2], dtype: .float32)
        let (y, loss) = withAutocast(.bfloat16) { () -> (Tensor, Tensor) in
            let y = x.matmul(w)
            return (y, y.sum())
        }
        #expect(y.dtype == .bfloat16 && loss.dtype == .float32)
        let expected = [Float(1) * Float(BFloat16(Float(0.1))) + 2 * Float(BFloat16(Float(0.3)))]
        #expect(y.doubles[0] == Double(Float(BFloat16(expected[0]))))
        loss.backward()
        #expect(w.grad?.dtype == .float32)
        #expect(w.grad?.doubles == [4, 4, 6, 6])
    }

    @Test("the underflow counter counts bfloat16 flushes as it counts float16 ones")
    func underflowCounting() {
        let counter = UnderflowCounter()
        UnderflowCounter.$current.withValue(counter) {
            _ = Tensor([1e-45, 1e-40, 1, 0], dtype: .float32).cast(to: .bfloat16)
            _ = Tensor([1e-8, 1e-6, 0], dtype: .float32).cast(to: .float16)
        }
        // 1e-45 (below half of 2^-133) flushes in bfloat16; 1e-8 (below 2^-25) in float16.
        #expect(counter.elements == 7 && counter.flushed == 2)
    }
}
