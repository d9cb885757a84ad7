/// A column of a long log held in little memory: the distinct values once (as 64-bit patterns),
/// and per row a 16-bit index into them; past 65,536 distinct values, the patterns themselves.
/// A COCO-sized steps.csv (2.2 million iterations) has a few tens of thousands of distinct
/// learning rates per group (the warm-up's, then one per epoch), so a Double costs 2 bytes a row.
/// Rows live in chunks of 65,536, so appending never copies the column and never holds more
/// than one chunk of slack.
struct PackedColumn: Sendable {
    static let chunkBits = 16
    static let chunkSize = 1 << chunkBits

    private var values: [UInt64] = []
    private var lookup: [UInt64: UInt16] = [:]
    private var indices: [[UInt16]] = []
    /// The patterns themselves, once there are too many distinct values for 16-bit indices.
    private var raw: [[UInt64]]? = nil
    private var last: (bits: UInt64, index: UInt16)? = nil
    /// Rows held.
    private(set) var count = 0

    /// Appends one row's value (its bit pattern).
    mutating func append(_ bits: UInt64) {
        let newChunk = count & (Self.chunkSize - 1) == 0
        count += 1
        if raw == nil {
            let index: UInt16
            if let last, last.bits == bits {
                index = last.index
            } else if let known = lookup[bits] {
                index = known
            } else if values.count < 1 << 16 {
                index = UInt16(values.count)
                values.append(bits)
                lookup[bits] = index
            } else {
                spill()
                return append(raw: bits, newChunk: newChunk)
            }
            last = (bits, index)
            if newChunk { indices.append(Self.chunk()) }
            indices[indices.count - 1].append(index)
        } else {
            append(raw: bits, newChunk: newChunk)
        }
    }

    private mutating func append(raw bits: UInt64, newChunk: Bool) {
        if newChunk { raw!.append(Self.chunk()) }
        raw![raw!.count - 1].append(bits)
    }

    private static func chunk<T>() -> [T] {
        var c: [T] = []
        c.reserveCapacity(chunkSize)
        return c
    }

    /// Appends an Int.
    mutating func append(_ value: Int) { append(UInt64(UInt(bitPattern: value))) }

    /// Appends a Double.
    mutating func append(_ value: Double) { append(value.bitPattern) }

    /// From indices to the patterns themselves, chunk by chunk.
    private mutating func spill() {
        var chunks: [[UInt64]] = []
        for chunk in indices { chunks.append(chunk.map { values[Int($0)] }) }
        raw = chunks
        indices = []
        values = []
        lookup = [:]
        last = nil
    }

    /// The bit pattern of row `k`.
    @inline(__always)
    subscript(k: Int) -> UInt64 {
        let c = k >> Self.chunkBits, o = k & (Self.chunkSize - 1)
        if let raw { return raw[c][o] }
        return values[Int(indices[c][o])]
    }

    /// Row `k` as a Double.
    @inline(__always)
    func double(_ k: Int) -> Double { Double(bitPattern: self[k]) }

    /// Row `k` as an Int.
    @inline(__always)
    func int(_ k: Int) -> Int { Int(bitPattern: UInt(self[k])) }

    /// Distinct values held (0 once the column holds the patterns themselves).
    var distinct: Int { raw == nil ? values.count : 0 }
}
