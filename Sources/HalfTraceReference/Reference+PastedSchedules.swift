import Foundation

// Learning-rate schedules of other packages, written from their Python sources without the engine's
// code: torch 2.13 `torch/optim/lr_scheduler.py`, timm 1.0.31 `timm/scheduler/*.py`, transformers 5.25
// `transformers/optimization.py`, DeepSpeed 0.19.8 `deepspeed/runtime/lr_schedules.py` and
// megatron-core 0.16.1 `megatron/core/optimizer_param_scheduler.py`.
//
// Every function returns the lr of one parameter group at row k: the value after k calls of
// `scheduler.step()` (row 0: right after construction, the lr of the first training step). timm: row t
// is the value after `scheduler.step(t)`, row 0 is what the constructor leaves (warmup_lr_init when
// warmup_t is truthy, else the lr; the constructor does not evaluate `_get_lr(0)`). DeepSpeed: row k is
// the schedule at last_batch_iteration k - 1. Megatron: row k is `get_lr` at num_steps k.
//
// Closed forms, not PyTorch's chainable recursions. Every integer fact (phase, cycle, milestone) is
// decided in integers or exact fractions, also where the package decides it in floating point (timm's
// cycle index from math.log, the float cycle position of CyclicLR and DeepSpeed's OneCycle). Where the
// package raises (a constructor check, a division by zero, an unknown mode) the function returns NaN;
// each comment lists its cases. No input traps: integer divisions are guarded and cycle walks bounded.
extension Reference {
    // MARK: torch/optim/lr_scheduler.py

    /// `SequentialLR([LinearLR(start_factor=s, end_factor=1.0, total_iters=w), CosineAnnealingLR(T_max,
    /// eta_min)], milestones=[w])`. k < w: LinearLR `_get_closed_form_lr`, lr (s + (1 - s) k / w);
    /// k >= w: CosineAnnealingLR `_get_closed_form_lr` at k - w (SequentialLR.step restarts it with
    /// `_update_lr(0)` at the milestone), eta_min + (lr - eta_min) (1 + cos(pi (k - w) / T_max)) / 2.
    /// w = 0 is the cosine alone. NaN for start_factor outside (0, 1] (LinearLR raises) and for T_max = 0
    /// (torch divides by zero).
    public static func torchLinearThenCosine(_ k: Int, lr: Double, startFactor s: Double, warmupIters w: Int, tMax: Int, etaMin: Double) -> Double {
        guard s > 0, s <= 1 else { return .nan }
        if k < w { return lr * (s + (1.0 - s) * Double(k) / Double(w)) }
        return etaMin + (lr - etaMin) * (1 + cos(Double.pi * Double(k - w) / Double(tMax))) / 2
    }

    /// `OneCycleLR.get_lr` at last_epoch k. Phase ends as its `__init__` computes them in floating point:
    /// pct_start T - 1 and T - 1, or with three_phase pct_start T - 1, 2 pct_start T - 2 and T - 1; the
    /// first phase whose end is >= k (or the last one) anneals from its start to its end lr with
    /// pct = (k - start_step) / (end_step - start_step), start_step the previous end (0 first).
    /// initial_lr = max_lr / div_factor, min_lr = initial_lr / final_div_factor. cos: end + (start -
    /// end) / 2 (cos(pi pct) + 1); linear: (end - start) pct + start. NaN for k > T (torch raises), for
    /// total_steps <= 0 or pct_start outside [0, 1], and where a phase is empty (0 / 0).
    public static func torchOneCycle(_ k: Int, maxLR: Double, totalSteps: Int, pctStart: Double, divFactor: Double, finalDivFactor: Double,
                                     cosine: Bool, threePhase: Bool) -> Double {
        guard totalSteps > 0, pctStart >= 0, pctStart <= 1, k <= totalSteps else { return .nan }
        let initialLR = maxLR / divFactor, minLR = initialLR / finalDivFactor, total = Double(totalSteps)
        let phases: [(end: Double, startLR: Double, endLR: Double)] = threePhase
            ? [(pctStart * total - 1, initialLR, maxLR), (2 * pctStart * total - 2, maxLR, initialLR), (total - 1, initialLR, minLR)]
            : [(pctStart * total - 1, initialLR, maxLR), (total - 1, maxLR, minLR)]
        var startStep = 0.0
        for (n, phase) in phases.enumerated() {
            if Double(k) <= phase.end || n == phases.count - 1 {
                let pct = (Double(k) - startStep) / (phase.end - startStep)
                if cosine { return phase.endLR + (phase.startLR - phase.endLR) / 2.0 * (cos(Double.pi * pct) + 1) }
                return (phase.endLR - phase.startLR) * pct + phase.startLR
            }
            startStep = phase.end
        }
        return .nan
    }

    /// `CyclicLR.get_lr` at last_epoch k with the class's scale functions and scale modes. With
    /// total = up + down, cycle = 1 + k div total and the position r = k mod total (exact integers in
    /// place of torch's float x = 1 + k / total - cycle): scale = r / up while r <= up, else
    /// (total - r) / down. lr = base_lr + (max_lr - base_lr) scale f, f = 1 (triangular),
    /// 1 / 2^(cycle - 1) (triangular2, per cycle) or gamma^k (exp_range, per iteration).
    /// up = 0 gives NaN at r = 0 (torch divides 0 by 0); NaN for a negative step size, up + down = 0
    /// (torch divides by zero) or an unknown mode.
    public static func torchCyclic(_ k: Int, baseLR: Double, maxLR: Double, stepSizeUp up: Int, stepSizeDown down: Int, mode: String, gamma: Double) -> Double {
        let total = up + down
        guard up >= 0, down >= 0, total > 0, k >= 0 else { return .nan }
        let cycle = 1 + k / total, r = k % total
        let scale = r <= up ? Double(r) / Double(up) : Double(total - r) / Double(down)
        let height = (maxLR - baseLR) * scale
        switch mode {
        case "triangular": return baseLR + height * 1.0
        case "triangular2": return baseLR + height * (1 / pow(2.0, Double(cycle - 1)))
        case "exp_range": return baseLR + height * pow(gamma, Double(k))
        default: return .nan
        }
    }

    /// `CosineAnnealingWarmRestarts` stepped with `step()`: T_cur counts up from 0 and, on reaching T_i,
    /// restarts at 0 with T_i multiplied by T_mult (integer arithmetic, so every restart is exact).
    /// eta_min + (lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2. NaN for T_0 <= 0 or T_mult < 1 (torch raises).
    public static func torchWarmRestarts(_ k: Int, lr: Double, t0: Int, tMult: Int, etaMin: Double) -> Double {
        guard t0 > 0, tMult >= 1 else { return .nan }
        func value(_ tCur: Int, _ tI: Double) -> Double { etaMin + (lr - etaMin) * (1 + cos(Double.pi * Double(tCur) / tI)) / 2 }
        var tCur = k, tI = t0
        while tCur >= tI {
            tCur -= tI
            let (next, overflow) = tI.multipliedReportingOverflow(by: tMult)
            if overflow { return value(tCur, Double(tI) * Double(tMult)) }  // T_i beyond Int: no further restart
            tI = next
        }
        return value(tCur, Double(tI))
    }

    // MARK: timm/scheduler (step_lr.py, multistep_lr.py, poly_lr.py, tanh_lr.py, wsd_lr.py)

    /// Row 0 is what the constructor leaves (`if self.warmup_t:` sets warmup_lr_init); rows below warmup_t
    /// follow `warmup_lr_init + t * warmup_step`, warmup_step = (target - warmup_lr_init) / warmup_t.
    private static func timmWarmup(_ t: Int, lr: Double, warmupT: Int, warmupLRInit: Double, target: Double) -> Double? {
        if t == 0 { return warmupT != 0 ? warmupLRInit : lr }
        if t < warmupT { return warmupLRInit + Double(t) * ((target - warmupLRInit) / Double(warmupT)) }
        return nil
    }

    /// The cycle of timm's cycle_mul schedules (`_get_lr` of poly_lr.py, tanh_lr.py) that contains x >= 0,
    /// with cycle_mul m = p/q: cycle i starts at B_i = T (1 + m + ... + m^(i-1)) and lasts T m^i. The walk
    /// keeps r = (x - B_i) q^i and len = T p^i as integers, so x >= B_(i+1) is the integer test r >= len
    /// (then r becomes (r - len) q). Returns the cycle index, t_curr = r / q^i and t_i = T p^i / q^i, or
    /// nil when x lies at or past the start of cycle cycle_limit (timm returns lr_min there); for m < 1
    /// that includes x >= T / (1 - m), where no cycle contains x and timm's math.log raises. Should the
    /// integers pass 64 bits (large denominators over many cycles) the rest of the walk runs in Double.
    private static func timmCycle(_ x: Int, tInitial: Int, p: Int, q: Int, cycleLimit: Int) -> (i: Int, tCurr: Double, tI: Double)? {
        if p == q {  // m = 1: i = x // T
            let i = x / tInitial
            return i < cycleLimit ? (i, Double(x - i * tInitial), Double(tInitial)) : nil
        }
        var i = 0, r = x, len = tInitial, qI = 1
        while i < cycleLimit && r >= len {
            let (r1, o1) = (r - len).multipliedReportingOverflow(by: q)
            let (len1, o2) = len.multipliedReportingOverflow(by: p)
            let (q1, o3) = qI.multipliedReportingOverflow(by: q)
            if o1 || o2 || o3 {
                let m = Double(p) / Double(q)
                var u = Double(r) / Double(len), tI = Double(len) / Double(qI)  // u = position in cycle lengths
                while i < cycleLimit && u >= 1 {
                    if m < 1 && u >= 1 / (1 - m) { return nil }
                    (u, tI, i) = ((u - 1) / m, tI * m, i + 1)
                }
                return i < cycleLimit ? (i, u * tI, tI) : nil
            }
            (r, len, qI, i) = (r1, len1, q1, i + 1)
        }
        return i < cycleLimit ? (i, Double(r) / Double(qI), Double(len) / Double(qI)) : nil
    }

    /// timm `step_lr.py` StepLRScheduler: warm-up toward lr, then lr decay_rate^(t' div decay_t),
    /// t' = t - warmup_t with warmup_prefix (timm's default True), else t. NaN for decay_t <= 0.
    public static func timmStep(_ t: Int, lr: Double, decayT: Int, decayRate: Double, warmupT: Int, warmupLRInit: Double, warmupPrefix: Bool) -> Double {
        guard decayT > 0 else { return .nan }
        if let w = timmWarmup(t, lr: lr, warmupT: warmupT, warmupLRInit: warmupLRInit, target: lr) { return w }
        let x = warmupPrefix ? t - warmupT : t
        return lr * pow(decayRate, Double(x / decayT))
    }

    /// timm `multistep_lr.py` MultiStepLRScheduler: warm-up toward lr, then lr decay_rate^n, n the number
    /// of milestones m with m <= t' + 1 (timm's convention: milestone m applies at t' = m - 1; t' as in
    /// timmStep). Counted over the list as given; timm's bisect_right assumes it sorted.
    public static func timmMultiStep(_ t: Int, lr: Double, milestones: [Int], decayRate: Double, warmupT: Int, warmupLRInit: Double, warmupPrefix: Bool) -> Double {
        if let w = timmWarmup(t, lr: lr, warmupT: warmupT, warmupLRInit: warmupLRInit, target: lr) { return w }
        let x = warmupPrefix ? t - warmupT : t
        return lr * pow(decayRate, Double(milestones.filter { $0 <= x + 1 }.count))
    }

    /// timm `poly_lr.py` PolyLRScheduler `_get_lr`: warm-up toward lr, then in cycle i (timmCycle, of t'
    /// as in timmStep; timm's default warmup_prefix is False here)
    /// lr_min + (lr cycle_decay^i - lr_min) (1 - t_curr^k / t_i^k)^power, and lr_min from cycle
    /// cycle_limit on. NaN where `__init__` asserts (t_initial <= 0, lr_min < 0) or for a non-positive
    /// cycle_mul fraction.
    public static func timmPoly(_ t: Int, lr: Double, tInitial: Int, power: Double, lrMin: Double, cycleMulNumerator p: Int, cycleMulDenominator q: Int,
                                cycleDecay: Double, cycleLimit: Int, warmupT: Int, warmupLRInit: Double, warmupPrefix: Bool, kDecay: Double) -> Double {
        guard tInitial > 0, lrMin >= 0, p > 0, q > 0 else { return .nan }
        if let w = timmWarmup(t, lr: lr, warmupT: warmupT, warmupLRInit: warmupLRInit, target: lr) { return w }
        guard let c = timmCycle(warmupPrefix ? t - warmupT : t, tInitial: tInitial, p: p, q: q, cycleLimit: cycleLimit) else { return lrMin }
        let lrMax = lr * pow(cycleDecay, Double(c.i))
        return lrMin + (lrMax - lrMin) * pow(1 - pow(c.tCurr, kDecay) / pow(c.tI, kDecay), power)
    }

    /// timm `tanh_lr.py` TanhLRScheduler `_get_lr`: in cycle i (timmCycle) with tr = t_curr / t_i,
    /// lr_min + 0.5 (lr cycle_decay^i - lr_min) (1 - tanh(lb (1 - tr) + ub tr)), lr_min from cycle
    /// cycle_limit on. The warm-up goes toward lr with warmup_prefix, and without it toward the curve's
    /// own value at t = warmup_t (`__init__`: t_v = self._get_lr(self.warmup_t)). NaN where `__init__`
    /// asserts (t_initial <= 0, lr_min < 0, lb >= ub, cycle_limit < 0, warmup_t < 0, warmup_lr_init < 0)
    /// or for a non-positive cycle_mul fraction.
    public static func timmTanh(_ t: Int, lr: Double, tInitial: Int, lb: Double, ub: Double, lrMin: Double, cycleMulNumerator p: Int, cycleMulDenominator q: Int,
                                cycleDecay: Double, cycleLimit: Int, warmupT: Int, warmupLRInit: Double, warmupPrefix: Bool) -> Double {
        guard tInitial > 0, lrMin >= 0, lb < ub, cycleLimit >= 0, warmupT >= 0, warmupLRInit >= 0, p > 0, q > 0 else { return .nan }
        func curve(_ x: Int) -> Double {
            guard let c = timmCycle(x, tInitial: tInitial, p: p, q: q, cycleLimit: cycleLimit) else { return lrMin }
            let lrMax = lr * pow(cycleDecay, Double(c.i)), tr = c.tCurr / c.tI
            return lrMin + 0.5 * (lrMax - lrMin) * (1 - tanh(lb * (1.0 - tr) + ub * tr))
        }
        let target = warmupPrefix || warmupT == 0 ? lr : curve(warmupT)
        if let w = timmWarmup(t, lr: lr, warmupT: warmupT, warmupLRInit: warmupLRInit, target: target) { return w }
        return curve(warmupPrefix ? t - warmupT : t)
    }

    /// timm `wsd_lr.py` WSDLRScheduler with stable_fn 'constant': warm-up toward lr (always a prefix),
    /// then max(lr, lr_min) until t_decay = t - warmup_t - (t_initial - decay_t) > 0, then
    /// lr_min + (max(lr, lr_min) - lr_min) d(min(t_decay / decay_t, 1)) with d(f) = 1 - f (linear),
    /// 1 - sqrt(f) (1-sqrt) or 0.5 (1 + cos(pi f)) (cosine). NaN where `__init__` raises (t_initial <= 0,
    /// decay_t outside (0, t_initial], lr_min < 0) and for any other decay_fn.
    public static func timmWSD(_ t: Int, lr: Double, tInitial: Int, decayT: Int, lrMin: Double, decayFn: String, warmupT: Int, warmupLRInit: Double) -> Double {
        guard tInitial > 0, decayT > 0, decayT <= tInitial, lrMin >= 0 else { return .nan }
        if let w = timmWarmup(t, lr: lr, warmupT: warmupT, warmupLRInit: warmupLRInit, target: lr) { return w }
        let stable = max(lr, lrMin), tDecay = t - warmupT - (tInitial - decayT)
        if tDecay <= 0 { return stable }
        let frac = tDecay >= decayT ? 1.0 : Double(tDecay) / Double(decayT)
        let d: Double
        switch decayFn {
        case "linear": d = 1.0 - frac
        case "1-sqrt": d = 1.0 - sqrt(frac)
        case "cosine": d = 0.5 * (1.0 + cos(Double.pi * frac))
        default: return .nan
        }
        return lrMin + (stable - lrMin) * d
    }

    // MARK: transformers/optimization.py (LambdaLR: lr times the lambda at last_epoch k)

    /// `get_cosine_with_min_lr_schedule_with_warmup` (`_get_cosine_schedule_with_warmup_lr_lambda` with
    /// min_lr_rate r): k < W: k / max(1, W); else progress = (k - W) / max(1, N - W),
    /// f = 0.5 (1 + cos(pi c 2 progress)), lambda = max(0, f (1 - r) + r). Not clamped past N.
    public static func hfCosineWithMinLR(_ k: Int, lr: Double, warmup: Int, training: Int, cycles: Double, minLRRate: Double) -> Double {
        if k < warmup { return lr * (Double(k) / Double(max(1, warmup))) }
        let progress = Double(k - warmup) / Double(max(1, training - warmup))
        let factor = 0.5 * (1.0 + cos(Double.pi * cycles * 2.0 * progress))
        return lr * max(0, factor * (1 - minLRRate) + minLRRate)
    }

    /// `get_cosine_with_min_lr_schedule_with_warmup_lr_rate`: k < W: (k + 1) / max(1, W) without
    /// warmup_lr_rate, else rate + (1 - rate) k / max(1, W - 1); then progress = (k - W + 1) / max(1, N - W)
    /// and the cosine of hfCosineWithMinLR.
    public static func hfCosineWarmupLRRate(_ k: Int, lr: Double, warmup: Int, training: Int, cycles: Double, minLRRate: Double, warmupLRRate: Double?) -> Double {
        if k < warmup {
            guard let rate = warmupLRRate else { return lr * ((Double(k) + 1.0) / max(1.0, Double(warmup))) }
            return lr * (rate + (1.0 - rate) * Double(k) / max(1.0, Double(warmup - 1)))
        }
        let progress = (Double(k - warmup) + 1.0) / max(1.0, Double(training - warmup))
        let factor = 0.5 * (1.0 + cos(Double.pi * cycles * 2.0 * progress))
        return lr * max(0, factor * (1 - minLRRate) + minLRRate)
    }

    /// `get_linear_schedule_with_warmup`: lambda = k / max(1, W) below W, then
    /// max(0, (N - k) / max(1, N - W)).
    public static func hfLinear(_ k: Int, lr: Double, warmup: Int, training: Int) -> Double {
        if k < warmup { return lr * (Double(k) / max(1.0, Double(warmup))) }
        return lr * max(0.0, Double(training - k) / max(1.0, Double(training - warmup)))
    }

    /// `get_constant_schedule_with_warmup`: lambda = k / max(1, W) below W, then 1.
    public static func hfConstantWithWarmup(_ k: Int, lr: Double, warmup: Int) -> Double {
        if k < warmup { return lr * (Double(k) / max(1.0, Double(warmup))) }
        return lr * 1.0
    }

    /// `get_polynomial_decay_schedule_with_warmup` (lr_init = optimizer.defaults["lr"], which may differ
    /// from the group's lr): k < W: k / max(1, W); k > N: lr_end / lr_init; else
    /// ((lr_init - lr_end) (1 - (k - W) / (N - W))^power + lr_end) / lr_init. NaN unless lr_init > lr_end
    /// (the builder raises) and at k = N = W (transformers divides by zero).
    public static func hfPolynomial(_ k: Int, lr: Double, warmup: Int, training: Int, lrEnd: Double, power: Double, lrInit: Double) -> Double {
        guard lrInit > lrEnd else { return .nan }
        if k < warmup { return lr * (Double(k) / Double(max(1, warmup))) }
        if k > training { return lr * (lrEnd / lrInit) }
        guard training > warmup else { return .nan }
        let pctRemaining = 1 - Double(k - warmup) / Double(training - warmup)
        return lr * (((lrInit - lrEnd) * pow(pctRemaining, power) + lrEnd) / lrInit)
    }

    /// `get_inverse_sqrt_schedule` (timescale already resolved: transformers' default is
    /// `num_warmup_steps or 10_000`): k < W: k / max(1, W); else 1 / sqrt((k + timescale - W) / timescale).
    /// NaN from W on for timescale = 0 (transformers divides by zero).
    public static func hfInverseSqrt(_ k: Int, lr: Double, warmup: Int, timescale: Int) -> Double {
        if k < warmup { return lr * (Double(k) / Double(max(1, warmup))) }
        guard timescale != 0 else { return .nan }
        return lr * (1.0 / sqrt(Double(k + (timescale - warmup)) / Double(timescale)))
    }

    // MARK: deepspeed/runtime/lr_schedules.py (row k: last_batch_iteration n = k - 1)

    /// WarmupLR `_get_gamma` during the warm-up, with W = max(2, warmup_num_steps):
    /// log: (1 / log W) log(n + 1); linear: n / W.
    private static func deepSpeedWarmupGamma(_ n: Int, warmup: Int, log logWarmup: Bool) -> Double {
        logWarmup ? 1.0 / log(Double(warmup)) * log(Double(n + 1)) : Double(n) / Double(warmup)
    }

    /// WarmupCosineLR: lr get_lr_ratio(n); 0 at n < 0 (row 0). With W = max(2, warmup_num_steps):
    /// n < W: min_ratio + g (1 - min_ratio), g as deepSpeedWarmupGamma; else progress = min(1, (n - W + 1) /
    /// max(1, total - W)) (clamped: the floor is held past the end), ratio = max(0, cos_min_ratio +
    /// (1 - cos_min_ratio) (1 + cos(pi progress)) / 2). NaN for warmup_num_steps <= 0 (DeepSpeed raises).
    public static func deepSpeedWarmupCosine(_ k: Int, lr: Double, totalSteps: Int, warmupSteps: Int, warmupMinRatio: Double, cosMinRatio: Double, logWarmup: Bool) -> Double {
        guard warmupSteps > 0 else { return .nan }
        let n = k - 1, w = max(2, warmupSteps)
        if n < 0 { return 0.0 }
        if n < w { return lr * (warmupMinRatio + deepSpeedWarmupGamma(n, warmup: w, log: logWarmup) * (1.0 - warmupMinRatio)) }
        let realLast = n - w + 1, realTotal = max(1, totalSteps - w)
        let progress = realLast >= realTotal ? 1.0 : Double(realLast) / Double(realTotal)
        let ratio = (1 + cos(Double.pi * progress)) / 2
        return lr * max(0.0, cosMinRatio + (1.0 - cosMinRatio) * ratio)
    }

    /// WarmupDecayLR: min_lr + (max_lr - min_lr) gamma(n); min_lr at n < 0 (row 0). With
    /// W = max(2, warmup_num_steps): n < W: deepSpeedWarmupGamma; else max(0, (total - n) / max(1, total - W)).
    /// NaN for warmup_num_steps <= 0 (DeepSpeed raises).
    public static func deepSpeedWarmupDecay(_ k: Int, totalSteps: Int, warmupMinLR: Double, warmupMaxLR: Double, warmupSteps: Int, logWarmup: Bool) -> Double {
        guard warmupSteps > 0 else { return .nan }
        let n = k - 1, w = max(2, warmupSteps)
        if n < 0 { return warmupMinLR }
        let gamma = n < w
            ? deepSpeedWarmupGamma(n, warmup: w, log: logWarmup)
            : max(0.0, Double(totalSteps - n) / max(1.0, Double(totalSteps - w)))
        return warmupMinLR + (warmupMaxLR - warmupMinLR) * gamma
    }

    /// OneCycle without stairs. n < total = first + second: the cycle at batch b = n + 1 (= k), position
    /// r = b mod total (exact, in place of DeepSpeed's float x): scale = r / first while r <= first, else
    /// (total - r) / second; lr = min + (max - min) scale (row 0: cycle_min_lr). Afterwards cycle_min_lr,
    /// or with decay_lr_rate and decay_step_size both nonzero cycle_min_lr / (1 + rate (n - total + 1) /
    /// decay_step_size) (continuous, no floor). NaN for first <= 0 or second < 0 (DeepSpeed raises).
    public static func deepSpeedOneCycleLR(_ k: Int, cycleMinLR: Double, cycleMaxLR: Double, firstStepSize first: Int, secondStepSize second: Int,
                                           decayLRRate: Double, decayStepSize: Int) -> Double {
        guard first > 0, second >= 0 else { return .nan }
        let n = k - 1, total = first + second
        if n < total {
            let r = (n + 1) % total
            let scale = r <= first ? Double(r) / Double(first) : Double(total - r) / Double(second)
            return cycleMinLR + (cycleMaxLR - cycleMinLR) * scale
        }
        if decayStepSize == 0 || decayLRRate == 0 { return cycleMinLR }
        return cycleMinLR / (1 + decayLRRate * (Double(n - total + 1) / Double(decayStepSize)))
    }

    // MARK: megatron/core/optimizer_param_scheduler.py

    /// `OptimizerParamScheduler.get_lr` at num_steps k (the constructor's step(0) is row 0, then step(1)
    /// per row). Warm-up (W > 0, k <= W): init + (max - init) k / W. Then: constant: max_lr; k > decay
    /// steps D: min_lr; inverse-square-root: max(min, max sqrt(max(W, 1)) / sqrt(max(k, 1))) (as `** 0.5`);
    /// otherwise min + c (max - min) with ratio = (k - W) / (D - W) and c = 1 - ratio (linear),
    /// 0.5 (cos(pi ratio) + 1) (cosine), or WSD: 1 up to D - wsd_decay_steps, then with
    /// s = (k - D + wsd_decay_steps) / wsd_decay_steps: 1 - s (linear), 0.5 (cos(pi s) + 1) (cosine),
    /// 2 0.5^s - 1 (exponential), 1 - sqrt(s) (minus_sqrt). NaN where Megatron asserts or raises
    /// (D <= 0, W >= D, min_lr < 0, max_lr < min_lr, init_lr > max_lr, an unknown style or WSD style).
    public static func megatron(_ k: Int, initLR: Double, maxLR: Double, minLR: Double, warmupSteps: Int, decaySteps: Int, style: String,
                                wsdDecaySteps: Int, wsdStyle: String) -> Double {
        guard decaySteps > 0, warmupSteps < decaySteps, minLR >= 0, maxLR >= minLR, initLR <= maxLR else { return .nan }
        if warmupSteps > 0 && k <= warmupSteps { return initLR + (maxLR - initLR) * Double(k) / Double(warmupSteps) }
        if style == "constant" { return maxLR }
        if k > decaySteps { return minLR }
        if style == "inverse-square-root" {
            return max(minLR, maxLR * pow(Double(max(warmupSteps, 1)), 0.5) / pow(Double(max(k, 1)), 0.5))
        }
        let ratio = Double(k - warmupSteps) / Double(decaySteps - warmupSteps)
        let coeff: Double
        switch style {
        case "linear": coeff = 1.0 - ratio
        case "cosine": coeff = 0.5 * (cos(Double.pi * ratio) + 1.0)
        case "WSD":
            let annealStart = decaySteps - wsdDecaySteps
            if k <= annealStart {
                coeff = 1.0
            } else {
                let s = Double(k - annealStart) / Double(wsdDecaySteps)
                switch wsdStyle {
                case "linear": coeff = 1.0 - s
                case "cosine": coeff = 0.5 * (cos(Double.pi * s) + 1.0)
                case "exponential": coeff = 2.0 * pow(0.5, s) - 1.0
                case "minus_sqrt": coeff = 1.0 - sqrt(s)
                default: return .nan
                }
            }
        default: return .nan
        }
        return minLR + coeff * (maxLR - minLR)
    }
}
