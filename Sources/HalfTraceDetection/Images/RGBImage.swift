import Foundation
import HalfTraceKernels

/// An 8-bit RGB image, row-major, three bytes per pixel.
public struct RGBImage: Sendable, Equatable {
    /// Pixels per row.
    public let width: Int
    /// Rows.
    public let height: Int
    /// width * height * 3 bytes: R, G, B of pixel (0, 0), then (1, 0), ...
    public var pixels: [UInt8]

    /// An image of the given size and pixels (exactly width * height * 3 bytes).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width) x \(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Images larger than this many pixels are refused before they are decoded (4096 x 4096).
    public static let maximumPixels = 1 << 24

    /// Reads a PNG (8- or 16-bit greyscale, RGB, palette, with or without alpha; not interlaced)
    /// or a binary or ASCII PPM (P6, P3) file. Alpha is dropped, as OpenCV's `imread` does for
    /// YOLOv5. Any other content, a truncated file or a failed checksum is an error naming the file.
    public static func read(_ path: String) throws -> RGBImage {
        guard let data = FileManager.default.contents(atPath: path) else { throw HalfTraceError.inaccessible(path, "cannot read the image") }
        guard data.count <= 64 << 20 else { throw HalfTraceError.file(path, "\(data.count) bytes; an image is read up to 64 MiB") }
        let bytes = [UInt8](data)
        do {
            if bytes.starts(with: PNG.signature) { return try PNG.decode(bytes) }
            if bytes.starts(with: [0x50, 0x36]) || bytes.starts(with: [0x50, 0x33]) { return try PPM.decode(bytes) }
        } catch let e as ImageFormatError {
            throw HalfTraceError.file(path, e.reason)
        } catch let e as InflateError {
            throw HalfTraceError.file(path, "the PNG image data cannot be decompressed: \(e.reason)")
        }
        throw HalfTraceError.file(path, "not a PNG or PPM image (the file starts with \(bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")))")
    }
}

/// What is wrong with an image file's content.
struct ImageFormatError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// PNG (ISO/IEC 15948): chunks with CRC-32, IHDR, PLTE, IDAT, IEND; the five scanline filters.
public enum PNG {
    /// The eight bytes every PNG starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    static func decode(_ bytes: [UInt8]) throws -> RGBImage {
        var offset = 8
        var header: (width: Int, height: Int, depth: Int, colour: Int)?
        var palette: [UInt8] = []
        var compressed: [UInt8] = []
        var ended = false
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        while !ended {
            guard offset + 12 <= bytes.count else { throw ImageFormatError("the PNG is truncated (no IEND chunk)") }
            let length = u32(offset)
            guard length <= bytes.count - offset - 12 else { throw ImageFormatError("the PNG is truncated inside a chunk") }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let body = Array(bytes[(offset + 8)..<(offset + 8 + length)])
            let crc = UInt32(u32(offset + 8 + length))
            guard crc == CRC32.checksum(bytes[(offset + 4)..<(offset + 8 + length)]) else {
                throw ImageFormatError("the PNG's \(type) chunk fails its CRC check")
            }
            switch type {
            case "IHDR":
                guard body.count == 13 else { throw ImageFormatError("the PNG's IHDR chunk has \(body.count) bytes") }
                let w = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
                let h = Int(body[4]) << 24 | Int(body[5]) << 16 | Int(body[6]) << 8 | Int(body[7])
                guard w > 0, h > 0, w * h <= RGBImage.maximumPixels else { throw ImageFormatError("the PNG is \(w) x \(h) pixels") }
                guard body[12] == 0 else { throw ImageFormatError("interlaced PNGs are not supported; save it without interlacing") }
                let depth = Int(body[8]), colour = Int(body[9])
                let allowed: [Int: [Int]] = [0: [8, 16], 2: [8, 16], 3: [8], 4: [8, 16], 6: [8, 16]]
                guard allowed[colour]?.contains(depth) == true else {
                    throw ImageFormatError("PNG colour type \(colour) with bit depth \(depth) is not supported; save it as 8-bit RGB")
                }
                header = (w, h, depth, colour)
            case "PLTE": palette = body
            case "IDAT": compressed += body
            case "IEND": ended = true
            default: break
            }
            offset += 12 + length
        }
        guard let h = header else { throw ImageFormatError("the PNG has no IHDR chunk") }
        let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][h.colour]!
        let bytesPerPixel = channels * h.depth / 8
        let stride = h.width * bytesPerPixel
        let raw = try Inflate.zlib(compressed, limit: (stride + 1) * h.height)
        guard raw.count == (stride + 1) * h.height else {
            throw ImageFormatError("the PNG's image data holds \(raw.count) bytes; \(h.width) x \(h.height) needs \((stride + 1) * h.height)")
        }
        var lines = [UInt8](repeating: 0, count: stride * h.height)
        for y in 0..<h.height {
            let filter = raw[y * (stride + 1)]
            guard filter <= 4 else { throw ImageFormatError("the PNG's row \(y) has filter type \(filter)") }
            for x in 0..<stride {
                let value = raw[y * (stride + 1) + 1 + x]
                let a = x >= bytesPerPixel ? Int(lines[y * stride + x - bytesPerPixel]) : 0
                let b = y > 0 ? Int(lines[(y - 1) * stride + x]) : 0
                let c = x >= bytesPerPixel && y > 0 ? Int(lines[(y - 1) * stride + x - bytesPerPixel]) : 0
                let predictor: Int
                switch filter {
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: predictor = 0
                }
                lines[y * stride + x] = value &+ UInt8(truncatingIfNeeded: predictor)
            }
        }
        var rgb = [UInt8](repeating: 0, count: h.width * h.height * 3)
        let step = h.depth / 8  // 16-bit samples: the high byte
        for p in 0..<(h.width * h.height) {
            let base = p * bytesPerPixel
            switch h.colour {
            case 0, 4:
                let g = lines[base]
                rgb[3 * p] = g; rgb[3 * p + 1] = g; rgb[3 * p + 2] = g
            case 3:
                let index = Int(lines[base])
                guard 3 * index + 2 < palette.count else { throw ImageFormatError("the PNG's pixel \(p) uses palette entry \(index) of \(palette.count / 3)") }
                rgb[3 * p] = palette[3 * index]; rgb[3 * p + 1] = palette[3 * index + 1]; rgb[3 * p + 2] = palette[3 * index + 2]
            default:
                rgb[3 * p] = lines[base]; rgb[3 * p + 1] = lines[base + step]; rgb[3 * p + 2] = lines[base + 2 * step]
            }
        }
        return RGBImage(width: h.width, height: h.height, pixels: rgb)
    }

    /// An 8-bit RGB PNG of `image`, its rows unfiltered in stored (uncompressed) deflate blocks:
    /// larger than a compressed PNG, readable by every decoder, and byte-identical on every run.
    public static func encode(_ image: RGBImage) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity((image.width * 3 + 1) * image.height)
        for y in 0..<image.height {
            raw.append(0)
            raw += image.pixels[(y * image.width * 3)..<((y + 1) * image.width * 3)]
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, raw.count - i)
            zlib.append(i + n == raw.count ? 1 : 0)
            zlib += [UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8((~n >> 8) & 0xff)]
            zlib += raw[i..<(i + n)]
            i += n
        } while i < raw.count
        let adler = Inflate.adler32(raw)
        zlib += [UInt8(adler >> 24), UInt8((adler >> 16) & 0xff), UInt8((adler >> 8) & 0xff), UInt8(adler & 0xff)]
        func be32(_ v: Int) -> [UInt8] { [UInt8((v >> 24) & 0xff), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return be32(body.count) + typed + be32(Int(CRC32.checksum(typed[...])))
        }
        return signature + chunk("IHDR", be32(image.width) + be32(image.height) + [8, 2, 0, 0, 0]) + chunk("IDAT", zlib) + chunk("IEND", [])
    }
}

/// Netpbm's PPM: binary (P6) or ASCII (P3), maxval up to 65535 (scaled to 8 bits), comments.
public enum PPM {
    static func decode(_ bytes: [UInt8]) throws -> RGBImage {
        var i = 2
        func token() throws -> Int {
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "#") {
                    while i < bytes.count && bytes[i] != 0x0a { i += 1 }
                } else if [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) {
                    i += 1
                } else { break }
            }
            var value = 0, digits = 0
            while i < bytes.count, (0x30...0x39).contains(bytes[i]) {
                value = value * 10 + Int(bytes[i] - 0x30)
                digits += 1
                i += 1
                guard value <= 1 << 24 else { throw ImageFormatError("a PPM header number is too large") }
            }
            guard digits > 0 else { throw ImageFormatError("the PPM header is truncated or malformed") }
            return value
        }
        let binary = bytes[1] == UInt8(ascii: "6")
        let w = try token(), h = try token(), maxval = try token()
        guard w > 0, h > 0, w * h <= RGBImage.maximumPixels else { throw ImageFormatError("the PPM is \(w) x \(h) pixels") }
        guard (1...65535).contains(maxval) else { throw ImageFormatError("the PPM's maxval \(maxval) is outside 1...65535") }
        let n = w * h * 3
        var samples = [Int](repeating: 0, count: n)
        if binary {
            i += 1  // the single whitespace after maxval
            let size = maxval < 256 ? 1 : 2
            guard i + n * size <= bytes.count else { throw ImageFormatError("the PPM is truncated: \(bytes.count - i) bytes of pixels, \(n * size) needed") }
            for k in 0..<n { samples[k] = size == 1 ? Int(bytes[i + k]) : Int(bytes[i + 2 * k]) << 8 | Int(bytes[i + 2 * k + 1]) }
        } else {
            for k in 0..<n { samples[k] = try token() }
        }
        for (k, s) in samples.enumerated() where s > maxval { throw ImageFormatError("PPM sample \(k) is \(s), above maxval \(maxval)") }
        return RGBImage(width: w, height: h, pixels: samples.map { UInt8(($0 * 255 + maxval / 2) / maxval) })
    }

    /// A binary PPM (P6, maxval 255) of `image`.
    public static func encode(_ image: RGBImage) -> [UInt8] {
        Array("P6\n\(image.width) \(image.height)\n255\n".utf8) + image.pixels
    }
}
