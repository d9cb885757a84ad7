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
        guard model != .wide else { throw EvolveError("--model: evolution runs on tiny or mlp") }
        guard (1...100_000).contains(generations) else { throw EvolveError("--generations: \(generations) is outside 1...100000") }
        guard (1...10_000).contains(population) else { throw EvolveError("--population: \(population) is outside 1...10000") }
        guard strategy == .classic || population >= 2 else { throw EvolveError("--population: the genetic algorithm needs at least 2") }
        guard (1...10_000).contains(epochs) else { throw EvolveError("--epochs: \(epochs) is outside 1...10000") }
        do { try base.validate() } catch let e as ParameterError { throw EvolveError("--hyp: \(e)") }
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

public struct EvolveError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// evolve.csv: one row per trained individual, in (generation, individual) order; every number
/// parses back to the identical Double.
public enum EvolveCSV {
    public static let columns = ["generation", "individual", "accuracy", "confident_accuracy", "val_loss", "fitness"]
        + HyperparameterMeta.table.map(\.key)

    public static func text(_ records: [EvolveRecord]) -> String {
        ([columns.joined(separator: ",")] + records.map { r in
            (["\(r.generation)", "\(r.individual)", "\(r.metrics.accuracy)", "\(r.metrics.confidentAccuracy)",
              "\(r.metrics.loss)", "\(r.fitness)"] + r.hyp.map { "\($0)" }).joined(separator: ",")
        }).joined(separator: "\n") + "\n"
    }

    public static func parse(_ text: String, path: String) throws -> [EvolveRecord] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first == columns.joined(separator: ",") else {
            throw EvolveError("\(path):1: expected the header \(columns.joined(separator: ","))")
        }
        var records: [EvolveRecord] = []
        for (k, line) in lines.enumerated().dropFirst() {
            if line.isEmpty && k == lines.count - 1 { break }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                throw EvolveError("\(path):\(k + 1): \(fields.count) fields, expected \(columns.count)")
            }
            let v = try fields.enumerated().map { i, f -> Double in
                guard let x = Double(f), x.isFinite || i == 4 else { throw EvolveError("\(path):\(k + 1): \(columns[i]) '\(f)' is not a number") }
                return x
            }
            guard v[0] >= 0, v[1] >= 0, v[0] < 1e9, v[1] < 1e9, v[0] == v[0].rounded(), v[1] == v[1].rounded() else {
                throw EvolveError("\(path):\(k + 1): generation and individual must be non-negative integers")
            }
            let record = EvolveRecord(generation: Int(v[0]), individual: Int(v[1]),
                                      metrics: ValidationMetrics(accuracy: v[2], confidentAccuracy: v[3], loss: v[4]),
                                      hyp: Array(v[6...]))
            guard abs(record.fitness - v[5]) <= 1e-12 else {
                throw EvolveError("\(path):\(k + 1): fitness \(v[5]) does not equal 0.1 * accuracy + 0.9 * confident_accuracy")
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

/// Hyper-parameter evolution on a toy model (SPEC 9): DIR/evolve.csv, DIR/hyp_evolve.yaml (the
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
            guard exists else { throw EvolveError("--resume: \(csvPath) does not exist") }
            guard let saved = FileManager.default.contents(atPath: configPath),
                  let old = try? JSONDecoder().decode(EvolveConfig.self, from: saved) else {
                throw EvolveError("--resume: \(configPath) is missing or unreadable")
            }
            var comparable = old
            comparable.generations = config.generations
            guard comparable == config else {
                throw EvolveError("--resume: the run in \(directory) was started with a different configuration (\(Self.differences(old, config)))")
            }
            guard let text = try? String(contentsOfFile: csvPath, encoding: .utf8) else {
                throw EvolveError("\(csvPath): cannot read")
            }
            records = try EvolveCSV.parse(text, path: csvPath)
        } else if exists {
            throw EvolveError("--out: \(csvPath) exists; pass --resume to continue that run, or choose another directory")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(try encoder.encode(config), to: configPath)
    }

    static func differences(_ a: EvolveConfig, _ b: EvolveConfig) -> String {
        var d: [String] = []
        if a.model != b.model { d.append("model \(a.model.rawValue) vs \(b.model.rawValue)") }
        if a.strategy != b.strategy { d.append("strategy \(a.strategy.rawValue) vs \(b.strategy.rawValue)") }
        if a.population != b.population { d.append("population \(a.population) vs \(b.population)") }
        if a.epochs != b.epochs { d.append("epochs \(a.epochs) vs \(b.epochs)") }
        if a.seed != b.seed { d.append("seed \(a.seed) vs \(b.seed)") }
        if a.base != b.base { d.append("base hyper-parameters differ") }
        return d.joined(separator: ", ")
    }

    /// The candidates of generation g, rebuilt from the records of earlier generations.
    func candidates(_ g: Int) -> [[Double]] {
        var rng = SplitMix64.stream(seed: config.seed, index: 1_000 + UInt64(g))
        let base = HyperparameterMeta.vector(config.base)
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
        c.hyp = HyperparameterMeta.hyperparameters(hyp)
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
                throw EvolveError("\(csvPath): generation \(g) individual \(r.individual) does not match this configuration's candidates")
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
        try AtomicFile.write(HypFile.text(HyperparameterMeta.hyperparameters(best.hyp), header: header), to: yamlPath)
    }
}
