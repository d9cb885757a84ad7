import Foundation
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim
import HalfTraceTraining

public enum EvolveStrategy: String, Sendable, Codable, CaseIterable {
    /// YOLOv5 v7.0's `--evolve`: mutate parents chosen from the best earlier results.
    case classic
    /// YOLOv5 master's genetic algorithm: elitism, tournaments, one-point crossover, mutation.
    case ga
}

/// What an evolution run trains.
public enum EvolveModel: String, Sendable, Codable, CaseIterable {
    /// The two-moons toy model.
    case tiny
    /// The digits MLP.
    case mlp
    /// The micro YOLOv5, evolved with YOLOv5's own fitness 0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95.
    case detector

    /// The toy model, or nil for the detector.
    public var toy: ToyModel? { ToyModel(rawValue: rawValue) }
}

/// What an evolution run depends on; saved as DIR/evolve_config.json and checked on resume.
public struct EvolveConfig: Sendable, Codable, Equatable {
    /// The model every individual trains.
    public var model: EvolveModel = .tiny
    /// How candidates are bred.
    public var strategy: EvolveStrategy = .classic
    /// Generations.
    public var generations = 10
    /// Individuals per generation.
    public var population = 8
    /// Epochs each individual trains.
    public var epochs = 10
    /// Seeds the breeding and every individual's initialisation and data order.
    public var seed: UInt64 = 0
    /// The schedule's base hyper-parameters (generation 0, individual 0).
    public var base = ScheduleHyperparameters()
    /// The detector's run (data, size, precision, batch; its `detection` keys are the base of
    /// the detector's evolved loss and augmentation keys; its epochs, seed and schedule keys are
    /// the evolution's).
    public var detector = DetectorConfig()

    /// The defaults above.
    public init() {}

    /// Refuses nonsense with the field's name.
    public func validate() throws {
        try HalfTraceError.check("generations", generations, in: 1...1_000_000)
        try HalfTraceError.check("population", population, in: 1...10_000)
        guard strategy == .classic || population >= 2 else { throw HalfTraceError.invalid("population", "the genetic algorithm needs at least 2") }
        try HalfTraceError.check("epochs", epochs, in: 1...10_000)
        do { try base.validate() } catch let e as HalfTraceError { throw e.inField("base") }
        if model == .detector {
            do { try Evolution.detectorConfig(self, hyp: baseVector).validate() } catch let e as HalfTraceError { throw e.inField("detector") }
        } else if detector.dataPath != nil {
            throw HalfTraceError.invalid("detector.data_path", "a YOLO dataset folder is the detector's data; \(model.rawValue) has its own")
        }
    }

    /// The evolved keys of this run, with YOLOv5's meta entries.
    public var table: [EvolvableKey] { HyperparameterMeta.table(for: model) }

    /// The base hyper-parameters as a vector in `table` order.
    public var baseVector: [Double] {
        base.vector + (model == .detector ? DetectorHyperparameters.keys.map { detector.detection[keyPath: $0.keyPath] } : [])
    }

    /// Tolerates configurations saved before the detector's fields existed.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(EvolveModel.self, forKey: .model)
        strategy = try c.decode(EvolveStrategy.self, forKey: .strategy)
        generations = try c.decode(Int.self, forKey: .generations)
        population = try c.decode(Int.self, forKey: .population)
        epochs = try c.decode(Int.self, forKey: .epochs)
        seed = try c.decode(UInt64.self, forKey: .seed)
        base = try c.decode(ScheduleHyperparameters.self, forKey: .base)
        detector = try c.decodeIfPresent(DetectorConfig.self, forKey: .detector) ?? DetectorConfig()
    }
}

/// An individual's validation metrics and YOLOv5-style fitness.
public enum EvolveMetrics: Sendable, Equatable {
    /// A toy classifier: accuracy, confident accuracy, loss; fitness 0.1 * accuracy + 0.9 *
    /// confident accuracy.
    case classifier(ValidationMetrics)
    /// The detector: YOLOv5's results (P, R, mAP@0.5, mAP@0.5:0.95) and validation losses;
    /// fitness YOLOv5's `fitness`.
    case detector(DetectionMetrics, LossComponents)

    /// The fitness evolution maximises.
    public var fitness: Double {
        switch self {
        case .classifier(let m): m.fitness
        case .detector(let m, _): m.fitness
        }
    }

    /// The values of `EvolveCSV.metricColumns(for:)`.
    public var values: [Double] {
        switch self {
        case .classifier(let m): [m.accuracy, m.confidentAccuracy, m.loss]
        case .detector(let m, let l): [m.precision, m.recall, m.map50, m.map, l.box, l.obj, l.cls]
        }
    }

    /// Metrics from an evolve.csv row's values, refusing values no run can have written.
    static func parse(_ v: [Double], model: EvolveModel, fail: (String, String) -> HalfTraceError) throws -> EvolveMetrics {
        let columns = EvolveCSV.metricColumns(for: model)
        let bounded = model == .detector ? 0..<4 : 0..<2
        for i in bounded where !(0...1).contains(v[i]) { throw fail(columns[i], "\(v[i]) is outside [0, 1]") }
        for i in v.indices where !bounded.contains(i) && !(v[i] >= 0 || v[i].isNaN) { throw fail(columns[i], "\(v[i]) is negative") }
        if model == .detector {
            return .detector(DetectionMetrics(precision: v[0], recall: v[1], map50: v[2], map: v[3]), LossComponents(box: v[4], obj: v[5], cls: v[6]))
        }
        return .classifier(ValidationMetrics(accuracy: v[0], confidentAccuracy: v[1], loss: v[2]))
    }
}

/// One trained individual: a row of evolve.csv.
public struct EvolveRecord: Sendable, Equatable {
    /// The generation, 0-based.
    public var generation: Int
    /// The individual within its generation.
    public var individual: Int
    /// Its validation metrics.
    public var metrics: EvolveMetrics
    /// Its hyper-parameters in the run's `table` order.
    public var hyp: [Double]
    /// Its fitness.
    public var fitness: Double { metrics.fitness }
}

/// evolve.csv: one row per trained individual, in (generation, individual) order; every number
/// parses back to the identical Double. The detector's metric columns are named as YOLOv5's.
public enum EvolveCSV {
    /// The metric columns of a model's rows.
    public static func metricColumns(for model: EvolveModel) -> [String] {
        model == .detector
            ? ["metrics/precision", "metrics/recall", "metrics/mAP_0.5", "metrics/mAP_0.5:0.95", "val/box_loss", "val/obj_loss", "val/cls_loss"]
            : ["accuracy", "confident_accuracy", "val_loss"]
    }

    /// The header of a model's evolve.csv.
    public static func columns(for model: EvolveModel) -> [String] {
        ["generation", "individual"] + metricColumns(for: model) + ["fitness"] + HyperparameterMeta.table(for: model).map(\.name)
    }

    /// The toy models' header (the schedule's keys).
    public static var columns: [String] { columns(for: .tiny) }

    /// The file for `records` of `model`.
    public static func text(_ records: [EvolveRecord], model: EvolveModel = .tiny) -> String {
        ([columns(for: model).joined(separator: ",")] + records.map { r in
            (["\(r.generation)", "\(r.individual)"] + r.metrics.values.map { "\($0)" } + ["\(r.fitness)"] + r.hyp.map { "\($0)" })
                .joined(separator: ",")
        }).joined(separator: "\n") + "\n"
    }

    /// Parses evolve.csv, refusing anything an evolution run with `config` cannot have written:
    /// a row out of (generation, individual) order or repeated, an individual outside the
    /// population, a metric outside its range, a fitness that is not the model's formula, a
    /// hyper-parameter outside its bounds or not rounded to 5 decimals. Errors name file:line.
    public static func parse(_ text: String, path: String, config: EvolveConfig) throws -> [EvolveRecord] {
        let header = columns(for: config.model)
        let metricCount = metricColumns(for: config.model).count
        let table = config.table
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        guard lines.first == header.joined(separator: ",") else {
            throw HalfTraceError.file(path, line: 1, "expected the header \(header.joined(separator: ","))")
        }
        var records: [EvolveRecord] = []
        for (k, line) in lines.enumerated().dropFirst() {
            if line.isEmpty && k == lines.count - 1 { break }
            func fail(_ field: String?, _ reason: String) -> HalfTraceError { HalfTraceError.file(path, line: k + 1, field: field, reason) }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count else { throw fail(nil, "\(fields.count) fields, expected \(header.count)") }
            let v = try fields.enumerated().map { i, f -> Double in
                let isMetric = (2..<(2 + metricCount)).contains(i)
                guard let x = Double(f), x.isFinite || (isMetric && x.isNaN) else { throw fail(header[i], "'\(f.prefix(40))' is not a number") }
                return x
            }
            guard let generation = Int(exactly: v[0]), let individual = Int(exactly: v[1]),
                  (0..<config.generations).contains(generation), (0..<config.population).contains(individual) else {
                throw fail("generation", "generation \(v[0]) individual \(v[1]) is outside the run's \(config.generations) generations of \(config.population)")
            }
            if let last = records.last, (last.generation, last.individual) >= (generation, individual) {
                throw fail("individual", "generation \(generation) individual \(individual) repeats or comes after generation \(last.generation) individual \(last.individual)")
            }
            let metrics = try EvolveMetrics.parse(Array(v[2..<(2 + metricCount)]), model: config.model, fail: fail)
            let fitness = v[2 + metricCount]
            let hyp = Array(v[(3 + metricCount)...])
            for (value, key) in zip(hyp, table) where !(key.lower...key.upper).contains(value) || HyperparameterMeta.round5(value) != value {
                throw fail(key.name, "\(value) is outside [\(key.lower), \(key.upper)] or not rounded to 5 decimals")
            }
            let record = EvolveRecord(generation: generation, individual: individual, metrics: metrics, hyp: hyp)
            guard abs(record.fitness - fitness) <= 1e-12 else {
                throw fail("fitness", config.model == .detector
                    ? "\(fitness) does not equal 0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95"
                    : "\(fitness) does not equal 0.1 * accuracy + 0.9 * confident_accuracy")
            }
            records.append(record)
        }
        return records
    }
}

/// The result of a run, for the summary and the figure.
public struct EvolveSummary: Sendable {
    public var records: [EvolveRecord]
    public var best: EvolveRecord
    /// The base hyper-parameters' own record (generation 0, individual 0).
    public var base: EvolveRecord
    public var trained: Int
}

/// Hyper-parameter evolution on a toy model or the detector (YOLOv5's `train.py --evolve`, v7.0 and master): DIR/evolve.csv, DIR/hyp_evolve.yaml (the
/// best, readable by `train --hyp`), DIR/evolve_config.json. The individuals of a generation
/// train in parallel on both cores; rows are written in (generation, individual) order after each
/// individual, atomically, so results never depend on the number of threads and an interrupted
/// run resumes with nothing lost and nothing trained twice.
public final class Evolution {
    /// The run's configuration.
    public let config: EvolveConfig
    /// The output directory.
    public let directory: String
    let data: DataSplit?
    let detectorData: DetectionData?
    /// This shard's records (every record for a whole run), in (generation, individual) order.
    var records: [EvolveRecord] = []
    /// The other shards' records read so far (none for a whole run).
    var others: [EvolveRecord] = []
    let lock = NSLock()
    /// Which individuals of each generation this run trains (all of them for a whole run).
    public let shard: WorkShard

    /// This run's file: evolve.csv, or evolve-K-of-N.csv for a shard.
    public var csvPath: String { directory + "/" + shard.fileName(stem: "evolve") }
    public var configPath: String { directory + "/evolve_config.json" }
    public var yamlPath: String { directory + "/hyp_evolve.yaml" }

    /// A run in `directory`: a new one, or (`resume`) the one its evolve.csv holds. With a
    /// `shard` of N > 1 the run is shard K of a run spread over machines that share `directory`
    /// (see `runShard`): it writes evolve-K-of-N.csv and always continues that file when it exists.
    public init(config: EvolveConfig, directory: String, resume: Bool, shard: WorkShard = .whole, digitsPath: String? = nil) throws {
        try config.validate()
        if shard.count > 1 && config.population < shard.count {
            throw HalfTraceError.invalid("shard", "\(shard) of a population of \(config.population): each shard trains the individuals i with i mod \(shard.count) = K of every generation, so \(shard.count) shards need a population of at least \(shard.count)")
        }
        self.config = config
        self.directory = directory
        self.shard = shard
        try AtomicFile.makeDirectory(directory)
        AtomicFile.removeStaleTemporaries(in: directory)
        data = try config.model.toy?.loadData(digitsPath: digitsPath)
        detectorData = try config.model == .detector ? Self.detectorConfig(config, hyp: config.baseVector).loadData() : nil
        let exists = FileManager.default.fileExists(atPath: csvPath)
        if resume || (shard.count > 1 && FileManager.default.fileExists(atPath: configPath)) {
            try Self.checkSavedConfig(config, at: configPath, directory: directory, required: resume)
        }
        if resume || (shard.count > 1 && exists) {
            guard exists else { throw HalfTraceError.inaccessible(csvPath, "does not exist: nothing to resume") }
            records = try Self.read(csvPath, config: config, shard: shard)
        } else if exists {
            throw HalfTraceError(.invalidValue, field: "directory", file: csvPath, "exists; resume that run, or choose another directory")
        }
        try AtomicFile.write(try Self.json(config), to: configPath)
    }

    /// evolve_config.json's bytes.
    static func json(_ config: EvolveConfig) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(config)
    }

    /// Refuses a saved configuration (evolve_config.json) that differs from `config` in anything
    /// but the number of generations; `required`: a missing file is an error too.
    static func checkSavedConfig(_ config: EvolveConfig, at configPath: String, directory: String, required: Bool) throws {
        guard let saved = FileManager.default.contents(atPath: configPath) else {
            if required { throw HalfTraceError.inaccessible(configPath, "missing or unreadable") }
            return
        }
        let old: EvolveConfig
        do { old = try JSONDecoder().decode(EvolveConfig.self, from: saved) } catch {
            throw HalfTraceError.file(configPath, "not an evolution configuration")
        }
        if let change = configurationChanges(from: old, to: config).first(where: { $0.field != "generations" }) {
            throw HalfTraceError(.invalidValue, field: change.field, file: configPath,
                                 "the run in \(directory) was started with \(change.old), not \(change.new)")
        }
    }

    /// The records of an evolve.csv (or a shard's file, whose rows must be the shard's).
    static func read(_ path: String, config: EvolveConfig, shard: WorkShard) throws -> [EvolveRecord] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HalfTraceError.inaccessible(path, "cannot read (\(error.localizedDescription))")
        }
        let records = try EvolveCSV.parse(try TextFile.utf8(data, name: path), path: path, config: config)
        if let r = records.first(where: { !shard.owns($0.individual) }) {
            throw HalfTraceError.file(path, field: "individual", "generation \(r.generation) individual \(r.individual) is not shard \(shard)'s (\(r.individual) mod \(shard.count) = \(r.individual % shard.count))")
        }
        return records
    }

    /// The candidates of generation g, rebuilt from the records of earlier generations.
    func candidates(_ g: Int) -> [[Double]] { Self.candidates(g, config: config, records: records + others) }

    /// The candidates of generation g of a run with `config`, from the records of earlier generations.
    static func candidates(_ g: Int, config: EvolveConfig, records: [EvolveRecord]) -> [[Double]] {
        var rng = SplitMix64.stream(seed: config.seed, index: 1_000 + UInt64(g))
        let base = config.baseVector, meta = config.table
        switch config.strategy {
        case .classic:
            return Breeding.classic(generation: g, population: config.population,
                                    earlier: records.filter { $0.generation < g }, base: base, meta: meta, using: &rng)
        case .ga:
            let previous = records.filter { $0.generation == g - 1 }.sorted { $0.individual < $1.individual }
            return Breeding.ga(generation: g, generations: config.generations, population: config.population,
                               previous: previous, base: base, meta: meta, using: &rng)
        }
    }

    /// The detector's configuration for the hyper-parameters `hyp` (in `config.table` order).
    static func detectorConfig(_ config: EvolveConfig, hyp: [Double]) -> DetectorConfig {
        var c = config.detector
        c.epochs = config.epochs
        c.seed = config.seed
        let scheduleCount = ScheduleHyperparameters.keys.count
        c.hyp = ScheduleHyperparameters(vector: Array(hyp.prefix(scheduleCount)))
        for (key, value) in zip(DetectorHyperparameters.keys, hyp.dropFirst(scheduleCount)) { c.detection[keyPath: key.keyPath] = value }
        return c
    }

    /// Trains one candidate: the recipe with these hyper-parameters, the run's seed (same
    /// initialisation and data order for every individual), then the validation metrics (for
    /// the detector, its final epoch's, as train.py's `results` under `--evolve`).
    func train(_ hyp: [Double]) throws -> EvolveMetrics {
        if let detectorData {
            let trainer = try DetectorTrainer(config: Self.detectorConfig(config, hyp: hyp), data: detectorData)
            var last: DetectorEpoch?
            try trainer.run(onEpoch: { last = $0 })
            return .detector(last!.metrics, last!.validationLoss)
        }
        var c = TrainingConfig()
        c.model = config.model.toy!
        c.epochs = config.epochs
        c.seed = config.seed
        c.hyp = ScheduleHyperparameters(vector: hyp)
        let trainer = try Trainer(config: c, data: data)
        try trainer.run()
        return .classifier(trainer.validationMetrics())
    }

    /// Trains every missing individual, `workers` at a time (the results do not depend on it);
    /// a shard waits for the others as `runShard(wait: .poll(seconds: 2))` does.
    public func run(workers: Int = GEMM.defaultThreadCount, progress: @escaping (String) -> Void = { _ in }) throws -> EvolveSummary {
        let outcome = try runShard(workers: workers, wait: .poll(seconds: 2), progress: progress)
        return summary(trained: outcome.trained)
    }

    /// What a shard does when a generation needs rows another shard has not written yet.
    public enum ShardWait: Sendable {
        /// Read the other shards' files again every `seconds` until they hold them.
        case poll(seconds: Double)
        /// Return `.blocked` (a test drives the shards in turn; a scheduler could requeue).
        case returnWhenBlocked
    }

    /// How far `runShard` got.
    public enum ShardOutcome: Sendable, Equatable {
        /// Every generation's individuals of this shard are trained.
        case finished(trained: Int)
        /// Generation `generation` needs earlier rows of shard `shard` that its file does not hold yet.
        case blocked(generation: Int, shard: Int, trained: Int)

        /// Individuals trained by this call.
        public var trained: Int {
            switch self {
            case .finished(let t), .blocked(_, _, let t): t
            }
        }
    }

    /// Trains this shard's missing individuals of every generation (all of them for a whole run).
    ///
    /// Evolution over machines, as YOLOv5's `train.py --evolve --bucket` shares evolve.csv: every
    /// machine breeds its candidates from the results of all machines. YOLOv5 v7.0's machines
    /// never wait: each reads whatever rows the bucket holds (`print_mutation` downloads the
    /// bucket's evolve.csv only when it is larger than the local one, appends its row and uploads
    /// the file), so the parents depend on timing and two uploads at once lose a row. Here a
    /// generation is the barrier: shard K trains the individuals i with i mod N = K of generation
    /// g once every shard's file (evolve-J-of-N.csv in the shared directory) holds all of its
    /// individuals of generations before g, breeding from exactly the rows one machine would
    /// have; the merged file equals one machine's, byte for byte. The price: a shard that stops
    /// holds the others at the next generation until it is started again (it then continues its
    /// file), and the directory must be shared (NFS, a Kubernetes volume) rather than a bucket.
    public func runShard(workers: Int = GEMM.defaultThreadCount, wait: ShardWait,
                         progress: @escaping (String) -> Void = { _ in }) throws -> ShardOutcome {
        var trained = 0
        for g in 0..<config.generations {
            while let blocking = try readOtherShards(before: g) {
                switch wait {
                case .returnWhenBlocked: return .blocked(generation: g, shard: blocking, trained: trained)
                case .poll(let seconds):
                    progress("evolve shard \(shard): generation \(g + 1)/\(config.generations) waits for the rows of shard \(blocking)/\(shard.count)")
                    Thread.sleep(forTimeInterval: seconds)
                }
            }
            let wanted = candidates(g)
            for r in (records + others) where r.generation == g && (r.individual >= wanted.count || r.hyp != wanted[r.individual]) {
                throw HalfTraceError.file(directory + "/" + WorkShard.owner(r.individual, of: shard.count).fileName(stem: "evolve"), field: "hyp",
                                          "generation \(g) individual \(r.individual) does not match this configuration's candidates")
            }
            let done = Set(records.filter { $0.generation == g }.map(\.individual))
            let missing = wanted.indices.filter { shard.owns($0) && !done.contains($0) }
            let outcomes = concurrentMap(missing, workers: workers) { i -> Error? in
                do {
                    let metrics = try self.train(wanted[i])
                    try self.add(EvolveRecord(generation: g, individual: i, metrics: metrics, hyp: wanted[i]), progress: progress)
                    return nil
                } catch { return error }
            }
            if let error = outcomes.compactMap({ $0 }).first { throw error }
            trained += missing.count
            if shard.count == 1 { try writeBest(lastGeneration: g) }
        }
        return .finished(trained: trained)
    }

    /// Reads the other shards' files; returns the first shard whose file lacks an individual of
    /// a generation before `g`, or nil when every one is there.
    func readOtherShards(before g: Int) throws -> Int? {
        guard shard.count > 1 else { return nil }
        var read: [EvolveRecord] = []
        for j in 0..<shard.count where j != shard.index {
            let other = try WorkShard(j, of: shard.count)
            let path = directory + "/" + other.fileName(stem: "evolve")
            let needed = g * (0..<config.population).filter { other.owns($0) }.count
            guard FileManager.default.fileExists(atPath: path) else {
                if needed == 0 { continue }
                return j
            }
            let rows = try Self.read(path, config: config, shard: other)
            if rows.filter({ $0.generation < g }).count < needed { return j }
            read += rows
        }
        lock.lock()
        others = read
        lock.unlock()
        return nil
    }

    /// The run's result from the records known (a shard's own and the others' read so far).
    public func summary(trained: Int) -> EvolveSummary { Self.summary(allRecords, trained: trained) }

    /// The summary of `records` (in (generation, individual) order, at least one).
    static func summary(_ records: [EvolveRecord], trained: Int) -> EvolveSummary {
        EvolveSummary(records: records, best: best(records)!, base: records.first { $0.generation == 0 && $0.individual == 0 } ?? records[0], trained: trained)
    }

    /// Every record known, in (generation, individual) order.
    var allRecords: [EvolveRecord] {
        (records + others).sorted { ($0.generation, $0.individual) < ($1.generation, $1.individual) }
    }

    func add(_ record: EvolveRecord, progress: (String) -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        records.append(record)
        records.sort { ($0.generation, $0.individual) < ($1.generation, $1.individual) }
        try AtomicFile.write(EvolveCSV.text(records, model: config.model), to: csvPath)
        let best = Self.best(records + others)!
        progress("evolve: generation \(record.generation + 1)/\(config.generations), individual \(record.individual + 1)/\(config.population): fitness \(Format.fixed(record.fitness, 4)) (best \(Format.fixed(best.fitness, 4)))")
    }

    /// The best record (ties: the earliest).
    static func best(_ records: [EvolveRecord]) -> EvolveRecord? {
        records.sorted { ($0.generation, $0.individual) < ($1.generation, $1.individual) }
            .reduce(nil) { best, r in best.map { r.fitness > $0.fitness ? r : $0 } ?? r }
    }

    func writeBest(lastGeneration: Int) throws {
        try Self.writeBest(records, config: config, lastGeneration: lastGeneration, to: yamlPath)
    }

    /// hyp_evolve.yaml of `records`: the best individual's hyper-parameters, with YOLOv5's header.
    static func writeBest(_ records: [EvolveRecord], config: EvolveConfig, lastGeneration: Int, to yamlPath: String) throws {
        guard let best = best(records) else { return }
        let formula = config.model == .detector
            ? "fitness = 0.1 * mAP@0.5 + 0.9 * mAP@0.5:0.95 (YOLOv5's fitness)"
            : "fitness = 0.1 * accuracy + 0.9 * confident_accuracy (mean accuracy at confidence >= 0.50:0.95)"
        let header = [
            "HalfTrace hyper-parameter evolution results (\(config.strategy.rawValue), \(config.model.rawValue), seed \(config.seed))",
            "Best generation: \(best.generation) (individual \(best.individual))",
            "Last generation: \(lastGeneration)",
            formula,
            zip(EvolveCSV.metricColumns(for: config.model), best.metrics.values).map { "\($0) \($1)" }.joined(separator: ", ") + ", fitness \(best.fitness)",
        ]
        try AtomicFile.write(HypFile.text(zip(config.table.map(\.name), best.hyp).map { ($0, $1) }, header: header), to: yamlPath)
    }
}

extension Evolution {
    /// Joins the shards' files in `directories` (each with its evolve_config.json) into
    /// `out`/evolve.csv, evolve_config.json and hyp_evolve.yaml: the files one machine writes for
    /// the same configuration, byte for byte. Refused, with nothing written, unless the
    /// directories hold one configuration, every shard of one N exactly once, each finished, and
    /// every row the candidate its generation breeds from the rows before it.
    public static func merge(_ directories: [String], into out: String) throws -> (config: EvolveConfig, summary: EvolveSummary) {
        guard !directories.isEmpty else { throw HalfTraceError.invalid("merge", "no directory given") }
        var config: EvolveConfig?, configFile = ""
        var files: [(path: String, shard: WorkShard)] = []
        for dir in directories {
            let configPath = dir + "/evolve_config.json"
            guard let saved = FileManager.default.contents(atPath: configPath) else { throw HalfTraceError.inaccessible(configPath, "missing or unreadable") }
            let c: EvolveConfig
            do { c = try JSONDecoder().decode(EvolveConfig.self, from: saved) } catch { throw HalfTraceError.file(configPath, "not an evolution configuration") }
            if let config, let change = configurationChanges(from: config, to: c).first {
                throw HalfTraceError(.invalidValue, field: change.field, file: configPath, "\(change.new) where \(configFile) has \(change.old): shards of another run")
            }
            (config, configFile) = (c, configFile.isEmpty ? configPath : configFile)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            let shards = names.compactMap { name in WorkShard.parseFileName(name, stem: "evolve").map { (path: dir + "/" + name, shard: $0) } }
            guard !shards.isEmpty else { throw HalfTraceError.inaccessible(dir, "holds no evolve-K-of-N.csv") }
            files += shards
        }
        let c = config!, n = files[0].shard.count
        var byShard: [Int: String] = [:]
        for f in files {
            guard f.shard.count == n else { throw HalfTraceError.file(f.path, "shard \(f.shard) of another split than \(files[0].path) (N = \(n))") }
            if let other = byShard[f.shard.index] { throw HalfTraceError.file(f.path, "shard \(f.shard) is also \(other)") }
            byShard[f.shard.index] = f.path
        }
        if let missing = (0..<n).first(where: { byShard[$0] == nil }) { throw HalfTraceError.invalid("merge", "shard \(missing)/\(n) is missing (evolve-\(missing)-of-\(n).csv)") }
        var records: [EvolveRecord] = []
        for f in files {
            let rows = try read(f.path, config: c, shard: f.shard)
            let expected = c.generations * (0..<c.population).filter { f.shard.owns($0) }.count
            guard rows.count == expected else {
                throw HalfTraceError.file(f.path, "holds \(rows.count) of its \(expected) individuals: shard \(f.shard) has not finished")
            }
            records += rows
        }
        records.sort { ($0.generation, $0.individual) < ($1.generation, $1.individual) }
        for g in 0..<c.generations {
            let wanted = candidates(g, config: c, records: records)
            for r in records where r.generation == g && r.hyp != wanted[r.individual] {
                throw HalfTraceError.file(byShard[r.individual % n]!, field: "hyp", "generation \(g) individual \(r.individual) is not the candidate the earlier generations breed")
            }
        }
        try AtomicFile.makeDirectory(out)
        try AtomicFile.write(EvolveCSV.text(records, model: c.model), to: out + "/evolve.csv")
        try AtomicFile.write(try json(c), to: out + "/evolve_config.json")
        try writeBest(records, config: c, lastGeneration: c.generations - 1, to: out + "/hyp_evolve.yaml")
        return (c, summary(records, trained: 0))
    }
}
