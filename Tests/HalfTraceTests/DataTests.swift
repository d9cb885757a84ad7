import Foundation
import HalfTraceKernels
import HalfTraceNN
import Testing

@Suite("Datasets")
struct DataTests {
    @Test("the bundled digits file: 1,797 rows, 1,500 train, pixels in [0, 1], labels 0...9")
    func digits() throws {
        let split = try Digits.loadBundled()
        #expect(split.train.count == 1500 && split.validation.count == 297)
        #expect(split.train.features.allSatisfy { (0...1).contains($0) })
        #expect(Set(split.train.labels) == Set(0...9))
        #expect(split.train.labels.prefix(3) == [0, 1, 2])
    }

    static func parse(_ text: String) -> String? {
        do {
            _ = try Digits.parse(Data(text.utf8), name: "bad.csv")
            return nil
        } catch {
            return "\(error)"
        }
    }

    static let header = (0..<64).map { "p\($0)" }.joined(separator: ",") + ",label\n"
    static let row = Array(repeating: "0", count: 64).joined(separator: ",") + ",3\n"

    @Test("malformed digits files name file, line and problem")
    func malformed() {
        #expect(Self.parse(Self.header + Self.row + "1,2,3\n") == "bad.csv:3: 3 columns, expected 65 (p0..p63,label)")
        #expect(Self.parse(Self.header + Self.row.replacingOccurrences(of: ",3\n", with: ",12\n"))
            == "bad.csv:2: label 12 is outside 0...9")
        #expect(Self.parse(Self.header + "x" + Self.row.dropFirst())?.hasPrefix("bad.csv:2: column 1 is not a number") == true)
        #expect(Self.parse(Self.header + "17" + Self.row.dropFirst()) == "bad.csv:2: pixel p0 = 17 is outside 0...16")
        #expect(Self.parse(Self.header) == "bad.csv: no data rows")
        #expect(Self.parse(Self.header + Self.row + String(Self.row.prefix(40))) == "bad.csv:3: 21 columns, expected 65 (p0..p63,label)")
    }

    @Test("too few rows for the split is an error, not a trap")
    func tooFewRows() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("halftrace-few-\(getpid()).csv").path
        try (Self.header + Self.row + Self.row).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: HalfTraceError.self) { try Digits.load(path) }
        #expect(throws: HalfTraceError.self) { try Digits.load("/nonexistent/digits.csv") }
    }

    @Test("two moons is seeded: same seed same data, another seed other data")
    func twoMoons() {
        let a = TwoMoons.make(seed: 3), b = TwoMoons.make(seed: 3), c = TwoMoons.make(seed: 4)
        #expect(a.train == b.train)
        #expect(a.train != c.train)
        #expect(a.train.count == 800 && a.validation.count == 200)
        #expect(Set(a.train.labels) == [0, 1])
    }
}
