// swift-tools-version: 6.1
import PackageDescription

// Layers, arrows pointing one way (a module imports only modules listed before it):
// CHalfKernels <- HalfTraceKernels <- HalfTraceAutograd <- HalfTraceNN <- HalfTraceOptim
//   <- HalfTraceTraining <- HalfTraceTraces <- HalfTracePlot <- halftrace (CLI)
// The numeric targets are optimised in debug builds too, so that plain `swift test` runs the
// kernels, the toy training runs and the exhaustive float16 checks in minutes, not hours. The
// arithmetic is the same at every optimisation level: no fast-math, fused multiply-adds only
// where written (`fma`, target attributes), so traces are bit-identical in both configurations.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
let optimizedCInDebug: [CSetting] = [.unsafeFlags(["-O2"], .when(configuration: .debug))]

let package = Package(
    name: "HalfTrace",
    products: [
        .executable(name: "halftrace", targets: ["halftrace"]),
        .library(name: "HalfTrace", targets: ["HalfTraceTraining"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        // C kernels: Float16 conversion (F16C) and GEMM (AVX2/AVX-512 FMA), chosen at run time
        // by a CPU check; per-function target attributes, no global flags.
        .target(name: "CHalfKernels", cSettings: optimizedCInDebug),
        .target(name: "HalfTraceKernels", dependencies: ["CHalfKernels"], swiftSettings: optimizedInDebug),
        .target(name: "HalfTraceAutograd", dependencies: ["HalfTraceKernels"], swiftSettings: optimizedInDebug),
        .target(
            name: "HalfTraceNN", dependencies: ["HalfTraceAutograd"],
            resources: [.copy("Resources/digits.csv"), .copy("Resources/DIGITS-LICENSE.md")], swiftSettings: optimizedInDebug),
        .target(name: "HalfTraceOptim", dependencies: ["HalfTraceAutograd"], swiftSettings: optimizedInDebug),
        .target(
            name: "HalfTraceTraining",
            dependencies: ["HalfTraceNN", "HalfTraceOptim", .product(name: "Yams", package: "Yams")], swiftSettings: optimizedInDebug),
        // YOLOv5's AutoAnchor: label reader, metric, k-means + genetic search (kernels only).
        .target(
            name: "HalfTraceAnchors", dependencies: ["HalfTraceKernels"],
            resources: [.copy("Resources/boxes")], swiftSettings: optimizedInDebug),
        // Closed forms straight from the sources' formulas; imports nothing it checks.
        .target(name: "HalfTraceReference", swiftSettings: optimizedInDebug),
        .target(name: "HalfTraceTraces", dependencies: ["HalfTraceTraining", "HalfTraceReference", "HalfTraceAnchors"], swiftSettings: optimizedInDebug),
        // `halftrace verify`: a YOLOv5 or Ultralytics run's logged learning rates against the formulas.
        .target(
            name: "HalfTraceVerify",
            dependencies: ["HalfTraceTraining", .product(name: "Yams", package: "Yams")], swiftSettings: optimizedInDebug),
        // Hyper-parameter evolution on the toy models (classic and genetic).
        .target(name: "HalfTraceEvolve", dependencies: ["HalfTraceTraining"], swiftSettings: optimizedInDebug),
        .target(name: "HalfTracePlot", dependencies: ["HalfTraceTraces", "HalfTraceEvolve", "HalfTraceVerify"]),
        .executableTarget(
            name: "halftrace",
            dependencies: [
                "HalfTraceTraining", "HalfTraceTraces", "HalfTracePlot", "HalfTraceAnchors", "HalfTraceEvolve", "HalfTraceVerify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "HalfTraceTestSupport", dependencies: ["HalfTraceAutograd"], path: "Tests/HalfTraceTestSupport", swiftSettings: optimizedInDebug),
        .testTarget(
            name: "HalfTraceTests",
            dependencies: [
                "HalfTraceKernels", "HalfTraceAutograd", "HalfTraceNN", "HalfTraceOptim",
                "HalfTraceTraining", "HalfTraceTraces", "HalfTraceReference", "HalfTracePlot", "HalfTraceAnchors", "HalfTraceEvolve",
                "HalfTraceVerify", "HalfTraceTestSupport",
            ],
            exclude: ["Fixtures"], swiftSettings: optimizedInDebug),
    ]
)
