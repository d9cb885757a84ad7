import Foundation
import HalfTraceKernels

/// steps.csv, the per-iteration log `Tools/halftrace_steps.py` writes: `ni,epoch,i,accumulate,
/// optimizer_step`, `lr_pg<j>` and `momentum_pg<j>` for every group j, and with a GradScaler
/// `scale,found_inf`; other columns are ignored, `#` lines are comments (the first names the
/// package and release that wrote the run).
public struct StepsLog: Sendable {
    /// One iteration.
    public struct Row: Sendable {
        /// The global iteration `i + nb * epoch`.
        public var ni: Int
        /// The 0-based epoch.
        public var epoch: Int
        /// The batch within the epoch.
        public var i: Int
        /// The trainer's accumulate in this iteration.
        public var accumulate: Int
        /// optimizer.step() ran in this iteration.
        public var optimizerStep: Bool
        /// Every group's lr as the iteration's step used it.
        public var lr: [Double]
        /// momentum, or betas[0] for Adam-family optimizers (NaN: the group has neither).
        public var momentum: [Double]
        /// The loss scale this iteration's loss was multiplied by.
        public var scale: Double?
        /// This iteration's scaler update found an inf/NaN gradient (and backed off).
        public var foundInf: Bool?
        /// Line in the file (1-based).
        public var line: Int
    }

    /// The package and release the header comment names ("# halftrace steps v1: ultralytics 8.3.253, ...").
    public struct Writer: Sendable {
        /// YOLOv5 or Ultralytics.
        public var package: ReleaseRules.Package
        /// The release.
        public var version: ReleaseVersion
    }

    /// The file.
    public var path: String
    /// Parameter groups (lr_pg0 ... lr_pg<groups-1>).
    public var groups: Int
    /// The log has scale and found_inf columns (an enabled GradScaler).
    public var hasScaler: Bool
    /// The package and release the header comment names, if any.
    public var version: Writer?
    /// The GradScaler's settings the header comment names (`# scaler: growth_factor=2.0, ...`), if any.
    public var scalerSettings: [String: Double] = [:]
    /// Iterations (data rows).
    public private(set) var count = 0
    /// Rows where a resumed part of the run starts: the logger's `# resumed` line precedes them,
    /// or their ni goes back.
    public private(set) var resumeStarts: [Int] = []

    // The columns, packed (`PackedColumn`): ni and the line as offsets from the row index, so
    // that a log without resumes or comments holds one distinct value in each.
    var niOffset = PackedColumn(), epochs = PackedColumn(), batches = PackedColumn(), accumulates = PackedColumn()
    var lineOffset = PackedColumn(), flags = PackedColumn()
    var lrs: [PackedColumn] = [], momenta: [PackedColumn] = [], scales = PackedColumn()

    /// The global iteration of row `k`.
    @inline(__always) public func ni(_ k: Int) -> Int { k + niOffset.int(k) }
    /// The 0-based epoch of row `k`.
    @inline(__always) public func epoch(_ k: Int) -> Int { epochs.int(k) }
    /// The batch within the epoch of row `k`.
    @inline(__always) public func i(_ k: Int) -> Int { batches.int(k) }
    /// The accumulate of row `k`.
    @inline(__always) public func accumulate(_ k: Int) -> Int { accumulates.int(k) }
    /// optimizer.step() ran in row `k`.
    @inline(__always) public func optimizerStep(_ k: Int) -> Bool { flags[k] & 1 != 0 }
    /// Row `k`'s scaler update found an inf/NaN gradient (nil without a scaler).
    @inline(__always) public func foundInf(_ k: Int) -> Bool? { hasScaler ? flags[k] & 2 != 0 : nil }
    /// Group `j`'s lr in row `k`.
    @inline(__always) public func lr(_ k: Int, _ j: Int) -> Double { lrs[j].double(k) }
    /// Group `j`'s momentum (or betas[0]) in row `k`.
    @inline(__always) public func momentum(_ k: Int, _ j: Int) -> Double { momenta[j].double(k) }
    /// The loss scale of row `k` (nil without a scaler).
    @inline(__always) public func scale(_ k: Int) -> Double? { hasScaler ? scales.double(k) : nil }
    /// The line of row `k` in the file (1-based).
    @inline(__always) public func line(_ k: Int) -> Int { k + lineOffset.int(k) }

    /// Row `k` as a value.
    public func row(_ k: Int) -> Row {
        Row(ni: ni(k), epoch: epoch(k), i: i(k), accumulate: accumulate(k), optimizerStep: optimizerStep(k),
            lr: (0..<groups).map { lr(k, $0) }, momentum: (0..<groups).map { momentum(k, $0) }, scale: scale(k), foundInf: foundInf(k), line: line(k))
    }

    /// Every row as a value, made at once (about 150 bytes a row: for a large log read `row(_:)` or
    /// the column accessors instead).
    public var rows: [Row] { (0..<count).map(row) }

    /// Whether row `k` starts a resumed part of the run.
    public func startsResume(_ k: Int) -> Bool { resumeSet.contains(k) }
    private var resumeSet: Set<Int> = []

    /// At most this many rows are read (a run of 10 million iterations).
    public static let maximumRows = 10_000_000

    /// Reads and validates `path`, streaming it (`CSVReader`: any line ending, a byte-order mark,
    /// quoted fields): every field parsed and range-checked; errors name the file, line and column.
    /// The rows are held packed: a COCO-sized log of 2.2 million iterations takes about 25 bytes
    /// a row.
    public static func load(_ path: String) throws -> StepsLog {
        try read(try CSVReader(path: path))
    }

    /// Parses the text of a steps.csv named `path`.
    public static func parse(_ text: String, path: String) throws -> StepsLog {
        try read(CSVReader(text: text, name: path))
    }

    static func read(_ source: CSVReader) throws -> StepsLog {
        var reader = source
        let path = reader.name
        var writer: Writer? = nil, settings: [String: Double] = [:]
        var header: [String] = []
        while try reader.next() {
            if reader.isComment {
                let text = reader.fields.joined(separator: ",")
                if writer == nil { writer = Self.writer(Substring(text)) }
                for (key, value) in try Self.scalerSettings(text, path: path, line: reader.line) {
                    if let earlier = settings[key], earlier != value {
                        throw HalfTraceError.file(path, line: reader.line, field: key, "\(value) here, \(earlier) on an earlier # scaler: line")
                    }
                    settings[key] = value
                }
                continue
            }
            header = reader.fields
            break
        }
        guard !header.isEmpty else { throw HalfTraceError.file(path, "no header row") }
        let headerLine = reader.line
        if let twice = CSVReader.repeatedColumn(header) { throw HalfTraceError.file(path, line: headerLine, field: twice, "the column appears twice") }
        func column(_ name: String) throws -> Int {
            guard let c = header.firstIndex(of: name) else { throw HalfTraceError.file(path, line: headerLine, field: name, "column missing") }
            return c
        }
        let (ni, ep, ii, acc, st) = (try column("ni"), try column("epoch"), try column("i"), try column("accumulate"), try column("optimizer_step"))
        var lrColumns: [Int] = [], momentumColumns: [Int] = []
        while let c = header.firstIndex(of: "lr_pg\(lrColumns.count)"), lrColumns.count < 64 { lrColumns.append(c) }
        guard !lrColumns.isEmpty else { throw HalfTraceError.file(path, line: headerLine, field: "lr_pg0", "column missing") }
        for j in lrColumns.indices { momentumColumns.append(try column("momentum_pg\(j)")) }
        let scaleColumn = header.firstIndex(of: "scale"), infColumn = header.firstIndex(of: "found_inf")
        guard (scaleColumn == nil) == (infColumn == nil) else {
            throw HalfTraceError.file(path, line: headerLine, field: scaleColumn == nil ? "scale" : "found_inf", "column missing: scale and found_inf come together")
        }
        var log = StepsLog(path: path, groups: lrColumns.count, hasScaler: scaleColumn != nil, version: writer)
        log.scalerSettings = settings
        log.lrs = lrColumns.map { _ in PackedColumn() }
        log.momenta = momentumColumns.map { _ in PackedColumn() }
        // A number whose bytes are the previous row's in the same column is the previous value:
        // after the warm-up most rows repeat their lr, momentum and scale, and skip strtod.
        let doubleColumns = lrColumns + momentumColumns + (scaleColumn.map { [$0] } ?? [])
        var cache = [(bytes: [UInt8], value: Double)](repeating: ([], 0), count: doubleColumns.count)
        var previousNI = Int.min, resumeMarked = false
        var resumedAt: (ni: Int, line: Int)?
        while try reader.next() {
            if reader.isComment {
                if reader.string(0).hasPrefix("# resumed") {
                    // The logger's "# resumed at ni=N" precedes the row of iteration N.
                    let text = reader.fields.joined(separator: ",")
                    guard let eq = text.range(of: "# resumed at ni="), let n = Int(text[eq.upperBound...].trimmingCharacters(in: .whitespaces)), (0...1_000_000_000).contains(n) else {
                        throw HalfTraceError.file(path, line: reader.line, "'\(text.prefix(60))': expected # resumed at ni=N (an iteration in 0...1000000000)")
                    }
                    resumeMarked = true
                    resumedAt = (n, reader.line)
                }
                continue
            }
            let k = reader.line, row = log.count
            guard row < maximumRows else { throw HalfTraceError.file(path, line: k, "more than \(maximumRows) rows") }
            guard reader.count == header.count else { throw HalfTraceError.file(path, line: k, "\(reader.count) fields, the header has \(header.count)") }
            func integer(_ i: Int, _ range: ClosedRange<Int>) throws -> Int {
                guard let v = reader.int(i), range.contains(v) else {
                    throw HalfTraceError.file(path, line: k, field: header[i], "'\(reader.string(i).prefix(40))' is not an integer in \(range.lowerBound)...\(range.upperBound)")
                }
                return v
            }
            func number(_ c: Int, allowNaN: Bool = false) throws -> Double {
                let i = doubleColumns[c]
                if reader.field(i, equals: cache[c].bytes) { return cache[c].value }
                guard let v = reader.double(i), v.isFinite || (allowNaN && v.isNaN), v.isNaN || v >= 0 else {
                    throw HalfTraceError.file(path, line: k, field: header[i], "'\(reader.string(i).prefix(40))' is not a finite number >= 0")
                }
                cache[c] = (reader.bytes(i), v)
                return v
            }
            let n = try integer(ni, 0...1_000_000_000)
            if let (marked, line) = resumedAt, marked != n {
                throw HalfTraceError.file(path, line: line, field: "ni", "the # resumed line says ni=\(marked), the next row (line \(k)) has ni \(n)")
            }
            resumedAt = nil
            if row > 0 && (n <= previousNI || resumeMarked) {
                log.resumeStarts.append(row)
                log.resumeSet.insert(row)
            }
            resumeMarked = false
            previousNI = n
            log.niOffset.append(n - row)
            log.epochs.append(try integer(ep, 0...1_000_000))
            log.batches.append(try integer(ii, 0...100_000_000))
            log.accumulates.append(try integer(acc, 1...1_000_000))
            var flag = try integer(st, 0...1)
            for j in lrColumns.indices { log.lrs[j].append(try number(j)) }
            for j in momentumColumns.indices { log.momenta[j].append(try number(lrColumns.count + j, allowNaN: true)) }
            if scaleColumn != nil, let infColumn {
                let s = try number(doubleColumns.count - 1)
                guard s > 0 else { throw HalfTraceError.file(path, line: k, field: "scale", "0 is not a loss scale") }
                log.scales.append(s)
                flag |= try integer(infColumn, 0...1) << 1
            }
            log.flags.append(flag)
            log.lineOffset.append(k - row)
            log.count += 1
        }
        guard log.count > 0 else { throw HalfTraceError.file(path, "no rows") }
        return log
    }

    init(path: String, groups: Int, hasScaler: Bool, version: Writer?) {
        self.path = path
        self.groups = groups
        self.hasScaler = hasScaler
        self.version = version
    }

    /// The GradScaler settings a header comment may name, and the values PyTorch's `GradScaler`
    /// accepts for them (torch/amp/grad_scaler.py asserts growth_factor > 1 and backoff_factor < 1).
    static let scalerKeys: [(name: String, valid: @Sendable (Double) -> Bool, expected: String)] = [
        ("growth_factor", { $0.isFinite && $0 > 1 }, "a finite number > 1"),
        ("backoff_factor", { $0 > 0 && $0 < 1 }, "a number in (0, 1)"),
        ("growth_interval", { $0 >= 1 && $0 <= 1e9 && $0 == $0.rounded() }, "an integer in 1...1000000000"),
    ]

    /// "# scaler: growth_factor=2.0, backoff_factor=0.5, growth_interval=2000" -> the settings;
    /// [:] for another comment. A setting that is unknown, malformed or out of PyTorch's range
    /// is an error naming it (it would otherwise fall back to a default unseen).
    static func scalerSettings(_ line: String, path: String, line number: Int) throws -> [String: Double] {
        guard let colon = line.range(of: "scaler:") else { return [:] }
        var out: [String: Double] = [:]
        let items = line[colon.upperBound...].split(whereSeparator: { $0 == "," || $0 == " " })
        guard !items.isEmpty else { throw HalfTraceError.file(path, line: number, field: "scaler", "no setting after '# scaler:'") }
        for item in items {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pair.count == 2, let key = scalerKeys.first(where: { $0.name == pair[0] }) else {
                throw HalfTraceError.file(path, line: number, field: "scaler", "'\(item.prefix(40))': expected \(scalerKeys.map { $0.name + "=..." }.joined(separator: ", "))")
            }
            guard let v = Double(pair[1]), key.valid(v) else {
                throw HalfTraceError.file(path, line: number, field: key.name, "'\(pair[1].prefix(40))' is not \(key.expected)")
            }
            guard out[key.name] == nil else { throw HalfTraceError.file(path, line: number, field: key.name, "given twice") }
            out[key.name] = v
        }
        return out
    }

    /// "# halftrace steps v1: ultralytics 8.3.253, torch 2.13.0" -> (ultralytics, 8.3.253).
    static func writer(_ line: Substring) -> Writer? {
        let words = line.dropFirst().split(whereSeparator: { $0 == " " || $0 == "," || $0 == ":" }).map(String.init)
        for (k, word) in words.enumerated() where k + 1 < words.count {
            if let package = ReleaseRules.Package(rawValue: word.lowercased()), let version = ReleaseVersion(words[k + 1]) {
                return Writer(package: package, version: version)
            }
        }
        return nil
    }

    /// The batches per epoch the rows imply: the largest `i` plus one.
    public var impliedBatchesPerEpoch: Int {
        var most = 0
        for k in 0..<count { most = max(most, i(k)) }
        return most + 1
    }

    /// Where the log contradicts itself, whatever rules produced it: `ni` not `epoch * nb + i`,
    /// a run that jumps instead of going on by one iteration (a resume must restart an epoch at
    /// batch 0), and an optimizer step inside an accumulation window by the log's own
    /// accumulate (`ni - last_step < accumulate`; `windows` false: a loop with another step rule).
    /// At most 20.
    public func contradictions(batchesPerEpoch nb: Int, windows: Bool = true) -> [String] {
        var out: [String] = []
        var lastStep = -1
        for k in 0..<count {
            let n = ni(k), e = epoch(k), b = i(k)
            if n != e * nb + b || b >= nb {
                out.append("\(path):\(line(k)): ni \(n) is not epoch * nb + i = \(e) * \(nb) + \(b)")
            }
            if k > 0, n != ni(k - 1) + 1 || startsResume(k) {
                if startsResume(k) && b == 0 {
                    lastStep = -1  // a resume: the interrupted epoch runs again from batch 0, last_opt_step = -1
                } else {
                    out.append("\(path):\(line(k)): ni goes from \(ni(k - 1)) to \(n); a run goes on by one iteration, and a resume restarts an epoch at i = 0")
                }
            }
            if optimizerStep(k) {
                if windows && n - lastStep < accumulate(k) {
                    out.append("\(path):\(line(k)): optimizer_step at ni \(n) inside an accumulation window: \(n - lastStep) iteration(s) since the last step, accumulate \(accumulate(k))")
                }
                lastStep = n
            } else if foundInf(k) == true {
                lastStep = n  // a window the scaler skipped still ends: last_opt_step = ni
            }
            if out.count >= 20 { break }
        }
        return out
    }

    /// The epochs where a resumed part of the run starts, in order.
    public var resumedEpochs: [Int] { resumeStarts.map(epoch) }
}
