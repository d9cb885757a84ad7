/// The rows of a steps.csv a figure draws, with the values predicted there. A log of up to
/// `allRows` rows is kept whole; a longer one keeps the first and last rows, every row where a
/// resumed part starts or a value disagrees (up to `mostForced`), and the rows where a logged or
/// predicted value changes, at most one per `count / buckets` rows (a value that changes
/// within a bucket is drawn from the next bucket's first row). Step curves drawn through these
/// rows are the log's at any pixel width, and memory stays bounded for millions of rows.
public struct StepsSample: Sendable {
    /// Logs up to this long are kept whole.
    public static let allRows = 20_000
    static let buckets = 40_000
    static let mostForced = 2_000

    /// The kept rows (indices into the log), increasing.
    public var rows: [Int] = []
    /// Every group's predicted lr at each kept row.
    public var lr: [[Double]] = []
    /// Every group's predicted momentum at each kept row (empty when not predicted).
    public var momentum: [[Double]] = []
    /// The predicted accumulate at each kept row (empty when not predicted).
    public var accumulate: [Int] = []
    /// The predicted loss scale at each kept row (empty without a scaler).
    public var scale: [Double] = []
    /// Every row is kept.
    public var complete: Bool

    let count: Int
    private var lastBucket = -1
    private var pending = false
    private var forced = 0

    init(count: Int) {
        self.count = count
        complete = count <= Self.allRows
    }

    /// Whether row `k` is kept, given whether anything changed at it and whether it must be
    /// (a disagreement, a resume).
    mutating func keeps(_ k: Int, changed: Bool, force: Bool) -> Bool {
        if complete || k == 0 || k == count - 1 { return true }
        let bucket = Int((Int64(k) * Int64(Self.buckets)) / Int64(count))
        if force && forced < Self.mostForced { forced += 1; lastBucket = bucket; pending = false; return true }
        if changed || pending {
            if bucket != lastBucket { lastBucket = bucket; pending = false; return true }
            pending = true
        }
        return false
    }
}
