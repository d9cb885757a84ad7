import Foundation
import HalfTraceKernels

/// The UCI "Optical Recognition of Handwritten Digits" data as shipped with scikit-learn
/// (E. Alpaydin and C. Kaynak, 1998; CC BY 4.0): 1,797 images of 8x8 pixels with values 0..16
/// and a label 0..9. Columns p0..p63, label. Pixels are divided by 16; rows 0..1499 train and
/// rows 1500... validate.
public enum Digits {
    public static let pixels = 64
    public static let trainRows = 1500

    /// The copy bundled with HalfTrace (see Resources/DIGITS-LICENSE.md).
    public static var bundledURL: URL? { Bundle.module.url(forResource: "digits", withExtension: "csv") }

    public static func loadBundled() throws -> DataSplit {
        guard let url = bundledURL else { throw HalfTraceError.inaccessible("digits.csv", "the bundled digits.csv is missing from the resource bundle") }
        return try load(url.path)
    }

    public static func load(_ path: String) throws -> DataSplit {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HalfTraceError.inaccessible(path, "cannot read the file")
        }
        let all = try parse(data, name: path)
        guard all.count > trainRows else {
            throw HalfTraceError.file(path, "\(all.count) data rows; the digits split needs more than \(trainRows) (rows 0..<\(trainRows) train, the rest validate)")
        }
        return DataSplit(train: all.slice(0..<trainRows), validation: all.slice(trainRows..<all.count), source: path)
    }

    /// Parses the CSV text: a header of 65 columns, then rows of 64 pixels in 0...16 and a label
    /// in 0...9. Every problem is reported as `name:line: what`.
    public static func parse(_ data: Data, name: String) throws -> Dataset {
        let columns = pixels + 1
        var features: [Float] = []
        var labels: [Int] = []
        var lineNumber = 0
        var sawHeader = false
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty { continue }
            let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            guard fields.count == columns else {
                throw HalfTraceError.file(name, line: lineNumber, "\(fields.count) columns, expected \(columns) (p0..p63,label)")
            }
            if !sawHeader {
                sawHeader = true
                if Double(String(decoding: fields[0], as: UTF8.self)) == nil { continue }  // header row
            }
            for (c, field) in fields.enumerated() {
                let text = String(decoding: field, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                guard let value = Double(text), value.isFinite else {
                    throw HalfTraceError.file(name, line: lineNumber, "column \(c + 1) is not a number: '\(text)'")
                }
                if c == pixels {
                    guard value == value.rounded(), (0...9).contains(value) else {
                        throw HalfTraceError.file(name, line: lineNumber, "label \(text) is outside 0...9")
                    }
                    labels.append(Int(value))
                } else {
                    guard (0...16).contains(value) else {
                        throw HalfTraceError.file(name, line: lineNumber, "pixel p\(c) = \(text) is outside 0...16")
                    }
                    features.append(Float(value / 16))
                }
            }
        }
        guard !labels.isEmpty else { throw HalfTraceError.file(name, "no data rows") }
        return Dataset(features: features, featureCount: pixels, labels: labels, classes: 10)
    }
}
