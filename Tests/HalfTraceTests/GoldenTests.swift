import Foundation
import HalfTraceFigures
import HalfTracePlot
import HalfTraceTestSupport
import HalfTraceTraces
import Testing

/// The golden scenarios as regression tests: one test per file in Golden/, never writing it.
@Suite("Golden traces")
struct GoldenTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Golden").path

    /// In a debug build (`BuildSize`) the training scenarios stop after their first epoch (the
    /// resume scenario one epoch after its stop) and their first rows are compared; in release
    /// every row, as `halftrace check` does.
    static let epochLimit = BuildSize.pick(release: nil, debug: 1 as Int?)

    @Test("the engine reproduces the golden file (debug builds: the first epoch of the training runs)", arguments: Scenarios.all.map(\.name))
    func scenario(name: String) {
        let spec = Scenarios.all.first { $0.name == name }!
        let check = GoldenRunner.check(spec, directory: Self.golden, runs: RunCache(epochLimit: Self.epochLimit))
        #expect(check.failure == nil, "\(check.message)")
        #expect(!check.columns.isEmpty && check.passes, "\(check.message)")
        // Its figures: the standard one, and every declared figure it draws alone (a scenario
        // that does not implement `ownFigures` would draw nothing).
        let standard = check.figure
        #expect(standard != nil, "\(name): no figure")
        var figures = standard.map { [$0] } ?? []
        for f in Scenarios.figures where f.scenarios == [spec] {
            let own = f.figures([name: check])
            #expect(!own.isEmpty, "\(f.name): declared as drawn by \(name), which draws nothing")
            figures += own
        }
        for figure in figures {
            let broken = FigureRules.violations(figure, check: check)
            #expect(broken.isEmpty, "\(broken.joined(separator: "\n"))")
        }
    }

    @Test("the comparison figures of several scenarios keep the renderer's rules (debug builds: those without a training run)")
    func comparisonFigureRules() {
        let runs = RunCache(epochLimit: Self.epochLimit)
        let withTraining = BuildSize.pick(release: true, debug: false)
        let multi = Scenarios.figures.filter { f in
            f.scenarios.count > 1 && (withTraining || f.scenarios.allSatisfy { !($0.config["kind"] ?? "").hasPrefix("training") })
        }
        #expect(multi.map(\.name).contains("restart_zooms") && multi.count >= 3, "\(multi.map(\.name))")
        var checks: [String: ScenarioCheck] = [:]
        for spec in Set(multi.flatMap { $0.scenarios.map(\.name) }).sorted() {
            checks[spec] = GoldenRunner.check(Scenarios.all.first { $0.name == spec }!, directory: Self.golden, runs: runs)
        }
        for f in multi {
            let drawn = f.figures(checks)
            #expect(!drawn.isEmpty, "\(f.name) draws nothing")
            for figure in drawn {
                let broken = FigureRules.violations(figure)
                #expect(broken.isEmpty, "\(broken.joined(separator: "\n"))")
            }
        }
    }

    @Test("a training run stopped after its first epoch gives the full run's first rows, bit for bit (what debug builds compare)")
    func stoppedRunIsAPrefix() throws {
        let scenario = try Scenarios.all.first { $0.name == "scaler_mlp_overflow" }!.make()
        let full = try scenario.engineRows(RunCache()), stopped = try scenario.engineRows(RunCache(epochLimit: 1))
        #expect(stopped.count > 0 && stopped.count < full.count)
        #expect(stopped.map { $0.map(\.bitPattern) } == full.prefix(stopped.count).map { $0.map(\.bitPattern) })
    }

    @Test("Golden/ holds exactly the listed scenarios, each naming itself")
    func listing() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.golden).filter { $0.hasSuffix(".csv") }.sorted()
        #expect(files == Scenarios.all.map { $0.name + ".csv" }.sorted())
    }

    @Test("a one-ulp change in a formula value is caught and located")
    func oneULP() throws {
        let spec = Scenarios.all.first { $0.name == "cosine_vs_linear" }!
        var file = try GoldenRunner.generate(spec, runs: RunCache())
        let engine = try spec.make().engineRows(RunCache())
        file.rows[37][2] = file.rows[37][2].nextUp
        let checks = GoldenRunner.compare(engine, file, try spec.make().columns)
        let bad = checks.filter { !$0.passes }
        #expect(bad.map(\.column) == ["linear"])
        #expect(bad.first?.location == "epoch 37")
    }

    @Test("a golden file cannot decide what is run or compared: an edited config line, a relabelled column, a widened tolerance or a missing row fails check naming the file and what differs")
    func scenarioOwnsItsColumns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ht-owns-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = Scenarios.all.first { $0.name == "cosine_vs_linear" }!
        let original = try String(contentsOfFile: Self.golden + "/cosine_vs_linear.csv", encoding: .utf8)
        func check(_ text: String) throws -> ScenarioCheck {
            try text.write(toFile: dir + "/cosine_vs_linear.csv", atomically: true, encoding: .utf8)
            return GoldenRunner.check(spec, directory: dir, runs: RunCache())
        }
        // Doubled values hidden behind an `info` label or a tolerance of 1e300: refused, not passed.
        let doubled = original.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard line.first?.isNumber == true else { return String(line) }
            let f = line.split(separator: ",")
            return "\(f[0]),\(Double(f[1])! * 2),\(f[2])"
        }.joined(separator: "\n")
        let relabelled = try check(doubled.replacingOccurrences(of: "# column cosine: source=formula", with: "# column cosine: source=info"))
        #expect(!relabelled.passes && relabelled.message.contains("cosine_vs_linear.csv") && relabelled.message.contains("column cosine: the file says source=info"),
                "\(relabelled.message)")
        let widened = try check(doubled.replacingOccurrences(of: "# column cosine: source=formula tolerance=exact", with: "# column cosine: source=formula tolerance=rel:1e300"))
        #expect(!widened.passes && widened.message.contains("column cosine: the file says source=formula tolerance=rel:1e+300"), "\(widened.message)")
        var lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast(2)
        let short = try check((lines + [""]).joined(separator: "\n").replacingOccurrences(of: "# rows: 100", with: "# rows: 99"))
        #expect(!short.passes && short.message.contains("the engine produced 100 rows, the golden file has 99"), "\(short.message)")
        // The scenario's code, not the file, decides what is run: an edited `# config:` line fails.
        let edited = try check(original.replacingOccurrences(of: "# config: kind=lambda epochs=100 lrf=0.1", with: "# config: kind=lambda epochs=100 lrf=0.2"))
        #expect(!edited.passes && edited.message.contains("cosine_vs_linear.csv: config: the file's # config: line disagrees with the scenario's code (lrf: file '0.2', code '0.1')"),
                "\(edited.message)")
        #expect(try check(original).passes)
    }

    static func parseError(_ text: String) -> String {
        do {
            _ = try GoldenFile.parse(text, path: "Golden/x.csv")
            return "parsed"
        } catch { return "\(error)" }
    }

    static let good = """
    # halftrace golden v1
    # scenario: x
    # title: t
    # config: kind=interp xp=1,2 fp=3,4 x=1.5
    # column x: source=key tolerance=exact label=x
    # column y: source=formula tolerance=exact label=y
    # rows: 2
    x,y
    1.5,3.5
    2,4

    """

    @Test("broken golden files fail with file:line and what was expected")
    func badFiles() {
        #expect(Self.parseError(Self.good) == "parsed")
        #expect(Self.parseError(Self.good.replacingOccurrences(of: "2,4\n", with: "2")) == "Golden/x.csv:10: 1 fields, expected 2 (x,y)")
        #expect(Self.parseError(Self.good.split(separator: "\n").prefix(7).joined(separator: "\n"))
            == "Golden/x.csv:8: truncated: the CSV header row is missing")
        #expect(Self.parseError(Self.good.replacingOccurrences(of: "2,4\n", with: "")) == "Golden/x.csv:10: truncated: 1 data rows, the header promises 2")
        #expect(Self.parseError(Self.good.replacingOccurrences(of: "1.5,3.5", with: "1.5,abc")) == "Golden/x.csv:9: column y: 'abc' is not a number")
        #expect(Self.parseError(Self.good.replacingOccurrences(of: "1.5,3.5", with: "1.5,3.5,9")) == "Golden/x.csv:9: 3 fields, expected 2 (x,y)")
        #expect(Self.parseError(Self.good.replacingOccurrences(of: "# config: kind=interp xp=1,2 fp=3,4 x=1.5\n", with: ""))
            == "Golden/x.csv:7: missing '# config:' line (the scenario's configuration)")
        #expect(Self.parseError(Self.good.replacingOccurrences(of: "v1", with: "v9")).hasPrefix("Golden/x.csv:1: expected '# halftrace golden v1'"))
        #expect(Self.parseError("") .hasPrefix("Golden/x.csv:1:"))
    }

    @Test("golden text round-trips every Float64 bit pattern, signed zero and specials included")
    func roundTrip() throws {
        let values: [Double] = [0, -0.0, 0.1, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1.5, 3, .infinity, -.infinity, 0.010300000000000004]
        let file = GoldenFile(scenario: "r", title: "r", config: ScenarioConfig([("kind", "interp")]),
                              columns: [GoldenColumn("v", .formula)], rows: values.map { [$0] })
        let back = try GoldenFile.parse(file.text, path: "r")
        #expect(back.rows.map { $0[0].bitPattern } == values.map(\.bitPattern))
    }

    @Test("the gnuplot script is a pure function of the figure: datablocks, panels, both outputs")
    func script() {
        var panel = Panel(yLabel: "learning rate", series: [Series("lr_bias formula", x: [0, 1], y: [0.1, .nan], style: .line, color: "#000000")])
        panel.logBase = 2
        panel.markers = [Marker(x: 1, label: "restart")]
        let text = GnuplotScript.make(Figure(name: "f", title: "a_b \"q\"", xLabel: "epoch", panels: [panel]),
                                      outputs: [.init(.png, "/tmp/f.png"), .init(.svg, "/tmp/it's.svg")])
        #expect(text.contains("$p0s0 << EOD\n0.0 0.1\n1.0 NaN\nEOD\n"), "NaN for non-finite values")
        #expect(text.contains("set terminal pngcairo") && text.contains("set terminal svg"))
        #expect(text.contains("set output '/tmp/it''s.svg'"))
        #expect(text.contains("set multiplot title \"a\\\\_b \\\"q\\\"\""), "enhanced-text specials escaped: \(text.prefix(400))")
        #expect(text.contains("set logscale y 2") && text.contains("set format y '2^{%L}'"))
        #expect(text.contains("title \"lr\\\\_bias formula\""))
        #expect(text.contains("set ylabel \"learning rate\"") && text.contains("set xlabel \"epoch\""))
    }

    @Test("bars: one datablock row a bar (x and its two ends), filled boxes with square ends, a filled sample in a grid's legend")
    func bars() {
        var range = Series("range", x: [0, 0, 1, 1, 2], y: [0.2, 0.5, -0.1, 0.3, 9], style: .bars, color: "#9ecae1")
        range.barWidth = 0.2
        var figure = Figure(name: "f", title: "t", xLabel: "variant", panels: [Panel(yLabel: "mAP", series: [range])])
        var text = GnuplotScript.make(figure, outputs: [.init(.png, "/tmp/f.png")])
        #expect(text.contains("$p0s0 << EOD\n0.0 0.2 0.5\n1.0 -0.1 0.3\nEOD\n"), "two bars; the unpaired last point is not drawn: \(text.prefix(200))")
        #expect(text.contains("$p0s0 using 1:(($2 + $3) / 2):($1 - 0.1):($1 + 0.1):2:3 with boxxyerror fc rgb '#9ecae1' fs solid 1.0 noborder"), "\(text)")
        figure.gridColumns = 1
        text = GnuplotScript.make(figure, outputs: [.init(.png, "/tmp/f.png")])
        #expect(text.contains("set object 1000 rect from screen") && text.contains("fc rgb '#9ecae1' fs solid 1.0 noborder\nset label 1001 \"range\""), "\(text)")
        #expect(FigureRules.violations(figure).isEmpty, "\(FigureRules.violations(figure))")
        // The same range as a thick line breaks the rule.
        var line = Series("range", x: [0, 0], y: [0.2, 0.5], style: .line, color: "#9ecae1")
        line.lineWidth = 6
        figure.panels[0].series = [line]
        #expect(FigureRules.violations(figure) == ["f: 'range' at x = 0.0 is a thick vertical line, not bars"])
    }

    @Test("the renderer's rules: held values as steps, NaN runs shaded and named, constant panels replaced by text, log axes padded, the legend's room kept")
    func rendererRules() throws {
        // A loss that turns NaN at epoch 3, a scale that holds between rows, a constant accumulate.
        let x: [Double] = [0, 1, 2, 3, 4, 5]
        let loss = Panel(yLabel: "loss", series: [Series("train_loss golden", x: x, y: [2, 1.5, 1.2, .nan, .nan, .nan], style: .line, color: "#000000"),
                                                  Series("train_loss engine", x: x, y: [2, 1.5, 1.2, .nan, .nan, .nan], style: .points, color: "#ff0000")])
        var scale = Panel(yLabel: "loss scale", series: [Series("scale formula", x: x, y: [1024, 1024, 512, 512, 256, 256], style: .hold, color: "#000000")])
        scale.logBase = 2
        let accumulate = Panel(yLabel: "accumulate", series: [Series("accumulate formula", x: x, y: [1, 1, 1, 1, 1, 1], style: .hold, color: "#000000")])
        let residual = Panel(yLabel: "residual", series: [Series("a very long legend entry that needs room on the right of the plots", x: x, y: [0, 0, 0, 0, 0, 0],
                                                                 style: .points, color: "#0000ff")])
        let figure = Figure(name: "f", title: "t", xLabel: "epoch", panels: [loss, scale, accumulate, residual])
        let text = GnuplotScript.make(figure, outputs: [.init(.png, "/tmp/f.png")])
        #expect(FigureRules.violations(figure).isEmpty, "\(FigureRules.violations(figure))")
        var long = figure
        long.title = String(repeating: "a title far too long for any figure ", count: 12)
        #expect(FigureRules.violations(long).contains { $0.contains("wider than the figure") }, "the title rule can fail")
        #expect(text.contains("with steps lc rgb '#000000'"), "a held value is drawn as steps")
        #expect(text.contains("set object 100 rect from first 2.0, graph 0 to first 5.0, graph 1"), "the NaN run from the last finite row to the end is shaded")
        #expect(text.contains("set label 100 \"train\\\\_loss: NaN from 3\""), "and named once for both series: \(text)")
        #expect(!text.contains("set ylabel \"accumulate\"") && text.contains("accumulate: 1 throughout (panel omitted)"), "a constant panel is a line of text")
        #expect(text.contains("set yrange [128.0:2048.0]"), "a log2 axis one octave beyond the data")
        let right = try #require(text.split(separator: "\n").first { $0.hasPrefix("set rmargin at screen") })
        let margin = try #require(Double(right.split(separator: " ").last!))
        #expect(margin == 0.55, "the plots end at 55 % of the width, the most a 66-character legend entry may take: \(margin)")
    }
}
