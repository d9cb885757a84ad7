import HalfTraceAutograd
import HalfTraceOptim

/// YOLOv5's optimizer step (train.py, after the accumulation window is full), reusable outside
/// the toy loop:
///
///     scaler.unscale_(optimizer)
///     clip_grad_norm_(parameters, max_norm)      (skipped when maxNorm == 0)
///     scaler.step(optimizer)                     (skipped when a gradient is not finite)
///     scaler.update()
///     optimizer.zero_grad()
///
/// With a disabled scaler the same order reduces to clip, step, zero. Returns whether the
/// optimizer stepped (false when the step was skipped) and the total gradient norm before
/// clipping (NaN when clipping is off).
@discardableResult
public func yolov5OptimizerStep(_ optimizer: Optimizer, scaler: GradScaler, maxNorm: Double = 10) throws -> (stepped: Bool, gradientNorm: Double) {
    try scaler.unscale(optimizer)
    let norm = maxNorm > 0 ? clipGradNorm(optimizer.allParameters, maxNorm: maxNorm) : .nan
    let stepped = try scaler.step(optimizer)
    try scaler.update()
    optimizer.zeroGrad()
    return (stepped, norm)
}
