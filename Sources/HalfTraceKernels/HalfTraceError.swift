/// The one error HalfTrace's libraries throw: what is wrong, with the field at fault named by its
/// library name (`batch_size`, `T_0`, `hyp.lr0`, `scaler.growth_interval`) and, when a file is
/// at fault, the file and line. Libraries never mention command-line flags; the `halftrace`
/// command maps fields to its flags in one place.
public struct HalfTraceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What is at fault: a value, a file's contents, a file's access, or the order of API calls.
    public enum Kind: String, Sendable, Equatable {
        /// A value outside what the formula or the recipe accepts.
        case invalidValue
        /// A file whose contents are malformed or make no sense (truncated, not a number, out of
        /// range, inconsistent with itself).
        case invalidFile
        /// A file or directory that cannot be read or written.
        case inaccessible
        /// An API used out of order (e.g. `unscale_` twice before `update`, which PyTorch forbids).
        case misuse
    }

    /// What is at fault.
    public var kind: Kind
    /// The library name of the field at fault, if one is.
    public var field: String?
    /// The file at fault, and its 1-based line when one line is.
    public var file: String?
    /// The 1-based line of `file` at fault, when one line is.
    public var line: Int?
    /// What is wrong and, where it helps, what was expected.
    public var reason: String

    /// An error of `kind` saying `reason`, with the field, file and line at fault where known.
    public init(_ kind: Kind, field: String? = nil, file: String? = nil, line: Int? = nil, _ reason: String) {
        self.kind = kind
        self.field = field
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `field` holds a value the formula or the recipe does not accept.
    public static func invalid(_ field: String, _ reason: String) -> HalfTraceError {
        HalfTraceError(.invalidValue, field: field, reason)
    }

    /// `path` (at `line`, in `field`) holds something unusable.
    public static func file(_ path: String, line: Int? = nil, field: String? = nil, _ reason: String) -> HalfTraceError {
        HalfTraceError(.invalidFile, field: field, file: path, line: line, reason)
    }

    /// `path` cannot be read or written.
    public static func inaccessible(_ path: String, _ reason: String) -> HalfTraceError {
        HalfTraceError(.inaccessible, file: path, reason)
    }

    /// An API used out of order; `reason` is PyTorch's message where PyTorch has one.
    public static func misuse(_ reason: String) -> HalfTraceError { HalfTraceError(.misuse, reason) }

    /// This error as found while reading `path` (at `line`): a value error becomes a file error
    /// that keeps its field. An error that already names a file is returned unchanged.
    public func inFile(_ path: String, line: Int? = nil) -> HalfTraceError {
        guard file == nil else { return self }
        var e = self
        e.file = path
        e.line = line
        if e.kind == .invalidValue { e.kind = .invalidFile }
        return e
    }

    /// This error with its field placed under `parent` (`epochs` in `config` is `config.epochs`).
    public func inField(_ parent: String) -> HalfTraceError {
        var e = self
        e.field = field.map { parent + "." + $0 } ?? parent
        return e
    }

    /// "file:line: field: reason", each part present only when known.
    public var description: String {
        var text = ""
        if let file { text += file + (line.map { ":\($0)" } ?? "") + ": " }
        if let field { text += field + ": " }
        return text + reason
    }
}

extension HalfTraceError {
    /// Throws unless `value` is finite and within `range`.
    public static func check(_ field: String, _ value: Double, in range: ClosedRange<Double>, expected: String? = nil) throws {
        guard value.isFinite, range.contains(value) else {
            throw invalid(field, "\(value) is outside \(expected ?? "[\(range.lowerBound), \(range.upperBound)]")")
        }
    }

    /// Throws unless `value` is finite and >= `minimum`.
    public static func check(_ field: String, _ value: Double, atLeast minimum: Double) throws {
        guard value.isFinite, value >= minimum else {
            throw invalid(field, "\(value) is invalid: expected a finite value >= \(minimum)")
        }
    }

    /// Throws unless `value` is within `range`.
    public static func check(_ field: String, _ value: Int, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw invalid(field, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
    }
}
