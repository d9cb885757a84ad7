import Foundation

extension Ablation {
    /// What a variant buys against the recipe: its seeds' mean mAP over the last 10 epochs, and
    /// the paired difference from the recipe's run of the same seed (mean and standard error).
    public struct Effect: Sendable, Equatable {
        /// The variant.
        public var variant: String
        /// mAP@0.5 (mean of the last 10 epochs) per seed, in seed order.
        public var map50: [Double]
        /// The mean over the seeds of mAP@0.5 and of mAP@0.5:0.95.
        public var mean: (map50: Double, map: Double)
        /// Per seed, the variant's mAP@0.5 minus the recipe's: their mean and standard error
        /// (sample standard deviation / sqrt(seeds)); nil for the recipe itself or without it.
        public var difference: (mean: Double, standardError: Double)?

        /// How the difference reads: "inside the seeds' spread" when its mean is within two
        /// standard errors of 0, "better" or "worse" beyond; nil without a difference, and
        /// "one seed: no spread" with a single seed.
        public var verdict: String? {
            guard let d = difference else { return nil }
            guard map50.count > 1 else { return "one seed: no spread" }
            if abs(d.mean) <= 2 * d.standardError { return "inside the seeds' spread" }
            return d.mean > 0 ? "better" : "worse"
        }

        public static func == (a: Effect, b: Effect) -> Bool {
            a.variant == b.variant && a.map50 == b.map50 && a.mean == b.mean
                && a.difference?.mean == b.difference?.mean && a.difference?.standardError == b.difference?.standardError
        }
    }

    /// Each variant's effect, in the plan's order; the differences need the plan's `yolov5` rows.
    public static func effects(_ rows: [Row], plan: Plan) -> [Effect] {
        func seeds(_ v: String) -> [Row] { rows.filter { $0.variant == v }.sorted { $0.seed < $1.seed } }
        let recipe = plan.variants.contains("yolov5") ? seeds("yolov5") : []
        return plan.variants.compactMap { name in
            let mine = seeds(name)
            guard !mine.isEmpty else { return nil }
            let n = Double(mine.count)
            var effect = Effect(variant: name, map50: mine.map(\.meanMap50),
                                mean: (mine.map(\.meanMap50).reduce(0, +) / n, mine.map(\.meanMap).reduce(0, +) / n), difference: nil)
            if name != "yolov5", recipe.map(\.seed) == mine.map(\.seed) {
                let d = zip(mine, recipe).map { $0.meanMap50 - $1.meanMap50 }
                let m = d.reduce(0, +) / n
                let sd = d.count > 1 ? (d.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot() : 0
                effect.difference = (m, sd / n.squareRoot())
            }
            return effect
        }
    }

    /// The effects as the table `ablate` prints.
    public static func effectsTable(_ effects: [Effect]) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        let width = max(8, (effects.map(\.variant.count).max() ?? 0) + 2)
        var lines = [pad("variant", width) + pad("mAP@0.5 per seed", 24) + pad("mean mAP@0.5 / 0.5:0.95", 26) + pad("vs yolov5, paired", 20) + "reads as"]
        for e in effects {
            let seeds = e.map50.map { Format.fixed($0, 3) }.joined(separator: " ")
            let diff = e.difference.map { (Format.fixed($0.mean, 3).hasPrefix("-") ? "" : "+") + Format.fixed($0.mean, 3) + " ± " + Format.fixed($0.standardError, 3) } ?? ""
            lines.append(pad(e.variant, width) + pad(seeds, 24) + pad(Format.fixed(e.mean.map50, 3) + " / " + Format.fixed(e.mean.map, 3), 26)
                         + pad(diff, 20) + (e.verdict ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
