import Foundation
import HalfTraceOptim
import Yams

/// YOLOv5 hyper-parameter files (`data/hyps/hyp.scratch-low.yaml` and friends).
///
/// The keys HalfTrace's recipe uses are read (lr0, lrf, momentum, weight_decay, warmup_epochs,
/// warmup_momentum, warmup_bias_lr); every other key of a real YOLOv5 file (box, cls, hsv_h,
/// mosaic, ...) is reported once as ignored; a missing key keeps its default. A value of the
/// wrong type or out of range is an error naming the key and its line.
public enum HypFile {
    public static let keys = ["lr0", "lrf", "momentum", "weight_decay", "warmup_epochs", "warmup_momentum", "warmup_bias_lr"]

    public struct Loaded: Sendable {
        public var hyp: ScheduleHyperparameters
        public var ignored: [String]
        public var missing: [String]
    }

    public static func load(_ path: String, defaults: ScheduleHyperparameters = ScheduleHyperparameters()) throws -> Loaded {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw HypError("\(path): cannot read the hyper-parameter file")
        }
        return try parse(text, name: path, defaults: defaults)
    }

    public static func parse(_ text: String, name: String, defaults: ScheduleHyperparameters = ScheduleHyperparameters()) throws -> Loaded {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw HypError("\(name): not valid YAML: \(e)")
        } catch { throw HypError("\(name): not valid YAML: \(error)") }
        guard let node else { throw HypError("\(name): the file is empty") }
        guard let mapping = node.mapping else { throw HypError("\(name):\(node.mark?.line ?? 1): expected a mapping of key: value") }
        var hyp = defaults, ignored: [String] = [], seen = Set<String>()
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { continue }
            let line = valueNode.mark?.line ?? keyNode.mark?.line ?? 0
            guard keys.contains(key) else { ignored.append(key); continue }
            guard seen.insert(key).inserted else { throw HypError("\(name):\(line): \(key) is given twice") }
            guard let scalar = valueNode.scalar, let value = Double(scalar.string), scalar.style == .plain else {
                throw HypError("\(name):\(line): \(key) must be a number, got '\(valueNode.scalar?.string ?? "a \(valueNode)")'")
            }
            switch key {
            case "lr0": hyp.lr0 = value
            case "lrf": hyp.lrf = value
            case "momentum": hyp.momentum = value
            case "weight_decay": hyp.weightDecay = value
            case "warmup_epochs": hyp.warmupEpochs = value
            case "warmup_momentum": hyp.warmupMomentum = value
            default: hyp.warmupBiasLR = value
            }
            do { try hyp.validate() } catch let e as ParameterError {
                throw HypError("\(name):\(line): \(key): \(e.message)")
            }
        }
        return Loaded(hyp: hyp, ignored: ignored, missing: keys.filter { !seen.contains($0) })
    }

    /// The YAML text of `hyp`, with a comment header (YOLOv5's hyp_evolve.yaml layout).
    public static func text(_ hyp: ScheduleHyperparameters, header: [String]) -> String {
        let values = [hyp.lr0, hyp.lrf, hyp.momentum, hyp.weightDecay, hyp.warmupEpochs, hyp.warmupMomentum, hyp.warmupBiasLR]
        return header.map { "# " + $0 }.joined(separator: "\n") + "\n\n"
            + zip(keys, values).map { "\($0): \($1)" }.joined(separator: "\n") + "\n"
    }
}

public struct HypError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
