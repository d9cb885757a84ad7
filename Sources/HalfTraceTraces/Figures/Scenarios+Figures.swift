import HalfTraceAnchors
import HalfTraceFigures
import HalfTraceReference

extension Scenarios {
    /// The figures that combine scenarios or draw one in a way of its own, declared beside them:
    /// each is typed data (`Figure`) built from the checks of the scenarios it names (a figure
    /// `drawnBy:` one scenario is that scenario's `ownFigures`); `HalfTracePlot` renders them.
    public static let figures: [ComparisonFigure] = [
        ComparisonFigure("warmup_groups", "YOLOv5 warm-up per parameter group (hyp.scratch-low, nb 24, batch 16; groups 1 and 2 share one lr)",
                         drawnBy: warmupFormula),
        ComparisonFigure("warmup_formula_vs_lag", "The documents' formula vs train.py's one-epoch scheduler lag (epoch e trains at lf(e-1))",
                         from: [warmupFormula, warmupLag]) { f, checks in
            [WarmupScenario.lagFigure(f, formula: checks[warmupFormula.name]!, lag: checks[warmupLag.name]!)]
        },
        ComparisonFigure("sgdr_stepping", "CosineAnnealingWarmRestarts(T_0=10, T_mult=2), Adam lr 0.001: restarts at 10, 30, 70",
                         from: [sgdrDocumentBatch, sgdrDocumentEpoch]) { f, checks in
            [SGDRScenario.steppingFigure(f, perBatch: checks[sgdrDocumentBatch.name]!, perEpoch: checks[sgdrDocumentEpoch.name]!)]
        },
        ComparisonFigure("loss_scale", "GradScaler: the loss scale on a log2 axis, skipped steps marked",
                         from: [scalerMLPOverflow, scalerSawtooth, scalerHysteresisClean, scalerHysteresisGrowth, scalerMinScale]) { f, checks in
            [ScalerScenario.lossScaleFigure(f, training: checks[scalerMLPOverflow.name]!, traces: [
                ("sawtooth", checks[scalerSawtooth.name]!), ("hysteresis clean", checks[scalerHysteresisClean.name]!),
                ("hysteresis growth", checks[scalerHysteresisGrowth.name]!), ("min scale", checks[scalerMinScale.name]!),
            ])]
        },
        ComparisonFigure("training_curves", "Digits MLP (64-256-256-10) with YOLOv5's recipe: fp32, amp, fp16 with and without the scaler",
                         from: [digitsFP32, digitsAmp, digitsFP16, digitsFP16NoScaler].map(\.perEpoch)) { f, checks in
            ScenarioFigures.trainingCurves(f, zip([digitsFP32, digitsAmp, digitsFP16, digitsFP16NoScaler], ["fp32", "amp + scaler", "fp16 + scaler", "fp16, no scaler"])
                .map { TrainingEpochsScenario.run(checks[$0.perEpoch.name]!, label: $1) }).map { [$0] } ?? []
        },
        ComparisonFigure("precision_comparison", "Do I need a loss scaler? Digits MLP in seven precisions, default recipe and loss x1e-7",
                         from: digitsByPrecision.map(\.perEpoch) + shrunkenEpochs) { f, checks in
            let legends = precisionRuns.map(\.2)
            return ScenarioFigures.precisionComparison(f, [
                ("default recipe", zip(digitsByPrecision.map(\.perEpoch), legends).map { TrainingEpochsScenario.run(checks[$0.name]!, label: $1) }),
                ("loss x1e-7, optimizer compensated", zip(shrunkenEpochs, legends).map { TrainingEpochsScenario.run(checks[$0.name]!, label: $1) }),
            ]).map { [$0] } ?? []
        },
        ComparisonFigure("resume", "Resume (digits MLP, amp): HalfTrace restores everything; YOLOv5 restarts the scaler at 2^16 and the data order",
                         drawnBy: resumeAmp),
        ComparisonFigure("anchors", "AutoAnchor on very elongated boxes", drawnBy: anchorsSearch),
        ComparisonFigure("training_restarts", "A training run across SGDR restarts (probe model, T_0 3, T_mult 2; groups 1 and 2 share one lr): Trainer vs Float64 reference",
                         drawnBy: referenceSGDR),
        ComparisonFigure("schedule_families", "Warm-up, then restarts, as timm and transformers compute them: HalfTrace's exact restarts vs each package's arithmetic",
                         drawnBy: familySchedules),
        ComparisonFigure("restart_zooms", "Each package's first misplaced restart, zoomed: the exact value (HalfTrace) and the package's arithmetic",
                         from: [sgdrPyTorchRestarts, familySchedules]) { f, checks in
            let torch = checks[sgdrPyTorchRestarts.name]!, family = checks[familySchedules.name]!
            return ScenarioFigures.restartZooms(f, [
                .init(package: "PyTorch 2.15 CosineAnnealingWarmRestarts", check: torch, key: "epoch", exact: "lr", packageColumn: "pytorch_lr"),
                .init(package: "timm 1.0 CosineLRScheduler", check: family, key: "step", exact: "timm_lr", packageColumn: "timm_package_lr"),
                .init(package: "transformers hard restarts", check: family, key: "step", exact: "hf_restarts_lr", packageColumn: "hf_restarts_package_lr"),
            ]).map { [$0] } ?? []
        },
        ComparisonFigure("scaler_rules", "Dynamic loss scaling side by side on one overflow pattern: PyTorch, Megatron-core, DeepSpeed (ZeRO and FP16_Optimizer)",
                         drawnBy: familyScalers),
    ]
}

// MARK: each scenario's figure data, from its own columns

extension InterpScenario {
    /// The formula on a dense grid through its kinks, the known points and the engine's.
    func figure(_ check: ScenarioCheck) -> Figure? {
        let f = ComparisonFigure(heading: check.name, check.figureTitle)
        let lo = xp[0] - 1.5, hi = xp[xp.count - 1] + 1.5
        let dense = (0...300).map { lo + (hi - lo) * Double($0) / 300 }
        return ScenarioFigures.interpolation(f, (xp, fp), (dense, dense.map { Reference.interp($0, xp, fp) }), (check.engine("x"), check.engine("y")), check)
    }
}

extension LambdaScenario {
    /// Both multipliers on one axis, as the document draws them.
    func figure(_ check: ScenarioCheck) -> Figure? {
        ScenarioFigures.multipliers(ComparisonFigure(heading: check.name, check.figureTitle), "epoch",
                                    ["cosine", "linear"].map { ($0, check.series($0, x: "epoch")) }, check)
    }
}

extension WarmupScenario {
    func ownFigures(_ check: ScenarioCheck, as f: ComparisonFigure) -> [Figure] {
        [ScenarioFigures.warmupGroups(f, [("group 0 (biases)", check.series("lr_bias", x: "iteration")), ("group 1 (weights)", check.series("lr_weight", x: "iteration")),
                                          ("group 2 (norm weights)", check.series("lr_bn", x: "iteration"))],
                                      check.series("momentum", x: "iteration"), check.series("accumulate", x: "iteration"), markers, check)]
    }

    static func lagFigure(_ f: ComparisonFigure, formula: ScenarioCheck, lag: ScenarioCheck) -> Figure {
        ScenarioFigures.difference(f, keyLabel: "iteration", x: formula.engine("iteration"), first: formula.engine("lr_weight"), second: lag.engine("lr_weight"),
                                   legends: ["formula: lr0 · lf(epoch)", "yolov5Lag: train.py (last_epoch = start_epoch - 1)", "lag − formula"],
                                   yLabel: "learning rate (weights)")
    }
}

extension SGDRScenario {
    static func steppingFigure(_ f: ComparisonFigure, perBatch: ScenarioCheck, perEpoch: ScenarioCheck) -> Figure {
        ScenarioFigures.stepping(f, perBatch.series("lr", x: "epoch"), perEpoch.series("lr", x: "epoch"), perBatch.scenario?.markers ?? [], perBatch)
    }
}

extension SGDRRestartsScenario {
    /// One panel per case around its restart (the file's rows are three epochs of each case).
    func figure(_ check: ScenarioCheck) -> Figure? {
        let engine = check.engine("lr"), pytorch = check.golden("pytorch_lr")
        return ScenarioFigures.restartCases(ComparisonFigure(heading: check.name, check.figureTitle), cases.enumerated().map { k, c in
            (c.t0, c.tMult, c.epoch, Array(engine[(3 * k)..<(3 * k + 3)]), Array(pytorch[(3 * k)..<(3 * k + 3)]))
        }, baseLR: lr, check)
    }
}

extension ScalerScenario {
    static func lossScaleFigure(_ f: ComparisonFigure, training: ScenarioCheck, traces: [(String, ScenarioCheck)]) -> Figure {
        ScenarioFigures.lossScale(f, (training.golden?.title ?? "", training.engine("iteration"), training.golden("scale"), training.engine("skipped").map { $0 == 1 }),
                                  traces.map { label, c in (label, c.engine("step"), c.engine("next_scale"), c.engine("found_inf").map { $0 == 1 }) })
    }
}

extension TrainingEpochsScenario {
    static func run(_ check: ScenarioCheck, label: String) -> LabelledRun {
        LabelledRun(label: label, epoch: check.engine("epoch"), trainLoss: check.engine("train_loss"), validationLoss: check.engine("val_loss"),
                    validationAccuracy: check.engine("val_accuracy"), underflowFraction: check.engine("underflow_fraction"))
    }
}

extension ResumeScenario {
    func ownFigures(_ check: ScenarioCheck, as f: ComparisonFigure) -> [Figure] {
        let panels: [(String, String, Double?)] = [("loss", "batch-mean loss", 10), ("scale", "loss scale", 2), ("lr_weight", "learning rate (weights)", nil)]
        return [ScenarioFigures.resume(f, check.engine("iteration"), panels.map { column, label, base in
            (label, base, check.engine(column), check.engine("resumed_" + column), check.engine("yolov5_" + column))
        }, markers)]
    }
}

extension ReferenceTrainingScenario {
    func ownFigures(_ check: ScenarioCheck, as f: ComparisonFigure) -> [Figure] {
        [ScenarioFigures.trainingRun(f, [("group 0 (biases)", check.series("lr_bias", x: "iteration")), ("group 1 (weights)", check.series("lr_weight", x: "iteration")),
                                         ("group 2 (norm weights)", check.series("lr_bn", x: "iteration"))],
                                     check.series("loss", x: "iteration"), markers, check)]
    }
}

extension FamilySchedulesScenario {
    func ownFigures(_ check: ScenarioCheck, as f: ComparisonFigure) -> [Figure] {
        let curves: [(String, String, String?)] = [
            ("timm, T 50, mul 1.2", "timm_lr", "timm_package_lr"), ("hf hard restarts, 2.3", "hf_restarts_lr", "hf_restarts_package_lr"),
            ("hf cosine", "hf_cosine_lr", nil), ("hf WSD, decay 60", "hf_wsd_lr", nil),
        ]
        return [ScenarioFigures.frameworks(f, keyLabel: "step (optimizer update)", yLabel: "learning rate", logBase: nil, curves: curves.map { name, column, package in
            FrameworkCurve(name: name, series: check.series(column, x: "step"),
                           package: package.map { (name.hasPrefix("timm") ? "timm's arithmetic" : "transformers' arithmetic", check.golden($0)) })
        }, markers: markers, ticks: [], check)]
    }
}

extension FamilyScalersScenario {
    func ownFigures(_ check: ScenarioCheck, as f: ComparisonFigure) -> [Figure] {
        let names = ["pytorch": "PyTorch", "megatron": "Megatron-core", "deepspeed": "DeepSpeed (ZeRO)",
                     "deepspeed_consecutive": "DeepSpeed, consecutive", "deepspeed_fp16": "DeepSpeed FP16_Optimizer"]
        return [ScenarioFigures.frameworks(f, keyLabel: "optimizer step", yLabel: "loss scale after update", logBase: 2, curves: Self.frameworks.map {
            FrameworkCurve(name: names[$0.column] ?? $0.column, series: check.series($0.column, x: "step"), package: nil)
        }, markers: [], ticks: infSteps.map(Double.init), check)]
    }
}
