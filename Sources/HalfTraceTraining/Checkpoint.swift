import Foundation
import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceOptim

/// A tensor's elements as stored, with its dtype and element count. The bytes are the IEEE bit
/// patterns in little-endian order, whatever the host's byte order.
public struct TensorRecord: Codable, Equatable, Sendable {
    /// The element type the bytes hold.
    public var dtype: DType
    /// The number of elements.
    public var count: Int
    /// The elements' bit patterns, `count * dtype.byteSize` bytes (base64 in the JSON payload).
    public var bytes: Data

    /// The record of `s`'s elements, bit for bit.
    public init(_ s: Storage) {
        dtype = s.dtype
        count = s.count
        var out = Data(capacity: s.byteCount)
        func append<T: FixedWidthInteger>(_ patterns: some Sequence<T>) {
            for p in patterns { withUnsafeBytes(of: p.littleEndian) { out.append(contentsOf: $0) } }
        }
        switch s {
        case .float16(let v): append(v.lazy.map(\.bitPattern))
        case .bfloat16(let v): append(v.lazy.map(\.bitPattern))
        case .float32(let v): append(v.lazy.map(\.bitPattern))
        case .float64(let v): append(v.lazy.map(\.bitPattern))
        }
        bytes = out
    }

    /// The storage, after checking that the bytes hold exactly `count` elements of `dtype`.
    public func storage() throws -> Storage {
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard count >= 0, !overflow, bytes.count == size else {
            throw HalfTraceError.invalid("bytes", "\(bytes.count) bytes cannot hold \(count) \(dtype) elements")
        }
        func load<T: FixedWidthInteger>(_: T.Type) -> [T] {
            bytes.withUnsafeBytes { raw in
                (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
            }
        }
        switch dtype {
        case .float16: return .float16(load(UInt16.self).map(Float16.init(bitPattern:)))
        case .bfloat16: return .bfloat16(load(UInt16.self).map(BFloat16.init(bitPattern:)))
        case .float32: return .float32(load(UInt32.self).map(Float.init(bitPattern:)))
        case .float64: return .float64(load(UInt64.self).map(Double.init(bitPattern:)))
        }
    }
}

/// Everything a training run depends on between two batches, and more than YOLOv5's last.pt
/// (which holds the epoch, model, EMA, optimizer and options; `train.py` v7.0): parameters and
/// pending gradients, optimizer buffers and step counts, the groups' hyper-parameters, the
/// schedule position, the GradScaler (scale, tracker, hysteresis), the accumulation counter,
/// the data-order generator, the epoch's running sums, the best result so far, and the full
/// configuration.
public struct TrainerState: Codable, Equatable, Sendable {
    /// One parameter as saved: its name, shape, values and pending gradient.
    public struct Parameter: Codable, Equatable, Sendable {
        /// The stable name (`fc0.weight`) the model's parameter is matched by on resume.
        public var name: String
        /// The shape, checked against the model's on resume.
        public var shape: [Int]
        /// The values, in the run's parameter dtype.
        public var value: TensorRecord
        /// The gradient accumulated in the current accumulation window, or nil.
        public var grad: TensorRecord?
    }

    /// One optimizer group's hyper-parameters as they were when saved (the warm-up rewrites lr and
    /// momentum before every batch).
    public struct Group: Codable, Equatable, Sendable {
        /// A hyper-parameter of the group, as `ParamGroup` names it.
        public var lr, initialLR, momentum, beta2, dampening, weightDecay, eps: Double
        /// Whether the group uses Nesterov momentum.
        public var nesterov: Bool
    }

    /// One parameter's optimizer state.
    public struct OptimizerEntry: Codable, Equatable, Sendable {
        /// SGD's momentum buffer or Adam's first moment, if the parameter has one yet.
        public var first: TensorRecord?
        /// Adam's second moment, if the parameter has one yet.
        public var second: TensorRecord?
        /// Adam's step count (0 for SGD).
        public var step: Int
    }

    /// The run's full configuration.
    public var config: TrainingConfig
    /// The next epoch to run (0-based).
    public var epoch: Int
    /// The next batch within `epoch`.
    public var batch: Int
    /// train.py's last_opt_step: the iteration of the last optimizer step, -1 before the first.
    public var lastOptimizerStep: Int
    /// The LambdaLR scheduler's last_epoch.
    public var schedulerLastEpoch: Int
    /// The accumulation count in effect (batches per optimizer step).
    public var accumulate: Int
    /// The data-order generator, after it drew the current epoch's order.
    public var orderRNG: SplitMix64
    /// The data-order generator before it drew the current epoch's order, so that a resume can
    /// redraw that order.
    public var epochStartRNG: SplitMix64
    /// The sum of the epoch's batch-mean losses so far.
    public var epochLossSum: Double
    /// Batches run in the epoch so far.
    public var epochBatches: Int
    /// Optimizer steps skipped in the epoch so far.
    public var epochSkips: Int
    /// 16-bit gradient elements produced in the epoch so far.
    public var underflowElements: Int
    /// Of those, nonzero values that rounded to zero.
    public var underflowFlushed: Int
    /// The best validation accuracy so far, or nil before the first epoch ends.
    public var bestAccuracy: Double?
    /// The epoch that reached `bestAccuracy`.
    public var bestEpoch: Int?
    /// The three groups' hyper-parameters: biases, weights, norm weights.
    public var groups: [Group]
    /// Every parameter, in the model's `namedParameters` order.
    public var parameters: [Parameter]
    /// Every parameter's optimizer state, in the same order.
    public var optimizer: [OptimizerEntry]
    /// The GradScaler's state.
    public var scaler: GradScaler.State
    /// Batches per epoch, checked against the data on resume.
    public var batchesPerEpoch: Int

    /// Batches completed since the start of the run.
    public var iterationsDone: Int { epoch * batchesPerEpoch + batch }

    /// Refuses a state that no run can be in, before anything is computed or allocated from it:
    /// a checksum only proves that the file is the one that was written, not that its writer was
    /// HalfTrace. Every counter is checked against the position it must agree with, every float
    /// the formulas need is finite and in range, every tensor's length agrees with its shape.
    /// (The parameter names and shapes are checked against the model by `Trainer(resuming:)`.)
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> HalfTraceError { HalfTraceError.invalid(field, reason) }
        do { try config.validate() } catch let e as HalfTraceError { throw e.inField("config") }
        try HalfTraceError.check("batches_per_epoch", batchesPerEpoch, in: 1...1_000_000)
        try HalfTraceError.check("epoch", epoch, in: 0...config.epochs)
        try HalfTraceError.check("batch", batch, in: 0...(batchesPerEpoch - 1))
        if epoch == config.epochs && batch != 0 { throw fail("batch", "\(batch) in epoch \(epoch), after the run's last epoch") }
        let done = iterationsDone  // <= 100000 * 1000000: no overflow
        try HalfTraceError.check("last_optimizer_step", lastOptimizerStep, in: -1...(done - 1))
        try HalfTraceError.check("scheduler_last_epoch", schedulerLastEpoch, in: -1...(config.epochs + 1))
        let bs = config.effectiveBatchSize
        let maximumAccumulate = max(Int((Double(config.nominalBatchSize) / Double(bs)).rounded(.toNearestOrEven)), 1)
        try HalfTraceError.check("accumulate", accumulate, in: 1...maximumAccumulate)
        try HalfTraceError.check("epoch_batches", epochBatches, in: batch...batch)
        try HalfTraceError.check("epoch_skips", epochSkips, in: 0...batch)
        try HalfTraceError.check("underflow_elements", underflowElements, in: 0...(1 << 53))
        try HalfTraceError.check("underflow_flushed", underflowFlushed, in: 0...underflowElements)
        switch (bestAccuracy, bestEpoch) {
        case (nil, nil): break
        case let (accuracy?, bestEpoch?):
            try HalfTraceError.check("best_accuracy", accuracy, in: 0...1)
            guard epoch > 0, (0..<epoch).contains(bestEpoch) else { throw fail("best_epoch", "\(bestEpoch) is not an epoch finished before epoch \(epoch)") }
        default: throw fail("best_accuracy", "best_accuracy and best_epoch must both be present or both absent")
        }
        guard groups.count == 3 else { throw fail("groups", "\(groups.count) parameter groups; YOLOv5's optimizer has 3") }
        for (i, g) in groups.enumerated() {
            let at = "groups.\(i)"
            for (name, value) in [("lr", g.lr), ("initial_lr", g.initialLR), ("momentum", g.momentum), ("dampening", g.dampening),
                                  ("weight_decay", g.weightDecay), ("eps", g.eps)] {
                try HalfTraceError.check("\(at).\(name)", value, in: 0...1e12)
            }
            try HalfTraceError.check("\(at).beta2", g.beta2, in: 0...1, expected: "[0, 1)")
            if g.beta2 >= 1 { throw fail("\(at).beta2", "\(g.beta2) is outside [0, 1)") }
            if config.optimizer != .sgd && g.momentum >= 1 { throw fail("\(at).momentum", "\(g.momentum) is beta1 and must be < 1") }
        }
        for (i, p) in parameters.enumerated() {
            let at = "parameters.\(i)"
            guard (1...2).contains(p.shape.count), p.shape.allSatisfy({ (1...1_000_000).contains($0) }) else {
                throw fail("\(at).shape", "\(p.shape) is not the shape of a parameter")
            }
            let elements = p.shape.reduce(1, *)
            guard p.value.count == elements else { throw fail("\(at).value", "\(p.value.count) elements for shape \(p.shape)") }
            guard p.value.dtype == config.precision.parameterDType else {
                throw fail("\(at).value", "\(p.value.dtype) storage; a \(config.precision.rawValue) run stores \(config.precision.parameterDType)")
            }
            if let g = p.grad, g.count != elements { throw fail("\(at).grad", "\(g.count) elements for shape \(p.shape)") }
            if let g = p.grad, g.dtype != p.value.dtype { throw fail("\(at).grad", "\(g.dtype) gradient for a \(p.value.dtype) parameter") }
        }
        guard optimizer.count == parameters.count else {
            throw fail("optimizer", "state for \(optimizer.count) parameters; the checkpoint has \(parameters.count)")
        }
        for (i, o) in optimizer.enumerated() {
            try HalfTraceError.check("optimizer.\(i).step", o.step, in: 0...done)
        }
        do { try scaler.validate() } catch let e as HalfTraceError { throw e.inField("scaler") }
        try HalfTraceError.check("scaler.total_skips", scaler.totalSkips, in: 0...done)
        let options = config.scaler
        if let rule = options.rule {
            // Another framework's rule: its own settings are the whole configuration.
            guard scaler.rule == rule, scaler.enabled == config.usesScaler else {
                throw fail("scaler.rule", "the scaler's rule does not match the configuration's (\(rule.framework.rawValue))")
            }
            return
        }
        guard scaler.rule == nil else { throw fail("scaler.rule", "a \(scaler.rule!.framework.rawValue) rule's state in a configuration without one") }
        let consistent = scaler.growthFactor == options.growthFactor && scaler.backoffFactor == options.backoffFactor
            && scaler.growthInterval == options.growthInterval && scaler.hysteresis == options.hysteresis
            && scaler.refill == options.refill && scaler.minScale == options.minScale.map(Float.init)
            && scaler.maxScale == options.maxScale.map(Float.init) && scaler.enabled == config.usesScaler
        if !consistent { throw fail("scaler", "the scaler's state does not match the configuration's scaler options") }
    }
}

/// The checkpoint file: a short text header (magic, format version, payload length, CRC-32 of
/// the payload) and a JSON payload. Written atomically (temporary file, fsync, rename), so a
/// process killed at any instant leaves the old or the new checkpoint, never a broken one.
/// Reading checks the header, the checksum, the JSON, and then every field's meaning
/// (`TrainerState.validate`) before anything is computed from it.
public enum Checkpoint {
    /// The first line of every checkpoint file.
    public static let magic = "HALFTRACE CHECKPOINT"
    /// The payload's format version; a file of another version is refused.
    public static let formatVersion = 2
    /// Larger files are refused before they are read (a toy model's checkpoint is a few MB).
    public static let maximumBytes = 1 << 30

    /// The file's bytes: the header, then the JSON payload with sorted keys and non-finite numbers
    /// written as "inf", "-inf" and "nan".
    public static func encode(_ state: TrainerState) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let payload = try encoder.encode(state)
        let header = "\(magic)\nformat \(formatVersion)\nbytes \(payload.count)\ncrc32 \(String(format: "%08x", CRC32.checksum(payload)))\n\n"
        return Data(header.utf8) + payload
    }

    /// Encodes `state` and writes it to `path` atomically.
    public static func write(_ state: TrainerState, to path: String) throws {
        try AtomicFile.write(try encode(state), to: path)
    }

    /// The state in the checkpoint file at `path` (at most `maximumBytes`); errors name the file.
    public static func read(_ path: String) throws -> TrainerState {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > maximumBytes {
            throw HalfTraceError.file(path, "\(size) bytes; a checkpoint is at most \(maximumBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HalfTraceError.inaccessible(path, "cannot read the checkpoint")
        }
        do { return try decode(data) } catch let e as HalfTraceError { throw e.inFile(path) }
    }

    /// The state in a checkpoint's bytes, after checking the header, the length, the checksum, the JSON
    /// and `TrainerState.validate()`; errors name the field at fault.
    public static func decode(_ data: Data) throws -> TrainerState {
        func fail(_ reason: String) -> HalfTraceError { HalfTraceError(.invalidFile, reason) }
        guard let split = data.firstRange(of: Data("\n\n".utf8)) else {
            throw fail(data.starts(with: Data(magic.utf8)) ? "truncated inside the header" : "not a HalfTrace checkpoint (no header)")
        }
        guard let headerText = String(validating: data[..<split.lowerBound], as: UTF8.self) else { throw fail("the header is not valid UTF-8") }
        let header = headerText.split(separator: "\n").map(String.init)
        guard header.first == magic else { throw fail("not a HalfTrace checkpoint (it does not start with '\(magic)')") }
        func field(_ name: String) throws -> String {
            guard let line = header.first(where: { $0.hasPrefix(name + " ") }) else { throw fail("header has no '\(name)' line") }
            return String(line.dropFirst(name.count + 1))
        }
        guard let version = Int(try field("format")) else { throw fail("unreadable format version") }
        guard version == formatVersion else {
            throw fail("format version \(version); this HalfTrace reads version \(formatVersion)")
        }
        guard let length = Int(try field("bytes")), let crc = UInt32(try field("crc32"), radix: 16) else {
            throw fail("unreadable length or checksum in the header")
        }
        let payload = data[split.upperBound...]
        guard payload.count == length else {
            throw fail("truncated: \(payload.count) of \(length) payload bytes")
        }
        guard CRC32.checksum(payload) == crc else {
            throw fail("checksum mismatch: the file is corrupt (crc32 \(String(format: "%08x", CRC32.checksum(payload))), header says \(String(format: "%08x", crc)))")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let state: TrainerState
        do {
            state = try decoder.decode(TrainerState.self, from: Data(payload))
        } catch DecodingError.keyNotFound(let key, let context) {
            throw HalfTraceError(.invalidFile, field: path(context.codingPath + [key]), "missing")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context) {
            throw HalfTraceError(.invalidFile, field: path(context.codingPath), context.debugDescription)
        }
        do { try state.validate() } catch let e as HalfTraceError {
            var located = e
            located.kind = .invalidFile
            throw located
        }
        return state
    }

    /// A coding path as the library's dotted snake_case field name (`config.scaler`, `groups.1.lr`).
    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map(String.init) ?? snakeCase($0.stringValue) }.joined(separator: ".")
    }
}
