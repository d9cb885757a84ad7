import Foundation
import HalfTraceDetection
import HalfTraceKernels

/// The CSV files of a detector run: results.csv with YOLOv5 v7.0's columns (named as its
/// `utils/loggers/__init__.py` names them) followed by HalfTrace's, and trace.csv with the toy
/// runs' per-iteration columns. Numbers print as the shortest text that reads back as the same
/// Double.
public enum DetectorTables {
    /// YOLOv5's results.csv keys, after `epoch`.
    public static let yolov5Columns = ["train/box_loss", "train/obj_loss", "train/cls_loss", "metrics/precision", "metrics/recall",
                                       "metrics/mAP_0.5", "metrics/mAP_0.5:0.95", "val/box_loss", "val/obj_loss", "val/cls_loss",
                                       "x/lr0", "x/lr1", "x/lr2"]
    /// The header of the detector's results.csv.
    public static let resultsColumns = ["epoch"] + yolov5Columns + ["scale", "skipped", "underflow_fraction", "stalled_updates", "fitness"]

    /// One results.csv row.
    public static func resultsRow(_ r: DetectorEpoch) -> String {
        let values: [Double] = [r.trainLoss.box, r.trainLoss.obj, r.trainLoss.cls, r.metrics.precision, r.metrics.recall,
                                r.metrics.map50, r.metrics.map, r.validationLoss.box, r.validationLoss.obj, r.validationLoss.cls]
            + r.lr + [r.scale]
        return (["\(r.epoch)"] + values.map(\.description) + ["\(r.skipped)", r.underflowFraction.description, r.stalledFraction.description, r.fitness.description])
            .joined(separator: ",")
    }

    /// results.csv from its rows.
    public static func resultsFile(rows: [String]) -> String {
        ([resultsColumns.joined(separator: ",")] + rows).joined(separator: "\n") + "\n"
    }

    /// The header `train --model detector` prints above its per-epoch lines.
    /// (`time` is the wall clock since the first epoch began, at the end of the epoch's validation:
    /// the console's only, never in results.csv, which stays bit-identical from run to run.)
    public static let consoleHeader = "epoch   box_loss   obj_loss   cls_loss         P         R    mAP@.5  mAP@.5:.95      scale  skipped    time/s"

    /// The line `train --model detector` prints for an epoch, `seconds` after the first began,
    /// aligned with `consoleHeader`.
    public static func consoleLine(_ r: DetectorEpoch, seconds: Double) -> String {
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        return pad("\(r.epoch)", 5) + pad(Format.fixed(r.trainLoss.box, 4), 11) + pad(Format.fixed(r.trainLoss.obj, 4), 11)
            + pad(Format.fixed(r.trainLoss.cls, 4), 11) + pad(Format.fixed(r.metrics.precision, 3), 10) + pad(Format.fixed(r.metrics.recall, 3), 10)
            + pad(Format.fixed(r.metrics.map50, 3), 10) + pad(Format.fixed(r.metrics.map, 3), 12)
            + pad(TrainingTables.compact(r.scale), 11) + pad("\(r.skipped)", 9) + pad(Format.fixed(seconds, 1), 10)
    }
}

/// A detector run with its output directory: DIR/results.csv (one row per epoch) and DIR/trace.csv
/// (one row per iteration), each rewritten whole and renamed into place after every epoch, so a
/// killed run leaves complete files of the epochs it finished.
public final class DetectorSession {
    /// The trainer the session runs.
    public let trainer: DetectorTrainer
    /// The output directory, or nil to write nothing.
    public let directory: String?
    /// Every epoch's row, in order.
    public private(set) var results: [DetectorEpoch] = []
    /// The best fitness so far and its epoch.
    public private(set) var best: (fitness: Double, epoch: Int)?
    var traceLines: [String] = []
    var resultLines: [String] = []

    /// A session for `trainer` writing into `directory` (created if needed).
    public init(trainer: DetectorTrainer, directory: String?) throws {
        self.trainer = trainer
        self.directory = directory
        if let directory {
            try AtomicFile.makeDirectory(directory)
            AtomicFile.removeStaleTemporaries(in: directory)
        }
    }

    /// Runs to the end, writing the files after each epoch.
    public func run(onIteration: (IterationRecord) throws -> Void = { _ in }, onEpoch: (DetectorEpoch) throws -> Void = { _ in }) throws {
        try trainer.run(onIteration: { record in
            traceLines.append(TrainingTables.traceRow(record))
            try onIteration(record)
        }, onEpoch: { result in
            results.append(result)
            resultLines.append(DetectorTables.resultsRow(result))
            if best.map({ result.fitness > $0.fitness }) ?? true { best = (result.fitness, result.epoch) }
            if let directory {
                try AtomicFile.write(TrainingTables.traceFile(rows: traceLines), to: directory + "/trace.csv")
                try AtomicFile.write(DetectorTables.resultsFile(rows: resultLines), to: directory + "/results.csv")
            }
            try onEpoch(result)
        })
    }
}
