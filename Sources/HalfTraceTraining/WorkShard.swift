import HalfTraceKernels

/// Shard K of N of a list of work items (0-based K): the items whose index is K mod N, as a
/// Slurm job array (`--array=0-15`, K = `$SLURM_ARRAY_TASK_ID`) or a Kubernetes Indexed Job
/// (K = `$JOB_COMPLETION_INDEX`) runs them, one shard per machine.
public struct WorkShard: Sendable, Equatable, CustomStringConvertible {
    /// K, 0-based.
    public let index: Int
    /// N, the number of shards.
    public let count: Int

    /// Shard `index` of `count`, or an error unless 0 <= index < count <= 100000.
    public init(_ index: Int, of count: Int) throws {
        guard count >= 1, count <= 100_000, (0..<count).contains(index) else {
            throw HalfTraceError.invalid("shard", "\(index)/\(count) is invalid: expected K/N with 0 <= K < N <= 100000")
        }
        (self.index, self.count) = (index, count)
    }

    /// "K/N" as Slurm's array index or a Kubernetes Indexed Job's completion index gives it.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw HalfTraceError.invalid("shard", "'\(text.prefix(40))' is invalid: expected K/N, e.g. 3/16")
        }
        try self.init(k, of: n)
    }

    /// "K/N".
    public var description: String { "\(index)/\(count)" }

    /// The whole run: shard 0 of 1.
    public static let whole = WorkShard(unchecked: 0, of: 1)
    private init(unchecked index: Int, of count: Int) { (self.index, self.count) = (index, count) }

    /// The file of this shard for a run whose file is `stem`.csv: that file when N is 1,
    /// `stem`-K-of-N.csv otherwise.
    public func fileName(stem: String) -> String { count == 1 ? "\(stem).csv" : "\(stem)-\(index)-of-\(count).csv" }

    /// The shard a file name `stem`-K-of-N.csv stands for, or nil for another name.
    public static func parseFileName(_ name: String, stem: String) -> WorkShard? {
        guard name.hasPrefix(stem + "-"), name.hasSuffix(".csv") else { return nil }
        let middle = name.dropFirst(stem.count + 1).dropLast(4).split(separator: "-", omittingEmptySubsequences: false)
        guard middle.count == 3, middle[1] == "of", let k = Int(middle[0]), let n = Int(middle[2]), n > 1 else { return nil }
        return try? WorkShard(k, of: n)
    }

    /// The shard of N that owns work item `item` (the whole run when N is 1).
    public static func owner(_ item: Int, of count: Int) -> WorkShard {
        count <= 1 ? .whole : WorkShard(unchecked: item % count, of: count)
    }

    /// Whether work item `item` is this shard's (item mod N = K).
    public func owns(_ item: Int) -> Bool { item % count == index }
}
