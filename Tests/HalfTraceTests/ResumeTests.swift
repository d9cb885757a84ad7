import Foundation
import HalfTraceKernels
import HalfTraceNN
import HalfTraceTestSupport
import HalfTraceTraining
import Testing

@Suite("Checkpoint and resume")
struct ResumeTests {
    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ht-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    }

    static func config(_ precision: Precision, epochs: Int = 6) -> TrainingConfig {
        var c = TrainingConfig()
        c.model = .tiny
        c.precision = precision
        c.epochs = epochs
        return c
    }

    /// A checkpoint file around `payload` with a correct header and checksum (as a hand-edited
    /// file would have), so that a corruption reaches the semantic checks.
    static func forge(_ payload: Data) -> Data {
        Data("HALFTRACE CHECKPOINT\nformat \(Checkpoint.formatVersion)\nbytes \(payload.count)\ncrc32 \(String(format: "%08x", CRC32.checksum(payload)))\n\n".utf8) + payload
    }

    static func files(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in ["trace.csv", "results.csv", "last.ckpt", "best.ckpt"] {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return out
    }

    @Test("stopped at an epoch boundary or mid-epoch (inside warm-up and an accumulation window), then resumed: byte-identical outputs",
          arguments: BuildSize.pick(release: [(Precision.fp32, 150), (.fp32, 137), (.amp, 150), (.amp, 137), (.fp16, 99), (.bf16, 99), (.ampBF16, 137)],
                                    debug: [(Precision.fp32, 150), (.amp, 137), (.bf16, 99)]))
    func stopAndResume(precision: Precision, stop: Int) throws {
        let a = Self.temporary("a"), b = Self.temporary("b")
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        try TrainingSession(trainer: try Trainer(config: Self.config(precision)), directory: a).run()
        let first = try TrainingSession(trainer: try Trainer(config: Self.config(precision)), directory: b, savePeriod: 7)
        try first.run(stopAfter: stop)
        #expect(!first.trainer.isFinished && first.trainer.iterationsDone == stop)
        let resumed = try TrainingSession.resume(checkpoint: b + "/last.ckpt", savePeriod: 7)
        #expect(resumed.trainer.iterationsDone == stop)
        try resumed.run()
        let (x, y) = (try Self.files(a), try Self.files(b))
        for name in x.keys.sorted() { #expect(x[name] == y[name], "\(precision) stop \(stop): \(name) differs") }
    }

    @Test("a finished run resumed with the same epochs stops; more epochs extend it with the schedule recomputed")
    func finishedAndExtended() throws {
        let dir = Self.temporary("ext")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainingSession(trainer: try Trainer(config: Self.config(.fp32, epochs: 4)), directory: dir).run()
        let done = try TrainingSession.resume(checkpoint: dir + "/last.ckpt")
        #expect(done.trainer.isFinished && done.notes[0].contains("finished all 4 epochs"))
        let more = try TrainingSession.resume(checkpoint: dir + "/last.ckpt", config: { $0.epochs = 6 })
        #expect(more.notes.contains { $0.contains("extending the run from 4 to 6 epochs") })
        #expect(more.trainer.optimizer.groups[1].lr == 0.01 * ((1 - 4.0 / 6) * (1 - 0.01) + 0.01), "lr0 * lf(4) with 6 epochs")
        try more.run()
        let rows = try String(contentsOfFile: dir + "/results.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 1 + 6)
        #expect(throws: HalfTraceError.self) { try TrainingSession.resume(checkpoint: dir + "/last.ckpt", config: { $0.epochs = 3 }) }
    }

    @Test("a conflicting configuration names the field and is refused unless overridden")
    func conflicts() throws {
        let dir = Self.temporary("conf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainingSession(trainer: try Trainer(config: Self.config(.amp, epochs: 2)), directory: dir).run(stopAfter: 60)
        #expect { try TrainingSession.resume(checkpoint: dir + "/last.ckpt", config: { $0.precision = .fp32 }) } throws: {
            "\($0)" == "\(dir)/last.ckpt: precision: the checkpoint was trained with amp, the new configuration has fp32; an override is needed to change it"
        }
        #expect { try TrainingSession.resume(checkpoint: dir + "/last.ckpt", config: { $0.batchSize = 32 }) } throws: {
            "\($0)".contains("batch_size: the checkpoint was trained with 16")
        }
        #expect { try TrainingSession.resume(checkpoint: dir + "/last.ckpt", config: { $0.model = .mlp }, overrides: ["model"]) } throws: {
            "\($0)".contains("batch_size: the checkpoint was trained with 16, the new configuration has 64")  // mlp's own batch size
        }
        #expect { try TrainingSession.resume(checkpoint: dir + "/last.ckpt", config: { $0.model = .mlp }, overrides: ["model", "batch_size"]) } throws: {
            "\($0)" == "\(dir)/last.ckpt: parameters: fc0.weight has shape [16, 2] in the checkpoint, [256, 64] in model mlp"
        }
        let allowed = try TrainingSession.resume(checkpoint: dir + "/last.ckpt", config: { $0.hyp.lr0 = 0.02 }, overrides: ["hyp.lr0"])
        #expect(allowed.notes.contains("override hyp.lr0: 0.01 -> 0.02"))
        #expect { try TrainingSession.resume(checkpoint: dir + "/last.ckpt", overrides: ["no_such_field"]) } throws: {
            "\($0)" == "overrides: 'no_such_field' is not a configuration field"
        }
    }

    @Test("truncated, bit-flipped, foreign and wrong-version checkpoints are refused with the reason")
    func corrupt() throws {
        let dir = Self.temporary("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainingSession(trainer: try Trainer(config: Self.config(.fp32, epochs: 1)), directory: dir).run()
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/last.ckpt"))
        func message(_ data: Data) -> String {
            do { _ = try Checkpoint.decode(data); return "accepted" } catch { return "\(error)" }
        }
        #expect(message(good) == "accepted")
        #expect(message(good.prefix(good.count - 100)).hasPrefix("truncated: "))
        var flipped = good
        flipped[good.count - 500] ^= 0x04
        #expect(message(flipped).hasPrefix("checksum mismatch"))
        #expect(message(Data("PK\u{3}\u{4} a zip file\n\nxx".utf8)).hasPrefix("not a HalfTrace checkpoint"))
        #expect(message(Data(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "format 2", with: "format 7").utf8))
            == "format version 7; this HalfTrace reads version 2")
        // a well-formed file with a field missing
        let text = String(decoding: good, as: UTF8.self)
        let payload = text[text.range(of: "\n\n")!.upperBound...].replacingOccurrences(of: "\"scaler\":", with: "\"scalar\":")
        let bytes = Data(payload.utf8)
        #expect(message(Self.forge(bytes)) == "config.scaler: missing", "the first 'scaler' key is the config's")
        // a consistent checksum over impossible values: refused, not trapped
        let absurd = Data(text[text.range(of: "\n\n")!.upperBound...].replacingOccurrences(of: "\"epoch\":1,", with: "\"epoch\":4611686018427387903,").utf8)
        #expect(message(Self.forge(absurd)) == "epoch: 4611686018427387903 is outside 0...1")
        #expect { try TrainingSession.resume(checkpoint: dir + "/nope.ckpt") } throws: { "\($0)".contains("cannot read the checkpoint") }
    }

    /// The checksum line of DIR/last.ckpt's header, or nil without a checkpoint: it changes with
    /// every checkpoint written.
    static func checkpointStamp(_ dir: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: dir + "/last.ckpt") else { return nil }
        defer { try? handle.close() }
        let head = String(decoding: handle.readData(ofLength: 200), as: UTF8.self)
        return head.split(separator: "\n").first { $0.hasPrefix("crc32 ") }.map(String.init)
    }

    /// Polls (without a clock) until `changes` new values of `stamp` have been seen or `p` exits;
    /// returns whether `p` was still running.
    static func awaitProgress(_ p: Process, changes: Int, _ stamp: () -> String?) -> Bool {
        var last = stamp(), seen = 0
        while p.isRunning && seen < changes {
            let now = stamp()
            if now != last { seen += 1; last = now } else { usleep(200) }
        }
        return p.isRunning
    }

    /// Starts the CLI with `arguments(resuming)` (resuming once `stamp` shows a previous run's
    /// output), kills it with SIGKILL after 1 or 2 new values of `stamp`, `total` times, then lets
    /// the last run finish. `afterKill(k)` checks the state after kill k. Returns the kills and
    /// how many of them interrupted a resumed run that had made progress.
    static func killRepeatedly(
        _ total: Int, seed: UInt64, arguments: (_ resuming: Bool) -> [String], stamp: () -> String?,
        afterKill: (Int) throws -> Void = { _ in }
    ) throws -> (kills: Int, resumes: Int) {
        var rng = SplitMix64(seed: seed)
        var kills = 0, resumes = 0
        while true {
            let resuming = stamp() != nil
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLITests.binary)
            p.arguments = arguments(resuming)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            guard kills < total else {
                p.waitUntilExit()
                #expect(p.terminationStatus == 0)
                return (kills, resumes)
            }
            // Killed on observed progress, never after a wall-clock delay: the test holds however busy the cores are.
            let running = awaitProgress(p, changes: 1 + rng.nextIndex(below: 2), stamp)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(running, "the run finished before kill \(kills + 1)")
            if !running { return (kills, resumes) }
            kills += 1
            if resuming { resumes += 1 }
            try afterKill(kills)
        }
    }

    @Test("killed with SIGKILL (24 times; debug builds 6), each after 1 or 2 new checkpoints, and resumed: the same files as an uninterrupted run")
    func sigkill() throws {
        try withTemporaryDirectory("kill") { root in
            let reference = root + "/ref", dir = root + "/run"
            let args = ["train", "--model", "probe", "--precision", "amp", "--epochs", "8", "--save-period", "2"]
            let ref = try CLITests.run(args + ["--out", reference])
            #expect(ref.status == 0, "\(ref.text)")
            let total = BuildSize.pick(release: 24, debug: 6)
            let (kills, resumes) = try Self.killRepeatedly(total, seed: 2026, arguments: { resuming in
                resuming ? ["train", "--resume", dir + "/last.ckpt", "--save-period", "2"] : args + ["--out", dir]
            }, stamp: { Self.checkpointStamp(dir) }, afterKill: { k in
                #expect(throws: Never.self, "after kill \(k) the checkpoint is whole") { try Checkpoint.read(dir + "/last.ckpt") }
            })
            #expect(kills == total && resumes == total - 1, "\(kills) kills, \(resumes) resumes that made progress")
            let (x, y) = (try Self.files(reference), try Self.files(dir))
            for name in x.keys.sorted() { #expect(x[name] == y[name], "\(name) differs after \(kills) kills") }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
            #expect(leftovers.isEmpty, "\(leftovers)")
        }
    }
}
