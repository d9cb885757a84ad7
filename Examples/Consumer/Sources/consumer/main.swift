// YOLOv5's recipe in a loop of your own: warm-up, one-cycle schedule, gradient accumulation and
// a GradScaler under float16 autocast (the code of the "Use GradScaler and the YOLOv5 schedule
// in your own loop" article), then the lr log checked against the formula.
import Foundation
import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim
import HalfTraceTraining
import HalfTraceVerify

do {
    // Two classes: is the sum of 8 features positive? 512 rows, batches of 16.
    var rng = SplitMix64(seed: 7)
    let rows = 512, features = 8, batchSize = 16, epochs = 12
    let x = (0..<(rows * features)).map { _ in Double.random(in: -1...1, using: &rng) }
    let labels = (0..<rows).map { r in x[(r * features)..<((r + 1) * features)].reduce(0, +) > 0 ? 1 : 0 }
    let model = MLP(sizes: [features, 32, 2], activation: .relu, using: &rng)

    // YOLOv5's three parameter groups, SGD with Nesterov momentum, decay scaled by bs * accumulate / nbs.
    let hyp = ScheduleHyperparameters()  // hyp.scratch-low: lr0 0.01, lrf 0.01, warm-up 3 epochs
    let groups = model.parameterGroups
    let optimizer = try yolov5Optimizer(.sgd, biases: groups.biases, weights: groups.weights, normWeights: groups.normWeights,
                                        hyp: hyp, batchSize: batchSize, nominalBatchSize: 64)
    let nb = rows / batchSize
    var schedule = try YOLOv5Schedule(optimizer: optimizer, hyp: hyp, epochs: epochs, batchesPerEpoch: nb,
                                      batchSize: batchSize, nominalBatchSize: 64, kind: .onecycle)
    let scaler = try GradScaler()  // PyTorch's defaults: 2^16, x2 every 2000 clean steps, x0.5 on overflow

    var lastOptimizerStep = -1, steps = 0, skipped = 0
    var log = "epoch,lr\n"
    for epoch in 0..<epochs {
        for i in 0..<nb {
            let ni = i + nb * epoch
            schedule.beforeBatch(iteration: ni, epoch: epoch, batch: i, optimizer: optimizer)  // warm-up and accumulate
            let batch = (i * batchSize)..<((i + 1) * batchSize)
            let input = Tensor(Array(x[(batch.lowerBound * features)..<(batch.upperBound * features)]), shape: [batchSize, features])
            let loss = withAutocast(.float16) { model(input).crossEntropy(labels: Array(labels[batch])) } * Double(batchSize)
            scaler.scale(loss).backward()
            if ni - lastOptimizerStep >= schedule.accumulate {  // train.py's step condition
                let (stepped, _) = try yolov5OptimizerStep(optimizer, scaler: scaler, maxNorm: 10)
                steps += 1
                if !stepped { skipped += 1 }
                lastOptimizerStep = ni
            }
        }
        schedule.afterEpoch(optimizer: optimizer)
        log += "\(epoch + 1),\(optimizer.groups[1].lr)\n"  // LambdaLR stepped: lr0 * lf(epoch + 1)
    }
    print("optimizer steps: \(steps), skipped by the scaler: \(skipped), final scale: \(scaler.scale)")

    // The logged lr against YOLOv5's one-cycle formula.
    let result = try TraceVerification.verify(log, path: "lr.csv", formula: .onecycle(lr0: hyp.lr0, lrf: hyp.lrf, epochs: epochs))
    print(result.passes ? "the logged lr follows one_cycle(1, lrf, epochs)" : result.report)
    guard result.passes, steps > 0 else { throw HalfTraceError.invalid("consumer", "the recipe did not run as expected") }
} catch {
    print("error: \(error)")
    exit(1)
}
