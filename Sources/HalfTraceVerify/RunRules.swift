import Foundation
import HalfTraceKernels
import HalfTraceOptim

/// How a package sets and logs the learning rate, from its source:
///
/// YOLOv5 (`train.py` v7.0): groups 0 biases, 1 weights, 2 norm weights;
/// `nw = max(round(warmup_epochs * nb), 100)`; LambdaLR built, then `last_epoch = start_epoch - 1`
/// (so after warm-up epoch e trains at lr0 * lf(e - 1)) and stepped after each epoch; the warm-up
/// interpolates towards `initial_lr * lf(epoch)`; `lr = [x['lr'] for x in param_groups]` is taken
/// after the epoch's last batch, before `scheduler.step()`. HalfTrace's `YOLOv5Schedule` with
/// `lag` replays it exactly.
///
/// Ultralytics (`engine/trainer.py`, 8.4): groups 0 weights, 1 norm weights, 2 biases (warm-up bias
/// lr by the group's `param_group == "bias"`); `nw = round(min(warmup_epochs, max(epochs - 1, 0)) *
/// nb)` with no floor (0: no warm-up); `scheduler.step()` at the *start* of every epoch (no lag);
/// linear `lf(x) = max(1 - x / epochs, 0) * (1 - lrf) + lrf`, `one_cycle` with `max(..., 0)`;
/// `optimizer: auto` picks AdamW with `lr0 = round(0.002 * 5 / (4 + nc), 6)` and warm-up bias lr
/// 0 when `ceil(images / max(batch, nbs)) * epochs <= 10000` (MuSGD otherwise, not modelled);
/// `self.lr` is taken after the epoch's last batch.
public struct RunRules: Sendable {
    public var kind: LoggedRun.Kind
    public var epochs: Int
    public var batchSize: Int
    public var nominalBatchSize: Int
    public var batchesPerEpoch: Int
    public var hyp: ScheduleHyperparameters
    public var cosine: Bool
    public var optimizer: String
    /// Training images and classes (Ultralytics' `optimizer: auto` needs them).
    public var images: Int?
    public var classes: Int?

    public init(_ run: LoggedRun, batchesPerEpoch nb: Int, images: Int? = nil, classes: Int? = nil) {
        kind = run.kind
        epochs = run.epochs
        batchSize = run.batchSize
        nominalBatchSize = run.nominalBatchSize
        batchesPerEpoch = nb
        hyp = run.hyp
        cosine = run.cosine
        optimizer = run.optimizer
        self.images = images
        self.classes = classes
    }

    /// The prediction: each group's lr at every iteration (in the run's column order), the value
    /// logged at each epoch's end, the warm-up length, and what the rules decided on the way.
    public struct Prediction: Sendable {
        public var perIteration: [[Double]]
        public var logged: [[Double]]
        public var warmupIterations: Int
        public var notes: [String]
    }

    public func predict() throws -> Prediction {
        try HalfTraceError.check("nb", batchesPerEpoch, in: 1...1_000_000)
        guard epochs * batchesPerEpoch <= 50_000_000 else { throw HalfTraceError.invalid("nb", "\(epochs) epochs of \(batchesPerEpoch) batches: too many iterations to replay") }
        switch kind {
        case .yolov5: return try yolov5()
        case .ultralytics: return try ultralytics()
        }
    }

    func yolov5() throws -> Prediction {
        let kind: OptimizerKind = switch optimizer.lowercased() {
        case "adam": .adam
        case "adamw": .adamw
        default: .sgd
        }
        let optimizer = try yolov5Optimizer(kind, biases: [], weights: [], normWeights: [], hyp: hyp, batchSize: batchSize,
                                            nominalBatchSize: nominalBatchSize)
        var schedule = try YOLOv5Schedule(optimizer: optimizer, hyp: hyp, epochs: epochs, batchesPerEpoch: batchesPerEpoch,
                                          batchSize: batchSize, nominalBatchSize: nominalBatchSize, kind: cosine ? .onecycle : .linear,
                                          lag: true)
        var perIteration: [[Double]] = [], logged: [[Double]] = []
        for epoch in 0..<epochs {
            for i in 0..<batchesPerEpoch {
                schedule.beforeBatch(iteration: i + batchesPerEpoch * epoch, epoch: epoch, batch: i, optimizer: optimizer)
                perIteration.append(optimizer.groups.map(\.lr))
            }
            logged.append(optimizer.groups.map(\.lr))
            schedule.afterEpoch(optimizer: optimizer)
        }
        return Prediction(perIteration: perIteration, logged: logged, warmupIterations: schedule.warmupIterations,
                          notes: ["YOLOv5 v7.0 rules: nw = max(round(warmup_epochs * nb), 100) = \(schedule.warmupIterations); one-epoch scheduler lag"])
    }

    func ultralytics() throws -> Prediction {
        var lr0 = hyp.lr0, biasStart = hyp.warmupBiasLR, notes: [String] = []
        if optimizer.lowercased() == "auto" {
            guard let images, let classes else {
                throw HalfTraceError.invalid("images", "optimizer: auto chooses its optimizer and lr0 from the dataset's size and classes; the dataset is not readable (give --images and --classes)")
            }
            let iterations = Int((Double(images) / Double(max(batchSize, nominalBatchSize))).rounded(.up)) * epochs
            guard iterations <= 10_000 else {
                throw HalfTraceError.invalid("optimizer", "optimizer: auto chose MuSGD (\(iterations) iterations > 10000), whose parameter groups are not modelled")
            }
            lr0 = Double(String(format: "%.6f", 0.002 * 5 / Double(4 + classes)))!  // Python's round(x, 6)
            biasStart = 0
            notes.append("optimizer: auto chose AdamW with lr0 = round(0.002 * 5 / (4 + \(classes)), 6) = \(lr0) (\(iterations) iterations <= 10000) and warm-up bias lr 0")
        }
        let warmupEpochs = min(hyp.warmupEpochs, Double(max(epochs - 1, 0)))
        let nw = warmupEpochs > 0 ? Int(roundHalfEven(warmupEpochs * Double(batchesPerEpoch))) : 0
        let e = Double(epochs)
        func lf(_ x: Double) -> Double {
            if cosine { return max((1 - Double.cos(x * Double.pi / e)) / 2, 0) * (hyp.lrf - 1) + 1 }
            return max(1 - x / e, 0) * (1.0 - hyp.lrf) + hyp.lrf
        }
        var perIteration: [[Double]] = [], logged: [[Double]] = []
        for epoch in 0..<epochs {
            let target = lr0 * lf(Double(epoch))  // scheduler.step() at the epoch's start
            var lr = [target, target, target]
            for i in 0..<batchesPerEpoch {
                let ni = i + batchesPerEpoch * epoch
                if nw > 0 && ni <= nw {
                    let xi = [0, Double(nw)]
                    lr = (0..<3).map { j in try! interp(Double(ni), xi, [j == 2 ? biasStart : 0, target]) }
                }
                perIteration.append(lr)
            }
            logged.append(lr)
        }
        notes.insert("Ultralytics 8.4 rules: nw = round(min(warmup_epochs, epochs - 1) * nb) = \(nw); scheduler stepped at each epoch's start (no lag)", at: 0)
        return Prediction(perIteration: perIteration, logged: logged, warmupIterations: nw, notes: notes)
    }
}
