import ArgumentParser
import Foundation
import HalfTraceKernels

@main
struct HalfTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "halftrace",
        abstract: "Proves training tricks work the way their formulas say: a Float16-storage autograd engine, YOLOv5's recipe, golden traces.",
        subcommands: [Check.self, Golden.self, Train.self, TraceCommand.self, Verify.self, Anchors.self, Evolve.self, Ablate.self, Bench.self, DataCommand.self, Plot.self])

    /// Exit status, as `diff` and `cmp` use them: 0 everything holds, 1 a disagreement (a log,
    /// a golden file), 2 could not check or do (a file unreadable or invalid, a release refused,
    /// an output not written), 64 a usage error (a flag unknown, out of range or not applying).
    enum Status {
        static let couldNotCheck: Int32 = 2
    }

    /// Parses, runs, and reports an error with the flag or file it concerns: usage errors exit
    /// 64 (ArgumentParser's `EX_USAGE`), everything that stopped the work exits 2.
    static func main() {
        Memory.keepFreedBuffers()
        Memory.lineBufferedStandardOutput()
        do {
            var command = try parseAsRoot(Verify.rewritingOldSpellings(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as HalfTraceError {
            failed(Flags.message(error))
        } catch let error as CommandFailure {
            failed(error.description)
        } catch {
            // ArgumentParser's own (help, usage, ExitCode); anything else stopped the work.
            if error is ExitCode || exitCode(for: error) != .failure { exit(withError: error) }
            failed(message(for: error))
        }
    }

    static func failed(_ message: String) -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        Foundation.exit(Status.couldNotCheck)
    }
}
