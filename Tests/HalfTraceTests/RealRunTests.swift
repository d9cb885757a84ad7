import Foundation
import HalfTraceAnchors
import HalfTraceKernels
import HalfTraceOptim
import HalfTraceReference
import HalfTraceTestSupport
import HalfTraceVerify
import Testing

/// HalfTrace against the real YOLOv5 (pip yolov5 7.0.14) and Ultralytics (8.4.190) packages:
/// CPU training runs and AutoAnchor recorded by `Fixtures/record_real.py` in a virtual environment
/// outside the repository (neither package is a dependency).
@Suite("Real YOLOv5 and Ultralytics runs")
struct RealRunTests {
    static let real = Fixture.directory.appendingPathComponent("real").path
    static let runs = ["yolov5_b16_linear", "yolov5_onecycle_warmup", "yolov5_b24", "ultralytics_sgd", "ultralytics_auto_cos"]

    struct Meta: Decodable {
        var package: String
        var version: String
        var nb: Int
    }

    static func meta(_ run: String) throws -> Meta {
        try JSONDecoder().decode(Meta.self, from: Data(contentsOf: URL(fileURLWithPath: real + "/\(run)/meta.json")))
    }

    /// iterations.csv: per iteration, each group's lr and momentum (hex floats) and the step flag.
    static func iterations(_ run: String) throws -> (lr: [[Double]], momentum: [[Double]], stepped: [Bool]) {
        let lines = try String(contentsOfFile: real + "/\(run)/iterations.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        var lr: [[Double]] = [], momentum: [[Double]] = [], stepped: [Bool] = []
        for line in lines {
            let f = line.split(separator: ",").map(String.init)
            lr.append(f[2..<5].map { Double($0)! })
            momentum.append(f[5..<8].map { Double($0)! })
            stepped.append(f[8] == "1")
        }
        return (lr, momentum, stepped)
    }

    @Test("every recorded run verifies: each logged lr is the formulas' to the printed digits, nb from the run's dataset", arguments: runs)
    func recordedRunsVerify(run: String) throws {
        let logged = try LoggedRun.load(Self.real + "/" + run)
        let v = try RunVerification.verify(logged)
        #expect(v.passes, "\(v.report)")
        #expect(v.batchesPerEpoch == (try Self.meta(run).nb) && v.batchesSource.hasPrefix("the dataset"), "\(v.batchesSource)")
        #expect(logged.rows.count == logged.epochs && v.columns.map(\.rows) == [logged.epochs, logged.epochs, logged.epochs])
    }

    @Test("per iteration, HalfTrace's rules give YOLOv5's and Ultralytics' own lr of every group and the steps their optimizers took", arguments: runs)
    func perIteration(run: String) throws {
        let logged = try LoggedRun.load(Self.real + "/" + run)
        let recorded = try Self.iterations(run)
        let v = try RunVerification.verify(logged)
        #expect(v.prediction.perIteration.count == recorded.lr.count)
        var worst = 0.0, at = 0
        for (i, (p, r)) in zip(v.prediction.perIteration, recorded.lr).enumerated() {
            for (a, b) in zip(p, r) where a != b {
                let e = abs(a - b) / max(abs(b), .leastNormalMagnitude)
                if e > worst { (worst, at) = (e, i) }
            }
        }
        // YOLOv5's values are np.interp and Python float arithmetic: bit for bit. Ultralytics'
        // prediction is written here from its source; the only rounding difference allowed is Python's float(...) of a NumPy float64 (none).
        #expect(worst == 0, "\(run): relative difference \(worst) at iteration \(at)")
        // The step condition ni - last_opt_step >= accumulate with the accumulate ramp, from the formula.
        let nb = v.batchesPerEpoch, nw = v.prediction.warmupIterations
        let nominal = max(Int((64.0 / Double(logged.batchSize)).rounded(.toNearestOrEven)), 1)
        var accumulate = logged.kind == .yolov5 ? nominal : min(nominal, nb * logged.epochs), last = -1
        // YOLOv5 ramps towards nbs / bs (2.67 at batch 24), Ultralytics towards its integer accumulate.
        let target = logged.kind == .yolov5 ? 64.0 / Double(logged.batchSize) : Double(accumulate)
        for (ni, stepped) in recorded.stepped.enumerated() {
            if ni <= nw && (logged.kind == .yolov5 || nw > 0) {
                accumulate = max(1, Int(Reference.roundHalfEven(Reference.interp(Double(ni), [0, Double(nw)], [1, target]))))
            }
            let due = ni - last >= accumulate
            #expect(due == stepped, "\(run): iteration \(ni) stepped \(stepped), the formula says \(due)")
            if due { last = ni }
        }
    }

    /// A copy of a recorded run in a temporary directory, edited by `edit`.
    static func editedCopy(_ run: String, in dir: String, _ edit: (String) throws -> Void) throws -> String {
        let copy = dir + "/" + run
        try FileManager.default.copyItem(atPath: real + "/" + run, toPath: copy)
        try edit(copy)
        return copy
    }

    @Test("one logged lr changed in its last printed digit disagrees, naming the column and the epoch", arguments: runs)
    func lastDigitChanged(run: String) throws {
        try withTemporaryDirectory("verify-digit") { dir in
            let original = try LoggedRun.load(Self.real + "/" + run)
            let prediction = try RunVerification.verify(original).prediction
            let epoch = original.epochs / 2, column = 1
            let copy = try Self.editedCopy(run, in: dir) { path in
                var lines = try String(contentsOfFile: path + "/results.csv", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                let row = original.rows.first { $0.epoch == epoch }!
                var cells = lines[row.line - 1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                let header = lines[0].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let i = header.firstIndex(of: original.columns[column])!
                let value = row.values[column], unit = RunVerification.lastDigitUnit(value, digits: original.digits)
                let moved = value + (value >= prediction.logged[epoch][column] ? unit : -unit)  // away from the prediction
                let text = String(format: "%.\(original.digits)g", moved)
                cells[i] = String(repeating: " ", count: max(0, cells[i].count - text.count)) + text
                lines[row.line - 1] = cells.joined(separator: ",")
                try lines.joined(separator: "\n").write(toFile: path + "/results.csv", atomically: true, encoding: .utf8)
            }
            let v = try RunVerification.verify(try LoggedRun.load(copy), batchesPerEpoch: try Self.meta(run).nb, images: 96, classes: 3)
            #expect(!v.passes)
            let failing = v.columns.filter { !$0.passes }
            #expect(failing.map(\.name) == [original.columns[column]] && failing.first?.firstDisagreement?.epoch == epoch, "\(v.report)")
        }
    }

    @Test("a hyper-parameter edited after the run disagrees, and the edited value is named as the likely cause")
    func editedHyp() throws {
        try withTemporaryDirectory("verify-hyp") { dir in
            let yolo = try Self.editedCopy("yolov5_b24", in: dir) { path in
                let text = try String(contentsOfFile: path + "/hyp.yaml", encoding: .utf8)
                try text.replacingOccurrences(of: "lr0: 0.01\n", with: "lr0: 0.02\n").write(toFile: path + "/hyp.yaml", atomically: true, encoding: .utf8)
            }
            let a = try RunVerification.verify(try LoggedRun.load(yolo), batchesPerEpoch: 4)
            #expect(!a.passes && a.columns.first { !$0.passes }?.firstDisagreement?.epoch == 0)
            #expect(a.causes.first == "the log fits lr0 = 0.01, not 0.02: a hyper-parameter file edited after the run?", "\(a.report)")
            let ultra = try Self.editedCopy("ultralytics_sgd", in: dir) { path in
                let text = try String(contentsOfFile: path + "/args.yaml", encoding: .utf8)
                try text.replacingOccurrences(of: "lrf: 0.01\n", with: "lrf: 0.2\n").write(toFile: path + "/args.yaml", atomically: true, encoding: .utf8)
            }
            let b = try RunVerification.verify(try LoggedRun.load(ultra), batchesPerEpoch: 6)
            #expect(!b.passes && b.causes.contains("the log fits lrf = 0.01, not 0.2: a hyper-parameter file edited after the run?"), "\(b.report)")
            let c = try RunVerification.verify(try LoggedRun.load(Self.real + "/yolov5_b16_linear"), batchesPerEpoch: 5)
            #expect(!c.passes && c.causes.first?.hasPrefix("the log fits nb = 6 batches per epoch, not 5") == true, "\(c.report)")
        }
    }

    @Test("bad input: a directory of neither kind, a results.csv without an lr column or with text, an unreadable dataset without --nb")
    func badInput() throws {
        try withTemporaryDirectory("verify-bad") { dir in
            #expect { try LoggedRun.load(dir) } throws: { "\($0)".contains("neither a YOLOv5 run (opt.yaml, hyp.yaml, results.csv) nor an Ultralytics run") }
            let noColumn = try Self.editedCopy("ultralytics_sgd", in: dir) { path in
                let text = try String(contentsOfFile: path + "/results.csv", encoding: .utf8)
                try text.replacingOccurrences(of: "lr/pg1", with: "lr/pgX").write(toFile: path + "/results.csv", atomically: true, encoding: .utf8)
            }
            #expect { try LoggedRun.load(noColumn) } throws: { "\($0)".hasPrefix("\(noColumn)/results.csv:1: lr/pg1: column missing") }
            try FileManager.default.removeItem(atPath: noColumn)
            let text = try Self.editedCopy("ultralytics_sgd", in: dir) { path in
                var lines = try String(contentsOfFile: path + "/results.csv", encoding: .utf8).split(separator: "\n").map(String.init)
                lines[3] = lines[3].split(separator: ",").dropLast().joined(separator: ",") + ",fast"
                try lines.joined(separator: "\n").write(toFile: path + "/results.csv", atomically: true, encoding: .utf8)
            }
            #expect { try LoggedRun.load(text) } throws: { "\($0)" == "\(text)/results.csv:4: lr/pg2: 'fast' is not a finite number" }
            let moved = try Self.editedCopy("yolov5_b24", in: dir) { path in
                let text = try String(contentsOfFile: path + "/opt.yaml", encoding: .utf8)
                try text.replacingOccurrences(of: "data: dataset/data.yaml", with: "data: /nonexistent/data.yaml").write(toFile: path + "/opt.yaml", atomically: true, encoding: .utf8)
            }
            #expect { try RunVerification.verify(try LoggedRun.load(moved)) } throws: {
                ($0 as? HalfTraceError)?.field == "nb" && "\($0)".contains("/nonexistent/data.yaml) is not readable here")
            }
            #expect(try RunVerification.verify(try LoggedRun.load(moved), batchesPerEpoch: 4).passes)
        }
    }

    @Test("verify through the command: exit 0 on a recorded run, 1 on a disagreement, an error naming the file or flag on bad input")
    func command() throws {
        let ok = try CLITests.run(["verify", Self.real + "/ultralytics_sgd"])
        #expect(ok.status == 0 && ok.text.contains("every logged learning rate agrees"), "\(ok.text)")
        let wrong = try CLITests.run(["verify", Self.real + "/yolov5_b16_linear", "--nb", "7", "--json"])
        #expect(wrong.exited && wrong.status == 1 && wrong.out.hasPrefix("{") && wrong.out.contains("\"agrees\": false"), "\(wrong.text)")
        try withTemporaryDirectory("verify-cli") { dir in
            let neither = try CLITests.run(["verify", dir])
            #expect(neither.exited && neither.status != 0 && neither.text.contains("neither a YOLOv5 run"), "\(neither.text)")
            let moved = try Self.editedCopy("yolov5_b24", in: dir) { path in
                let text = try String(contentsOfFile: path + "/opt.yaml", encoding: .utf8)
                try text.replacingOccurrences(of: "data: dataset/data.yaml", with: "data: /nonexistent/data.yaml").write(toFile: path + "/opt.yaml", atomically: true, encoding: .utf8)
            }
            let unreadable = try CLITests.run(["verify", moved])
            #expect(unreadable.exited && unreadable.status != 0 && unreadable.text.contains("--nb: the dataset the run names"), "\(unreadable.text)")
        }
        let both = try CLITests.run(["verify", Self.real + "/yolov5_b24", "--trace", "x.csv"])
        #expect(both.exited && both.status != 0 && both.text.contains("--trace"), "\(both.text)")
        let trace = try CLITests.run(["verify", "--trace", Self.real + "/torch_sgdr_trace.csv", "--schedule", "sgdr", "--t0", "1", "--t-mult", "3"])
        #expect(trace.status == 1 && trace.text.contains("PyTorch's misplaced restart"), "\(trace.text)")
    }

    @Test("verify --trace: PyTorch's own SGDR log disagrees exactly at its misplaced restart (epoch 121), named as PyTorch's defect")
    func pytorchTrace() throws {
        let path = Self.real + "/torch_sgdr_trace.csv"
        let v = try TraceVerification.verify(try String(contentsOfFile: path, encoding: .utf8), path: path,
                                             formula: .sgdr(lr: 0.1, t0: 1, tMult: 3, etaMin: 0))
        #expect(v.rows == 131)
        #expect(v.disagreements.map(\.epoch) == [121] && v.disagreements.allSatisfy(\.pytorchRestartDefect), "\(v.report)")
        let other = try TraceVerification.verify(try String(contentsOfFile: path, encoding: .utf8), path: path,
                                                 formula: .sgdr(lr: 0.1, t0: 1, tMult: 2, etaMin: 0))
        #expect(!other.disagreements.isEmpty && !other.disagreements.allSatisfy(\.pytorchRestartDefect), "a wrong T_mult is not PyTorch's defect")
    }

    struct AnchorFixture: Decodable {
        struct Image: Decodable { var image: String; var wh: [[String]] }
        struct Search: Decodable { var seed: Int; var anchors: [[String]]; var fitness: String }
        var labels: [Image]
        var default_anchors_bpr: String
        var default_anchors_aat: String
        var default_anchors_best: [String]
        var searches: [Search]
    }

    @Test("AutoAnchor on the bundled set: YOLOv5's own label sizes and metric, and (release builds) its kmean_anchors fitness over 5 seeds")
    func autoanchor() throws {
        let f = try JSONDecoder().decode(AnchorFixture.self, from: Data(contentsOf: URL(fileURLWithPath: Self.real + "/yolov5_autoanchor.json")))
        let (labels, images) = YOLODataset.bundled!
        let dataset = try YOLODataset.load(labels: labels, images: images)
        let wh = AutoAnchor.labelSizes(dataset, imgSize: 640)
        // Per image, as multisets: YOLOv5 reorders an image's labels when it removes duplicates.
        var ours: [String: [[Float]]] = [:], k = 0
        for image in dataset.images {
            ours[image.name] = image.boxes.indices.map { _ in defer { k += 1 }; return [wh[k].x, wh[k].y] }.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
        }
        for image in f.labels {
            let theirs = image.wh.map { $0.map { Float(Double($0)!) } }.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
            #expect(ours[image.image] == theirs, "\(image.image): label sizes")
        }
        let metrics = AutoAnchor.metrics(wh, anchors: AutoAnchor.yolov5Default)
        // YOLOv5 takes the means in float32: the same fractions, rounded to Float.
        #expect(Float(metrics.bpr) == Float(Double(f.default_anchors_bpr)!), "bpr \(metrics.bpr) vs YOLOv5 \(Double(f.default_anchors_bpr)!)")
        #expect(abs(metrics.aat - Double(f.default_anchors_aat)!) <= 1e-6, "aat \(metrics.aat) vs YOLOv5 \(Double(f.default_anchors_aat)!)")
        let best = AutoAnchor.ratioMatrix(wh, anchors: AutoAnchor.yolov5Default)
        let ourBest = wh.indices.map { i in best.map { $0[i] }.max()! }.sorted()
        #expect(ourBest == f.default_anchors_best.map { Float(Double($0)!) }.sorted(), "the best ratio of every label, bit for bit (Float32)")
        // Five 1,000-generation searches against YOLOv5's five: in optimised builds (BuildSize.releaseOnly).
        guard BuildSize.isOptimized else { return }
        let yolo = f.searches.map { Double($0.fitness)! }
        let halftrace = try (0..<5).map { try AutoAnchor.search(wh, n: 9, generations: 1000, seed: UInt64($0)).metrics.fitness }
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
        #expect(mean(halftrace) >= mean(yolo), "HalfTrace \(halftrace) vs YOLOv5's kmean_anchors \(yolo)")
    }
}
