import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// A YOLOv5 7.0 run directory as the release writes it (opt.yaml, hyp.yaml, results.csv with
/// `%20.5g` columns) and steps.csv as `Tools/halftrace_steps.py` writes it, its values made by
/// the release's own rules (`ScheduleSimulator`), with a GradScaler that overflows every
/// `overflowEvery` iterations. For measuring `verify` at scale: the default is COCO's (118,287
/// images at batch 16: nb 7,393, 300 epochs, 2,217,900 iterations). A snapshot of the rules,
/// not a check of them.
public enum SyntheticRun {
    /// The shape of the run.
    public struct Shape: Sendable {
        /// Epochs.
        public var epochs = 300
        /// Batches per epoch.
        public var batchesPerEpoch = 7393
        /// Batch size (accumulate 64 / 16 = 4).
        public var batchSize = 16
        /// An inf gradient every this many iterations (0: none).
        public var overflowEvery = 25_000
        /// COCO with YOLOv5's defaults.
        public init() {}
    }

    /// Writes the run into `directory` (which must not exist), calling `progress` with the
    /// fraction written.
    public static func writeYOLOv5(_ directory: String, shape: Shape = Shape(), progress: (Double) -> Void = { _ in }) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory) else { throw HalfTraceError.inaccessible(directory, "exists; give a new directory") }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var hyp = ScheduleHyperparameters()
        (hyp.lr0, hyp.lrf, hyp.momentum, hyp.weightDecay) = (0.01, 0.01, 0.937, 0.0005)
        (hyp.warmupEpochs, hyp.warmupMomentum, hyp.warmupBiasLR) = (3, 0.8, 0.1)
        let opt = "weights: yolov5s.pt\ncfg: ''\ndata: data/coco.yaml\nhyp: data/hyps/hyp.scratch-low.yaml\nepochs: \(shape.epochs)\n"
            + "batch_size: \(shape.batchSize)\nimgsz: 640\nrect: false\nresume: false\noptimizer: SGD\ncos_lr: false\nseed: 0\n"
        try AtomicFile.write(Data(opt.utf8), to: directory + "/opt.yaml")
        let hypText = ScheduleHyperparameters.keys.map { "\($0.name): \(hyp[keyPath: $0.keyPath])" }.joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(hypText.utf8), to: directory + "/hyp.yaml")
        let results = ResultsLog(path: directory + "/results.csv", lrColumns: ["x/lr0", "x/lr1", "x/lr2"], rows: [], padded: true, hasTime: false)
        let run = LoggedRun(package: .yolov5, directory: directory, settingsFile: directory + "/opt.yaml", settingsKeys: [], epochs: shape.epochs,
                            batchSize: shape.batchSize, nominalBatchSize: 64, hyp: hyp, cosine: false, optimizer: "SGD", data: nil,
                            results: results, steps: nil, version: nil)
        let rules = ReleaseRules.covering(.yolov5, ReleaseVersion(7, 0, 14))!
        let plan = try RunPlan(run, rules: rules, batchesPerEpoch: shape.batchesPerEpoch, images: nil, classes: nil)

        let columns = ["epoch", "train/box_loss", "train/obj_loss", "train/cls_loss", "metrics/precision", "metrics/recall", "metrics/mAP_0.5",
                       "metrics/mAP_0.5:0.95", "val/box_loss", "val/obj_loss", "val/cls_loss", "x/lr0", "x/lr1", "x/lr2"]
        func padded(_ s: String) -> String { String(repeating: " ", count: max(0, 20 - s.count)) + s }
        var csv = columns.map(padded).joined(separator: ",") + "\n"
        for (epoch, lr) in ScheduleSimulator.loggedEpochs(plan).enumerated() {
            let values = [Double(epoch)] + [Double](repeating: 0, count: 10) + lr
            csv += values.map { padded(String(format: "%.5g", $0)) }.joined(separator: ",") + "\n"
        }
        try AtomicFile.write(Data(csv.utf8), to: directory + "/results.csv")

        // steps.csv, streamed to a temporary file and renamed.
        let path = directory + "/steps.csv", temporary = path + ".partial"
        guard fm.createFile(atPath: temporary, contents: nil), let out = FileHandle(forWritingAtPath: temporary) else {
            throw HalfTraceError.inaccessible(temporary, "cannot write")
        }
        defer { try? out.close() }
        var text = "# halftrace steps v1: yolov5 7.0.14, torch 2.13.0\n"
            + "ni,epoch,i,accumulate,optimizer_step,lr_pg0,lr_pg1,lr_pg2,momentum_pg0,momentum_pg1,momentum_pg2,scale,found_inf\n"
        var replay = ScheduleSimulator.Replay(plan)
        let scaler = LossScaleRule.defaults(.pytorch)
        var state = scaler.initialState, pendingInf = false
        let total = shape.epochs * shape.batchesPerEpoch
        for ni in 0..<total {
            let epoch = ni / shape.batchesPerEpoch, i = ni % shape.batchesPerEpoch
            let p = replay.next(ni: ni, epoch: epoch, i: i, resumes: false)
            if shape.overflowEvery > 0 && ni > 0 && ni % shape.overflowEvery == 0 { pendingInf = true }
            let scale = state.scale
            var foundInf = false
            if p.due {
                foundInf = pendingInf
                try scaler.update(&state, foundInf: foundInf)
                pendingInf = false
            }
            text += "\(ni),\(epoch),\(i),\(p.accumulate),\(p.due && !foundInf ? 1 : 0),"
            text += p.lr.map { "\($0)" }.joined(separator: ",") + "," + p.momentum.map { "\($0)" }.joined(separator: ",")
            text += ",\(scale),\(foundInf ? 1 : 0)\n"
            if text.utf8.count >= 1 << 20 {
                try out.write(contentsOf: Data(text.utf8))
                text = ""
                progress(Double(ni + 1) / Double(total))
            }
        }
        try out.write(contentsOf: Data(text.utf8))
        try out.close()
        guard rename(temporary, path) == 0 else { throw HalfTraceError.inaccessible(path, "cannot rename \(temporary)") }
        progress(1)
    }
}
