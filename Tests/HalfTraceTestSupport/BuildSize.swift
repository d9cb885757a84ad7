import Testing

/// How much work a test does, by build configuration.
///
/// HalfTrace declares no unsafe compiler flags (SwiftPM refuses them in a package used by
/// version), so a debug build is not optimised: the engine runs 8 to 50 times slower there
/// than in release (50x for training, whose GEMM micro-kernels are C intrinsics at -O0). A test
/// whose proof is a long computation (many fuzzed inputs, many kills, a long training run)
/// does its full amount in release (`swift test -c release`, what CI runs) and a smaller amount
/// of the same kind in debug, so that plain `swift test` stays a quick regression run. The rule
/// each test checks, its assertions and its tolerances are the same in both; only counts
/// (mutations, kills, seeds, rows) shrink, and every test says which count it ran.
public enum BuildSize {
    #if DEBUG
    /// True in an unoptimised (debug) build.
    public static let isDebug = true
    #else
    /// True in an unoptimised (debug) build.
    public static let isDebug = false
    #endif

    /// `release` in an optimised build, `debug` in a debug build.
    public static func pick<T>(release: T, debug: T) -> T { isDebug ? debug : release }

    /// True in an optimised (release) build.
    public static var isOptimized: Bool { !isDebug }

    /// Why a test runs in optimised builds only: its claim is the outcome of full-length work (a
    /// 30-epoch training run averaged over seeds, a speed target, a search compared with
    /// YOLOv5's over several seeds), which a smaller amount would not establish; the rules those
    /// runs follow are checked per step by the golden scenarios and unit tests in every build.
    public static let releaseOnly: Comment = "the outcome of a full-length run: runs in optimised builds (swift test -c release, as CI does)"

    /// The build configuration's name, for test output.
    public static var configuration: String { isDebug ? "debug" : "release" }
}
