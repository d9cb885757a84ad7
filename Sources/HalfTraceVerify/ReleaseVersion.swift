/// A package release number, `major.minor.patch` (e.g. Ultralytics 8.3.253, pip yolov5 7.0.14).
public struct ReleaseVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// 8 in 8.3.253.
    public let major: Int
    /// 3 in 8.3.253.
    public let minor: Int
    /// 253 in 8.3.253.
    public let patch: Int

    /// A version from its three numbers.
    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        (self.major, self.minor, self.patch) = (major, minor, patch)
    }

    /// Parses "8.3.253" (and the first three numbers of "8.3.253.dev0" or "7.0.14+local"); nil
    /// for anything else.
    public init?(_ text: String) {
        let numbers = text.split(whereSeparator: { !$0.isNumber }).prefix(3).compactMap { Int($0) }
        let digitsAndDots = text.prefix { $0.isNumber || $0 == "." }
        guard numbers.count == 3, digitsAndDots.split(separator: ".").count >= 3,
              numbers.allSatisfy({ (0...100_000).contains($0) }) else { return nil }
        self.init(numbers[0], numbers[1], numbers[2])
    }

    public static func < (a: ReleaseVersion, b: ReleaseVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    /// "8.3.253".
    public var description: String { "\(major).\(minor).\(patch)" }
}

/// A closed range of releases, printed as "8.1.42-8.3.8" (or one version).
public struct ReleaseRange: Hashable, Sendable, CustomStringConvertible {
    /// The oldest release in the range.
    public let lower: ReleaseVersion
    /// The newest release in the range.
    public let upper: ReleaseVersion

    /// The releases from `lower` to `upper`, both included.
    public init(_ lower: ReleaseVersion, _ upper: ReleaseVersion) {
        precondition(lower <= upper, "an empty release range \(lower)-\(upper)")
        (self.lower, self.upper) = (lower, upper)
    }

    /// Whether `v` is in the range.
    public func contains(_ v: ReleaseVersion) -> Bool { lower <= v && v <= upper }

    /// Whether the two ranges share a release.
    public func overlaps(_ other: ReleaseRange) -> Bool { lower <= other.upper && other.lower <= upper }

    /// The releases in both ranges, nil when there are none.
    public func clamped(to other: ReleaseRange) -> ReleaseRange? {
        let lo = max(lower, other.lower), hi = min(upper, other.upper)
        return lo <= hi ? ReleaseRange(lo, hi) : nil
    }

    /// "8.1.42-8.3.8"; an open end (patch 9999 and above stands for "every later patch") as
    /// "8.3.9-8.3.x".
    public var description: String {
        let top = upper.patch >= 9999 ? "\(upper.major).\(upper.minor).x" : "\(upper)"
        return lower == upper ? "\(lower)" : "\(lower)-\(top)"
    }
}
