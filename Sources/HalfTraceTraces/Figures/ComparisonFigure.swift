import HalfTraceFigures

/// A figure that combines scenarios, or draws one in a way of its own, declared beside the
/// scenarios (`Scenarios.figures`) with its name and title. It is built as typed data (`Figure`:
/// panels, series with their kind, markers) from the checks of the scenarios it names; the
/// renderer (`HalfTracePlot`) draws every figure the same way and knows no scenario.
public struct ComparisonFigure: Sendable {
    public let name: String
    public let title: String
    /// The scenarios the figure draws from.
    public let scenarios: [ScenarioSpec]
    let build: @Sendable (ComparisonFigure, [String: ScenarioCheck]) -> [Figure]

    /// A figure of several scenarios' checks (by scenario name), built by `build`.
    init(_ name: String, _ title: String, from scenarios: [ScenarioSpec],
         _ build: @escaping @Sendable (ComparisonFigure, [String: ScenarioCheck]) -> [Figure]) {
        self.name = name
        self.title = title
        self.scenarios = scenarios
        self.build = build
    }

    /// A name and a title for a scenario's own figure (`Scenario.figure`), drawn by the same builders.
    init(heading name: String, _ title: String) {
        self.init(name, title, from: []) { _, _ in [] }
    }

    /// A figure that one scenario draws from its own check (`Scenario.ownFigures`).
    init(_ name: String, _ title: String, drawnBy scenario: ScenarioSpec) {
        self.init(name, title, from: [scenario]) { f, checks in
            guard let check = checks[scenario.name], let drawer = check.scenario else { return [] }
            return drawer.ownFigures(check, as: f)
        }
    }

    /// The figures from the checks (by scenario name); none when a scenario it names was not
    /// checked or produced no rows.
    public func figures(_ checks: [String: ScenarioCheck]) -> [Figure] {
        guard scenarios.allSatisfy({ checks[$0.name]?.isDrawable == true }) else { return [] }
        return build(self, checks)
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

/// One framework's curve in a frameworks figure (`ScenarioFigures.frameworks`).
public struct FrameworkCurve: Sendable {
    public let name: String
    public let series: ColumnSeries
    /// The package's own values and their legend ("timm 1.0's floating-point cycle index").
    public let package: (label: String, y: [Double])?
}

extension ScenarioCheck {
    /// The scenario's figure (`Scenario.figure`): by default its columns over the golden values
    /// with a residual panel; nil when there is nothing to draw.
    public var figure: Figure? { isDrawable ? scenario?.figure(self) : nil }

    /// A scenario figure's title: the golden file's, and whether every column holds.
    var figureTitle: String { "\(golden?.title ?? name) — \(passes ? "all columns hold" : "MISMATCH")" }

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
