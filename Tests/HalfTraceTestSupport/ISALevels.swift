import HalfTraceKernels
import Testing

extension KernelISA {
    /// Cancels the running test case when this CPU cannot run the level, so that the test's
    /// output lists every level: the ones that ran, and the ones cancelled with the reason.
    /// Parameterise ISA tests over `KernelISA.allCases` and call this first.
    public func requireOnThisCPU() throws {
        guard rawValue <= KernelISA.best.rawValue else {
            try Test.cancel("this CPU cannot run \(self) (its best level is \(KernelISA.best)): not run")
        }
    }
}
