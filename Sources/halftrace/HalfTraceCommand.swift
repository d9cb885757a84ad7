import ArgumentParser
import HalfTraceKernels

@main
struct HalfTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "halftrace",
        abstract: "Proves training tricks work the way their formulas say: a Float16-storage autograd engine, YOLOv5's recipe, golden traces.",
        subcommands: [Check.self, Golden.self, Train.self, TraceCommand.self, Verify.self, Anchors.self, Evolve.self, Bench.self, DataCommand.self, Plot.self])

    /// Parses, runs, and reports a library error with the flag it concerns, exiting non-zero.
    static func main() {
        Memory.keepFreedBuffers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as HalfTraceError {
            exit(withError: CommandFailure(Flags.message(error)))
        } catch {
            exit(withError: error)
        }
    }
}
