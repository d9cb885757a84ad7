import ArgumentParser

extension HalfTraceCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train a toy model.")
        func run() throws {}
    }
}
