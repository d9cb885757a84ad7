import Foundation
import HalfTraceKernels
import HalfTraceOptim
import Yams

/// YOLOv5 hyper-parameter files (`data/hyps/hyp.scratch-low.yaml` and friends).
///
/// The keys of `ScheduleHyperparameters.keys` are read; every other key of a real YOLOv5 file
/// (box, cls, hsv_h, mosaic, ...) is reported once as ignored; a missing key keeps its default.
/// A value that is not a plain number, or is out of range, is an error naming the file, line
/// and key. Files larger than `maximumBytes`, and YAML anchors and aliases (which a flat mapping
/// of numbers never needs, and which make an "alias bomb" expand exponentially), are refused
/// before the YAML is composed.
public enum HypFile {
    /// Larger files are refused before they are parsed (1 MiB).
    public static let maximumBytes = 1 << 20

    /// A hyper-parameter file as read: the values, the keys ignored and the keys missing.
    public struct Loaded: Sendable {
        /// The defaults with the file's values applied.
        public var hyp: ScheduleHyperparameters
        /// The file's keys that HalfTrace does not read (box, cls, mosaic, ...), in file order.
        public var ignored: [String]
        /// The keys HalfTrace reads that the file lacks; they keep their defaults.
        public var missing: [String]
        /// The ignored keys whose values are plain finite numbers (box, cls, fliplr, ...), for a
        /// recipe that reads more keys than the schedule's (the detector's loss gains).
        public var others: [String: Double] = [:]
    }

    /// Reads the file at `path` (valid UTF-8, at most `maximumBytes`) and parses it over `defaults`.
    public static func load(_ path: String, defaults: ScheduleHyperparameters = ScheduleHyperparameters()) throws -> Loaded {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HalfTraceError.inaccessible(path, "cannot read the hyper-parameter file")
        }
        guard data.count <= maximumBytes else {
            throw HalfTraceError.file(path, "\(data.count) bytes; a hyper-parameter file is at most \(maximumBytes)")
        }
        return try parse(TextFile.utf8(data, name: path), name: path, defaults: defaults)
    }

    /// Parses the YAML `text` over `defaults`; errors name the file as `name`.
    public static func parse(_ text: String, name: String, defaults: ScheduleHyperparameters = ScheduleHyperparameters()) throws -> Loaded {
        try TextFile.rejectYAMLAnchorsAndAliases(text, name: name, what: "a hyper-parameter file")
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw HalfTraceError.file(name, "not valid YAML: \(String("\(error)".prefix(300)))")
        }
        guard let node else { throw HalfTraceError.file(name, "the file is empty") }
        guard let mapping = node.mapping else {
            throw HalfTraceError.file(name, line: node.mark?.line ?? 1, "expected a mapping of key: value")
        }
        var hyp = defaults, ignored: [String] = [], seen = Set<String>(), others: [String: Double] = [:]
        for (keyNode, valueNode) in mapping {
            let line = valueNode.mark?.line ?? keyNode.mark?.line
            guard let keyName = keyNode.scalar?.string else { continue }
            guard let key = ScheduleHyperparameters.key(keyName) else {
                ignored.append(keyName)
                if let scalar = valueNode.scalar, scalar.style == .plain, let v = Double(scalar.string), v.isFinite { others[keyName] = v }
                continue
            }
            guard let scalar = valueNode.scalar else {
                throw HalfTraceError.file(name, line: line, field: key.name, "must be a number, got a \(valueNode.mapping != nil ? "mapping" : "list")")
            }
            guard scalar.style == .plain, let value = Double(scalar.string), value.isFinite else {
                throw HalfTraceError.file(name, line: line, field: key.name, "must be a finite number, got '\(scalar.string.prefix(40))'")
            }
            seen.insert(key.name)
            hyp[keyPath: key.keyPath] = value
            do { try HalfTraceError.check(key.name, value, in: key.valid) } catch let e as HalfTraceError { throw e.inFile(name, line: line) }
        }
        return Loaded(hyp: hyp, ignored: ignored, missing: ScheduleHyperparameters.keys.map(\.name).filter { !seen.contains($0) },
                      others: others)
    }

    /// The YAML text of `hyp`, with a comment header (YOLOv5's hyp_evolve.yaml layout).
    public static func text(_ hyp: ScheduleHyperparameters, header: [String]) -> String {
        text(ScheduleHyperparameters.keys.map { ($0.name, hyp[keyPath: $0.keyPath]) }, header: header)
    }

    /// The YAML text of `key: value` pairs in order, with a comment header.
    public static func text(_ pairs: [(String, Double)], header: [String]) -> String {
        header.map { "# " + $0 }.joined(separator: "\n") + "\n\n" + pairs.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\n"
    }
}
