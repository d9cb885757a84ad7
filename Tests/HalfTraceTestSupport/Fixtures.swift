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

    /// A fixture whose floats are plain JSON numbers (Python's repr), read exactly: Foundation's
    /// JSONSerialization rounds some 17-digit numbers to a neighbouring Double, so every number
    /// token is turned into a string before parsing, and `double` and `int` read the strings.
    public static func loadExact(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        var out = [UInt8]()
        out.reserveCapacity(data.count + data.count / 4)
        var inString = false, escaped = false, inNumber = false
        for byte in data {
            if inString {
                out.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            let numeric = (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
            if inNumber && !numeric { out.append(UInt8(ascii: "\"")); inNumber = false }
            if !inNumber && numeric && byte != UInt8(ascii: "e") && byte != UInt8(ascii: "E") { out.append(UInt8(ascii: "\"")); inNumber = true }
            if byte == UInt8(ascii: "\"") { inString = true }
            out.append(byte)
        }
        if inNumber { out.append(UInt8(ascii: "\"")) }
        guard let object = try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any] else {
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
        if let s = value as? String, let n = Int(s) { return n }
        if let n = value as? NSNumber { return n.intValue }
        throw FixtureError("not an integer: \(String(describing: value))")
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
