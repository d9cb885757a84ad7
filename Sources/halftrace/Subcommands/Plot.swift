import ArgumentParser
import Foundation
import HalfTraceFigures
import HalfTraceKernels
import HalfTracePlot
import HalfTraceTraining

extension HalfTraceCommand {
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw detector runs side by side from their results.csv (HalfTrace's or the real YOLOv5's).",
            discussion: "Example: halftrace plot --results \"HalfTrace=runs/det/results.csv\" --results \"YOLOv5 7.0=runs/yolov5/results.csv\" --name detector_vs_yolov5 --out plots")

        @Option(help: "LABEL=FILE: a run's results.csv and its legend (repeatable, 1 to 8).") var results: [String] = []
        @Option(help: "The figure's file name, without extension.") var name: String = "detector_runs"
        @Option(help: "The figure's title.") var title: String = "Detector runs per epoch"
        @Option(help: "Directory the png and svg are written into.") var out: String = "plots"

        func runs() throws -> [(String, String)] {
            try results.map { item in
                guard let eq = item.firstIndex(of: "="), eq != item.startIndex, item.index(after: eq) != item.endIndex else {
                    throw ValidationError("--results '\(item.prefix(60))': expected LABEL=FILE")
                }
                return (String(item[..<eq]), String(item[item.index(after: eq)...]))
            }
        }

        func validate() throws {
            guard (1...8).contains(results.count) else { throw ValidationError("--results: give 1 to 8 runs (got \(results.count))") }
            _ = try runs()
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ValidationError("--name '\(name.prefix(60))': letters, digits, _ and - only")
            }
        }

        func run() throws {
            let loaded = try runs().map { label, path in (label: label, results: try DetectorResultsFile.read(path)) }
            guard Gnuplot.executable != nil else { throw CommandFailure(Gnuplot.installHint) }
            try Gnuplot.prepare(directory: out)
            try Gnuplot.render(DetectorRunsFigure.make(loaded, name: name, title: title), directory: out)
            for run in loaded {
                let tail = run.results.meanOfLast(10)
                let reach = run.results.firstEpoch(reaching: 0.7, 0.4).map { "epoch \($0)" } ?? "never"
                print("\(run.label): \(run.results.rows.count) epochs; mean of the last 10: mAP@0.5 \(Format.fixed(tail.map50, 3)), mAP@0.5:0.95 \(Format.fixed(tail.map, 3)); 0.7 / 0.4 first reached: \(reach)")
            }
            print("wrote \(out)/\(name).png and .svg")
        }
    }
}
