import Foundation
import HalfTraceEvolve
import HalfTraceKernels
import HalfTraceNN
import HalfTraceOptim
import HalfTraceTestSupport
import HalfTraceTraining
import Testing

@Suite("Hyper-parameter evolution and hyp files")
struct EvolveTests {
    static func config(_ strategy: EvolveStrategy, generations: Int = 4, population: Int = 4, model: EvolveModel = .tiny, epochs: Int = 3) -> EvolveConfig {
        var c = EvolveConfig()
        c.model = model
        c.strategy = strategy
        c.generations = generations
        c.population = population
        c.epochs = epochs
        c.seed = 5
        return c
    }

    static func evolve(_ c: EvolveConfig, workers: Int = 2) throws -> (String, EvolveSummary) {
        try withTemporaryDirectory("evolve") { dir in
            let summary = try Evolution(config: c, directory: dir, resume: false).run(workers: workers)
            return (try String(contentsOfFile: dir + "/evolve.csv", encoding: .utf8), summary)
        }
    }

    @Test("the same seed gives a byte-identical evolve.csv with one or two workers", arguments: EvolveStrategy.allCases)
    func deterministic(strategy: EvolveStrategy) throws {
        let (a, summary) = try Self.evolve(Self.config(strategy), workers: 1)
        let (b, _) = try Self.evolve(Self.config(strategy), workers: 2)
        #expect(a == b)
        #expect(summary.records.count == 16 && summary.trained == 16)
        #expect(summary.records.map { "\($0.generation),\($0.individual)" } == (0..<4).flatMap { g in (0..<4).map { "\(g),\($0)" } })
        #expect(summary.base.hyp == HyperparameterMeta.constrain(ScheduleHyperparameters().vector))
    }

    @Test("every candidate respects the meta bounds and 5-decimal rounding; hyp_evolve.yaml reads back as the best")
    func bounds() throws {
        try withTemporaryDirectory("bounds") { dir in
            let summary = try Evolution(config: Self.config(.ga, generations: 3, population: 6), directory: dir, resume: false).run()
            for r in summary.records {
                for (v, m) in zip(r.hyp, HyperparameterMeta.table) {
                    #expect(v >= m.lower && v <= m.upper)
                    #expect(Double(String(format: "%.5f", v)) == v)
                }
            }
            let loaded = try HypFile.load(dir + "/hyp_evolve.yaml")
            #expect(loaded.hyp.vector == summary.best.hyp && loaded.ignored.isEmpty && loaded.missing.isEmpty)
        }
    }

    @Test("evolving tiny for 20 generations of 8 takes under a minute on two cores", .enabled(if: BuildSize.isOptimized, BuildSize.releaseOnly))
    func tinySpeed() throws {
        let clock = ContinuousClock()
        var c = Self.config(.classic, generations: 20, population: 8)
        c.epochs = 10
        let t = try clock.measure { _ = try Self.evolve(c) }
        #expect(t < .seconds(60), "\(t)")
    }

    @Test("on mlp a 10-generation run's best fitness beats the default hyper-parameters'", .enabled(if: BuildSize.isOptimized, BuildSize.releaseOnly))
    func mlpImproves() throws {
        let (_, s) = try Self.evolve(Self.config(.classic, generations: 10, population: 8, model: .mlp, epochs: 10))
        #expect(s.best.fitness > s.base.fitness, "best \(s.best.fitness) vs default \(s.base.fitness)")
    }

    @Test("killed with SIGKILL (8 times; debug builds 3), each after 1 or 2 new rows of evolve.csv, and resumed: the same evolve.csv as an uninterrupted run")
    func killAndResume() throws {
        try withTemporaryDirectory("evolve-kill") { root in
            let reference = root + "/ref", dir = root + "/run"
            let args = ["evolve", "--model", "tiny", "--strategy", "ga", "--generations", "6", "--population", "6", "--epochs", "4", "--seed", "3"]
            #expect(try CLITests.run(args + ["--out", reference]).status == 0)
            func rows() -> Int? { (try? String(contentsOfFile: dir + "/evolve.csv", encoding: .utf8)).map { $0.split(separator: "\n").count } }
            let total = BuildSize.pick(release: 8, debug: 3)
            let (kills, resumes) = try ResumeTests.killRepeatedly(total, seed: 9, arguments: { resuming in
                args + ["--out", dir] + (resuming ? ["--resume"] : [])
            }, stamp: { rows().map(String.init) })
            #expect(kills == total && resumes == total - 1, "\(kills) kills, \(resumes) resumes that made progress")
            let a = try String(contentsOfFile: reference + "/evolve.csv", encoding: .utf8)
            let b = try String(contentsOfFile: dir + "/evolve.csv", encoding: .utf8)
            #expect(a == b)
            #expect(try String(contentsOfFile: reference + "/hyp_evolve.yaml", encoding: .utf8) == (try String(contentsOfFile: dir + "/hyp_evolve.yaml", encoding: .utf8)))
        }
    }

    @Test("bad input: strategy, generations, a corrupt evolve.csv (nothing overwritten), a conflicting resume")
    func badInput() throws {
        #expect(try CLITests.run(["evolve", "--strategy", "annealing", "--generations", "2", "--out", "/tmp/x"]).text.contains("--strategy"))
        try withTemporaryDirectory("corrupt") { dir in
            let g0 = try CLITests.run(["evolve", "--generations", "0", "--out", dir + "/g0"])
            #expect(g0.status != 0 && g0.text.contains("--generations: 0 is outside"))
            _ = try Evolution(config: Self.config(.classic, generations: 1, population: 2), directory: dir, resume: false).run()
            let path = dir + "/evolve.csv"
            var text = try String(contentsOfFile: path, encoding: .utf8)
            text = text.replacingOccurrences(of: "\n0,1,", with: "\n0,1,abc,")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try CLITests.run(["evolve", "--model", "tiny", "--generations", "2", "--population", "2", "--epochs", "3", "--seed", "5", "--out", dir, "--resume"])
            #expect(r.status != 0 && r.text.contains("evolve.csv:3: "), "\(r.text)")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == text, "nothing overwritten")
            let fresh = try CLITests.run(["evolve", "--generations", "2", "--out", dir])
            #expect(fresh.status != 0 && fresh.text.contains("evolve.csv: --directory: exists; resume that run"), "\(fresh.text)")
            #expect { try Evolution(config: Self.config(.classic, generations: 2, population: 3), directory: dir, resume: true) } throws: {
                "\($0)" == "\(dir)/evolve_config.json: population: the run in \(dir) was started with 2, not 3"
            }
        }
    }

    static let yolov5Hyp = """
    # YOLOv5 hyp.scratch-low.yaml (abridged)
    lr0: 0.01 # initial learning rate (SGD=1E-2, Adam=1E-3)
    lrf: 0.01 # final OneCycleLR learning rate (lr0 * lrf)
    momentum: 0.937 # SGD momentum/Adam beta1
    weight_decay: 0.0005 # optimizer weight decay 5e-4
    warmup_epochs: 3.0 # warmup epochs (fractions ok)
    warmup_momentum: 0.8 # warmup initial momentum
    warmup_bias_lr: 0.1 # warmup initial bias lr
    box: 0.05 # box loss gain
    cls: 0.5 # cls loss gain
    anchor_t: 4.0 # anchor-multiple threshold
    # anchors: 3  # anchors per output layer (0 to ignore)
    mosaic: 1.0 # image mosaic (probability)

    """

    @Test("YOLOv5 hyp files: real keys parse, unknown keys are listed once, missing keys default, bad values name key and line")
    func hypFiles() throws {
        let loaded = try HypFile.parse(Self.yolov5Hyp, name: "hyp.yaml")
        #expect(loaded.hyp == ScheduleHyperparameters())
        #expect(loaded.ignored == ["box", "cls", "anchor_t", "mosaic"] && loaded.missing.isEmpty)
        let partial = try HypFile.parse("lr0: 0.02\n", name: "p.yaml")
        #expect(partial.hyp.lr0 == 0.02 && partial.missing.count == 6)
        #expect { try HypFile.parse(Self.yolov5Hyp.replacingOccurrences(of: "momentum: 0.937", with: "momentum: fast"), name: "h.yaml") } throws: {
            "\($0)" == "h.yaml:4: momentum: must be a finite number, got 'fast'"
        }
        #expect { try HypFile.parse(Self.yolov5Hyp.replacingOccurrences(of: "lrf: 0.01", with: "lrf: -2"), name: "h.yaml") } throws: {
            "\($0)".hasPrefix("h.yaml:3: lrf: ")
        }
        #expect { try HypFile.parse("lr0: [1, 2]\n", name: "h.yaml") } throws: { "\($0)" == "h.yaml:1: lr0: must be a number, got a list" }
        #expect { try HypFile.parse("lr0: 0.1\nlr0: 0.2\n", name: "h.yaml") } throws: { "\($0)".hasPrefix("h.yaml: not valid YAML: ") && "\($0)".contains("duplicate") }
        #expect { try HypFile.parse("- a\n- b\n", name: "h.yaml") } throws: { "\($0)".hasPrefix("h.yaml:1: expected a mapping") }
    }
}

extension EvolveTests {
    @Test("evolving the detector: YOLOv5's columns and fitness, its loss and augmentation keys within their meta bounds, the same evolve.csv with one or two workers")
    func detector() throws {
        var c = Self.config(.ga, generations: 2, population: 2, model: .detector, epochs: 1)
        (c.detector.imageSize, c.detector.batchSize, c.detector.widths, c.detector.syntheticTrain, c.detector.syntheticValidation) = (32, 4, [8, 8, 16, 16], 8, 4)
        let (a, summary) = try Self.evolve(c, workers: 1)
        let (b, _) = try Self.evolve(c, workers: 2)
        #expect(a == b)
        let header = a.split(separator: "\n")[0]
        #expect(header.hasPrefix("generation,individual,metrics/precision,metrics/recall,metrics/mAP_0.5,metrics/mAP_0.5:0.95,val/box_loss,val/obj_loss,val/cls_loss,fitness,lr0,"))
        #expect(header.hasSuffix(",box,cls,cls_pw,obj,obj_pw,anchor_t,hsv_h,hsv_s,hsv_v,degrees,translate,scale,shear,flipud,fliplr,mosaic"))
        for r in summary.records {
            guard case .detector(let m, _) = r.metrics else { Issue.record("not a detector record"); continue }
            #expect(r.fitness == 0.1 * m.map50 + 0.9 * m.map)
            for (v, key) in zip(r.hyp, c.table) { #expect(v >= key.lower && v <= key.upper, "\(key.name) \(v)") }
        }
        #expect(summary.records.count == 4)
    }
}
