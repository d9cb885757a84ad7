import Foundation
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTraining
import Yams

/// A training run directory written by YOLOv5 or Ultralytics, as `verify` reads it: the settings
/// the learning rate depends on, and the learning rates the run logged per epoch.
///
/// - YOLOv5 (`train.py` v7.0): `opt.yaml`, `hyp.yaml`, `results.csv` with columns `x/lr0`,
///   `x/lr1`, `x/lr2` (parameter groups 0 biases, 1 weights, 2 norm weights), 0-based epochs,
///   numbers printed with `%20.5g` (5 significant digits).
/// - Ultralytics (`engine/trainer.py`, 8.x): `args.yaml`, `results.csv` with `lr/pg0`, `lr/pg1`,
///   `lr/pg2` (groups weights, norm weights, biases), 1-based epochs, `%.6g` (6 digits).
public struct LoggedRun: Sendable {
    public enum Kind: String, Sendable, Codable {
        case yolov5
        case ultralytics
    }

    public struct Row: Sendable {
        /// 0-based epoch.
        public var epoch: Int
        /// The logged lr of each group, in column order.
        public var values: [Double]
        /// Line in results.csv (1-based).
        public var line: Int
    }

    public var kind: Kind
    public var directory: String
    public var epochs: Int
    public var batchSize: Int
    public var nominalBatchSize: Int
    public var hyp: ScheduleHyperparameters
    public var cosine: Bool
    /// The optimizer as the run names it (SGD, Adam, AdamW, auto, ...).
    public var optimizer: String
    /// The dataset configuration the run names (`data:`), as written.
    public var data: String?
    public var columns: [String]
    public var rows: [Row]
    /// Significant digits the values were printed with.
    public var digits: Int

    /// Reads DIR, recognising the kind from its files.
    public static func load(_ directory: String) throws -> LoggedRun {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HalfTraceError.inaccessible(directory, "not a directory")
        }
        let results = directory + "/results.csv"
        if fm.fileExists(atPath: directory + "/opt.yaml") {
            let opt = try yaml(directory + "/opt.yaml")
            var hypMap = opt["hyp"] as? [String: Any] ?? [:]
            if fm.fileExists(atPath: directory + "/hyp.yaml") { hypMap = try yaml(directory + "/hyp.yaml") }
            var run = LoggedRun(kind: .yolov5, directory: directory, epochs: try int(opt, "epochs", directory + "/opt.yaml"),
                                batchSize: try int(opt, "batch_size", directory + "/opt.yaml"), nominalBatchSize: 64,
                                hyp: try hyperparameters(hypMap, fm.fileExists(atPath: directory + "/hyp.yaml") ? directory + "/hyp.yaml" : directory + "/opt.yaml"),
                                cosine: opt["cos_lr"] as? Bool ?? false, optimizer: opt["optimizer"] as? String ?? "SGD",
                                data: opt["data"] as? String, columns: ["x/lr0", "x/lr1", "x/lr2"], rows: [], digits: 5)
            run.rows = try readResults(results, columns: run.columns, epochColumn: "epoch", firstEpoch: 0)
            return run
        }
        if fm.fileExists(atPath: directory + "/args.yaml") {
            let path = directory + "/args.yaml"
            let args = try yaml(path)
            var run = LoggedRun(kind: .ultralytics, directory: directory, epochs: try int(args, "epochs", path),
                                batchSize: try int(args, "batch", path), nominalBatchSize: (try? int(args, "nbs", path)) ?? 64,
                                hyp: try hyperparameters(args, path), cosine: args["cos_lr"] as? Bool ?? false,
                                optimizer: args["optimizer"] as? String ?? "auto", data: args["data"] as? String,
                                columns: ["lr/pg0", "lr/pg1", "lr/pg2"], rows: [], digits: 6)
            if args["time"] != nil && !(args["time"] is NSNull) && (args["time"] as? Double ?? 0) > 0 {
                throw HalfTraceError.file(path, field: "time", "a time-limited run re-plans its epochs while it trains; its schedule cannot be predicted from args.yaml")
            }
            run.rows = try readResults(results, columns: run.columns, epochColumn: "epoch", firstEpoch: 1)
            return run
        }
        throw HalfTraceError.file(directory, "neither a YOLOv5 run (opt.yaml, hyp.yaml, results.csv) nor an Ultralytics run (args.yaml, results.csv)")
    }

    /// A YAML mapping, with the file named in every error.
    static func yaml(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { throw HalfTraceError.inaccessible(path, "cannot read") }
        guard data.count <= 1 << 20 else { throw HalfTraceError.file(path, "\(data.count) bytes; a run's settings file is at most 1 MB") }
        let text = try TextFile.utf8(data, name: path)
        try HypFile.rejectAnchorsAndAliases(text, name: path, what: "a run's settings file")
        let object: Any?
        do { object = try Yams.load(yaml: text) } catch { throw HalfTraceError.file(path, "not valid YAML: \(String("\(error)".prefix(200)))") }
        guard let mapping = object as? [String: Any] else { throw HalfTraceError.file(path, "expected a mapping of settings") }
        return mapping
    }

    static func int(_ map: [String: Any], _ key: String, _ path: String) throws -> Int {
        guard let v = map[key] as? Int else {
            throw HalfTraceError.file(path, field: key, map[key] == nil ? "missing" : "'\(map[key]!)' is not an integer")
        }
        guard (1...1_000_000).contains(v) else { throw HalfTraceError.file(path, field: key, "\(v) is outside 1...1000000") }
        return v
    }

    static func hyperparameters(_ map: [String: Any], _ path: String) throws -> ScheduleHyperparameters {
        var h = ScheduleHyperparameters()
        for key in ScheduleHyperparameters.keys {
            guard let raw = map[key.name] else { throw HalfTraceError.file(path, field: key.name, "missing") }
            guard let v = (raw as? Double) ?? (raw as? Int).map(Double.init) else {
                throw HalfTraceError.file(path, field: key.name, "'\(raw)' is not a number")
            }
            do { try HalfTraceError.check(key.name, v, in: key.valid) } catch let e as HalfTraceError { throw e.inFile(path) }
            h[keyPath: key.keyPath] = v
        }
        return h
    }

    /// The lr columns of results.csv (cells trimmed: YOLOv5 pads them to 20 characters).
    static func readResults(_ path: String, columns: [String], epochColumn: String, firstEpoch: Int) throws -> [Row] {
        guard let data = FileManager.default.contents(atPath: path) else { throw HalfTraceError.inaccessible(path, "cannot read") }
        guard data.count <= 64 << 20 else { throw HalfTraceError.file(path, "\(data.count) bytes; at most 64 MB are read") }
        let lines = try TextFile.utf8(data, name: path).split(separator: "\n", omittingEmptySubsequences: false)
        func cells(_ line: Substring) -> [String] {
            line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        guard let headerLine = lines.first, !headerLine.isEmpty else { throw HalfTraceError.file(path, line: 1, "no header row") }
        let header = cells(headerLine)
        guard let e = header.firstIndex(of: epochColumn) else { throw HalfTraceError.file(path, line: 1, field: epochColumn, "column missing") }
        let indices = try columns.map { name -> Int in
            guard let i = header.firstIndex(of: name) else {
                throw HalfTraceError.file(path, line: 1, field: name, "column missing (the header has \(header.joined(separator: ",").prefix(200)))")
            }
            return i
        }
        var rows: [Row] = []
        for (k, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let c = cells(line)
            guard c.count == header.count else { throw HalfTraceError.file(path, line: k + 1, "\(c.count) fields, the header has \(header.count)") }
            guard let epoch = Int(c[e]), (firstEpoch...(1_000_000 + firstEpoch)).contains(epoch) else {
                throw HalfTraceError.file(path, line: k + 1, field: epochColumn, "'\(c[e].prefix(40))' is not an epoch")
            }
            let values = try indices.map { i -> Double in
                guard let v = Double(c[i]), v.isFinite else {
                    throw HalfTraceError.file(path, line: k + 1, field: header[i], "'\(c[i].prefix(40))' is not a finite number")
                }
                return v
            }
            rows.append(Row(epoch: epoch - firstEpoch, values: values, line: k + 1))
        }
        guard !rows.isEmpty else { throw HalfTraceError.file(path, "no rows") }
        return rows
    }
}

/// The training set a run names, read far enough to count its images.
public enum RunDataset {
    static let imageSuffixes: Set<String> = ["bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"]

    /// The number of training images and classes of the dataset `data` names, found as written,
    /// or relative to the run directory and its parents; inside the dataset file, `path` as
    /// written or else the file's own directory. nil when it cannot be read.
    public static func count(_ data: String, runDirectory: String) -> (images: Int, classes: Int?, file: String)? {
        let fm = FileManager.default
        var candidates = [data]
        var dir = URL(fileURLWithPath: runDirectory)
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent(data).path)
            dir.deleteLastPathComponent()
        }
        guard let file = candidates.first(where: { fm.fileExists(atPath: $0) && !$0.isEmpty }),
              let map = try? LoggedRun.yaml(file) else { return nil }
        let own = URL(fileURLWithPath: file).deletingLastPathComponent().path
        let roots = [(map["path"] as? String).map { $0.hasPrefix("/") ? $0 : own + "/" + $0 }, own].compactMap { $0 }
        let trains: [String] = (map["train"] as? [String]) ?? [(map["train"] as? String)].compactMap { $0 }
        guard !trains.isEmpty else { return nil }
        let classes = (map["nc"] as? Int) ?? (map["names"] as? [Any])?.count ?? (map["names"] as? [AnyHashable: Any])?.count
        for root in roots {
            var total = 0, found = true
            for train in trains {
                let path = train.hasPrefix("/") ? train : root + "/" + train
                if let n = images(at: path) { total += n } else { found = false; break }
            }
            if found { return (total, classes, file) }
        }
        return nil
    }

    /// Images in a directory (recursively), or the lines of an image-list file.
    static func images(at path: String) -> Int? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        }
        guard let walker = FileManager.default.enumerator(atPath: path) else { return nil }
        var n = 0
        for case let name as String in walker where imageSuffixes.contains((name as NSString).pathExtension.lowercased()) { n += 1 }
        return n
    }
}
