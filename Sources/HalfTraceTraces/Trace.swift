/// A trace: named columns of numbers, one row per step, plus `#` comment lines (configuration,
/// provenance). Rendered as CSV whose numbers parse back to the identical Float64.
public struct Trace: Equatable, Sendable {
    public var comments: [String]
    public var columns: [String]
    public var rows: [[Double]]
    /// Columns printed as integers (counters, flags).
    public var integerColumns: Set<String>

    public init(comments: [String] = [], columns: [String], rows: [[Double]] = [], integerColumns: Set<String> = []) {
        self.comments = comments
        self.columns = columns
        self.rows = rows
        self.integerColumns = integerColumns
    }

    public mutating func append(_ row: [Double]) {
        precondition(row.count == columns.count, "trace row of \(row.count) values for \(columns.count) columns")
        rows.append(row)
    }

    public func column(_ name: String) -> [Double]? {
        columns.firstIndex(of: name).map { i in rows.map { $0[i] } }
    }

    /// The CSV text: comment lines, the header, the rows.
    public var csv: String {
        var out = ""
        for c in comments { out += "# \(c)\n" }
        out += columns.joined(separator: ",") + "\n"
        let integer = columns.map { integerColumns.contains($0) }
        for row in rows {
            out += zip(row, integer).map { v, isInt in Trace.format(v, integer: isInt) }.joined(separator: ",")
            out += "\n"
        }
        return out
    }

    /// Shortest text that parses back to the same Float64 (Swift's `description`: "0.1",
    /// "1e-05", "inf", "nan"); integral integer-column values without a fraction.
    public static func format(_ v: Double, integer: Bool = false) -> String {
        if integer, v.isFinite, v == v.rounded(), abs(v) < 9.0e15, v.sign == .plus || v != 0 { return String(Int64(v)) }
        return v.description
    }
}
