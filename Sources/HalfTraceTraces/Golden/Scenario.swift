import HalfTraceFigures
import HalfTraceKernels
import HalfTraceTraining

/// A golden scenario: a configuration, its columns (each with its source and tolerance, which
/// the scenario decides, not the golden file), the engine run that produces every column, and
/// the Reference values of its formula (and info) columns.
public protocol Scenario {
    var columns: [GoldenColumn] { get }
    /// The engine's rows, one value per column (formula columns hold what the engine computed),
    /// and any extra series a figure needs.
    func run(_ runs: RunCache) throws -> EngineRun
    /// Reference values for the formula and info columns, by name. The engine rows are passed
    /// for their key columns (the iteration, the epoch) only.
    func reference(engineRows: [[Double]]) throws -> [String: [Double]]
    /// Vertical marks for figures (the end of warm-up, restarts, a stop), from the configuration.
    var markers: [ScenarioMarker] { get }
    /// The column labels the scenario's figure draws as panels (nil: the first five).
    var figureLabels: [String]? { get }
    /// A line of text on the figure's first panel: what the figure cannot show at its scale.
    var figureNote: String? { get }
    /// The scenario's figure from its check, named after it (by default its columns over the
    /// golden values with a residual panel, `ScenarioFigures.figure`).
    func figure(_ check: ScenarioCheck) -> Figure?
    /// The figures this scenario draws in a way of its own from its check, named and titled by
    /// their declaration in `Scenarios.figures` (none by default; a declared figure that draws
    /// nothing fails `FigureTests`).
    func ownFigures(_ check: ScenarioCheck, as figure: ComparisonFigure) -> [Figure]
}

extension Scenario {
    public var markers: [ScenarioMarker] { [] }
    public var figureLabels: [String]? { nil }
    public var figureNote: String? { nil }
    public func ownFigures(_ check: ScenarioCheck, as figure: ComparisonFigure) -> [Figure] { [] }
    public func figure(_ check: ScenarioCheck) -> Figure? { ScenarioFigures.figure(check) }

    /// The engine's rows alone.
    public func engineRows(_ runs: RunCache) throws -> [[Double]] { try run(runs).rows }
}

/// What the engine produced for a scenario: its rows, and figures that only the run itself can
/// draw (an anchor search's label sizes and anchors, which are not columns).
public struct EngineRun {
    public var rows: [[Double]]
    public var figures: [Figure]

    public init(rows: [[Double]], figures: [Figure] = []) {
        self.rows = rows
        self.figures = figures
    }
}

/// A vertical mark on a scenario's x axis.
public struct ScenarioMarker: Sendable, Equatable {
    public var x: Double
    public var label: String

    public init(x: Double, label: String) {
        self.x = x
        self.label = label
    }
}

/// A scenario as listed in Golden/: a file name, a title and the configuration that rebuilds it.
public struct ScenarioSpec: Sendable, Equatable {
    public let name: String
    public let title: String
    public let config: ScenarioConfig

    public init(_ name: String, _ title: String, _ pairs: [(String, String)]) {
        self.name = name
        self.title = title
        self.config = ScenarioConfig(pairs)
    }

    /// Builds the scenario from its configuration alone (what a golden file's `# config:` holds).
    public func make() throws -> Scenario { try ScenarioFactory.make(config) }
}

/// Training runs shared by scenarios with one configuration (per-iteration and per-epoch files),
/// and how far they run.
public final class RunCache {
    var runs: [String: (records: [IterationRecord], epochs: [EpochResult])] = [:]
    var detectorRuns: [String: (records: [IterationRecord], epochs: [DetectorEpoch], batchesPerEpoch: Int)] = [:]
    /// When set, the training scenarios (`training`, `training_epochs`, `resume`, `detector`) stop after this
    /// many epochs (the resume scenario: one epoch after its stop) and produce the first rows of
    /// their golden file; `GoldenRunner.check` then compares those rows. A run is deterministic
    /// and its schedule depends only on the configuration, so a stopped run's rows equal the full
    /// run's first rows. Used by the test suite in unoptimised builds.
    public let epochLimit: Int?

    public init(epochLimit: Int? = nil) {
        precondition(epochLimit.map { $0 >= 1 } ?? true, "an epoch limit is at least 1")
        self.epochLimit = epochLimit
    }
}

extension Scenario {
    /// The golden rows: engine rows with formula and info columns replaced by the Reference's.
    public func goldenRows(engineRows: [[Double]]) throws -> [[Double]] {
        let ref = try reference(engineRows: engineRows)
        var rows = engineRows
        for (j, column) in columns.enumerated() where column.source == .formula || column.source == .info {
            guard let values = ref[column.name], values.count == rows.count else {
                throw HalfTraceError.invalid(column.name, "the reference has \(ref[column.name]?.count ?? 0) values for \(rows.count) rows")
            }
            for i in rows.indices { rows[i][j] = values[i] }
        }
        return rows
    }
}
