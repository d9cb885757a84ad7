import Foundation

/// A field in which two configurations differ: its library name in snake_case with dots for
/// nesting (`hyp.weight_decay`, `scaler.growth_factor`) and each side's value as text ("none"
/// for an absent optional).
public struct FieldChange: Sendable, Equatable, CustomStringConvertible {
    /// The field's library name (`hyp.lr0`, `scaler.min_scale`).
    public let field: String
    /// The value before the change, as text.
    public let old: String
    /// The value after the change, as text.
    public let new: String

    /// "field: old -> new".
    public var description: String { "\(field): \(old) -> \(new)" }
}

/// The fields in which `new` differs from `old`, derived from their Codable encoding, so that no
/// field can be left out of a comparison (resume and evolution use it).
public func configurationChanges<T: Encodable>(from old: T, to new: T) -> [FieldChange] {
    let a = flattenedFields(old), b = flattenedFields(new)
    return Set(a.keys).union(b.keys).sorted().compactMap { field in
        let x = a[field] ?? "none", y = b[field] ?? "none"
        return x == y ? nil : FieldChange(field: field, old: x, new: y)
    }
}

/// Every leaf of the value's JSON encoding as (dotted snake_case path, text).
func flattenedFields<T: Encodable>(_ value: T) -> [String: String] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    guard let data = try? encoder.encode(value), let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
        return [:]
    }
    var out: [String: String] = [:]
    func walk(_ node: Any, _ path: String) {
        if let dictionary = node as? [String: Any] {
            for (key, child) in dictionary { walk(child, path.isEmpty ? snakeCase(key) : path + "." + snakeCase(key)) }
        } else if let array = node as? [Any] {
            out[path] = "[" + array.map { "\($0)" }.joined(separator: ", ") + "]"
        } else if node is NSNull {
            out[path] = "none"
        } else {
            out[path] = "\(node)"
        }
    }
    walk(object, "")
    return out
}

/// `warmupBiasLR` -> `warmup_bias_lr`, `growthInterval` -> `growth_interval` (a run of capitals
/// is one word).
public func snakeCase(_ name: String) -> String {
    var out = ""
    let characters = Array(name)
    for (i, c) in characters.enumerated() {
        if c.isUppercase {
            let previousLower = i > 0 && (characters[i - 1].isLowercase || characters[i - 1].isNumber)
            let nextLower = i + 1 < characters.count && characters[i + 1].isLowercase && i > 0 && characters[i - 1].isUppercase
            if previousLower || nextLower { out += "_" }
            out += c.lowercased()
        } else {
            out.append(c)
        }
    }
    return out
}
