import Foundation
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTestSupport
import Testing

/// The `halftrace` executable as a user runs it: bad input gives a clear message naming the flag
/// or file, a non-zero exit and never a trap; a missing gnuplot still verifies every number.
@Suite("Command line")
struct CLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    #if DEBUG
    static let binary = root.appendingPathComponent(".build/debug/halftrace").path
    #else
    static let binary = root.appendingPathComponent(".build/release/halftrace").path
    #endif

    struct Result {
        let status: Int32
        let reason: Process.TerminationReason
        let out: String
        let err: String
        var text: String { out + err }
        /// Exited normally (a Swift trap ends with SIGILL/SIGTRAP instead).
        var exited: Bool { reason == .exit }
    }

    static func run(_ args: [String], path: String? = nil, cwd: String? = nil, executable: String = binary) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let path {
            var env = ProcessInfo.processInfo.environment
            env["PATH"] = path
            p.environment = env
        }
        p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? root.path)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, reason: p.terminationReason, out: String(decoding: o, as: UTF8.self),
                      err: String(decoding: e, as: UTF8.self))
    }

    static let badFlags: [[String]] = [
        ["trace", "sgdr", "--t0", "0"], ["trace", "sgdr", "--t-mult", "0.5"], ["trace", "sgdr", "--lr", "-1"],
        ["trace", "linear", "--epochs", "nan"], ["trace", "onecycle", "--lrf", "nan"], ["trace", "warmup", "--nb", "0"],
        ["trace", "adam", "--beta1", "1"], ["trace", "sgd", "--a", "1,x"], ["trace", "sgd", "--nesterov"],
        ["trace", "scaler", "--growth-factor", "1"], ["trace", "scaler", "--backoff-factor", "1.5"],
        ["trace", "scaler", "--growth-interval", "0"], ["trace", "scaler", "--inf-steps", "x"],
        ["train", "--model", "nope"], ["train", "--epochs", "0"], ["train", "--precision", "fp8"], ["train", "--precision", "bf8"],
        ["train", "--precision", "fp32", "--scaler"], ["train", "--scaler"],
        ["train", "--lr0", "nan"], ["train", "--batch-size", "0"], ["train", "--init-scale", "-1"],
        ["train", "--scheduler", "foo"], ["train", "--scheduler", "sgdr", "--t0", "0"], ["train", "--t-mult", "0.5"],
        ["train", "--scheduler", "sgdr", "--t-mult", "0"], ["train", "--scheduler", "sgdr", "--cycle-decay", "0.5"],
        ["train", "--cos-lr", "--scheduler", "sgdr"], ["train", "--scheduler", "sgdr", "--yolov5-lag"],
        ["ablate", "--out", "/tmp/ht-never", "--shard", "2/2"], ["ablate", "--out", "/tmp/ht-never", "--shard", "x"],
        ["ablate", "--out", "/tmp/ht-never", "--shard", "-1/4"], ["ablate", "--out", "/tmp/ht-never", "--variants", "yolov5,nope"],
        ["ablate", "--out", "/tmp/ht-never", "--variants", "amp,amp"], ["ablate", "--out", "/tmp/ht-never", "--images", "0,1"],
        ["ablate", "--out", "/tmp/ht-never", "--widths", "4,8"], ["ablate", "--out", "/tmp/ht-never", "--imgsz", "40"],
        ["ablate", "--out", "/tmp/ht-never", "--seeds", "0"], ["ablate", "--merge", "/tmp/ht-never", "--out", "/tmp/ht-never", "--shard", "0/2"], ["ablate", "--out", "/tmp/ht-never", "--shard", "0/2", "--plots", "/tmp/ht-never"],
        ["train", "--loss-spikes", "3,x"], ["train", "--target-map", "0.7,0.4"], ["train", "--model", "detector", "--target-map", "0.7"],
        ["train", "--model", "detector", "--target-map", "0.7,nan"], ["train", "--model", "detector", "--target-map", "1.5,0.4"],
        ["evolve", "--out", "/tmp/ht-never", "--generations", "2", "--population", "2", "--shard", "0/3"],
        ["evolve", "--out", "/tmp/ht-never", "--generations", "2", "--shard", "1/x"],
        ["evolve", "--out", "/tmp/ht-never", "--generations", "2", "--shard", "0/2", "--resume"],
        ["evolve", "--out", "/tmp/ht-never", "--merge", "/tmp/ht-never", "--generations", "2"],
        ["train", "--stochastic-rounding"], ["train", "--model", "detector", "--precision", "amp", "--stochastic-rounding"],
        ["trace", "sgdr-warmup", "--restart-warmup", "20"],
        ["trace", "schedule", "--scheduler", "StepLR(step_size=3, gama=0.1)"], ["trace", "schedule", "--scheduler", "StepLR(2)", "--schedule", "timm-cosine"],
        ["trace", "schedule", "--scheduler", "StepLR(2)", "--lr", "0.1,x"], ["trace", "schedule", "--scheduler", "StepLR(2)", "--t-initial", "3"],
        ["trace", "schedule", "--scheduler", "LinearLR(start_factor=0)"], ["trace", "schedule", "--scheduler", "StepLR(2"],
        ["bench", "--seconds", "0"], ["bench", "--threads", "0"], ["bench", "--threads", "9"], ["check", "--only", "nope"], ["golden", "--dry-run", "--only", "nope"],
        // Other frameworks' schedules and scalers: each bad value names the package's own flag.
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "0"],
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "5", "--cycle-mul", "0.5"],
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "5", "--cycle-decay", "0"],
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "5", "--cycle-limit", "0"],
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "5", "--warmup-t=-1"],
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "5", "--k-decay", "nan"],
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "5", "--lr-min", "-1e-3"],
        ["trace", "schedule", "--schedule", "hf-linear", "--num-training-steps", "10", "--num-warmup-steps", "20"],
        ["trace", "schedule", "--schedule", "hf-cosine-restarts", "--num-training-steps", "10", "--num-cycles", "0"],
        ["trace", "schedule", "--schedule", "hf-polynomial", "--num-training-steps", "10", "--lr-end", "5"],
        ["trace", "schedule", "--schedule", "hf-polynomial", "--num-training-steps", "10", "--power=-1"],
        ["trace", "schedule", "--schedule", "hf-wsd", "--num-training-steps", "10", "--num-decay-steps", "0"],
        ["trace", "schedule", "--schedule", "hf-wsd", "--num-decay-steps", "4", "--num-training-steps", "10", "--num-warmup-steps", "8"],
        ["trace", "schedule", "--schedule", "hf-wsd", "--num-training-steps", "10", "--num-decay-steps", "4", "--decay-type", "step"],
        ["trace", "schedule", "--schedule", "hf-inverse-sqrt", "--timescale", "0"],
        ["trace", "schedule", "--schedule", "hf-linear", "--t-initial", "5"],
        ["trace", "scaler", "--scaler-rule", "deepspeed", "--scale-window", "0"],
        ["trace", "scaler", "--scaler-rule", "deepspeed", "--delayed-shift", "0"],
        ["trace", "scaler", "--scaler-rule", "deepspeed", "--growth-factor", "3"],
        ["trace", "scaler", "--scaler-rule", "megatron", "--hysteresis", "0"],
        ["trace", "scaler", "--scaler-rule", "megatron", "--min-scale", "0"],
        ["trace", "scaler", "--scaler-rule", "megatron", "--initial-scale", "inf"],
        ["trace", "scaler", "--scaler-rule", "deepspeed-fp16", "--init-scale", "-1"],
        ["trace", "scaler", "--scaler-rule", "deepspeed-fp16", "--delayed-shift", "2"],
        ["trace", "scaler", "--scaler-rule", "pytorch", "--growth-interval", "0"],
        ["trace", "scaler", "--rule", "fairseq"], ["trace", "scaler", "--scaler-rule", "pytorch", "--rule", "pytorch"],
        ["train", "--precision", "fp16", "--scaler", "--scaler-rule", "deepspeed", "--scale-window", "0"],
        ["verify", "--scale-log", "/dev/null", "--rule", "megatron", "--hysteresis", "0"],
        ["verify", "--trace", "/dev/null", "--schedule", "timm-cosine", "--t-initial", "0"],
        // Step counts near Int.max: refused before any arithmetic with them.
        ["trace", "schedule", "--schedule", "hf-wsd", "--num-decay-steps", "1", "--num-stable-steps", "9223372036854775807"],
        ["trace", "schedule", "--schedule", "hf-inverse-sqrt", "--timescale", "9223372036854775807"],
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "9223372036854775807"],
        ["trace", "schedule", "--schedule", "timm-cosine", "--t-initial", "10", "--warmup-t", "9223372036854775807"],
        // Pasted timm and transformers schedules: what the package refuses, and what HalfTrace cannot reproduce.
        ["trace", "schedule", "--scheduler", "CosineLRScheduler(t_initial=10, noise_range_t=[3, 8])"],
        ["trace", "schedule", "--scheduler", "get_scheduler('cosine_with_min_lr', 2, 10)"],
        ["trace", "schedule", "--scheduler", "TanhLRScheduler(t_initial=10, lb=3.0, ub=-7.0)"],
        ["trace", "schedule", "--scheduler", "get_linear_schedule_with_warmup(2, 10)", "--optimizer-lr", "nan"],
        ["trace", "schedule", "--schedule", "hf-linear", "--num-training-steps", "10", "--optimizer-lr", "0.1"],
        // A schedule that never reads optimizer.defaults["lr"]: the flag would be ignored.
        ["trace", "schedule", "--scheduler", "StepLR(step_size=3)", "--optimizer-lr", "0.1"],
        ["trace", "schedule", "--scheduler", "get_linear_schedule_with_warmup(2, 10)", "--optimizer-lr", "0.1"],
        ["verify", "trace", "/dev/null", "--scheduler", "StepLR(step_size=3)", "--optimizer-lr", "0.1"],
        ["verify", "trace", "/dev/null", "--schedule", "timm-cosine", "--t-initial", "5", "--optimizer-lr", "0.1"],
        ["trace", "scaler", "--scaler-rule", "deepspeed", "--deepspeed-config", "/dev/null"],
        ["trace", "schedule", "--schedule", "hf-linear", "--num-training-steps", "10", "--num-warmup-steps=-9223372036854775808"],
        ["verify", "--steps", "/dev/null", "--num-training-steps", "10", "--schedule", "hf-linear"],
        ["verify", "scale-log", "/dev/null", "--scaler-rule", "pytorch", "--json", "--nb", "3"],
    ]

    @Test("a bad flag exits 64 (a usage error) with a message naming it, without a trap", arguments: badFlags)
    func badFlag(args: [String]) throws {
        let r = try Self.run(args)
        #expect(r.exited && r.status == 64, "\(args): status \(r.status)")
        let flag = String((args.last { $0.hasPrefix("--") } ?? "").prefix { $0 != "=" })  // the offending flag comes last
        #expect(r.text.contains(flag), "\(args): \(r.text)")
    }

    @Test("every hyper-parameter of ScheduleHyperparameters.keys has its flag in train and trace warmup")
    func hyperparameterFlags() throws {
        for command in [["train"], ["trace", "warmup"]] {
            let help = try Self.run(command + ["--help"]).text
            for key in ScheduleHyperparameters.keys {
                #expect(help.contains("--" + key.name.replacingOccurrences(of: "_", with: "-") + " "), "\(command): --\(key.name)")
            }
        }
    }

    @Test("train --scheduler \"EXPR\": a pasted PyTorch scheduler drives the per-epoch lr after the warm-up, as its closed form says")
    func trainPastedScheduler() throws {
        try withTemporaryDirectory("pasted") { dir in
            let r = try Self.run(["train", "--model", "tiny", "--epochs", "6", "--out", dir, "--scheduler", "CosineAnnealingLR(T_max=6, eta_min=0.001)"])
            #expect(r.status == 0, "\(r.text)")
            let lines = try String(contentsOfFile: dir + "/results.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
            let col = try #require(lines[0].firstIndex(of: "lr_weight"))
            #expect(lines.count == 7)
            // The tiny model's warm-up (nw = 100 iterations) ends in epoch 2; from epoch 3 the lr is
            // eta_min + (lr0 - eta_min) (1 + cos(pi e / T_max)) / 2 with lr0 = 0.01.
            for e in 3...5 {
                let expected = 0.001 + (0.01 - 0.001) * (1 + cos(Double.pi * Double(e) / 6)) / 2
                let got = try #require(Double(lines[e + 1][col]))
                #expect(abs(got - expected) <= 1e-15, "epoch \(e): \(got) vs \(expected)")
            }
            let bad = try Self.run(["train", "--model", "tiny", "--epochs", "6", "--scheduler", "StepLR(step_size=0)"])
            #expect(bad.status == 64 && bad.text.contains("--scheduler") && bad.text.contains("ZeroDivisionError"), "\(bad.text)")
        }
    }

    @Test("hand-edited files through the real command: a message naming the file and field, a non-zero exit, never a trap")
    func handEditedFiles() throws {
        try withTemporaryDirectory("cli-files") { dir in
            // A checkpoint whose checksum was recomputed after editing the epoch.
            #expect(try Self.run(["train", "--model", "tiny", "--epochs", "2", "--out", dir + "/run"]).status == 0)
            let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/last.ckpt"))
            let payload = String(decoding: good[good.firstRange(of: Data("\n\n".utf8))!.upperBound...], as: UTF8.self)
            try ResumeTests.forge(Data(payload.replacingOccurrences(of: "\"epoch\":2,", with: "\"epoch\":-1,").utf8))
                .write(to: URL(fileURLWithPath: dir + "/run/last.ckpt"))
            let resumed = try Self.run(["train", "--resume", dir + "/run/last.ckpt"])
            #expect(resumed.exited && resumed.status != 0 && resumed.text.contains("last.ckpt: epoch: -1 is outside 0...2"), "\(resumed.text)")
            // A golden directory with one bad configuration: that row fails, the others are checked.
            try FileManager.default.createDirectory(atPath: dir + "/golden", withIntermediateDirectories: true)
            for name in ["cosine_vs_linear", "accumulation_equivalence"] {
                try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("Golden/\(name).csv").path, toPath: dir + "/golden/\(name).csv")
            }
            let edited = try String(contentsOfFile: dir + "/golden/accumulation_equivalence.csv", encoding: .utf8).replacingOccurrences(of: "seed=0", with: "seed=-1")
            try edited.write(toFile: dir + "/golden/accumulation_equivalence.csv", atomically: true, encoding: .utf8)
            let checked = try Self.run(["check", "--golden", dir + "/golden", "--no-plots"])
            #expect(checked.exited && checked.status == 1)
            #expect(checked.text.contains("accumulation_equivalence.csv: config: the file's # config: line disagrees with the scenario's code (seed: file '-1', code '0')") && checked.text.contains("cosine_vs_linear                  3"), "\(checked.text)")
            // A YAML alias bomb as a hyp file.
            try "a: &a [1, 1, 1, 1]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nlr0: 0.01\n".write(toFile: dir + "/bomb.yaml", atomically: true, encoding: .utf8)
            let bomb = try Self.run(["train", "--model", "tiny", "--epochs", "1", "--hyp", dir + "/bomb.yaml"])
            #expect(bomb.exited && bomb.status != 0 && bomb.text.contains("bomb.yaml:1: YAML anchors and aliases"), "\(bomb.text)")
            // An image of 1e308 pixels.
            try FileManager.default.createDirectory(atPath: dir + "/labels", withIntermediateDirectories: true)
            try "image,width,height\na,1e308,640\n".write(toFile: dir + "/images.csv", atomically: true, encoding: .utf8)
            try "0 0.5 0.5 0.1 0.1\n".write(toFile: dir + "/labels/a.txt", atomically: true, encoding: .utf8)
            let huge = try Self.run(["anchors", "--labels", dir + "/labels", "--images", dir + "/images.csv"])
            #expect(huge.exited && huge.status != 0 && huge.text.contains("images.csv:2: width and height must be numbers of pixels"), "\(huge.text)")
            // Each flag in range, their product not.
            let long = try Self.run(["trace", "scaler", "--steps", "10000000", "--accumulate", "10000"])
            #expect(long.exited && long.status != 0 && long.text.contains("--accumulate"), "\(long.text)")
            // evolve.csv with a row repeated.
            let args = ["evolve", "--model", "tiny", "--generations", "1", "--population", "2", "--epochs", "1", "--out", dir + "/evolve"]
            #expect(try Self.run(args).status == 0)
            var rows = try String(contentsOfFile: dir + "/evolve/evolve.csv", encoding: .utf8).split(separator: "\n")
            rows.append(rows[1])
            try (rows.joined(separator: "\n") + "\n").write(toFile: dir + "/evolve/evolve.csv", atomically: true, encoding: .utf8)
            let repeated = try Self.run(args + ["--resume"])
            #expect(repeated.exited && repeated.status != 0 && repeated.text.contains("evolve.csv:4: individual: generation 0 individual 0 repeats"), "\(repeated.text)")
        }
    }

    @Test("a malformed digits file is reported as file:line")
    func badDigits() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ht-bad-\(getpid()).csv").path
        let header = (0..<64).map { "p\($0)" }.joined(separator: ",") + ",label\n"
        try (header + Array(repeating: "0", count: 64).joined(separator: ",") + ",11\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try Self.run(["train", "--data", path, "--epochs", "1"])
        #expect(r.exited && r.status != 0)
        #expect(r.text.contains("\(path):2: label 11 is outside 0...9"), "\(r.text)")
    }

    @Test("trace prints CSV whose floats parse back to the same Double")
    func traceCSV() throws {
        let r = try Self.run(["trace", "warmup", "--epochs", "5"])
        #expect(r.status == 0)
        let lines = r.out.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines.first == "iteration,epoch,lr_bias,lr_weight,lr_bn,momentum,accumulate")
        #expect(lines.count == 1 + 5 * 24)
        for line in lines.dropFirst() { #expect(line.split(separator: ",").allSatisfy { Double($0) != nil }) }
    }

    @Test("check without gnuplot verifies every number, says how to install it, and exits 0")
    func checkWithoutGnuplot() throws {
        let plots = FileManager.default.temporaryDirectory.appendingPathComponent("ht-plots-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: plots) }
        let r = try Self.run(["check", "--only", "cosine_vs_linear", "--plots", plots], path: "/nonexistent")
        #expect(r.status == 0, "\(r.text)")
        #expect(r.text.contains("apt-get install -y gnuplot-nox"))
        #expect(r.text.contains("cosine_vs_linear") && r.text.contains("ok"))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: plots))?.isEmpty ?? true, "no figure files")
    }

    @Test("bench --plots without gnuplot refuses before measuring, saying how to install it")
    func benchWithoutGnuplot() throws {
        let plots = FileManager.default.temporaryDirectory.appendingPathComponent("ht-bench-plots-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: plots) }
        let r = try Self.run(["bench", "steps", "--model", "tiny", "--repeats", "1", "--seconds", "0.1", "--plots", plots], path: "/nonexistent")
        #expect(r.exited && r.status != 0, "\(r.text)")
        #expect(r.text.contains("--plots") && r.text.contains("apt-get install -y gnuplot-nox"), "\(r.text)")
        #expect(!r.text.contains("steps/s"), "measured before failing: \(r.text)")
    }

    @Test("an unwritable plots directory is a clear error before any work", arguments: [
        ["check", "--only", "cosine_vs_linear"], ["bench", "steps", "--model", "tiny", "--repeats", "1", "--seconds", "0.1"],
    ])
    func unwritablePlots(command: [String]) throws {
        let r = try Self.run(command + ["--plots", "/proc/halftrace-plots"])
        #expect(r.exited && r.status != 0)
        #expect(r.text.contains("--plots") && r.text.contains("/proc/halftrace-plots"), "\(r.text)")
        #expect(!r.text.contains("steps/s"), "measured before failing: \(r.text)")
    }

    @Test("a broken golden file fails check with file:line; nothing half-written is left")
    func brokenGolden() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ht-golden-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = try String(contentsOfFile: Self.root.appendingPathComponent("Golden/cosine_vs_linear.csv").path, encoding: .utf8)
        try String(original.prefix(original.count - 40)).write(toFile: dir + "/cosine_vs_linear.csv", atomically: true, encoding: .utf8)
        let r = try Self.run(["check", "--only", "cosine_vs_linear", "--golden", dir, "--no-plots"])
        #expect(r.exited && r.status == 1)
        #expect(r.text.contains("\(dir)/cosine_vs_linear.csv:"), "\(r.text)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("a golden mismatch writes NAME.csv.new beside it and names file, column and step")
    func mismatch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ht-mismatch-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var text = try String(contentsOfFile: Self.root.appendingPathComponent("Golden/cosine_vs_linear.csv").path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\n37,", with: "\n37,0.5,0.5\n#") // corrupt one row's values
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") || $0.hasPrefix("# ") }
        try lines.joined(separator: "\n").write(toFile: dir + "/cosine_vs_linear.csv", atomically: true, encoding: .utf8)
        let r = try Self.run(["check", "--only", "cosine_vs_linear", "--golden", dir, "--no-plots"])
        #expect(r.status == 1)
        #expect(r.text.contains("column cosine at epoch 37"), "\(r.text)")
        #expect(FileManager.default.fileExists(atPath: dir + "/cosine_vs_linear.csv.new"))
    }

    @Test("golden --dry-run exits 0 when every golden file would stay, 1 naming the file and column when one would move, and writes nothing")
    func goldenDryRun() throws {
        try withTemporaryDirectory("dry-run") { dir in
            let original = try String(contentsOfFile: Self.root.appendingPathComponent("Golden/cosine_vs_linear.csv").path, encoding: .utf8)
            try original.write(toFile: dir + "/cosine_vs_linear.csv", atomically: true, encoding: .utf8)
            let same = try Self.run(["golden", "--dry-run", "--only", "cosine_vs_linear", "--golden", dir])
            #expect(same.exited && same.status == 0 && same.text.contains("every golden file is unchanged"), "\(same.text)")
            let moved = original.replacingOccurrences(of: "\n37,", with: "\n37,0.5,0.5\n#")
                .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") || $0.hasPrefix("# ") }.joined(separator: "\n")
            try moved.write(toFile: dir + "/cosine_vs_linear.csv", atomically: true, encoding: .utf8)
            let r = try Self.run(["golden", "--dry-run", "--only", "cosine_vs_linear", "--golden", dir])
            #expect(r.exited && r.status == 1 && r.text.contains("cosine: 1 values moved") && r.text.contains("1 golden file(s) would change"), "\(r.text)")
            #expect(try String(contentsOfFile: dir + "/cosine_vs_linear.csv", encoding: .utf8) == moved, "a dry run writes nothing")
        }
    }

    @Test("bench verify on a small generated run: the genuine run verifies (0), the altered copies disagree (1), each timed with its peak memory")
    func benchVerify() throws {
        try withTemporaryDirectory("bench-verify") { dir in
            let r = try Self.run(["bench", "verify", "--epochs", "4", "--nb", "30", "--repeats", "1", "--json", "--keep", dir + "/run"])
            #expect(r.exited && r.status == 0, "\(r.text)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
            #expect(json["rows"] as? Int == 120)
            for name in ["genuine", "one_wrong_value", "results_one_wrong_epoch"] {
                let c = try #require(json[name] as? [String: Any], "\(name): \(r.out)")
                #expect((c["seconds"] as? Double ?? 0) > 0 && (c["peak_mb"] as? Double ?? 0) > 1, "\(name): \(c)")
            }
        }
    }

    @Test("one name per meaning: trace's batches per epoch is --nb and its scaler rule --scaler-rule; the old spellings give the same output, and both at once is a usage error (64)")
    func oneVocabulary() throws {
        let nb = try Self.run(["trace", "sgdr", "--epochs", "3", "--t0", "1", "--nb", "4"])
        let old = try Self.run(["trace", "sgdr", "--epochs", "3", "--t0", "1", "--steps-per-epoch", "4"])
        #expect(nb.status == 0 && nb.out.split(separator: "\n").count == 2 + 3 * 4 && old.status == 0 && old.out == nb.out, "\(nb.text)\n\(old.text)")
        let both = try Self.run(["trace", "sgdr", "--nb", "4", "--steps-per-epoch", "4"])
        #expect(both.exited && both.status == 64 && both.err.contains("--steps-per-epoch is the old name of --nb"), "\(both.text)")
        let rule = try Self.run(["trace", "scaler", "--scaler-rule", "megatron", "--inf-steps", "2", "--steps", "5"])
        let oldRule = try Self.run(["trace", "scaler", "--rule", "megatron", "--inf-steps", "2", "--steps", "5"])
        #expect(rule.status == 0 && oldRule.status == 0 && rule.out == oldRule.out && rule.out.split(separator: "\n").count == 2 + 5, "\(rule.text)\n\(oldRule.text)")
    }

    @Test("trace schedule --scheduler: the constructor as written, one column pair per group, departs where torch's arithmetic leaves the closed form")
    func pastedScheduler() throws {
        let r = try Self.run(["trace", "schedule", "--lr", "0.1,0.01", "--steps", "6", "--scheduler",
                              "torch.optim.lr_scheduler.SequentialLR([LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=95, eta_min=1e-5)], milestones=[5])"])
        #expect(r.exited && r.status == 0, "\(r.text)")
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3 + 7 && lines[2] == "step,lr_pg0,package_lr_pg0,lr_pg1,package_lr_pg1,departs", "\(r.out)")
        #expect(lines[1] == "# package_lr: torch 2.13.0's arithmetic; row k: after k calls of scheduler.step()", "\(r.out)")
        #expect(lines[3] == "0,0.010000000000000002,0.010000000000000002,0.001,0.001,0", "\(r.out)")
        #expect(lines[8] == "5,0.1,0.1,0.01,0.01,0", "\(r.out)")
        #expect(lines[5].hasSuffix(",1") && lines[5].hasPrefix("2,0.046,0.046000000000000006,"), "LinearLR's recursive form departs at step 2: \(r.out)")
        // transformers' polynomial decay reads optimizer.defaults["lr"] (its lr_init): --optimizer-lr is taken.
        let polynomial = try Self.run(["trace", "schedule", "--lr", "0.1", "--optimizer-lr", "0.2", "--steps", "12", "--scheduler", "get_polynomial_decay_schedule_with_warmup(2, 10, lr_end=1e-7)"])
        #expect(polynomial.exited && polynomial.status == 0 && polynomial.out.contains("\n12,"), "\(polynomial.text)")
        let none = try Self.run(["trace", "schedule"])
        #expect(none.exited && none.status == 64 && none.err.contains("trace schedule needs --scheduler \"EXPR\", --deepspeed-config FILE or --schedule NAME"), "\(none.text)")
    }

    /// The logger users copy next to their training script is Python: its own tests (standard
    /// library unittest, with a stand-in torch module) run here, so that `swift test` covers it.
    @Test("Tools/halftrace_steps.py passes its tests: a failing logger never stops training, rank 0 only, the resume line, torch before 2.0, buffered writes")
    func loggerPythonTests() throws {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map { "\($0)/python3" }
        let python = try #require(path.first { FileManager.default.isExecutableFile(atPath: $0) }, "python3 on PATH (.ci/run installs it)")
        let r = try Self.run(["-B", "-m", "unittest", "discover", "-s", "Tests/LoggerTests", "-t", "Tests/LoggerTests"], executable: python)
        #expect(r.exited && r.status == 0, "\(r.text)")
        let ran = r.err.split(separator: "\n").first { $0.hasPrefix("Ran ") }
        #expect(ran?.hasPrefix("Ran 12 tests in ") == true, "\(r.err)")
        #expect(r.err.contains("\nOK"), "\(r.err)")
    }

    /// A shard that a job scheduler gives one CPU (Slurm's CPU set, `taskset`) must run one thread
    /// on it, not one per online core. `nproc` (coreutils, which counts the affinity mask) is the
    /// independent count.
    @Test("Threads follow the CPUs the process may use: under taskset -c 0, bench's default is 1 thread")
    func threadsFollowAffinity() throws {
        let taskset = "/usr/bin/taskset"
        try #require(FileManager.default.isExecutableFile(atPath: taskset), "util-linux's taskset is missing")
        // nproc also obeys OMP_NUM_THREADS and OMP_THREAD_LIMIT: run it without them.
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = nil
        env["OMP_THREAD_LIMIT"] = nil
        func nproc(_ args: [String]) throws -> Int {
            let p = Process(), out = Pipe()
            p.executableURL = URL(fileURLWithPath: args.isEmpty ? "/usr/bin/nproc" : taskset)
            (p.arguments, p.environment, p.standardOutput) = (args, env, out)
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        let all = try nproc([]), pinned = try nproc(["-c", "0", "/usr/bin/nproc"])
        #expect(pinned == 1 && all >= 1, "nproc \(all), pinned \(pinned)")
        func threads(_ pin: Bool) throws -> Int {
            let args = ["bench", "--json", "--model", "mlp", "--precision", "fp32", "--seconds", "0.1", "--repeats", "1"]
            let r = try Self.run(pin ? ["-c", "0", Self.binary] + args : args, executable: pin ? taskset : Self.binary)
            #expect(r.exited && r.status == 0, "\(r.text)")
            let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            return json?["threads"] as? Int ?? -1
        }
        #expect(try threads(true) == pinned)
        // Unpinned: the affinity mask's CPUs, fewer when a cgroup quota is set (as on some CI hosts).
        let quota = GEMM.cgroupCPULimit(selfCgroup: (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? "",
                                        v2Root: "/sys/fs/cgroup", v1CPURoot: "/sys/fs/cgroup/cpu")
        #expect(try threads(false) == min(all, 8, quota ?? .max))
    }

    @Test("A cgroup v2 cpu.max quota reads as ceil(quota / period) CPUs; max or a malformed line as no limit")
    func cgroupQuota() {
        #expect(GEMM.cpus(cgroupCPUMax: "200000 100000\n") == 2)
        #expect(GEMM.cpus(cgroupCPUMax: "150000 100000") == 2)
        #expect(GEMM.cpus(cgroupCPUMax: "50000 100000") == 1)
        #expect(GEMM.cpus(cgroupCPUMax: "100000 100000") == 1)
        #expect(GEMM.cpus(cgroupCPUMax: "9223372036854775807 100000") == 1_000_000)
        #expect(GEMM.cpus(cgroupCPUMax: "max 100000") == nil)
        #expect(GEMM.cpus(cgroupCPUMax: "") == nil)
        #expect(GEMM.cpus(cgroupCPUMax: "-1 100000") == nil)
        #expect(GEMM.cpus(cgroupCPUMax: "100000 0") == nil)
        #expect(GEMM.cpus(cgroupCPUMax: "100000") == nil)
    }

    @Test("The cgroup walk: the smallest quota from the process's cgroup up to the root, v2, v1 and hybrid, a container's own root")
    func cgroupWalk() throws {
        try withTemporaryDirectory("cgroup-walk") { root in
            func put(_ path: String, _ text: String) throws {
                try AtomicFile.makeDirectory((root + path as NSString).deletingLastPathComponent)
                try text.write(toFile: root + path, atomically: true, encoding: .utf8)
            }
            // v2: a pod limited to 2.5 CPUs, its container unlimited, the root without cpu.max.
            try put("/v2/kubepods/pod1/cpu.max", "250000 100000\n")
            try put("/v2/kubepods/pod1/ctr/cpu.max", "max 100000\n")
            try put("/v2/kubepods/cpu.max", "max 100000\n")
            let v2 = root + "/v2", v1 = root + "/v1"
            #expect(GEMM.cgroupCPULimit(selfCgroup: "0::/kubepods/pod1/ctr\n", v2Root: v2, v1CPURoot: v1) == 3)
            // A tighter limit further down wins.
            try put("/v2/kubepods/pod1/ctr/cpu.max", "100000 100000\n")
            #expect(GEMM.cgroupCPULimit(selfCgroup: "0::/kubepods/pod1/ctr\n", v2Root: v2, v1CPURoot: v1) == 1)
            // No limit anywhere, and no cgroup file at all.
            #expect(GEMM.cgroupCPULimit(selfCgroup: "0::/kubepods\n", v2Root: v2, v1CPURoot: v1) == nil)
            #expect(GEMM.cgroupCPULimit(selfCgroup: "", v2Root: v2, v1CPURoot: v1) == nil)
            // A container whose root directory is its own cgroup, the path naming the host's.
            try put("/own/cpu.max", "200000 100000\n")
            #expect(GEMM.cgroupCPULimit(selfCgroup: "0::/host/path/ctr\n", v2Root: root + "/own", v1CPURoot: v1) == 2)
            // v1 (hybrid: a v2 line too, with no cpu controller): the cpu,cpuacct hierarchy decides.
            try put("/v1/job7/cpu.cfs_quota_us", "300000\n")
            try put("/v1/job7/cpu.cfs_period_us", "100000\n")
            try put("/v1/cpu.cfs_quota_us", "-1\n")
            try put("/v1/cpu.cfs_period_us", "100000\n")
            let hybrid = "12:pids:/job7\n4:cpu,cpuacct:/job7\n3:cpuset:/\n0::/job7\n"
            #expect(GEMM.cgroupCPULimit(selfCgroup: hybrid, v2Root: root + "/own", v1CPURoot: v1) == 3)
            #expect(GEMM.cgroupCPULimit(selfCgroup: "0::/job7\n4:cpu,cpuacct:/job7\n", v2Root: root + "/own", v1CPURoot: v1) == 3)
        }
    }

    /// In a process of its own: the pool's counters are process-wide, and tests run concurrently.
    @Test("bench --threads 1 runs no parallel region and says so; --threads 2 offers the pool mlp's six products")
    func benchThreads() throws {
        func regions(_ threads: Int) throws -> (Double, Int, Double) {
            let r = try Self.run(["bench", "--json", "--threads", "\(threads)", "--model", "mlp", "--precision", "fp32",
                                  "--seconds", "0.1", "--repeats", "1"])
            #expect(r.exited && r.status == 0, "\(r.text)")
            let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            let split = ((json?["step_split_ms"] as? [String: Any])?["mlp"] as? [String: Any])?["float32"] as? [String: Any]
            let regions = (split?["parallel_regions"] as? Double ?? -1) + (split?["inline_regions"] as? Double ?? -1)
            return (regions, json?["threads"] as? Int ?? -1, split?["gemm_gflop"] as? Double ?? -1)
        }
        let one = try regions(1)
        #expect(one.0 == 0 && one.1 == 1, "\(one)")
        // mlp 64-256-256-10, batch 64: forward 64 x (64*256 + 256*256 + 256*10) multiply-adds, the
        // weight gradients as many again, the input gradients of layers 2 and 3 64 x (256*256 + 10*256);
        // 2 flops each (--json prints 6 significant digits: half a unit of the 6th is 5e-8 here).
        let forward = 64 * (64 * 256 + 256 * 256 + 256 * 10), inputs = 64 * (256 * 256 + 10 * 256)
        #expect(abs(one.2 - Double(2 * (2 * forward + inputs)) / 1e9) <= 5e-8, "GEMM GFLOP per step \(one.2)")
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return }  // no worker to split with
        let two = try regions(2)
        #expect(two.0 == 6 && two.1 == 2, "six regions a step offered to the pool, split or run alone: \(two)")
    }
}
