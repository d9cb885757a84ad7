import Foundation
import HalfTraceFigures

/// Builds a gnuplot script from a figure (pure; rendering is `Gnuplot.render`'s job).
///
/// The data is inline (datablocks), the panels are stacked with `multiplot` and explicit
/// margins so that they share the x axis, and the same plot is written once per output.
public enum GnuplotScript {
    public struct Output: Equatable, Sendable {
        public enum Format: String, Sendable { case png, svg }
        public var format: Format
        public var path: String
        public init(_ format: Format, _ path: String) {
            self.format = format
            self.path = path
        }
    }

    public static func make(_ figure: Figure, outputs: [Output]) -> String {
        // A panel whose every series is one constant takes no space: a line of text says it.
        var figure = figure
        let constants: [String]
        if figure.gridColumns == nil { (figure.panels, constants) = withoutConstantPanels(figure.panels) } else { constants = [] }
        var s = "# HalfTrace figure: \(figure.name)\nset encoding utf8\n"
        var blocks: [String] = []
        for (p, panel) in figure.panels.enumerated() {
            for (k, series) in panel.series.enumerated() {
                let name = "$p\(p)s\(k)"
                blocks.append(name)
                s += "\(name) << EOD\n"
                if series.style == .bars {
                    // One row a bar: its x and its two ends.
                    for i in stride(from: 0, to: series.x.count - 1, by: 2) { s += "\(number(series.x[i])) \(number(series.y[i])) \(number(series.y[i + 1]))\n" }
                } else {
                    for (x, y) in zip(series.x, series.y) { s += "\(number(x)) \(number(y))\n" }
                }
                s += "EOD\n"
            }
        }
        for output in outputs {
            switch output.format {
            case .png: s += "set terminal pngcairo size \(figure.width),\(figure.height) enhanced font 'DejaVu Sans,10'\n"
            case .svg: s += "set terminal svg size \(figure.width),\(figure.height) enhanced font 'DejaVu Sans,10' background rgb 'white'\n"
            }
            s += "set output '\(escape(output.path))'\n"
            s += plots(figure, constants: constants)
            s += "unset output\n"
        }
        return s
    }

    static func plots(_ figure: Figure, constants: [String] = []) -> String {
        if let columns = figure.gridColumns { return grid(figure, columns: max(1, columns)) }
        var s = "set multiplot title \(quote(figure.title)) font ',\(titleSize(figure))'\n"
        let total = figure.panels.reduce(0) { $0 + $1.weight }
        // The legend sits right of the plots; the plots end where the longest entry still fits.
        let right = Self.rightMargin(figure)
        let gaps = Self.gaps(figure)
        // One x range for every panel, so that the panels line up with the shared axis.
        let xs = figure.panels.flatMap { $0.series.flatMap(\.x) + $0.markers.map(\.x) }.filter(\.isFinite)
        let xRange = xs.isEmpty ? nil : (xs.min()!, xs.max()!)
        // The first panel's marker labels sit in up to two rows between it and the title (in
        // screen units, so that a short panel does not push them into the title).
        let firstMarkers = (figure.panels.first?.markers ?? []).sorted(by: { $0.x < $1.x })
        let labelRows = Self.labelRows(firstMarkers, xRange: xRange, plotWidth: (right - 0.10) * Double(figure.width))
        let aboveRows = min(2, (labelRows.max() ?? -1) + 1)
        let rowHeight = 14.0 / Double(figure.height)
        let noteRows = constants.isEmpty ? 0 : 1  // the constant panels' line, above the labels
        let top = min(0.92, 0.955 - rowHeight * Double(aboveRows + noteRows)), bottom = 0.08
        var y = top
        for (p, panel) in figure.panels.enumerated() {
            let h = (top - bottom) * panel.weight / total
            let last = p == figure.panels.count - 1
            // A panel with an x label of its own has its own x axis (another unit than the shared one).
            let ownAxis = panel.xLabel != nil && !last
            s += "reset\nset lmargin at screen 0.10\nset rmargin at screen \(number(right))\n"
            s += "set tmargin at screen \(number(y))\nset bmargin at screen \(number(y - h + (last ? 0 : ownAxis ? 0.07 : 0.012)))\n"
            s += "set grid lc rgb '#dddddd'\nset key outside right top vertical spacing 1.1 font ',9'\n"
            s += "set ylabel \(quote(panel.yLabel)) font ',10'\n"
            if p == 0, !constants.isEmpty {  // after the panel's reset, which would clear it
                s += "set label 1000 \(quote(constants.joined(separator: "; "))) at screen 0.10, screen \(number(top + rowHeight * (0.6 + Double(aboveRows)))) left font ',9' tc rgb '#555555'\n"
            }
            let ownXs = panel.series.flatMap(\.x).filter(\.isFinite)
            if let base = figure.xLogBase {
                s += "set logscale x \(number(base))\n"
            } else if ownAxis, let lo = ownXs.min(), let hi = ownXs.max(), hi > lo {
                s += "set xrange [\(number(lo)):\(number(hi))]\n"
            } else if let (lo, hi) = xRange, hi > lo {
                s += "set xrange [\(number(lo)):\(number(hi))]\n"
            }
            s += last ? "set xlabel \(quote(figure.xLabel))\n" : ownAxis ? "set xlabel \(quote(panel.xLabel!)) offset 0,0.6 font ',9'\n" : "set format x ''\n"
            if let base = panel.logBase {
                s += "set logscale y \(number(base))\n"
                s += base == 2 ? "set format y '2^{%L}'\n" : base == 10 ? "set format y '10^{%L}'\n" : ""
            }
            if let r = panel.yRange {
                s += "set yrange [\(number(r.lowerBound)):\(number(r.upperBound))]\n"
            } else if let base = panel.logBase {
                // One step of the base beyond the data, so that a floor or a ceiling is not on the frame.
                let ys = panel.series.flatMap(\.y).filter { $0.isFinite && $0 > 0 }
                if let lo = ys.min(), let hi = ys.max() {
                    // A note sits in the top line: one more power of headroom keeps the data below it.
                    s += "set yrange [\(number(lo / base)):\(number(panel.note == nil ? hi * base : hi * base * base))]\n"
                    // More than eight powers on the axis: label every other one, so that labels do not collide.
                    if log(hi / lo) / log(base) + 3 > 8 { s += "set ytics \(number(base * base))\n" }
                }
            } else if let r = Self.paddedRange(panel) {
                s += "set yrange [\(number(r.lowerBound)):\(number(r.upperBound))]\n"
            }
            s += Self.drawGaps(gaps, labelled: p == 0, xRange: xRange)
            if let note = panel.note { s += "set label 1 \(quote(note)) at graph 0.01, graph 0.93 left font ',9'\n" }
            let sortedMarkers = panel.markers.sorted(by: { $0.x < $1.x })
            let rows = p == 0 ? labelRows : []
            for (k, m) in sortedMarkers.enumerated() {
                s += "set arrow \(k + 1) from first \(number(m.x)), graph 0 to first \(number(m.x)), graph 1 nohead lc rgb '\(m.color)' dt 2\n"
                if let label = m.label, !label.isEmpty, p == 0 {
                    // In the lowest of two rows above the panel where it overlaps no other label; a
                    // third and later row go inside the panel's top, left of the marker (the title is above).
                    let row = rows[k]
                    s += row < 2
                        ? "set label \(k + 2) \(quote(label)) at first \(number(m.x)), screen \(number(top + rowHeight * (0.6 + Double(row)))) center font ',8' tc rgb '\(m.color)'\n"
                        : "set label \(k + 2) \(quote(label)) at first \(number(m.x)), graph \(number(0.95 - 0.07 * Double(row - 2))) right offset -0.5,0 font ',8' tc rgb '\(m.color)' front\n"
                }
            }
            var items: [String] = []
            if let band = panel.band {
                let xs = panel.series.flatMap(\.x)
                if let lo = xs.min(), let hi = xs.max() {
                    s += "set object 1 rect from \(number(lo)), \(number(band.lowerBound)) to \(number(hi)), \(number(band.upperBound)) fc rgb '\(Palette.tolerance)' fs solid 0.6 noborder behind\n"
                    items.append("NaN with boxes fc rgb '\(Palette.tolerance)' fs solid 0.6 title \(quote(panel.bandLabel ?? "tolerance"))")
                }
            }
            for (k, series) in panel.series.enumerated() {
                let title = series.title.isEmpty ? "notitle" : "title \(quote(series.title))"
                items.append("$p\(p)s\(k) \(style(series)) \(title)")
            }
            s += items.isEmpty ? "" : "plot " + items.joined(separator: ", \\\n     ") + "\n"
            y -= h
        }
        s += "unset multiplot\n"
        return s
    }

    /// The panels to draw, and for each panel left out a line saying its constant value: a panel
    /// whose series all hold one finite value (a scale of 2^0, an accumulate of 1) and that draws
    /// no tolerance band. The last panel (the shared x axis) is always kept.
    static func withoutConstantPanels(_ panels: [Panel]) -> ([Panel], [String]) {
        var kept: [Panel] = [], notes: [String] = []
        for (p, panel) in panels.enumerated() {
            let ys = panel.series.flatMap(\.y)
            if p < panels.count - 1, panel.band == nil, let first = ys.first, first.isFinite, ys.allSatisfy({ $0 == first }), panels.count > 1 {
                notes.append("\(panel.yLabel): \(shortNumber(first)) throughout (panel omitted)")
            } else {
                kept.append(panel)
            }
        }
        return (kept, notes)
    }

    /// Where the plots end on the right: room for the longest legend entry (about 7 px a
    /// character at 9 pt, plus the sample line), between 55 % and 85 % of the width.
    static func rightMargin(_ figure: Figure) -> Double {
        let total = figure.panels.reduce(0) { $0 + $1.weight }
        var needed = 0.0
        for panel in figure.panels {
            let entries = panel.series.filter { !$0.title.isEmpty }.count + (panel.bandLabel == nil ? 0 : 1)
            let longest = panel.series.map(\.title.count).max() ?? 0
            // gnuplot wraps an outside key into columns when the panel is too short (about 16 px a row).
            let height = 0.84 * Double(figure.height) * panel.weight / max(total, 1)
            let columns = Double((entries + max(1, Int(height / 16)) - 1) / max(1, Int(height / 16)))
            needed = max(needed, max(1, columns) * (Double(max(longest, panel.bandLabel?.count ?? 0)) * 7.0 + 90))
        }
        return min(0.85, max(0.55, 1 - needed / Double(figure.width)))
    }

    /// The row (0, 1, 2 ... above the top panel) of each marker's label: the lowest where its
    /// extent (about 5.5 px a character at 8 pt, centred on the marker) overlaps no label placed
    /// before it.
    static func labelRows(_ markers: [Marker], xRange: (Double, Double)?, plotWidth: Double) -> [Int] {
        guard let (lo, hi) = xRange, hi > lo else { return markers.indices.map { $0 % 2 } }
        var ends: [Double] = []  // per row, the right end of its last label
        return markers.map { m in
            guard let label = m.label, !label.isEmpty else { return 0 }
            let centre = (m.x - lo) / (hi - lo) * plotWidth, half = Double(label.count) * 2.75 + 4
            let row = ends.firstIndex { $0 < centre - half } ?? ends.count
            if row == ends.count { ends.append(centre + half) } else { ends[row] = centre + half }
            return row
        }
    }

    /// A linear panel's y range: the finite data plus 6 % each side, never reaching below zero by
    /// more than a sliver when the data is non-negative (a loss axis does not go to -50).
    static func paddedRange(_ panel: Panel) -> ClosedRange<Double>? {
        let ys = panel.series.flatMap(\.y).filter(\.isFinite)
        guard let lo = ys.min(), let hi = ys.max() else { return nil }
        let span = hi - lo, pad = span > 0 ? 0.06 * span : max(abs(lo) * 0.1, 1e-12)
        let lower = lo >= 0 ? max(lo - pad, -0.015 * max(span, pad)) : lo - pad
        // A note sits in the panel's top line (graph 0.93): the data stays below it.
        return lower...(hi + (panel.note == nil ? pad : 2.6 * pad))
    }

    /// A run of rows where a series is NaN or infinite: from the last finite x before it to the
    /// first finite x after it (or the end), with the series it holds for.
    struct Gap: Equatable {
        var from: Double, to: Double, start: Double, what: String, names: [String]
    }

    /// Every gap of every titled series of the figure, series with the same span joined (their
    /// engine/golden/formula suffix dropped), so that a value that stops is never mistaken for
    /// one that was not drawn.
    static func gaps(_ figure: Figure) -> [Gap] {
        let xs = figure.panels.flatMap { $0.series.flatMap(\.x) }.filter(\.isFinite)
        let end = xs.max() ?? 0
        var out: [Gap] = []
        // A legend's stand-in for every black line ("golden (black)") names no series.
        for series in figure.panels.flatMap(\.series) where !series.title.isEmpty && !series.title.hasSuffix("(black)") {
            var start: Int?
            let n = series.y.count
            for i in 0...n {
                let bad = i < n && !series.y[i].isFinite
                if bad, start == nil { start = i }
                guard !bad, let a = start else { continue }
                start = nil
                guard a > 0 || i < n else { continue }  // no finite value at all: nothing was cut off
                // A series sampled on some rows only (a gradient norm at optimizer steps) has short
                // runs of NaN by design: a gap is a run of 3 rows or more that is 10 % of the series
                // or runs to its end (a value that stopped).
                guard i - a >= 3, i == n || Double(i - a) >= 0.1 * Double(n) else { continue }
                var name = series.title
                for suffix in [" golden", " engine", " formula"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
                let gap = Gap(from: series.x[max(0, a - 1)], to: i < n ? series.x[i] : end, start: series.x[a],
                              what: series.y[a].isNaN ? "NaN" : "inf", names: [name])
                if let k = out.firstIndex(where: { $0.from == gap.from && $0.to == gap.to && $0.what == gap.what }) {
                    if !out[k].names.contains(name) { out[k].names.append(name) }
                } else {
                    out.append(gap)
                }
            }
        }
        return out
    }

    /// The gaps shaded in a panel, named in the top one.
    static func drawGaps(_ gaps: [Gap], labelled: Bool, xRange: (Double, Double)?) -> String {
        var s = ""
        for (k, g) in gaps.enumerated() {
            s += "set object \(100 + k) rect from first \(number(g.from)), graph 0 to first \(number(g.to)), graph 1 fc rgb '#eeeeee' fs solid 1.0 noborder behind\n"
            if labelled {
                let names = g.names.filter { !$0.isEmpty }.joined(separator: ", ")
                let text = (names.isEmpty ? "" : names + ": ") + "\(g.what) from \(shortNumber(g.start))"
                s += "set label \(100 + k) \(quote(text)) at first \(number(g.from)), graph \(number(0.82 - 0.08 * Double(k % 4))) left offset 0.5,0 font ',9' tc rgb '#b22222'\n"
            }
        }
        return s
    }

    /// A compact number for labels: integers as integers, powers of two as 2^k, else 4 significant digits.
    static func shortNumber(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return "\(Int(v))" }
        if v > 0, v.significand == 1 { return "2^\(Int(v.exponent))" }
        return String(format: "%.4g", v)
    }

    /// Panels in rows of `columns`, each with its own axes and title (YOLOv5's plot_evolve layout).
    /// Panels in a grid, each with its own axes: its title (and note, as a second line), range,
    /// log axis and markers; integer keys get integer ticks. The legend is under the grid: each
    /// titled series once (panels that draw the same kinds of series name them once), in rows
    /// as wide as the figure.
    static func grid(_ figure: Figure, columns: Int) -> String {
        let rows = (figure.panels.count + columns - 1) / columns
        var entries: [Series] = []
        for series in figure.panels.flatMap(\.series) where !series.title.isEmpty && !entries.contains(where: { $0.title == series.title }) {
            entries.append(series)
        }
        let legendRows = legendLayout(entries, width: figure.width)
        let keyed = !entries.isEmpty
        // Room under the grid for the legend's rows and the bottom row's slanted tick labels (about
        // 3 px of height a character at 25 degrees), and above it for the title and two-line headings.
        let slanted = figure.panels.suffix(figure.panels.count - (rows - 1) * columns).compactMap(\.xTicks).filter(slantedTicks)
        let slantRoom = 3.0 * Double(slanted.flatMap { $0.map(\.label.count) }.max() ?? 0)
        let bottom = keyed ? min(0.3, (95.0 + 22.0 * Double(legendRows.count - 1) + slantRoom) / Double(figure.height))
            : max(0.08, min(0.3, (40.0 + slantRoom) / Double(figure.height)))
        let twoLines = figure.panels.contains { $0.title != nil && $0.note != nil }
        let top = 1 - (twoLines ? 95.0 : 70.0) / Double(figure.height)
        var s = "set multiplot layout \(rows),\(columns) margins 0.07, 0.98, \(number(bottom)), \(number(top))"
            + " spacing 0.08, \(number(min(0.2, 90.0 / Double(figure.height)))) title \(quote(figure.title)) font ',\(titleSize(figure))'\n"
        for (p, panel) in figure.panels.enumerated() {
            s += "reset\nset grid lc rgb '#dddddd'\nset offsets graph 0.05, graph 0.05, graph 0.08, graph 0.08\n"
            s += "unset key\n"
            if keyed && p == 0 { s += gridLegend(legendRows, width: figure.width, height: figure.height) }
            let xs = panel.series.flatMap(\.x).filter(\.isFinite)
            if let ticks = panel.xTicks {
                s += "set xtics (" + ticks.map { "\(quote($0.label)) \(number($0.position))" }.joined(separator: ", ") + ") font ',9'"
                    + (slantedTicks(ticks) ? " rotate by 25 right" : "") + "\n"
            } else if let step = integerTicStep(xs) {
                s += "set format x '%.0f'\nset xtics \(number(step)) font ',8'\n"
            } else {
                s += "set format x '%.3g'\nset xtics font ',7' rotate by 30 right\n"
            }
            let heading = [panel.title, panel.note].compactMap { $0 }
            if !heading.isEmpty {
                s += "set title " + heading.map(quote).map { String($0.dropFirst().dropLast()) }.joined(separator: "\\n").wrappedInQuotes + " font ',10'\n"
            }
            s += "set ylabel \(quote(panel.yLabel)) font ',9'\n"
            if let x = panel.xLabel { s += "set xlabel \(quote(x)) font ',9'\n" }
            if let base = panel.logBase { s += "set logscale y \(number(base))\n" }
            if let r = panel.yRange { s += "set yrange [\(number(r.lowerBound)):\(number(r.upperBound))]\n" }
            for (k, m) in panel.markers.enumerated() {
                s += "set arrow \(k + 1) from first \(number(m.x)), graph 0 to first \(number(m.x)), graph 1 nohead lc rgb '\(m.color)' dt 2\n"
                if let label = m.label {
                    s += "set label \(k + 1) \(quote(label)) at first \(number(m.x)), graph 0.04 left offset 0.5, 0 font ',8' tc rgb '\(m.color)'\n"
                }
            }
            let items = panel.series.enumerated().map { k, series in
                "$p\(p)s\(k) \(style(series)) title \(quote(p == 0 ? series.title : ""))"
            }
            s += items.isEmpty ? "" : "plot " + items.joined(separator: ", \\\n     ") + "\n"
        }
        s += "unset multiplot\n"
        return s
    }

    /// Named ticks drawn slanted: many of them, or long names.
    static func slantedTicks(_ ticks: [Tick]) -> Bool {
        ticks.contains { !$0.label.isEmpty } && (ticks.count > 6 || ticks.contains { $0.label.count > 10 })
    }

    /// The legend's entries in rows that fit the figure's width (about 7 px a character, a
    /// 40 px sample and 30 px between entries), in order.
    static func legendLayout(_ entries: [Series], width: Int) -> [[Series]] {
        func size(_ e: Series) -> Double { (46.0 + 7.0 * Double(e.title.count)) / Double(width) }
        let gap = 30.0 / Double(width)
        var rows: [[Series]] = []
        var used = 0.0
        for e in entries {
            if let last = rows.last, !last.isEmpty, used + gap + size(e) <= 0.98 {
                rows[rows.count - 1].append(e)
                used += gap + size(e)
            } else {
                rows.append([e])
                used = size(e)
            }
        }
        return rows
    }

    /// A legend in rows under a grid, drawn in screen coordinates (a gnuplot key is confined
    /// to one panel's width): a sample of each titled series (its line, dashes or point) and its
    /// title, each row centred, the first row on top. Entry k's sample is label, arrow or object
    /// 1000 + 2k and its title label 1001 + 2k (no two entries share a number).
    static func gridLegend(_ rows: [[Series]], width: Int, height: Int) -> String {
        let charWidth = 7.0 / Double(width), sample = 40.0 / Double(width), gap = 30.0 / Double(width)
        var s = ""
        var k = 0
        for (r, entries) in rows.enumerated() {
            let total = entries.reduce(0) { $0 + sample + 6.0 / Double(width) + Double($1.title.count) * charWidth } + gap * Double(max(0, entries.count - 1))
            var x = max(0.01, 0.5 - total / 2)
            let y = (22.0 + 22.0 * Double(rows.count - 1 - r)) / Double(height)
            for e in entries {
                let color = "lc rgb '\(e.color)'"
                switch e.style {
                case .bars:
                    let half = 4.0 / Double(height)
                    s += "set object \(1000 + 2 * k) rect from screen \(number(x)), screen \(number(y - half)) to screen \(number(x + sample)), screen \(number(y + half))"
                        + " fc rgb '\(e.color)' fs solid 1.0 noborder\n"
                case .points:
                    s += "set label \(1000 + 2 * k) '' at screen \(number(x + sample / 2)), screen \(number(y)) point pt \(e.pointType) ps \(number(max(e.pointSize, 0.8))) \(color)\n"
                default:
                    s += "set arrow \(1000 + 2 * k) from screen \(number(x)), screen \(number(y)) to screen \(number(x + sample)), screen \(number(y)) nohead \(color)"
                        + " lw \(number(e.lineWidth))\(e.dashed ? " dt 2" : "")\n"
                }
                x += sample + 6.0 / Double(width)
                s += "set label \(1001 + 2 * k) \(quote(e.title)) at screen \(number(x)), screen \(number(y)) left font ',10'\n"
                x += Double(e.title.count) * charWidth + gap
                k += 1
            }
        }
        return s
    }

    /// A tick step for an axis of integer keys spanning few values (so that no two ticks print
    /// the same integer), or nil when the keys are not all integers.
    static func integerTicStep(_ xs: [Double]) -> Double? {
        guard let lo = xs.min(), let hi = xs.max(), hi > lo, xs.allSatisfy({ $0 == $0.rounded() }) else { return nil }
        let raw = (hi - lo) / 8
        guard raw < 1e15 else { return nil }
        let steps: [Double] = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000]
        return steps.first { $0 >= raw } ?? nil
    }

    /// A title that fits the figure's width (about 10.5 px a character at 13 pt, with a margin).
    static func titleSize(_ figure: Figure) -> Int {
        max(8, min(13, figure.width * 12 / max(1, figure.title.count * 11)))
    }

    /// The series' `using` columns and `with` clause.
    static func style(_ series: Series) -> String {
        let color = "lc rgb '\(series.color)'"
        let dash = series.dashed ? " dt 2" : ""
        switch series.style {
        case .line: return "using 1:2 with lines \(color) lw \(number(series.lineWidth))\(dash)"
        case .points: return "using 1:2 with points \(color) pt \(series.pointType) ps \(number(series.pointSize))"
        case .linesPoints: return "using 1:2 with linespoints \(color) lw \(number(series.lineWidth)) pt \(series.pointType) ps \(number(series.pointSize))\(dash)"
        case .steps: return "using 1:2 with fsteps \(color) lw \(number(series.lineWidth))\(dash)"
        case .hold: return "using 1:2 with steps \(color) lw \(number(series.lineWidth))\(dash)"
        case .bars:
            // Rows of x, one end, the other (the datablock's bar form): boxes from end to end.
            let w = number(series.barWidth / 2)
            return "using 1:(($2 + $3) / 2):($1 - \(w)):($1 + \(w)):2:3 with boxxyerror fc rgb '\(series.color)' fs solid 1.0 noborder"
        }
    }

    /// gnuplot-readable numbers: finite values in full precision, NaN for anything else (gnuplot
    /// skips NaN points instead of failing).
    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "NaN" }

    /// A double-quoted gnuplot string whose text prints literally in enhanced mode
    /// (`_`, `^`, braces and `@` are escaped so that "digits_fp32" is not a subscript).
    static func quote(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "_", "^", "{", "}", "@", "&": out += "\\\\" + String(c)
            default: out.append(c)
            }
        }
        return "\"" + out + "\""
    }

    /// A path inside single quotes.
    static func escape(_ text: String) -> String { text.replacingOccurrences(of: "'", with: "''") }
}

extension String {
    /// The text inside double quotes (its gnuplot escapes already applied).
    var wrappedInQuotes: String { "\"" + self + "\"" }
}
