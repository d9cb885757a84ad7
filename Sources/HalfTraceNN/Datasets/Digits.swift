import Foundation
import HalfTraceKernels

/// The UCI "Optical Recognition of Handwritten Digits" data as shipped with scikit-learn
/// (E. Alpaydin and C. Kaynak, 1998; CC BY 4.0): 1,797 images of 8x8 pixels with values 0..16
/// and a label 0..9. Columns p0..p63, label. Pixels are divided by 16; rows 0..1499 train and
/// rows 1500... validate.
public enum Digits {
    /// Pixels per image (8 x 8): the feature count.
    public static let pixels = 64
    /// Rows 0..<1500 train; the rest (297 of the bundled 1,797) validate.
    public static let trainRows = 1500

    /// The copy bundled with HalfTrace (see Resources/DIGITS-LICENSE.md).
    public static var bundledURL: URL? { Bundle.module.url(forResource: "digits", withExtension: "csv") }

    /// The bundled data, parsed once per process (it never changes while the process runs).
    public static func loadBundled() throws -> DataSplit { try bundled.get() }

    private static let bundled: Result<DataSplit, HalfTraceError> = {
        guard let url = bundledURL else { return .failure(.inaccessible("digits.csv", "the bundled digits.csv is missing from the resource bundle")) }
        do { return .success(try load(url.path)) } catch let e as HalfTraceError { return .failure(e) } catch {
            return .failure(.inaccessible(url.path, "\(error)"))
        }
    }()

    /// A digits file is read whole: larger files are refused first.
    public static let maximumBytes = 64 << 20

    /// The digits CSV at `path` (at most `maximumBytes`), parsed and split at `trainRows`.
    public static func load(_ path: String) throws -> DataSplit {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maximumBytes {
            throw HalfTraceError.file(path, "\(size) bytes; a digits file is at most \(maximumBytes)")
        }
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
                let value: Double?, text: String
                if let n = smallInteger(field) {  // the common case, read from the bytes directly
                    (value, text) = (Double(n), "\(n)")
                } else {
                    text = String(decoding: field, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                    value = Double(text)
                }
                guard let value, value.isFinite else {
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

    /// The value of a field of one to three ASCII digits, else nil (then the field is parsed as text).
    static func smallInteger(_ field: Data.SubSequence) -> Int? {
        guard (1...3).contains(field.count) else { return nil }
        var n = 0
        for b in field {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int(b - UInt8(ascii: "0"))
        }
        return n
    }
}
