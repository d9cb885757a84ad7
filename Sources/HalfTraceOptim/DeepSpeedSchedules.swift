import Foundation
import HalfTraceKernels

/// DeepSpeed's learning-rate schedules (`deepspeed/runtime/lr_schedules.py`, DeepSpeed 0.19.8),
/// each a function of `last_batch_iteration` (-1 after construction, +1 per `step()`):
///
/// - `WarmupLR(warmup_min_lr=0, warmup_max_lr=None, warmup_num_steps=1000, warmup_type='log')`:
///   min + (max - min) * gamma, gamma = log(it + 1) / log(N) ('log') or it / N ('linear') while
///   it < N, then 1; N = max(2, warmup_num_steps); max defaults to each group's lr; at it = -1
///   the lr is min (so the first `step()` repeats it).
/// - `WarmupDecayLR(total_num_steps, ..., warmup_max_lr=0.001, ...)`: after the warm-up gamma =
///   max(0, (total - it) / max(1, total - N)).
/// - `WarmupCosineLR(total_num_steps, warmup_min_ratio=0, warmup_num_steps=1000,
///   cos_min_ratio=1e-4, warmup_type='log')`: each group's lr at construction times a ratio:
///   0 at it = -1; in the warm-up min_ratio + r * (1 - min_ratio) with r as above; then
///   max(0, cos_min_ratio + (1 - cos_min_ratio) * (1 + cos(pi * p)) / 2), p = min(1, (it - N + 1)
///   / max(1, total - N)).
/// - `OneCycle(cycle_min_lr, cycle_max_lr, decay_lr_rate=0, cycle_first_step_size=2000, ...)`:
///   a triangle over the float cycle of batch it + 1 (optionally in stairs), then min / (1 + rate
///   * (it - size + 1) / decay_step_size); with an Adam-family optimizer betas become (momentum,
///   0.99) and cycle from cycle_max_mom to cycle_min_mom; with SGD momentum is not cycled.
/// - `LRRangeTest(lr_range_test_min_lr=1e-3, lr_range_test_step_size=2000,
///   lr_range_test_step_rate=1, lr_range_test_staircase=False)`: min * (1 + rate * (it + 1) /
///   step_size), the interval floored with staircase.
///
/// `exact` differs from DeepSpeed's own arithmetic only in OneCycle's cycle index and position,
/// taken from integer arithmetic when the step sizes are whole numbers.
struct DeepSpeedSchedule: Sendable {
    enum Kind: Sendable {
        case warmup(minLRs: [Double], maxLRs: [Double]?, steps: Int, log: Bool)
        case warmupDecay(total: Int, minLRs: [Double], maxLRs: [Double], steps: Int, log: Bool)
        case warmupCosine(total: Int, minRatio: Double, steps: Int, cosMinRatio: Double, log: Bool)
        case oneCycle(OneCycle)
        case rangeTest(minLRs: [Double], stepSize: Int, stepRate: Double, staircase: Bool)
    }

    struct OneCycle: Sendable {
        var minLRs: [Double], maxLRs: [Double], decayLRRate: Double, first: Double, second: Double
        var firstStairs: Int, secondStairs: Int, decayStepSize: Double, cycleMomentum: Bool
        var minMoms: [Double], maxMoms: [Double], decayMomRate: Double
        var total: Double { first + second }
        var skipLRDecay: Bool { Self.isClose0(decayStepSize) || Self.isClose0(decayLRRate) }
        var skipMomDecay: Bool { Self.isClose0(decayStepSize) || Self.isClose0(decayMomRate) }
        /// Python's math.isclose(x, 0) with its defaults: only 0 itself.
        static func isClose0(_ x: Double) -> Bool { x == 0 }
    }

    let kind: Kind

    static let names = ["WarmupLR", "WarmupDecayLR", "WarmupCosineLR", "OneCycle", "LRRangeTest"]
    static let prefixes = ["deepspeed.runtime.lr_schedules", "lr_schedules"]

    static let signatures: [String: [(String, PythonValue?)]] = [
        "WarmupLR": [("warmup_min_lr", .float(0)), ("warmup_max_lr", PythonValue.none), ("warmup_num_steps", .int(1000)),
                     ("warmup_type", .string("log")), ("last_batch_iteration", .int(-1))],
        "WarmupDecayLR": [("total_num_steps", nil), ("warmup_min_lr", .float(0)), ("warmup_max_lr", .float(0.001)), ("warmup_num_steps", .int(1000)),
                          ("warmup_type", .string("log")), ("last_batch_iteration", .int(-1))],
        "WarmupCosineLR": [("total_num_steps", nil), ("warmup_min_ratio", .float(0)), ("warmup_num_steps", .int(1000)), ("cos_min_ratio", .float(0.0001)),
                           ("warmup_type", .string("log")), ("last_batch_iteration", .int(-1))],
        "OneCycle": [("cycle_min_lr", nil), ("cycle_max_lr", nil), ("decay_lr_rate", .float(0)), ("cycle_first_step_size", .int(2000)),
                     ("cycle_second_step_size", PythonValue.none), ("cycle_first_stair_count", .int(0)), ("cycle_second_stair_count", PythonValue.none),
                     ("decay_step_size", .int(0)), ("cycle_momentum", .bool(true)), ("cycle_min_mom", .float(0.8)), ("cycle_max_mom", .float(0.9)),
                     ("decay_mom_rate", .float(0)), ("last_batch_iteration", .int(-1))],
        "LRRangeTest": [("lr_range_test_min_lr", .float(0.001)), ("lr_range_test_step_size", .int(2000)), ("lr_range_test_step_rate", .float(1.0)),
                        ("lr_range_test_staircase", .bool(false)), ("last_batch_iteration", .int(-1))],
    ]

    init(_ a: inout Arguments, groups: Int, usesBeta1: Bool) throws {
        let name = a.call.name
        func fail(_ field: String, _ message: String) -> HalfTraceError { TorchScheduler.Spec.fail(a.column(field), message) }
        if case .int(let last) = try a.value("last_batch_iteration"), last != -1 {
            throw fail("last_batch_iteration", "\(name)(last_batch_iteration=\(last)): only a schedule built fresh (-1) is traced")
        }
        func warmupSteps() throws -> Int {
            guard case .int(let n) = try a.value("warmup_num_steps"), n > 0 else {
                throw fail("warmup_num_steps", "ValueError: warmup_num_steps must be a positive integer, got \(try a.value("warmup_num_steps").str)")
            }
            return max(2, n)
        }
        // An unknown warmup_type: DeepSpeed logs a warning and uses 'log'.
        func isLog() throws -> Bool {
            guard case .string(let t) = try a.value("warmup_type") else { throw fail("warmup_type", "\(name): warmup_type must be 'log' or 'linear'") }
            return t != "linear"
        }
        // DeepSpeed's _format_param: "expected N value for NAME, got M".
        func perGroup(_ field: String, _ label: String) throws -> [Double] {
            try a.perGroup(field, groups) { "ValueError: expected \(groups) value for \(label), got \($0)" }
        }
        func total() throws -> Int {
            let t = try a.int("total_num_steps")
            return t
        }
        switch name {
        case "WarmupLR":
            // DeepSpeed's order: the step count, then min_lr, then max_lr.
            let steps = try warmupSteps(), minLRs = try perGroup("warmup_min_lr", "min_lr")
            var maxLRs: [Double]?
            if case .none = try a.value("warmup_max_lr") {} else { maxLRs = try perGroup("warmup_max_lr", "max_lr") }
            kind = .warmup(minLRs: minLRs, maxLRs: maxLRs, steps: steps, log: try isLog())
        case "WarmupDecayLR":
            let t = try total(), steps = try warmupSteps(), minLRs = try perGroup("warmup_min_lr", "min_lr")
            kind = .warmupDecay(total: t, minLRs: minLRs, maxLRs: try perGroup("warmup_max_lr", "max_lr"), steps: steps, log: try isLog())
        case "WarmupCosineLR":
            kind = .warmupCosine(total: try total(), minRatio: try a.double("warmup_min_ratio"), steps: try warmupSteps(),
                                 cosMinRatio: try a.double("cos_min_ratio"), log: try isLog())
        case "OneCycle":
            let first = try a.double("cycle_first_step_size")
            guard first > 0 else { throw fail("cycle_first_step_size", "ValueError: cycle_first_step_size must be positive, got \(first)") }
            var second = first
            if case .none = try a.value("cycle_second_step_size") {} else { second = try a.double("cycle_second_step_size") }
            guard second >= 0 else { throw fail("cycle_second_step_size", "ValueError: cycle_second_step_size must be non-negative, got \(second)") }
            let firstStairs = try a.int("cycle_first_stair_count")
            var secondStairs = firstStairs
            if case .none = try a.value("cycle_second_stair_count") {} else { secondStairs = try a.int("cycle_second_stair_count") }
            let o = OneCycle(minLRs: try perGroup("cycle_min_lr", "cycle_min_lr"), maxLRs: try perGroup("cycle_max_lr", "cycle_max_lr"),
                             decayLRRate: try a.double("decay_lr_rate"), first: first, second: second, firstStairs: firstStairs,
                             secondStairs: secondStairs, decayStepSize: try a.double("decay_step_size"),
                             cycleMomentum: try a.bool("cycle_momentum") && usesBeta1,
                             minMoms: try perGroup("cycle_min_mom", "cycle_min_mom"), maxMoms: try perGroup("cycle_max_mom", "cycle_max_mom"),
                             decayMomRate: try a.double("decay_mom_rate"))
            kind = .oneCycle(o)
        default:  // LRRangeTest
            guard case .int(let step) = try a.value("lr_range_test_step_size"), step > 0 else {
                throw fail("lr_range_test_step_size", "ValueError: lr_range_test_step_size must be a positive integer, got \(try a.value("lr_range_test_step_size").str)")
            }
            let minLRs = try a.perGroup("lr_range_test_min_lr", groups) { "ValueError: expected \(groups) lr_range_test_min_lr, got \($0)" }
            kind = .rangeTest(minLRs: minLRs, stepSize: step,
                              stepRate: try a.double("lr_range_test_step_rate"), staircase: try a.bool("lr_range_test_staircase"))
        }
    }

    var cyclesMomentum: Bool {
        if case .oneCycle(let o) = kind { return o.cycleMomentum }
        return false
    }

    /// Steps shown by default: the schedule and a few after it.
    /// The steps `trace` shows by default (in Double; the caller caps it).
    var length: Double {
        switch kind {
        case .warmup(_, _, let n, _): return Double(n) + 5
        case .warmupDecay(let t, _, _, let n, _), .warmupCosine(let t, _, let n, _, _): return Double(max(t, n)) + 5
        case .oneCycle(let o): return o.total.rounded(.up) + 10
        case .rangeTest(_, let s, _, _): return 3 * Double(s) + 1
        }
    }

    /// The lrs (and the momentum, when cycled) at `last_batch_iteration` `it`, for groups whose lr
    /// was `groupLRs` when the schedule was built.
    func value(it: Int, groupLRs: [Double], exact: Bool) -> (lr: [Double], momentum: [Double]?) {
        func gamma(_ n: Int, log: Bool) -> Double {
            log ? (1.0 / Foundation.log(Double(n))) * Foundation.log(Double(it + 1)) : Double(it) / Double(n)
        }
        switch kind {
        case let .warmup(minLRs, maxLRs, n, log):
            if it < 0 { return (minLRs, nil) }
            let g = it < n ? gamma(n, log: log) : 1.0
            return (zip(minLRs, maxLRs ?? groupLRs).map { lo, hi in lo + (hi - lo) * g }, nil)
        case let .warmupDecay(total, minLRs, maxLRs, n, log):
            if it < 0 { return (minLRs, nil) }
            let g = it < n ? gamma(n, log: log) : max(0.0, Double(total - it) / max(1.0, Double(total - n)))
            return (zip(minLRs, maxLRs).map { lo, hi in lo + (hi - lo) * g }, nil)
        case let .warmupCosine(total, minRatio, n, cosMin, log):
            if it < 0 { return (groupLRs.map { _ in 0.0 }, nil) }
            let ratio: Double
            if it < n {
                ratio = minRatio + gamma(n, log: log) * (1.0 - minRatio)
            } else {
                let progress = min(1.0, Double(it - n + 1) / Double(max(1, total - n)))
                ratio = max(0.0, cosMin + (1.0 - cosMin) * ((1 + cos(Double.pi * progress)) / 2))
            }
            return (groupLRs.map { $0 * ratio }, nil)
        case let .oneCycle(o):
            if it < 0 { return (o.minLRs, o.cycleMomentum ? o.minMoms : nil) }
            if Double(it) < o.total {
                let sf = o.scaleFactor(batch: it + 1, exact: exact)
                return (zip(o.minLRs, o.maxLRs).map { lo, hi in lo + (hi - lo) * sf },
                        o.cycleMomentum ? zip(o.minMoms, o.maxMoms).map { lo, hi in hi - (hi - lo) * sf } : nil)
            }
            let d = Double(it) - o.total + 1
            let lrs = o.skipLRDecay ? o.minLRs : o.minLRs.map { $0 / (1 + o.decayLRRate * (d / o.decayStepSize)) }
            let moms = o.skipMomDecay ? o.maxMoms : o.maxMoms.map { $0 * (1 + o.decayMomRate * (d / o.decayStepSize)) }
            return (lrs, o.cycleMomentum ? moms : nil)
        case let .rangeTest(minLRs, stepSize, rate, staircase):
            if it < 0 { return (minLRs, nil) }
            let interval = staircase ? (Double(it + 1) / Double(stepSize)).rounded(.down) : Double(it + 1) / Double(stepSize)
            let increase = 1 + rate * interval
            return (minLRs.map { $0 * increase }, nil)
        }
    }
}

extension DeepSpeedSchedule.OneCycle {
    /// `_get_scale_factor` for batch `b` (= last_batch_iteration + 1): DeepSpeed's float cycle and
    /// position, or (exact, whole step sizes) integer ones.
    func scaleFactor(batch b: Int, exact: Bool) -> Double {
        let whole = exact && first == first.rounded() && second == second.rounded() && total >= 1 && total <= 1e15
        let cycle: Double, x: Double
        if whole {
            let t = Int(total)
            cycle = Double(1 + b / t)
            x = Double(b % t) / total
        } else {
            cycle = (1 + Double(b) / total).rounded(.down)
            x = 1.0 + Double(b) / total - cycle
        }
        let ratio = first / total
        var sf: Double, stairs: Int
        if x <= ratio {
            sf = x / ratio
            stairs = firstStairs
        } else {
            sf = (x - 1) / (ratio - 1)
            stairs = secondStairs
        }
        if stairs > 0 {
            let ci = Double(b).truncatingRemainder(dividingBy: total)
            let position = ci <= first ? ci * Double(stairs) / first : (total - ci) * Double(stairs) / second
            sf = position.rounded(.down) / Double(stairs)
        }
        return sf
    }
}
