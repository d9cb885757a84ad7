import Foundation
import HalfTraceKernels
import HalfTraceNN

/// A training run with its output directory: DIR/trace.csv (one row per iteration),
/// DIR/results.csv (one row per epoch), DIR/last.ckpt (each epoch end, and every `savePeriod`
/// iterations) and DIR/best.ckpt (best validation accuracy).
///
/// Files are written in a crash-safe order: trace.csv, results.csv, then the checkpoint, each
/// atomically. A process killed at any instant leaves a checkpoint whose rows are all in the
/// CSV files; on resume the rows written after the checkpoint are dropped, never duplicated.
public final class TrainingSession {
    /// The trainer the session runs.
    public let trainer: Trainer
    /// The output directory, or nil to write nothing.
    public let directory: String?
    /// Also save last.ckpt every this many iterations, or nil to save at epoch ends only.
    public let savePeriod: Int?
    /// What the user should know about this session (resume position, extensions).
    public private(set) var notes: [String] = []
    /// The results of the epochs this session ran.
    public private(set) var results: [EpochResult] = []
    var traceLines: [String] = []
    var resultLines: [String] = []
    /// The best validation accuracy so far and its epoch (carried over from the checkpoint on resume).
    public private(set) var best: (accuracy: Double, epoch: Int)?

    /// A session for `trainer` writing to `directory`, which is created if needed and cleared of
    /// temporaries left by killed writers.
    public init(trainer: Trainer, directory: String?, savePeriod: Int? = nil) throws {
        if let savePeriod { try HalfTraceError.check("save_period", savePeriod, in: 1...Int(Int32.max)) }
        self.trainer = trainer
        self.directory = directory
        self.savePeriod = savePeriod
        if let directory {
            try AtomicFile.makeDirectory(directory)
            AtomicFile.removeStaleTemporaries(in: directory)
        }
    }

    /// Resumes the run saved in `checkpoint`. `config` is the checkpoint's configuration with the
    /// caller's changes applied; a changed field (a library name such as `hyp.lr0` or
    /// `batch_size`) must be listed in `overrides`, except `epochs`, which may grow (YOLOv5's
    /// fine-tune semantics, with the schedule recomputed).
    public static func resume(checkpoint: String, config change: (inout TrainingConfig) -> Void = { _ in },
                              overrides: Set<String> = [], savePeriod: Int? = nil) throws -> TrainingSession {
        let state = try Checkpoint.read(checkpoint)
        var config = state.config
        change(&config)
        let changes = configurationChanges(from: state.config.resolved, to: config.resolved)
        if let unknown = overrides.first(where: { !TrainingConfig.fieldNames.contains($0) }) {
            throw HalfTraceError.invalid("overrides", "'\(unknown)' is not a configuration field")
        }
        // Overriding the scaler's rule (`scaler.rule.framework`) replaces the whole rule.
        let ruleReplaced = overrides.contains("scaler.rule.framework")
        if let conflict = changes.first(where: { $0.field != "epochs" && !overrides.contains($0.field) && !(ruleReplaced && $0.field.hasPrefix("scaler.rule")) }) {
            throw HalfTraceError(.invalidValue, field: conflict.field, file: checkpoint,
                                 "the checkpoint was trained with \(conflict.old), the new configuration has \(conflict.new); an override is needed to change it")
        }
        guard config.epochs >= state.epoch else {
            throw HalfTraceError.invalid("epochs", "\(config.epochs) is less than the \(state.epoch) epochs already trained")
        }
        guard config.epochs >= state.config.epochs || overrides.contains("epochs") else {
            throw HalfTraceError.invalid("epochs", "\(config.epochs) would shorten the \(state.config.epochs)-epoch run; an override is needed to change it")
        }
        let directory = URL(fileURLWithPath: checkpoint).deletingLastPathComponent().path
        let trainer: Trainer
        do { trainer = try Trainer(resuming: state, config: config) } catch let e as HalfTraceError { throw e.inFile(checkpoint) }
        let session = try TrainingSession(trainer: trainer, directory: directory, savePeriod: savePeriod)
        try session.loadRows(upTo: state)
        if let a = state.bestAccuracy, let e = state.bestEpoch { session.best = (a, e) }
        for c in changes where c.field != "epochs" { session.notes.append("override \(c)") }
        if config.epochs != state.config.epochs {
            session.notes.append("\(config.epochs > state.config.epochs ? "extending" : "shortening") the run from \(state.config.epochs) to \(config.epochs) epochs: the \(config.scheduler.rawValue) schedule is recomputed for \(config.epochs) epochs (epoch \(state.epoch) trains at lr \(trainer.optimizer.groups[1].lr))")
        }
        session.notes.insert(trainer.isFinished
            ? "the run in \(checkpoint) finished all \(config.epochs) epochs; nothing to do (a larger epochs extends it)"
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
                throw HalfTraceError.inaccessible(path, "missing; it should hold the \(needed) rows the checkpoint accounts for")
            }
            let lines = text.split(whereSeparator: \.isNewline).map(String.init).dropFirst()
            guard lines.count >= needed else {
                throw HalfTraceError.file(path, "\(lines.count) rows; the checkpoint accounts for \(needed)")
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
        try AtomicFile.write(TrainingTables.traceFile(rows: traceLines), to: directory + "/trace.csv")
        try AtomicFile.write(TrainingTables.resultsFile(rows: resultLines), to: directory + "/results.csv")
        let state = trainer.state(bestAccuracy: best?.accuracy, bestEpoch: best?.epoch)
        let data = try Checkpoint.encode(state)
        try AtomicFile.write(data, to: directory + "/last.ckpt")
        if improved { try AtomicFile.write(data, to: directory + "/best.ckpt") }
    }
}
