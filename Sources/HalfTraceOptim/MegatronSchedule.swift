import Foundation
import HalfTraceKernels

/// Megatron-core's `OptimizerParamScheduler` (megatron/core/optimizer_param_scheduler.py,
/// megatron-core 0.16.1): the lr and weight decay after `num_steps` (the constructor calls
/// `step(0)`; each `step(increment)` adds increment; Megatron-LM counts samples, so its increment
/// is the global batch).
///
/// lr: with W = lr_warmup_steps > 0 and n <= W, init_lr + (max_lr - init_lr) * n / W; else
/// 'constant' gives max_lr (for ever); past lr_decay_steps D, min_lr; 'inverse-square-root'
/// max(min_lr, max_lr * max(W, 1)^0.5 / max(n, 1)^0.5); otherwise min_lr + coeff * (max_lr -
/// min_lr) with r = (n - W) / (D - W) and coeff 1 - r ('linear'), (cos(pi r) + 1) / 2 ('cosine')
/// or, for 'WSD', 1 until D - wsd_decay_steps and then by lr_wsd_decay_style over q = (n - (D -
/// wsd_decay_steps)) / wsd_decay_steps: 1 - q, (cos(pi q) + 1) / 2, 2 * 0.5^q - 1 ('exponential')
/// or 1 - sqrt(q) ('minus_sqrt').
/// Weight decay: end_wd past wd_incr_steps or with 'constant'; else start_wd + coeff * (end_wd -
/// start_wd) with r = n / wd_incr_steps and coeff r ('linear') or (cos(pi (1 - r)) + 1) / 2
/// ('cosine').
struct MegatronSchedule: Sendable {
    var initLR: Double, maxLR: Double, minLR: Double, warmup: Double, decay: Double, style: String
    var startWD: Double, endWD: Double, wdSteps: Double, wdStyle: String, wsdSteps: Double?, wsdStyle: String?

    static let name = "OptimizerParamScheduler"
    static let prefixes = ["megatron.core.optimizer_param_scheduler", "optimizer_param_scheduler"]
    static let signature: [(String, PythonValue?)] = [
        ("init_lr", nil), ("max_lr", nil), ("min_lr", nil), ("lr_warmup_steps", nil), ("lr_decay_steps", nil), ("lr_decay_style", nil),
        ("start_wd", nil), ("end_wd", nil), ("wd_incr_steps", nil), ("wd_incr_style", nil),
        ("use_checkpoint_opt_param_scheduler", .bool(true)), ("override_opt_param_scheduler", .bool(false)),
        ("wsd_decay_steps", PythonValue.none), ("lr_wsd_decay_style", PythonValue.none),
    ]
    static let decayStyles = ["constant", "linear", "cosine", "inverse-square-root", "WSD"]
    static let wsdStyles = ["linear", "cosine", "exponential", "minus_sqrt"]

    init(_ a: inout Arguments) throws {
        func fail(_ field: String, _ message: String) -> HalfTraceError { TorchScheduler.Spec.fail(a.column(field), message) }
        func string(_ field: String) throws -> String {
            guard case .string(let s) = try a.value(field) else { throw fail(field, "\(Self.name): \(field) must be a string, found \(try a.value(field))") }
            return s
        }
        initLR = try a.double("init_lr")
        maxLR = try a.double("max_lr")
        minLR = try a.double("min_lr")
        guard minLR >= 0 else { throw fail("min_lr", "AssertionError: megatron-core asserts min_lr >= 0.0 (min_lr = \(minLR))") }
        guard maxLR >= minLR else { throw fail("max_lr", "AssertionError: megatron-core asserts max_lr >= min_lr (\(maxLR) < \(minLR))") }
        guard initLR <= maxLR else { throw fail("init_lr", "AssertionError: megatron-core asserts init_lr <= max_lr (\(initLR) > \(maxLR))") }
        warmup = try a.double("lr_warmup_steps")
        decay = try a.double("lr_decay_steps")
        guard decay > 0 else { throw fail("lr_decay_steps", "AssertionError: megatron-core asserts lr_decay_steps > 0") }
        guard warmup < decay else { throw fail("lr_warmup_steps", "AssertionError: megatron-core asserts lr_warmup_steps < lr_decay_steps (\(warmup) >= \(decay))") }
        style = try string("lr_decay_style")
        guard Self.decayStyles.contains(style) else {
            throw fail("lr_decay_style", "Exception: \(style) decay style is not supported. (megatron-core raises it at the first step after the warm-up; expected one of \(Self.decayStyles.joined(separator: ", ")))")
        }
        if case .none = try a.value("wsd_decay_steps") {
            guard style != "WSD" else { throw fail("wsd_decay_steps", "AssertionError: megatron-core asserts wsd_decay_steps is not None with lr_decay_style='WSD'") }
        } else {
            wsdSteps = try a.double("wsd_decay_steps")
        }
        if case .none = try a.value("lr_wsd_decay_style") {} else { wsdStyle = try string("lr_wsd_decay_style") }
        if style == "WSD" {
            guard let w = wsdStyle, Self.wsdStyles.contains(w) else {
                throw fail("lr_wsd_decay_style", "AssertionError: lr_wsd_decay_style must be one of \(Self.wsdStyles.joined(separator: ", ")) with 'WSD' (megatron-core asserts it at the first step of the anneal)")
            }
            guard let steps = wsdSteps, steps > 0 else { throw fail("wsd_decay_steps", "WSD: wsd_decay_steps must be > 0 (megatron-core divides by it)") }
        }
        startWD = try a.double("start_wd")
        endWD = try a.double("end_wd")
        guard startWD >= 0 else { throw fail("start_wd", "AssertionError: megatron-core asserts start_wd >= 0.0") }
        guard endWD >= startWD else { throw fail("end_wd", "AssertionError: megatron-core asserts end_wd >= start_wd") }
        wdSteps = try a.double("wd_incr_steps")
        wdStyle = try string("wd_incr_style")
        switch wdStyle {
        case "constant":
            guard startWD == endWD else { throw fail("wd_incr_style", "AssertionError: megatron-core asserts start_wd == end_wd with wd_incr_style='constant'") }
        case "linear", "cosine":
            guard wdSteps != 0 else { throw fail("wd_incr_steps", "ZeroDivisionError: float division by zero (wd_incr_steps = 0)") }
        default:
            throw fail("wd_incr_style", "Exception: \(wdStyle) weight decay increment style is not supported.")
        }
    }

    func lr(_ n: Double) -> Double {
        if warmup > 0 && n <= warmup { return initLR + (maxLR - initLR) * n / warmup }
        if style == "constant" { return maxLR }
        if n > decay { return minLR }
        if style == "inverse-square-root" {
            return max(minLR, maxLR * pow(max(warmup, 1), 0.5) / pow(max(n, 1), 0.5))
        }
        let ratio = (n - warmup) / (decay - warmup)
        let coeff: Double
        switch style {
        case "linear": coeff = 1.0 - ratio
        case "cosine": coeff = 0.5 * (cos(Double.pi * ratio) + 1.0)
        default:  // WSD
            let start = decay - wsdSteps!
            if n <= start { coeff = 1.0 } else {
                let q = (n - start) / wsdSteps!
                switch wsdStyle! {
                case "linear": coeff = 1.0 - q
                case "cosine": coeff = 0.5 * (cos(Double.pi * q) + 1.0)
                case "exponential": coeff = (2.0 * pow(0.5, q)) - 1.0
                default: coeff = 1.0 - q.squareRoot()
                }
            }
        }
        return minLR + coeff * (maxLR - minLR)
    }

    func weightDecay(_ n: Double) -> Double {
        if n > wdSteps || wdStyle == "constant" { return endWD }
        let ratio = n / wdSteps
        let coeff = wdStyle == "linear" ? ratio : 0.5 * (cos(Double.pi * (1 - ratio)) + 1.0)
        return startWD + coeff * (endWD - startWD)
    }
}
