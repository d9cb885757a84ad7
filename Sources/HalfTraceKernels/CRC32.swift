/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): detects every single-bit error and
/// every burst up to 32 bits, which is what a checkpoint checksum and a PNG chunk check have to catch.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32 of `bytes`, as zlib's `crc32` computes it (initial value and final XOR 0xFFFFFFFF).
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
