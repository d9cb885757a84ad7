import CHalfKernels

/// Bulk IEEE binary16 <-> binary32 conversion (F16C where the CPU has it).
///
/// Widening is exact; narrowing rounds to nearest even, overflows to infinity above 65520 and
/// underflows gradually through the subnormals, exactly as `Float16(_: Float)` does.
public enum HalfConversion {
    /// Widens `source` into `destination` (of the same count), exactly, at kernel level `isa`.
    public static func widen(
        _ source: UnsafeBufferPointer<Float16>, into destination: UnsafeMutableBufferPointer<Float>,
        isa: KernelISA = .best
    ) {
        precondition(source.count == destination.count, "widen: \(source.count) vs \(destination.count) elements")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        src.withMemoryRebound(to: UInt16.self, capacity: source.count) {
            ht_f16_to_f32(isa.native, $0, dst, source.count)
        }
    }

    /// Rounds `source` to binary16 into `destination` (of the same count), at kernel level `isa`.
    public static func narrow(
        _ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float16>,
        isa: KernelISA = .best
    ) {
        precondition(source.count == destination.count, "narrow: \(source.count) vs \(destination.count) elements")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        dst.withMemoryRebound(to: UInt16.self, capacity: source.count) {
            ht_f32_to_f16(isa.native, src, $0, source.count)
        }
    }

    /// Rounds each element to the nearest binary16 value, in place: `x = Float(Float16(x))`.
    public static func roundThroughHalf(_ values: UnsafeMutableBufferPointer<Float>, isa: KernelISA = .best) {
        guard let p = values.baseAddress else { return }
        ht_round_through_f16(isa.native, p, values.count)
    }

    /// The whole array widened (large arrays in ranges on the worker pool).
    public static func widen(_ source: [Float16], isa: KernelISA = .best) -> [Float] {
        Parallel.convert(source) { widen($0, into: $1, isa: isa) }
    }

    /// The whole array narrowed (large arrays in ranges on the worker pool).
    public static func narrow(_ source: [Float], isa: KernelISA = .best) -> [Float16] {
        Parallel.convert(source) { narrow($0, into: $1, isa: isa) }
    }
}
