import HalfTraceTraining

/// A golden scenario: a configuration, its columns, the engine run that produces every column,
/// and the Reference values of its formula (and info) columns.
public protocol Scenario {
    var columns: [GoldenColumn] { get }
    /// The engine's rows, one value per column (formula columns hold what the engine computed).
    func engineRows(_ runs: RunCache) throws -> [[Double]]
    /// Reference values for the formula and info columns, by name. May read the engine's own
    /// rows (e.g. the found-inf flags a real run produced, from which the scale is recomputed).
    func reference(engineRows: [[Double]]) throws -> [String: [Double]]
}

/// A scenario as listed in Golden/: a file name, a title and the configuration that rebuilds it.
public struct ScenarioSpec: Sendable, Equatable {
    public let name: String
    public let title: String
    public let config: ScenarioConfig

    public init(_ name: String, _ title: String, _ pairs: [(String, String)]) {
        self.name = name
        self.title = title
        self.config = ScenarioConfig(pairs)
    }

    /// Builds the scenario from its configuration alone (what a golden file's `# config:` holds).
    public func make() throws -> Scenario { try ScenarioFactory.make(config) }
}

/// Training runs shared by scenarios with one configuration (per-iteration and per-epoch files).
public final class RunCache {
    var runs: [String: (records: [IterationRecord], epochs: [EpochResult])] = [:]
    public init() {}
}

extension Scenario {
    /// The golden rows: engine rows with formula and info columns replaced by the Reference's.
    public func goldenRows(engineRows: [[Double]]) throws -> [[Double]] {
        let ref = try reference(engineRows: engineRows)
        var rows = engineRows
        for (j, column) in columns.enumerated() where column.source == .formula || column.source == .info {
            guard let values = ref[column.name], values.count == rows.count else {
                throw GoldenError("reference for column \(column.name): \(ref[column.name]?.count ?? 0) values, \(rows.count) rows")
            }
            for i in rows.indices { rows[i][j] = values[i] }
        }
        return rows
    }
}

/// Typed access to a scenario's configuration, with errors naming the key.
struct ConfigReader {
    let config: ScenarioConfig

    func string(_ key: String) throws -> String {
        guard let v = config[key] else { throw GoldenError("config: missing '\(key)'") }
        return v
    }

    func double(_ key: String) throws -> Double {
        let s = try string(key)
        guard let v = Double(s), v.isFinite else { throw GoldenError("config: \(key)=\(s) is not a finite number") }
        return v
    }

    func optionalDouble(_ key: String) throws -> Double? {
        guard let s = config[key], s != "none" else { return nil }
        return try double(key)
    }

    func int(_ key: String) throws -> Int {
        let s = try string(key)
        guard let v = Int(s) else { throw GoldenError("config: \(key)=\(s) is not an integer") }
        return v
    }

    func bool(_ key: String) throws -> Bool {
        switch try string(key) {
        case "true": return true
        case "false": return false
        case let s: throw GoldenError("config: \(key)=\(s) is not true or false")
        }
    }

    func doubles(_ key: String) throws -> [Double] {
        let s = try string(key)
        if s.isEmpty || s == "none" { return [] }
        return try s.split(separator: ",").map {
            guard let v = Double($0), v.isFinite else { throw GoldenError("config: \(key) has '\($0)', not a finite number") }
            return v
        }
    }

    func ints(_ key: String) throws -> [Int] {
        let s = try string(key)
        if s.isEmpty || s == "none" { return [] }
        return try s.split(separator: ",").map {
            guard let v = Int($0) else { throw GoldenError("config: \(key) has '\($0)', not an integer") }
            return v
        }
    }
}
