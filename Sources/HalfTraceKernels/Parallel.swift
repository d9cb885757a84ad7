#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

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
    let next = AtomicCounter()
    withoutActuallyEscaping(transform) { transform in
        let shared = UncheckedSendable((items, results, transform))
        DispatchQueue.concurrentPerform(iterations: min(workers, n)) { _ in
            let (items, results, transform) = shared.value
            GEMM.$maxThreads.withValue(1) {
                while true {
                    let i = next.increment()
                    guard i < n else { return }
                    results[i] = transform(items[i])
                }
            }
        }
    }
    return results.map { $0! }
}

/// A lock-protected counter handing out indices 0, 1, 2, ... to workers.
final class AtomicCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLockLite()
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

/// A pthread mutex (Foundation-free, the kernels module does not import Foundation).
final class NSLockLite: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
