/// The worst disagreement between two sequences, with where it happened, for test messages.
public struct Comparison: CustomStringConvertible {
    public let label: String
    public let worstIndex: Int
    public let worstError: Double
    public let tolerance: Double
    public let expected: Double
    public let actual: Double
    public let count: Int

    public var passes: Bool { worstError <= tolerance }

    public var description: String {
        count == 0 ? "\(label): nothing compared"
            : "\(label): worst error \(worstError) at index \(worstIndex) (expected \(expected), got \(actual)); tolerance \(tolerance); \(count) values"
    }
}

/// Relative error |a - e| / max(|e|, floor): relative for ordinary values, absolute below `floor`.
/// NaN matches NaN, and infinities must match exactly.
public func compare(_ actual: [Double], _ expected: [Double], tolerance: Double, floor: Double = 0,
                    label: String = "values") -> Comparison {
    precondition(actual.count == expected.count, "\(label): \(actual.count) vs \(expected.count) values")
    var worst = (index: 0, error: 0.0)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let err: Double
        if a.isNaN || e.isNaN {
            err = a.isNaN && e.isNaN ? 0 : .infinity
        } else if a.isInfinite || e.isInfinite {
            err = a == e ? 0 : .infinity
        } else {
            let d = abs(a - e)
            err = d == 0 ? 0 : d / max(abs(e), floor)
        }
        if err > worst.error || (i == 0) { worst = (i, err) }
    }
    let idx = worst.index
    return Comparison(label: label, worstIndex: idx, worstError: worst.error, tolerance: tolerance,
                      expected: expected.isEmpty ? 0 : expected[idx], actual: actual.isEmpty ? 0 : actual[idx],
                      count: actual.count)
}

/// Bitwise equality of two Float arrays; returns the first differing index, or nil.
public func firstBitDifference(_ a: [Float], _ b: [Float]) -> Int? {
    precondition(a.count == b.count)
    for i in a.indices where a[i].bitPattern != b[i].bitPattern { return i }
    return nil
}
