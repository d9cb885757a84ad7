import Foundation
import HalfTraceFigures
import HalfTraceKernels

/// The outcome of comparing one column with its golden values.
public struct ColumnCheck: Sendable, Equatable {
    public let column: String
    public let isKey: Bool
    public let tolerance: Tolerance
    public let worstError: Double
    /// Row of the worst error, and that row's key ("step 37").
    public let row: Int
    public let location: String
    public let engineValue: Double
    public let goldenValue: Double

    public var passes: Bool { worstError <= tolerance.limit }

    public var message: String {
        "column \(column) at \(location): engine \(engineValue), golden \(goldenValue), error \(worstError) (\(tolerance))"
    }
}

/// The outcome of one scenario's check.
public struct ScenarioCheck {
    public let name: String
    public let path: String
    public let columns: [ColumnCheck]
    public let golden: GoldenFile?
    public let engineRows: [[Double]]
    public let scenario: Scenario?
    /// Figures the engine run drew itself (`EngineRun.figures`).
    public let runFigures: [Figure]
    /// A problem that prevented the comparison (unreadable file, engine error).
    public let failure: String?

    public var passes: Bool { failure == nil && columns.allSatisfy(\.passes) }

    /// The column that failed worst, or the one with the largest error.
    public var worst: ColumnCheck? {
        columns.first { !$0.passes } ?? columns.filter { !$0.isKey }.max { $0.worstError / max($0.tolerance.limit, .leastNormalMagnitude) < $1.worstError / max($1.tolerance.limit, .leastNormalMagnitude) } ?? columns.first
    }

    /// One line for a failing test: file, column, step and error.
    public var message: String {
        if let failure { return "\(path): \(failure)" }
        let failing = columns.filter { !$0.passes }
        if failing.isEmpty { return "\(path): all \(columns.count) columns hold" }
        return failing.map { "\(path): \($0.message)" }.joined(separator: "\n")
    }
}

/// Checks and regenerates golden files.
public enum GoldenRunner {
    /// Specs grouped so that scenarios sharing one training run (per-iteration and per-epoch
    /// files) run together with one cache, longest jobs first; groups run on both cores.
    static func jobs(_ specs: [ScenarioSpec]) -> [[Int]] {
        var groups: [String: [Int]] = [:], order: [String] = []
        for (i, s) in specs.enumerated() {
            let kind = s.config["kind"] ?? ""
            let sharesRun = kind.hasPrefix("training") || kind.hasPrefix("detector")
            let key = sharesRun ? s.config.pairs.filter { $0.0 != "kind" }.map { "\($0.0)=\($0.1)" }.joined() : s.name
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(i)
        }
        func heavy(_ key: String) -> Bool {
            let kind = specs[groups[key]![0]].config["kind"] ?? ""
            return kind.hasPrefix("training") || kind.hasPrefix("detector") || kind == "resume"
        }
        return order.filter(heavy).map { groups[$0]! } + order.filter { !heavy($0) }.map { groups[$0]! }
    }

    /// `check` for every spec, in the specs' order, using both cores.
    public static func checkAll(_ specs: [ScenarioSpec], directory: String, progress: (String) -> Void = { _ in }) -> [ScenarioCheck] {
        let done = concurrentMap(jobs(specs)) { job -> [(Int, ScenarioCheck)] in
            let runs = RunCache()
            return job.map { ($0, check(specs[$0], directory: directory, runs: runs)) }
        }
        var out = [ScenarioCheck?](repeating: nil, count: specs.count)
        for (i, c) in done.joined() { out[i] = c }
        return out.map { $0! }
    }

    /// `generate` for every spec, in the specs' order, using both cores.
    public static func generateAll(_ specs: [ScenarioSpec]) throws -> [GoldenFile] {
        let done = concurrentMap(jobs(specs)) { job -> [(Int, Result<GoldenFile, Error>)] in
            let runs = RunCache()
            return job.map { i in (i, Result { try generate(specs[i], runs: runs) }) }
        }
        var out = [Result<GoldenFile, Error>?](repeating: nil, count: specs.count)
        for (i, r) in done.joined() { out[i] = r }
        return try out.map { try $0!.get() }
    }

    public static func path(_ directory: String, _ name: String) -> String { directory + "/" + name + ".csv" }

    /// Reads `directory/NAME.csv`, builds the scenario from the configuration its code declares,
    /// runs the engine and compares every compared column with the tolerance the scenario
    /// declares. The file must agree with the scenario on its configuration (`# config:`), on
    /// every column's name, source, tolerance and label, and on the row count: a file cannot
    /// change what is run, relabel a column `info` or widen its own tolerance. Any problem fails
    /// this scenario only.
    public static func check(_ spec: ScenarioSpec, directory: String, runs: RunCache) -> ScenarioCheck {
        let file = path(directory, spec.name)
        func failed(_ golden: GoldenFile?, _ reason: String) -> ScenarioCheck {
            ScenarioCheck(name: spec.name, path: file, columns: [], golden: golden, engineRows: [], scenario: nil,
                          runFigures: [], failure: reason)
        }
        let golden: GoldenFile
        do {
            golden = try read(file)
        } catch let e as HalfTraceError {
            return failed(nil, e.kind == .inaccessible ? "missing (run `halftrace golden --only \(spec.name)` to create it)" : e.description)
        } catch { return failed(nil, "\(error)") }
        do {
            try agree(config: golden.config, code: spec.config)
            let scenario = try spec.make()
            try agree(golden, scenario.columns)
            let run = try scenario.run(runs)
            var compared = golden
            if runs.epochLimit != nil, !run.rows.isEmpty, run.rows.count < golden.rows.count {
                compared.rows = Array(golden.rows.prefix(run.rows.count))  // a stopped run: its first rows
            }
            guard run.rows.count == compared.rows.count else {
                throw HalfTraceError.invalid("rows", "the engine produced \(run.rows.count) rows, the golden file has \(golden.rows.count)")
            }
            return ScenarioCheck(name: spec.name, path: file, columns: compare(run.rows, compared, scenario.columns), golden: compared,
                                 engineRows: run.rows, scenario: scenario, runFigures: run.figures, failure: nil)
        } catch let e as HalfTraceError {
            return failed(golden, e.description)
        } catch { return failed(golden, "\(error)") }
    }

    /// Reads and parses a golden file, refusing one too large to be a golden file before reading it.
    static func read(_ file: String) throws -> GoldenFile {
        if let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int, size > 256 << 20 {
            throw HalfTraceError.file(file, "\(size) bytes; a golden file is at most 256 MB")
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw HalfTraceError.inaccessible(file, "cannot read") }
        return try GoldenFile.parse(TextFile.utf8(data, name: file), path: file)
    }

    /// Throws unless the file's `# config:` line is the configuration the scenario's code
    /// declares, naming every key that differs.
    static func agree(config file: ScenarioConfig, code: ScenarioConfig) throws {
        guard file != code else { return }
        let inFile = Dictionary(file.pairs, uniquingKeysWith: { first, _ in first })
        let inCode = Dictionary(code.pairs, uniquingKeysWith: { first, _ in first })
        var keys = code.pairs.map(\.0)
        keys += file.pairs.map(\.0).filter { inCode[$0] == nil }
        var differences = keys.filter { inFile[$0] != inCode[$0] }.map { key in
            "\(key): file \(inFile[key].map { "'\($0.prefix(40))'" } ?? "missing"), code \(inCode[key].map { "'\($0)'" } ?? "none")"
        }
        if differences.isEmpty { differences = ["the keys are in another order"] }
        throw HalfTraceError.invalid("config", "the file's # config: line disagrees with the scenario's code (\(differences.prefix(4).joined(separator: "; "))\(differences.count > 4 ? "; ..." : "")); regenerate the file with `halftrace golden`")
    }

    /// Throws unless the file declares exactly the scenario's columns.
    static func agree(_ golden: GoldenFile, _ columns: [GoldenColumn]) throws {
        guard golden.columns.map(\.name) == columns.map(\.name) else {
            throw HalfTraceError.invalid("columns", "the file has \(golden.columns.map(\.name).joined(separator: ",")); the scenario has \(columns.map(\.name).joined(separator: ",")) (regenerate it)")
        }
        for (f, c) in zip(golden.columns, columns) where !f.sameInFile(as: c) {
            throw HalfTraceError.invalid("column \(c.name)", "the file says source=\(f.source.rawValue) tolerance=\(f.tolerance) label=\(f.label); the scenario declares source=\(c.source.rawValue) tolerance=\(c.tolerance) label=\(c.label)")
        }
    }

    /// Column-by-column comparison with the scenario's declared columns (keys exactly, info
    /// columns not at all).
    public static func compare(_ rows: [[Double]], _ golden: GoldenFile, _ columns: [GoldenColumn]) -> [ColumnCheck] {
        columns.enumerated().compactMap { j, column in
            guard column.source != .info else { return nil }
            let tolerance = column.source == .key ? Tolerance.exact : column.tolerance
            let scale = golden.rows.map { abs($0[j]) }.filter(\.isFinite).max() ?? 0
            var worst = (error: 0.0, row: 0)
            for (i, (e, g)) in zip(rows, golden.rows).enumerated() {
                let err = tolerance.error(e[j], g[j], columnScale: scale)
                if err > worst.error { worst = (err, i) }
            }
            let keyIndex = columns.firstIndex { $0.source == .key }
            let location = keyIndex.map { k in
                "\(columns[k].name) \(golden.rows.isEmpty ? "-" : Trace.format(golden.rows[worst.row][k], integer: true))"
            } ?? "row \(worst.row)"
            return ColumnCheck(column: column.name, isKey: column.source == .key, tolerance: tolerance, worstError: worst.error, row: worst.row,
                               location: location, engineValue: rows.isEmpty ? .nan : rows[worst.row][j],
                               goldenValue: golden.rows.isEmpty ? .nan : golden.rows[worst.row][j])
        }
    }

    /// The golden file a spec produces now: formula columns from the Reference, engine columns
    /// from a fresh engine run.
    public static func generate(_ spec: ScenarioSpec, runs: RunCache) throws -> GoldenFile {
        let scenario = try spec.make()
        let rows = try scenario.goldenRows(engineRows: try scenario.run(runs).rows)
        return GoldenFile(scenario: spec.name, title: spec.title, config: spec.config, columns: scenario.columns, rows: rows)
    }

    /// The file the engine would write: every column holds the engine's own values (`NAME.csv.new`).
    public static func engineFile(_ check: ScenarioCheck) -> GoldenFile? {
        guard let golden = check.golden, !check.engineRows.isEmpty else { return nil }
        var file = golden
        file.rows = check.engineRows
        return file
    }

    /// The largest change per column between an old and a new golden file, for review.
    public static func changes(old: GoldenFile?, new: GoldenFile) -> [(column: String, change: String)] {
        guard let old else { return [("(all)", "new file, \(new.rows.count) rows")] }
        if old.columns.map(\.name) != new.columns.map(\.name) { return [("(all)", "columns changed: \(old.columns.map(\.name)) -> \(new.columns.map(\.name))")] }
        if old.rows.count != new.rows.count { return [("(all)", "rows \(old.rows.count) -> \(new.rows.count)")] }
        var out: [(String, String)] = []
        if old.config != new.config { out.append(("(config)", "\(old.config.text) -> \(new.config.text)")) }
        if old.title != new.title { out.append(("(title)", "'\(old.title)' -> '\(new.title)'")) }
        for (a, b) in zip(old.columns, new.columns) where !a.sameInFile(as: b) {
            out.append(("(column \(b.name))", "source \(a.source.rawValue) tolerance \(a.tolerance) label '\(a.label)' -> source \(b.source.rawValue) tolerance \(b.tolerance) label '\(b.label)'"))
        }
        for (j, column) in new.columns.enumerated() {
            var worst = (abs: 0.0, rel: 0.0, row: 0), differing = 0
            for i in new.rows.indices {
                let a = old.rows[i][j], b = new.rows[i][j]
                guard a.bitPattern != b.bitPattern, !(a.isNaN && b.isNaN) else { continue }
                differing += 1
                let d = abs(a - b), r = d / max(abs(a), .leastNormalMagnitude)
                if d > worst.abs || d.isNaN { worst = (d, r, i) }
            }
            out.append((column.name, differing == 0 ? "unchanged"
                : "\(differing) values moved, largest by \(worst.abs) (relative \(worst.rel)) at row \(worst.row)"))
        }
        return out
    }
}
