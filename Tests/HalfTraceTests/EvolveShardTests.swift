import Foundation
import HalfTraceEvolve
import HalfTraceKernels
import HalfTraceTestSupport
import HalfTraceTraining
import Testing

@Suite("Evolution over shards")
struct EvolveShardTests {
    static func config(_ strategy: EvolveStrategy) -> EvolveConfig {
        EvolveTests.config(strategy, generations: 3, population: 3, epochs: 2)
    }

    /// Runs the N shards of `config` in `dir`, one at a time on this thread, each from a fresh
    /// `Evolution` (as a restarted process starts) until it is blocked by another or finished;
    /// returns how many turns it took.
    @discardableResult
    static func runShards(_ config: EvolveConfig, count n: Int, in dir: String) throws -> Int {
        var finished = Set<Int>(), turns = 0
        while finished.count < n {
            for k in 0..<n where !finished.contains(k) {
                turns += 1
                let evolution = try Evolution(config: config, directory: dir, resume: false, shard: try WorkShard(k, of: n))
                if case .finished = try evolution.runShard(workers: 1, wait: .returnWhenBlocked) { finished.insert(k) }
            }
            #expect(turns <= 4 * n * config.generations, "the shards make no progress")
            if turns > 4 * n * config.generations { break }
        }
        return turns
    }

    @Test("N = 2 and 3 shards in a shared directory, each restarted at every generation, merge into one machine's evolve.csv and hyp_evolve.yaml, byte for byte",
          arguments: EvolveStrategy.allCases)
    func mergeEqualsOneMachine(strategy: EvolveStrategy) throws {
        let c = Self.config(strategy)
        try withTemporaryDirectory("evolve-shards") { root in
            _ = try Evolution(config: c, directory: root + "/one", resume: false).run(workers: 1)
            let csv = try String(contentsOfFile: root + "/one/evolve.csv", encoding: .utf8)
            let yaml = try String(contentsOfFile: root + "/one/hyp_evolve.yaml", encoding: .utf8)
            for n in [2, 3] {
                let dir = root + "/n\(n)"
                let turns = try Self.runShards(c, count: n, in: dir)
                #expect(turns > n, "the shards waited for each other (\(turns) turns)")
                for k in 0..<n {
                    let rows = try String(contentsOfFile: dir + "/evolve-\(k)-of-\(n).csv", encoding: .utf8).split(separator: "\n").dropFirst()
                    #expect(rows.count == 3 * (0..<3).filter { $0 % n == k }.count, "shard \(k)/\(n) holds each of its individuals once")
                }
                let merged = try Evolution.merge([dir], into: dir + "/merged")
                #expect(merged.summary.records.count == 9)
                #expect(try String(contentsOfFile: dir + "/merged/evolve.csv", encoding: .utf8) == csv, "N = \(n): evolve.csv")
                #expect(try String(contentsOfFile: dir + "/merged/hyp_evolve.yaml", encoding: .utf8) == yaml, "N = \(n): hyp_evolve.yaml")
            }
        }
    }

    @Test("bad shards: missing, unfinished, of another split or run, an edited row: an error naming the file, nothing merged")
    func badMerges() throws {
        let c = Self.config(.classic)
        try withTemporaryDirectory("evolve-bad-shards") { root in
            let dir = root + "/n2"
            try Self.runShards(c, count: 2, in: dir)
            let fm = FileManager.default
            func refused(_ dirs: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(sourceLocation: sourceLocation) { try Evolution.merge(dirs, into: root + "/out") } throws: { "\($0)".contains(message) }
                #expect(!fm.fileExists(atPath: root + "/out/evolve.csv"), "nothing merged", sourceLocation: sourceLocation)
            }
            let one = dir + "/evolve-1-of-2.csv"
            let text = try String(contentsOfFile: one, encoding: .utf8)
            try fm.moveItem(atPath: one, toPath: root + "/aside.csv")
            refused([dir], "shard 1/2 is missing")
            try fm.moveItem(atPath: root + "/aside.csv", toPath: one)

            let lines = text.split(separator: "\n")
            try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: one, atomically: true, encoding: .utf8)
            refused([dir], "evolve-1-of-2.csv: holds 2 of its 3 individuals: shard 1/2 has not finished")

            // A hyper-parameter edited by hand: still in bounds, no longer the bred candidate.
            var fields = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let lr0 = fields.count - c.table.count
            fields[lr0] = fields[lr0] == "0.01" ? "0.02" : "0.01"
            try ([String(lines[0]), fields.joined(separator: ",")] + lines.dropFirst(2).map(String.init)).joined(separator: "\n").appending("\n").write(toFile: one, atomically: true, encoding: .utf8)
            refused([dir], "evolve-1-of-2.csv: hyp: generation 0 individual 1 is not the candidate")
            try text.write(toFile: one, atomically: true, encoding: .utf8)

            try fm.copyItem(atPath: one, toPath: dir + "/evolve-1-of-3.csv")
            refused([dir], "of another split")
            try fm.removeItem(atPath: dir + "/evolve-1-of-3.csv")

            var other = c
            other.seed = 6
            try Self.runShards(other, count: 2, in: root + "/other")
            refused([dir, root + "/other"], "seed")

            let shardRow = try String(contentsOfFile: dir + "/evolve-0-of-2.csv", encoding: .utf8)
            try shardRow.write(toFile: one, atomically: true, encoding: .utf8)
            refused([dir], "is not shard 1/2's")
            try text.write(toFile: one, atomically: true, encoding: .utf8)
            _ = try Evolution.merge([dir], into: root + "/out")
            let merged = try String(contentsOfFile: root + "/out/evolve.csv", encoding: .utf8)

            // The same shard saved by a Windows editor: a byte-order mark, \r\n line ends, no final newline.
            let windows = "\u{FEFF}" + text.split(separator: "\n").joined(separator: "\r\n")
            try windows.write(toFile: one, atomically: true, encoding: .utf8)
            _ = try Evolution.merge([dir], into: root + "/windows")
            let fromWindows = try String(contentsOfFile: root + "/windows/evolve.csv", encoding: .utf8)
            #expect(fromWindows == merged, "a shard file as Windows writes it merges as the original")
        }
    }

    @Test("two shard processes at once (as a Slurm array starts them) wait for each other; --merge gives one process's evolve.csv and hyp_evolve.yaml")
    func processes() throws {
        try withTemporaryDirectory("evolve-shard-processes") { root in
            let common = ["evolve", "--generations", "3", "--population", "2", "--epochs", "2", "--seed", "5"]
            let one = try CLITests.run(common + ["--out", root + "/one"])
            #expect(one.status == 0, "\(one.text)")
            let results = UnsafeMutableBufferPointer<CLITests.Result?>.allocate(capacity: 2)
            results.initialize(repeating: nil)
            defer { results.deinitialize(); results.deallocate() }
            let shared = UncheckedBox(results)
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                shared.value[k] = try? CLITests.run(common + ["--shard", "\(k)/2", "--out", root + "/shared"])
            }
            for k in 0..<2 {
                #expect(results[k]?.status == 0 && results[k]?.text.contains("wrote \(root)/shared/evolve-\(k)-of-2.csv") == true, "\(results[k]?.text ?? "did not run")")
            }
            let merged = try CLITests.run(["evolve", "--merge", root + "/shared", "--out", root + "/shared"])
            #expect(merged.status == 0 && merged.text.contains("(6 individuals)"), "\(merged.text)")
            for file in ["evolve.csv", "hyp_evolve.yaml"] {
                #expect(try String(contentsOfFile: root + "/shared/" + file, encoding: .utf8) == (try String(contentsOfFile: root + "/one/" + file, encoding: .utf8)), "\(file)")
            }
        }
    }

    @Test("a shard refuses a directory of another run, and more shards than individuals")
    func refusals() throws {
        try withTemporaryDirectory("evolve-shard-refusals") { dir in
            try Self.runShards(Self.config(.classic), count: 2, in: dir)
            var other = Self.config(.classic)
            other.epochs = 3
            #expect { try Evolution(config: other, directory: dir, resume: false, shard: try WorkShard(0, of: 2)) } throws: {
                "\($0)".contains("evolve_config.json: epochs: the run in \(dir) was started with 2, not 3")
            }
            #expect { try Evolution(config: Self.config(.classic), directory: dir, resume: false, shard: try WorkShard(0, of: 4)) } throws: {
                "\($0)".contains("4 shards need a population of at least 4")
            }
        }
    }
}

/// A value handed to concurrent iterations that write disjoint parts of it.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
