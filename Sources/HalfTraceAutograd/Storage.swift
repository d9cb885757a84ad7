import HalfTraceKernels

/// A tensor's elements in their storage type.
///
/// Arithmetic never happens in 16 bits: `TensorCompute.load` widens to the compute type (Float
/// for float16, bfloat16 and float32 storage, Double for float64), and `TensorCompute.store`
/// narrows back, rounding once to nearest even.
public enum Storage: Sendable, Equatable {
    /// IEEE binary16 elements.
    case float16([Float16])
    /// bfloat16 elements.
    case bfloat16([BFloat16])
    /// binary32 elements.
    case float32([Float])
    /// binary64 elements.
    case float64([Double])

    /// The element type of the case.
    public var dtype: DType {
        switch self {
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .float32: .float32
        case .float64: .float64
        }
    }

    /// The number of elements.
    public var count: Int {
        switch self {
        case .float16(let v): v.count
        case .bfloat16(let v): v.count
        case .float32(let v): v.count
        case .float64(let v): v.count
        }
    }

    /// The bytes the elements occupy (`count * dtype.byteSize`), as `bench` counts a step's memory.
    public var byteCount: Int { count * dtype.byteSize }

    /// `count` positive zeros of `dtype`.
    public static func zeros(_ count: Int, dtype: DType) -> Storage {
        switch dtype {
        case .float16: .float16([Float16](repeating: 0, count: count))
        case .bfloat16: .bfloat16([BFloat16](repeating: BFloat16(bitPattern: 0), count: count))
        case .float32: .float32([Float](repeating: 0, count: count))
        case .float64: .float64([Double](repeating: 0, count: count))
        }
    }

    /// Rounds each value once, directly from Double, to `dtype`.
    public init(_ values: [Double], dtype: DType) {
        self = Double.store(values, as: dtype)
    }

    /// The values widened exactly to Double.
    public var doubles: [Double] { Double.load(self) }

    /// Elements as Float (exact for the 16-bit formats and float32; float64 is rounded to Float).
    public var floats: [Float] {
        switch self {
        case .float16(let v): HalfConversion.widen(v)
        case .bfloat16(let v): BFloat16Conversion.widen(v)
        case .float32(let v): v
        case .float64(let v): v.map { Float($0) }
        }
    }

    /// This storage converted to `dtype`, rounding once where it narrows.
    public func converted(to dtype: DType) -> Storage {
        if dtype == self.dtype { return self }
        switch (self, dtype) {
        case (.float64(let v), _): return Double.store(v, as: dtype)
        default: return Float.store(floats, as: dtype)
        }
    }

    /// Whether every element is finite.
    public var allFinite: Bool {
        switch self {
        case .float16(let v): v.allSatisfy { $0.isFinite }
        case .bfloat16(let v): v.allSatisfy { $0.isFinite }
        case .float32(let v): v.allSatisfy { $0.isFinite }
        case .float64(let v): v.allSatisfy { $0.isFinite }
        }
    }
}

/// The arithmetic types tensors compute in, with the conversions from and to storage.
public protocol TensorCompute: ComputeFloat {
    /// The storage's values in this type (exact widening).
    static func load(_ storage: Storage) -> [Self]
    /// Values rounded once to `dtype`.
    static func store(_ values: [Self], as dtype: DType) -> Storage
}

/// Float computes float16, bfloat16 and float32 tensors.
extension Float: TensorCompute {
    /// The elements widened exactly; 16-bit storage goes through the bulk conversion kernels (timed as
    /// `conversion`). float64 storage is refused: it computes in Double.
    public static func load(_ storage: Storage) -> [Float] {
        switch storage {
        case .float16(let v): return StepProfile.measure(.conversion) { HalfConversion.widen(v) }
        case .bfloat16(let v): return StepProfile.measure(.conversion) { BFloat16Conversion.widen(v) }
        case .float32(let v): return v
        case .float64: preconditionFailure("float64 storage is computed in Double, not Float")
        }
    }

    /// `values` rounded once to nearest even in `dtype` (bulk kernels for the 16-bit formats, timed as
    /// `conversion`); an `UnderflowCounter` bound to the task counts the 16-bit values flushed to zero.
    public static func store(_ values: [Float], as dtype: DType) -> Storage {
        let counter = UnderflowCounter.current
        switch dtype {
        case .float16:
            let halves = StepProfile.measure(.conversion) { HalfConversion.narrow(values) }
            counter?.record(values, halves)
            return .float16(halves)
        case .bfloat16:
            let halves = StepProfile.measure(.conversion) { BFloat16Conversion.narrow(values) }
            counter?.record(values, halves)
            return .bfloat16(halves)
        case .float32: return .float32(values)
        case .float64: return .float64(values.map { Double($0) })
        }
    }
}

/// Double computes float64 tensors and the Float64 reference paths.
extension Double: TensorCompute {
    /// The elements widened exactly to Double, from any dtype.
    public static func load(_ storage: Storage) -> [Double] {
        switch storage {
        case .float16(let v): v.map { Double($0) }
        case .bfloat16(let v): v.map { Double($0) }
        case .float32(let v): v.map { Double($0) }
        case .float64(let v): v
        }
    }

    /// `values` rounded once, directly from Double, to `dtype` (16-bit formats without a detour through
    /// Float, so without double rounding); an `UnderflowCounter` bound to the task counts the 16-bit
    /// values flushed to zero.
    public static func store(_ values: [Double], as dtype: DType) -> Storage {
        switch dtype {
        case .float16:
            let halves = values.map { Float16($0) }
            if let counter = UnderflowCounter.current { counter.record(values, halves) }
            return .float16(halves)
        case .bfloat16:
            let halves = values.map { BFloat16($0) }
            if let counter = UnderflowCounter.current { counter.record(values, halves) }
            return .bfloat16(halves)
        case .float32: return .float32(values.map { Float($0) })
        case .float64: return .float64(values)
        }
    }
}
