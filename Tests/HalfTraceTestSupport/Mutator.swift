import Foundation
import HalfTraceKernels

/// Deterministic mutations of a text file, as a hand edit, a bad disk or a hostile writer would
/// make them: truncations, byte flips, numbers replaced by -1, 0, NaN, infinities, 1e308,
/// Int.max and huge lengths, lines deleted, repeated or swapped, fields split or joined.
public struct Mutator {
    var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// What a number may be replaced by. `quoted` adds JSON strings for the non-finite values
    /// that a JSON decoder with a non-conforming float strategy accepts.
    public static let replacements = ["-1", "0", "-0", "1", "nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e-320",
                                      "9223372036854775807", "-9223372036854775808", "18446744073709551616",
                                      "1000000000000000", "4294967296", "2.5", "1e15", "65536", "100000000"]
    public static let quotedReplacements = ["\"nan\"", "\"inf\"", "\"-inf\"", "\"\"", "null", "true", "[]", "{}"]

    /// One mutation of `text`.
    public mutating func mutate(_ text: String, json: Bool = false) -> String {
        var bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return "x" }
        switch rng.nextIndex(below: 10) {
        case 0:  // truncation
            bytes.removeLast(1 + rng.nextIndex(below: bytes.count))
        case 1:  // a flipped bit
            bytes[rng.nextIndex(below: bytes.count)] ^= UInt8(1 << rng.nextIndex(below: 8))
        case 2, 3, 4, 5:  // a number replaced
            let numbers = Self.numberRanges(bytes)
            if numbers.isEmpty { bytes[rng.nextIndex(below: bytes.count)] = UInt8(ascii: "9"); break }
            let r = numbers[rng.nextIndex(below: numbers.count)]
            let pool = json && rng.nextIndex(below: 3) == 0 ? Self.quotedReplacements : Self.replacements
            bytes.replaceSubrange(r, with: Array(pool[rng.nextIndex(below: pool.count)].utf8))
        case 6:  // a line deleted
            var lines = Self.lines(bytes)
            if lines.count > 1 { lines.remove(at: rng.nextIndex(below: lines.count)) }
            bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
        case 7:  // a line repeated
            var lines = Self.lines(bytes)
            let i = rng.nextIndex(below: lines.count)
            lines.insert(lines[i], at: i)
            bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
        case 8:  // two lines swapped
            var lines = Self.lines(bytes)
            if lines.count > 1 { lines.swapAt(rng.nextIndex(below: lines.count), rng.nextIndex(below: lines.count)) }
            bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
        default:  // a separator inserted or removed
            let i = rng.nextIndex(below: bytes.count)
            let separators: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: "\n")]
            if separators.contains(bytes[i]) { bytes.remove(at: i) } else { bytes.insert(separators[rng.nextIndex(below: separators.count)], at: i) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    }

    /// The ranges of the decimal numbers in `bytes` (an optional sign, digits, fraction, exponent).
    static func numberRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        func digit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") }
        var out: [Range<Int>] = [], i = 0
        while i < bytes.count {
            guard digit(i) else { i += 1; continue }
            var start = i
            if start > 0 && bytes[start - 1] == UInt8(ascii: "-") { start -= 1 }
            while digit(i) || (i < bytes.count && bytes[i] == UInt8(ascii: ".")) { i += 1 }
            if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
                i += 1
                if i < bytes.count && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) { i += 1 }
                while digit(i) { i += 1 }
            }
            out.append(start..<i)
        }
        return out
    }
}

/// A directory in the temporary folder, named `ht-NAME-PID-RANDOM`, removed after `body` returns
/// or throws.
public func withTemporaryDirectory<T>(_ name: String, _ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("ht-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

extension Mutator {
    /// A structural mutation of a JSON document: a number replaced (by -1, 0, 2^53, Int.max, 1e308,
    /// "nan", "inf"...), two values of the same key swapped between objects (a buffer of one
    /// parameter given to another), an array element removed or repeated, a key removed or nulled.
    /// Falls back to a text mutation when the document does not parse.
    public mutating func mutateJSON(_ text: String) -> String {
        guard var root = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return mutate(text, json: true)
        }
        var paths: [[PathStep]] = []
        Self.collect(root, [], &paths)
        guard !paths.isEmpty else { return mutate(text, json: true) }
        switch rng.nextIndex(below: 4) {
        case 0:  // a number replaced
            let numbers = paths.filter { Self.value(root, $0) is NSNumber }
            guard let path = numbers.isEmpty ? nil : numbers[rng.nextIndex(below: numbers.count)] else { break }
            let pool: [Any] = [-1, 0, 1, 9_007_199_254_740_992, Int.max, Int.min, 1e308, -1e308, 2.5, 65536, 1e15, "nan", "inf", "-inf"]
            root = Self.replacing(root, path, with: pool[rng.nextIndex(below: pool.count)])
        case 1:  // two values of one key swapped between objects
            let keyed = paths.filter { if case .key = $0.last { return true } else { return false } }
            guard keyed.count > 1 else { break }
            let a = keyed[rng.nextIndex(below: keyed.count)]
            let mates = keyed.filter { $0.last == a.last && $0 != a }
            guard !mates.isEmpty else { break }
            let b = mates[rng.nextIndex(below: mates.count)]
            let (va, vb) = (Self.value(root, a)!, Self.value(root, b)!)
            root = Self.replacing(Self.replacing(root, a, with: vb), b, with: va)
        case 2:  // an array element removed or repeated
            let arrays = paths.filter { (Self.value(root, $0) as? [Any])?.isEmpty == false }
            guard !arrays.isEmpty else { break }
            let path = arrays[rng.nextIndex(below: arrays.count)]
            var array = Self.value(root, path) as! [Any]
            let i = rng.nextIndex(below: array.count)
            if rng.nextIndex(below: 2) == 0 { array.remove(at: i) } else { array.insert(array[i], at: i) }
            root = Self.replacing(root, path, with: array)
        default:  // a key removed or set to null
            let path = paths[rng.nextIndex(below: paths.count)]
            root = Self.replacing(root, path, with: rng.nextIndex(below: 2) == 0 ? Removed() : NSNull())
        }
        guard let data = try? JSONSerialization.data(withJSONObject: root, options: [.fragmentsAllowed, .sortedKeys]) else {
            return mutate(text, json: true)
        }
        return String(decoding: data, as: UTF8.self)
    }

    public enum PathStep: Equatable { case key(String), index(Int) }
    struct Removed {}

    static func collect(_ node: Any, _ path: [PathStep], _ out: inout [[PathStep]]) {
        if !path.isEmpty { out.append(path) }
        if let d = node as? [String: Any] {
            for (k, v) in d.sorted(by: { $0.key < $1.key }) { collect(v, path + [.key(k)], &out) }
        } else if let a = node as? [Any] {
            // Long arrays (tensor bytes are strings; parameter lists are short): every element.
            for (i, v) in a.enumerated() { collect(v, path + [.index(i)], &out) }
        }
    }

    static func value(_ node: Any, _ path: [PathStep]) -> Any? {
        var current: Any? = node
        for step in path {
            switch step {
            case .key(let k): current = (current as? [String: Any])?[k]
            case .index(let i): current = (current as? [Any]).flatMap { i < $0.count ? $0[i] : nil }
            }
        }
        return current
    }

    static func replacing(_ node: Any, _ path: [PathStep], with new: Any) -> Any {
        guard let step = path.first else { return new }
        let rest = Array(path.dropFirst())
        switch step {
        case .key(let k):
            var d = node as! [String: Any]
            let child = replacing(d[k]!, rest, with: new)
            if child is Removed { d.removeValue(forKey: k) } else { d[k] = child }
            return d
        case .index(let i):
            var a = node as! [Any]
            let child = replacing(a[i], rest, with: new)
            if child is Removed { a.remove(at: i) } else { a[i] = child }
            return a
        }
    }
}
