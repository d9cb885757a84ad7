import Foundation
import HalfTraceKernels
import HalfTraceTestSupport
import Testing

/// The one CSV reader, on files as real writers write them.
@Suite("CSV reader")
struct CSVReaderTests {
    static func records(_ source: CSVReader) throws -> [(Int, [String])] {
        var reader = source, out: [(Int, [String])] = []
        while try reader.next() { out.append((reader.line, reader.fields)) }
        return out
    }

    /// The records of `text` read from memory and from a file in chunks of every size from 16
    /// bytes up, which must all agree.
    static func read(_ text: String) throws -> [(Int, [String])] {
        let memory = try records(CSVReader(text: text, name: "x.csv"))
        try withTemporaryDirectory("csv") { dir in
            let path = dir + "/x.csv"
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            for chunk in [16, 17, 31, 64, 1 << 20] {
                let file = try records(CSVReader(path: path, chunkSize: chunk))
                #expect(file.map(\.0) == memory.map(\.0) && file.map(\.1) == memory.map(\.1), "chunk \(chunk)")
            }
        }
        return memory
    }

    @Test("line endings \\n, \\r\\n (Python's csv.writer) and \\r, a byte-order mark, blank lines, padding and no final newline read alike")
    func lineEndings() throws {
        let plain = "epoch,lr\n0,0.01\n1,0.02\n"
        let expected = [["epoch", "lr"], ["0", "0.01"], ["1", "0.02"]]
        for variant in [plain, plain.replacingOccurrences(of: "\n", with: "\r\n"), plain.replacingOccurrences(of: "\n", with: "\r"),
                        "\u{FEFF}" + plain, "epoch,lr\n\n0,0.01\n   \n1,0.02", "  epoch ,   lr\r\n0 , 0.01 \r\n\r\n1,0.02\r\n"] {
            let r = try Self.read(variant)
            #expect(r.map(\.1) == expected, "\(variant.debugDescription)")
        }
        // Line numbers are physical lines (blank lines counted).
        #expect(try Self.read("a,b\n\n1,2\r\n\r\n3,4").map(\.0) == [1, 3, 5])
    }

    @Test("quoted fields: commas, line breaks and doubled quotes inside, spaces outside (Excel, pandas)")
    func quoted() throws {
        let text = "name,value\r\n\"a, b\",1\r\n\"multi\r\nline\",\"2\"\r\n  \"say \"\"hi\"\"\" , 3\r\nlast,\"\"\r\n"
        let r = try Self.read(text)
        #expect(r.map(\.1) == [["name", "value"], ["a, b", "1"], ["multi\r\nline", "2"], ["say \"hi\"", "3"], ["last", ""]])
        #expect(r.map(\.0) == [1, 2, 3, 5, 6])
    }

    @Test("numbers are parsed in place, exactly, and only when the whole field is one")
    func numbers() throws {
        var reader = CSVReader(text: "0.1,1e-320,nan,-inf,17,-42,1.5x,,0x10,9223372036854775808, 7 \n", name: "n.csv")
        #expect(try reader.next())
        #expect(reader.double(0)?.bitPattern == 0.1.bitPattern && reader.double(1) == Double("1e-320"))
        #expect(reader.double(2)?.isNaN == true && reader.double(3) == -.infinity)
        #expect(reader.int(4) == 17 && reader.int(5) == -42 && reader.int(0) == nil)
        #expect(reader.double(6) == nil && reader.double(7) == nil && reader.double(8) == nil && reader.int(9) == nil)
        #expect(reader.int(10) == 7)
        var rng = SplitMix64(seed: 3)
        let values = (0..<2000).map { _ in rng.nextNormal() * pow(10, Double(rng.nextIndex(below: 40)) - 20) }
        var r2 = CSVReader(text: values.map(\.description).joined(separator: ","), name: "r.csv")
        #expect(try r2.next())
        #expect((0..<values.count).allSatisfy { r2.double($0)?.bitPattern == values[$0].bitPattern })
    }

    @Test("an unreadable file is an error naming it")
    func unreadable() {
        #expect { _ = try CSVReader(path: "/nonexistent/steps.csv") } throws: { "\($0)".contains("/nonexistent/steps.csv") }
    }
}
