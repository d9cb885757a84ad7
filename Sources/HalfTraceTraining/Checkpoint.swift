import Foundation
import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceOptim

/// A tensor's elements as stored, with its dtype and element count. The bytes are the IEEE bit
/// patterns in little-endian order, whatever the host's byte order.
public struct TensorRecord: Codable, Equatable, Sendable {
    public var dtype: DType
    public var count: Int
    public var bytes: Data

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
    public struct Parameter: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var value: TensorRecord
        public var grad: TensorRecord?
    }

    public struct Group: Codable, Equatable, Sendable {
        public var lr, initialLR, momentum, beta2, dampening, weightDecay, eps: Double
        public var nesterov: Bool
    }

    public struct OptimizerEntry: Codable, Equatable, Sendable {
        public var first: TensorRecord?
        public var second: TensorRecord?
        public var step: Int
    }

    public var config: TrainingConfig
    public var epoch: Int
    public var batch: Int
    public var lastOptimizerStep: Int
    public var schedulerLastEpoch: Int
    public var accumulate: Int
    public var orderRNG: SplitMix64
    public var epochStartRNG: SplitMix64
    public var epochLossSum: Double
    public var epochBatches: Int
    public var epochSkips: Int
    public var underflowElements: Int
    public var underflowFlushed: Int
    public var bestAccuracy: Double?
    public var bestEpoch: Int?
    public var groups: [Group]
    public var parameters: [Parameter]
    public var optimizer: [OptimizerEntry]
    public var scaler: GradScaler.State
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
    public static let magic = "HALFTRACE CHECKPOINT"
    public static let formatVersion = 2
    /// Larger files are refused before they are read (a toy model's checkpoint is a few MB).
    public static let maximumBytes = 1 << 30

    public static func encode(_ state: TrainerState) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let payload = try encoder.encode(state)
        let header = "\(magic)\nformat \(formatVersion)\nbytes \(payload.count)\ncrc32 \(String(format: "%08x", CRC32.checksum(payload)))\n\n"
        return Data(header.utf8) + payload
    }

    public static func write(_ state: TrainerState, to path: String) throws {
        try AtomicFile.write(try encode(state), to: path)
    }

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
