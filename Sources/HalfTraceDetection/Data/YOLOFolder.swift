import Foundation
import HalfTraceAnchors
import HalfTraceKernels
import Yams

/// A YOLO-format dataset folder as YOLOv5 reads one (`utils/dataloaders.py`, v7.0), and the
/// writer of HalfTrace's own sets in that form.
///
/// The folder holds `data.yaml` (`path`, `train`, `val`, `nc`, `names`) and, for each split, an
/// images directory of PNG or PPM files with a label file per image found by YOLOv5's rule: the
/// last `/images/` of the image's path replaced by `/labels/` and the extension by `.txt`.
///
/// What the reader accepts and refuses, each refusal naming the file (and line):
/// - a label line as `YOLOLabels` checks it (five numbers, a non-negative integer class,
///   coordinates in [0, 1]); a class of nc or more is an error, as train.py's assertion;
/// - an image without a label file, or with an empty one, is a background image (counted in
///   `notes`, as YOLOv5 counts them); duplicate label lines are removed (counted);
/// - a label file without an image is ignored, as YOLOv5 never looks for it (counted);
/// - every image must be `imageSize` x `imageSize` (HalfTrace does not letterbox) and a PNG
///   (8- or 16-bit, not interlaced) or PPM that decodes completely; any other image file in the
///   directory (a JPEG, say) is an error rather than a silent omission.
public enum YOLOFolder {
    /// The file extensions read as images.
    public static let imageExtensions: Set<String> = ["png", "ppm"]
    /// Extensions YOLOv5 reads that HalfTrace cannot decode; finding one is an error.
    static let unsupportedImageExtensions: Set<String> = ["jpg", "jpeg", "bmp", "tif", "tiff", "webp", "dng", "mpo", "pfm"]

    /// Reads the dataset described by `DIR/data.yaml` (or a data.yaml path), with every image
    /// `imageSize` pixels square.
    public static func load(_ path: String, imageSize: Int) throws -> DetectionData {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw HalfTraceError.inaccessible(path, "no such dataset folder or data.yaml")
        }
        let yamlPath = isDirectory.boolValue ? (path as NSString).appendingPathComponent("data.yaml") : path
        guard FileManager.default.fileExists(atPath: yamlPath) else {
            throw HalfTraceError.inaccessible(yamlPath, "a YOLO dataset folder needs a data.yaml (path, train, val, nc, names)")
        }
        let spec = try DataYAML.read(yamlPath)
        var notes: [String] = []
        let train = try split(spec.train, spec: spec, imageSize: imageSize, notes: &notes)
        let validation = try split(spec.val, spec: spec, imageSize: imageSize, notes: &notes)
        return DetectionData(train: train, validation: validation, source: yamlPath, notes: notes)
    }

    static func split(_ directory: String, spec: DataYAML, imageSize: Int, notes: inout [String]) throws -> DetectionDataset {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw HalfTraceError.inaccessible(directory, "cannot read the images directory (data.yaml's train or val)")
        }
        let labelDirectory = labelPath(for: directory)
        var samples: [DetectionSample] = []
        var background = 0, duplicates = 0
        for file in files.sorted() {
            let ext = (file as NSString).pathExtension.lowercased()
            let imagePath = (directory as NSString).appendingPathComponent(file)
            if unsupportedImageExtensions.contains(ext) {
                throw HalfTraceError.file(imagePath, "a .\(ext) image: HalfTrace reads PNG and PPM images only (convert it, e.g. with PIL's Image.save('x.png'))")
            }
            guard imageExtensions.contains(ext) else { continue }
            let image = try RGBImage.read(imagePath)
            guard image.width == imageSize && image.height == imageSize else {
                throw HalfTraceError.file(imagePath, "the image is \(image.width) x \(image.height) pixels; the detector trains on \(imageSize) x \(imageSize) images (--imgsz) and does not resize")
            }
            let name = (file as NSString).deletingPathExtension
            let labelFile = (labelDirectory as NSString).appendingPathComponent(name + ".txt")
            var labels: [BoxLabel] = []
            if FileManager.default.fileExists(atPath: labelFile) {
                try checkSize(labelFile)
                guard let text = try? String(contentsOfFile: labelFile, encoding: .utf8) else {
                    throw HalfTraceError.inaccessible(labelFile, "cannot read the label file as UTF-8 text")
                }
                let (rows, removed) = try YOLOLabels.parse(text, path: labelFile)
                duplicates += removed
                for (k, r) in rows.enumerated() where Int(r[0]) >= spec.names.count {
                    throw HalfTraceError.file(labelFile, line: removed > 0 ? nil : lineNumber(of: k, in: text),
                                              "class \(Int(r[0])) exceeds nc=\(spec.names.count) in \(spec.path); possible classes are 0-\(spec.names.count - 1)")
                }
                labels = rows.map { BoxLabel(classIndex: Int($0[0]), x: $0[1], y: $0[2], w: $0[3], h: $0[4]) }
            }
            if labels.isEmpty { background += 1 }
            samples.append(DetectionSample(name: name, image: image, labels: labels))
        }
        guard !samples.isEmpty else { throw HalfTraceError.file(directory, "no PNG or PPM images") }
        let imageNames = Set(samples.map(\.name))
        let orphans = ((try? FileManager.default.contentsOfDirectory(atPath: labelDirectory)) ?? [])
            .filter { $0.hasSuffix(".txt") && !imageNames.contains(String($0.dropLast(4))) }.sorted()
        if background > 0 { notes.append("\(directory): \(background) background images (no labels), kept as YOLOv5 keeps them") }
        if duplicates > 0 { notes.append("\(labelDirectory): \(duplicates) duplicate labels removed, as YOLOv5 removes them") }
        if !orphans.isEmpty {
            notes.append("\(labelDirectory): \(orphans.count) label files have no image and are ignored (\(orphans.prefix(3).joined(separator: ", "))\(orphans.count > 3 ? ", ..." : ""))")
        }
        return DetectionDataset(samples: samples, classNames: spec.names)
    }

    /// YOLOv5's `img2label_paths` for a directory: the last `/images/` (or a trailing `/images`)
    /// becomes `/labels/`.
    static func labelPath(for directory: String) -> String {
        let standardized = (directory as NSString).standardizingPath + "/"
        guard let range = standardized.range(of: "/images/", options: .backwards) else {
            return (directory as NSString).appendingPathComponent("../labels")
        }
        return String(standardized.replacingCharacters(in: range, with: "/labels/").dropLast())
    }

    static func lineNumber(of row: Int, in text: String) -> Int? {
        var seen = -1
        for (k, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        where !line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{FEFF}" }).isEmpty {
            seen += 1
            if seen == row { return k + 1 }
        }
        return nil
    }

    static func checkSize(_ path: String) throws {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 4 << 20 {
            throw HalfTraceError.file(path, "\(size) bytes; a label file is read up to 4 MiB")
        }
    }

    /// Writes `data` as a YOLO dataset folder: images/{train,val}/NAME.png, labels/{train,val}/NAME.txt
    /// and data.yaml with an absolute `path` (YOLOv5 resolves a relative one against its own install).
    /// Files are written whole and renamed into place (`AtomicFile`).
    public static func write(_ data: DetectionData, to directory: String) throws {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        for (split, set) in [("train", data.train), ("val", data.validation)] {
            for sub in ["images", "labels"] {
                try FileManager.default.createDirectory(atPath: "\(root)/\(sub)/\(split)", withIntermediateDirectories: true)
            }
            for s in set.samples {
                try AtomicFile.write(Data(PNG.encode(s.image)), to: "\(root)/images/\(split)/\(s.name).png")
                try AtomicFile.write(Data(s.labels.map { $0.line + "\n" }.joined().utf8), to: "\(root)/labels/\(split)/\(s.name).txt")
            }
        }
        let yaml = "# \(data.source)\npath: \(root)\ntrain: images/train\nval: images/val\nnc: \(data.train.classes)\nnames: [\(data.train.classNames.joined(separator: ", "))]\n"
        try AtomicFile.write(Data(yaml.utf8), to: "\(root)/data.yaml")
    }
}

/// The keys of a YOLOv5 data.yaml that the detector reads.
struct DataYAML {
    let path: String
    let train: String
    let val: String
    let names: [String]

    static func read(_ file: String) throws -> DataYAML {
        guard let data = FileManager.default.contents(atPath: file), data.count <= 1 << 20 else {
            throw HalfTraceError.inaccessible(file, "cannot read data.yaml (or it is larger than 1 MiB)")
        }
        let text = try TextFile.utf8(data, name: file)
        try TextFile.rejectYAMLAnchorsAndAliases(text, name: file, what: "data.yaml")
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw HalfTraceError.file(file, "not valid YAML: \(String("\(error)".prefix(200)))") }
        guard let mapping = node?.mapping else { throw HalfTraceError.file(file, "expected a mapping (path, train, val, nc, names)") }
        func string(_ key: String) -> String? { mapping[key]?.scalar?.string }
        let base = (file as NSString).deletingLastPathComponent
        let root: String
        if let p = string("path"), !p.isEmpty { root = (p as NSString).isAbsolutePath ? p : (base as NSString).appendingPathComponent(p) } else { root = base }
        func directory(_ key: String) throws -> String {
            guard let value = string(key), !value.isEmpty else {
                throw HalfTraceError.file(file, field: key, "missing: a directory of images (HalfTrace reads one directory per split, not a list)")
            }
            return (value as NSString).isAbsolutePath ? value : (root as NSString).appendingPathComponent(value)
        }
        var names: [String] = []
        if let list = mapping["names"]?.sequence {
            names = list.compactMap { $0.scalar?.string }
        } else if let dict = mapping["names"]?.mapping {
            let pairs = try dict.map { k, v -> (Int, String) in
                guard let i = Int(k.scalar?.string ?? ""), let n = v.scalar?.string else {
                    throw HalfTraceError.file(file, field: "names", "a names mapping must map class numbers to names")
                }
                return (i, n)
            }.sorted { $0.0 < $1.0 }
            guard pairs.map(\.0) == Array(0..<pairs.count) else { throw HalfTraceError.file(file, field: "names", "class numbers must run 0, 1, 2, ...") }
            names = pairs.map(\.1)
        }
        if let ncText = string("nc") {
            guard let nc = Int(ncText), (1...1000).contains(nc) else { throw HalfTraceError.file(file, field: "nc", "'\(ncText.prefix(20))' is not a class count in 1...1000") }
            if names.isEmpty { names = (0..<nc).map { "class\($0)" } }
            guard names.count == nc else { throw HalfTraceError.file(file, field: "names", "\(names.count) names for nc=\(nc)") }
        }
        guard (1...1000).contains(names.count) else { throw HalfTraceError.file(file, field: "names", "expected 1...1000 class names (or nc)") }
        return DataYAML(path: file, train: try directory("train"), val: try directory("val"), names: names)
    }
}
