#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CHalfKernels
import Dispatch
import Synchronization

/// Parallel parts of a training step on HalfTrace's worker pool (persistent threads that spin
/// briefly between jobs, so that a step's many short parallel regions do not each pay a
/// thread wake-up). Parts never depend on the thread that runs them.
public enum Parallel {
    /// Runs `body(parts, part)` for every part in 0..<parts, on the calling thread and the pool,
    /// where the pool chooses `parts`: `maxParts`, or 1 when the caller would run the region
    /// alone (the pool busy with another region, or a region nested in a part), so that work done
    /// alone is not split. `body` must compute the same whatever the split. Returns the parts it ran.
    @discardableResult
    public static func run(maxParts: Int, _ body: (_ parts: Int, _ part: Int) -> Void) -> Int {
        guard maxParts > 1 else {
            if maxParts == 1 { body(1, 0) }
            return max(0, maxParts)
        }
        return withoutActuallyEscaping(body) { body in
            var task = body
            return withUnsafeMutablePointer(to: &task) { pointer in
                Int(ht_parallel(Int32(maxParts), { context, parts, part in
                    context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(parts), Int(part))
                }, pointer))
            }
        }
    }

    /// What the worker pool did while `body` ran (counting is process-wide: run nothing else
    /// in parallel to attribute it).
    public static func counting<R>(_ body: () throws -> R) rethrows -> (R, PoolCounts) {
        _ = ht_pool_counting(1)
        let result = try body()
        let s = ht_pool_counting(0)
        return (result, PoolCounts(regions: Int(s.regions), inlineRegions: Int(s.inline_regions), callerParts: Int(s.caller_parts),
                                   workerParts: Int(s.worker_parts), waitSeconds: Double(s.wait_ns) / 1e9))
    }

    /// The fewest elements an element-wise range is given: below twice this, work stays on
    /// the calling thread (a hand-off costs about as much as this many simple operations).
    @inlinable public static var elementwiseMinimum: Int { 1 << 15 }

    /// Whether `forEachRange(count, minimum:)` would split the work: at least twice `minimum`
    /// elements.
    @inlinable @inline(__always)
    public static func isWorthSplitting(_ count: Int, minimum: Int = elementwiseMinimum) -> Bool {
        count >= 2 * minimum
    }

    /// How many ranges `forEachRange(count, minimum:)` runs: 1 below twice the minimum or when
    /// the task allows one thread (`GEMM.maxThreads`, e.g. inside `concurrentMap`).
    @inlinable
    public static func parts(_ count: Int, minimum: Int = elementwiseMinimum) -> Int {
        // Small counts return before reading the task-local thread limit (a lookup per call).
        isWorthSplitting(count, minimum: minimum) ? max(1, min(GEMM.maxThreads, count / max(1, minimum))) : 1
    }

    /// Splits 0..<count into contiguous ranges of at least `minimum` elements, one per thread
    /// (up to `GEMM.maxThreads`), and runs `body` on each. Element-wise work only: every element
    /// is computed the same whatever the split.
    @inline(__always)
    public static func forEachRange(_ count: Int, minimum: Int = elementwiseMinimum, _ body: (Range<Int>) -> Void) {
        if !isWorthSplitting(count, minimum: minimum) {
            if count > 0 { body(0..<count) }
            return
        }
        _ = mapRanges(count, minimum: minimum, body)
    }

    /// A new array converted element by element from `source` by `kernel(source range,
    /// destination range)`, large arrays in ranges on the worker pool (the conversions: each
    /// element depends on its own source element only, so the split changes nothing).
    public static func convert<S, D>(
        _ source: [S], minimum: Int = 1 << 16,
        _ kernel: (UnsafeBufferPointer<S>, UnsafeMutableBufferPointer<D>) -> Void
    ) -> [D] {
        [D](unsafeUninitializedCapacity: source.count) { buffer, count in
            source.withUnsafeBufferPointer { s in
                forEachRange(s.count, minimum: minimum) { r in kernel(.init(rebasing: s[r]), .init(rebasing: buffer[r])) }
            }
            count = source.count
        }
    }

    /// `forEachRange` with a result per range, in range order (combine them with an operation
    /// that does not depend on the split, e.g. OR): one range when the region runs alone.
    public static func mapRanges<R>(_ count: Int, minimum: Int = elementwiseMinimum, _ body: (Range<Int>) -> R) -> [R] {
        let maxParts = parts(count, minimum: minimum)
        guard maxParts > 1 else { return count > 0 ? [body(0..<count)] : [] }
        let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: maxParts)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        run(maxParts: maxParts) { parts, part in
            let chunk = (count + parts - 1) / parts
            let lo = part * chunk, hi = min(count, lo + chunk)
            if lo < hi { results[part] = body(lo..<hi) }
        }
        return results.compactMap { $0 }
    }
}

/// What the worker pool did over a stretch of work (`Parallel.counting`).
public struct PoolCounts: Sendable, Equatable {
    /// Parallel regions run on the pool.
    public var regions: Int
    /// Regions the caller ran alone (the pool busy, e.g. a nested region, or one part).
    public var inlineRegions: Int
    /// Parts the calling thread ran.
    public var callerParts: Int
    /// Parts the workers ran.
    public var workerParts: Int
    /// Seconds the caller waited, after its own parts, for a worker to finish a part it had claimed.
    public var waitSeconds: Double
}

// (GEMM.defaultThreadCount is the number of usable cores, capped at 8.)

/// Maps `items` on up to `workers` threads, returning the results in input order. Each item is
/// processed by exactly one worker, so results never depend on the number of workers; within a
/// worker GEMMs run single-threaded (the workers already occupy the cores).
public func concurrentMap<T, R>(_ items: [T], workers: Int = GEMM.defaultThreadCount, _ transform: (T) -> R) -> [R] {
    let n = items.count
    guard n > 1, workers > 1 else { return items.map(transform) }
    let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: n)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    let next = IndexDispenser()
    withoutActuallyEscaping(transform) { transform in
        let shared = UncheckedSendable((items, results, transform))
        DispatchQueue.concurrentPerform(iterations: min(workers, n)) { _ in
            let (items, results, transform) = shared.value
            GEMM.$maxThreads.withValue(1) {
                while true {
                    let i = next.take()
                    guard i < n else { return }
                    results[i] = transform(items[i])
                }
            }
        }
    }
    return results.map { $0! }
}

/// Hands out the indices 0, 1, 2, ... to workers, each once.
final class IndexDispenser: Sendable {
    private let next = Mutex(0)

    func take() -> Int {
        next.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}
