import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim

extension Trainer {
    /// The run's state between two batches.
    public func state(bestAccuracy: Double?, bestEpoch: Int?) -> TrainerState {
        TrainerState(
            config: config, epoch: epoch, batch: batch, lastOptimizerStep: lastOptimizerStep,
            schedulerLastEpoch: warmup.lastEpoch, accumulate: warmup.accumulate, orderRNG: orderRNG,
            epochStartRNG: epochStartRNG, epochLossSum: epochLossSum, epochBatches: epochBatches, epochSkips: epochSkips,
            underflowElements: epochUnderflow.elements, underflowFlushed: epochUnderflow.flushed,
            bestAccuracy: bestAccuracy, bestEpoch: bestEpoch,
            groups: optimizer.groups.map {
                TrainerState.Group(lr: $0.lr, initialLR: $0.initialLR, momentum: $0.momentum, beta2: $0.beta2,
                                   dampening: $0.dampening, weightDecay: $0.weightDecay, eps: $0.eps, nesterov: $0.nesterov)
            },
            parameters: model.namedParameters.map {
                TrainerState.Parameter(name: $0.name, shape: $0.tensor.shape, value: TensorRecord($0.tensor.storage),
                                       grad: $0.tensor.grad.map { TensorRecord($0.storage) })
            },
            optimizer: optimizer.parameterStates.map {
                TrainerState.OptimizerEntry(first: $0.first.map(TensorRecord.init), second: $0.second.map(TensorRecord.init), step: $0.step)
            },
            scaler: scaler.state, batchesPerEpoch: batchesPerEpoch)
    }

    /// A trainer continuing `state` under `config` (the state's own configuration, possibly
    /// with overridden fields or more epochs). Every piece of state is restored exactly, so the
    /// continuation is bit-identical to a run that never stopped.
    public convenience init(resuming state: TrainerState, config: TrainingConfig? = nil, data: DataSplit? = nil) throws {
        let config = config ?? state.config
        try self.init(config: config, data: data)
        let named = model.namedParameters
        guard named.map(\.name) == state.parameters.map(\.name) else {
            throw CheckpointError("the checkpoint's parameters (\(state.parameters.map(\.name).joined(separator: ", "))) do not match model \(config.model.rawValue)")
        }
        let dtype = config.precision.parameterDType
        for (p, saved) in zip(named, state.parameters) {
            guard p.tensor.shape == saved.shape, saved.value.count == p.tensor.count else {
                throw CheckpointError("parameter \(saved.name) has shape \(saved.shape) in the checkpoint, \(p.tensor.shape) in model \(config.model.rawValue)")
            }
            p.tensor.storage = try saved.value.storage().converted(to: dtype)
            p.tensor.grad = try saved.grad.map { Tensor(storage: try $0.storage().converted(to: dtype), shape: saved.shape) }
        }
        guard state.groups.count == optimizer.groups.count, state.optimizer.count == optimizer.allParameters.count else {
            throw CheckpointError("the checkpoint's optimizer has \(state.groups.count) groups and \(state.optimizer.count) parameter states; this run has \(optimizer.groups.count) and \(optimizer.allParameters.count)")
        }
        for (i, g) in state.groups.enumerated() {
            optimizer.groups[i].lr = g.lr
            optimizer.groups[i].initialLR = g.initialLR
            optimizer.groups[i].momentum = g.momentum
            optimizer.groups[i].beta2 = g.beta2
            optimizer.groups[i].dampening = g.dampening
            optimizer.groups[i].weightDecay = g.weightDecay
            optimizer.groups[i].eps = g.eps
            optimizer.groups[i].nesterov = g.nesterov
        }
        optimizer.parameterStates = try state.optimizer.map {
            ParameterState(first: try $0.first?.storage().converted(to: dtype), second: try $0.second?.storage().converted(to: dtype), step: $0.step)
        }
        if (state.config.precision != .fp32) == (config.precision != .fp32) { scaler = GradScaler(state: state.scaler) }
        warmup.restore(lastEpoch: state.schedulerLastEpoch, accumulate: state.accumulate)
        epoch = state.epoch
        batch = state.batch
        lastOptimizerStep = state.lastOptimizerStep
        orderRNG = state.orderRNG
        epochStartRNG = state.epochStartRNG
        epochLossSum = state.epochLossSum
        epochBatches = state.epochBatches
        epochSkips = state.epochSkips
        epochUnderflow = (state.underflowElements, state.underflowFlushed)
        if batch > 0 {
            var r = epochStartRNG
            order = r.permutation(self.data.train.count)
        }
        if config.epochs != state.config.epochs && epoch < config.epochs && batch == 0 {
            // More epochs: the schedule is recomputed for the new length from here on.
            warmup.reapply(optimizer: optimizer)
        }
    }

    /// YOLOv5's resume (train.py v7.0 `smart_resume`): weights and optimizer buffers come back,
    /// the run restarts at the next epoch; the GradScaler restarts at init_scale, the scheduler is
    /// rebuilt with last_epoch = start_epoch - 1, accumulate and last_opt_step start afresh, and
    /// the data order restarts from the seed (no RNG state is saved).
    public convenience init(yolov5Resuming state: TrainerState) throws {
        try self.init(config: state.config)
        for (p, saved) in zip(model.namedParameters, state.parameters) { p.tensor.storage = try saved.value.storage() }
        for (i, g) in state.groups.enumerated() {
            optimizer.groups[i].lr = g.lr
            optimizer.groups[i].momentum = g.momentum
        }
        optimizer.parameterStates = try state.optimizer.map {
            ParameterState(first: try $0.first?.storage(), second: try $0.second?.storage(), step: $0.step)
        }
        let start = state.batch == 0 ? state.epoch : state.epoch + 1
        warmup.restore(lastEpoch: config.yolov5Lag ? start - 1 : start,
                       accumulate: YOLOv5Warmup.initialAccumulate(batchSize: config.effectiveBatchSize, nominalBatchSize: config.nominalBatchSize))
        epoch = start
        batch = 0
    }
}
