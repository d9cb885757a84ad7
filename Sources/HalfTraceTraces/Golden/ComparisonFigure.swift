import HalfTraceAnchors

/// A figure that combines scenarios or draws one in a way of its own, declared beside the
/// scenarios (`Scenarios.figures`). Its data is built, typed, by the scenarios it names, from
/// their checks (`data(_:)`); `HalfTracePlot` draws the data and knows no scenario by name.
public struct ComparisonFigure: Sendable {
    public let name: String
    public let title: String
    /// The scenarios the figure draws from.
    public let scenarios: [ScenarioSpec]
    let build: @Sendable ([String: ScenarioCheck]) -> ComparisonData?

    init(_ name: String, _ title: String, from scenarios: [ScenarioSpec],
         _ build: @escaping @Sendable ([String: ScenarioCheck]) -> ComparisonData?) {
        self.name = name
        self.title = title
        self.scenarios = scenarios
        self.build = build
    }

    /// The figure's data from the checks (by scenario name); nil when a scenario it names was
    /// not checked or produced no rows.
    public func data(_ checks: [String: ScenarioCheck]) -> ComparisonData? {
        guard scenarios.allSatisfy({ checks[$0.name]?.isDrawable == true }) else { return nil }
        return build(checks)
    }
}

/// One column of a checked scenario along the scenario's x axis: its golden values (formula or
/// snapshot) and the engine's.
public struct ColumnSeries: Sendable {
    public let x: [Double]
    public let golden: [Double]
    public let engine: [Double]
}

/// A labelled run in a figure that sets several runs side by side.
public struct LabelledRun: Sendable {
    public let label: String
    public let epoch: [Double]
    public let trainLoss: [Double]
    public let validationLoss: [Double]
    public let validationAccuracy: [Double]
    public let underflowFraction: [Double]
}

/// What a comparison figure draws.
public enum ComparisonData {
    /// numpy.interp: the knots, the formula on a dense grid, the engine's points.
    case interpolation(knots: (x: [Double], y: [Double]), formula: (x: [Double], y: [Double]), engine: (x: [Double], y: [Double]),
                       check: ScenarioCheck)
    /// Formula multipliers (each a golden line and engine points) against a key.
    case multipliers(keyLabel: String, curves: [(name: String, series: ColumnSeries)], check: ScenarioCheck)
    /// Warm-up per parameter group (lr per group, momentum, accumulate) with the end of warm-up.
    case warmupGroups(lr: [(group: String, series: ColumnSeries)], momentum: ColumnSeries, accumulate: ColumnSeries,
                      markers: [ScenarioMarker], check: ScenarioCheck)
    /// One column of two runs, and the second minus the first.
    case difference(keyLabel: String, x: [Double], first: [Double], second: [Double], legends: [String], yLabel: String)
    /// An lr stepped per batch and per epoch over the closed form (per batch), restarts marked.
    case stepping(perBatch: ColumnSeries, perEpoch: ColumnSeries, markers: [ScenarioMarker], check: ScenarioCheck)
    /// Cases of three epochs each (before, at and after a restart): engine and PyTorch's lr.
    case restartCases(cases: [(t0: Int, tMult: Int, epoch: Int, engine: [Double], pytorch: [Double])], baseLR: Double, check: ScenarioCheck)
    /// A training run's loss scale with its skipped steps, and scaler traces (scale after each
    /// update, overflows marked).
    case lossScale(training: (title: String, iteration: [Double], scale: [Double], skipped: [Bool]),
                   traces: [(label: String, step: [Double], nextScale: [Double], foundInf: [Bool])])
    /// Per-epoch loss and accuracy of several runs.
    case trainingCurves([LabelledRun])
    /// Per recipe (a block), per epoch: each precision's validation accuracy and underflow; the
    /// block's first run is the float32 reference.
    case precisionComparison([(title: String, runs: [LabelledRun])])
    /// Uninterrupted vs resumed vs YOLOv5-style resume, per quantity.
    case resume(iteration: [Double], panels: [(label: String, logBase: Double?, uninterrupted: [Double], resumed: [Double], yolov5: [Double])],
                markers: [ScenarioMarker])
    /// AutoAnchor: label sizes, the given, k-means and new anchors, fitness per generation.
    case anchors(labels: [SIMD2<Float>], given: [AnchorSize], search: AnchorSearch)
    /// A training run against the reference: each group's lr, the loss, warm-up end and restarts.
    case trainingRun(lr: [(group: String, series: ColumnSeries)], loss: ColumnSeries, markers: [ScenarioMarker], check: ScenarioCheck)
    /// Several frameworks' curves on one key: each formula line with the engine's points and, where
    /// a package's own arithmetic differs, its values (and their difference in a panel of its
    /// own); labelled markers and unlabelled ticks (overflows).
    case frameworks(keyLabel: String, yLabel: String, logBase: Double?, curves: [FrameworkCurve], markers: [ScenarioMarker], ticks: [Double],
                    check: ScenarioCheck)
}

/// One framework's curve in a `.frameworks` figure.
public struct FrameworkCurve: Sendable {
    public let name: String
    public let series: ColumnSeries
    /// The package's own values and their legend ("timm 1.0's floating-point cycle index").
    public let package: (label: String, y: [Double])?
}

extension ScenarioCheck {
    /// A check with engine rows and its golden file: something to draw.
    var isDrawable: Bool { golden != nil && scenario != nil && !engineRows.isEmpty }

    /// The golden and engine values of `column` (declared by this check's scenario) along `x`.
    func series(_ column: String, x: String) -> ColumnSeries {
        ColumnSeries(x: engine(x), golden: golden(column), engine: engine(column))
    }

    func engine(_ column: String) -> [Double] {
        guard let j = scenario?.columns.firstIndex(where: { $0.name == column }) else { return [] }
        return engineRows.map { $0[j] }
    }

    func golden(_ column: String) -> [Double] {
        guard let j = scenario?.columns.firstIndex(where: { $0.name == column }), let g = golden else { return [] }
        return g.rows.map { $0[j] }
    }
}
