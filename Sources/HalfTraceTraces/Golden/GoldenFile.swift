import HalfTraceKernels

/// Where a golden column's values come from.
public enum ColumnSource: String, Sendable, Equatable {
    /// An input or index (step, epoch): must match exactly.
    case key
    /// Computed by the Reference module from the documents' formulas; the engine is compared to it.
    case formula
    /// Recorded from the engine itself (e.g. the loss of a float16 run): proves that the engine
    /// still computes what it computed when the file was made, not that the value is right.
    case snapshot
    /// Shown in figures, not compared (e.g. what PyTorch computes where it is wrong).
    case info
}

public struct GoldenColumn: Equatable, Sendable {
    /// How a column's values are drawn on a figure's y axis.
    public enum Axis: Sendable, Equatable {
        case linear
        /// Logarithmic with this base (2 for loss scales, 10 for losses).
        case log(Double)
        /// A 0/1 flag: shown in the residual panel only.
        case flag
    }

    public var name: String
    public var source: ColumnSource
    public var tolerance: Tolerance
    /// Axis label with units, for figures.
    public var label: String
    /// Not part of the file: how the scenario draws the column.
    public var axis: Axis
    /// Not part of the file: the value holds from its row to the next and changes in jumps (a
    /// loss scale, a growth tracker, an accumulation count, a per-epoch lr), so figures draw it
    /// as steps, never as a ramp.
    public var stepwise: Bool
    /// Not part of the file: the rows sample a curve with kinks between them (np.interp at a few
    /// x), or are separate items (gradient elements, labels) that no line joins, so figures draw
    /// the formula as points, never joined by a line that would misdraw it.
    public var samples = false

    /// The column with `samples` set.
    public func sampled() -> GoldenColumn {
        var c = self
        c.samples = true
        return c
    }

    /// The columns that hold a state between rows, drawn as steps unless a scenario says otherwise
    /// (also under a prefix: `resumed_scale`, `yolov5_scale`).
    static let stepwiseNames: Set<String> = ["scale", "next_scale", "accumulate", "growth_tracker", "optimizer_step", "skipped"]

    static func isStepwise(_ name: String) -> Bool {
        stepwiseNames.contains(name) || stepwiseNames.contains { name.hasSuffix("_" + $0) }
    }

    public init(_ name: String, _ source: ColumnSource, _ tolerance: Tolerance = .exact, label: String? = nil, axis: Axis = .linear, stepwise: Bool? = nil) {
        self.name = name
        self.source = source
        self.tolerance = tolerance
        self.label = label ?? name
        self.axis = axis
        self.stepwise = stepwise ?? Self.isStepwise(name)
    }

    /// Name, source, tolerance and label: what a golden file records of a column.
    public func sameInFile(as other: GoldenColumn) -> Bool {
        name == other.name && source == other.source && tolerance == other.tolerance && label == other.label
    }
}

/// A scenario's configuration: ordered key=value pairs that re-create it on their own.
public struct ScenarioConfig: Equatable, Sendable {
    public var pairs: [(String, String)]

    public init(_ pairs: [(String, String)]) { self.pairs = pairs }

    public static func == (a: ScenarioConfig, b: ScenarioConfig) -> Bool {
        a.pairs.map { "\($0.0)=\($0.1)" } == b.pairs.map { "\($0.0)=\($0.1)" }
    }

    public subscript(_ key: String) -> String? { pairs.first { $0.0 == key }?.1 }

    public var text: String { pairs.map { "\($0.0)=\($0.1)" }.joined(separator: " ") }

    public init(parsing text: String) throws {
        var pairs: [(String, String)] = []
        for token in text.split(separator: " ", omittingEmptySubsequences: true) {
            let kv = token.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, !kv[0].isEmpty else { throw HalfTraceError.invalid("config", "token '\(token.prefix(40))' is not key=value") }
            pairs.append((kv[0], kv[1]))
        }
        self.pairs = pairs
    }
}

/// A golden file: `#` header lines (format version, scenario, title, configuration, one line per
/// column with its source and tolerance, the row count), the CSV header, the rows. Values are
/// printed so that they parse back to the identical Float64; gnuplot and CSV readers read it.
public struct GoldenFile: Equatable, Sendable {
    public static let formatVersion = "halftrace golden v1"
    /// A golden file holds at most this many rows (the largest scenario has a few thousand).
    public static let maximumRows = 1_000_000

    public var scenario: String
    public var title: String
    public var config: ScenarioConfig
    public var columns: [GoldenColumn]
    public var rows: [[Double]]

    public init(scenario: String, title: String, config: ScenarioConfig, columns: [GoldenColumn], rows: [[Double]]) {
        self.scenario = scenario
        self.title = title
        self.config = config
        self.columns = columns
        self.rows = rows
    }

    public func column(_ name: String) -> [Double]? {
        columns.firstIndex { $0.name == name }.map { i in rows.map { $0[i] } }
    }

    public var text: String {
        var out = "# \(Self.formatVersion)\n# scenario: \(scenario)\n# title: \(title)\n# config: \(config.text)\n"
        for c in columns {
            out += "# column \(c.name): source=\(c.source.rawValue) tolerance=\(c.tolerance) label=\(c.label)\n"
        }
        out += "# rows: \(rows.count)\n"
        out += columns.map(\.name).joined(separator: ",") + "\n"
        for row in rows { out += row.map { Trace.format($0, integer: true) }.joined(separator: ",") + "\n" }
        return out
    }

    /// Parses a golden file; every problem names `path:line` and what was expected.
    public static func parse(_ text: String, path: String) throws -> GoldenFile {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)  // "\r\n" too (a checkout with core.autocrlf)
        func fail(_ line: Int, _ message: String) -> HalfTraceError { HalfTraceError.file(path, line: line, message) }
        guard let first = lines.first, first == "# " + formatVersion else {
            throw fail(1, "expected '# \(formatVersion)', found '\(lines.first ?? "")' (not a golden file, or another format version)")
        }
        var scenario: String?, title = "", config: ScenarioConfig?, columns: [GoldenColumn] = [], expectedRows: Int?
        var index = 1
        while index < lines.count, lines[index].hasPrefix("#") {
            let line = String(lines[index].dropFirst(2))
            let n = index + 1
            if line.hasPrefix("scenario: ") {
                scenario = String(line.dropFirst(10))
            } else if line.hasPrefix("title: ") {
                title = String(line.dropFirst(7))
            } else if line.hasPrefix("config: ") {
                do { config = try ScenarioConfig(parsing: String(line.dropFirst(8))) } catch let e as HalfTraceError {
                    throw e.inFile(path, line: n)
                }
            } else if line.hasPrefix("column ") {
                columns.append(try parseColumn(String(line.dropFirst(7)), fail: { fail(n, $0) }))
            } else if line.hasPrefix("rows: ") {
                guard let r = Int(line.dropFirst(6)), (0...maximumRows).contains(r) else {
                    throw fail(n, "'rows:' needs an integer in 0...\(maximumRows)")
                }
                expectedRows = r
            }
            index += 1
        }
        let headerLine = index + 1  // 1-based line after the comment block
        guard let scenario else { throw fail(headerLine, "missing '# scenario:' line") }
        guard let config else { throw fail(headerLine, "missing '# config:' line (the scenario's configuration)") }
        guard !columns.isEmpty else { throw fail(headerLine, "missing '# column' lines") }
        guard let expectedRows else { throw fail(headerLine, "missing '# rows:' line") }
        guard index < lines.count, !lines[index].isEmpty else { throw fail(headerLine, "truncated: the CSV header row is missing") }
        let header = lines[index].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard header == columns.map(\.name) else {
            throw fail(index + 1, "header \(header.joined(separator: ",")) does not match the column lines \(columns.map(\.name).joined(separator: ","))")
        }
        var rows: [[Double]] = []
        for k in (index + 1)..<lines.count {
            let line = lines[k]
            if line.isEmpty && k == lines.count - 1 { break }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                throw fail(k + 1, "\(fields.count) fields, expected \(columns.count) (\(columns.map(\.name).joined(separator: ",")))")
            }
            rows.append(try zip(fields, columns).map { field, column in
                guard let v = Double(field) else { throw fail(k + 1, "column \(column.name): '\(field)' is not a number") }
                return v
            })
        }
        guard rows.count == expectedRows else {
            throw fail(lines.count, "truncated: \(rows.count) data rows, the header promises \(expectedRows)")
        }
        return GoldenFile(scenario: scenario, title: title, config: config, columns: columns, rows: rows)
    }

    static func parseColumn(_ text: String, fail: (String) -> HalfTraceError) throws -> GoldenColumn {
        guard let colon = text.firstIndex(of: ":") else { throw fail("column line needs 'NAME: source=... tolerance=...'") }
        let name = String(text[..<colon])
        var source: ColumnSource?, tolerance: Tolerance?, label = name
        let rest = text[text.index(after: colon)...]
        if let range = rest.range(of: " label=") { label = String(rest[range.upperBound...]) }
        for token in rest.split(separator: " ") {
            if token.hasPrefix("source=") {
                source = ColumnSource(rawValue: String(token.dropFirst(7)))
                if source == nil { throw fail("column \(name): unknown source '\(token.dropFirst(7))' (key, formula, snapshot or info)") }
            } else if token.hasPrefix("tolerance=") {
                tolerance = Tolerance(String(token.dropFirst(10)))
                if tolerance == nil { throw fail("column \(name): bad tolerance '\(token.dropFirst(10))' (exact, rel:R or norm:R)") }
            }
        }
        guard let source, let tolerance else { throw fail("column \(name): needs source= and tolerance=") }
        return GoldenColumn(name, source, tolerance, label: label)
    }
}
