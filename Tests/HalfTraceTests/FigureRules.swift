import HalfTraceFigures
import HalfTracePlot
import HalfTraceTraces

/// What a program can check of a rendered figure (the rest is looked at): the rules
/// `GnuplotScript` applies, checked on every figure the scenarios draw.
enum FigureRules {
    /// The rules `figure` breaks, each named ("" when none): its script's legend is outside the
    /// plots (or rows under a grid, naming every titled series of every panel) and never over the data; a series that turns NaN (or
    /// infinite) for good is shaded and named, or marked where it stops, not silently stopped; every golden line of a
    /// column declared stepwise is drawn as steps; a range is drawn as bars; the title's font fits its width.
    static func violations(_ figure: Figure, check: ScenarioCheck? = nil) -> [String] {
        var out: [String] = []
        let script = GnuplotScript.make(figure, outputs: [.init(.png, "/dev/null")])
        let lines = script.split(separator: "\n")
        for line in lines where line.hasPrefix("set key") && !line.contains("outside") {
            out.append("\(figure.name): a legend inside the plots: \(line)")
        }
        // A grid's legend is drawn as labels under it (numbered from 1000): every titled series of
        // every panel is named there; and no two labels of one panel share a number (gnuplot would
        // keep the last).
        func labelNumber(_ line: Substring) -> Int? {
            guard line.hasPrefix("set label ") else { return nil }
            return Int(line.dropFirst("set label ".count).prefix { $0.isNumber })
        }
        if figure.gridColumns != nil {
            let legend = lines.filter { (labelNumber($0) ?? 0) >= 1000 }.map { $0.filter { $0 != "\\" } }
            for title in Set(figure.panels.flatMap(\.series).map(\.title)) where !title.isEmpty
                && !legend.contains(where: { $0.contains("\"" + title.filter { $0 != "\\" } + "\"") }) {
                out.append("\(figure.name): a grid whose series '\(title)' is not in its legend")
            }
        }
        for block in script.components(separatedBy: "\nreset\n") {
            let numbers = block.split(separator: "\n").compactMap(labelNumber)
            if Set(numbers).count != numbers.count { out.append("\(figure.name): two labels share a number in one panel: \(numbers.sorted())") }
        }
        // A range or an interval is drawn as filled bars, not as a thick two-point line (pngcairo
        // draws a thick line's end with a slanted tail on some bars).
        for series in figure.panels.flatMap(\.series) where series.style == .line && series.lineWidth > 3 && series.x.count == 2 && series.x[0] == series.x[1] {
            out.append("\(figure.name): '\(series.title)' at x = \(series.x[0]) is a thick vertical line, not bars")
        }
        for panel in figure.panels {
            for series in panel.series where figure.gridColumns == nil {
                // A run of non-finite values to the end after finite ones: a value that stopped.
                guard let lastFinite = series.y.lastIndex(where: \.isFinite), series.y.count - 1 - lastFinite >= 3 else { continue }
                // The legend's stand-in for the black lines ("golden (black)") names no series: any label does.
                let name = series.title.hasSuffix("(black)") ? "" : series.title.split(separator: " ").first.map(String.init) ?? ""
                // Named by a shaded gap, or (a figure of several blocks) by a marker in its panel at the stop.
                let marked = panel.markers.contains { $0.x > series.x[lastFinite] && $0.x <= series.x[min(lastFinite + 1, series.x.count - 1)] }
                if !marked, !lines.contains(where: { $0.hasPrefix("set label 10") && ($0.contains("NaN from") || $0.contains("inf from")) && (name.isEmpty || $0.contains(name.replacingOccurrences(of: "_", with: "\\\\_"))) }) {
                    out.append("\(figure.name): \(series.title) stops at row \(lastFinite) without a named gap")
                }
            }
        }
        if let check, let golden = check.golden, let scenario = check.scenario, figure.name == check.name {
            for (j, column) in scenario.columns.enumerated() where column.stepwise && (column.source == .formula || column.source == .snapshot) {
                let values = golden.rows.map { $0[j] }
                let drawn = figure.panels.flatMap(\.series).filter { $0.y.elementsEqual(values) { $0.bitPattern == $1.bitPattern } && $0.style != .points }
                for s in drawn where s.style != .hold && s.style != .steps {
                    out.append("\(figure.name): stepwise column \(column.name) drawn as \(s.style)")
                }
            }
        }
        if let titleLine = lines.first(where: { $0.hasPrefix("set multiplot") }), let fontPart = titleLine.split(separator: "font ',").last,
           let size = Int(fontPart.prefix { $0.isNumber }) {
            // DejaVu Sans averages about 0.55 em a character; the figure keeps a margin of 2 %.
            let width = 0.55 * Double(size) * 96 / 72 * Double(figure.title.count)
            if width > 0.98 * Double(figure.width) { out.append("\(figure.name): the title (\(figure.title.count) characters at \(size) pt) is wider than the figure") }
        }
        return out
    }
}
