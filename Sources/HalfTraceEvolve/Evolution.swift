import Foundation
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

/// What an evolution run depends on; saved as DIR/evolve_config.json and checked on resume.
public struct EvolveConfig: Sendable, Codable, Equatable {
    public var model: ToyModel = .tiny
    public var strategy: EvolveStrategy = .classic
    public var generations = 10
    public var population = 8
    public var epochs = 10
    public var seed: UInt64 = 0
    public var base = ScheduleHyperparameters()

    public init() {}

    public func validate() throws {
        guard model == .tiny || model == .mlp else { throw HalfTraceError.invalid("model", "evolution runs on tiny or mlp, not \(model.rawValue)") }
        try HalfTraceError.check("generations", generations, in: 1...1_000_000)
        try HalfTraceError.check("population", population, in: 1...10_000)
        guard strategy == .classic || population >= 2 else { throw HalfTraceError.invalid("population", "the genetic algorithm needs at least 2") }
        try HalfTraceError.check("epochs", epochs, in: 1...10_000)
        do { try base.validate() } catch let e as HalfTraceError { throw e.inField("base") }
    }
}

/// One trained individual: a row of evolve.csv.
public struct EvolveRecord: Sendable, Equatable {
    public var generation: Int
    public var individual: Int
    public var metrics: ValidationMetrics
    public var hyp: [Double]
    public var fitness: Double { metrics.fitness }
}

/// evolve.csv: one row per trained individual, in (generation, individual) order; every number
/// parses back to the identical Double.
public enum EvolveCSV {
    public static let columns = ["generation", "individual", "accuracy", "confident_accuracy", "val_loss", "fitness"]
        + HyperparameterMeta.table.map(\.name)

    public static func text(_ records: [EvolveRecord]) -> String {
        ([columns.joined(separator: ",")] + records.map { r in
            (["\(r.generation)", "\(r.individual)", "\(r.metrics.accuracy)", "\(r.metrics.confidentAccuracy)",
              "\(r.metrics.loss)", "\(r.fitness)"] + r.hyp.map { "\($0)" }).joined(separator: ",")
        }).joined(separator: "\n") + "\n"
    }

    /// Parses evolve.csv, refusing anything an evolution run with `config` cannot have written:
    /// a row out of (generation, individual) order or repeated, an individual outside the
    /// population, an accuracy outside [0, 1], a fitness that is not the weighted metric, a
    /// hyper-parameter outside its bounds or not rounded to 5 decimals. Errors name file:line.
    public static func parse(_ text: String, path: String, config: EvolveConfig) throws -> [EvolveRecord] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first == columns.joined(separator: ",") else {
            throw HalfTraceError.file(path, line: 1, "expected the header \(columns.joined(separator: ","))")
        }
        var records: [EvolveRecord] = []
        for (k, line) in lines.enumerated().dropFirst() {
            if line.isEmpty && k == lines.count - 1 { break }
            func fail(_ field: String?, _ reason: String) -> HalfTraceError { HalfTraceError.file(path, line: k + 1, field: field, reason) }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns.count else { throw fail(nil, "\(fields.count) fields, expected \(columns.count)") }
            let v = try fields.enumerated().map { i, f -> Double in
                guard let x = Double(f), x.isFinite || i == 4 else { throw fail(columns[i], "'\(f.prefix(40))' is not a number") }
                return x
            }
            guard let generation = Int(exactly: v[0]), let individual = Int(exactly: v[1]),
                  (0..<config.generations).contains(generation), (0..<config.population).contains(individual) else {
                throw fail("generation", "generation \(v[0]) individual \(v[1]) is outside the run's \(config.generations) generations of \(config.population)")
            }
            if let last = records.last, (last.generation, last.individual) >= (generation, individual) {
                throw fail("individual", "generation \(generation) individual \(individual) repeats or comes after generation \(last.generation) individual \(last.individual)")
            }
            for (i, name) in [(2, "accuracy"), (3, "confident_accuracy")] where !(0...1).contains(v[i]) {
                throw fail(name, "\(v[i]) is outside [0, 1]")
            }
            if !(v[4] >= 0 || v[4].isNaN) { throw fail("val_loss", "\(v[4]) is negative") }
            let hyp = Array(v[6...])
            for (value, key) in zip(hyp, HyperparameterMeta.table) where !(key.lower...key.upper).contains(value) || HyperparameterMeta.round5(value) != value {
                throw fail(key.name, "\(value) is outside [\(key.lower), \(key.upper)] or not rounded to 5 decimals")
            }
            let record = EvolveRecord(generation: generation, individual: individual,
                                      metrics: ValidationMetrics(accuracy: v[2], confidentAccuracy: v[3], loss: v[4]), hyp: hyp)
            guard abs(record.fitness - v[5]) <= 1e-12 else {
                throw fail("fitness", "\(v[5]) does not equal 0.1 * accuracy + 0.9 * confident_accuracy")
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

/// Hyper-parameter evolution on a toy model (YOLOv5's `train.py --evolve`, v7.0 and master): DIR/evolve.csv, DIR/hyp_evolve.yaml (the
/// best, readable by `train --hyp`), DIR/evolve_config.json. The individuals of a generation
/// train in parallel on both cores; rows are written in (generation, individual) order after each
/// individual, atomically, so results never depend on the number of threads and an interrupted
/// run resumes with nothing lost and nothing trained twice.
public final class Evolution {
    public let config: EvolveConfig
    public let directory: String
    let data: DataSplit
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
        data = try config.model.loadData(digitsPath: digitsPath)
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
        let base = config.base.vector
        switch config.strategy {
        case .classic:
            return Breeding.classic(generation: g, population: config.population,
                                    earlier: records.filter { $0.generation < g }, base: base, using: &rng)
        case .ga:
            let previous = records.filter { $0.generation == g - 1 }.sorted { $0.individual < $1.individual }
            return Breeding.ga(generation: g, generations: config.generations, population: config.population,
                               previous: previous, base: base, using: &rng)
        }
    }

    /// Trains one candidate: the toy recipe with these hyper-parameters, the run's seed (same
    /// initialisation and data order for every individual), then the validation metrics.
    func train(_ hyp: [Double]) throws -> ValidationMetrics {
        var c = TrainingConfig()
        c.model = config.model
        c.epochs = config.epochs
        c.seed = config.seed
        c.hyp = ScheduleHyperparameters(vector: hyp)
        let trainer = try Trainer(config: c, data: data)
        try trainer.run()
        return trainer.validationMetrics()
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
        try AtomicFile.write(EvolveCSV.text(records), to: csvPath)
        let best = bestRecord()!
        progress("evolve: generation \(record.generation + 1)/\(config.generations), individual \(record.individual + 1)/\(config.population): fitness \(Format.fixed(record.fitness, 4)) (best \(Format.fixed(best.fitness, 4)))")
    }

    /// The best record (ties: the earliest).
    func bestRecord() -> EvolveRecord? {
        records.reduce(nil) { best, r in best.map { r.fitness > $0.fitness ? r : $0 } ?? r }
    }

    func writeBest(lastGeneration: Int) throws {
        guard let best = bestRecord() else { return }
        let header = [
            "HalfTrace hyper-parameter evolution results (\(config.strategy.rawValue), \(config.model.rawValue), seed \(config.seed))",
            "Best generation: \(best.generation) (individual \(best.individual))",
            "Last generation: \(lastGeneration)",
            "fitness = 0.1 * accuracy + 0.9 * confident_accuracy (mean accuracy at confidence >= 0.50:0.95)",
            "accuracy \(best.metrics.accuracy), confident_accuracy \(best.metrics.confidentAccuracy), val_loss \(best.metrics.loss), fitness \(best.fitness)",
        ]
        try AtomicFile.write(HypFile.text(ScheduleHyperparameters(vector: best.hyp), header: header), to: yamlPath)
    }
}
