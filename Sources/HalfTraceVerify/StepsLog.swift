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
    /// The iterations, in file order.
    public var rows: [Row]
    /// The package and release the header comment names, if any.
    public var version: Writer?

    /// At most this many rows are read (a run of 10 million iterations).
    public static let maximumRows = 10_000_000

    /// Reads and validates `path`: every field parsed and range-checked; errors name the file,
    /// line and column.
    public static func load(_ path: String) throws -> StepsLog {
        guard let data = FileManager.default.contents(atPath: path) else { throw HalfTraceError.inaccessible(path, "cannot read") }
        guard data.count <= 1 << 30 else { throw HalfTraceError.file(path, "\(data.count) bytes; at most 1 GB are read") }
        return try parse(try TextFile.utf8(data, name: path), path: path)
    }

    /// Parses the text of a steps.csv named `path`.
    public static func parse(_ text: String, path: String) throws -> StepsLog {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var index = 0, writer: Writer? = nil
        while index < lines.count, lines[index].hasPrefix("#") || lines[index].trimmingCharacters(in: .whitespaces).isEmpty {
            if writer == nil { writer = Self.writer(lines[index]) }
            index += 1
        }
        guard index < lines.count else { throw HalfTraceError.file(path, "no header row") }
        let header = lines[index].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let headerLine = index + 1
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
        var rows: [Row] = []
        for k in (index + 1)..<lines.count {
            let line = lines[k]
            if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard rows.count < maximumRows else { throw HalfTraceError.file(path, line: k + 1, "more than \(maximumRows) rows") }
            let c = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard c.count == header.count else { throw HalfTraceError.file(path, line: k + 1, "\(c.count) fields, the header has \(header.count)") }
            func integer(_ i: Int, _ range: ClosedRange<Int>) throws -> Int {
                guard let v = Int(c[i]), range.contains(v) else {
                    throw HalfTraceError.file(path, line: k + 1, field: header[i], "'\(c[i].prefix(40))' is not an integer in \(range.lowerBound)...\(range.upperBound)")
                }
                return v
            }
            func number(_ i: Int, allowNaN: Bool = false) throws -> Double {
                guard let v = Double(c[i]), v.isFinite || (allowNaN && v.isNaN), v.isNaN || v >= 0 else {
                    throw HalfTraceError.file(path, line: k + 1, field: header[i], "'\(c[i].prefix(40))' is not a finite number >= 0")
                }
                return v
            }
            var row = Row(ni: try integer(ni, 0...1_000_000_000), epoch: try integer(ep, 0...1_000_000), i: try integer(ii, 0...100_000_000),
                          accumulate: try integer(acc, 1...1_000_000), optimizerStep: try integer(st, 0...1) == 1,
                          lr: try lrColumns.map { try number($0) }, momentum: try momentumColumns.map { try number($0, allowNaN: true) },
                          scale: nil, foundInf: nil, line: k + 1)
            if let scaleColumn, let infColumn {
                let s = try number(scaleColumn)
                guard s > 0 else { throw HalfTraceError.file(path, line: k + 1, field: "scale", "0 is not a loss scale") }
                row.scale = s
                row.foundInf = try integer(infColumn, 0...1) == 1
            }
            rows.append(row)
        }
        guard !rows.isEmpty else { throw HalfTraceError.file(path, "no rows") }
        return StepsLog(path: path, groups: lrColumns.count, hasScaler: scaleColumn != nil, rows: rows, version: writer)
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
    public var impliedBatchesPerEpoch: Int { (rows.map(\.i).max() ?? 0) + 1 }

    /// Where the log contradicts itself, whatever rules produced it: `ni` not `epoch * nb + i`,
    /// a run that jumps instead of going on by one iteration (a resume must restart an epoch at
    /// batch 0), and an optimizer step inside an accumulation window by the log's own
    /// accumulate (`ni - last_step < accumulate`).
    public func contradictions(batchesPerEpoch nb: Int) -> [String] {
        var out: [String] = []
        var previous: Row? = nil, lastStep = -1
        for r in rows {
            if r.ni != r.epoch * nb + r.i || r.i >= nb {
                out.append("\(path):\(r.line): ni \(r.ni) is not epoch * nb + i = \(r.epoch) * \(nb) + \(r.i)")
            }
            if let p = previous, r.ni != p.ni + 1 {
                if r.ni <= p.ni && r.i == 0 {
                    lastStep = -1  // a resume: the interrupted epoch runs again from batch 0, last_opt_step = -1
                } else {
                    out.append("\(path):\(r.line): ni goes from \(p.ni) to \(r.ni); a run goes on by one iteration, and a resume restarts an epoch at i = 0")
                }
            }
            if r.optimizerStep {
                if r.ni - lastStep < r.accumulate {
                    out.append("\(path):\(r.line): optimizer_step at ni \(r.ni) inside an accumulation window: \(r.ni - lastStep) iteration(s) since the last step, accumulate \(r.accumulate)")
                }
                lastStep = r.ni
            } else if r.foundInf == true {
                lastStep = r.ni  // a window the scaler skipped still ends: last_opt_step = ni
            }
            previous = r
            if out.count >= 20 { break }
        }
        return out
    }

    /// The epochs where a resumed part of the run starts (ni goes back), in order.
    public var resumedEpochs: [Int] {
        zip(rows, rows.dropFirst()).compactMap { a, b in b.ni <= a.ni ? b.epoch : nil }
    }
}
