import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTraces
import HalfTraceTraining
import Testing

@Suite("GradScaler")
struct GradScalerTests {
    @Test("update rule, worked by hand from torch.amp.GradScaler: init 4, interval 3, an inf at the fifth update: 4, 4, 8, 8, 4, 4, 4, 8")
    func workedExample() throws {
        let s = try GradScaler(initScale: 4, growthInterval: 3)
        var scales: [Float] = []
        for k in 0..<8 {
            s.advance(foundInf: k == 4)
            scales.append(s.scale)
        }
        // the scale *after* each update: growth at the third clean update (tracker == interval)
        #expect(scales == [4, 4, 8, 8, 4, 4, 4, 8])
    }

    static let patterns: [UInt64] = Array(0..<12)

    @Test("property: scale == init * growth^g * backoff^b (clamped); tracker < interval; min_scale is a floor",
          arguments: patterns)
    func recurrence(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let interval = 1 + rng.nextIndex(below: 6), minScale: Double? = seed % 3 == 0 ? 0.25 : nil
        let s = try GradScaler(initScale: 1024, growthFactor: 2, backoffFactor: 0.5, growthInterval: interval, minScale: minScale)
        var expected = 1024.0, clean = 0
        for _ in 0..<400 {
            let inf = rng.nextUnit() < 0.3
            s.advance(foundInf: inf)
            if inf { expected = max(expected * 0.5, minScale ?? 0); clean = 0 } else {
                clean += 1
                if clean == interval {
                    if Float(expected * 2).isFinite { expected *= 2 }  // growth refused at Float32's top
                    clean = 0
                }
            }
            #expect(Double(s.scale) == expected)
            #expect(s.growthTracker < interval)
            if let minScale { #expect(Double(s.scale) >= minScale) }
        }
    }

    @Test("growth is refused when the grown scale would overflow Float32; max_scale caps it")
    func growthLimits() throws {
        let s = try GradScaler(initScale: 3e38, growthInterval: 1)
        s.advance(foundInf: false)
        #expect(s.scale == Float(3e38) && s.growthTracker == 0)
        let capped = try GradScaler(initScale: 1, growthInterval: 1, maxScale: 5)
        for _ in 0..<5 { capped.advance(foundInf: false) }
        #expect(capped.scale == 5)
    }

    @Test("hysteresis: back off only after N overflows; the two refill rules differ as documented")
    func hysteresis() throws {
        let clean = try GradScaler(initScale: 64, growthInterval: 100, hysteresis: 2, refill: .afterCleanStep)
        let growth = try GradScaler(initScale: 64, growthInterval: 100, hysteresis: 2, refill: .onGrowth)
        for inf in [true, true, false, true] {
            clean.advance(foundInf: inf)
            growth.advance(foundInf: inf)
        }
        #expect(clean.scale == 32, "apex: refilled by the clean step, the last overflow only spends budget")
        #expect(growth.scale == 16, "Megatron: no growth yet, so every overflow after the budget backs off")
    }

    @Test("1,000 consecutive overflows, then clean steps: no parameter ever becomes NaN (PyTorch's defect)")
    func noNaNAfterLongOverflow() throws {
        var o = ScalerTraceOptions()
        o.steps = 1010
        o.infSteps = Array(0..<1000)
        var finite = true
        let trace = try ScalerTraces.run(o) { _, p in finite = finite && p.allSatisfy(\.isFinite) }
        #expect(finite)
        #expect(trace.rows.last![4] == 0, "the scale underflowed to 0 (no floor), yet nothing reached the parameters")
        #expect(trace.rows[1005][3] == 1, "steps with 1/scale = inf are skipped")
    }

    @Test("misuse is a thrown error with PyTorch's meaning")
    func misuse() throws {
        let p = Tensor([1], dtype: .float32, requiresGrad: true)
        let opt = try SGD(groups: [ParamGroup(params: [p], lr: 0.1)])
        let s = try GradScaler()
        #expect { try s.update() } throws: { "\($0)" == "No inf checks were recorded prior to update()." }
        s.scale((p * Tensor([2], dtype: .float32)).sum()).backward()
        try s.unscale(opt)
        #expect { try s.unscale(opt) } throws: { "\($0)".hasPrefix("unscale_() has already been called") }
        try s.step(opt)
        #expect { try s.step(opt) } throws: { "\($0)".hasPrefix("step() has already been called") }
        #expect { try s.unscale(opt) } throws: { "\($0)" == "unscale_() is being called after step()." }
        try s.update()
        #expect(p.item() == Double(Float.fma(2, -Float(0.1), 1)), "p - lr * g in Float32, fused")
        #expect(throws: HalfTraceError.self) { try GradScaler(growthFactor: 1) }
        #expect(throws: HalfTraceError.self) { try GradScaler(backoffFactor: 1.5) }
        #expect(throws: HalfTraceError.self) { try GradScaler(growthInterval: 0) }
    }

    @Test("two optimizers, both overflowing: one backoff per iteration; each skips its own step")
    func twoOptimizers() throws {
        let a = Tensor([1], dtype: .float32, requiresGrad: true), b = Tensor([1], dtype: .float32, requiresGrad: true)
        let oa = try SGD(groups: [ParamGroup(params: [a], lr: 0.1)]), ob = try SGD(groups: [ParamGroup(params: [b], lr: 0.1)])
        let s = try GradScaler(initScale: 1024)
        s.scale((a * Tensor([1], dtype: .float32)).sum()).backward()
        s.scale((b * Tensor([1], dtype: .float32)).sum()).backward()
        a.grad!.storage = .float32([.infinity])
        b.grad!.storage = .float32([.nan])
        #expect(try s.step(oa) == false)
        #expect(try s.step(ob) == false)
        try s.update()
        #expect(s.scale == 512)
        let only = try GradScaler(initScale: 1024)
        a.zeroGrad(); b.zeroGrad()
        only.scale((a * Tensor([1], dtype: .float32)).sum()).backward()
        only.scale((b * Tensor([1], dtype: .float32)).sum()).backward()
        a.grad!.storage = .float32([.infinity])
        #expect(try only.step(oa) == false)
        #expect(try only.step(ob) == true, "the other optimizer steps")
        try only.update()
        #expect(only.scale == 512 && b.item() == Double(Float.fma(1, -Float(0.1), 1)))
    }

    @Test("YOLOv5's step order: clipping sees the unscaled gradient, an overflow skips, gradients are zeroed")
    func optimizerStepOrder() throws {
        let p = Tensor([0, 0], dtype: .float32, requiresGrad: true)
        let opt = try SGD(groups: [ParamGroup(params: [p], lr: 0.1)])
        let s = try GradScaler(initScale: 1024)
        s.scale((p * Tensor([60, 80], dtype: .float32)).sum()).backward()  // unscaled norm 100
        let outcome = try yolov5OptimizerStep(opt, scaler: s, maxNorm: 10)
        #expect(outcome.stepped && outcome.gradientNorm == 100, "the norm before clipping: \(outcome.gradientNorm)")
        let clipped = Float(10) / (Float(100) + Float(1e-6))
        #expect(p.doubles == [Double(Float.fma(60 * clipped, -0.1, 0)), Double(Float.fma(80 * clipped, -0.1, 0))])
        #expect(p.grad == nil, "zeroed")
        s.scale((p * Tensor([.infinity, 1], dtype: .float32)).sum()).backward()
        let before = p.doubles
        #expect(try yolov5OptimizerStep(opt, scaler: s, maxNorm: 10).stepped == false)
        #expect(p.doubles == before && s.scale == 512)
    }

    @Test("disabled scaler is a pass-through; state saves and restores exactly")
    func disabledAndState() throws {
        let p = Tensor([1], dtype: .float32, requiresGrad: true)
        let opt = try SGD(groups: [ParamGroup(params: [p], lr: 0.5)])
        let off = try GradScaler(enabled: false)
        let loss = (p * Tensor([3], dtype: .float32)).sum()
        #expect(off.scale(loss) === loss)
        loss.backward()
        #expect(try off.step(opt))
        try off.update()
        #expect(p.item() == -0.5)
        let s = try GradScaler(initScale: 256, growthInterval: 3, hysteresis: 2)
        for inf in [false, true, false] { s.advance(foundInf: inf) }
        let copy = try GradScaler(state: s.state)
        for inf in [true, true, false, false, false, false] { s.advance(foundInf: inf); copy.advance(foundInf: inf) }
        #expect(s.state == copy.state)
    }
}
