import Foundation
import HalfTraceNN

/// A training run with its output directory: DIR/trace.csv (one row per iteration),
/// DIR/results.csv (one row per epoch), DIR/last.ckpt (each epoch end, and every `savePeriod`
/// iterations) and DIR/best.ckpt (best validation accuracy).
///
/// Files are written in a crash-safe order: trace.csv, results.csv, then the checkpoint, each
/// atomically. A process killed at any instant leaves a checkpoint whose rows are all in the
/// CSV files; on resume the rows written after the checkpoint are dropped, never duplicated.
public final class TrainingSession {
    public let trainer: Trainer
    public let directory: String?
    public let savePeriod: Int?
    /// What the user should know about this session (resume position, extensions).
    public private(set) var notes: [String] = []
    public private(set) var results: [EpochResult] = []
    var traceLines: [String] = []
    var resultLines: [String] = []
    public private(set) var best: (accuracy: Double, epoch: Int)?

    public init(trainer: Trainer, directory: String?, savePeriod: Int? = nil) throws {
        if let savePeriod, savePeriod < 1 { throw CheckpointError("--save-period \(savePeriod) is invalid: expected an integer >= 1") }
        self.trainer = trainer
        self.directory = directory
        self.savePeriod = savePeriod
        if let directory {
            try AtomicFile.makeDirectory(directory)
            AtomicFile.removeStaleTemporaries(in: directory)
        }
    }

    /// Resumes the run saved in `checkpoint`. `config` is the checkpoint's configuration with the
    /// caller's changes applied; a changed field must be listed in `overrides`, except `epochs`,
    /// which may grow (YOLOv5's fine-tune semantics, with the schedule recomputed).
    public static func resume(checkpoint: String, config change: (inout TrainingConfig) -> Void = { _ in },
                              overrides: Set<String> = [], savePeriod: Int? = nil) throws -> TrainingSession {
        let state = try Checkpoint.read(checkpoint)
        var config = state.config
        change(&config)
        let conflicts = config.differences(from: state.config).filter { $0.field != "epochs" && !overrides.contains($0.field) }
        if !conflicts.isEmpty {
            throw CheckpointError(conflicts.map {
                "\($0.field): the checkpoint was trained with \($0.old), the command line says \($0.new) (add --override \($0.field) to change it)"
            }.joined(separator: "\n"))
        }
        guard config.epochs >= state.epoch else {
            throw CheckpointError("--epochs \(config.epochs) is less than the \(state.epoch) epochs already trained")
        }
        let directory = URL(fileURLWithPath: checkpoint).deletingLastPathComponent().path
        let trainer = try Trainer(resuming: state, config: config)
        let session = try TrainingSession(trainer: trainer, directory: directory, savePeriod: savePeriod)
        try session.loadRows(upTo: state)
        if let a = state.bestAccuracy, let e = state.bestEpoch { session.best = (a, e) }
        for c in config.differences(from: state.config) where c.field != "epochs" {
            session.notes.append("override \(c.field): \(c.old) -> \(c.new)")
        }
        if config.epochs != state.config.epochs {
            session.notes.append("extending the run from \(state.config.epochs) to \(config.epochs) epochs: the \(config.cosineLR ? "one_cycle" : "linear") schedule is recomputed for \(config.epochs) epochs (epoch \(state.epoch) trains at lr \(trainer.optimizer.groups[1].lr))")
        }
        session.notes.insert(trainer.isFinished
            ? "the run in \(checkpoint) finished all \(config.epochs) epochs; nothing to do (pass a larger --epochs to extend it)"
            : "resuming \(checkpoint) at epoch \(state.epoch), batch \(state.batch) (iteration \(state.iterationsDone))", at: 0)
        return session
    }

    /// Keeps the CSV rows the checkpoint accounts for and drops the rest.
    func loadRows(upTo state: TrainerState) throws {
        guard let directory else { return }
        func rows(_ name: String, _ needed: Int) throws -> [String] {
            let path = directory + "/" + name
            guard needed > 0 else { return [] }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CheckpointError("\(path) is missing; it should hold the \(needed) rows the checkpoint accounts for")
            }
            let lines = text.split(separator: "\n").map(String.init).dropFirst()
            guard lines.count >= needed else {
                throw CheckpointError("\(path) has \(lines.count) rows; the checkpoint accounts for \(needed)")
            }
            return Array(lines.prefix(needed))
        }
        traceLines = try rows("trace.csv", state.iterationsDone)
        resultLines = try rows("results.csv", state.epoch)
    }

    /// Runs to the end (or, as if interrupted, until `stopAfter` iterations of the whole run are
    /// done, saving a checkpoint there), saving as configured.
    public func run(stopAfter: Int? = nil, onIteration: (IterationRecord) throws -> Void = { _ in },
                    onEpoch: (EpochResult) throws -> Void = { _ in }) throws {
        while !trainer.isFinished {
            if let stopAfter, trainer.iterationsDone >= stopAfter {
                try save(best: false)
                return
            }
            let (record, result) = try trainer.step()
            traceLines.append(TrainingTables.traceRow(record))
            try onIteration(record)
            if let result {
                results.append(result)
                resultLines.append(TrainingTables.resultsRow(result))
                let improved = best.map { result.validationAccuracy > $0.accuracy } ?? true
                if improved { best = (result.validationAccuracy, result.epoch) }
                try save(best: improved)
                try onEpoch(result)
            } else if let savePeriod, (record.iteration + 1) % savePeriod == 0 {
                try save(best: false)
            }
        }
    }

    func save(best improved: Bool) throws {
        guard let directory else { return }
        try AtomicFile.write(([TrainingTables.traceColumns.joined(separator: ",")] + traceLines).joined(separator: "\n") + "\n",
                             to: directory + "/trace.csv")
        try AtomicFile.write(([TrainingTables.resultsColumns.joined(separator: ",")] + resultLines).joined(separator: "\n") + "\n",
                             to: directory + "/results.csv")
        let state = trainer.state(bestAccuracy: best?.accuracy, bestEpoch: best?.epoch)
        let data = try Checkpoint.encode(state)
        try AtomicFile.write(data, to: directory + "/last.ckpt")
        if improved { try AtomicFile.write(data, to: directory + "/best.ckpt") }
    }
}

extension TrainingConfig {
    /// Fields that differ, named as the command-line flags.
    public func differences(from other: TrainingConfig) -> [(field: String, old: String, new: String)] {
        func show(_ v: Any?) -> String { v.map { "\($0)" } ?? "none" }
        let pairs: [(String, Any?, Any?)] = [
            ("model", other.model.rawValue, model.rawValue), ("precision", other.precision.rawValue, precision.rawValue),
            ("epochs", other.epochs, epochs), ("batch-size", other.effectiveBatchSize, effectiveBatchSize),
            ("nbs", other.nominalBatchSize, nominalBatchSize), ("optimizer", other.optimizer.rawValue, optimizer.rawValue),
            ("lr0", other.hyp.lr0, hyp.lr0), ("lrf", other.hyp.lrf, hyp.lrf), ("momentum", other.hyp.momentum, hyp.momentum),
            ("weight-decay", other.hyp.weightDecay, hyp.weightDecay), ("warmup-epochs", other.hyp.warmupEpochs, hyp.warmupEpochs),
            ("warmup-momentum", other.hyp.warmupMomentum, hyp.warmupMomentum),
            ("warmup-bias-lr", other.hyp.warmupBiasLR, hyp.warmupBiasLR), ("cos-lr", other.cosineLR, cosineLR),
            ("yolov5-lag", other.yolov5Lag, yolov5Lag), ("scaler", other.scaler.enabled, scaler.enabled),
            ("init-scale", other.scaler.initScale, scaler.initScale), ("growth-interval", other.scaler.growthInterval, scaler.growthInterval),
            ("min-scale", other.scaler.minScale, scaler.minScale), ("max-scale", other.scaler.maxScale, scaler.maxScale),
            ("hysteresis", other.scaler.hysteresis, scaler.hysteresis), ("hysteresis-refill", other.scaler.refill.rawValue, scaler.refill.rawValue),
            ("clip-norm", other.clipNorm, clipNorm), ("loss-gain", other.lossGain, lossGain), ("seed", other.seed, seed),
            ("data", other.digitsPath, digitsPath),
        ]
        return pairs.compactMap { name, a, b in show(a) == show(b) ? nil : (name, show(a), show(b)) }
    }
}
