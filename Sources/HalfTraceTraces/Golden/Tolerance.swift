/// How far an engine value may be from its golden value.
public enum Tolerance: Equatable, Sendable, CustomStringConvertible {
    /// Bit for bit (NaN matches NaN).
    case exact
    /// |a - g| <= r * |g| for every element.
    case relative(Double)
    /// |a - g| <= r * max_k |g_k|: relative to the column's largest magnitude.
    case normwise(Double)

    public var description: String {
        switch self {
        case .exact: "exact"
        case .relative(let r): "rel:\(r)"
        case .normwise(let r): "norm:\(r)"
        }
    }

    public init?(_ text: String) {
        if text == "exact" { self = .exact; return }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let r = Double(parts[1]), r.isFinite, r >= 0 else { return nil }
        switch parts[0] {
        case "rel": self = .relative(r)
        case "norm": self = .normwise(r)
        default: return nil
        }
    }

    /// The error of `actual` against `golden` in this tolerance's own measure (0 = identical,
    /// > limit = failure), and the limit.
    public func error(_ actual: Double, _ golden: Double, columnScale: Double) -> Double {
        if actual.isNaN || golden.isNaN { return actual.isNaN && golden.isNaN ? 0 : .infinity }
        if actual.isInfinite || golden.isInfinite { return actual == golden ? 0 : .infinity }
        switch self {
        case .exact: return actual.bitPattern == golden.bitPattern ? 0 : abs(actual - golden) / max(abs(golden), .leastNormalMagnitude)
        case .relative: return actual == golden ? 0 : abs(actual - golden) / max(abs(golden), .leastNormalMagnitude)
        case .normwise: return actual == golden ? 0 : abs(actual - golden) / max(columnScale, .leastNormalMagnitude)
        }
    }

    public var limit: Double {
        switch self {
        case .exact: 0
        case .relative(let r), .normwise(let r): r
        }
    }
}
