// swift-tools-version: 6.1
import PackageDescription

// Layers, arrows pointing one way (a module imports only modules listed before it):
// CHalfKernels <- HalfTraceKernels <- HalfTraceAutograd <- HalfTraceNN <- HalfTraceOptim
//   <- HalfTraceTraining <- HalfTraceTraces <- HalfTracePlot <- halftrace (CLI)
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
        .target(name: "CHalfKernels"),
        .target(name: "HalfTraceKernels", dependencies: ["CHalfKernels"]),
        .target(name: "HalfTraceAutograd", dependencies: ["HalfTraceKernels"]),
        .target(
            name: "HalfTraceNN", dependencies: ["HalfTraceAutograd"],
            resources: [.copy("Resources/digits.csv"), .copy("Resources/DIGITS-LICENSE.md")]),
        .target(name: "HalfTraceOptim", dependencies: ["HalfTraceAutograd"]),
        .target(
            name: "HalfTraceTraining",
            dependencies: ["HalfTraceNN", "HalfTraceOptim", .product(name: "Yams", package: "Yams")]),
        // YOLOv5's AutoAnchor: label reader, metric, k-means + genetic search (kernels only).
        .target(
            name: "HalfTraceAnchors", dependencies: ["HalfTraceKernels"],
            resources: [.copy("Resources/boxes")]),
        // Closed forms straight from the sources' formulas; imports nothing it checks.
        .target(name: "HalfTraceReference"),
        .target(name: "HalfTraceTraces", dependencies: ["HalfTraceTraining", "HalfTraceReference", "HalfTraceAnchors"]),
        // Hyper-parameter evolution on the toy models (classic and genetic).
        .target(name: "HalfTraceEvolve", dependencies: ["HalfTraceTraining"]),
        .target(name: "HalfTracePlot", dependencies: ["HalfTraceTraces", "HalfTraceEvolve"]),
        .executableTarget(
            name: "halftrace",
            dependencies: [
                "HalfTraceTraining", "HalfTraceTraces", "HalfTracePlot", "HalfTraceAnchors", "HalfTraceEvolve",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "HalfTraceTestSupport", dependencies: ["HalfTraceAutograd"], path: "Tests/HalfTraceTestSupport"),
        .testTarget(
            name: "HalfTraceTests",
            dependencies: [
                "HalfTraceKernels", "HalfTraceAutograd", "HalfTraceNN", "HalfTraceOptim",
                "HalfTraceTraining", "HalfTraceTraces", "HalfTraceReference", "HalfTracePlot", "HalfTraceAnchors", "HalfTraceEvolve", "HalfTraceTestSupport",
            ],
            exclude: ["Fixtures"]),
    ]
)
