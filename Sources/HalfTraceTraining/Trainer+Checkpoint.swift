import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim

extension Trainer {
    /// The run's state between two batches.
    public func state(bestAccuracy: Double?, bestEpoch: Int?) -> TrainerState {
        TrainerState(
            config: config, epoch: epoch, batch: batch, lastOptimizerStep: lastOptimizerStep,
            schedulerLastEpoch: schedule.lastEpoch, accumulate: schedule.accumulate, orderRNG: orderRNG,
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
    /// with overridden fields or more epochs). Every piece of state is checked against the model
    /// and the data, then restored exactly, so the continuation is bit-identical to a run that
    /// never stopped.
    public convenience init(resuming state: TrainerState, config: TrainingConfig? = nil, data: DataSplit? = nil) throws {
        try state.validate()
        let config = config ?? state.config
        try self.init(config: config, data: data)
        func fail(_ field: String, _ reason: String) -> HalfTraceError { HalfTraceError.invalid(field, reason) }
        let named = model.namedParameters
        guard named.map(\.name) == state.parameters.map(\.name) else {
            throw fail("parameters", "the checkpoint's parameters (\(state.parameters.map(\.name).joined(separator: ", "))) do not match model \(config.model.rawValue)")
        }
        for (p, saved) in zip(named, state.parameters) where p.tensor.shape != saved.shape {
            throw fail("parameters", "\(saved.name) has shape \(saved.shape) in the checkpoint, \(p.tensor.shape) in model \(config.model.rawValue)")
        }
        guard state.batchesPerEpoch == batchesPerEpoch else {
            throw fail("batches_per_epoch", "\(state.batchesPerEpoch) in the checkpoint; this run has \(batchesPerEpoch)")
        }
        let dtype = config.precision.parameterDType
        for (p, saved) in zip(named, state.parameters) {
            p.tensor.storage = try saved.value.storage().converted(to: dtype)
            p.tensor.grad = try saved.grad.map { Tensor(storage: try $0.storage().converted(to: dtype), shape: saved.shape) }
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
        do {
            try optimizer.restore(try state.optimizer.map {
                ParameterState(first: try $0.first?.storage().converted(to: dtype), second: try $0.second?.storage().converted(to: dtype),
                               step: $0.step)
            })
        } catch let e as HalfTraceError { throw e.field.map { _ in e } ?? e.inField("optimizer") }
        if state.config.usesScaler && config.usesScaler {
            // The scale and its counters continue; the options are this run's (an override may change them).
            var restored = scaler.state
            restored.scale = state.scaler.scale
            restored.growthTracker = min(state.scaler.growthTracker, restored.growthInterval - 1)
            restored.hysteresisRemaining = min(state.scaler.hysteresisRemaining, restored.hysteresis)
            restored.totalSkips = state.scaler.totalSkips
            restored.consecutiveSkips = state.scaler.consecutiveSkips
            restored.lastStepSkipped = state.scaler.lastStepSkipped
            scaler = try GradScaler(state: restored)
        }
        var drawn = state.epochStartRNG
        if state.epoch > 0 || state.batch > 0 { _ = drawn.permutation(self.data.train.count) }
        guard drawn == state.orderRNG else { throw fail("order_rng", "does not follow from epoch_start_rng and \(self.data.train.count) training rows") }
        schedule.restore(lastEpoch: state.schedulerLastEpoch, accumulate: state.accumulate)
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
            schedule.reapply(optimizer: optimizer)
        }
    }

    /// YOLOv5's resume (`train.py` and `utils/torch_utils.py` `smart_resume`, v7.0): weights and optimizer buffers come back,
    /// the run restarts at the next epoch; the GradScaler restarts at init_scale, the scheduler is
    /// rebuilt with last_epoch = start_epoch - 1, accumulate and last_opt_step start afresh, and
    /// the data order restarts from the seed (no RNG state is saved).
    public convenience init(yolov5Resuming state: TrainerState) throws {
        try self.init(config: state.config)
        try state.validate()
        for (p, saved) in zip(model.namedParameters, state.parameters) {
            guard p.tensor.shape == saved.shape else { throw HalfTraceError.invalid("parameters", "\(saved.name) has shape \(saved.shape)") }
            p.tensor.storage = try saved.value.storage()
        }
        for (i, g) in state.groups.enumerated() {
            optimizer.groups[i].lr = g.lr
            optimizer.groups[i].momentum = g.momentum
        }
        try optimizer.restore(try state.optimizer.map {
            ParameterState(first: try $0.first?.storage(), second: try $0.second?.storage(), step: $0.step)
        })
        let start = state.batch == 0 ? state.epoch : state.epoch + 1
        schedule.restore(lastEpoch: config.yolov5Lag ? start - 1 : start,
                       accumulate: YOLOv5Schedule.initialAccumulate(batchSize: config.effectiveBatchSize, nominalBatchSize: config.nominalBatchSize))
        epoch = start
        batch = 0
    }
}
