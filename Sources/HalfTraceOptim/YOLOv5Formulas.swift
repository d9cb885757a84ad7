import HalfTraceKernels

/// YOLOv5's and Ultralytics' schedule formulas, each defined once and used by both the
/// engine's schedule (`YOLOv5Schedule`, `LinearSchedule`, `OneCycleSchedule`) and `verify`'s
/// release simulator, in Python's order of evaluation so that the values are the trainers' bit
/// for bit. Sources: YOLOv5 `train.py` and `utils/general.py` (v7.0), Ultralytics
/// `engine/trainer.py` and `utils/__init__.py` (8.0-8.4).
public enum YOLOv5Formulas {
    /// `accumulate = max(round(nbs / bs), 1)`, half to even.
    public static func accumulate(nominalBatchSize: Int, batchSize: Int) -> Int {
        max(Int(roundHalfEven(Double(nominalBatchSize) / Double(batchSize))), 1)
    }

    /// `nw = max(round(warmup_epochs * nb), floor)` (floor 100 in YOLOv5 6.1+ and Ultralytics
    /// before 8.4.103; 1000 in YOLOv5 6.0; 0 from Ultralytics 8.4.103).
    public static func warmupIterations(warmupEpochs: Double, batchesPerEpoch: Int, floor: Int) -> Int {
        max(Int(roundHalfEven(warmupEpochs * Double(batchesPerEpoch))), floor)
    }

    /// The linear multiplier `(1 - x / epochs) * (1.0 - lrf) + lrf`; Ultralytics 8.0.228+ clamps
    /// `1 - x / epochs` at `floor` 0 (the default, -inf, leaves it as it is).
    public static func linear(_ x: Double, epochs: Double, lrf: Double, floor: Double = -.infinity) -> Double {
        max(1 - x / epochs, floor) * (1.0 - lrf) + lrf
    }

    /// `one_cycle(y1, y2, steps)(x) = ((1 - cos(x * pi / steps)) / 2) * (y2 - y1) + y1`.
    public static func oneCycle(_ x: Double, y1: Double, y2: Double, steps: Double) -> Double {
        ((1 - Double.cos(x * Double.pi / steps)) / 2) * (y2 - y1) + y1
    }

    /// The warm-up's ramp `numpy.interp(ni, [0, nw], [from, to])`.
    public static func ramp(warmupIterations nw: Int, from: Double, to: Double) -> Interpolation {
        try! Interpolation(xp: [0, Double(nw)], fp: [from, to])  // two finite, non-decreasing knots
    }

    /// The accumulate in the warm-up: `max(1, round(interp(ni, [0, nw], [1, target])))`.
    public static func warmupAccumulate(_ ramp: Interpolation, at ni: Int) -> Int {
        max(1, Int(roundHalfEven(ramp(Double(ni)))))
    }
}

extension CosineWarmRestarts {
    /// PyTorch's cosine annealing, `eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2`,
    /// in PyTorch's order of evaluation (`CosineAnnealingWarmRestarts.get_lr`).
    public static func annealed(base: Double, etaMin: Double, tCur: Double, tI: Double) -> Double {
        etaMin + (base - etaMin) * (1 + Double.cos(Double.pi * tCur / tI)) / 2
    }
}
