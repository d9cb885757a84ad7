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
    var records: [EvolveRecord] = []
    let lock = NSLock()

    public var csvPath: String { directory + "/evolve.csv" }
    public var configPath: String { directory + "/evolve_config.json" }
    public var yamlPath: String { directory + "/hyp_evolve.yaml" }

    public init(config: EvolveConfig, directory: String, resume: Bool, digitsPath: String? = nil) throws {
        try config.validate()
        self.config = config
        self.directory = directory
        try AtomicFile.makeDirectory(directory)
        AtomicFile.removeStaleTemporaries(in: directory)
        data = try config.model.toy?.loadData(digitsPath: digitsPath)
        detectorData = try config.model == .detector ? Self.detectorConfig(config, hyp: config.baseVector).loadData() : nil
        let exists = FileManager.default.fileExists(atPath: csvPath)
        if resume {
            guard exists else { throw HalfTraceError.inaccessible(csvPath, "does not exist: nothing to resume") }
            guard let saved = FileManager.default.contents(atPath: configPath) else {
                throw HalfTraceError.inaccessible(configPath, "missing or unreadable")
            }
            let old: EvolveConfig
            do { old = try JSONDecoder().decode(EvolveConfig.self, from: saved) } catch {
                throw HalfTraceError.file(configPath, "not an evolution configuration")
            }
            if let change = configurationChanges(from: old, to: config).first(where: { $0.field != "generations" }) {
                throw HalfTraceError(.invalidValue, field: change.field, file: configPath,
                                     "the run in \(directory) was started with \(change.old), not \(change.new)")
            }
            guard let text = try? String(contentsOfFile: csvPath, encoding: .utf8) else {
                throw HalfTraceError.inaccessible(csvPath, "cannot read")
            }
            records = try EvolveCSV.parse(text, path: csvPath, config: config)
        } else if exists {
            throw HalfTraceError(.invalidValue, field: "directory", file: csvPath, "exists; resume that run, or choose another directory")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(try encoder.encode(config), to: configPath)
    }

    /// The candidates of generation g, rebuilt from the records of earlier generations.
    func candidates(_ g: Int) -> [[Double]] {
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

    /// Trains every missing individual, `workers` at a time (the results do not depend on it).
    public func run(workers: Int = GEMM.defaultThreadCount, progress: @escaping (String) -> Void = { _ in }) throws -> EvolveSummary {
        var trained = 0
        for g in 0..<config.generations {
            let wanted = candidates(g)
            let done = records.filter { $0.generation == g }
            for r in done where r.individual >= wanted.count || r.hyp != wanted[r.individual] {
                throw HalfTraceError.file(csvPath, field: "hyp", "generation \(g) individual \(r.individual) does not match this configuration's candidates")
            }
            let missing = wanted.indices.filter { i in !done.contains { $0.individual == i } }
            let outcomes = concurrentMap(missing, workers: workers) { i -> Error? in
                do {
                    let metrics = try self.train(wanted[i])
                    try self.add(EvolveRecord(generation: g, individual: i, metrics: metrics, hyp: wanted[i]), progress: progress)
                    return nil
                } catch { return error }
            }
            if let error = outcomes.compactMap({ $0 }).first { throw error }
            trained += missing.count
            try writeBest(lastGeneration: g)
        }
        let best = bestRecord()!
        return EvolveSummary(records: records, best: best, base: records.first { $0.generation == 0 && $0.individual == 0 }!, trained: trained)
    }

    func add(_ record: EvolveRecord, progress: (String) -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        records.append(record)
        records.sort { ($0.generation, $0.individual) < ($1.generation, $1.individual) }
        try AtomicFile.write(EvolveCSV.text(records, model: config.model), to: csvPath)
        let best = bestRecord()!
        progress("evolve: generation \(record.generation + 1)/\(config.generations), individual \(record.individual + 1)/\(config.population): fitness \(Format.fixed(record.fitness, 4)) (best \(Format.fixed(best.fitness, 4)))")
    }

    /// The best record (ties: the earliest).
    func bestRecord() -> EvolveRecord? {
        records.reduce(nil) { best, r in best.map { r.fitness > $0.fitness ? r : $0 } ?? r }
    }

    func writeBest(lastGeneration: Int) throws {
        guard let best = bestRecord() else { return }
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
