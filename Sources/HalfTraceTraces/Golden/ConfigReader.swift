import HalfTraceKernels

/// Typed, bounded access to a scenario's configuration (a golden file's `# config:` line). Every
/// value is checked against the range its scenario can run with before anything is computed or
/// allocated from it; an error names the key as `config.KEY`.
struct ConfigReader {
    let config: ScenarioConfig

    private func fail(_ key: String, _ reason: String) -> HalfTraceError { HalfTraceError.invalid("config.\(key)", reason) }

    func string(_ key: String) throws -> String {
        guard let v = config[key] else { throw fail(key, "missing") }
        return v
    }

    func double(_ key: String, in range: ClosedRange<Double>) throws -> Double {
        let s = try string(key)
        guard let v = Double(s), v.isFinite, range.contains(v) else {
            throw fail(key, "'\(s.prefix(40))' is not a number in [\(range.lowerBound), \(range.upperBound)]")
        }
        return v
    }

    func optionalDouble(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let s = config[key], s != "none" else { return nil }
        return try double(key, in: range)
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        let s = try string(key)
        guard let v = Int(s), range.contains(v) else {
            throw fail(key, "'\(s.prefix(40))' is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func seed(_ key: String) throws -> UInt64 {
        let s = try string(key)
        guard let v = UInt64(s) else { throw fail(key, "'\(s.prefix(40))' is not a seed (an integer in 0...\(UInt64.max))") }
        return v
    }

    func bool(_ key: String) throws -> Bool {
        switch try string(key) {
        case "true": return true
        case "false": return false
        case let s: throw fail(key, "'\(s.prefix(40))' is not true or false")
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws -> T where T.RawValue == String {
        let s = try string(key)
        guard let v = T(rawValue: s) else {
            throw fail(key, "'\(s.prefix(40))' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    func doubles(_ key: String, count: ClosedRange<Int>, each range: ClosedRange<Double>) throws -> [Double] {
        try list(key, count: count, expected: "a number in [\(range.lowerBound), \(range.upperBound)]") {
            Double($0).flatMap { $0.isFinite && range.contains($0) ? $0 : nil }
        }
    }

    func ints(_ key: String, count: ClosedRange<Int>, each range: ClosedRange<Int>) throws -> [Int] {
        try list(key, count: count, expected: "an integer in \(range.lowerBound)...\(range.upperBound)") {
            Int($0).flatMap { range.contains($0) ? $0 : nil }
        }
    }

    /// A comma-separated list ("none" or empty: no values) of `count` values, each parsed by
    /// `parse` (nil: not `expected`).
    private func list<T>(_ key: String, count: ClosedRange<Int>, expected: String, _ parse: (String) -> T?) throws -> [T] {
        let s = try string(key)
        let parts = s.isEmpty || s == "none" ? [] : s.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard count.contains(parts.count) else { throw fail(key, "\(parts.count) values; expected \(count.lowerBound)...\(count.upperBound)") }
        return try parts.map { part in
            guard let v = parse(part) else { throw fail(key, "'\(part.prefix(40))' is not \(expected)") }
            return v
        }
    }
}

import HalfTraceOptim
import HalfTraceReference

extension ConfigReader {
    /// The recipe's hyper-parameters, one `config` key per `ScheduleHyperparameters.keys` entry.
    func hyperparameters() throws -> ScheduleHyperparameters {
        var h = ScheduleHyperparameters()
        for key in ScheduleHyperparameters.keys { h[keyPath: key.keyPath] = try double(key.name, in: key.valid) }
        return h
    }
}

extension ScheduleHyperparameters {
    /// The configuration pairs `ConfigReader.hyperparameters` reads.
    static func configPairs(_ h: ScheduleHyperparameters = ScheduleHyperparameters()) -> [(String, String)] {
        keys.map { ($0.name, "\(h[keyPath: $0.keyPath])") }
    }
}

extension Reference.WarmupHyperparameters {
    /// The Reference's copy of the engine's hyper-parameters (the Reference imports nothing it checks).
    init(_ h: ScheduleHyperparameters) {
        self.init()
        (lr0, lrf, momentum, warmupEpochs, warmupMomentum, warmupBiasLR) = (h.lr0, h.lrf, h.momentum, h.warmupEpochs, h.warmupMomentum, h.warmupBiasLR)
    }
}
