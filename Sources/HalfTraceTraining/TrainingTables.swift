/// The CSV files a run writes: results.csv (one row per epoch, as YOLOv5's) and trace.csv (one
/// row per iteration). Numbers print as the shortest text that parses back to the same Double.
public enum TrainingTables {
    /// The header of results.csv.
    public static let resultsColumns = ["epoch", "train_loss", "val_loss", "val_accuracy", "lr_bias", "lr_weight",
                                        "lr_bn", "scale", "skipped", "underflow_fraction"]
    /// The header of trace.csv.
    public static let traceColumns = ["epoch", "iteration", "lr_bias", "lr_weight", "lr_bn", "momentum", "accumulate",
                                      "weight_decay", "scale", "optimizer_step", "skipped", "grad_norm", "growth_tracker", "loss"]

    /// One results.csv row for `r`.
    public static func resultsRow(_ r: EpochResult) -> String {
        ["\(r.epoch)", f(r.trainLoss), f(r.validationLoss), f(r.validationAccuracy), f(r.lrBias), f(r.lrWeight),
         f(r.lrNorm), f(r.scale), "\(r.skipped)", f(r.underflowFraction)].joined(separator: ",")
    }

    /// One trace.csv row for `r`: the weights group's momentum, and grad_norm nan where none was
    /// measured.
    public static func traceRow(_ r: IterationRecord) -> String {
        ["\(r.epoch)", "\(r.iteration)", f(r.lrBias), f(r.lrWeight), f(r.lrNorm), f(r.momentum[1]), "\(r.accumulate)",
         f(r.weightDecay), f(r.scale), r.optimizerStep ? "1" : "0", r.skipped ? "1" : "0", f(r.gradientNorm ?? .nan), "\(r.growthTracker)",
         f(r.loss)].joined(separator: ",")
    }

    /// results.csv from rows made by `resultsRow`.
    public static func resultsFile(rows: [String]) -> String {
        ([resultsColumns.joined(separator: ",")] + rows).joined(separator: "\n") + "\n"
    }

    /// trace.csv from rows made by `traceRow`.
    public static func traceFile(rows: [String]) -> String {
        ([traceColumns.joined(separator: ",")] + rows).joined(separator: "\n") + "\n"
    }

    static func f(_ v: Double) -> String { v.description }

    /// The per-epoch line `train` prints.
    public static let consoleHeader = "epoch  train_loss    val_loss  val_acc    lr_weight      scale  skipped  underflow"

    /// The line `train` prints for `r`, aligned with `consoleHeader`.
    public static func consoleLine(_ r: EpochResult) -> String {
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        return pad("\(r.epoch)", 5) + pad(Format.fixed(r.trainLoss, 4), 12) + pad(Format.fixed(r.validationLoss, 4), 12)
            + pad(Format.fixed(r.validationAccuracy, 4), 9) + pad(Format.scientific(r.lrWeight), 13) + pad(compact(r.scale), 11)
            + pad("\(r.skipped)", 9) + pad(Format.fixed(r.underflowFraction, 4), 11)
    }

    static func compact(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : Format.scientific(v)
    }

}
