import Foundation

extension BenchmarkReport {
    /// `{"steps_per_s": {...}, "gemm_gflops": {...}, "convert_gelems_per_s": {...}, "bytes_per_step": {...}}`
    public var json: String {
        func object(_ pairs: [(String, String)]) -> String {
            "{" + pairs.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        }
        func number(_ x: Double) -> String { String(format: "%.6g", x) }
        let models = stepsPerSecond.keys.sorted { order($0) < order($1) }
        var top: [(String, String)] = [
            ("steps_per_s", object(models.map { m in
                (m, object(stepsPerSecond[m]!.keys.sorted().map { ($0, number(stepsPerSecond[m]![$0]!)) }))
            })),
            ("gemm_gflops", object(gemmGFLOPS.keys.sorted().map { ($0, number(gemmGFLOPS[$0]!)) })),
            ("convert_gelems_per_s", object(conversionGElementsPerSecond.keys.sorted().map {
                ($0, number(conversionGElementsPerSecond[$0]!))
            })),
            ("bytes_per_step", object(models.map { m in
                (m, object(bytesPerStep[m]!.keys.sorted().map { ($0, "\(bytesPerStep[m]![$0]!)") }))
            })),
        ]
        for key in extra.keys.sorted() { top.append((key, number(extra[key]!))) }
        top.append(("isa", "\"\(isa)\""))
        top.append(("threads", "\(threads)"))
        return object(top)
    }

    public var table: String {
        var lines = ["HalfTrace bench (ISA \(isa), up to \(threads) GEMM threads)", ""]
        lines.append("training steps/s (forward, backward, SGD step)")
        let precisions = ["float32", "float16", "amp", "bfloat16", "amp-bf16"]
        lines.append("  model " + precisions.map { $0.padding(toLength: 12, withPad: " ", startingAt: 0) }.joined())
        for m in stepsPerSecond.keys.sorted(by: { order($0) < order($1) }) {
            let cells = precisions.map { p in
                (stepsPerSecond[m]?[p].map { String(format: "%.1f", $0) } ?? "-").padding(toLength: 12, withPad: " ", startingAt: 0)
            }
            lines.append("  " + m.padding(toLength: 6, withPad: " ", startingAt: 0) + cells.joined())
        }
        lines.append("")
        lines.append("bytes of tensor storage per step (16-bit / float32)")
        for m in bytesPerStep.keys.sorted(by: { order($0) < order($1) }) {
            let f32 = bytesPerStep[m]?["float32"] ?? 0, f16 = bytesPerStep[m]?["float16"] ?? 0, bf16 = bytesPerStep[m]?["bfloat16"] ?? 0
            lines.append("  " + m.padding(toLength: 6, withPad: " ", startingAt: 0)
                         + String(format: "float32 %10d  float16 %10d  bfloat16 %10d  ratio %.3f", f32, f16, bf16,
                                  f32 > 0 ? Double(f16) / Double(f32) : 0))
        }
        lines.append("")
        lines.append(String(format: "GEMM 1024^3: float32 %.1f GFLOP/s, float16 storage %.1f GFLOP/s, bfloat16 storage %.1f GFLOP/s",
                            gemmGFLOPS["float32"] ?? 0, gemmGFLOPS["float16"] ?? 0, gemmGFLOPS["bfloat16"] ?? 0))
        let c = conversionGElementsPerSecond
        lines.append(String(format: "conversion (G elements/s): float32 -> float16 %.2f, float16 -> float32 %.2f, float32 -> bfloat16 %.2f, bfloat16 -> float32 %.2f",
                            c["to_float16"] ?? 0, c["to_float32"] ?? 0, c["to_bfloat16"] ?? 0, c["bfloat16_to_float32"] ?? 0))
        for key in extra.keys.sorted() { lines.append("\(key): \(String(format: "%.6g", extra[key]!))") }
        return lines.joined(separator: "\n")
    }

    private func order(_ model: String) -> Int { ["tiny": 0, "mlp": 1, "wide": 2][model] ?? 3 }
}
