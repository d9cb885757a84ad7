import HalfTraceAutograd
import HalfTraceKernels

/// The optimizer a run builds (YOLOv5's `--optimizer`).
public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
    /// SGD with Nesterov momentum (`torch.optim.SGD`, YOLOv5's default).
    case sgd
    /// Adam with L2 decay (`torch.optim.Adam`).
    case adam
    /// AdamW with decoupled decay (`torch.optim.AdamW`).
    case adamw
}

/// YOLOv5's `smart_optimizer` (`utils/torch_utils.py`, v7.0) with `train.py`'s decay scaling:
///
///     group 0: biases             weight_decay 0
///     group 1: weights            weight_decay = hyp.weight_decay * bs * accumulate / nbs
///     group 2: norm-layer weights weight_decay 0
///
/// every group at lr0; SGD with Nesterov momentum `hyp.momentum`, Adam and AdamW with betas
/// (`hyp.momentum`, 0.999). The parameter lists may be empty (schedule traces).
public func yolov5Optimizer(_ kind: OptimizerKind, biases: [Tensor], weights: [Tensor], normWeights: [Tensor],
                            hyp: ScheduleHyperparameters, batchSize: Int, nominalBatchSize: Int) throws -> Optimizer {
    try HalfTraceError.check("batch_size", batchSize, in: 1...1_000_000)
    try HalfTraceError.check("nominal_batch_size", nominalBatchSize, in: 1...1_000_000)
    let decay = YOLOv5Schedule.scaledWeightDecay(hyp.weightDecay, batchSize: batchSize, nominalBatchSize: nominalBatchSize)
    let group = { (params: [Tensor], weightDecay: Double) in
        ParamGroup(params: params, lr: hyp.lr0, momentum: hyp.momentum, beta2: 0.999, weightDecay: weightDecay,
                   nesterov: kind == .sgd)
    }
    let groups = [group(biases, 0), group(weights, decay), group(normWeights, 0)]
    switch kind {
    case .sgd: return try SGD(groups: groups)
    case .adam: return try Adam(groups: groups, decoupled: false)
    case .adamw: return try Adam(groups: groups, decoupled: true)
    }
}
