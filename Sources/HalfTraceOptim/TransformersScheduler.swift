import Foundation
import HalfTraceKernels

/// transformers' schedules (`transformers/optimization.py`, transformers 5.25.0) from the call a
/// user wrote: every `get_*schedule*` builder that runs on the step count, and
/// `get_scheduler(name, ...)` by its `SchedulerType` names. Each returns a `LambdaLR`, so row k
/// (after k calls of `scheduler.step()`; row 0 after construction, λ(0) applied) is
/// `base_lr * λ(k)` per group; λ is `TransformersSchedule`. transformers reads the optimizer's
/// default lr (`optimizer.defaults["lr"]`, the `lr=` of `SGD(groups, lr=...)`) for the
/// polynomial's `lr_init` and to turn `min_lr` into `min_lr_rate`; it may differ from the groups'
/// lrs.
///
/// `get_scheduler` passes `num_warmup_steps`, `num_training_steps` and
/// `scheduler_specific_kwargs` on as its own code does: 'constant' ignores the step counts,
/// 'constant_with_warmup' and 'inverse_sqrt' need only the warm-up, every other name both (each
/// missing count refused with transformers' message). 'reduce_lr_on_plateau' and 'greedy' step on
/// a metric and are refused, as is `get_adafactor_schedule` (a proxy for Adafactor's own lr).
struct TransformersScheduler: Sendable {
    let schedule: TransformersSchedule
    /// The builder that made it (`get_scheduler` resolved to its function).
    let function: String

    static let prefixes = ["transformers", "transformers.optimization", "optimization"]

    /// Each builder's parameters after the optimizer, in transformers' order.
    static let signatures: [String: [(String, PythonValue?)]] = [
        "get_constant_schedule": [("last_epoch", .int(-1))],
        "get_constant_schedule_with_warmup": [("num_warmup_steps", nil), ("last_epoch", .int(-1))],
        "get_linear_schedule_with_warmup": [("num_warmup_steps", nil), ("num_training_steps", nil), ("last_epoch", .int(-1))],
        "get_cosine_schedule_with_warmup": [("num_warmup_steps", nil), ("num_training_steps", nil), ("num_cycles", .float(0.5)), ("last_epoch", .int(-1))],
        "get_cosine_with_hard_restarts_schedule_with_warmup": [("num_warmup_steps", nil), ("num_training_steps", nil), ("num_cycles", .int(1)),
                                                               ("last_epoch", .int(-1))],
        "get_polynomial_decay_schedule_with_warmup": [("num_warmup_steps", nil), ("num_training_steps", nil), ("lr_end", .float(1e-7)),
                                                      ("power", .float(1.0)), ("last_epoch", .int(-1))],
        "get_inverse_sqrt_schedule": [("num_warmup_steps", nil), ("timescale", PythonValue.none), ("last_epoch", .int(-1))],
        "get_cosine_with_min_lr_schedule_with_warmup": [("num_warmup_steps", nil), ("num_training_steps", nil), ("num_cycles", .float(0.5)),
                                                        ("last_epoch", .int(-1)), ("min_lr", PythonValue.none), ("min_lr_rate", PythonValue.none)],
        "get_cosine_with_min_lr_schedule_with_warmup_lr_rate": [("num_warmup_steps", nil), ("num_training_steps", nil), ("num_cycles", .float(0.5)),
                                                                ("last_epoch", .int(-1)), ("min_lr", PythonValue.none), ("min_lr_rate", PythonValue.none),
                                                                ("warmup_lr_rate", PythonValue.none)],
        "get_wsd_schedule": [("num_warmup_steps", nil), ("num_decay_steps", nil), ("num_training_steps", PythonValue.none), ("num_stable_steps", PythonValue.none),
                             ("warmup_type", .string("linear")), ("decay_type", .string("cosine")), ("min_lr_ratio", .float(0)), ("num_cycles", .float(0.5)),
                             ("last_epoch", .int(-1))],
        "get_scheduler": [("name", nil), ("num_warmup_steps", PythonValue.none), ("num_training_steps", PythonValue.none),
                          ("scheduler_specific_kwargs", PythonValue.none)],
    ]

    /// `SchedulerType` values and the builder each names (trainer_utils.py, optimization.py
    /// `TYPE_TO_SCHEDULER_FUNCTION`).
    static let schedulerTypes: [(String, String)] = [
        ("linear", "get_linear_schedule_with_warmup"), ("cosine", "get_cosine_schedule_with_warmup"),
        ("cosine_with_restarts", "get_cosine_with_hard_restarts_schedule_with_warmup"), ("polynomial", "get_polynomial_decay_schedule_with_warmup"),
        ("constant", "get_constant_schedule"), ("constant_with_warmup", "get_constant_schedule_with_warmup"), ("inverse_sqrt", "get_inverse_sqrt_schedule"),
        ("reduce_lr_on_plateau", "get_reduce_on_plateau_schedule"), ("cosine_with_min_lr", "get_cosine_with_min_lr_schedule_with_warmup"),
        ("cosine_warmup_with_min_lr", "get_cosine_with_min_lr_schedule_with_warmup_lr_rate"), ("warmup_stable_decay", "get_wsd_schedule"),
        ("greedy", "get_greedy_schedule"),
    ]

    static let refused: [String: String] = [
        "get_reduce_on_plateau_schedule": "get_reduce_on_plateau_schedule returns ReduceLROnPlateau, driven by a metric (step(metrics)), not by the step count: it has no schedule to trace",
        "get_greedy_schedule": "get_greedy_schedule returns GreedyLR, driven by a metric (step(metrics)), not by the step count: it has no schedule to trace",
        "get_adafactor_schedule": "get_adafactor_schedule returns a proxy that reads the lr from transformers' Adafactor optimizer (optimizer._get_lr): it has no schedule of its own",
    ]

    static var names: [String] { signatures.keys.sorted() }

    init(_ a: inout Arguments, defaultLR: Double) throws {
        var a = a
        var function = a.call.name
        if function == "get_scheduler" { (a, function) = try Self.resolve(a) }
        self.function = function
        schedule = try Self.build(&a, function: function, defaultLR: defaultLR)
    }

    /// `get_scheduler(name, ...)`: the builder's own call, with the step counts and the
    /// scheduler_specific_kwargs passed as get_scheduler passes them.
    static func resolve(_ a: Arguments) throws -> (Arguments, String) {
        let nameValue = try a.value("name")
        guard case .string(let name) = nameValue else {
            throw TorchScheduler.Spec.fail(a.column("name"), "get_scheduler: name must be a SchedulerType's string, found \(nameValue.typeName) \(nameValue)")
        }
        guard let function = schedulerTypes.first(where: { $0.0 == name })?.1 else {
            throw TorchScheduler.Spec.fail(a.column("name"), "ValueError: \(name) is not a valid SchedulerType, please select one of "
                + "[" + schedulerTypes.map { "'\($0.0)'" }.joined(separator: ", ") + "]")
        }
        if let reason = refused[function] { throw TorchScheduler.Spec.fail(a.column("name"), "get_scheduler('\(name)'): " + reason) }
        let upper = "SchedulerType." + name.uppercased()
        var keywords: [PythonKeyword] = []
        func pass(_ field: String) throws {
            if case .none = try a.value(field) {
                throw TorchScheduler.Spec.fail(a.call.column, "ValueError: \(upper) requires `\(field)`, please provide that argument.")
            }
            keywords.append(PythonKeyword(name: field, value: try a.value(field), column: a.column(field)))
        }
        if name != "constant" {
            try pass("num_warmup_steps")
            switch name {
            case "constant_with_warmup", "inverse_sqrt": break
            case "warmup_stable_decay":
                if case .none = try a.value("num_training_steps") {} else { try pass("num_training_steps") }
            default: try pass("num_training_steps")
            }
            if name != "constant_with_warmup" {
                switch try a.value("scheduler_specific_kwargs") {
                case .none: break
                case .dict(let entries):
                    keywords += entries.map { PythonKeyword(name: $0.name, value: $0.value, column: $0.column) }
                case let v:
                    throw TorchScheduler.Spec.fail(a.column("scheduler_specific_kwargs"), "get_scheduler: scheduler_specific_kwargs must be a dict, found \(v.typeName) \(v)")
                }
            }
        }
        let call = PythonCall(qualifiedName: function, positional: [], positionalColumns: [], keywords: keywords, column: a.call.column)
        return (try Arguments(call, signature: signatures[function]!), function)
    }

    static func build(_ a: inout Arguments, function: String, defaultLR: Double) throws -> TransformersSchedule {
        func fail(_ field: String, _ message: String) -> HalfTraceError { TorchScheduler.Spec.fail(a.column(field), message) }
        if case .int(let last) = try a.value("last_epoch"), last != -1 {
            throw fail("last_epoch", "\(function)(last_epoch=\(last)): only a schedule built fresh (last_epoch=-1) is traced")
        }
        func steps(_ field: String) throws -> Int {
            let v = try a.value(field)
            guard case .int(let n) = v else { throw fail(field, "\(function): \(field) must be an integer, found \(v.typeName) \(v)") }
            guard (0...TransformersSchedule.maximumSteps).contains(n) else { throw fail(field, "\(function): \(field) = \(n) is outside 0...\(TransformersSchedule.maximumSteps)") }
            return n
        }
        func minLRRate() throws -> Double {
            switch (try a.value("min_lr"), try a.value("min_lr_rate")) {
            case (.none, .none): throw fail("min_lr", "ValueError: One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`")
            case (.none, _): return try a.double("min_lr_rate")
            case (_, .none):
                guard defaultLR > 0 else { throw fail("min_lr", "ZeroDivisionError: float division by zero (min_lr / optimizer.defaults['lr'] with lr 0)") }
                return try a.double("min_lr") / defaultLR
            default: throw fail("min_lr", "ValueError: Only one of min_lr or min_lr_rate should be set")
            }
        }
        func make(_ kind: TransformersSchedule.Kind, _ w: Int, _ n: Int) throws -> TransformersSchedule {
            do { return try TransformersSchedule(kind, warmupSteps: w, trainingSteps: n, warmupMayExceedTraining: true) } catch let e as HalfTraceError {
                let field = e.field ?? "num_warmup_steps"
                throw fail(field, "\(function): \(field) \(e.reason)")
            }
        }
        switch function {
        case "get_constant_schedule":
            return try make(.constant, 0, 1)
        case "get_constant_schedule_with_warmup":
            let w = try steps("num_warmup_steps")
            return try make(.constant, w, max(w, 1))
        case "get_inverse_sqrt_schedule":
            let w = try steps("num_warmup_steps")
            var timescale = w == 0 ? 10_000 : w
            if case .none = try a.value("timescale") {} else { timescale = try steps("timescale") }
            guard timescale > 0 else { throw fail("timescale", "ZeroDivisionError: division by zero (LambdaLR's λ(0) divides by timescale 0)") }
            return try make(.inverseSqrt(timescale: timescale), w, max(w, 1))
        case "get_wsd_schedule":
            let w = try steps("num_warmup_steps"), d = try steps("num_decay_steps")
            let stable: Int
            switch (try a.value("num_training_steps"), try a.value("num_stable_steps")) {
            case (.none, .none): throw fail("num_training_steps", "ValueError: Either num_training_steps or num_stable_steps must be specified.")
            case (_, .none): stable = try steps("num_training_steps") - w - d
            default: stable = try steps("num_stable_steps")  // transformers warns and uses it when both are given
            }
            func shape(_ field: String) throws -> TransformersSchedule.Shape {
                let v = try a.value(field).str
                guard let s = TransformersSchedule.Shape(rawValue: v) else {
                    throw fail(field, "ValueError: Unknown \(field == "warmup_type" ? "warmup" : "decay") type: \(v), expected 'linear', 'cosine' or '1-sqrt'")
                }
                return s
            }
            let kind = TransformersSchedule.Kind.wsd(stableSteps: stable, decaySteps: d, warmupType: try shape("warmup_type"), decayType: try shape("decay_type"),
                                                     minLRRatio: try a.double("min_lr_ratio"), numCycles: try a.double("num_cycles"))
            return try make(kind, w, max(1, w + max(stable, 0) + d))
        default: break
        }
        let w = try steps("num_warmup_steps"), n = try steps("num_training_steps")
        switch function {
        case "get_linear_schedule_with_warmup": return try make(.linear, w, n)
        case "get_cosine_schedule_with_warmup": return try make(.cosine(numCycles: try a.double("num_cycles")), w, n)
        case "get_cosine_with_hard_restarts_schedule_with_warmup": return try make(.cosineWithHardRestarts(numCycles: try a.double("num_cycles")), w, n)
        case "get_polynomial_decay_schedule_with_warmup":
            let lrEnd = try a.double("lr_end")
            guard defaultLR > lrEnd else { throw fail("lr_end", "ValueError: lr_end (\(try a.value("lr_end"))) must be smaller than initial lr (\(PythonValue.repr(defaultLR)))") }
            guard n != w else {
                throw fail("num_training_steps", "ZeroDivisionError: division by zero (transformers divides by num_training_steps - num_warmup_steps = 0 at step \(n))")
            }
            return try make(.polynomial(lrEnd: lrEnd, power: try a.double("power"), lrInit: defaultLR), w, n)
        case "get_cosine_with_min_lr_schedule_with_warmup":
            return try make(.cosineWithMinLR(numCycles: try a.double("num_cycles"), minLRRate: try minLRRate()), w, n)
        default:  // get_cosine_with_min_lr_schedule_with_warmup_lr_rate
            var warmupRate: Double?
            if case .none = try a.value("warmup_lr_rate") {} else { warmupRate = try a.double("warmup_lr_rate") }
            return try make(.cosineWarmupLRRate(numCycles: try a.double("num_cycles"), minLRRate: try minLRRate(), warmupLRRate: warmupRate), w, n)
        }
    }

    func lrs(_ k: Int, base: [Double], exact: Bool) -> [Double] {
        let factor = exact ? schedule(k) : schedule.transformers(k)
        return base.map { $0 * factor }
    }

    var length: Int { schedule.trainingSteps + 5 }
}
