/// A figure that combines scenarios or draws one in a way of its own, declared beside the
/// scenarios (`Scenarios.figures`); `HalfTracePlot` draws it from the checks of the scenarios
/// it names, with their markers and configuration.
public struct ComparisonFigure: Sendable {
    public enum Kind: Sendable {
        /// numpy.interp: the knots, the dense formula curve and the engine's points.
        case interpolation(String)
        /// Every formula column of a scenario as a line with the engine's points.
        case multipliers(String)
        /// Warm-up per parameter group: each group's lr, the momentum and accumulate.
        case warmupGroups(String)
        /// One column of two scenarios (legends and a y label given), and the second minus the first.
        case difference(String, String, column: String, legends: [String], yLabel: String)
        /// An lr stepped per batch (line) and per epoch (points) over the closed form.
        case stepping(perBatch: String, perEpoch: String)
        /// Cases of three rows each (the epoch before, at and after a restart): engine vs info.
        case restartCases(String)
        /// The loss scale of a training run (skipped steps marked) and of scaler traces.
        case lossScale(training: String, traces: [String])
        /// Per-epoch loss and accuracy of several runs.
        case trainingCurves([(scenario: String, label: String)])
        /// Per recipe (a block), per epoch: each precision's validation accuracy, its difference
        /// from the block's first run (the float32 reference), and its underflow fraction.
        case precisionComparison([(title: String, runs: [(scenario: String, label: String)])])
        /// Uninterrupted vs resumed vs YOLOv5-style resume.
        case resume(String)
        /// AutoAnchor: label sizes with the anchors (log axes) and fitness per generation.
        case anchors(String)
        /// A training run against the reference: each group's lr (formula line, engine points),
        /// the loss below, warm-up end and restarts marked.
        case trainingRun(String)
    }

    public let name: String
    public let title: String
    public let kind: Kind

    public init(_ name: String, _ title: String, _ kind: Kind) {
        self.name = name
        self.title = title
        self.kind = kind
    }
}
