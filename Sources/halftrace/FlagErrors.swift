import ArgumentParser
import HalfTraceOptim

/// A failure reported as one line, "Error: <message>", with a non-zero exit status.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, turning a library `ParameterError` into a `CommandError` that names the
/// command-line flag (`flags` maps library parameter names to flags).
func naming(_ flags: [String: String], _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ParameterError {
        let key = flags.keys.first { error.parameter == $0 || error.parameter.hasPrefix($0 + " ") }
        let flag = key.flatMap { flags[$0] } ?? error.parameter
        throw CommandError("\(flag): \(error.message)")
    }
}

/// Parses a comma-separated list of numbers for `flag`.
func numbers(_ text: String, flag: String) throws -> [Double] {
    try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
        let s = part.trimmingCharacters(in: .whitespaces)
        guard let v = Double(s), v.isFinite else { throw CommandError("\(flag): '\(s)' is not a finite number") }
        return v
    }
}

/// Parses a comma-separated list of non-negative integers for `flag` (empty text: none).
func integers(_ text: String, flag: String) throws -> [Int] {
    if text.trimmingCharacters(in: .whitespaces).isEmpty { return [] }
    return try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
        let s = part.trimmingCharacters(in: .whitespaces)
        guard let v = Int(s), v >= 0 else { throw CommandError("\(flag): '\(s)' is not a non-negative integer") }
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
