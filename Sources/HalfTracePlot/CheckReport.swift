import HalfTraceTraces

/// The table `halftrace check` prints: one row per scenario with its worst column.
public enum CheckReport {
    public static let header = pad("scenario", 30) + pad("cols", 5, right: true) + "  " + pad("worst error", 24) + pad("where", 34)
        + pad("tolerance", 14) + "verdict"

    public static func row(_ c: ScenarioCheck) -> String {
        if let failure = c.failure {
            return pad(c.name, 30) + pad("-", 5, right: true) + "  " + pad("-", 24) + pad("-", 34) + pad("-", 14) + "ERROR: " + failure
        }
        let w = c.worst
        return pad(c.name, 30) + pad("\(c.columns.count)", 5, right: true) + "  " + pad(w.map { "\($0.worstError)" } ?? "-", 24)
            + pad(w.map { "\($0.column) at \($0.location)" } ?? "-", 34) + pad(w.map { "\($0.tolerance)" } ?? "-", 14)
            + (c.passes ? "ok" : "FAIL")
    }

    static func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return right ? fill + s : s + fill
    }
}
