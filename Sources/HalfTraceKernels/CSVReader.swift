#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A CSV file read record by record from its bytes, as the writers that produce such files mean
/// them: Python's `csv` module (`\r\n` line ends), pandas, Excel's CSV export (a UTF-8 byte-order
/// mark, quoted fields), YOLOv5's padded `%20.5g` columns, and hand edits (blank lines, `\r`
/// line ends, trailing spaces, no newline at the end).
///
/// - A record ends at `\n`, `\r\n` or `\r` outside quotes; blank records are skipped.
/// - A field in double quotes may hold commas, line breaks and `""` (one quote); spaces around
///   an unquoted field are trimmed.
/// - Line numbers count physical lines, so an error names the line a user sees in an editor.
///
/// The file is read in chunks of `chunkSize` bytes: memory does not grow with the file's length.
/// Each field is available as text (`string`) and parsed in place (`double`, `int`) without
/// building a String; a record without quotes is split where it lies in the read buffer. It is a
/// value type, so that reading a byte costs no exclusivity check: a file of millions of rows
/// reads at close to the speed of memory.
public struct CSVReader {
    /// The file (for messages).
    public let name: String
    /// The 1-based line the current record starts on.
    public private(set) var line = 0
    /// Fields of the current record.
    public private(set) var count = 0

    /// The longest record read, in bytes.
    static let longestRecord = 64 << 20

    /// Closes the file when the last copy of the reader goes.
    private final class Descriptor {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
        deinit { close(fd) }
    }

    private let descriptor: Descriptor?
    /// The bytes read and not yet consumed are buffer[position..<end]; buffer[end] is 0, so that
    /// strtod stops at a field that ends the data.
    private var buffer: [UInt8]
    private var position = 0
    private var end = 0
    private var finished = false
    private var nextLine = 1
    private let chunkSize: Int
    /// Quoted records are unquoted into these bytes, each field followed by a 0 byte.
    private var fieldBytes: [UInt8] = []
    /// Whether the current record's fields are in `buffer` (no quotes) or in `fieldBytes`.
    private var inBuffer = true
    /// The last record ended with `\r` at the end of the buffer: a `\n` may follow (`\r\n`).
    private var pendingLineFeed = false
    private var starts: [Int] = []
    private var lengths: [Int] = []

    /// The file at `path`, opened for streaming; an unreadable file is an error naming it.
    public init(path: String, chunkSize: Int = 1 << 20) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw HalfTraceError.inaccessible(path, "cannot read (\(String(cString: strerror(errno))))") }
        descriptor = Descriptor(fd)
        name = path
        self.chunkSize = max(16, chunkSize)
        buffer = [UInt8](repeating: 0, count: self.chunkSize * 2 + 1)
        try fill()
        skipByteOrderMark()
        try checkEncoding()
    }

    /// `text` read as if it were a file named `name`.
    public init(text: String, name: String) {
        descriptor = nil
        self.name = name
        buffer = Array(text.utf8) + [0]
        end = buffer.count - 1
        finished = true
        chunkSize = max(16, end)
        skipByteOrderMark()
    }

    /// A file in another encoding would otherwise read as a header of unknown names ("column
    /// missing"): UTF-16 (a spreadsheet's "Unicode text"), NUL bytes (binary), or bytes that are
    /// not UTF-8 in the first chunk's complete lines (Latin-1) are an error naming the file.
    private func checkEncoding() throws {
        if end >= 2, (buffer[0] == 0xFF && buffer[1] == 0xFE) || (buffer[0] == 0xFE && buffer[1] == 0xFF) {
            throw HalfTraceError.file(name, "UTF-16 text, not UTF-8: save it as CSV in UTF-8")
        }
        if buffer[position..<min(end, position + 4096)].contains(0) {
            throw HalfTraceError.file(name, "NUL bytes: a binary file (or UTF-16 text without a byte-order mark), not a UTF-8 CSV")
        }
        let complete = finished ? end : (buffer[position..<end].lastIndex(of: 0x0A).map { $0 + 1 } ?? position)
        _ = try TextFile.utf8(buffer[position..<complete], name: name)
    }

    private mutating func skipByteOrderMark() {
        if end >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { position = 3 }
    }

    /// Moves the unread bytes to the front and reads more (nothing more: `finished`).
    private mutating func fill() throws {
        guard let descriptor, !finished else { return }
        if position > 0 {
            let remaining = end - position, from = position
            if remaining > 0 { buffer.withUnsafeMutableBufferPointer { b in _ = memmove(b.baseAddress!, b.baseAddress! + from, remaining) } }
            end = remaining
            position = 0
        }
        // Only a record that does not end makes the buffer grow; one of 64 MB is not a CSV row.
        guard end <= Self.longestRecord else {
            throw HalfTraceError.file(name, line: nextLine, "a record longer than \(Self.longestRecord >> 20) MB (no line end)")
        }
        if buffer.count - end - 1 < chunkSize { buffer.append(contentsOf: [UInt8](repeating: 0, count: chunkSize)) }
        let (at, size) = (end, chunkSize)
        let n = buffer.withUnsafeMutableBufferPointer { b in read(descriptor.fd, b.baseAddress! + at, size) }
        guard n >= 0 else { throw HalfTraceError.inaccessible(name, "read failed (\(String(cString: strerror(errno))))") }
        if n == 0 { finished = true } else { end += n }
        buffer[end] = 0
    }

    /// The next byte, refilling the buffer as needed; nil at the end of the file.
    @inline(__always)
    private mutating func peek() throws -> UInt8? {
        if position == end {
            if finished { return nil }
            try fill()
            if position == end { return nil }
        }
        return buffer[position]
    }

    /// Advances to the next record that is not blank; false at the end of the file.
    public mutating func next() throws -> Bool {
        if pendingLineFeed {
            pendingLineFeed = false
            if try peek() == 10 { position += 1 }
        }
        while true {
            guard try peek() != nil else { line = nextLine; count = 0; return false }
            // Fast path: a line without quotes, split where it lies in the buffer.
            var eol = position, quote = false
            while true {
                let (stop, isQuote) = buffer.withUnsafeBufferPointer { b -> (Int, Bool) in
                    var k = eol
                    while k < end {
                        let c = b[k]
                        if c == 10 || c == 13 { return (k, false) }
                        if c == 34 { return (k, true) }
                        k += 1
                    }
                    return (k, false)
                }
                eol = stop
                quote = isQuote
                if quote || eol < end || finished { break }
                let offset = eol - position
                try fill()
                eol = position + offset
            }
            if !quote {
                line = nextLine
                splitLine(position, eol)
                position = eol
                if position < end {
                    nextLine += 1
                    if buffer[position] == 13 {
                        // Not peek(): a refill would move the fields out from under starts.
                        position += 1
                        if position < end { if buffer[position] == 10 { position += 1 } } else { pendingLineFeed = true }
                    } else {
                        position += 1
                    }
                }
                if count == 1 && lengths[0] == 0 {  // a blank line
                    if pendingLineFeed { pendingLineFeed = false; if try peek() == 10 { position += 1 } }
                    continue
                }
                return true
            }
            if try slowRecord() { return true }
        }
    }

    /// Splits buffer[from..<to] (no quotes, no line end) into trimmed fields, left in place.
    private mutating func splitLine(_ from: Int, _ to: Int) {
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        inBuffer = true
        buffer.withUnsafeBufferPointer { b in
            var k = from
            while true {
                var a = k
                while a < to && (b[a] == 32 || b[a] == 9) { a += 1 }
                var c = a
                while c < to && b[c] != 44 { c += 1 }
                var z = c
                while z > a && (b[z - 1] == 32 || b[z - 1] == 9) { z -= 1 }
                starts.append(a)
                lengths.append(z - a)
                if c >= to { break }
                k = c + 1
            }
        }
        count = starts.count
    }

    /// A record that contains a quote, read byte by byte into `fieldBytes`; false when it was blank.
    private mutating func slowRecord() throws -> Bool {
        fieldBytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        inBuffer = false
        line = nextLine
        guard try peek() != nil else { count = 0; return false }
        var fieldStart = 0, quoted = false, anyContent = false
        var lastNonSpace = -1  // within the current field, relative to fieldBytes
        func endField(_ r: inout CSVReader) {
            let length = quoted ? r.fieldBytes.count - fieldStart : max(0, lastNonSpace + 1 - fieldStart)
            r.starts.append(fieldStart)
            r.lengths.append(length)
            r.fieldBytes.removeSubrange((fieldStart + length)...)
            r.fieldBytes.append(0)
            fieldStart = r.fieldBytes.count
            quoted = false
            lastNonSpace = fieldStart - 1
        }
        recordLoop: while let byte = try peek() {
            position += 1
            switch byte {
            case UInt8(ascii: ","):
                endField(&self)
                anyContent = true
            case UInt8(ascii: "\n"):
                nextLine += 1
                break recordLoop
            case UInt8(ascii: "\r"):
                nextLine += 1
                if try peek() == UInt8(ascii: "\n") { position += 1 }
                break recordLoop
            case UInt8(ascii: "\""):
                if fieldBytes.count == fieldStart || (lastNonSpace < fieldStart) {
                    // A quoted field: drop leading spaces, read to the closing quote.
                    fieldBytes.removeSubrange(fieldStart...)
                    quoted = true
                    anyContent = true
                    while let q = try peek() {
                        position += 1
                        if q == UInt8(ascii: "\"") {
                            if try peek() == UInt8(ascii: "\"") { position += 1; fieldBytes.append(q); continue }
                            break
                        }
                        let following = try peek()
                        if q == UInt8(ascii: "\n") || (q == UInt8(ascii: "\r") && following != UInt8(ascii: "\n")) { nextLine += 1 }
                        fieldBytes.append(q)
                    }
                    // Anything after the closing quote up to the separator is ignored if blank.
                    while let after = try peek(), after == UInt8(ascii: " ") || after == UInt8(ascii: "\t") { position += 1 }
                } else {
                    fieldBytes.append(byte)
                    lastNonSpace = fieldBytes.count - 1
                    anyContent = true
                }
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                if fieldBytes.count > fieldStart { fieldBytes.append(byte) }
            default:
                fieldBytes.append(byte)
                lastNonSpace = fieldBytes.count - 1
                anyContent = true
            }
        }
        endField(&self)
        count = starts.count
        return anyContent || lengths != [0]
    }

    /// Calls `body` with field `i`'s bytes; the byte after them is not part of a number.
    @inline(__always)
    private func withField<T>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        precondition(i < count, "CSVReader: field \(i) of \(count)")
        let (s, n) = (starts[i], lengths[i])
        return (inBuffer ? buffer : fieldBytes).withUnsafeBufferPointer { b in body(UnsafeBufferPointer(rebasing: b[s..<(s + n)])) }
    }

    /// Field `i` of the current record as text (trimmed; unquoted).
    public func string(_ i: Int) -> String { withField(i) { String(decoding: $0, as: UTF8.self) } }

    /// Field `i`'s bytes (trimmed; unquoted).
    public func bytes(_ i: Int) -> [UInt8] { withField(i) { Array($0) } }

    /// Whether field `i` is exactly `bytes` (a cheap test for a value repeated from the previous row).
    @inline(__always)
    public func field(_ i: Int, equals bytes: [UInt8]) -> Bool {
        guard lengths[i] == bytes.count, !bytes.isEmpty else { return false }
        return withField(i) { f in bytes.withUnsafeBufferPointer { memcmp(f.baseAddress!, $0.baseAddress!, $0.count) == 0 } }
    }

    /// Every field of the current record as text.
    public var fields: [String] { (0..<count).map(string) }

    /// A column name the header holds twice ("" names are not columns), if any: a file whose
    /// two columns of one name would be read by whichever comes first.
    public static func repeatedColumn(_ header: [String]) -> String? {
        var seen = Set<String>()
        for name in header where !name.isEmpty {
            if !seen.insert(name).inserted { return name }
        }
        return nil
    }

    /// Reads up to the first record that is not a `#` comment and returns its fields (the
    /// header); nil when the file has none. `line` is then the header's line.
    public mutating func nextHeader() throws -> [String]? {
        while try next() { if !isComment { return fields } }
        return nil
    }

    /// Whether the current record is a comment: its first field starts with `#`.
    public var isComment: Bool { count > 0 && lengths[0] > 0 && withField(0) { $0[0] } == UInt8(ascii: "#") }

    /// The number of bytes of field `i` (after trimming).
    public func length(_ i: Int) -> Int { lengths[i] }

    /// Field `i` as a Double when the whole field is a number (decimal, exponent, `nan`, `inf`,
    /// as C's strtod reads them; correctly rounded), nil otherwise.
    public func double(_ i: Int) -> Double? {
        guard lengths[i] > 0 else { return nil }
        return withField(i) { f -> Double? in
            // strtod accepts hexadecimal floats and leading spaces; a CSV number is neither.
            if f[0] == UInt8(ascii: " ") || (f.count > 2 && f[1] | 0x20 == UInt8(ascii: "x")) { return nil }
            let start = UnsafeRawPointer(f.baseAddress!).assumingMemoryBound(to: CChar.self)
            var stop: UnsafeMutablePointer<CChar>?
            let value = strtod(start, &stop)
            guard let stop, UnsafeRawPointer(stop) == UnsafeRawPointer(start + f.count) else { return nil }
            return value
        }
    }

    /// Field `i` as an Int when the whole field is a decimal integer (an optional sign, digits),
    /// nil otherwise (or on overflow).
    public func int(_ i: Int) -> Int? {
        withField(i) { f -> Int? in
            var k = 0
            guard k < f.count else { return nil }
            var negative = false
            if f[k] == UInt8(ascii: "-") || f[k] == UInt8(ascii: "+") { negative = f[k] == UInt8(ascii: "-"); k += 1 }
            guard k < f.count else { return nil }
            var value = 0
            while k < f.count {
                let d = Int(f[k]) - 48
                guard (0...9).contains(d) else { return nil }
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
                guard !o1, !o2 else { return nil }
                value = s
                k += 1
            }
            return value
        }
    }
}
