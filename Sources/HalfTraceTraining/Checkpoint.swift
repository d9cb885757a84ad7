import Foundation
import HalfTraceAutograd
import HalfTraceKernels
import HalfTraceOptim

/// A tensor's bytes as stored (little-endian binary16/32/64), with its dtype and shape.
public struct TensorRecord: Codable, Equatable, Sendable {
    public var dtype: DType
    public var count: Int
    public var bytes: Data

    public init(_ s: Storage) {
        dtype = s.dtype
        count = s.count
        switch s {
        case .float16(let v): bytes = v.withUnsafeBytes { Data($0) }
        case .float32(let v): bytes = v.withUnsafeBytes { Data($0) }
        case .float64(let v): bytes = v.withUnsafeBytes { Data($0) }
        }
    }

    public func storage() throws -> Storage {
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard count >= 0, !overflow, bytes.count == size else {
            throw CheckpointError("a \(dtype) tensor of \(count) elements holds \(bytes.count) bytes")
        }
        func load<T>(_: T.Type) -> [T] {
            [T](unsafeUninitializedCapacity: count) { buffer, n in
                _ = bytes.copyBytes(to: buffer)
                n = count
            }
        }
        switch dtype {
        case .float16: return .float16(load(Float16.self))
        case .float32: return .float32(load(Float.self))
        case .float64: return .float64(load(Double.self))
        }
    }
}

/// Everything a training run depends on between two batches (SPEC 10, and more than YOLOv5's
/// last.pt): parameters and pending gradients, optimizer buffers and step counts, the groups'
/// hyper-parameters, the schedule position, the GradScaler (scale, tracker, hysteresis), the
/// accumulation counter, the data-order generator, the epoch's running sums, the best result
/// so far, and the full configuration.
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

    /// Batches completed since the start of the run.
    public var iterationsDone: Int { epoch * batchesPerEpoch + batch }
    public var batchesPerEpoch: Int

    /// Refuses positions and counters that no run can produce (a checksum only proves the file
    /// is the one that was written, not that its writer was HalfTrace).
    public func validate() throws {
        func check(_ ok: Bool, _ field: String) throws {
            if !ok { throw CheckpointError("field '\(field)' is out of range") }
        }
        try check((1...1_000_000).contains(batchesPerEpoch), "batchesPerEpoch")
        try check((0...config.epochs).contains(epoch), "epoch")
        try check((0..<batchesPerEpoch).contains(batch), "batch")
        try check((-1..<(epoch + 1) * batchesPerEpoch).contains(lastOptimizerStep), "lastOptimizerStep")
        try check((-1...config.epochs + 1).contains(schedulerLastEpoch), "schedulerLastEpoch")
        try check(accumulate >= 1 && accumulate <= 1_000_000, "accumulate")
        try check(epochBatches >= 0 && epochSkips >= 0 && underflowElements >= 0 && underflowFlushed >= 0, "epoch counters")
        for (i, o) in optimizer.enumerated() { try check(o.step >= 0, "optimizer.\(i).step") }
    }
}

public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The checkpoint file: a short text header (magic, format version, payload length, CRC-32 of
/// the payload) and a JSON payload. Written atomically (temporary file, fsync, rename), so a
/// process killed at any instant leaves the old or the new checkpoint, never a broken one.
public enum Checkpoint {
    public static let magic = "HALFTRACE CHECKPOINT"
    public static let formatVersion = 1

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
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("\(path): cannot read the checkpoint")
        }
        do { return try decode(data) } catch let e as CheckpointError { throw CheckpointError("\(path): \(e.description)") }
    }

    public static func decode(_ data: Data) throws -> TrainerState {
        guard let split = data.firstRange(of: Data("\n\n".utf8)) else {
            throw CheckpointError(data.starts(with: Data(magic.utf8)) ? "truncated inside the header" : "not a HalfTrace checkpoint (no header)")
        }
        let header = String(decoding: data[..<split.lowerBound], as: UTF8.self).split(separator: "\n").map(String.init)
        guard header.first == magic else { throw CheckpointError("not a HalfTrace checkpoint (it does not start with '\(magic)')") }
        func field(_ name: String) throws -> String {
            guard let line = header.first(where: { $0.hasPrefix(name + " ") }) else { throw CheckpointError("header has no '\(name)' line") }
            return String(line.dropFirst(name.count + 1))
        }
        guard let version = Int(try field("format")) else { throw CheckpointError("unreadable format version") }
        guard version == formatVersion else {
            throw CheckpointError("format version \(version); this HalfTrace reads version \(formatVersion)")
        }
        guard let length = Int(try field("bytes")), let crc = UInt32(try field("crc32"), radix: 16) else {
            throw CheckpointError("unreadable length or checksum in the header")
        }
        let payload = data[split.upperBound...]
        guard payload.count == length else {
            throw CheckpointError("truncated: \(payload.count) of \(length) payload bytes")
        }
        guard CRC32.checksum(payload) == crc else {
            throw CheckpointError("checksum mismatch: the file is corrupt (crc32 \(String(format: "%08x", CRC32.checksum(payload))), header says \(String(format: "%08x", crc)))")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            let state = try decoder.decode(TrainerState.self, from: Data(payload))
            try state.validate()
            return state
        } catch DecodingError.keyNotFound(let key, let context) {
            throw CheckpointError("missing field '\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))'")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context) {
            throw CheckpointError("field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        }
    }
}
