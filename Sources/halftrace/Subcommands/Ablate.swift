import ArgumentParser
import Foundation
import HalfTraceFigures
import HalfTraceKernels
import HalfTracePlot
import HalfTraceTraining

extension HalfTraceCommand {
    struct Ablate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the detector with each trick of the recipe on and off, over seeds; shard the work over machines and merge it.",
            discussion: """
                Work item i is (variant, seed) with i = variant * seeds + seed; --shard K/N runs the items with i mod N = K and \
                writes DIR/ablations-K-of-N.csv (without --shard: DIR/ablations.csv). A shard started again runs only the items \
                its file does not hold. --merge joins the shards' files (or directories) into DIR/ablations.csv, the file one \
                machine writes, byte for byte. Each run's mAP per epoch goes to curves*.csv beside it (merged the same way into \
                DIR/curves.csv); wall time to timings*.csv.
                Slurm: #SBATCH --array=0-15, then: halftrace ablate --shard $SLURM_ARRAY_TASK_ID/16 --out runs/ablate
                Kubernetes Indexed Job (completions 16): halftrace ablate --shard $JOB_COMPLETION_INDEX/16 --out /runs/ablate
                """)

        @Option(help: "Seeds per variant.") var seeds: Int = 3
        @Option(help: "Epochs each run trains.") var epochs: Int = 300
        @Option(help: "Image size of the synthetic shapes (a multiple of 16).") var imgsz: Int = 64
        @Option(help: "Synthetic training and validation images, as TRAIN,VAL.") var images: String = "300,100"
        @Option(help: "The detector's four widths, as A,B,C,D.") var widths: String = "16,32,64,128"
        @Option(help: "Only these variants, comma-separated (default: all; see the README's table).") var variants: String?
        @Option(help: "Run shard K of N (0 <= K < N), e.g. $SLURM_ARRAY_TASK_ID/16.") var shard: String?
        @Option(parsing: .upToNextOption, help: "Join these shard files or directories into --out/ablations.csv instead of training (runs of other variants with the same seeds, epochs and data join into the plan of all their variants).") var merge: [String] = []
        @Option(help: "Output directory.") var out: String
        @Option(help: "Also draw ablations.png (each variant's seeds, mean and range) and ablation_curves.png (mAP per epoch, per trick), with .svg, into this directory (needs gnuplot).") var plots: String?

        func ints(_ text: String, flag: String, count: Int) throws -> [Int] {
            let v = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == count, v.allSatisfy({ $0 != nil }) else { throw ValidationError("\(flag): '\(text.prefix(40))' is invalid: expected \(count) integers separated by commas") }
            return v.map { $0! }
        }

        var plan: Ablation.Plan {
            get throws {
                let i = try ints(images, flag: "--images", count: 2), w = try ints(widths, flag: "--widths", count: 4)
                return Ablation.Plan(variants: variants.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0) } } ?? Ablation.variants.map(\.name),
                                     seeds: seeds, epochs: epochs, imageSize: imgsz, images: (i[0], i[1]), widths: w)
            }
        }

        func validate() throws {
            if !merge.isEmpty {
                for (flag, given) in [("--shard", shard != nil), ("--variants", variants != nil)] where given {
                    throw ValidationError("\(flag) does not apply to --merge (the shards' files name their plan)")
                }
                return
            }
            if let shard {
                let s: Ablation.Shard
                do { s = try Ablation.Shard(parsing: shard) } catch let e as HalfTraceError { throw ValidationError("--shard: \(e.reason)") }
                if plots != nil, s.count > 1 {
                    throw ValidationError("--plots draws the whole run: give it to --merge once every shard has finished, not to shard \(s)")
                }
            }
            let p = try plan
            do { try p.validate() } catch let e as HalfTraceError {
                let flag = ["variants": "--variants", "seeds": "--seeds", "epochs": "--epochs", "image_size": "--imgsz", "synthetic_train": "--images",
                            "synthetic_validation": "--images"][e.field ?? ""] ?? (e.field?.hasPrefix("width") == true ? "--widths" : "--\(e.field ?? "ablate")")
                throw ValidationError("\(flag): \(e.reason)")
            }
        }

        func run() throws {
            if let plots {
                guard Gnuplot.executable != nil else { throw CommandFailure("--plots: \(Gnuplot.installHint)") }
                do { try Gnuplot.prepare(directory: plots) } catch let e as HalfTraceError { throw CommandFailure("--plots: \(e)") }
            }
            let result: (plan: Ablation.Plan, rows: [Ablation.Row], curves: [Ablation.CurvePoint])
            if !merge.isEmpty {
                let files = try merge.flatMap { path -> [String] in
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw HalfTraceError.inaccessible(path, "no such file or directory") }
                    guard isDirectory.boolValue else { return [path] }
                    // The shards' files, or else a whole run's (or an earlier merge's) ablations.csv.
                    let all = try FileManager.default.contentsOfDirectory(atPath: path)
                    let names = all.filter { $0.hasPrefix("ablations-") && $0.hasSuffix(".csv") }.sorted()
                    if names.isEmpty, all.contains("ablations.csv") { return [path + "/ablations.csv"] }
                    guard !names.isEmpty else { throw HalfTraceError.inaccessible(path, "holds no ablations-K-of-N.csv (nor ablations.csv)") }
                    return names.map { path + "/" + $0 }
                }
                let merged = try Ablation.merge(files)
                try AtomicFile.makeDirectory(out)
                if let curves = merged.curves {
                    try AtomicFile.write(curves, to: out + "/curves.csv")
                } else if FileManager.default.fileExists(atPath: out + "/curves.csv") {
                    try FileManager.default.removeItem(atPath: out + "/curves.csv")  // an earlier merge's, not these rows'
                }
                try AtomicFile.write(merged.text, to: out + "/ablations.csv")
                result = (merged.plan, try Ablation.read(out + "/ablations.csv").rows, merged.curves == nil ? [] : try Ablation.readCurves(out + "/curves.csv").points)
                print("merged \(files.count) shard file\(files.count == 1 ? "" : "s") into \(out)/ablations.csv\(merged.curves == nil ? "" : " and curves.csv") (\(result.rows.count) runs)")
                if let missing = merged.missingCurves {
                    print("no curves.csv (nor ablation_curves.png): \(missing) is missing (shards written before halftrace kept each run's curve)")
                }
            } else {
                let p = try plan, s = try Ablation.Shard(parsing: shard ?? "0/1")
                let mine = p.items.filter { s.owns($0.index) }.count
                print("halftrace ablate: shard \(s), \(mine) of \(p.items.count) runs (\(p.variants.count) variants x \(p.seeds) seeds), \(p.epochs) epochs each")
                let progress = ProgressLine()
                let clock = ContinuousClock(), start = clock.now
                var finishedRuns = 0
                let (rows, curves) = try Ablation.runShard(p, shard: s, directory: out, progress: { item, k, total, epoch in
                    let elapsed = (clock.now - start).seconds
                    let fraction = (Double(finishedRuns) + Double(epoch + 1) / Double(p.epochs)) / Double(max(1, total - (k - finishedRuns)))
                    let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
                    progress.update("ablate \(s): run \(k + 1)/\(total) \(item.variant) seed \(item.seed) epoch \(epoch + 1)/\(p.epochs), ETA \(Int(eta)) s")
                }, finished: { row, seconds in
                    finishedRuns += 1
                    progress.finish()
                    print("  \(row.variant) seed \(row.seed): mAP@0.5 \(Format.fixed(row.meanMap50, 3)), mAP@0.5:0.95 \(Format.fixed(row.meanMap, 3)) (mean of the last 10 epochs), best epoch \(row.bestEpoch), \(row.skipped) skipped steps, \(Format.fixed(seconds, 1)) s")
                })
                progress.finish()
                print("wrote \(out)/\(Ablation.fileName(s)) and \(Ablation.curvesFileName(s))")
                result = (p, rows, curves)
            }
            if result.plan.items.count == result.rows.count {
                print("\nWhat each variant buys (mAP over the last 10 epochs of each run; a paired difference within two standard errors of 0 reads as inside the seeds' spread):")
                print(Ablation.effectsTable(Ablation.effects(result.rows, plan: result.plan)))
            }
            guard let plots else { return }
            precondition(result.plan.items.count == result.rows.count, "a whole run or a merge holds every item")
            for figure in [AblationFigure.make(result.rows, plan: result.plan), AblationFigure.curves(result.curves, plan: result.plan)].compactMap({ $0 }) {
                do { try Gnuplot.render(figure, directory: plots) } catch let e as HalfTraceError { throw CommandFailure("--plots: \(e)") }
                print("wrote \(plots)/\(figure.name).png and \(figure.name).svg")
            }
        }
    }
}
