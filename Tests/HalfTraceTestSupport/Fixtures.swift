import Foundation

/// Reference data recorded from NumPy and PyTorch by `Tests/HalfTraceTests/Fixtures/make_fixtures.py`.
/// Floats are stored with Python's float.hex(), so they parse back exactly.
public enum Fixture {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("HalfTraceTests/Fixtures")

    public static func load(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("\(name).json is not a JSON object")
        }
        return object
    }

    /// A hex (or plain) float string or a JSON number as Double.
    public static func double(_ value: Any?) throws -> Double {
        if let s = value as? String, let v = Double(s) { return v }
        if let n = value as? NSNumber { return n.doubleValue }
        throw FixtureError("not a number: \(String(describing: value))")
    }

    public static func doubles(_ value: Any?) throws -> [Double] {
        guard let list = value as? [Any] else { throw FixtureError("not a list: \(String(describing: value))") }
        return try list.map(double)
    }

    public static func int(_ value: Any?) throws -> Int {
        if let n = value as? NSNumber { return n.intValue }
        throw FixtureError("not an integer: \(String(describing: value))")
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
