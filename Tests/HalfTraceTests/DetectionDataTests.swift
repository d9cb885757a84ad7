import Foundation
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceTestSupport
import Testing

/// The detector's data: the synthetic set, YOLO folders as real users have them, and YOLOv5's
/// augmentation.
@Suite("Detection data")
struct DetectionDataTests {
    static func small() -> DetectionData { SyntheticShapes.make(train: 12, validation: 4, size: 64, seed: 3) }

    /// Writes `data` into DIR/set and returns the error `YOLOFolder.load` gives after `damage`,
    /// with DIR removed from the message.
    static func loadError(_ data: DetectionData, _ name: String, size: Int = 64, _ damage: (String) throws -> Void) throws -> String? {
        try withTemporaryDirectory("yolo-\(name)") { dir in
            let root = dir + "/set"
            try YOLOFolder.write(data, to: root)
            try damage(root)
            do {
                _ = try YOLOFolder.load(root, imageSize: size)
                return nil
            } catch {
                return "\(error)".replacingOccurrences(of: root + "/", with: "")
            }
        }
    }

    @Test("the synthetic set is the same on every call, its first images do not depend on how many are drawn, labels are 1/128 multiples inside the image")
    func synthetic() {
        let a = SyntheticShapes.make(train: 20, validation: 5, seed: 1), b = SyntheticShapes.make(train: 20, validation: 5, seed: 1)
        #expect(a == b)
        let c = SyntheticShapes.make(train: 30, validation: 5, seed: 1)
        #expect(Array(c.train.samples.prefix(20)) == a.train.samples)
        #expect(SyntheticShapes.make(train: 20, validation: 5, seed: 2).train.samples != a.train.samples)
        for s in a.train.samples + a.validation.samples {
            #expect((1...4).contains(s.labels.count) || s.labels.isEmpty == false)
            for l in s.labels {
                #expect(l.x - l.w / 2 >= 0 && l.x + l.w / 2 <= 1 && l.y - l.h / 2 >= 0 && l.y + l.h / 2 <= 1, "\(s.name): \(l)")
                #expect((l.x * 128).rounded() == l.x * 128 && (l.w * 64).rounded() == l.w * 64, "\(s.name): \(l)")
                #expect(l.w * 64 >= 8 && l.w * 64 <= 32 && l.w == l.h)
            }
        }
    }

    @Test("a YOLO folder written by `data --out` reads back as the same images and labels, byte for byte")
    func roundTrip() throws {
        let data = Self.small()
        try withTemporaryDirectory("yolo-roundtrip") { dir in
            try YOLOFolder.write(data, to: dir + "/set")
            let read = try YOLOFolder.load(dir + "/set", imageSize: 64)
            #expect(read.train == data.train && read.validation == data.validation)
            #expect(read.notes.isEmpty, "\(read.notes)")
        }
    }

    @Test("labels as real writers write them (\\r\\n endings, a byte-order mark, blank lines, no final newline) read as their writers mean them")
    func realWorldLabels() throws {
        let data = Self.small()
        try withTemporaryDirectory("yolo-crlf") { dir in
            let root = dir + "/set"
            try YOLOFolder.write(data, to: root)
            let file = root + "/labels/train/train000.txt"
            let lines = data.train.samples[0].labels.map(\.line)
            try ("\u{FEFF}" + lines.joined(separator: "\r\n\r\n")).write(toFile: file, atomically: true, encoding: .utf8)
            try "\r\n".write(toFile: root + "/labels/train/train001.txt", atomically: true, encoding: .utf8)
            let read = try YOLOFolder.load(root, imageSize: 64)
            #expect(read.train.samples[0].labels == data.train.samples[0].labels)
            #expect(read.train.samples[1].labels.isEmpty)
            #expect(read.notes.contains { $0.contains("1 background images") }, "\(read.notes)")
        }
    }

    @Test("bad folders are refused naming the file and line, or counted and printed, never trapped on")
    func badFolders() throws {
        let data = Self.small()
        let cases: [(String, (String) throws -> Void, String?)] = [
            ("label out of [0, 1]", { try "0 1.25 0.5 0.1 0.1\n".write(toFile: $0 + "/labels/train/train002.txt", atomically: true, encoding: .utf8) },
             "labels/train/train002.txt:1: cx = 1.25 is outside [0, 1]"),
            ("class beyond nc", { try "0 0.5 0.5 0.1 0.1\n\n3 0.5 0.5 0.2 0.2\n".write(toFile: $0 + "/labels/train/train003.txt", atomically: true, encoding: .utf8) },
             "labels/train/train003.txt:3: class 3 exceeds nc=3"),
            ("four fields", { try "0 0.5 0.5 0.1\n".write(toFile: $0 + "/labels/val/val000.txt", atomically: true, encoding: .utf8) },
             "labels/val/val000.txt:1: 4 fields, expected 5"),
            ("a NaN", { try "0 nan 0.5 0.1 0.1\n".write(toFile: $0 + "/labels/val/val001.txt", atomically: true, encoding: .utf8) },
             "labels/val/val001.txt:1: 'nan' is not a number"),
            ("a truncated PNG", { path in
                let file = path + "/images/train/train004.png"
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: file))
            }, "images/train/train004.png: the PNG is truncated"),
            ("a JPEG among the images", { try Data([0xFF, 0xD8, 0xFF]).write(to: URL(fileURLWithPath: $0 + "/images/train/extra.jpg")) },
             "images/train/extra.jpg: a .jpg image: HalfTrace reads PNG and PPM images only"),
            ("an image of another size", { path in
                try Data(PNG.encode(RGBImage(width: 32, height: 64, pixels: [UInt8](repeating: 9, count: 32 * 64 * 3))))
                    .write(to: URL(fileURLWithPath: path + "/images/val/val002.png"))
            }, "images/val/val002.png: the image is 32 x 64 pixels; the detector trains on 64 x 64 images"),
            ("no data.yaml", { try FileManager.default.removeItem(atPath: $0 + "/data.yaml") }, "data.yaml: a YOLO dataset folder needs a data.yaml"),
            ("data.yaml without val", { try "train: images/train\nnc: 3\n".write(toFile: $0 + "/data.yaml", atomically: true, encoding: .utf8) },
             "data.yaml: val: missing"),
            ("names that disagree with nc", { try "train: images/train\nval: images/val\nnc: 2\nnames: [a, b, c]\n".write(toFile: $0 + "/data.yaml", atomically: true, encoding: .utf8) },
             "data.yaml: names: 3 names for nc=2"),
            ("not a PNG at all", { try Data("hello".utf8).write(to: URL(fileURLWithPath: $0 + "/images/train/train005.png")) },
             "images/train/train005.png: not a PNG or PPM image"),
        ]
        for (name, damage, expected) in cases {
            let message = try Self.loadError(data, name.replacingOccurrences(of: " ", with: "-"), damage)
            #expect(message != nil, "\(name): accepted")
            if let expected, let message { #expect(message.contains(expected), "\(name): \(message)") }
        }
        // Counted and printed, not refused: a label file without an image, duplicate label lines.
        try withTemporaryDirectory("yolo-notes") { dir in
            let root = dir + "/set"
            try YOLOFolder.write(data, to: root)
            try "0 0.5 0.5 0.1 0.1\n".write(toFile: root + "/labels/train/orphan.txt", atomically: true, encoding: .utf8)
            let line = data.train.samples[0].labels[0].line
            try (data.train.samples[0].labels.map(\.line) + [line]).joined(separator: "\n").write(toFile: root + "/labels/train/train000.txt", atomically: true, encoding: .utf8)
            let read = try YOLOFolder.load(root, imageSize: 64)
            #expect(read.notes.contains { $0.contains("1 label files have no image and are ignored (orphan.txt)") }, "\(read.notes)")
            #expect(read.notes.contains { $0.contains("1 duplicate labels removed") }, "\(read.notes)")
            #expect(Set(read.train.samples[0].labels.map(\.line)) == Set(data.train.samples[0].labels.map(\.line)))
        }
    }

    @Test("augmentation keeps labels inside the image and on the shapes they name (mosaic, scale, translation, flips; HSV off)")
    func augmentationFollowsPixels() {
        // Shapes of one flat colour per class on a black background: after augmentation every label's
        // centre pixel still has its class's colour.
        let colours: [[UInt8]] = [[250, 20, 20], [20, 250, 20], [20, 20, 250]]
        var rng = SplitMix64(seed: 9)
        let samples = (0..<8).map { k -> DetectionSample in
            var pixels = [UInt8](repeating: 0, count: 64 * 64 * 3)
            var labels: [BoxLabel] = []
            for j in 0..<2 {
                let cls = rng.nextIndex(below: 3), side = 16, x0 = 4 + 36 * j, y0 = 4 + rng.nextIndex(below: 40)
                for y in y0..<(y0 + side) { for x in x0..<(x0 + side) { for c in 0..<3 { pixels[(y * 64 + x) * 3 + c] = colours[cls][c] } } }
                labels.append(BoxLabel(classIndex: cls, x: Float(x0 + side / 2) / 64, y: Float(y0 + side / 2) / 64, w: 0.25, h: 0.25))
            }
            return DetectionSample(name: "s\(k)", image: RGBImage(width: 64, height: 64, pixels: pixels), labels: labels)
        }
        let set = DetectionDataset(samples: samples, classNames: ["r", "g", "b"])
        var hyp = AugmentationHyperparameters()
        (hyp.hsvH, hyp.hsvS, hyp.hsvV, hyp.flipud) = (0, 0, 0, 0.5)
        var checked = 0
        for k in 0..<200 {
            var r = SplitMix64.stream(seed: 4, index: UInt64(k))
            let (image, labels) = Augmentation.sample(set, index: k % 8, hyp: hyp, using: &r)
            #expect(image.width == 64 && image.height == 64)
            for l in labels {
                #expect(l.x - l.w / 2 >= -1e-6 && l.x + l.w / 2 <= 1 + 1e-6 && l.y - l.h / 2 >= -1e-6 && l.y + l.h / 2 <= 1 + 1e-6, "\(l)")
                let (px, py) = (Int(l.x * 64), Int(l.y * 64))
                let pixel = Array(image.pixels[((py * 64 + px) * 3)..<((py * 64 + px) * 3 + 3)])
                #expect(pixel == colours[l.classIndex], "sample \(k): label \(l) centre pixel \(pixel)")
                checked += 1
            }
        }
        #expect(checked > 200)
    }

    @Test("OpenCV's 8-bit HSV conversion round-trips every grey and keeps hue sectors (hue 0..179)")
    func hsv() {
        for v in 0...255 {
            let (h, s, value) = HSVProbe.fromRGB(UInt8(v), UInt8(v), UInt8(v))
            #expect(h == 0 && s == 0 && value == UInt8(v))
        }
        #expect(HSVProbe.fromRGB(255, 0, 0) == (0, 255, 255))
        #expect(HSVProbe.fromRGB(0, 255, 0) == (60, 255, 255))
        #expect(HSVProbe.fromRGB(0, 0, 255) == (120, 255, 255))
        var worst = 0
        for r in stride(from: 0, through: 255, by: 15) { for g in stride(from: 0, through: 255, by: 17) { for b in stride(from: 0, through: 255, by: 51) {
            let (h, s, v) = HSVProbe.fromRGB(UInt8(r), UInt8(g), UInt8(b))
            let back = HSVProbe.toRGB(h, s, v)
            worst = max(worst, abs(Int(back.0) - r), abs(Int(back.1) - g), abs(Int(back.2) - b))
        } } }
        #expect(worst <= 6, "8-bit HSV loses at most a few levels (2 degrees of hue): \(worst)")
    }
}

/// The HSV conversion, reached through the module's testable surface.
enum HSVProbe {
    static func fromRGB(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> (UInt8, UInt8, UInt8) { Augmentation.hsvFromRGB(r, g, b) }
    static func toRGB(_ h: UInt8, _ s: UInt8, _ v: UInt8) -> (UInt8, UInt8, UInt8) { Augmentation.rgbFromHSV(h, s, v) }
}

/// HalfTrace's PNG and PPM readers against files written by Pillow, pypng and by hand
/// (Fixtures/record_images.py); the expected pixels are the arrays the files were made from.
@Suite("PNG and PPM images against independent encoders")
struct ImageReaderTests {
    @Test("every valid file decodes to the pixels it was written from; refused files name what is wrong")
    func fixtures() throws {
        let entries = try Fixture.loadExact("images")["images"] as! [[String: Any]]
        #expect(entries.count == 28)
        var decoded = 0, refused = 0
        for e in entries {
            let name = e["file"] as! String
            let path = Fixture.directory.appendingPathComponent("images/" + name).path
            if let error = e["error"] as? String {
                let words = ["truncated": "truncated", "crc": "CRC", "bitdepth": "bit depth", "interlaced": "interlaced"]
                do {
                    _ = try RGBImage.read(path)
                    Issue.record("\(name): accepted, expected an error about \(error)")
                } catch {
                    #expect("\(error)".contains(words[e["error"] as! String]!), "\(name): \(error)")
                    #expect("\(error)".contains(name), "\(name): the error names the file: \(error)")
                }
                refused += 1
                continue
            }
            let image = try RGBImage.read(path)
            let (width, height) = (try Fixture.int(e["width"]), try Fixture.int(e["height"]))
            #expect(image.width == width && image.height == height, "\(name)")
            let expected = try (e["rgb"] as! [Any]).map { UInt8(try Fixture.int($0)) }
            #expect(image.pixels == expected, "\(name): first difference at byte \(zip(image.pixels, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
            decoded += 1
        }
        #expect(decoded == 22 && refused == 6)
    }

    @Test("HalfTrace's own PNG (stored deflate blocks) reads back byte for byte; every truncation of it is an error, never a trap")
    func ownPNGAndTruncations() throws {
        var rng = SplitMix64(seed: 5)
        let image = RGBImage(width: 40, height: 23, pixels: (0..<(40 * 23 * 3)).map { _ in UInt8(rng.nextIndex(below: 256)) })
        let bytes = PNG.encode(image)
        try withTemporaryDirectory("png-truncated") { dir in
            let path = dir + "/x.png"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(try RGBImage.read(path) == image)
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / BuildSize.pick(release: 400, debug: 60))) {
                try Data(bytes.prefix(cut)).write(to: URL(fileURLWithPath: path))
                #expect(throws: HalfTraceError.self, "cut at \(cut)") { try RGBImage.read(path) }
            }
            // A bit flipped anywhere after the signature: an error or (in a pixel byte of a stored
            // block) a different image, never a trap. The CRC catches every flip.
            for k in stride(from: 8, to: bytes.count, by: max(1, bytes.count / BuildSize.pick(release: 300, debug: 40))) {
                var damaged = bytes
                damaged[k] ^= 0x10
                try Data(damaged).write(to: URL(fileURLWithPath: path))
                #expect(throws: HalfTraceError.self, "flip at \(k)") { try RGBImage.read(path) }
            }
        }
        #expect(PPM.encode(image).count == "P6\n40 23\n255\n".utf8.count + 40 * 23 * 3)
    }
}
