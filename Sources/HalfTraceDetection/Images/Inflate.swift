/// Why a compressed stream could not be decoded.
public struct InflateError: Error, Equatable, CustomStringConvertible {
    /// What is wrong, e.g. "the stream ends inside a block".
    public let reason: String
    /// The message.
    public var description: String { reason }
}

/// DEFLATE decompression (RFC 1951) inside a zlib wrapper (RFC 1950), for PNG's image data: stored,
/// fixed-Huffman and dynamic-Huffman blocks, every read bounds-checked, the output capped, and the
/// Adler-32 checksum verified. A truncated or corrupt stream is an error, never a trap.
public enum Inflate {
    /// Decompresses a zlib stream whose output is at most `limit` bytes.
    public static func zlib(_ data: [UInt8], limit: Int) throws -> [UInt8] {
        guard data.count >= 6 else { throw InflateError(reason: "the zlib stream is \(data.count) bytes long") }
        let cmf = data[0], flg = data[1]
        guard cmf & 0x0f == 8, (UInt16(cmf) << 8 | UInt16(flg)) % 31 == 0 else {
            throw InflateError(reason: "not a zlib stream (header \(cmf), \(flg))")
        }
        guard flg & 0x20 == 0 else { throw InflateError(reason: "the zlib stream asks for a preset dictionary") }
        var reader = BitReader(data, start: 2)
        let out = try inflate(&reader, limit: limit)
        let end = reader.alignedByteOffset
        guard end + 4 <= data.count else { throw InflateError(reason: "the zlib stream ends before its checksum") }
        let stored = UInt32(data[end]) << 24 | UInt32(data[end + 1]) << 16 | UInt32(data[end + 2]) << 8 | UInt32(data[end + 3])
        guard stored == adler32(out) else { throw InflateError(reason: "the zlib checksum does not match the data") }
        return out
    }

    /// Adler-32 of `bytes` (RFC 1950).
    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        while i < bytes.count {
            let end = min(i + 5552, bytes.count)
            while i < end { a += UInt32(bytes[i]); b += a; i += 1 }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }

    struct BitReader {
        let data: [UInt8]
        var position: Int  // bit position
        init(_ data: [UInt8], start: Int) {
            self.data = data
            position = start * 8
        }

        mutating func bits(_ n: Int) throws -> Int {
            var value = 0
            for k in 0..<n {
                let byte = position >> 3
                guard byte < data.count else { throw InflateError(reason: "the stream ends inside a block") }
                value |= Int((data[byte] >> UInt8(position & 7)) & 1) << k
                position += 1
            }
            return value
        }

        mutating func alignToByte() { position = (position + 7) & ~7 }
        var alignedByteOffset: Int { (position + 7) >> 3 }
    }

    /// A canonical Huffman code: counts of codes per length and symbols in code order.
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: [Int]) throws {
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var left = 1
            for len in 1..<16 {
                left <<= 1
                left -= counts[len]
                guard left >= 0 else { throw InflateError(reason: "an over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }

        func decode(_ reader: inout BitReader) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1..<16 {
                code |= try reader.bits(1)
                let count = counts[len]
                if code - count < first { return symbols[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw InflateError(reason: "an invalid Huffman code")
        }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
                               3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    static func inflate(_ reader: inout BitReader, limit: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var last = 0
        repeat {
            last = try reader.bits(1)
            switch try reader.bits(2) {
            case 0:
                reader.alignToByte()
                let start = reader.position >> 3
                guard start + 4 <= reader.data.count else { throw InflateError(reason: "the stream ends inside a stored block's header") }
                let len = Int(reader.data[start]) | Int(reader.data[start + 1]) << 8
                let nlen = Int(reader.data[start + 2]) | Int(reader.data[start + 3]) << 8
                guard len == (~nlen & 0xffff) else { throw InflateError(reason: "a stored block's length check fails") }
                guard start + 4 + len <= reader.data.count else { throw InflateError(reason: "the stream ends inside a stored block") }
                guard out.count + len <= limit else { throw InflateError(reason: "the data decompresses to more than \(limit) bytes") }
                out.append(contentsOf: reader.data[(start + 4)..<(start + 4 + len)])
                reader.position = (start + 4 + len) * 8
            case 1:
                try codes(&reader, &out, fixedLiterals, fixedDistances, limit: limit)
            case 2:
                let (literals, distances) = try dynamicTables(&reader)
                try codes(&reader, &out, literals, distances, limit: limit)
            default:
                throw InflateError(reason: "a block of reserved type 3")
            }
        } while last == 0
        return out
    }

    static let fixedLiterals: Huffman = {
        var lengths = [Int](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        return try! Huffman(lengths: lengths)
    }()
    static let fixedDistances: Huffman = try! Huffman(lengths: [Int](repeating: 5, count: 30))

    static func dynamicTables(_ reader: inout BitReader) throws -> (Huffman, Huffman) {
        let nlen = try reader.bits(5) + 257, ndist = try reader.bits(5) + 1, ncode = try reader.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw InflateError(reason: "too many Huffman codes in a dynamic block") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { codeLengths[order[i]] = try reader.bits(3) }
        let lengthCode = try Huffman(lengths: codeLengths)
        var lengths: [Int] = []
        while lengths.count < nlen + ndist {
            let symbol = try lengthCode.decode(&reader)
            switch symbol {
            case 0..<16: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw InflateError(reason: "a repeat with no previous length") }
                lengths += [Int](repeating: previous, count: 3 + (try reader.bits(2)))
            case 17: lengths += [Int](repeating: 0, count: 3 + (try reader.bits(3)))
            default: lengths += [Int](repeating: 0, count: 11 + (try reader.bits(7)))
            }
        }
        guard lengths.count == nlen + ndist else { throw InflateError(reason: "code lengths overrun a dynamic block's table") }
        guard lengths[256] != 0 else { throw InflateError(reason: "a dynamic block without an end-of-block code") }
        return (try Huffman(lengths: Array(lengths[0..<nlen])), try Huffman(lengths: Array(lengths[nlen...])))
    }

    static func codes(_ reader: inout BitReader, _ out: inout [UInt8], _ literals: Huffman, _ distances: Huffman, limit: Int) throws {
        while true {
            let symbol = try literals.decode(&reader)
            if symbol < 256 {
                guard out.count < limit else { throw InflateError(reason: "the data decompresses to more than \(limit) bytes") }
                out.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let s = symbol - 257
                guard s < 29 else { throw InflateError(reason: "an invalid length code \(symbol)") }
                let length = lengthBase[s] + (try reader.bits(lengthExtra[s]))
                let d = try distances.decode(&reader)
                guard d < 30 else { throw InflateError(reason: "an invalid distance code \(d)") }
                let distance = distanceBase[d] + (try reader.bits(distanceExtra[d]))
                guard distance <= out.count else { throw InflateError(reason: "a distance reaches before the start of the data") }
                guard out.count + length <= limit else { throw InflateError(reason: "the data decompresses to more than \(limit) bytes") }
                let start = out.count - distance
                for k in 0..<length { out.append(out[start + k]) }
            }
        }
    }
}
