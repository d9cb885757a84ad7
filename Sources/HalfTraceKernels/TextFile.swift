import Foundation

/// A text file's bytes as a String, refused unless they are valid UTF-8.
///
/// `String(decoding:as:)` would replace every invalid byte with U+FFFD and carry on: a settings
/// file damaged by a bad copy or saved in another encoding would be read as something else, and
/// a key or number next to the damage could silently change meaning. Every text reader goes
/// through here instead, so the damage is reported with the file, line and byte.
public enum TextFile {
    /// `bytes` decoded as UTF-8, or an error naming `name`, the 1-based line and the byte column
    /// of the first invalid sequence. A leading byte-order mark is dropped.
    public static func utf8(_ bytes: some Collection<UInt8>, name: String) throws -> String {
        var body = Array(bytes)
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body.removeFirst(3) }
        if let text = String(validating: body, as: UTF8.self) { return text }
        var line = 1, lineStart = 0, index = 0
        while index < body.count {
            let length = sequenceLength(body, at: index)
            guard length > 0 else {
                throw HalfTraceError.file(name, line: line, "byte \(index - lineStart + 1) of the line (0x\(String(body[index], radix: 16, uppercase: true))) is not valid UTF-8: a text file in another encoding or damaged?")
            }
            if body[index] == 0x0A { line += 1; lineStart = index + 1 }
            index += length
        }
        throw HalfTraceError.file(name, "not valid UTF-8")
    }

    /// The UTF-8 text of the file at `path` (a byte-order mark dropped), or an error saying why
    /// not: no such file, a directory, unreadable, larger than `limit` bytes, not UTF-8.
    public static func read(_ path: String, limit: Int = 1 << 24) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw HalfTraceError.inaccessible(path, "no such file") }
        guard !isDirectory.boolValue else { throw HalfTraceError.inaccessible(path, "a directory, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw HalfTraceError.inaccessible(path, "cannot be read (permissions?)") }
        guard data.count <= limit else { throw HalfTraceError.file(path, "\(data.count) bytes; at most \(limit)") }
        return try utf8(data, name: path)
    }

    /// Refuses YAML anchors (`&a`) and aliases (`*a`) before the text is composed: a settings
    /// file of plain values never needs them, and an "alias bomb" expands exponentially.
    public static func rejectYAMLAnchorsAndAliases(_ text: String, name: String, what: String) throws {
        for (k, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            var previous: Character = " "
            for c in line {
                if c == "#" && previous.isWhitespace { break }
                if (c == "&" || c == "*") && (previous.isWhitespace || "[{,:-?".contains(previous)) {
                    throw HalfTraceError.file(name, line: k + 1, "YAML anchors and aliases are not accepted in \(what)")
                }
                previous = c
            }
        }
    }

    /// The length of the valid UTF-8 sequence starting at `i` (RFC 3629: no overlong forms, no
    /// surrogates, nothing above U+10FFFF), or 0 when it is invalid.
    static func sequenceLength(_ b: [UInt8], at i: Int) -> Int {
        let lead = b[i]
        func continuation(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool { i + k < b.count && range.contains(b[i + k]) }
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4: return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default: return 0
        }
    }
}
