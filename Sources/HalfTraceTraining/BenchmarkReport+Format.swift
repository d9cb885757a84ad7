import Foundation

extension BenchmarkReport {
    /// The report as `bench --json` prints it: the objects `steps_per_s` (medians),
    /// `steps_per_s_spread` (min, median, max and every timing), `gemm_gflops`,
    /// `convert_gelems_per_s`, `bytes_per_step`, `step_split_ms` and `gemm_shape_gflops`, then
    /// `peak_rss_mib_wide_float32` when measured, the `extra` keys, `isa` and `threads`.
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
            ("steps_per_s_spread", object(models.map { m in
                (m, object(stepRateTimings[m, default: [:]].keys.sorted().map { p in
                    let t = stepRateTimings[m]![p]!
                    return (p, object([("min", number(t.min() ?? .nan)), ("median", number(Benchmark.median(t))), ("max", number(t.max() ?? .nan)),
                                       ("timings", "[" + t.map(number).joined(separator: ", ") + "]")]))
                }))
            })),
            ("gemm_gflops", object(gemmGFLOPS.keys.sorted().map { ($0, number(gemmGFLOPS[$0]!)) })),
            ("convert_gelems_per_s", object(conversionGElementsPerSecond.keys.sorted().map {
                ($0, number(conversionGElementsPerSecond[$0]!))
            })),
            ("bytes_per_step", object(models.map { m in
                (m, object(bytesPerStep[m]!.keys.sorted().map { ($0, "\(bytesPerStep[m]![$0]!)") }))
            })),
            ("step_split_ms", object(models.map { m in
                (m, object(stepSplitMS[m, default: [:]].keys.sorted().map { p in
                    (p, object(stepSplitMS[m]![p]!.keys.sorted().map { ($0, number(stepSplitMS[m]![p]![$0]!)) }))
                }))
            })),
            ("gemm_shape_gflops", object(gemmShapeGFLOPS.keys.sorted().map { ($0, number(gemmShapeGFLOPS[$0]!)) })),
        ]
        if let rss = peakRSSMiBWide { top.append(("peak_rss_mib_wide_float32", number(rss))) }
        for key in extra.keys.sorted() { top.append((key, number(extra[key]!))) }
        top.append(("isa", "\"\(isa)\""))
        top.append(("threads", "\(threads)"))
        return object(top)
    }

    /// The report as the text `halftrace bench` prints: steps per second, bytes per step, the step
    /// split, GEMM rates at the models' shapes, and the figures measured once.
    public var table: String {
        var lines = ["HalfTrace bench (ISA \(isa), up to \(threads) GEMM threads)", ""]
        let timings = stepRateTimings.values.flatMap(\.values).map(\.count).max() ?? 1
        lines.append("training steps/s (forward, backward, SGD step): median of \(timings) timing(s) [min - max]")
        let precisions = ["float32", "float16", "amp", "bfloat16", "amp-bf16"]
        lines.append("  model     " + precisions.map { $0.padding(toLength: 24, withPad: " ", startingAt: 0) }.joined())
        for m in stepsPerSecond.keys.sorted(by: { order($0) < order($1) }) {
            let cells = precisions.map { p -> String in
                guard let rate = stepsPerSecond[m]?[p] else { return "-".padding(toLength: 24, withPad: " ", startingAt: 0) }
                let t = stepRateTimings[m]?[p] ?? [rate]
                let text = t.count > 1 ? String(format: "%.1f [%.0f-%.0f]", rate, t.min()!, t.max()!) : String(format: "%.1f", rate)
                return text.padding(toLength: 24, withPad: " ", startingAt: 0)
            }
            lines.append("  " + m.padding(toLength: 10, withPad: " ", startingAt: 0) + cells.joined())
        }
        lines.append("")
        lines.append("bytes of tensor storage per step (16-bit / float32)")
        for m in bytesPerStep.keys.sorted(by: { order($0) < order($1) }) {
            let bytes = bytesPerStep[m] ?? [:]
            func cell(_ key: String) -> String { bytes[key].map { String(format: "%10d", $0) } ?? "         -" }
            let ratio = bytes["float32"].flatMap { f32 in bytes["float16"].map { String(format: "%.3f", Double($0) / Double(f32)) } } ?? "-"
            lines.append("  " + m.padding(toLength: 10, withPad: " ", startingAt: 0)
                         + "float32 \(cell("float32"))  float16 \(cell("float16"))  bfloat16 \(cell("bfloat16"))  ratio \(ratio)")
        }
        lines.append("")
        lines.append("where a step's time goes (ms per step; exclusive, 'other' = graph bookkeeping, zeroing, scaler)")
        let poolKeys: Set<String> = ["parallel_regions", "inline_regions", "wait_for_worker", "worker_part_share", "gemm_gflop"]
        let phases = Set(stepSplitMS.values.flatMap { $0.values.flatMap(\.keys) }).subtracting(poolKeys).sorted()
        lines.append("  " + "model/precision".padding(toLength: 20, withPad: " ", startingAt: 0)
                     + phases.map { $0.replacingOccurrences(of: "_gemm", with: "").padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
        for m in stepSplitMS.keys.sorted(by: { order($0) < order($1) }) {
            for p in precisions where stepSplitMS[m]?[p] != nil {
                let row = stepSplitMS[m]![p]!
                lines.append("  " + "\(m) \(p)".padding(toLength: 20, withPad: " ", startingAt: 0)
                             + phases.map { String(format: "%.3f", row[$0] ?? 0).padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
            }
        }
        lines.append("")
        lines.append("the GEMM-bound limit: the step's GEMM work, and the steps/s if nothing but its GEMMs took time (at their measured time; at the 1024^3 rate)")
        for m in stepSplitMS.keys.sorted(by: { order($0) < order($1) }) {
            for p in precisions {
                guard let row = stepSplitMS[m]?[p], let gflop = row["gemm_gflop"], gflop > 0 else { continue }
                let gemmMS = row.filter { $0.key.contains("_gemm_") }.values.reduce(0, +)
                let atRate = gemmGFLOPS["float32"].map { String(format: "%10.1f steps/s at %.0f GFLOP/s", $0 / gflop, $0) } ?? ""
                let now = stepsPerSecond[m]?[p].map { String(format: "(the step: %.1f steps/s)", $0) } ?? ""
                lines.append("  " + "\(m) \(p)".padding(toLength: 20, withPad: " ", startingAt: 0)
                             + String(format: "%8.4f GFLOP  %10.1f steps/s in %.3f ms", gflop, gemmMS > 0 ? 1000 / gemmMS : 0, gemmMS) + atRate + "  " + now)
            }
        }
        lines.append("")
        lines.append("the worker pool per step: regions run on both threads, regions run inline, ms the caller waited for the worker, the worker's share of parts")
        for m in stepSplitMS.keys.sorted(by: { order($0) < order($1) }) {
            for p in precisions where stepSplitMS[m]?[p]?["parallel_regions"] != nil {
                let row = stepSplitMS[m]![p]!
                lines.append("  " + "\(m) \(p)".padding(toLength: 20, withPad: " ", startingAt: 0)
                             + String(format: "%8.1f regions %8.1f inline %8.3f ms waiting  worker share %.2f", row["parallel_regions"] ?? 0,
                                      row["inline_regions"] ?? 0, row["wait_for_worker"] ?? 0, row["worker_part_share"] ?? 0))
            }
        }
        lines.append("")
        let peak = gemmGFLOPS["float32"] ?? 0
        lines.append("GEMM at the models' shapes (float32 operands), GFLOP/s and % of the 1024^3 rate")
        func model(_ key: String) -> Int { order(String(key.prefix { $0 != "." })) }
        for key in gemmShapeGFLOPS.keys.sorted(by: { (model($0), $0) < (model($1), $1) }) {
            let r = gemmShapeGFLOPS[key]!
            let share = peak > 0 ? String(format: "%5.1f %%", 100 * r / peak) : "    -"
            lines.append(String(format: "  %@ %8.1f  %@", key.padding(toLength: 44, withPad: " ", startingAt: 0), r, share))
        }
        if let rss = peakRSSMiBWide { lines.append(String(format: "peak resident memory after 10 wide float32 steps: %.1f MiB", rss)) }
        lines.append("")
        // Figures a filtered run did not measure are left out, not printed as zeros.
        let gemm = [("float32", "float32"), ("float16", "float16 storage"), ("bfloat16", "bfloat16 storage")]
            .compactMap { key, label in gemmGFLOPS[key].map { String(format: "%@ %.1f GFLOP/s", label, $0) } }
        if !gemm.isEmpty { lines.append("GEMM 1024^3: " + gemm.joined(separator: ", ")) }
        let c = conversionGElementsPerSecond
        let conversions = [("to_float16", "float32 -> float16"), ("to_float32", "float16 -> float32"),
                           ("to_bfloat16", "float32 -> bfloat16"), ("bfloat16_to_float32", "bfloat16 -> float32")]
            .compactMap { key, label in c[key].map { String(format: "%@ %.2f", label, $0) } }
        if !conversions.isEmpty { lines.append("conversion (G elements/s): " + conversions.joined(separator: ", ")) }
        for key in extra.keys.sorted() { lines.append("\(key): \(String(format: "%.6g", extra[key]!))") }
        return lines.joined(separator: "\n")
    }

    private func order(_ model: String) -> Int { ["tiny": 0, "mlp": 1, "wide": 2, "probe": 3, "detector": 4][model] ?? 5 }
}
