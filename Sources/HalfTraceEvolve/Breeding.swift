import HalfTraceKernels

/// How a generation's candidates are made from the records before it. Every draw comes from a
/// generator seeded by (seed, generation), so the candidates of any generation can be rebuilt
/// from evolve.csv alone: what `--resume` relies on.
enum Breeding {
    /// YOLOv5 v7.0 `--evolve` (classic), with `population` candidates per generation (YOLOv5: 1):
    /// parent = weighted choice among the top 5 earlier records (weights fitness - min + 1e-6);
    /// v = (gain * (rand < 0.8) * randn * rand_scalar * 0.2 + 1).clip(0.3, 3.0), redrawn while all
    /// ones; hyp = parent * v, clamped to the meta bounds and rounded to 5 decimals. Generation 0
    /// trains the base hyper-parameters first (as YOLOv5 does before evolve.csv exists).
    static func classic(generation g: Int, population: Int, earlier: [EvolveRecord], base: [Double], meta: [EvolvableKey],
                        using rng: inout SplitMix64) -> [[Double]] {
        let top = Array(earlier.sorted { $0.fitness > $1.fitness }.prefix(5))
        let parents: [[Double]] = top.isEmpty ? [base] : top.map(\.hyp)
        let fitness = top.isEmpty ? [0.0] : top.map(\.fitness)
        let weights = fitness.map { $0 - fitness.min()! + 1e-6 }
        return (0..<population).map { i in
            if g == 0 && i == 0 { return HyperparameterMeta.constrain(base, table: meta) }
            let parent = parents[weightedIndex(weights, using: &rng)]
            var v = [Double](repeating: 1, count: meta.count)
            while v.allSatisfy({ $0 == 1 }) {
                let scalar = rng.nextUnit()
                v = meta.map { m in
                    let mask: Double = rng.nextUnit() < 0.8 ? 1 : 0
                    return min(max(m.gain * mask * rng.nextNormal() * scalar * 0.2 + 1, 0.3), 3.0)
                }
            }
            return HyperparameterMeta.constrain(zip(parent, v).map(*), table: meta)
        }
    }

    /// YOLOv5 master's genetic algorithm, rates moving linearly over the run as there
    /// (generation k of G): mutation rate max(0.01, min(0.5, 0.5 - k/G)), crossover rate
    /// max(0.5, min(1, 1 - k/G)), elite 2 + int(3 k/G), tournament size max(2, int(min(10, P) - k/(G/10))).
    /// Departures, said here: the elite is copied unchanged into the next generation (YOLOv5 only
    /// adds it to the selection pool), children are copies (YOLOv5's child aliases its parent's
    /// list), and a mutation adds uniform(-0.1, 0.1) * (upper - lower) rather than an absolute
    /// +-0.1, so that a gene's step fits its range (warmup_epochs 0...5 and weight_decay 0...0.001
    /// move the same fraction of their range). Values are clamped and rounded to 5 decimals.
    /// Generation 0: the base hyper-parameters and uniform random individuals within the bounds.
    static func ga(generation g: Int, generations: Int, population p: Int, previous: [EvolveRecord], base: [Double],
                   meta: [EvolvableKey], using rng: inout SplitMix64) -> [[Double]] {
        if g == 0 {
            return (0..<p).map { i in
                i == 0 ? HyperparameterMeta.constrain(base, table: meta)
                    : HyperparameterMeta.constrain(meta.map { rng.nextUniform($0.lower, $0.upper) }, table: meta)
            }
        }
        let k = Double(g - 1) / Double(max(generations, 1))
        let elite = min(p, 2 + Int(3 * k))
        let tournament = max(2, Int(Double(min(10, p)) - Double(g - 1) / (Double(generations) / 10)))
        let mutationRate = max(0.01, min(0.5, 0.5 - k)), crossoverRate = max(0.5, min(1, 1 - k))
        let fitness = previous.map(\.fitness)
        let ranked = previous.indices.sorted { fitness[$0] > fitness[$1] || (fitness[$0] == fitness[$1] && $0 < $1) }
        var selected: [Int] = (0..<(p - elite)).map { _ in
            var pool = Array(previous.indices)
            var entrants: [Int] = []
            for _ in 0..<min(tournament, pool.count) { entrants.append(pool.remove(at: rng.nextIndex(below: pool.count))) }
            return entrants.max { fitness[$0] < fitness[$1] || (fitness[$0] == fitness[$1] && $0 > $1) }!
        }
        selected += ranked.prefix(elite)
        var next = ranked.prefix(elite).map { previous[$0].hyp }
        while next.count < p {
            let a = previous[selected[rng.nextIndex(below: selected.count)]].hyp
            let b = previous[selected[rng.nextIndex(below: selected.count)]].hyp
            var child = a
            if rng.nextUnit() < crossoverRate {
                let point = 1 + rng.nextIndex(below: meta.count - 1)
                child = Array(a[..<point] + b[point...])
            }
            for j in meta.indices where meta[j].gain > 0 && rng.nextUnit() < mutationRate {
                child[j] += rng.nextUniform(-0.1, 0.1) * meta[j].range
            }
            next.append(HyperparameterMeta.constrain(child, table: meta))
        }
        return next
    }

    static func weightedIndex(_ weights: [Double], using rng: inout SplitMix64) -> Int {
        let total = weights.reduce(0, +)
        var x = rng.nextUnit() * total
        for (i, w) in weights.enumerated() {
            if x < w { return i }
            x -= w
        }
        return weights.count - 1
    }
}
