import HalfTraceKernels

/// One YOLO-format label file (`class cx cy w h` per line, coordinates normalised to [0, 1]),
/// read as YOLOv5's `verify_image_label` (`utils/dataloaders.py`, v7.0) checks it: five numeric
/// fields, a non-negative integer class, coordinates in [0, 1]. Blank lines and `\r\n` endings
/// are accepted; every other problem is an error naming the file and line.
public enum YOLOLabels {
    /// The rows of a label file as float32 [class, cx, cy, w, h], and how many duplicate rows were
    /// removed. With duplicates, the remaining rows come out sorted, as YOLOv5's
    /// `np.unique(lb, axis=0)` leaves them; without, in file order.
    public static func parse(_ content: String, path: String) throws -> (rows: [[Float]], duplicates: Int) {
        var rows: [[Float]] = []
        // Lines end at \n, \r\n (one Character in Swift, which a split on "\n" would not see) or \r.
        for (k, raw) in content.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{FEFF}" })
            if fields.isEmpty { continue }
            guard fields.count == 5 else {
                throw HalfTraceError.file(path, line: k + 1, "\(fields.count) fields, expected 5 (class cx cy w h)")
            }
            let values = try fields.map { f -> Float in
                guard let v = Float(f), v.isFinite else { throw HalfTraceError.file(path, line: k + 1, "'\(f.prefix(40))' is not a number") }
                return v
            }
            guard values[0] >= 0, values[0] == values[0].rounded(), values[0] < 1_000_000 else {
                throw HalfTraceError.file(path, line: k + 1, "class \(fields[0].prefix(40)) is not a non-negative integer")
            }
            for (i, v) in values.enumerated().dropFirst() where !(0...1).contains(v) {
                throw HalfTraceError.file(path, line: k + 1, "\(["", "cx", "cy", "w", "h"][i]) = \(fields[i].prefix(40)) is outside [0, 1] (non-normalized or out of bounds coordinates)")
            }
            rows.append(values)
        }
        let unique = Set(rows)
        guard unique.count < rows.count else { return (rows, 0) }
        let sorted = unique.sorted { $0.lexicographicallyPrecedes($1) }
        return (sorted, rows.count - sorted.count)
    }
}
