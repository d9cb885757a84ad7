import ArgumentParser
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTraining

/// The one place where the libraries' field names (`batch_size`, `hyp.lr0`, `T_0`,
/// `scaler.growth_interval`) become this command's flags (`--batch-size`, `--lr0`, `--t0`,
/// `--growth-interval`). A field's flag is `--` and its last component with `_` as `-`, except
/// for the names below.
enum Flags {
    static let exceptions: [String: String] = [
        "nominal_batch_size": "--nbs", "digits_path": "--data", "cosine_lr": "--cos-lr", "T_0": "--t0", "T_mult": "--t-mult",
        "scaler.enabled": "--scaler", "refill": "--hysteresis-refill", "param_groups[0].momentum": "--momentum",
        "loss_spikes.iterations": "--loss-spikes", "loss_spikes.gain": "--loss-spike-gain",
        "scaler.rule.framework": "--scaler-rule", "scaler.rule.raise_at_min_scale": "--raise-error-at-min-scale",
        "rules": "--release", "steps_per_epoch": "--nb",
    ]

    static func flag(for field: String) -> String {
        if let f = exceptions[field] { return f }
        let last = String(field.split(separator: ".").last ?? Substring(field))
        if let f = exceptions[last] { return f }
        return "--" + last.replacingOccurrences(of: "_", with: "-")
    }

    /// The configuration fields a `--override` name (a flag without its dashes) changes
    /// (`hysteresis`: PyTorch-style and a rule's).
    static func trainingFields(forOverride name: String) throws -> [String] {
        let flag = "--" + (name.hasPrefix("--") ? String(name.dropFirst(2)) : name)
        let fields = TrainingConfig.fieldNames.filter { Flags.flag(for: $0) == flag }.sorted()
        guard !fields.isEmpty else {
            throw ValidationError("--override: '\(name)' is not a training flag (e.g. --override lr0, --override batch-size)")
        }
        return fields
    }

    /// A library error as this command reports it: a value error names the flag; a file error
    /// names the file, its line and the field in it.
    static func message(_ e: HalfTraceError) -> String {
        guard e.kind == .invalidValue, let field = e.field else { return e.description }
        return (e.file.map { $0 + (e.line.map { ":\($0)" } ?? "") + ": " } ?? "") + "\(flag(for: field)): \(e.reason)"
    }
}

/// A failure reported as one line, "Error: <message>", with a non-zero exit status.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ValidationError {
    /// A library error from a flag check, with the field named by its flag.
    init(_ error: HalfTraceError) { self.init(Flags.message(error)) }
}

/// Runs a library check or construction for `validate()`, reporting its error with the flag's name.
@discardableResult
func validating<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as HalfTraceError { throw ValidationError(e) }
}

/// Parses a comma-separated list of numbers for `flag`.
func numbers(_ text: String, flag: String) throws -> [Double] {
    try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
        let s = part.trimmingCharacters(in: .whitespaces)
        guard let v = Double(s), v.isFinite else { throw ValidationError("\(flag): '\(s.prefix(40))' is not a finite number") }
        return v
    }
}

/// Parses a comma-separated list of non-negative integers for `flag` (empty text: none).
func integers(_ text: String, flag: String) throws -> [Int] {
    if text.trimmingCharacters(in: .whitespaces).isEmpty { return [] }
    return try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
        let s = part.trimmingCharacters(in: .whitespaces)
        guard let v = Int(s), v >= 0 else { throw ValidationError("\(flag): '\(s.prefix(40))' is not a non-negative integer") }
        return v
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        String(self.drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}

extension Set where Element == Character {
    static let whitespaces: Set<Character> = [" ", "\t"]
}

/// `--optimizer-lr`: the optimizer's default lr (`optimizer.defaults["lr"]`, the `lr=` of its
/// constructor), which transformers' polynomial and min-lr schedules read; default the first
/// group's lr.
struct OptimizerLRFlag: ParsableArguments {
    @Option(name: .customLong("optimizer-lr"), parsing: .unconditional,
            help: "--scheduler: the optimizer's default lr (optimizer.defaults[\"lr\"]) when its groups override it (default: the first group's lr).")
    var text: String?

    func value() throws -> Double? {
        guard let text else { return nil }
        guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite, v >= 0 else {
            throw ValidationError("--optimizer-lr: '\(text.prefix(40))' is not a finite learning rate >= 0")
        }
        return v
    }

    func validate() throws { _ = try value() }

    /// The scheduler `make` builds with this lr, refused when its values do not depend on it:
    /// the flag would be ignored. (Built again with another lr: the same trace means unread.)
    func scheduler(_ make: (Double?) throws -> TorchScheduler) throws -> TorchScheduler {
        let s = try make(try value())
        guard let v = try value(), let other = try? make(v * 2 + 1) else { return s }
        let n = max(1, min(1_000, s.defaultSteps))
        if let a = try? s.trace(steps: n), let b = try? other.trace(steps: n), a == b {
            throw ValidationError("--optimizer-lr applies to schedules that read optimizer.defaults[\"lr\"] (transformers' polynomial and min-lr ones); \(s.call.name) does not")
        }
        return s
    }
}
