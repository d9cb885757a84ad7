import ArgumentParser

@main
struct HalfTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "halftrace",
        abstract: "Proves training tricks work the way their formulas say: a Float16-storage autograd engine, YOLOv5's recipe, golden traces.",
        subcommands: [Check.self, Golden.self, Train.self, TraceCommand.self, Anchors.self, Evolve.self, Bench.self])
}
