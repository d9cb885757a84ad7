import Foundation
import HalfTraceFigures
import HalfTraceKernels
import HalfTracePlot
import HalfTraceTestSupport
import HalfTraceTraining
import Testing

/// `halftrace ablate`: work items split over shards, merged into the file one machine writes,
/// resumed after SIGKILL without losing or repeating a row, and bad shard files refused.
@Suite("Ablations and shards")
struct AblationTests {
    /// A plan small enough for a test: two variants (one of them amp, so a scaler runs), two seeds,
    /// a tiny detector on 32 px shapes.
    static let plan = Ablation.Plan(variants: ["yolov5", "amp"], seeds: 2, epochs: 1, imageSize: 32, images: (8, 4), widths: [4, 8, 8, 16])
    static let flags = ["--variants", "yolov5,amp", "--seeds", "2", "--epochs", "1", "--imgsz", "32", "--images", "8,4", "--widths", "4,8,8,16"]

    @Test("the default plan's yolov5 variant is `train --model detector --seed S` (so train's runs are its rows); each other variant changes what it says")
    func variantsAreTheRecipe() throws {
        let plan = Ablation.Plan()
        for seed in 0..<3 {
            var train = DetectorConfig()
            train.seed = UInt64(seed)
            #expect(try plan.config(variant: "yolov5", seed: seed) == train, "seed \(seed)")
        }
        let recipe = try plan.config(variant: "yolov5", seed: 0)
        var biasLR0 = recipe
        biasLR0.hyp.warmupBiasLR = 0
        #expect(try plan.config(variant: "bias-lr-0", seed: 0) == biasLR0)
        var stochastic = recipe
        (stochastic.precision, stochastic.stochasticRounding) = (.bf16, true)
        #expect(try plan.config(variant: "bf16-stochastic", seed: 0) == stochastic)
        // `train --precision P` changes only the precision (so its runs are the precision rows).
        for (name, precision) in [("amp", Precision.amp), ("fp16", .fp16), ("bf16", .bf16), ("amp-bf16", .ampBF16)] {
            var trained = recipe
            trained.precision = precision
            #expect(try plan.config(variant: name, seed: 0) == trained, "\(name)")
        }
        // What `train` copies from the toy models' configuration when no flag is given is the detector's default.
        let toy = TrainingConfig()
        #expect(toy.scaler == recipe.scaler && toy.scheduler == recipe.scheduler && toy.restarts == recipe.restarts)
    }

    @Test("ablate's figures: each variant's seeds, and per trick the mean mAP@0.5 per epoch over the seeds, the recipe's curve in each panel")
    func figures() throws {
        try withTemporaryDirectory("ablate-figures") { root in
            let (rows, curves) = try Ablation.runShard(Self.plan, shard: .whole, directory: root)
            let summary = try #require(AblationFigure.make(rows, plan: Self.plan))
            let drawn = try #require(AblationFigure.curves(curves, plan: Self.plan))
            for f in [summary, drawn] { #expect(FigureRules.violations(f).isEmpty, "\(FigureRules.violations(f))") }
            // The third panel: amp's paired difference per seed, its mean and the mean +- 2 s.e. bar
            // (two seeds: s.e. = |d0 - d1| / 2), from the rows file as read back.
            let read = try Ablation.read(root + "/ablations.csv").rows
            func map50(_ v: String, _ seed: Int) -> Double { read.first { $0.variant == v && $0.seed == seed }!.meanMap50 }
            let d = (0..<2).map { map50("amp", $0) - map50("yolov5", $0) }
            let (mean, se) = ((d[0] + d[1]) / 2, abs(d[0] - d[1]) / 2)
            #expect(summary.panels.count == 3)
            // The variants are named once, under the lowest panel (names above it ran into the next title).
            #expect(summary.panels.map { $0.xTicks?.map(\.label) ?? [] } == [["", ""], ["", ""], ["yolov5", "amp"]])
            let difference = try #require(summary.panels.last).series
            // (the code's sample standard deviation rounds differently from |d0 - d1| / 2: 1e-12)
            let bar = try #require(difference.first { $0.title.hasPrefix("mean ± 2") }?.y)
            #expect(bar.count == 2 && zip(bar, [mean - 2 * se, mean + 2 * se]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(bar) against \(mean) ± 2 x \(se)")
            #expect(d[0] != d[1], "the seeds differ, so the bar has a length to check")
            #expect(difference.first { $0.title == "mean over 2 seeds" }?.y == [mean])
            #expect(difference.first { $0.title == "each seed" }?.y == d)
            #expect(difference.first { $0.title == "mean over 2 seeds" }?.x == [1])
            // yolov5 is the baseline, amp the precision trick: one panel, the recipe and amp.
            #expect(drawn.panels.count == 1 && drawn.panels[0].note == "precision")
            let series = drawn.panels[0].series
            #expect(series.map(\.title) == ["yolov5 (the recipe)", "amp"])
            // Each curve is the mean over the seeds, epoch by epoch, from the rows of curves.csv as read back.
            let readCurves = try Ablation.readCurves(root + "/curves.csv").points
            for (k, variant) in ["yolov5", "amp"].enumerated() {
                let expected = (0..<Self.plan.epochs).map { e in
                    (0..<Self.plan.seeds).map { s in readCurves.first { $0.variant == variant && $0.seed == s && $0.epoch == e }!.map50 }.reduce(0, +) / Double(Self.plan.seeds)
                }
                #expect(series[k].y == expected, "\(variant)")
            }
        }
    }

    @Test("shard K of N owns exactly the items with index mod N = K: the shards partition the work")
    func partition() throws {
        let items = Ablation.Plan(variants: Ablation.variants.map(\.name), seeds: 3).items
        #expect(items.map(\.index) == Array(0..<(Ablation.variants.count * 3)))
        for n in 1...7 {
            let owned = try (0..<n).map { k in try Ablation.Shard(k, of: n) }.map { s in items.filter { s.owns($0.index) }.map(\.index) }
            #expect(owned.flatMap { $0 }.sorted() == items.map(\.index), "N = \(n)")
            #expect(owned.enumerated().allSatisfy { k, indexes in indexes.allSatisfy { $0 % n == k } })
        }
    }

    @Test("the shards' files merged give one machine's ablations.csv byte for byte, for N = 1, 2 and 3; a finished shard run again trains nothing")
    func mergeEqualsOneMachine() throws {
        try withTemporaryDirectory("ablate-merge") { root in
            _ = try Ablation.runShard(Self.plan, shard: try Ablation.Shard(0, of: 1), directory: root + "/one")
            let single = try String(contentsOfFile: root + "/one/ablations.csv", encoding: .utf8)
            #expect(single.split(separator: "\n").count == 3 + Self.plan.items.count)  // version, config, header, rows
            let singleCurves = try String(contentsOfFile: root + "/one/curves.csv", encoding: .utf8)
            #expect(singleCurves.split(separator: "\n").count == 3 + Self.plan.items.count * Self.plan.epochs)
            for n in 1...3 {
                let dir = root + "/n\(n)"
                var paths: [String] = []
                for k in 0..<n {
                    let shard = try Ablation.Shard(k, of: n)
                    _ = try Ablation.runShard(Self.plan, shard: shard, directory: dir)
                    paths.append(dir + "/" + Ablation.fileName(shard))
                }
                let merged = try Ablation.merge(paths.reversed())
                #expect(merged.text == single, "N = \(n)")
                #expect(merged.curves == singleCurves, "N = \(n): curves")
            }
            // Runs of one variant each, the first split in two, join into the two-variant plan's file.
            let yolov5 = Ablation.Plan(variants: ["yolov5"], seeds: 2, epochs: 1, imageSize: 32, images: (8, 4), widths: [4, 8, 8, 16])
            var amp = yolov5
            amp.variants = ["amp"]
            for k in 0..<2 { try Ablation.runShard(yolov5, shard: try Ablation.Shard(k, of: 2), directory: root + "/yolov5") }
            try Ablation.runShard(amp, shard: .whole, directory: root + "/amp")
            let joined = try Ablation.merge([root + "/amp/ablations.csv", root + "/yolov5/ablations-1-of-2.csv", root + "/yolov5/ablations-0-of-2.csv"])
            #expect(joined.plan == Self.plan && joined.text == single && joined.curves == singleCurves)
            #expect { try Ablation.merge([root + "/amp/ablations.csv", root + "/yolov5/ablations-1-of-2.csv"]) } throws: {
                "\($0)".contains("shard 0/2 is missing (of \(root)/yolov5/ablations-1-of-2.csv's plan)")
            }
            #expect { try Ablation.merge([root + "/amp/ablations.csv", root + "/one/ablations.csv"]) } throws: {
                "\($0)".contains("\(root)/one/ablations.csv:2: variant 'amp' is also in the plan of \(root)/amp/ablations.csv")
            }
            // A shard stopped between its curves file and its rows file: the curves hold two runs
            // the rows do not; started again it trains those two and writes one machine's files.
            try AtomicFile.makeDirectory(root + "/between")
            try (single.split(separator: "\n").prefix(5).joined(separator: "\n") + "\n").write(toFile: root + "/between/ablations.csv", atomically: true, encoding: .utf8)
            try singleCurves.write(toFile: root + "/between/curves.csv", atomically: true, encoding: .utf8)
            var retrained: [Int] = []
            try Ablation.runShard(Self.plan, shard: .whole, directory: root + "/between", progress: { item, _, _, _ in
                if retrained.last != item.index { retrained.append(item.index) }
            })
            #expect(retrained == [2, 3])
            #expect(try String(contentsOfFile: root + "/between/ablations.csv", encoding: .utf8) == single)
            #expect(try String(contentsOfFile: root + "/between/curves.csv", encoding: .utf8) == singleCurves)
            // Run again: every item is in the file, nothing is trained or rewritten.
            var trained = 0
            let again = try Ablation.runShard(Self.plan, shard: try Ablation.Shard(1, of: 2), directory: root + "/n2", progress: { _, _, _, _ in trained += 1 })
            #expect(trained == 0 && again.rows.count == 2 && again.curves.count == 2 * Self.plan.epochs)
        }
    }

    @Test("bad shard files are refused naming the file (and line), and nothing is merged: missing, twice, another plan or split, truncated, edited, unfinished")
    func badMerges() throws {
        try withTemporaryDirectory("ablate-bad") { root in
            let dir = root + "/n2"
            for k in 0..<2 { _ = try Ablation.runShard(Self.plan, shard: try Ablation.Shard(k, of: 2), directory: dir) }
            let a = dir + "/ablations-0-of-2.csv", b = dir + "/ablations-1-of-2.csv"
            let textA = try String(contentsOfFile: a, encoding: .utf8)
            // The edited copies of shard 0's file below sit in root, with its curves beside them.
            let curvesA = try String(contentsOfFile: dir + "/curves-0-of-2.csv", encoding: .utf8)
            try curvesA.write(toFile: root + "/curves-0-of-2.csv", atomically: true, encoding: .utf8)
            func refused(_ paths: [String], _ needle: String) {
                #expect { try Ablation.merge(paths) } throws: { "\($0)".contains(needle) }
            }
            refused([a], "shard 1/2 is missing")
            refused([a, a], "shard 0/2 is also \(a)")
            func variant(_ name: String, _ edit: (String) -> String) throws -> String {
                let path = root + "/" + name
                try edit(textA).write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
            refused([b, try variant("other-plan.csv") { $0.replacingOccurrences(of: "epochs=1", with: "epochs=2") }], "other-plan.csv:2: another plan")
            refused([try variant("truncated.csv") { String($0.dropLast(5)) }, b], "truncated.csv:6: the last line is not terminated")
            refused([try variant("crlf-truncated.csv") { String($0.replacingOccurrences(of: "\n", with: "\r\n").dropLast(1)) }, b], "crlf-truncated.csv:6")
            // The same file with "\r\n" line ends, complete, merges as the original does.
            let crlfPath = try variant("crlf.csv") { $0.replacingOccurrences(of: "\n", with: "\r\n") }
            // Built before the expectation, so that a failure names the file that did not read.
            #expect(try Ablation.merge([crlfPath, b]).text == (try Ablation.merge([a, b]).text))
            // A UTF-8 byte-order mark, as some editors save a file, reads the same.
            let bomPath = try variant("bom.csv") { "\u{FEFF}" + $0 }
            #expect(try Ablation.merge([bomPath, b]).text == (try Ablation.merge([a, b]).text))
            refused([try variant("renamed.csv") { $0.replacingOccurrences(of: ",yolov5,0,", with: ",amp,0,") }, b], "renamed.csv:5: item 0 is not (amp, seed 0)")
            refused([try variant("moved.csv") { $0.replacingOccurrences(of: "\n0,yolov5,0,", with: "\n1,yolov5,1,") }, b], "moved.csv:5: item 1 does not belong to shard 0/2")
            // The file's 5th line (its first row) with one field replaced.
            func field(_ k: Int, _ value: String) -> (String) -> String {
                { t in
                    var lines = t.split(separator: "\n").map(String.init)
                    var f = lines[4].split(separator: ",").map(String.init)
                    f[k] = value
                    lines[4] = f.joined(separator: ",")
                    return lines.joined(separator: "\n") + "\n"
                }
            }
            refused([try variant("nan.csv", field(3, "nan")), b], "nan.csv:5: a value out of range")
            refused([try variant("unfinished.csv") { t in t.split(separator: "\n").dropLast().joined(separator: "\n") + "\n" }, b],
                    "unfinished.csv holds 1 of its 2 items: shard 0/2 has not finished")
            refused([try variant("split3.csv") { $0.replacingOccurrences(of: "# shard: 0/2", with: "# shard: 0/3") }, b], "split3.csv:")
            // Its curves file: missing, truncated, an epoch skipped, another plan, a row's run absent.
            func curvesVariant(_ name: String, _ edit: ((String) -> String)?) throws -> String {
                try AtomicFile.makeDirectory(root + "/" + name)
                try textA.write(toFile: root + "/\(name)/ablations-0-of-2.csv", atomically: true, encoding: .utf8)
                if let edit { try edit(curvesA).write(toFile: root + "/\(name)/curves-0-of-2.csv", atomically: true, encoding: .utf8) }
                return root + "/\(name)/ablations-0-of-2.csv"
            }
            // Shards from before curves were kept: the rows merge, the curves are named missing.
            let old = try Ablation.merge([try curvesVariant("no-curves", nil), b])
            #expect(old.text == (try Ablation.merge([a, b]).text) && old.curves == nil && old.missingCurves == root + "/no-curves/curves-0-of-2.csv")
            // Two inputs that are the same shard in one directory would share a curves file.
            try textA.write(toFile: root + "/n2-copy.csv", atomically: true, encoding: .utf8)
            try FileManager.default.copyItem(atPath: root + "/n2-copy.csv", toPath: root + "/n2-copy2.csv")
            refused([root + "/n2-copy.csv", root + "/n2-copy2.csv", b], "are both shard 0/2 in one directory")
            // As an editor on Windows saves it (a byte-order mark, "\r\n"), the curves read the same.
            let crlfCurves = try Ablation.merge([try curvesVariant("curves-crlf") { "\u{FEFF}" + $0.replacingOccurrences(of: "\n", with: "\r\n") }, b])
            let plainCurves = try Ablation.merge([a, b]).curves
            #expect(crlfCurves.curves != nil && crlfCurves.curves == plainCurves)
            refused([try curvesVariant("curves-truncated") { String($0.dropLast(3)) }, b], "curves-0-of-2.csv:")
            refused([try curvesVariant("curves-short") { t in t.split(separator: "\n").dropLast().joined(separator: "\n") + "\n" }, b],
                    "holds no curve of item 2 (amp, seed 0)")
            refused([try curvesVariant("curves-epoch") { $0.replacingOccurrences(of: "\n0,yolov5,0,0,", with: "\n0,yolov5,0,1,") }, b],
                    "curves-0-of-2.csv:5: expected epoch 0")
            refused([try curvesVariant("curves-plan") { $0.replacingOccurrences(of: "epochs=1", with: "epochs=2") }, b], "curves-0-of-2.csv:")
            refused([try curvesVariant("curves-empty") { t in t.split(separator: "\n").prefix(4).joined(separator: "\n") + "\n" }, b],
                    "holds no curve of item 0 (yolov5, seed 0)")
            refused([try curvesVariant("curves-nan", field(4, "nan")), b], "curves-0-of-2.csv:5: a value out of range")
            // A shard's directory holding another plan's file is refused, not overwritten.
            let other = Ablation.Plan(variants: ["yolov5"], seeds: 2, epochs: 1, imageSize: 32, images: (8, 4), widths: [4, 8, 8, 16])
            #expect { try Ablation.runShard(other, shard: try Ablation.Shard(0, of: 2), directory: dir) } throws: { "\($0)".contains("holds another plan") }
            #expect(try String(contentsOfFile: a, encoding: .utf8) == textA)
        }
    }

    @Test("a shard killed with SIGKILL (3 times; debug builds 2) after 1 or 2 new rows and started again: one machine's file, no row lost or repeated; merge from the CLI")
    func killAndResume() throws {
        try withTemporaryDirectory("ablate-kill") { root in
            // Four seeds of two variants, all in one shard of one: eight rows to kill between.
            let args = ["ablate", "--variants", "yolov5,amp", "--seeds", "4", "--epochs", "1", "--imgsz", "32", "--images", "8,4", "--widths", "4,8,8,16"]
            #expect(try CLITests.run(args + ["--out", root + "/ref"]).status == 0)
            func rows() -> String? {
                (try? String(contentsOfFile: root + "/run/ablations.csv", encoding: .utf8)).map { "\($0.split(separator: "\n").count)" }
            }
            let total = BuildSize.pick(release: 3, debug: 2)
            let (kills, _) = try ResumeTests.killRepeatedly(total, seed: 4, arguments: { _ in args + ["--out", root + "/run"] }, stamp: rows)
            #expect(kills == total)
            let reference = try String(contentsOfFile: root + "/ref/ablations.csv", encoding: .utf8)
            #expect(try String(contentsOfFile: root + "/run/ablations.csv", encoding: .utf8) == reference)
            // The CLI's merge of a two-shard split equals it too, and writes nothing when a shard is missing.
            for k in 0..<2 { #expect(try CLITests.run(args + ["--shard", "\(k)/2", "--out", root + "/split"]).status == 0) }
            let partial = try CLITests.run(["ablate", "--merge", root + "/split/ablations-0-of-2.csv", "--out", root + "/partial"])
            #expect(partial.exited && partial.status == 2 && partial.text.contains("shard 1/2 is missing"), "\(partial.text)")
            #expect(!FileManager.default.fileExists(atPath: root + "/partial/ablations.csv"))
            let merged = try CLITests.run(["ablate", "--merge", root + "/split", "--out", root + "/merged"])
            #expect(merged.status == 0, "\(merged.text)")
            // It prints what each variant buys: amp against the recipe, paired over the four seeds.
            #expect(merged.out.contains("What each variant buys") && merged.out.split(separator: "\n").contains { $0.hasPrefix("amp ") && $0.contains(" ± ") }, "\(merged.out)")
            #expect(try String(contentsOfFile: root + "/merged/ablations.csv", encoding: .utf8) == reference)
            #expect(try String(contentsOfFile: root + "/merged/curves.csv", encoding: .utf8) == (try String(contentsOfFile: root + "/ref/curves.csv", encoding: .utf8)))
            #expect(try String(contentsOfFile: root + "/run/curves.csv", encoding: .utf8) == (try String(contentsOfFile: root + "/ref/curves.csv", encoding: .utf8)))
        }
    }

    @Test("what each variant buys: the paired difference from the recipe per seed, its mean and standard error, and how it reads")
    func effects() throws {
        try withTemporaryDirectory("ablate-effects") { root in
            // mAP@0.5 (last-10 means) by hand: recipe 0.5, 0.6, 0.7; amp +0.1, 0, +0.2 (mean 0.1, sample sd 0.1,
            // s.e. 0.1 / sqrt 3 = 0.0577: inside 2 s.e.); fp16 +0.3 each (better); bf16 -0.1 each (worse).
            let map50: [String: [Double]] = ["yolov5": [0.5, 0.6, 0.7], "amp": [0.6, 0.6, 0.9], "fp16": [0.8, 0.9, 1.0], "bf16": [0.4, 0.5, 0.6]]
            let plan = Ablation.Plan(variants: ["yolov5", "amp", "fp16", "bf16"], seeds: 3, epochs: 1, imageSize: 32, images: (8, 4), widths: [4, 8, 8, 16])
            var lines = ["# halftrace ablate v1", "# config: \(plan.configLine)", "index,variant,seed,map50,map,mean10_map50,mean10_map,best_epoch,best_fitness,skipped_steps"]
            for item in plan.items { lines.append("\(item.index),\(item.variant),\(item.seed),0.5,0.25,\(map50[item.variant]![item.seed]),0.25,0,0.5,0") }
            try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/ablations.csv", atomically: true, encoding: .utf8)
            let effects = Ablation.effects(try Ablation.read(root + "/ablations.csv").rows, plan: plan)
            #expect(effects.map(\.variant) == plan.variants)
            #expect(effects[0].difference == nil && effects[0].verdict == nil && abs(effects[0].mean.map50 - 0.6) < 1e-12)
            let amp = try #require(effects[1].difference)
            #expect(abs(amp.mean - 0.1) < 1e-12 && abs(amp.standardError - 0.1 / 3.0.squareRoot()) < 1e-12, "\(amp)")
            #expect(effects[1].verdict == "inside the seeds' spread")
            #expect(effects[2].verdict == "better" && abs(effects[2].difference!.mean - 0.3) < 1e-12)
            #expect(effects[3].verdict == "worse" && abs(effects[3].difference!.mean + 0.1) < 1e-12)
            let table = Ablation.effectsTable(effects).split(separator: "\n")
            #expect(table.count == 5 && table[2].contains("+0.100 ± 0.058") && table[4].contains("-0.100 ± 0.000"), "\(table)")
            // The figure's difference panel pairs by seed whatever the rows' order, and leaves out a
            // variant short of a seed; with one seed (no spread) it draws no panel at all.
            var rows = Array(try Ablation.read(root + "/ablations.csv").rows.reversed())
            rows.removeAll { $0.variant == "bf16" && $0.seed == 2 }
            let panel = try #require(AblationFigure.make(rows, plan: plan)?.panels.last).series
            #expect(panel.first { $0.title == "each seed" }?.y.map { ($0 * 1000).rounded() / 1000 } == [0.1, 0, 0.2, 0.3, 0.3, 0.3])
            #expect(panel.first { $0.title == "mean over 3 seeds" }?.x == [1, 2])
            var onePlan = plan
            onePlan.seeds = 1
            #expect(AblationFigure.make(rows.filter { $0.seed == 0 }, plan: onePlan)?.panels.count == 2)
        }
    }

    @Test("a shard's finished runs reach its log file while it runs (a Slurm or Kubernetes log is a file, not a terminal)")
    func logIsLineBuffered() throws {
        try withTemporaryDirectory("ablate-log") { root in
            let args = ["ablate", "--variants", "yolov5,amp,fp16,bf16", "--seeds", "4", "--epochs", "1", "--imgsz", "32", "--images", "8,4",
                        "--widths", "4,8,8,16", "--out", root + "/run"]
            try #require(FileManager.default.createFile(atPath: root + "/log", contents: nil))
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: root + "/log"))
            defer { try? log.close() }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLITests.binary)
            (p.arguments, p.standardOutput, p.standardError) = (args, log, FileHandle.nullDevice)
            try p.run()
            func rows() -> Int { ((try? String(contentsOfFile: root + "/run/ablations.csv", encoding: .utf8)) ?? "").split(separator: "\n").count - 3 }
            // Stopped once the second run's row is on disk (the first run's line was printed before the second began).
            while p.isRunning && rows() < 2 { usleep(200) }
            kill(p.processIdentifier, SIGSTOP)
            let text = (try? String(contentsOfFile: root + "/log", encoding: .utf8)) ?? ""
            let finished = rows()
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            try #require(p.terminationReason == .uncaughtSignal && finished < 16, "the run ended before it was stopped (\(finished) rows)")
            #expect(text.contains("  yolov5 seed 0: mAP@0.5 "), "\(text)")
        }
    }

    /// The `halftrace ablate ... --shard ...` line of a deployment file, as arguments, with the
    /// shard variable replaced by `index` (shell quotes and escapes of the file removed).
    static func shardCommand(_ file: String, variable: String, index: Int) throws -> [String] {
        let text = try String(contentsOfFile: CLITests.root.appendingPathComponent(file).path, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.contains("halftrace ablate") && $0.contains("--shard") && !$0.hasPrefix("#") })
        var command = String(line[line.range(of: "halftrace ablate")!.lowerBound...])
        if let end = command.firstIndex(of: "]") { command = String(command[..<end]) }  // the YAML list's closing
        command = command.replacingOccurrences(of: "\\\"", with: "").replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "$" + variable, with: "\(index)")
        return Array(command.split(separator: " ").map(String.init).dropFirst())
    }

    @Test("the Slurm array script's and the Kubernetes Indexed Job's command lines, run locally for every index (with a small plan), merge into one machine's file",
          arguments: [("deploy/slurm-ablate.sh", "SLURM_ARRAY_TASK_ID"), ("deploy/k8s-ablate-job.yaml", "JOB_COMPLETION_INDEX")])
    func deploymentCommands(file: String, variable: String) throws {
        try withTemporaryDirectory("ablate-deploy") { root in
            let reference = try CLITests.run(["ablate", "--out", root + "/one"] + Self.flags)
            #expect(reference.status == 0, "\(reference.text)")
            let first = try Self.shardCommand(file, variable: variable, index: 0)
            let shards = try #require(first.firstIndex(of: "--shard").flatMap { Int(first[$0 + 1].split(separator: "/")[1]) })
            #expect(shards == 16 && first.contains("--seeds") && first.contains("--out"), "\(first)")
            for k in 0..<shards {
                var args = try Self.shardCommand(file, variable: variable, index: k)
                let out = try #require(args.firstIndex(of: "--out"))
                args[out + 1] = root + "/shards"
                // The small plan's flags come after the file's and win (the last value of an option counts).
                let r = try CLITests.run(args + Self.flags)
                #expect(r.status == 0 && args.contains("\(k)/16"), "\(args): \(r.text)")
            }
            let merged = try CLITests.run(["ablate", "--merge", root + "/shards", "--out", root + "/merged"])
            #expect(merged.status == 0, "\(merged.text)")
            #expect(try String(contentsOfFile: root + "/merged/ablations.csv", encoding: .utf8) == (try String(contentsOfFile: root + "/one/ablations.csv", encoding: .utf8)))
        }
    }
}
