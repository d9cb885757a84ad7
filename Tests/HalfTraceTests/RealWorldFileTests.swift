import Foundation
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceTestSupport
import HalfTraceVerify
import Testing

/// Every reader `verify` has, on the recorded files rewritten as other writers write them:
/// Python's csv module (`\r\n`), old Mac files (`\r`), Excel (a byte-order mark), hand edits
/// (blank lines, trailing spaces, no last newline) and pandas / `csv.QUOTE_ALL` (every field quoted).
@Suite("verify reads real-world files")
struct RealWorldFileTests {
    typealias F = VerifyFixtures

    /// `text` as each writer would have written it (comment lines stay as they are).
    static func variants(_ text: String) -> [(name: String, text: String)] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let quoted = lines.map { line in
            line.hasPrefix("#") ? line : line.split(separator: ",", omittingEmptySubsequences: false)
                .map { "\"" + $0.trimmingCharacters(in: .whitespaces) + "\"" }.joined(separator: ",")
        }
        var loose = lines.map { $0 + "  " }
        loose.insert("", at: min(loose.count, 2))
        loose.insert("   ", at: min(loose.count, 4))
        return [
            ("\\r\\n", lines.joined(separator: "\r\n") + "\r\n"),
            ("\\r", lines.joined(separator: "\r") + "\r"),
            ("byte-order mark", "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"),
            ("blank lines, trailing spaces, no last newline", loose.joined(separator: "\n")),
            ("every field quoted", quoted.joined(separator: "\r\n") + "\r\n"),
        ]
    }

    static func rewrite(_ path: String, as text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// One YOLOv5 and one Ultralytics recording with steps.csv.
    static let runs = [F.stepRuns.first { $0.contains("yolov5") }!, F.stepRuns.last { $0.contains("ultralytics") }!]

    @Test("results.csv and steps.csv in every variant verify alike, and a tampered value is still found at its iteration", arguments: runs)
    func runDirectory(run: String) throws {
        let original = try RunVerification.verify(try LoggedRun.load(F.real + "/" + run))
        #expect(original.passes)
        let steps = try #require(original.run.steps)
        let k = steps.rows.count / 2
        try withTemporaryDirectory("real-world") { dir in
            for tampered in [false, true] {
                let base = try F.editedCopy(run, in: dir + (tampered ? "/t" : "/g")) { p in
                    if tampered { try F.editSteps(p, row: k, column: "lr_pg0") { VerifyTamperTests.lastDigitChanged($0) } }
                }
                let texts = try ["results.csv", "steps.csv"].map { try String(contentsOfFile: base + "/" + $0, encoding: .utf8) }
                for (v, variant) in Self.variants(texts[0]).enumerated() {
                    let copy = dir + "/v\(tampered)\(v)"
                    try FileManager.default.copyItem(atPath: base, toPath: copy)
                    try Self.rewrite(copy + "/results.csv", as: variant.text)
                    try Self.rewrite(copy + "/steps.csv", as: Self.variants(texts[1])[v].text)
                    let r = try RunVerification.verify(try LoggedRun.load(copy))
                    #expect(r.rules.id == original.rules.id, "\(variant.name)")
                    #expect(r.run.results.rows.count == original.run.results.rows.count, "\(variant.name)")
                    #expect(r.stepColumns.map(\.rows) == original.stepColumns.map(\.rows), "\(variant.name)")
                    if tampered {
                        let failing = r.stepColumns.filter { !$0.passes }
                        #expect(failing.map(\.name) == ["lr_pg0"] && failing.first?.firstDisagreement?.at == "ni \(steps.rows[k].ni)",
                                "\(variant.name): \(r.report)")
                    } else {
                        #expect(r.passes, "\(variant.name): \(r.report)")
                    }
                }
            }
        }
    }

    @Test("a loop's steps.csv, PyTorch's SGDR trace and a loss-scale log in every variant verify alike")
    func otherReaders() throws {
        try withTemporaryDirectory("real-world-other") { dir in
            let loop = try #require(F.loops.first)
            let loopText = try String(contentsOfFile: F.real + "/" + loop + "/steps.csv", encoding: .utf8)
            let loopOriginal = try LoopVerification.verify(try StepsLog.load(F.real + "/" + loop + "/steps.csv"))
            #expect(loopOriginal.passes && loopOriginal.scale != nil)

            let tracePath = F.real + "/torch_sgdr_trace.csv"
            let formula = TraceVerification.Formula.sgdr(lr: 0.1, t0: 1, tMult: 3, etaMin: 0)
            let traceText = try String(contentsOfFile: tracePath, encoding: .utf8)
            let traceOriginal = try TraceVerification.verify(file: tracePath, formula: formula)
            #expect(traceOriginal.disagreements.map(\.epoch) == [121])

            let scaleText = "step,found_inf,scale\n0,0,65536.0\n1,1,65536.0\n2,0,32768.0\n3,0,32768.0\n4,0,65536.0\n"
            var rule = LossScaleRule.defaults(.pytorch)
            rule.growthInterval = 2
            let scaleOriginal = try ScaleLogVerification.verify(scaleText, path: "log.csv", rule: rule)
            #expect(scaleOriginal.passes)

            for (v, variant) in Self.variants(loopText).enumerated() {
                let path = dir + "/steps\(v).csv"
                try Self.rewrite(path, as: variant.text)
                let r = try LoopVerification.verify(try StepsLog.load(path))
                #expect(r.passes && r.steps.rows.count == loopOriginal.steps.rows.count && r.scale?.backoffs == loopOriginal.scale?.backoffs,
                        "\(variant.name): \(r.report)")
            }
            for (v, variant) in Self.variants(traceText).enumerated() {
                let path = dir + "/trace\(v).csv"
                try Self.rewrite(path, as: variant.text)
                let r = try TraceVerification.verify(file: path, formula: formula)
                #expect(r.rows == traceOriginal.rows && r.disagreements.map(\.epoch) == [121], "\(variant.name): \(r.report)")
            }
            for (v, variant) in Self.variants(scaleText).enumerated() {
                let path = dir + "/scale\(v).csv"
                try Self.rewrite(path, as: variant.text)
                let r = try ScaleLogVerification.verify(file: path, rule: rule)
                #expect(r.passes && r.rows == 5, "\(variant.name): \(r.report)")
            }
        }
    }
}
