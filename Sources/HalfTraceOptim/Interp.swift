/// Piecewise-linear interpolation bit-identical to `numpy.interp` (NumPy 2.x,
/// `numpy/_core/src/multiarray/compiled_base.c`), the primitive of YOLOv5's warm-up.
///
/// - x < xp[0] gives `left` (default fp[0]); x > xp[last] gives `right` (default fp[last]);
///   NaN gives NaN (with a single knot NumPy compares instead, and NaN gives fp[0]).
/// - x == xp[last] gives fp[last]; x == xp[j] gives fp[j] with no arithmetic.
/// - Otherwise j is the largest index with xp[j] <= x (with duplicate knots the last wins) and
///   y = slope * (x - xp[j]) + fp[j], slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]), in Double.
///   If that is NaN (infinite fp), NumPy retries from the right knot, then takes fp[j] when the
///   two knots are equal. This order is what makes the result bit-identical to NumPy:
///   `y0 + (y1 - y0) * t` differs in the last ulp.
///
/// Unlike NumPy, a decreasing xp is rejected (NumPy returns garbage).
public struct Interpolation: Sendable, Equatable {
    /// The knots' x coordinates, non-decreasing.
    public let xp: [Double]
    /// The knots' y coordinates.
    public let fp: [Double]
    /// The value for x < xp[0] (default fp[0]).
    public let left: Double
    /// The value for x > xp[last] (default fp[last]).
    public let right: Double

    /// Why a set of knots is refused.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// xp is empty.
        case emptyKnots
        /// xp and fp have different lengths.
        case lengthMismatch(xp: Int, fp: Int)
        /// xp[index] is less than xp[index - 1].
        case decreasing(index: Int, previous: Double, value: Double)
        /// xp[index] is NaN.
        case notANumber(index: Int)

        /// The message, worded as NumPy's where NumPy has one.
        public var description: String {
            switch self {
            case .emptyKnots: "interp: xp is empty (array of sample points is empty)"
            case .lengthMismatch(let a, let b): "interp: fp and xp are not of the same length (\(b) vs \(a))"
            case .decreasing(let i, let p, let v): "interp: xp must be increasing, but xp[\(i)] = \(v) < xp[\(i - 1)] = \(p)"
            case .notANumber(let i): "interp: xp[\(i)] is NaN"
            }
        }
    }

    /// Knots (xp, fp), with `left` and `right` defaulting to the end values as in NumPy; an empty,
    /// mismatched, NaN or decreasing xp is refused.
    public init(xp: [Double], fp: [Double], left: Double? = nil, right: Double? = nil) throws {
        guard !xp.isEmpty else { throw Failure.emptyKnots }
        guard xp.count == fp.count else { throw Failure.lengthMismatch(xp: xp.count, fp: fp.count) }
        for (i, v) in xp.enumerated() where v.isNaN { throw Failure.notANumber(index: i) }
        for i in 1..<xp.count where xp[i] < xp[i - 1] {
            throw Failure.decreasing(index: i, previous: xp[i - 1], value: xp[i])
        }
        self.xp = xp
        self.fp = fp
        self.left = left ?? fp[0]
        self.right = right ?? fp[fp.count - 1]
    }

    /// `numpy.interp` at `x`, bit for bit, by the rules above.
    public func callAsFunction(_ x: Double) -> Double {
        let n = xp.count
        if n == 1 { return x < xp[0] ? left : (x > xp[0] ? right : fp[0]) }
        if x.isNaN { return x }
        if x > xp[n - 1] { return right }
        if x < xp[0] { return left }
        // j: largest index with xp[j] <= x (binary search, as NumPy's bisection).
        var lo = 0, hi = n
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if x >= xp[mid] { lo = mid + 1 } else { hi = mid }
        }
        let j = lo - 1
        if j == n - 1 || xp[j] == x { return fp[j] }
        let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
        var y = slope * (x - xp[j]) + fp[j]
        if y.isNaN {
            y = slope * (x - xp[j + 1]) + fp[j + 1]
            if y.isNaN && fp[j] == fp[j + 1] { y = fp[j] }
        }
        return y
    }
}

/// `numpy.interp(x, xp, fp)` for one x.
public func interp(_ x: Double, _ xp: [Double], _ fp: [Double], left: Double? = nil, right: Double? = nil) throws -> Double {
    try Interpolation(xp: xp, fp: fp, left: left, right: right)(x)
}

/// Rounds half to even, as Python's `round()` and NumPy's `.round()` do (2.5 -> 2, 3.5 -> 4).
public func roundHalfEven(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }
