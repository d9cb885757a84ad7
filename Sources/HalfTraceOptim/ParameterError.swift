/// A constructor or setter argument outside its valid range. The message names the parameter,
/// the value given and what is valid, e.g. "T_0 = 0: expected a positive integer".
public struct ParameterError: Error, CustomStringConvertible, Equatable {
    public let parameter: String
    public let message: String

    public init(_ parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }

    public var description: String { "\(parameter): \(message)" }

    /// Throws unless `value` is finite and within `range`.
    public static func check(_ parameter: String, _ value: Double, in range: ClosedRange<Double>,
                             expected: String? = nil) throws {
        guard value.isFinite, range.contains(value) else {
            throw ParameterError(parameter, "\(value) is outside \(expected ?? "[\(range.lowerBound), \(range.upperBound)]")")
        }
    }

    /// Throws unless `value` is finite and >= `minimum`.
    public static func check(_ parameter: String, _ value: Double, atLeast minimum: Double) throws {
        guard value.isFinite, value >= minimum else {
            throw ParameterError(parameter, "\(value) is invalid: expected a finite value >= \(minimum)")
        }
    }
}
