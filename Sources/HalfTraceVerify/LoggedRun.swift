import Foundation
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTraining
import Yams

/// A training run directory written by YOLOv5 or Ultralytics, as `verify` reads it: the settings
/// the schedule depends on, the learning rates results.csv logged per epoch, and, when present,
/// the per-iteration log steps.csv (`Tools/halftrace_steps.py`).
///
/// - YOLOv5 (`train.py`): `opt.yaml`, `hyp.yaml` (6.1.7+ also the `hyp` mapping inside opt.yaml),
///   results.csv with `x/lr0..2`, 0-based epochs, `%20.5g`.
/// - Ultralytics (`engine/trainer.py`): `args.yaml`, results.csv with `lr/pg0..` (3 groups, 8 for
///   MuSGD), padded `%23.5g` (8.0.0-8.3.8) or `epoch,time,...` with `%.6g` (8.3.9+).
public struct LoggedRun: Sendable {
    /// YOLOv5 or Ultralytics, from the settings file the directory holds.
    public var package: ReleaseRules.Package
    /// The run directory as given.
    public var directory: String
    /// opt.yaml or args.yaml.
    public var settingsFile: String
    /// The settings file's keys, in file order (they differ between releases).
    public var settingsKeys: [String]
    /// `epochs` of the settings file.
    public var epochs: Int
    /// `batch_size` (YOLOv5) or `batch` (Ultralytics).
    public var batchSize: Int
    /// `nbs` (Ultralytics; YOLOv5 hard-codes 64).
    public var nominalBatchSize: Int
    /// lr0, lrf, momentum, weight decay and the warm-up settings.
    public var hyp: ScheduleHyperparameters
    /// The one-cycle (cosine) schedule rather than the linear one (`cos_lr`; YOLOv5 6.0: not `linear_lr`).
    public var cosine: Bool
    /// The optimizer as the run names it (SGD, Adam, AdamW, auto, MuSGD, ...).
    public var optimizer: String
    /// The dataset configuration the run names (`data:`), as written.
    public var data: String?
    /// results.csv.
    public var results: ResultsLog
    /// steps.csv, when the run has one.
    public var steps: StepsLog?
    /// The release that wrote the run, when a file says so (steps.csv's header, a checkpoint).
    public var version: (ReleaseVersion, source: String)?
    /// Why the settings file says the run was resumed (nil: it does not): YOLOv5's `resume:
    /// true`, Ultralytics' `resume: <path>` (8.1.x+) or a `model:` that is the run's own
    /// `weights/last.pt` (earlier releases keep `resume: false`).
    public var resumedBySettings: String? = nil

    /// Reads DIR, recognising the package from its files; `steps` is steps.csv elsewhere (default:
    /// DIR/steps.csv when it exists; `readSteps: false` ignores it).
    public static func load(_ directory: String, steps stepsPath: String? = nil, readSteps: Bool = true) throws -> LoggedRun {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HalfTraceError.inaccessible(directory, "not a directory")
        }
        var run: LoggedRun
        if fm.fileExists(atPath: directory + "/opt.yaml") {
            run = try yolov5(directory)
        } else if fm.fileExists(atPath: directory + "/args.yaml") {
            run = try ultralytics(directory)
        } else {
            throw HalfTraceError.file(directory, "neither a YOLOv5 run (opt.yaml, hyp.yaml, results.csv) nor an Ultralytics run (args.yaml, results.csv)")
        }
        let stepsFile = stepsPath ?? (readSteps && fm.fileExists(atPath: directory + "/steps.csv") ? directory + "/steps.csv" : nil)
        if let stepsFile {
            run.steps = try StepsLog.load(stepsFile)
            if let v = run.steps?.version, v.package == run.package { run.version = (v.version, "\(stepsFile) header") }
        }
        if run.version == nil {
            for name in ["weights/last.pt", "weights/best.pt"] where fm.fileExists(atPath: directory + "/" + name) {
                if let v = CheckpointVersion.read(directory + "/" + name) { run.version = (v, directory + "/" + name); break }
            }
        }
        return run
    }

    static func yolov5(_ directory: String) throws -> LoggedRun {
        let path = directory + "/opt.yaml"
        let (opt, keys) = try yaml(path)
        let hypPath = directory + "/hyp.yaml"
        let hasHypFile = FileManager.default.fileExists(atPath: hypPath)
        let hypMap = hasHypFile ? try yaml(hypPath).map : (opt["hyp"] as? [String: Any] ?? [:])
        // 6.0.x: `--adam` and `--linear-lr` (cosine by default); 6.1.0+: `--optimizer` and `--cos-lr`.
        let adam = try bool(opt, "adam", path) == true
        let optimizer = (opt["optimizer"] as? String) ?? (adam ? "Adam" : "SGD")
        let linear = try bool(opt, "linear_lr", path)
        let cosine = try bool(opt, "cos_lr", path) ?? linear.map { !$0 } ?? false
        let results = try ResultsLog.load(directory + "/results.csv", lrPrefix: "x/lr")
        var run = LoggedRun(package: .yolov5, directory: directory, settingsFile: path, settingsKeys: keys,
                            epochs: try int(opt, "epochs", path), batchSize: try int(opt, "batch_size", path), nominalBatchSize: 64,
                            hyp: try hyperparameters(hypMap, hasHypFile ? hypPath : path), cosine: cosine, optimizer: optimizer,
                            data: opt["data"] as? String, results: results, steps: nil, version: nil)
        if let resume = opt["resume"], (resume as? Bool) == true || !((resume as? String) ?? "").isEmpty {
            run.resumedBySettings = "opt.yaml has resume: \(resume)"
        }
        return run
    }

    static func ultralytics(_ directory: String) throws -> LoggedRun {
        let path = directory + "/args.yaml"
        let (args, keys) = try yaml(path)
        if let time = args["time"], !(time is NSNull), (time as? Double ?? Double(time as? Int ?? 0)) > 0 {
            throw HalfTraceError.file(path, field: "time", "a time-limited run re-plans its epochs while it trains; its schedule cannot be predicted from args.yaml")
        }
        let results = try ResultsLog.load(directory + "/results.csv", lrPrefix: "lr/pg")
        var run = LoggedRun(package: .ultralytics, directory: directory, settingsFile: path, settingsKeys: keys,
                            epochs: try int(args, "epochs", path), batchSize: try int(args, "batch", path),
                            nominalBatchSize: args["nbs"] == nil ? 64 : try int(args, "nbs", path),
                            hyp: try hyperparameters(args, path), cosine: try bool(args, "cos_lr", path) ?? false,
                            optimizer: args["optimizer"] as? String ?? "SGD", data: args["data"] as? String,
                            results: results, steps: nil, version: nil)
        if let resume = args["resume"] as? String, !resume.isEmpty {
            run.resumedBySettings = "args.yaml has resume: \(resume)"
        } else if let model = args["model"] as? String, let saveDir = args["save_dir"] as? String,
                  (model as NSString).standardizingPath == ((saveDir as NSString).appendingPathComponent("weights/last.pt") as NSString).standardizingPath {
            run.resumedBySettings = "args.yaml's model is the run's own weights/last.pt"
        }
        return run
    }

    /// A YAML mapping and its keys in file order, with the file named in every error.
    static func yaml(_ path: String) throws -> (map: [String: Any], keys: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw HalfTraceError.inaccessible(path, "cannot read") }
        guard data.count <= 1 << 20 else { throw HalfTraceError.file(path, "\(data.count) bytes; a run's settings file is at most 1 MB") }
        let text = try TextFile.utf8(data, name: path)
        try TextFile.rejectYAMLAnchorsAndAliases(text, name: path, what: "a run's settings file")
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw HalfTraceError.file(path, "not valid YAML: \(String("\(error)".prefix(200)))") }
        guard let mapping = node?.mapping else { throw HalfTraceError.file(path, "expected a mapping of settings") }
        let keys: [String] = mapping.keys.compactMap { $0.scalar?.string }
        let object: Any?
        do { object = try Yams.load(yaml: text) } catch { throw HalfTraceError.file(path, "not valid YAML: \(String("\(error)".prefix(200)))") }
        guard let map = object as? [String: Any] else { throw HalfTraceError.file(path, "expected a mapping of settings") }
        return (map, keys)
    }

    /// A switch the settings may hold (absent or null: nil). Anything but true or false is an
    /// error: Python would branch on its truthiness, a guess this check does not make.
    static func bool(_ map: [String: Any], _ key: String, _ path: String) throws -> Bool? {
        guard let v = map[key], !(v is NSNull) else { return nil }
        guard let b = v as? Bool else { throw HalfTraceError.file(path, field: key, "'\(String(describing: v).prefix(40))' is not true or false") }
        return b
    }

    static func int(_ map: [String: Any], _ key: String, _ path: String) throws -> Int {
        guard let v = map[key] as? Int else {
            throw HalfTraceError.file(path, field: key, map[key] == nil ? "missing" : "'\(String(describing: map[key]!).prefix(40))' is not an integer")
        }
        if key == "batch" || key == "batch_size", v < 1 {
            throw HalfTraceError.file(path, field: key, "\(v): an automatic batch size (AutoBatch) is not written to the run's files; give the batch size the run used")
        }
        guard (1...1_000_000).contains(v) else { throw HalfTraceError.file(path, field: key, "\(v) is outside 1...1000000") }
        return v
    }

    static func hyperparameters(_ map: [String: Any], _ path: String) throws -> ScheduleHyperparameters {
        var h = ScheduleHyperparameters()
        for key in ScheduleHyperparameters.keys {
            guard let raw = map[key.name] else { throw HalfTraceError.file(path, field: key.name, "missing") }
            guard let v = (raw as? Double) ?? (raw as? Int).map(Double.init) else {
                throw HalfTraceError.file(path, field: key.name, "'\(String(describing: raw).prefix(40))' is not a number")
            }
            do { try HalfTraceError.check(key.name, v, in: key.valid) } catch let e as HalfTraceError { throw e.inFile(path) }
            h[keyPath: key.keyPath] = v
        }
        return h
    }
}

/// results.csv: the epoch column, the lr columns (in header order) and, when present, `time`.
public struct ResultsLog: Sendable {
    /// One epoch's row.
    public struct Row: Sendable {
        /// The epoch as logged (0- or 1-based, by release).
        public var loggedEpoch: Int
        /// The lr of each lr column.
        public var values: [Double]
        /// Ultralytics 8.3.9+: seconds since training (re)started.
        public var time: Double?
        /// Line in results.csv (1-based).
        public var line: Int
    }

    /// The file.
    public var path: String
    /// The lr columns, in header order (x/lr0.. or lr/pg0..).
    public var lrColumns: [String]
    /// The data rows, in file order.
    public var rows: [Row]
    /// The header is padded to a fixed width (`%20s`, `%23s`).
    public var padded: Bool
    /// A `time` column follows the epoch column.
    public var hasTime: Bool
    /// The most significant digits any lr in the file is printed with (`%.5g` shows at most 5).
    public var printedDigits = 1

    /// Reads the file (streaming, any line ending, a byte-order mark, padded or quoted fields),
    /// refusing anything that is not a results.csv with `epoch` and lr columns.
    public static func load(_ path: String, lrPrefix: String) throws -> ResultsLog {
        var reader = try CSVReader(path: path)
        guard try reader.next() else { throw HalfTraceError.file(path, line: 1, "no header row") }
        let header = reader.fields
        let headerLine = reader.line
        guard header.count <= 10_000 else { throw HalfTraceError.file(path, line: headerLine, "\(header.count) columns; at most 10000") }
        if let twice = CSVReader.repeatedColumn(header) { throw HalfTraceError.file(path, line: headerLine, field: twice, "the column appears twice") }
        guard let e = header.firstIndex(of: "epoch") else { throw HalfTraceError.file(path, line: headerLine, field: "epoch", "column missing") }
        var lr: [(Int, String)] = []
        for k in 0..<64 {
            guard let i = header.firstIndex(of: "\(lrPrefix)\(k)") else { break }
            lr.append((i, header[i]))
        }
        guard lr.count >= 3 else {
            throw HalfTraceError.file(path, line: headerLine, field: "\(lrPrefix)\(lr.count)", "column missing (the header has \(header.joined(separator: ",").prefix(200)))")
        }
        let t = header.firstIndex(of: "time")
        var rows: [Row] = []
        var digits = 1
        while try reader.next() {
            let k = reader.line
            guard rows.count < 10_000_000 else { throw HalfTraceError.file(path, line: k, "more than 10000000 rows") }
            guard reader.count == header.count else { throw HalfTraceError.file(path, line: k, "\(reader.count) fields, the header has \(header.count)") }
            guard let epoch = reader.int(e), (0...1_000_001).contains(epoch) else {
                throw HalfTraceError.file(path, line: k, field: "epoch", "'\(reader.string(e).prefix(40))' is not an epoch")
            }
            let values = try lr.map { i, name -> Double in
                guard let v = reader.double(i), v.isFinite, v >= 0 else {
                    throw HalfTraceError.file(path, line: k, field: name, "'\(reader.string(i).prefix(40))' is not a finite learning rate >= 0")
                }
                digits = max(digits, TraceVerification.significantDigits(reader.string(i)))
                return v
            }
            var time: Double? = nil
            if let t {
                guard let v = reader.double(t), v.isFinite, v >= 0 else {
                    throw HalfTraceError.file(path, line: k, field: "time", "'\(reader.string(t).prefix(40))' is not a time in seconds")
                }
                time = v
            }
            rows.append(Row(loggedEpoch: epoch, values: values, time: time, line: k))
        }
        guard !rows.isEmpty else { throw HalfTraceError.file(path, "no rows") }
        return ResultsLog(path: path, lrColumns: lr.map(\.1), rows: rows, padded: Self.isPadded(path), hasTime: t != nil, printedDigits: digits)
    }

    /// Whether the header's first field is padded with spaces (YOLOv5's `%20s`), read from the
    /// first bytes of the file (a byte-order mark skipped).
    static func isPadded(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.read(upToCount: 8) else { return false }
        try? handle.close()
        let bytes = [UInt8](data)
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        return start < bytes.count && bytes[start] == UInt8(ascii: " ")
    }
}

/// The release string Ultralytics stores in every checkpoint (`'version': __version__`,
/// ultralytics/yolo/engine/trainer.py:368 (8.0.0)), read from the pickled data without
/// unpickling: the key `version` followed by a string opcode holding "8.3.253".
enum CheckpointVersion {
    static func read(_ path: String) -> ReleaseVersion? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 4 << 20) else { return nil }
        let bytes = [UInt8](data), key = Array("version".utf8)
        var i = 0
        while i + key.count + 6 < bytes.count {
            if bytes[i] == key[0], Array(bytes[i..<(i + key.count)]) == key {
                var j = i + key.count
                for _ in 0..<8 where j < bytes.count {
                    let op = bytes[j]
                    var length = 0, start = 0
                    if op == 0x8C, j + 1 < bytes.count { (length, start) = (Int(bytes[j + 1]), j + 2) }  // SHORT_BINUNICODE
                    else if op == 0x58, j + 4 < bytes.count {  // BINUNICODE
                        length = Int(bytes[j + 1]) | Int(bytes[j + 2]) << 8 | Int(bytes[j + 3]) << 16 | Int(bytes[j + 4]) << 24
                        start = j + 5
                    }
                    if start > 0, (5...40).contains(length), start + length <= bytes.count,
                       let text = String(bytes: bytes[start..<(start + length)], encoding: .utf8), let v = ReleaseVersion(text) {
                        return v
                    }
                    j += 1
                }
            }
            i += 1
        }
        return nil
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
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent(data).path)
            dir.deleteLastPathComponent()
        }
        guard let file = candidates.first(where: { fm.fileExists(atPath: $0) && !$0.isEmpty }),
              let map = try? LoggedRun.yaml(file).map else { return nil }
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
            guard let data = FileManager.default.contents(atPath: path), data.count <= 256 << 20,
                  let text = String(data: data, encoding: .utf8) else { return nil }
            return text.split(whereSeparator: \.isNewline).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        }
        guard let walker = FileManager.default.enumerator(atPath: path) else { return nil }
        var n = 0
        for case let name as String in walker where imageSuffixes.contains((name as NSString).pathExtension.lowercased()) { n += 1 }
        return n
    }
}
