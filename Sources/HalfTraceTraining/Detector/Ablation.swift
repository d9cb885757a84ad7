import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// What each trick of YOLOv5's recipe buys on the detector: every variant trained over seeds, as
/// work items that can be split over machines (`shard`) and joined again (`merge`) into the file
/// one machine writes, byte for byte.
///
/// A work item is (variant, seed) with index `variant * seeds + seed`, in the order of `variants`;
/// shard K of N runs the items whose index is K mod N. Each finished item is one row of the
/// shard's CSV, which is rewritten whole and renamed into place, so a shard killed at any moment
/// leaves a complete file of the items it finished, and started again runs only the others.
/// Wall time is not in the CSV (it differs from machine to machine and run to run, and the merged
/// file must equal one machine's): it goes to the side file `timings*.csv`.
public enum Ablation {
    /// A variant of the recipe: a name, the trick it belongs to and what it changes.
    public struct Variant: Sendable {
        /// The variant's name on the command line and in the files ("no-warmup").
        public let name: String
        /// The trick it belongs to (warm-up, accumulation, schedule, precision; baseline).
        public let trick: String
        /// What it changes, in a line.
        public let summary: String
        let apply: @Sendable (inout DetectorConfig) -> Void
    }

    /// The variants, in the order of the work items; `yolov5` is the recipe itself.
    public static let variants: [Variant] = [
        Variant(name: "yolov5", trick: "baseline", summary: "YOLOv5's recipe: warm-up 3 epochs (bias lr from 0.1, momentum from 0.8), batch 16 x accumulate 4, linear schedule, fp32") { _ in },
        Variant(name: "no-warmup", trick: "warm-up", summary: "no warm-up block (lr0 * lf(0), momentum 0.937 and accumulate 4 from the first batch)") { $0.skipWarmup = true },
        Variant(name: "bias-lr-0", trick: "warm-up", summary: "warmup_bias_lr 0 (the biases warm up from 0, like the weights)") { $0.hyp.warmupBiasLR = 0 },
        Variant(name: "no-warmup-momentum", trick: "warm-up", summary: "warmup_momentum = momentum (no momentum warm-up)") { $0.hyp.warmupMomentum = $0.hyp.momentum },
        Variant(name: "batch-64", trick: "accumulation", summary: "batch 64, accumulate 1 (the same nominal batch in one step)") { $0.batchSize = 64 },
        Variant(name: "batch-40", trick: "accumulation", summary: "batch 40: accumulate round(64/40) = 2, weight decay x 40*2/64 = 1.25") { $0.batchSize = 40 },
        Variant(name: "batch-40-no-wd-scaling", trick: "accumulation", summary: "batch 40 without the weight-decay scaling (weight_decay / 1.25)") {
            $0.batchSize = 40
            $0.hyp.weightDecay /= YOLOv5Schedule.scaledWeightDecay(1, batchSize: 40, nominalBatchSize: $0.nominalBatchSize)
        },
        Variant(name: "onecycle", trick: "schedule", summary: "one-cycle (cosine) schedule") { $0.scheduler = .onecycle },
        Variant(name: "sgdr", trick: "schedule", summary: "SGDR restarts (T_0 10 epochs, T_mult 2) after YOLOv5's warm-up") { $0.scheduler = .sgdr },
        Variant(name: "sgdr-warmup", trick: "schedule", summary: "SGDR with its own warm-up and re-warm-up after each restart") { $0.scheduler = .sgdrWarmup },
        Variant(name: "amp", trick: "precision", summary: "float16 autocast with the GradScaler") { $0.precision = .amp },
        Variant(name: "amp-no-scaler", trick: "precision", summary: "float16 autocast without the GradScaler") { $0.precision = .amp; $0.scaler.enabled = false },
        Variant(name: "fp16", trick: "precision", summary: "float16 storage with the GradScaler") { $0.precision = .fp16 },
        Variant(name: "bf16", trick: "precision", summary: "bfloat16 storage") { $0.precision = .bf16 },
        Variant(name: "bf16-stochastic", trick: "precision", summary: "bfloat16 storage, the weight updates stochastically rounded") {
            $0.precision = .bf16
            $0.stochasticRounding = true
        },
        Variant(name: "amp-bf16", trick: "precision", summary: "bfloat16 autocast with float32 weights") { $0.precision = .ampBF16 },
    ]

    /// The variant named `name`, or an error listing them.
    public static func variant(_ name: String) throws -> Variant {
        guard let v = variants.first(where: { $0.name == name }) else {
            throw HalfTraceError.invalid("variants", "unknown variant '\(name.prefix(40))'; expected one of \(variants.map(\.name).joined(separator: ", "))")
        }
        return v
    }

    /// What a run of the ablation is: everything that decides its rows (and nothing that does not).
    public struct Plan: Sendable, Equatable {
        /// The variants' names, in the order of the work items.
        public var variants: [String]
        /// Seeds per variant (0 ..< seeds).
        public var seeds: Int
        /// Epochs each run trains.
        public var epochs: Int
        /// The synthetic shapes' image size.
        public var imageSize: Int
        /// Synthetic training and validation images.
        public var images: (train: Int, validation: Int)
        /// The detector's four widths.
        public var widths: [Int]

        /// A plan; by default every variant over 3 seeds, 300 epochs, YOLOv5's set of this kind.
        public init(variants: [String] = Ablation.variants.map(\.name), seeds: Int = 3, epochs: Int = 300, imageSize: Int = 64,
                    images: (train: Int, validation: Int) = (300, 100), widths: [Int] = [16, 32, 64, 128]) {
            (self.variants, self.seeds, self.epochs, self.imageSize, self.images, self.widths) = (variants, seeds, epochs, imageSize, images, widths)
        }

        /// Whether the two plans train every variant they share alike: the same seeds, epochs,
        /// image size, images and widths (their variants may differ).
        public func sameRuns(as other: Plan) -> Bool {
            (seeds, epochs, imageSize, images.train, images.validation, widths)
                == (other.seeds, other.epochs, other.imageSize, other.images.train, other.images.validation, other.widths)
        }

        /// Plans are equal when their config lines are (the line decides every row).
        public static func == (a: Plan, b: Plan) -> Bool { a.configLine == b.configLine }

        /// The plan as the files' `# config:` line.
        public var configLine: String {
            "model=detector variants=\(variants.joined(separator: ",")) seeds=\(seeds) epochs=\(epochs) imgsz=\(imageSize) "
                + "images=\(images.train),\(images.validation) widths=\(widths.map(String.init).joined(separator: ","))"
        }

        /// The plan a `# config:` line names (`file` and `line` for the error).
        static func parse(_ text: String, file: String, line: Int) throws -> Plan {
            func bad(_ why: String) -> HalfTraceError { HalfTraceError(.invalidValue, file: file, line: line, "the config line is not an ablation's: \(why)") }
            var fields: [String: String] = [:]
            for part in text.split(separator: " ") {
                let kv = part.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, fields[String(kv[0])] == nil else { throw bad("'\(part.prefix(40))'") }
                fields[String(kv[0])] = String(kv[1])
            }
            guard fields.keys.sorted() == ["epochs", "images", "imgsz", "model", "seeds", "variants", "widths"], fields["model"] == "detector",
                  let seeds = Int(fields["seeds"]!), let epochs = Int(fields["epochs"]!), let size = Int(fields["imgsz"]!) else {
                throw bad("expected model=detector, variants, seeds, epochs, imgsz, images and widths")
            }
            let images = fields["images"]!.split(separator: ",").map { Int($0) }, widths = fields["widths"]!.split(separator: ",").map { Int($0) }
            guard images.count == 2, let train = images[0], let validation = images[1], widths.count == 4, widths.allSatisfy({ $0 != nil }) else {
                throw bad("images=TRAIN,VAL and four widths")
            }
            let plan = Plan(variants: fields["variants"]!.split(separator: ",").map(String.init), seeds: seeds, epochs: epochs, imageSize: size,
                            images: (train, validation), widths: widths.map { $0! })
            do { try plan.validate() } catch let e as HalfTraceError { throw HalfTraceError(.invalidValue, file: file, line: line, e.description) }
            return plan
        }

        /// Refuses a plan that names an unknown variant (or one twice), no seed, or a detector
        /// configuration `DetectorConfig.validate` refuses.
        public func validate() throws {
            guard !variants.isEmpty else { throw HalfTraceError.invalid("variants", "no variant") }
            for v in variants { _ = try Ablation.variant(v) }
            if let twice = variants.first(where: { v in variants.filter { $0 == v }.count > 1 }) {
                throw HalfTraceError.invalid("variants", "'\(twice)' is listed twice")
            }
            try HalfTraceError.check("seeds", seeds, in: 1...1000)
            _ = try config(variant: variants[0], seed: 0)
        }

        /// The work items: (variant, seed) in order, index = variant * seeds + seed.
        public var items: [(index: Int, variant: String, seed: Int)] {
            variants.enumerated().flatMap { v, name in (0..<seeds).map { s in (v * seeds + s, name, s) } }
        }

        /// The detector's configuration of one item.
        public func config(variant name: String, seed: Int) throws -> DetectorConfig {
            var c = DetectorConfig()
            (c.epochs, c.imageSize, c.widths, c.seed) = (epochs, imageSize, widths, UInt64(seed))
            (c.syntheticTrain, c.syntheticValidation) = images
            try Ablation.variant(name).apply(&c)
            try c.validate()
            return c
        }
    }

    /// Shard K of N of the work items.
    public typealias Shard = WorkShard

    /// The file a shard writes: ablations.csv for the whole run, ablations-K-of-N.csv otherwise.
    public static func fileName(_ shard: Shard) -> String { shard.fileName(stem: "ablations") }

    /// One finished item.
    public struct Row: Sendable, Equatable {
        /// The work item's index, variant and seed.
        public var index: Int
        /// The variant's name.
        public var variant: String
        /// The seed of initialisation, data and order.
        public var seed: Int
        /// mAP@0.5 of the last epoch.
        public var map50: Double
        /// mAP@0.5:0.95 of the last epoch.
        public var map: Double
        /// mAP@0.5 averaged over the last 10 epochs (all, when fewer).
        public var meanMap50: Double
        /// mAP@0.5:0.95 averaged over the last 10 epochs.
        public var meanMap: Double
        /// The epoch of the best fitness (the first of equals).
        public var bestEpoch: Int
        /// YOLOv5's fitness at that epoch.
        public var bestFitness: Double
        /// Optimizer steps the scaler skipped over the run.
        public var skipped: Int

        static let header = "index,variant,seed,map50,map,mean10_map50,mean10_map,best_epoch,best_fitness,skipped_steps"
        var line: String {
            "\(index),\(variant),\(seed),\(map50),\(map),\(meanMap50),\(meanMap),\(bestEpoch),\(bestFitness),\(skipped)"
        }
    }

    /// One epoch of one item's run: the per-epoch curves `ablate --plots` draws.
    public struct CurvePoint: Sendable, Equatable {
        /// The work item's index, variant and seed.
        public var index: Int
        /// The variant's name.
        public var variant: String
        /// The seed of initialisation, data and order.
        public var seed: Int
        /// The epoch, from 0.
        public var epoch: Int
        /// mAP@0.5 after this epoch.
        public var map50: Double
        /// mAP@0.5:0.95 after this epoch.
        public var map: Double

        static let header = "index,variant,seed,epoch,map50,map"
        var line: String { "\(index),\(variant),\(seed),\(epoch),\(map50),\(map)" }
    }

    /// The file of a shard's per-epoch curves, beside its results file: curves.csv for the whole
    /// run, curves-K-of-N.csv otherwise.
    public static func curvesFileName(_ shard: Shard) -> String { shard.fileName(stem: "curves") }

    static let rowsVersion = "# halftrace ablate v1", curvesVersion = "# halftrace ablate curves v1"

    /// The text of a results file: version, config, the shard it holds (none for a whole run), header, rows.
    static func text(_ plan: Plan, shard: Shard?, rows: [Row]) -> String {
        fileText(rowsVersion, plan, shard: shard, header: Row.header, lines: rows.map(\.line))
    }

    /// The text of a curves file: version, config, shard (none for a whole run), header, points.
    static func curvesText(_ plan: Plan, shard: Shard?, points: [CurvePoint]) -> String {
        fileText(curvesVersion, plan, shard: shard, header: CurvePoint.header, lines: points.map(\.line))
    }

    private static func fileText(_ version: String, _ plan: Plan, shard: Shard?, header: String, lines: [String]) -> String {
        ([version, "# config: \(plan.configLine)"] + (shard.map { ["# shard: \($0)"] } ?? []) + [header] + lines).joined(separator: "\n") + "\n"
    }

    /// A file's plan, shard and body lines (with their 1-based numbers), after checking its
    /// version, config, optional shard and column header; a file whose last line is not
    /// terminated is refused as truncated. "\r\n" line ends and a byte-order mark read the same.
    private static func readFile(_ path: String, version: String, header: String) throws -> (plan: Plan, shard: Shard?, body: [(number: Int, fields: [String])]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HalfTraceError.inaccessible(path, "cannot read (\(error.localizedDescription))")
        }
        let text = try TextFile.utf8(data, name: path)
        // "\r\n" is one Character in Swift: split on it as on "\n" (a file from Windows reads the same).
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if lines.last == "" { lines.removeLast() } else if !lines.isEmpty {
            throw HalfTraceError(.invalidValue, file: path, line: lines.count, "the last line is not terminated: the file is truncated")
        }
        func fail(_ n: Int, _ why: String) -> HalfTraceError { HalfTraceError(.invalidValue, file: path, line: n, why) }
        guard lines.count >= 3, lines[0] == version else { throw fail(1, "not a halftrace ablate file of this kind (expected '\(version)')") }
        guard lines[1].hasPrefix("# config: ") else { throw fail(2, "expected '# config: ...'") }
        let plan = try Plan.parse(String(lines[1].dropFirst("# config: ".count)), file: path, line: 2)
        var next = 2
        var shard: Shard?
        if lines[2].hasPrefix("# shard: ") {
            do { shard = try Shard(parsing: String(lines[2].dropFirst("# shard: ".count))) } catch let e as HalfTraceError { throw fail(3, e.reason) }
            next = 3
        }
        guard next < lines.count, lines[next] == header else { throw fail(next + 1, "expected the header '\(header)'") }
        let body = lines.enumerated().dropFirst(next + 1).map { (number: $0.offset + 1, fields: $0.element.split(separator: ",", omittingEmptySubsequences: false).map(String.init)) }
        return (plan, shard, body)
    }

    /// Checks that fields (index, variant, seed) name a work item of the plan that the shard owns.
    private static func checkItem(_ f: [String], plan: Plan, shard: Shard?, fail: (String) -> HalfTraceError) throws -> (index: Int, seed: Int) {
        guard let index = Int(f[0]), let seed = Int(f[2]) else { throw fail("expected an integer index and seed") }
        let items = plan.items
        guard items.indices.contains(index), items[index].variant == f[1], items[index].seed == seed else {
            throw fail("item \(index) is not (\(f[1].prefix(40)), seed \(seed)) in this plan")
        }
        guard shard?.owns(index) ?? true else { throw fail("item \(index) does not belong to shard \(shard!) (index mod \(shard!.count) = \(index % shard!.count))") }
        return (index, seed)
    }

    /// A results file, read and validated: its plan, shard and rows (every row a work item of
    /// the plan that the shard owns, each once, its values finite where they must be).
    public static func read(_ path: String) throws -> (plan: Plan, shard: Shard?, rows: [Row]) {
        let (plan, shard, body) = try readFile(path, version: rowsVersion, header: Row.header)
        var rows: [Row] = [], seen = Set<Int>()
        for (n, f) in body {
            func fail(_ why: String) -> HalfTraceError { HalfTraceError(.invalidValue, file: path, line: n, why) }
            guard f.count == 10, let a = Double(f[3]), let b = Double(f[4]), let c = Double(f[5]),
                  let d = Double(f[6]), let best = Int(f[7]), let fitness = Double(f[8]), let skipped = Int(f[9]) else {
                throw fail("expected \(Row.header.split(separator: ",").count) fields: index, variant, seed, numbers")
            }
            let (index, seed) = try checkItem(f, plan: plan, shard: shard, fail: fail)
            guard seen.insert(index).inserted else { throw fail("item \(index) appears twice") }
            guard [a, b, c, d, fitness].allSatisfy({ $0.isFinite && (0...1).contains($0) }), best >= 0, best < plan.epochs, skipped >= 0 else {
                throw fail("a value out of range (mAP and fitness in [0, 1], best epoch below \(plan.epochs), skipped >= 0)")
            }
            rows.append(Row(index: index, variant: f[1], seed: seed, map50: a, map: b, meanMap50: c, meanMap: d, bestEpoch: best, bestFitness: fitness, skipped: skipped))
        }
        return (plan, shard, rows)
    }

    /// A curves file, read and validated: its plan, shard and points. Every point is of a work
    /// item of the plan that the shard owns, and each item's points are its epochs 0, 1, ...,
    /// epochs - 1 in order, one item after another by increasing index (a whole run each).
    public static func readCurves(_ path: String) throws -> (plan: Plan, shard: Shard?, points: [CurvePoint]) {
        let (plan, shard, body) = try readFile(path, version: curvesVersion, header: CurvePoint.header)
        var points: [CurvePoint] = []
        for (n, f) in body {
            func fail(_ why: String) -> HalfTraceError { HalfTraceError(.invalidValue, file: path, line: n, why) }
            guard f.count == 6, let epoch = Int(f[3]), let a = Double(f[4]), let b = Double(f[5]) else {
                throw fail("expected \(CurvePoint.header.split(separator: ",").count) fields: index, variant, seed, epoch, mAP@0.5, mAP@0.5:0.95")
            }
            let (index, seed) = try checkItem(f, plan: plan, shard: shard, fail: fail)
            let expected: (index: Int?, epoch: Int) = points.last.map { $0.epoch < plan.epochs - 1 ? ($0.index, $0.epoch + 1) : (nil, 0) } ?? (nil, 0)
            guard epoch == expected.epoch, expected.index.map({ $0 == index }) ?? (index > (points.last?.index ?? -1)) else {
                throw fail(expected.index.map { "expected item \($0) epoch \(expected.epoch) (each run's epochs 0...\(plan.epochs - 1) in order)" }
                           ?? "expected epoch 0 of an item after \(points.last?.index ?? -1) (each run's epochs 0...\(plan.epochs - 1) in order)")
            }
            guard a.isFinite, b.isFinite, (0...1).contains(a), (0...1).contains(b) else { throw fail("a value out of range (mAP in [0, 1])") }
            points.append(CurvePoint(index: index, variant: f[1], seed: seed, epoch: epoch, map50: a, map: b))
        }
        if let last = points.last, last.epoch != plan.epochs - 1 {
            throw HalfTraceError(.invalidValue, file: path, line: (body.last?.number ?? 0) + 1, "item \(last.index) stops at epoch \(last.epoch) of 0...\(plan.epochs - 1): the file is truncated")
        }
        return (plan, shard, points)
    }

    /// Trains one item.
    public static func run(_ plan: Plan, item: (index: Int, variant: String, seed: Int),
                           onEpoch: (DetectorEpoch) -> Void = { _ in }) throws -> (row: Row, curve: [CurvePoint]) {
        let trainer = try DetectorTrainer(config: try plan.config(variant: item.variant, seed: item.seed))
        var epochs: [DetectorEpoch] = []
        try trainer.run(onEpoch: { e in
            epochs.append(e)
            onEpoch(e)
        })
        guard let last = epochs.last else { throw HalfTraceError.invalid("epochs", "the run trained no epoch") }
        let tail = epochs.suffix(10)
        let best = epochs.max { $0.fitness < $1.fitness || ($0.fitness == $1.fitness && $0.epoch > $1.epoch) }!
        let row = Row(index: item.index, variant: item.variant, seed: item.seed, map50: last.metrics.map50, map: last.metrics.map,
                      meanMap50: tail.map(\.metrics.map50).reduce(0, +) / Double(tail.count), meanMap: tail.map(\.metrics.map).reduce(0, +) / Double(tail.count),
                      bestEpoch: best.epoch, bestFitness: best.fitness, skipped: epochs.reduce(0) { $0 + $1.skipped })
        return (row, epochs.map { CurvePoint(index: item.index, variant: item.variant, seed: item.seed, epoch: $0.epoch, map50: $0.metrics.map50, map: $0.metrics.map) })
    }

    /// Runs the items of `shard` that `directory/<shard file>` does not hold yet, rewriting the
    /// file after each (and first its curves file beside it, so that every row's curve is on
    /// disk before the row); an existing file of another plan or shard is refused, not
    /// overwritten. `progress` gets (item, its position among the shard's, the shard's count, epoch).
    @discardableResult
    public static func runShard(_ plan: Plan, shard: Shard, directory: String,
                                progress: (_ item: (index: Int, variant: String, seed: Int), _ done: Int, _ total: Int, _ epoch: Int) -> Void = { _, _, _, _ in },
                                finished: (Row, Double) -> Void = { _, _ in }) throws -> (rows: [Row], curves: [CurvePoint]) {
        try AtomicFile.makeDirectory(directory)
        AtomicFile.removeStaleTemporaries(in: directory)
        let path = directory + "/" + fileName(shard), curvesPath = directory + "/" + curvesFileName(shard)
        let named = shard.count == 1 ? nil : shard
        var rows: [Row] = [], points: [CurvePoint] = []
        if FileManager.default.fileExists(atPath: path) {
            let existing = try read(path)
            guard existing.plan == plan else {
                throw HalfTraceError(.invalidValue, file: path, line: 2, "holds another plan (\(existing.plan.configLine)); this run is \(plan.configLine)")
            }
            guard existing.shard == named else {
                throw HalfTraceError(.invalidValue, file: path, line: 3, "holds shard \(existing.shard?.description ?? "none"), not \(shard)")
            }
            rows = existing.rows
            if !rows.isEmpty { points = try curves(of: existing, path: path, curvesPath: curvesPath) }
        }
        let mine = plan.items.filter { shard.owns($0.index) }
        let done = Set(rows.map(\.index))
        let timings = directory + "/" + shard.fileName(stem: "timings")
        var timingLines = (try? String(contentsOfFile: timings, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? ["index,variant,seed,seconds"]
        for (k, item) in mine.enumerated() where !done.contains(item.index) {
            let clock = ContinuousClock(), start = clock.now
            let (row, curve) = try run(plan, item: item) { progress(item, k, mine.count, $0.epoch) }
            let seconds = (clock.now - start).seconds
            rows.append(row)
            rows.sort { $0.index < $1.index }
            points = (points + curve).sorted { ($0.index, $0.epoch) < ($1.index, $1.epoch) }
            try AtomicFile.write(curvesText(plan, shard: named, points: points), to: curvesPath)
            try AtomicFile.write(text(plan, shard: named, rows: rows), to: path)
            timingLines.append("\(item.index),\(item.variant),\(item.seed),\(seconds)")
            try AtomicFile.write(timingLines.joined(separator: "\n") + "\n", to: timings)
            finished(row, seconds)
        }
        if rows.isEmpty || !FileManager.default.fileExists(atPath: path) {  // a shard with no item still says so
            try AtomicFile.write(curvesText(plan, shard: named, points: points), to: curvesPath)
            try AtomicFile.write(text(plan, shard: named, rows: rows), to: path)
        }
        return (rows, points)
    }

    /// The curves of a results file's rows, from the curves file beside it: of the same plan and
    /// shard, holding a whole run for every row. Points of items the results file does not hold
    /// (a shard stopped between writing the two files) are dropped; a row without its curve is
    /// refused, naming both files.
    static func curves(of results: (plan: Plan, shard: Shard?, rows: [Row]), path: String, curvesPath: String) throws -> [CurvePoint] {
        guard FileManager.default.fileExists(atPath: curvesPath) else {
            throw HalfTraceError.inaccessible(curvesPath, "is missing: it holds the per-epoch curves of the runs in \(path) (a shard started by a "
                                              + "halftrace from before curves were kept: finish it with that version, or start it again in a new directory)")
        }
        let c = try readCurves(curvesPath)
        guard c.plan == results.plan else {
            throw HalfTraceError(.invalidValue, file: curvesPath, line: 2, "another plan than \(path): \(c.plan.configLine) vs \(results.plan.configLine)")
        }
        guard c.shard == results.shard else {
            throw HalfTraceError(.invalidValue, file: curvesPath, line: 3, "holds shard \(c.shard?.description ?? "none"), \(path) \(results.shard?.description ?? "none")")
        }
        let held = Set(results.rows.map(\.index))
        let points = c.points.filter { held.contains($0.index) }
        if let lost = results.rows.first(where: { r in !points.contains { $0.index == r.index } }) {
            throw HalfTraceError(.invalidValue, file: curvesPath, "holds no curve of item \(lost.index) (\(lost.variant), seed \(lost.seed)), a row of \(path)")
        }
        return points
    }

    /// The shards' files joined into the file one machine writes: the shards of one N, each
    /// exactly once, each complete. Nothing is written when any is wrong.
    ///
    /// Files of several plans that differ only in their variants (each variant in one plan: say
    /// a first run of some variants and a later run of others, with the same seeds, epochs and
    /// data) join into the plan of all their variants, in the order of `variants`: the file one
    /// machine writes for that plan, since an item's run depends only on its variant and seed.
    /// Each shard file's curves file (`curvesFileName`, beside it) is joined the same way into
    /// the text of the one machine's curves.csv.
    /// When a shard file has no curves file beside it (written by a halftrace from before curves
    /// were kept), the rows still merge and `curves` is nil, `missingCurves` naming that file.
    public static func merge(_ paths: [String]) throws -> (plan: Plan, text: String, curves: String?, missingCurves: String?) {
        guard !paths.isEmpty else { throw HalfTraceError.invalid("merge", "no shard file given") }
        let files = try paths.map { (path: $0, content: try read($0)) }
        let first = files[0]
        for f in files where !f.content.plan.sameRuns(as: first.content.plan) {
            throw HalfTraceError(.invalidValue, file: f.path, line: 2, "another plan than \(first.path): \(f.content.plan.configLine) vs \(first.content.plan.configLine)")
        }
        // The files of each plan, plans in the order first given.
        var groups: [(plan: Plan, files: [(path: String, content: (plan: Plan, shard: Shard?, rows: [Row]))])] = []
        for f in files {
            if let g = groups.firstIndex(where: { $0.plan == f.content.plan }) { groups[g].files.append(f) } else { groups.append((f.content.plan, [f])) }
        }
        var source: [String: String] = [:]
        for g in groups {
            for v in g.plan.variants {
                if let other = source[v] {
                    throw HalfTraceError(.invalidValue, file: g.files[0].path, line: 2, "variant '\(v)' is also in the plan of \(other): each variant's runs must come from one plan")
                }
                source[v] = g.files[0].path
            }
        }
        // Each file's curves file, beside it, named by its shard: two inputs may not share one.
        var curvesOf: [String: String] = [:]
        for f in files {
            let c = (f.path as NSString).deletingLastPathComponent.nonEmpty(or: ".") + "/" + curvesFileName(f.content.shard ?? .whole)
            if let other = curvesOf.first(where: { $0.value == c && $0.key != f.path })?.key {
                throw HalfTraceError.invalid("merge", "\(f.path) and \(other) are both shard \(f.content.shard ?? .whole) in one directory: their curves would both be \(c)")
            }
            curvesOf[f.path] = c
        }
        let missingCurves = files.map { curvesOf[$0.path]! }.first { !FileManager.default.fileExists(atPath: $0) }
        let parts = try groups.map { try mergeShards($0.plan, $0.files, curvesOf: missingCurves == nil ? curvesOf : nil) }
        var plan = first.content.plan
        if groups.count > 1 { plan.variants = variants.map(\.name).filter { source[$0] != nil } }
        // Items renumbered in the joined plan: index = variant's position * seeds + seed.
        let position = Dictionary(uniqueKeysWithValues: plan.variants.enumerated().map { ($1, $0) })
        let rows = parts.flatMap(\.rows).map { r in
            var r = r
            r.index = position[r.variant]! * plan.seeds + r.seed
            return r
        }.sorted { $0.index < $1.index }
        let points = parts.flatMap(\.points).map { p in
            var p = p
            p.index = position[p.variant]! * plan.seeds + p.seed
            return p
        }.sorted { ($0.index, $0.epoch) < ($1.index, $1.epoch) }
        return (plan, text(plan, shard: nil, rows: rows), missingCurves == nil ? curvesText(plan, shard: nil, points: points) : nil, missingCurves)
    }

    /// The rows and curves of one plan's shard files: the shards of one N, each once, each
    /// complete; the curves from the files `curvesOf` names (none when it is nil).
    private static func mergeShards(_ plan: Plan, _ files: [(path: String, content: (plan: Plan, shard: Shard?, rows: [Row]))],
                                    curvesOf: [String: String]?) throws -> (rows: [Row], points: [CurvePoint]) {
        let n = files[0].content.shard?.count ?? 1
        var byShard: [Int: String] = [:]
        for f in files {
            let shard = f.content.shard ?? .whole
            guard shard.count == n else { throw HalfTraceError(.invalidValue, file: f.path, line: 3, "shard \(shard) of another split than \(files[0].path) (N = \(n))") }
            if let other = byShard[shard.index] { throw HalfTraceError(.invalidValue, file: f.path, line: 3, "shard \(shard) is also \(other)") }
            byShard[shard.index] = f.path
        }
        if let missing = (0..<n).first(where: { byShard[$0] == nil }) {
            throw HalfTraceError.invalid("merge", "shard \(missing)/\(n) is missing\(n > 1 ? " (of \(files[0].path)'s plan)" : "")")
        }
        for f in files {
            let shard = f.content.shard ?? .whole
            let expected = plan.items.filter { shard.owns($0.index) }.count
            guard f.content.rows.count == expected else {
                throw HalfTraceError.invalid("merge", "\(f.path) holds \(f.content.rows.count) of its \(expected) items: shard \(shard) has not finished")
            }
        }
        let rows = files.flatMap(\.content.rows)
        precondition(rows.count == plan.items.count)
        guard let curvesOf else { return (rows, []) }
        let points = try files.flatMap { f in try curves(of: f.content, path: f.path, curvesPath: curvesOf[f.path]!) }
        return (rows, points)
    }
}

private extension String {
    func nonEmpty(or other: String) -> String { isEmpty ? other : self }
}
