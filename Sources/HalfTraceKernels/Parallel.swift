#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

// (GEMM.defaultThreadCount is the number of online cores, capped at 8.)

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
