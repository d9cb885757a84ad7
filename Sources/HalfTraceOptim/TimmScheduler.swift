import Foundation
import HalfTraceKernels

/// timm's schedulers (`timm/scheduler/*.py`, timm 1.0.31) from the constructor a user wrote:
/// `StepLRScheduler`, `MultiStepLRScheduler`, `PolyLRScheduler`, `TanhLRScheduler`,
/// `CosineLRScheduler` and `WSDLRScheduler`. Each is a function of the integer t that timm's
/// train.py passes: `step(epoch + 1)` at the end of each epoch, or `step_update(num_updates)`
/// after each optimizer update with `t_in_epochs=False`. Row 0 is the lr right after
/// construction: `warmup_lr_init` for every group when there is a warm-up, else each group's lr
/// (the constructor does not call `_get_lr(0)`); row t is `_get_lr(t)`.
///
/// Every class warms up linearly from warmup_lr_init while t < warmup_t:
/// `warmup_lr_init + t * (v - warmup_lr_init) / warmup_t`, v the group's lr (for
/// `TanhLRScheduler` without `warmup_prefix`, v is the tanh curve's own value at warmup_t). With
/// `warmup_prefix` (the default for Step and MultiStep, and always for WSD) the schedule then
/// starts from t - warmup_t; without it the schedule runs under the warm-up and is spliced onto
/// it at warmup_t (the drop Swin-Transformer #277 reports). Then:
///
/// - Step: `v * decay_rate ** (t // decay_t)`;
/// - MultiStep: `v * decay_rate ** bisect_right(decay_t, t + 1)` (timm's convention: milestone m
///   applies from t = m - 1). On an unsorted list `bisect_right` does not count the milestones
///   passed: the exact form counts them, the package's form bisects (a departure);
/// - Poly: `lr_min + (lr_max - lr_min) * (1 - t_curr^k / t_i^k) ** power`;
/// - Tanh: `lr_min + 0.5 (lr_max - lr_min) (1 - tanh(lb (1 - t_curr / t_i) + ub t_curr / t_i))`;
/// - Cosine: `TimmCosineSchedule`;
/// - WSD: `max(v * stable(t_s), lr_min)`, then from t_s = t_initial - decay_t the decay
///   `lr_min + (lr - lr_min) * decay(min(t_decay / decay_t, 1))`.
///
/// Poly, Tanh and Cosine restart in cycles (`TimmCycle`), cycle i peaking at
/// `v * cycle_decay ** i` and holding lr_min from cycle_limit on; the exact form takes the
/// cycle from integer arithmetic where timm's floating-point log lands one cycle low.
/// timm's noise (`noise_range_t`) draws from torch's random generator and is refused with that
/// reason; a group's `lr_scale` is not an argument of the constructor and is not modelled.
struct TimmScheduler: Sendable {
    enum Shape: Sendable {
        case step(decayT: Double, rate: Double)
        case multiStep(milestones: [Int], rate: Double)
        case poly(power: Double, lrMin: Double, kDecay: Double)
        case tanh(lb: Double, ub: Double, lrMin: Double)
        case cosine(lrMin: Double, kDecay: Double)
        case wsd(WSD)
    }

    struct WSD: Sendable {
        var tInitial: Int, decayT: Int, lrMin: Double
        var stableFn: String, stableTimescale: Double, stablePower: Double
        var decayFn: String, decayPower: Double, decayRatio: Double
    }

    struct Cycles: Sendable {
        var cycle: TimmCycle, decay: Double, limit: Int
    }

    let shape: Shape
    let cycles: Cycles?
    let warmupT: Int
    let warmupLRInit: Double
    let warmupPrefix: Bool
    /// Whether train.py steps it per epoch (`step`) or per update (`step_update`).
    let tInEpochs: Bool

    static let names = ["StepLRScheduler", "MultiStepLRScheduler", "PolyLRScheduler", "TanhLRScheduler", "CosineLRScheduler", "WSDLRScheduler"]
    static let prefixes = ["timm.scheduler", "scheduler", "timm.scheduler.step_lr", "timm.scheduler.multistep_lr", "timm.scheduler.poly_lr",
                           "timm.scheduler.tanh_lr", "timm.scheduler.cosine_lr", "timm.scheduler.wsd_lr"]
    static let refused = ["PlateauLRScheduler": "PlateauLRScheduler is driven by a metric (step(epoch, metric)), not by the step count: it has no schedule to trace"]

    static let noise: [(String, PythonValue?)] = [("t_in_epochs", .bool(true)), ("noise_range_t", PythonValue.none), ("noise_pct", .float(0.67)),
                                                   ("noise_std", .float(1.0)), ("noise_seed", .int(42))]
    static let warmup: [(String, PythonValue?)] = [("warmup_t", .int(0)), ("warmup_lr_init", .float(0))]
    static let cycled: [(String, PythonValue?)] = [("cycle_mul", .float(1)), ("cycle_decay", .float(1)), ("cycle_limit", .int(1))]

    /// Each class's parameters after the optimizer, in timm's order (`initialize` last everywhere).
    static let signatures: [String: [(String, PythonValue?)]] = [
        "StepLRScheduler": [("decay_t", nil), ("decay_rate", .float(1))] + warmup + [("warmup_prefix", .bool(true))] + noise + [("initialize", .bool(true))],
        "MultiStepLRScheduler": [("decay_t", nil), ("decay_rate", .float(1))] + warmup + [("warmup_prefix", .bool(true))] + noise + [("initialize", .bool(true))],
        "PolyLRScheduler": [("t_initial", nil), ("power", .float(0.5)), ("lr_min", .float(0))] + cycled + warmup + [("warmup_prefix", .bool(false))]
            + noise + [("k_decay", .float(1)), ("initialize", .bool(true))],
        "TanhLRScheduler": [("t_initial", nil), ("lb", .float(-7)), ("ub", .float(3)), ("lr_min", .float(0))] + cycled + warmup
            + [("warmup_prefix", .bool(false))] + noise + [("initialize", .bool(true))],
        "CosineLRScheduler": [("t_initial", nil), ("lr_min", .float(0))] + cycled + warmup + [("warmup_prefix", .bool(false))] + noise
            + [("k_decay", .float(1)), ("initialize", .bool(true))],
        "WSDLRScheduler": [("t_initial", nil), ("decay_t", nil), ("lr_min", .float(0)), ("stable_fn", .string("constant")), ("stable_timescale", PythonValue.none),
                           ("stable_power", .float(0.5)), ("decay_fn", .string("1-sqrt")), ("decay_power", .float(0.5)), ("decay_ratio", .float(0.1))]
            + warmup + [("t_in_epochs", .bool(true)), ("noise_range_t", PythonValue.none), ("noise_pct", .float(0.67)), ("noise_std", .float(1.0)),
                        ("noise_seed", .int(42)), ("initialize", .bool(true))],
    ]

    init(_ a: inout Arguments) throws {
        let name = a.call.name
        func fail(_ field: String, _ message: String) -> HalfTraceError { TorchScheduler.Spec.fail(a.column(field), message) }
        /// timm's bare `assert`: AssertionError with no message; HalfTrace names the condition.
        func assertion(_ ok: Bool, _ field: String, _ condition: String) throws {
            if !ok { throw fail(field, "AssertionError: \(name) asserts \(condition)") }
        }
        if case .none = try a.value("noise_range_t") {} else {
            throw fail("noise_range_t", "\(name)(noise_range_t=\(try a.value("noise_range_t"))): timm's noise draws from torch's random generator "
                + "(torch.Generator seeded noise_seed + t, torch.randn), which HalfTrace does not reproduce")
        }
        if case .bool(false) = try a.value("initialize") {
            throw fail("initialize", "\(name)(initialize=False): the groups' initial_lr would come from an earlier scheduler; only a scheduler built fresh is traced")
        }
        tInEpochs = try a.bool("t_in_epochs")
        warmupT = try a.int("warmup_t")
        warmupLRInit = try a.double("warmup_lr_init")
        let isWSD = name == "WSDLRScheduler"
        warmupPrefix = isWSD ? true : try a.bool("warmup_prefix")
        if name == "TanhLRScheduler" { try assertion(warmupLRInit >= 0, "warmup_lr_init", "warmup_lr_init >= 0") }
        func readCycles() throws -> Cycles {
            let t = try a.value("t_initial")
            guard case .int(let tInitial) = t else { throw fail("t_initial", "\(name): t_initial must be an integer, found \(t.typeName) \(t)") }
            try assertion(tInitial > 0, "t_initial", "t_initial > 0")
            guard tInitial <= 100_000_000 else { throw fail("t_initial", "\(name): t_initial = \(tInitial) is outside 1...100000000") }
            let mul = try a.double("cycle_mul")
            if mul < 1 {
                // 1 - t / T * (1 - m) reaches 0 at t = T / (1 - m): math.log raises there.
                throw fail("cycle_mul", "ValueError: math domain error: with cycle_mul \(mul) < 1 the cycles shrink and timm's "
                    + "math.log(1 - t / t_initial * (1 - cycle_mul), cycle_mul) raises once t reaches t_initial / (1 - cycle_mul) = \(Double(tInitial) / (1 - mul))")
            }
            guard mul <= 1_000 else { throw fail("cycle_mul", "\(name): cycle_mul = \(mul) is outside 1...1000") }
            let decay = try a.double("cycle_decay")
            let limitValue = try a.value("cycle_limit")
            guard case .int(let limit) = limitValue else { throw fail("cycle_limit", "\(name): cycle_limit must be an integer, found \(limitValue)") }
            if name == "TanhLRScheduler" { try assertion(limit >= 0, "cycle_limit", "cycle_limit >= 0") }
            return Cycles(cycle: TimmCycle(tInitial: tInitial, cycleMul: mul), decay: decay, limit: limit)
        }
        func lrMin() throws -> Double {
            let v = try a.double("lr_min")
            if isWSD {
                if v < 0 { throw fail("lr_min", "ValueError: Invalid lr_min (\(try a.value("lr_min"))), must be >= 0.") }
            } else {
                try assertion(v >= 0, "lr_min", "lr_min >= 0")
            }
            return v
        }
        switch name {
        case "StepLRScheduler":
            let decayT = try a.double("decay_t")
            guard decayT != 0 else { throw fail("decay_t", "ZeroDivisionError: integer division or modulo by zero (timm computes t // decay_t)") }
            shape = .step(decayT: decayT, rate: try a.double("decay_rate"))
            self.cycles = nil
        case "MultiStepLRScheduler":
            let v = try a.value("decay_t")
            guard case .list = v else {
                throw fail("decay_t", "TypeError: object of type '\(v.typeName)' has no len() (timm bisects decay_t, a list of milestones)")
            }
            shape = .multiStep(milestones: try a.ints("decay_t"), rate: try a.double("decay_rate"))
            self.cycles = nil
        case "PolyLRScheduler":
            self.cycles = try readCycles()
            shape = .poly(power: try a.double("power"), lrMin: try lrMin(), kDecay: try a.double("k_decay"))
        case "TanhLRScheduler":
            self.cycles = try readCycles()
            let lm = try lrMin()
            let lb = try a.double("lb"), ub = try a.double("ub")
            try assertion(lb < ub, "lb", "lb < ub")
            shape = .tanh(lb: lb, ub: ub, lrMin: lm)
        case "CosineLRScheduler":
            self.cycles = try readCycles()
            let lm = try lrMin()
            let k = try a.double("k_decay")
            guard k > 0 else { throw fail("k_decay", "\(name): k_decay = \(k): expected > 0 (0 ** k fails)") }
            shape = .cosine(lrMin: lm, kDecay: k)
        default:  // WSDLRScheduler: its ValueErrors, in its order
            let t = try a.value("t_initial"), d = try a.value("decay_t")
            guard case .int(let tInitial) = t, tInitial > 0 else { throw fail("t_initial", "ValueError: Invalid t_initial (\(t)), must be > 0.") }
            guard case .int(let decayT) = d, decayT > 0, decayT <= tInitial else {
                throw fail("decay_t", "ValueError: Invalid decay_t (\(d)), must be in (0, t_initial] w/ t_initial=\(tInitial).")
            }
            guard tInitial <= 100_000_000 else { throw fail("t_initial", "\(name): t_initial = \(tInitial) is outside 1...100000000") }
            let lm = try lrMin()
            let stableFn = try a.value("stable_fn").str, decayFnValue = try a.value("decay_fn")
            guard ["constant", "rsqrt", "power"].contains(stableFn) else {
                throw fail("stable_fn", "ValueError: Invalid stable_fn (\(stableFn)), must be one of ('constant', 'rsqrt', 'power').")
            }
            guard case .string(let decayFn) = decayFnValue else {
                throw fail("decay_fn", "\(name): decay_fn must be one of the named decays; a Python callable cannot be traced")
            }
            guard ["linear", "1-sqrt", "cosine", "power", "exp"].contains(decayFn) else {
                throw fail("decay_fn", "ValueError: Invalid decay_fn (\(decayFn)), must be one of ('linear', '1-sqrt', 'cosine', 'power', 'exp') or a callable.")
            }
            let ratio = try a.double("decay_ratio"), decayPower = try a.double("decay_power"), stablePower = try a.double("stable_power")
            guard ratio > 0, ratio < 1 else { throw fail("decay_ratio", "ValueError: Invalid decay_ratio (\(try a.value("decay_ratio"))), must be in (0, 1).") }
            guard decayPower > 0 else { throw fail("decay_power", "ValueError: Invalid decay_power (\(try a.value("decay_power"))), must be > 0.") }
            guard stablePower > 0 else { throw fail("stable_power", "ValueError: Invalid stable_power (\(try a.value("stable_power"))), must be > 0.") }
            var timescale = 1.0
            if stableFn != "constant" {
                if case .none = try a.value("stable_timescale") { timescale = Double(warmupT) } else { timescale = try a.double("stable_timescale") }
                guard timescale > 0 else {
                    throw fail("stable_timescale", "ValueError: stable_fn=\(stableFn) requires a positive stable_timescale, it defaults to warmup_t (\(warmupT)), "
                        + "set it explicitly when there is no warmup.")
                }
            }
            shape = .wsd(WSD(tInitial: tInitial, decayT: decayT, lrMin: lm, stableFn: stableFn, stableTimescale: timescale, stablePower: stablePower,
                             decayFn: decayFn, decayPower: decayPower, decayRatio: ratio))
            self.cycles = nil
        }
    }

    /// Each group's lr after construction (row 0) or after `step(t)` / `step_update(t)`.
    func lrs(_ t: Int, base: [Double], exact: Bool) -> [Double] {
        if t == 0 { return warmupT > 0 ? base.map { _ in warmupLRInit } : base }
        return base.map { lr(t, base: $0, exact: exact) }
    }

    /// `_get_lr(t)` for a group whose lr was v.
    func lr(_ t: Int, base v: Double, exact: Bool) -> Double {
        if t < warmupT {
            var target = v
            if case .tanh = shape, !warmupPrefix { target = curve(warmupT, v, exact: exact) }  // tanh_lr.py: t_v = self._get_lr(self.warmup_t)
            let step = (target - warmupLRInit) / Double(warmupT)
            return warmupLRInit + Double(t) * step
        }
        return curve(warmupPrefix ? t - warmupT : t, v, exact: exact)
    }

    /// The schedule after the warm-up at s (t less any warm-up prefix).
    func curve(_ s: Int, _ v: Double, exact: Bool) -> Double {
        switch shape {
        case let .step(decayT, rate):
            return v * Foundation.pow(rate, Self.floorDivide(Double(s), decayT))  // step_lr.py: v * decay_rate ** (t // decay_t)
        case let .multiStep(milestones, rate):
            let n = exact ? milestones.filter { $0 <= s + 1 }.count : Self.bisectRight(milestones, s + 1)
            return v * Foundation.pow(rate, Double(n))
        case .wsd(let w):
            return wsd(w, s, v)
        case let .poly(_, lrMin, _), let .tanh(_, _, lrMin), let .cosine(lrMin, _):
            let c = cycles!
            let (i, tI, tCurr) = c.cycle.position(s, exact: exact)
            guard i < c.limit else { return lrMin }
            let lrMax = v * Foundation.pow(c.decay, Double(i))
            switch shape {
            case let .poly(power, _, k):
                return lrMin + (lrMax - lrMin) * Foundation.pow(1 - Foundation.pow(tCurr, k) / Foundation.pow(tI, k), power)  // poly_lr.py
            case let .tanh(lb, ub, _):
                let tr = tCurr / tI
                return lrMin + 0.5 * (lrMax - lrMin) * (1 - Foundation.tanh(lb * (1.0 - tr) + ub * tr))  // tanh_lr.py
            case let .cosine(_, k):
                return Self.cosine(lrMin: lrMin, lrMax: lrMax, tCurr: tCurr, tI: tI, k: k)
            default: return .nan
            }
        }
    }

    /// timm's cosine at t_curr of a cycle of length t_i (cosine_lr.py `_get_lr`):
    /// `lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t_curr ** k / t_i ** k))`.
    static func cosine(lrMin: Double, lrMax: Double, tCurr: Double, tI: Double, k: Double) -> Double {
        lrMin + 0.5 * (lrMax - lrMin) * (1 + Foundation.cos(Double.pi * Foundation.pow(tCurr, k) / Foundation.pow(tI, k)))
    }

    func wsd(_ w: WSD, _ tS: Int, _ v: Double) -> Double {
        var stable = 1.0
        if w.stableFn != "constant" {
            let power = w.stableFn == "rsqrt" ? 0.5 : w.stablePower
            stable = Foundation.pow(1.0 + Double(tS) / w.stableTimescale, -power)  // wsd_lr.py _stable
        }
        let lr = max(v * stable, w.lrMin)
        let tDecay = tS - (w.tInitial - w.decayT)
        if tDecay <= 0 { return lr }
        let frac = min(Double(tDecay) / Double(w.decayT), 1.0)
        let decay: Double
        switch w.decayFn {  // wsd_lr.py _decay
        case "linear": decay = 1.0 - frac
        case "1-sqrt": decay = 1.0 - frac.squareRoot()
        case "cosine": decay = 0.5 * (1.0 + Foundation.cos(Double.pi * frac))
        case "power": decay = 1.0 - Foundation.pow(frac, w.decayPower)
        default: decay = (Foundation.pow(w.decayRatio, frac) - w.decayRatio) / (1.0 - w.decayRatio)
        }
        return w.lrMin + (lr - w.lrMin) * decay
    }

    /// Python's float floor division `a // b` (b != 0), as CPython computes it (float_floor_div).
    static func floorDivide(_ a: Double, _ b: Double) -> Double {
        let mod = a.truncatingRemainder(dividingBy: b)
        var div = (a - mod) / b
        if mod != 0 && ((b < 0) != (mod < 0)) { div -= 1 }
        if div == 0 { return 0 }
        var floorDiv = div.rounded(.down)
        if div - floorDiv > 0.5 { floorDiv += 1 }
        return floorDiv
    }

    /// Python's `bisect.bisect_right(a, x)`, whether or not a is sorted.
    static func bisectRight(_ a: [Int], _ x: Int) -> Int {
        var (lo, hi) = (0, a.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if x < a[mid] { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// The steps `trace` shows by default: the schedule's length (timm's get_cycle_length, or the
    /// last milestone) and a few after it.
    var length: Int {
        let prefix = warmupPrefix ? warmupT : 0
        switch shape {
        case let .step(decayT, _): return prefix + Int(min(4 * abs(decayT), 1_000_000).rounded(.up)) + 1
        case let .multiStep(m, _): return prefix + (m.max() ?? 0) + 5
        case .wsd(let w): return warmupT + w.tInitial + 5
        default:
            let c = cycles!
            let cyclesRun = max(1, min(c.limit, 10))
            var total = 0.0, len = Double(c.cycle.tInitial)
            for _ in 0..<cyclesRun { total += len; len *= c.cycle.cycleMul }
            return prefix + Int(min(total, 1_000_000)) + 5
        }
    }
}
