import ArgumentParser
import HalfTraceOptim

/// One flag per `ScheduleHyperparameters.keys` entry, named after its YOLOv5 key (`--lr0`,
/// `--weight-decay`). ArgumentParser needs a declared property per flag: adding a key to the
/// table means one line here too, and a test checks that every key has its flag.
struct HyperparameterOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: help("lr0")) var lr0: Double?
    @Option(parsing: .unconditional, help: help("lrf")) var lrf: Double?
    @Option(parsing: .unconditional, help: help("momentum")) var momentum: Double?
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: help("weight_decay")) var weightDecay: Double?
    @Option(name: .customLong("warmup-epochs"), parsing: .unconditional, help: help("warmup_epochs")) var warmupEpochs: Double?
    @Option(name: .customLong("warmup-momentum"), parsing: .unconditional, help: help("warmup_momentum")) var warmupMomentum: Double?
    @Option(name: .customLong("warmup-bias-lr"), parsing: .unconditional, help: help("warmup_bias_lr")) var warmupBiasLR: Double?

    static func help(_ key: String) -> ArgumentHelp {
        let defaults = ScheduleHyperparameters()
        return ArgumentHelp("\(ScheduleHyperparameters.key(key)!.help) (default \(defaults[keyPath: ScheduleHyperparameters.key(key)!.keyPath]))")
    }

    /// The values given on the command line, by YOLOv5 key.
    var given: [String: Double] {
        let all: [String: Double?] = ["lr0": lr0, "lrf": lrf, "momentum": momentum, "weight_decay": weightDecay,
                                      "warmup_epochs": warmupEpochs, "warmup_momentum": warmupMomentum, "warmup_bias_lr": warmupBiasLR]
        return all.compactMapValues { $0 }
    }

    /// `h` with the given values written over it.
    func apply(to h: inout ScheduleHyperparameters) {
        for key in ScheduleHyperparameters.keys { if let v = given[key.name] { h[keyPath: key.keyPath] = v } }
    }
}

/// The SGDR flags of `train` and `trace sgdr-warmup` (PyTorch's T_0, T_mult, eta_min, and the
/// warm-up + restarts extras).
struct RestartFlags: ParsableArguments {
    @Option(name: .customLong("t0"), help: "SGDR: epochs of the first cycle (positive integer; default 10).") var t0: Int?
    @Option(name: .customLong("t-mult"), help: "SGDR: cycle length factor (integer >= 1; default 2).") var tMult: Int?
    @Option(name: .customLong("eta-min"), parsing: .unconditional, help: "SGDR: minimum learning rate (default 0).") var etaMin: Double?
    @Option(name: .customLong("cycle-decay"), parsing: .unconditional, help: "sgdr-warmup and timm-cosine: peak of cycle n = lr * decay^n (default 1).")
    var cycleDecay: Double?
    @Option(name: .customLong("restart-warmup"), parsing: .unconditional, help: "sgdr-warmup: epochs of linear re-warm-up after each restart (default 0).")
    var restartWarmup: Double?
    @Option(name: .customLong("cycle-limit"), help: "sgdr-warmup and timm-cosine: cycles after which the lr stays at its minimum.") var cycleLimit: Int?

    func apply(to o: inout RestartOptions) {
        if let t0 { o.t0 = t0 }
        if let tMult { o.tMult = tMult }
        if let etaMin { o.etaMin = etaMin }
        if let cycleDecay { o.cycleDecay = cycleDecay }
        if let restartWarmup { o.restartWarmup = restartWarmup }
        if let cycleLimit { o.cycleLimit = cycleLimit }
    }
}
