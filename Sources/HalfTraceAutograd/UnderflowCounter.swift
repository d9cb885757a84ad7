import HalfTraceKernels

/// Counts float16 and bfloat16 roundings that flush a nonzero value to zero while it is bound:
/// the trainer binds one around `backward()` to report the fraction of gradient elements lost to
/// underflow.
public final class UnderflowCounter: @unchecked Sendable {
    /// 16-bit elements produced while bound.
    public private(set) var elements = 0
    /// Of those, nonzero values (in the compute type) that rounded to zero.
    public private(set) var flushed = 0

    /// The counter bound to the current task (bind one with `UnderflowCounter.$current.withValue`).
    @TaskLocal public static var current: UnderflowCounter?

    /// A counter at zero.
    public init() {}

    /// `count` 16-bit elements produced exactly (nothing can underflow), e.g. by relu on patterns.
    func recordExact(_ count: Int) { elements += count }

    func record<C: BinaryFloatingPoint>(_ values: [C], _ halves: [Float16]) {
        halves.withUnsafeBufferPointer { $0.withMemoryRebound(to: UInt16.self) { record(values, bits: $0) } }
    }

    func record<C: BinaryFloatingPoint>(_ values: [C], _ halves: [BFloat16]) {
        halves.withUnsafeBufferPointer { $0.withMemoryRebound(to: UInt16.self) { record(values, bits: $0) } }
    }

    /// In both 16-bit formats a zero is +0 or -0, the patterns with no bit set but the sign:
    /// compare patterns (a Float16 comparison widens in software).
    private func record<C: BinaryFloatingPoint>(_ values: [C], bits: UnsafeBufferPointer<UInt16>) {
        elements += values.count
        var lost = 0
        values.withUnsafeBufferPointer { v in
            for i in v.indices where bits[i] & 0x7FFF == 0 && v[i] != 0 { lost += 1 }
        }
        flushed += lost
    }
}
