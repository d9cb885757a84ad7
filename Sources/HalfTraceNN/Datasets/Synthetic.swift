import Foundation
import HalfTraceKernels

/// scikit-learn's `make_moons`: two interleaved half circles with Gaussian noise, labels 0
/// (outer) and 1 (inner), shuffled with the seeded generator. The first 80 % train.
public enum TwoMoons {
    /// `count` points (at least 10) with Gaussian noise of standard deviation `noise`, shuffled and
    /// perturbed by a generator seeded with `seed`; the first 80 % train, the rest validate.
    public static func make(count: Int = 1000, noise: Double = 0.1, seed: UInt64 = 0) -> DataSplit {
        precondition(count >= 10, "TwoMoons needs at least 10 points")
        var rng = SplitMix64(seed: seed)
        let outer = count / 2, inner = count - outer
        var points: [(Double, Double, Int)] = []
        for i in 0..<outer {
            let t = Double.pi * Double(i) / Double(outer - 1)
            points.append((cos(t), sin(t), 0))
        }
        for i in 0..<inner {
            let t = Double.pi * Double(i) / Double(inner - 1)
            points.append((1 - cos(t), 1 - sin(t) - 0.5, 1))
        }
        let order = rng.permutation(count)
        var features: [Float] = []
        var labels: [Int] = []
        for i in order {
            let (x, y, label) = points[i]
            features.append(Float(x + noise * rng.nextNormal()))
            features.append(Float(y + noise * rng.nextNormal()))
            labels.append(label)
        }
        let all = Dataset(features: features, featureCount: 2, labels: labels, classes: 2)
        let cut = count * 4 / 5
        return DataSplit(train: all.slice(0..<cut), validation: all.slice(cut..<count),
                         source: "two-moons(count: \(count), noise: \(noise), seed: \(seed))")
    }
}

/// Gaussian clusters: `classes` centres drawn N(0, 1) per dimension, points = centre + N(0, spread^2).
/// Used by the `wide` model to measure throughput.
public enum GaussianClusters {
    /// `train` and `validation` points around `classes` centres in `dimensions` dimensions, from one
    /// generator seeded with `seed` (the centres, then the training points, then the validation points).
    public static func make(dimensions: Int = 256, classes: Int = 10, train: Int = 4096, validation: Int = 1024,
                            spread: Double = 2.0, seed: UInt64 = 0) -> DataSplit {
        var rng = SplitMix64(seed: seed)
        let centres = (0..<(classes * dimensions)).map { _ in rng.nextNormal() }
        func sample(_ n: Int) -> Dataset {
            var features: [Float] = []
            features.reserveCapacity(n * dimensions)
            var labels: [Int] = []
            for _ in 0..<n {
                let c = rng.nextIndex(below: classes)
                for d in 0..<dimensions {
                    features.append(Float(centres[c * dimensions + d] + spread * rng.nextNormal()))
                }
                labels.append(c)
            }
            return Dataset(features: features, featureCount: dimensions, labels: labels, classes: classes)
        }
        let trainSet = sample(train)
        return DataSplit(train: trainSet, validation: sample(validation),
                         source: "gaussian-clusters(d: \(dimensions), classes: \(classes), seed: \(seed))")
    }
}
