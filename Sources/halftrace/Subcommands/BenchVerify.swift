import ArgumentParser
import Foundation
import HalfTraceKernels
import HalfTraceTraining
import HalfTraceVerify

/// A child process's exit status, wall time and peak memory (`wait4`'s rusage).
struct ChildRun {
    var status: Int32
    var seconds: Double
    var peakBytes: Int

    /// Runs `arguments` (the executable first) with stdout and stderr to /dev/null.
    static func run(_ arguments: [String]) throws -> ChildRun {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let clock = ContinuousClock(), start = clock.now
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw CommandFailure("cannot run \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw CommandFailure("waiting for \(arguments[0]): \(String(cString: strerror(errno)))") }
        }
        let seconds = (clock.now - start).seconds
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ChildRun(status: exit, seconds: seconds, peakBytes: usage.ru_maxrss * 1024)
    }
}

extension HalfTraceCommand.Bench {
    struct VerifyBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Time verify on a COCO-sized YOLOv5 run (2.2 million iterations) against Python's csv module reading the same steps.csv.",
            discussion: """
            Writes the run (SyntheticRun: YOLOv5 7.0's rules, nb 7393, 300 epochs), then times, each as a child process, best \
            of --repeats and alternating with python3 reading steps.csv with its csv module: verify on the genuine run, on a \
            copy with one lr changed in its last digit, and on results.csv alone with one epoch's lr changed. Peak memory is \
            each child's maximum resident set as wait4 reports it (at least this process's own, about 20 MB, which a \
            spawned child starts from).
            """)

        @Option(help: "Keep the generated run in this directory and reuse it when it is there (default: a temporary directory, removed).") var keep: String?
        @Option(help: "Epochs of the generated run (1...1000; default 300).") var epochs: Int = 300
        @Option(help: "Batches per epoch (1...100000; default 7393, COCO at batch 16).") var nb: Int = 7393
        @Option(help: "Timings of each, best taken (1...10).") var repeats: Int = 2
        @Flag(help: "Print one JSON object instead of a table.") var json = false

        func validate() throws {
            guard (1...1000).contains(epochs) else { throw ValidationError("--epochs \(epochs) is outside 1...1000") }
            guard (1...100_000).contains(nb) else { throw ValidationError("--nb \(nb) is outside 1...100000") }
            guard (1...10).contains(repeats) else { throw ValidationError("--repeats \(repeats) is outside 1...10") }
        }

        func run() throws {
            let progress = ProgressLine()
            let base = keep ?? NSTemporaryDirectory() + "halftrace-bench-verify-\(getpid())"
            defer { if keep == nil { try? FileManager.default.removeItem(atPath: base) } }
            let genuine = base + "/run", wrong = base + "/wrong", resultsOnly = base + "/results-only"
            let fm = FileManager.default
            if !fm.fileExists(atPath: genuine + "/steps.csv") {
                try? fm.removeItem(atPath: base)
                var shape = SyntheticRun.Shape()
                (shape.epochs, shape.batchesPerEpoch) = (epochs, nb)
                try SyntheticRun.writeYOLOv5(genuine, shape: shape) { progress.update(String(format: "bench verify: writing the run %.0f%%", 100 * $0)) }
                progress.update("bench verify: writing the altered copies")
                try Self.alteredCopies(genuine, wrong: wrong, resultsOnly: resultsOnly)
            }
            let steps = genuine + "/steps.csv"
            let rows = try Self.dataRows(steps)
            let bytes = (try fm.attributesOfItem(atPath: steps)[.size] as? Int) ?? 0
            let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let pythonPath = ["/usr/bin/python3", "/usr/local/bin/python3"].first { fm.isExecutableFile(atPath: $0) }
            let script = "import csv, sys\nwith open(sys.argv[1], newline='') as f:\n    n = sum(1 for _ in csv.reader(f))\n"
            var best: [String: ChildRun] = [:]
            let cases: [(String, [String], Int32)] = [
                ("genuine", [exe, "verify", "run", genuine], 0),
                ("one_wrong_value", [exe, "verify", "run", wrong], 1),
                ("results_one_wrong_epoch", [exe, "verify", "run", resultsOnly, "--nb", "\(nb)"], 1),
            ] + (pythonPath.map { [("python_csv_read", [$0, "-c", script, steps], Int32(0))] } ?? [])
            for round in 0..<repeats {
                for (name, arguments, expected) in cases {
                    progress.update("bench verify: \(name), round \(round + 1) of \(repeats)")
                    let r = try ChildRun.run(arguments)
                    guard r.status == expected else {
                        throw CommandFailure("\(name): \(arguments.joined(separator: " ")) exited \(r.status), not \(expected)")
                    }
                    if best[name].map({ r.seconds < $0.seconds }) ?? true { best[name] = r }
                }
            }
            progress.finish()
            let python = best["python_csv_read"]
            func perRowRatio(_ r: ChildRun) -> Double? { python.map { r.seconds / $0.seconds } }
            if json {
                var fields = ["\"rows\": \(rows)", "\"steps_csv_bytes\": \(bytes)", "\"repeats\": \(repeats)"]
                for (name, _, _) in cases {
                    guard let r = best[name] else { continue }
                    fields.append("\"\(name)\": {\"seconds\": \(r.seconds), \"peak_mb\": \(Double(r.peakBytes) / 1e6)"
                                  + (name == "python_csv_read" ? "" : perRowRatio(r).map { ", \"vs_python_csv\": \($0)" } ?? "") + "}")
                }
                print("{" + fields.joined(separator: ", ") + "}")
                return
            }
            print("steps.csv: \(rows) rows, \(String(format: "%.0f", Double(bytes) / 1e6)) MB; best of \(repeats), each a separate process")
            print("case                          seconds   peak MB   vs python csv   target")
            let targets = ["genuine": "<= 3 s, <= 100 MB", "one_wrong_value": "<= 10 s, <= 100 MB", "results_one_wrong_epoch": "<= 2 s", "python_csv_read": ""]
            for (name, _, _) in cases {
                guard let r = best[name] else { continue }
                let ratio = name == "python_csv_read" ? "" : perRowRatio(r).map { String(format: "%.2fx", $0) } ?? "-"
                print(name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%9.2f %9.1f ", r.seconds, Double(r.peakBytes) / 1e6)
                      + ratio.padding(toLength: 16, withPad: " ", startingAt: 0) + (targets[name] ?? ""))
            }
            if python == nil { print("python3 not found: no csv-module timing") }
        }

        /// Data rows of a steps.csv (lines that are neither the header nor a comment).
        static func dataRows(_ path: String) throws -> Int {
            var reader = try CSVReader(path: path)
            var n = 0
            while try reader.next() { if !reader.isComment { n += 1 } }
            return max(0, n - 1)
        }

        /// `wrong`: the run with one lr in the middle of steps.csv changed in its last digit;
        /// `resultsOnly`: the run without steps.csv, one epoch's x/lr1 in results.csv changed.
        static func alteredCopies(_ run: String, wrong: String, resultsOnly: String) throws {
            let fm = FileManager.default
            for dir in [wrong, resultsOnly] {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for name in ["opt.yaml", "hyp.yaml"] { try fm.copyItem(atPath: run + "/" + name, toPath: dir + "/" + name) }
            }
            // results.csv: epoch 11's x/lr1 (the last epoch's in a shorter run) with its last digit changed.
            var lines = try String(contentsOfFile: run + "/results.csv", encoding: .utf8).split(separator: "\n").map(String.init)
            try fm.copyItem(atPath: run + "/results.csv", toPath: wrong + "/results.csv")
            let k = min(12, lines.count - 1)
            var cells = lines[k].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            cells[12] = lastDigitChanged(cells[12])
            lines[k] = cells.joined(separator: ",")
            try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: resultsOnly + "/results.csv")
            // steps.csv: the middle row's lr_pg1, copied in chunks (this process stays small, so
            // that the children's peak memory is their own: a child starts with its parent's).
            let source = run + "/steps.csv", target = wrong + "/steps.csv"
            guard let input = FileHandle(forReadingAtPath: source), fm.createFile(atPath: target + ".partial", contents: nil),
                  let output = FileHandle(forWritingAtPath: target + ".partial") else { throw CommandFailure("cannot copy \(source)") }
            defer { try? input.close(); try? output.close() }
            let size = Int(try input.seekToEnd())
            try input.seek(toOffset: UInt64(size / 2))
            let window = try input.read(upToCount: 1 << 16) ?? Data()
            guard let first = window.firstIndex(of: UInt8(ascii: "\n")), let last = window[(first + 1)...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw CommandFailure("\(source): no row in the middle")
            }
            let rowStart = size / 2 + (first - window.startIndex) + 1, rowEnd = size / 2 + (last - window.startIndex)
            var row = String(decoding: window[(first + 1)..<last], as: UTF8.self).split(separator: ",").map(String.init)
            row[6] = lastDigitChanged(row[6])
            try input.seek(toOffset: 0)
            func copy(_ count: Int) throws {
                var left = count
                while left > 0, let chunk = try input.read(upToCount: min(left, 1 << 20)), !chunk.isEmpty {
                    try output.write(contentsOf: chunk)
                    left -= chunk.count
                }
            }
            try copy(rowStart)
            try output.write(contentsOf: Data(row.joined(separator: ",").utf8))
            try input.seek(toOffset: UInt64(rowEnd))
            try copy(size - rowEnd)
            try output.close()
            guard rename(target + ".partial", target) == 0 else { throw CommandFailure("cannot rename \(target).partial") }
        }

        /// The number with its last digit changed, so that it parses to another value.
        static func lastDigitChanged(_ text: String) -> String {
            var chars = Array(text)
            guard let k = chars.lastIndex(where: \.isNumber), let d = chars[k].wholeNumberValue else { return text }
            chars[k] = Character(String((d + 1) % 10))
            return String(chars)
        }
    }
}
