import Foundation
import HalfTraceKernels

/// A YOLO-format label set: image sizes from an images.csv (image,width,height) and one
/// `<image>.txt` per image in a labels directory, a box per line as `class cx cy w h`,
/// normalised to [0, 1]. Label values are kept as Float32, as YOLOv5 loads them.
public struct YOLODataset: Sendable {
    public struct Image: Sendable, Equatable {
        public var name: String
        public var width: Double
        public var height: Double
        /// (w, h) of each box, normalised.
        public var boxes: [(w: Float, h: Float)]

        /// An image of `width` x `height` pixels with the normalised sizes of its boxes.
        public init(name: String, width: Double, height: Double, boxes: [(w: Float, h: Float)]) {
            self.name = name
            self.width = width
            self.height = height
            self.boxes = boxes
        }

        public static func == (a: Image, b: Image) -> Bool {
            a.name == b.name && a.width == b.width && a.height == b.height
                && a.boxes.map(\.w) == b.boxes.map(\.w) && a.boxes.map(\.h) == b.boxes.map(\.h)
        }
    }

    public var images: [Image]
    /// Things YOLOv5 would also only warn about (duplicate boxes removed, images without labels).
    public var warnings: [String]

    public var labelCount: Int { images.reduce(0) { $0 + $1.boxes.count } }

    public init(images: [Image], warnings: [String] = []) {
        self.images = images
        self.warnings = warnings
    }

    /// The example set bundled with HalfTrace (Resources/boxes).
    public static var bundled: (labels: String, images: String)? {
        guard let root = Bundle.module.url(forResource: "boxes", withExtension: nil) else { return nil }
        return (root.appendingPathComponent("labels").path, root.appendingPathComponent("images.csv").path)
    }

    /// Reads and validates a label set. Errors name file:line and what is wrong; duplicate boxes
    /// are removed with a warning, and images without a label file count as background, as in
    /// YOLOv5's `verify_image_label`.
    public static func load(labels directory: String, images csv: String) throws -> YOLODataset {
        try checkSize(csv, limit: 16 << 20)
        guard let text = try? String(contentsOfFile: csv, encoding: .utf8) else {
            throw HalfTraceError.inaccessible(csv, "cannot read the images file")
        }
        var sizes: [String: (Double, Double)] = [:], order: [String] = []
        for (k, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if k == 0 && fields.first == "image" { continue }
            guard fields.count == 3 else {
                throw HalfTraceError.file(csv, line: k + 1, "\(fields.count) fields, expected 3 (image,width,height)")
            }
            guard let w = Double(fields[1]), let h = Double(fields[2]), (1...1_000_000).contains(w), (1...1_000_000).contains(h) else {
                throw HalfTraceError.file(csv, line: k + 1, "width and height must be numbers of pixels in 1...1000000, got '\(fields[1].prefix(40))', '\(fields[2].prefix(40))'")
            }
            guard sizes[fields[0]] == nil else { throw HalfTraceError.file(csv, line: k + 1, "image '\(fields[0])' is listed twice") }
            sizes[fields[0]] = (w, h)
            order.append(fields[0])
        }
        guard !order.isEmpty else { throw HalfTraceError.file(csv, "no images listed") }
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw HalfTraceError.inaccessible(directory, "cannot read the labels directory")
        }
        var boxes: [String: [(Float, Float)]] = [:], warnings: [String] = []
        for file in files.sorted() where file.hasSuffix(".txt") {
            let name = String(file.dropLast(4)), path = directory + "/" + file
            guard sizes[name] != nil else {
                throw HalfTraceError.file(path, "no row for image '\(name)' in \(csv)")
            }
            try checkSize(path, limit: 4 << 20)
            guard let content = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw HalfTraceError.inaccessible(path, "cannot read the label file")
            }
            let (rows, duplicates) = try YOLOLabels.parse(content, path: path)
            let list = rows.map { ($0[3], $0[4]) }
            if duplicates > 0 { warnings.append("\(path): \(duplicates) duplicate labels removed (as YOLOv5)") }
            boxes[name] = list
        }
        let background = order.filter { boxes[$0] == nil }.count
        if background > 0 { warnings.append("\(background) images have no label file (background images, as YOLOv5)") }
        let images = order.map { name in
            Image(name: name, width: sizes[name]!.0, height: sizes[name]!.1, boxes: (boxes[name] ?? []).map { (w: $0.0, h: $0.1) })
        }
        let dataset = YOLODataset(images: images, warnings: warnings)
        guard dataset.labelCount > 0 else { throw HalfTraceError.file(directory, "the dataset has no labels") }
        return dataset
    }

    /// Refuses a file larger than `limit` bytes before it is read.
    static func checkSize(_ path: String, limit: Int) throws {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
            throw HalfTraceError.file(path, "\(size) bytes; at most \(limit) are read")
        }
    }
}
