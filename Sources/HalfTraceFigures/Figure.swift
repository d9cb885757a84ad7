/// A figure described as data; `GnuplotScript.make` turns it into a gnuplot script.
public struct Figure: Equatable, Sendable {
    public var name: String
    public var title: String
    public var xLabel: String
    /// Panels top to bottom, sharing the x axis; heights are relative weights.
    public var panels: [Panel]
    public var width = 1100
    public var height: Int
    /// Logarithmic x axis with this base.
    public var xLogBase: Double? = nil
    /// Panels in a grid of this many columns, each with its own x axis (`Panel.xLabel`),
    /// instead of stacked on one shared x axis.
    public var gridColumns: Int? = nil

    public init(name: String, title: String, xLabel: String, panels: [Panel]) {
        self.name = name
        self.title = title
        self.xLabel = xLabel
        self.panels = panels
        self.height = max(620, 200 + 160 * panels.count)
    }
}

public struct Panel: Equatable, Sendable {
    public var yLabel: String
    public var series: [Series]
    public var weight: Double = 1
    /// Logarithmic y axis with this base (2 for loss scales, 10 for losses).
    public var logBase: Double? = nil
    public var yRange: ClosedRange<Double>? = nil
    /// Vertical lines (e.g. restarts, the end of warm-up) with labels.
    public var markers: [Marker] = []
    /// A shaded horizontal band (e.g. the tolerance around zero in a residual panel).
    public var band: ClosedRange<Double>? = nil
    public var bandLabel: String? = nil
    /// Text shown inside the panel (top left).
    public var note: String? = nil
    /// A title above the panel (grid layouts) and its own x label: in a grid, its axis; in a
    /// stack, an x axis of its own instead of the shared one (another unit).
    public var title: String? = nil
    public var xLabel: String? = nil
    /// Named ticks on the x axis (categories such as precisions) instead of numbers.
    public var xTicks: [Tick]? = nil

    public init(yLabel: String, series: [Series], weight: Double = 1) {
        self.yLabel = yLabel
        self.series = series
        self.weight = weight
    }
}

/// A named tick at a position on an axis.
public struct Tick: Equatable, Sendable {
    public var position: Double
    public var label: String

    public init(_ position: Double, _ label: String) {
        self.position = position
        self.label = label
    }
}

public struct Series: Equatable, Sendable {
    public enum Style: String, Sendable {
        /// `steps` is gnuplot's fsteps (the jump at x_i to y_(i+1), for values "after step i");
        /// `hold` is gnuplot's steps (y_i held over [x_i, x_(i+1)), for a state in effect during row i).
        /// `bars` draws each pair of points, (x_2i, y_2i) and (x_2i+1, y_2i+1), as a filled bar
        /// `barWidth` wide centred on x_2i, from the one y to the other (an unpaired last point is
        /// not drawn): a range or an interval, with square ends at any size.
        case line, points, linesPoints, steps, hold, bars
    }

    /// The legend entry ("": none, for panels whose colours another panel's legend explains).
    public var title: String
    public var x: [Double]
    public var y: [Double]
    public var style: Style
    public var color: String
    /// Point type / line width hints.
    public var pointType = 7
    public var pointSize = 0.6
    public var lineWidth = 1.5
    public var dashed = false
    /// A `bars` series' bar width, in x units.
    public var barWidth = 0.1

    public init(_ title: String, x: [Double], y: [Double], style: Style, color: String) {
        precondition(x.count == y.count, "series \(title): \(x.count) x values for \(y.count) y values")
        self.title = title
        self.x = x
        self.y = y
        self.style = style
        self.color = color
    }
}

public struct Marker: Equatable, Sendable {
    public var x: Double
    public var label: String?
    public var color: String

    public init(x: Double, label: String? = nil, color: String = "#999999") {
        self.x = x
        self.label = label
        self.color = color
    }
}

/// Colours used consistently: reference lines dark, engine points bright.
public enum Palette {
    public static let reference = "#1f1f1f"
    public static let engine = "#d62728"
    public static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"]
    public static let tolerance = "#cce5ff"
}
