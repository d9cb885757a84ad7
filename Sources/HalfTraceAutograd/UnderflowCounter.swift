/// Counts binary16 roundings that flush a nonzero value to zero while it is bound: the trainer
/// binds one around `backward()` to report the fraction of gradient elements lost to underflow.
public final class UnderflowCounter: @unchecked Sendable {
    /// float16 elements produced while bound.
    public private(set) var elements = 0
    /// Of those, nonzero values (in the compute type) that rounded to zero.
    public private(set) var flushed = 0

    @TaskLocal public static var current: UnderflowCounter?

    public init() {}

    func record<C: BinaryFloatingPoint>(_ values: [C], _ halves: [Float16]) {
        elements += values.count
        var lost = 0
        values.withUnsafeBufferPointer { v in
            halves.withUnsafeBufferPointer { h in
                // A zero binary16 is +0 or -0: compare bit patterns (a Float16 comparison widens in software).
                for i in v.indices where h[i].bitPattern & 0x7FFF == 0 && v[i] != 0 { lost += 1 }
            }
        }
        flushed += lost
    }
}
