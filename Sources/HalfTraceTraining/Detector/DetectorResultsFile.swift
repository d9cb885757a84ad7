import Foundation
import HalfTraceKernels

/// A detector run's results.csv as YOLOv5 v7.0 writes it (`%20.5g` columns padded with spaces) or
/// as HalfTrace writes it (the same keys, shortest round-trip numbers, HalfTrace's columns after):
/// the per-epoch values a comparison figure draws.
public struct DetectorResultsFile: Sendable, Equatable {
    /// One epoch's values.
    public struct Row: Sendable, Equatable {
        /// The epoch, 0-based.
        public var epoch: Int
        /// metrics/mAP_0.5.
        public var map50: Double
        /// metrics/mAP_0.5:0.95.
        public var map: Double
        /// train/box_loss + train/obj_loss + train/cls_loss.
        public var trainLoss: Double
        /// val/box_loss + val/obj_loss + val/cls_loss.
        public var validationLoss: Double
        /// x/lr1, the weights' lr.
        public var lr: Double
    }

    /// The rows in file order.
    public var rows: [Row]

    /// The columns read.
    static let keys = ["epoch", "metrics/mAP_0.5", "metrics/mAP_0.5:0.95", "train/box_loss", "train/obj_loss", "train/cls_loss",
                       "val/box_loss", "val/obj_loss", "val/cls_loss", "x/lr1"]

    /// Reads `path`: a header naming at least YOLOv5's keys, then one row per epoch; `\r\n`
    /// endings, a byte-order mark, blank lines and padding are accepted; anything else is an
    /// error naming the file, line and column.
    public static func read(_ path: String) throws -> DetectorResultsFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw HalfTraceError.inaccessible(path, "cannot read the results file") }
        guard data.count <= 64 << 20 else { throw HalfTraceError.file(path, "\(data.count) bytes; a results file is read up to 64 MiB") }
        let text = try TextFile.utf8(data, name: path)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { ($0.offset + 1, $0.element.trimmingCharacters(in: .whitespaces)) }.filter { !$0.1.isEmpty }
        guard let header = lines.first else { throw HalfTraceError.file(path, "the file is empty") }
        let names = header.1.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let index = try keys.map { key -> Int in
            guard let i = names.firstIndex(of: key) else { throw HalfTraceError.file(path, line: header.0, "no column \(key): not a YOLOv5 detector results.csv") }
            return i
        }
        var rows: [Row] = []
        for (line, content) in lines.dropFirst() {
            let fields = content.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == names.count else { throw HalfTraceError.file(path, line: line, "\(fields.count) fields, expected \(names.count)") }
            let v = try zip(keys, index).map { key, i -> Double in
                guard let x = Double(fields[i]), x.isFinite || key != "epoch" else {
                    throw HalfTraceError.file(path, line: line, field: key, "'\(fields[i].prefix(40))' is not a number")
                }
                return x
            }
            guard let epoch = Int(exactly: v[0]), epoch >= 0 else { throw HalfTraceError.file(path, line: line, field: "epoch", "\(v[0]) is not an epoch") }
            rows.append(Row(epoch: epoch, map50: v[1], map: v[2], trainLoss: v[3] + v[4] + v[5], validationLoss: v[6] + v[7] + v[8], lr: v[9]))
        }
        guard !rows.isEmpty else { throw HalfTraceError.file(path, "no rows") }
        return DetectorResultsFile(rows: rows)
    }

    /// The first epoch at which mAP@0.5 >= `map50` and mAP@0.5:0.95 >= `map` both hold, if any.
    public func firstEpoch(reaching map50: Double, _ map: Double) -> Int? {
        rows.first { $0.map50 >= map50 && $0.map >= map }?.epoch
    }

    /// The means of the last `count` epochs' mAP@0.5 and mAP@0.5:0.95.
    public func meanOfLast(_ count: Int) -> (map50: Double, map: Double) {
        let tail = rows.suffix(count)
        return (tail.map(\.map50).reduce(0, +) / Double(tail.count), tail.map(\.map).reduce(0, +) / Double(tail.count))
    }
}
