import ArgumentParser
import Foundation
import HalfTraceFigures
import HalfTraceKernels
import HalfTracePlot
import HalfTraceTraces
import HalfTraceTraining

extension HalfTraceCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every scenario through the engine, compare with Golden/, render the figures, print one table.")

        @Option(help: "Directory of golden files.") var golden = "Golden"
        @Option(help: "Directory for figures.") var plots = "plots"
        @Flag(name: .customLong("no-plots"), help: "Check the numbers only.") var noPlots = false
        @Option(help: "Check only this scenario.") var only: String?

        func validate() throws { _ = try selected(only) }

        func run() throws {
            let clock = ContinuousClock(), start = clock.now
            let specs = try selected(only)
            var drawFigures = !noPlots
            if drawFigures {
                do { try Gnuplot.prepare(directory: plots) } catch let e as HalfTraceError { throw CommandFailure("--plots: \(e)") }
                if Gnuplot.executable == nil {
                    print(Gnuplot.installHint)
                    drawFigures = false
                }
            }
            let progress = ProgressLine()
            progress.update("check: running \(specs.count) scenarios on \(GEMM.defaultThreadCount) cores")
            let ordered = GoldenRunner.checkAll(specs, directory: golden)
            var checks: [String: ScenarioCheck] = [:]
            for c in ordered {
                checks[c.name] = c
                if !c.passes, let file = GoldenRunner.engineFile(c) {
                    try AtomicFile.write(file.text, to: c.path + ".new")
                }
            }
            var figureErrors: [String] = [], figures = 0
            if drawFigures {
                progress.update("check: rendering figures")
                let all = ordered.compactMap(\.figure) + ScenarioFigures.comparisons(checks)
                let outcomes = concurrentMap(all) { figure -> String? in
                    do {
                        try Gnuplot.render(figure, directory: plots)
                        return nil
                    } catch { return "\(error)" }
                }
                figureErrors = outcomes.compactMap { $0 }
                figures = outcomes.count - figureErrors.count
            }
            progress.finish()
            print(CheckReport.header)
            for c in ordered { print(CheckReport.row(c)) }
            let failed = ordered.filter { !$0.passes }
            for c in failed {
                print("")
                print(c.message)
                if c.golden != nil && !c.engineRows.isEmpty { print("  the engine's trace is in \(c.path).new") }
            }
            for e in figureErrors { print("figure error: \(e)") }
            let seconds = (clock.now - start).seconds
            print("\n\(ordered.count - failed.count) of \(ordered.count) scenarios hold; \(drawFigures ? "\(figures) figures in \(plots)/ (png and svg)" : "no figures"); \(String(format: "%.1f", seconds)) s")
            if !failed.isEmpty || !figureErrors.isEmpty { throw ExitCode(1) }
        }
    }

    struct Golden: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Regenerate Golden/ from the Reference formulas (and the engine for engine columns); print what moved.")

        @Option(help: "Directory of golden files.") var golden = "Golden"
        @Option(help: "Regenerate only this scenario.") var only: String?
        @Flag(name: .customLong("dry-run"), help: "Print the changes without writing; exit 1 if any golden file would change.") var dryRun = false

        func validate() throws { _ = try selected(only) }

        func run() throws {
            let specs = try selected(only)
            try AtomicFile.makeDirectory(golden)
            var written = 0, moving = 0
            for (spec, new) in zip(specs, try GoldenRunner.generateAll(specs)) {
                let path = GoldenRunner.path(golden, spec.name)
                let old: GoldenFile? = FileManager.default.contents(atPath: path).flatMap {
                    try? GoldenFile.parse(String(decoding: $0, as: UTF8.self), path: path)
                }
                let changes = GoldenRunner.changes(old: old, new: new)
                let moved = changes.filter { $0.change != "unchanged" }
                print("\(path): \(moved.isEmpty ? "unchanged" : "")")
                for (column, change) in moved { print("  \(column): \(change)") }
                if !moved.isEmpty { moving += 1 }
                if !dryRun && !moved.isEmpty {
                    try AtomicFile.write(new.text, to: path)
                    written += 1
                }
            }
            if dryRun {
                print(moving == 0 ? "dry run: every golden file is unchanged" : "dry run: \(moving) golden file(s) would change; nothing written")
                if moving > 0 { throw ExitCode(1) }
            } else {
                print("\(written) file(s) written")
            }
        }
    }
}

/// The scenarios to run: all, or the one named (with the list when the name is unknown).
func selected(_ only: String?) throws -> [ScenarioSpec] {
    guard let only else { return Scenarios.all }
    guard let spec = Scenarios.all.first(where: { $0.name == only }) else {
        throw ValidationError("--only: no scenario '\(only)'; scenarios: \(Scenarios.all.map(\.name).joined(separator: ", "))")
    }
    return [spec]
}
