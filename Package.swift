// swift-tools-version: 6.1
import PackageDescription

// Layers, arrows pointing one way (a module imports only modules listed before it, and declares
// every HalfTrace module it imports):
// CHalfKernels <- HalfTraceKernels <- HalfTraceAutograd <- HalfTraceNN <- HalfTraceOptim
//   <- HalfTraceAnchors <- HalfTraceDetection <- HalfTraceTraining <- HalfTraceTraces <- HalfTracePlot
//   <- halftrace (CLI); HalfTraceFigures (figures as data, no dependency) <- HalfTraceTraces, HalfTracePlot
// No unsafe flags: the package is usable as a versioned dependency. Debug builds are not
// optimised, so the test suite sizes its heaviest cases by build configuration (see
// Tests/HalfTraceTestSupport/BuildSize.swift); every case proves the same rule in both.

let yams: Target.Dependency = .product(name: "Yams", package: "Yams")

let package = Package(
    name: "HalfTrace",
    products: [
        .executable(name: "halftrace", targets: ["halftrace"]),
        // Float16/bfloat16-storage tensors with reverse-mode autograd, autocast and layers.
        .library(name: "HalfTraceTensors", targets: ["HalfTraceAutograd", "HalfTraceNN"]),
        // Optimizers, learning-rate schedules (YOLOv5 warm-up, LambdaLR, SGDR) and the GradScaler.
        .library(name: "HalfTraceOptimization", targets: ["HalfTraceOptim"]),
        // A micro YOLOv5 on the engine: blocks, Detect, ComputeLoss, NMS, mAP, EMA, data and images.
        .library(name: "HalfTraceDetection", targets: ["HalfTraceDetection"]),
        // YOLOv5's training loop on HalfTrace tensors (toy models and the detector), checkpoints and resume.
        .library(name: "HalfTraceTraining", targets: ["HalfTraceTraining"]),
        // Checks a YOLOv5 or Ultralytics run (or any schedule's log) against the formulas.
        .library(name: "HalfTraceVerification", targets: ["HalfTraceVerify"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", exact: "1.5.0"),
    ],
    targets: [
        // C kernels: Float16 conversion (F16C) and GEMM (AVX2/AVX-512 FMA), chosen at run time
        // by a CPU check; per-function target attributes, no global flags.
        .target(name: "CHalfKernels"),
        .target(name: "HalfTraceKernels", dependencies: ["CHalfKernels"]),
        .target(name: "HalfTraceAutograd", dependencies: ["HalfTraceKernels"]),
        .target(
            name: "HalfTraceNN", dependencies: ["HalfTraceAutograd", "HalfTraceKernels"],
            resources: [.copy("Resources/digits.csv"), .copy("Resources/DIGITS-LICENSE.md")]),
        .target(name: "HalfTraceOptim", dependencies: ["HalfTraceAutograd", "HalfTraceKernels"]),
        // YOLOv5's AutoAnchor: label reader, metric, k-means + genetic search (kernels only).
        .target(name: "HalfTraceAnchors", dependencies: ["HalfTraceKernels"], resources: [.copy("Resources/boxes")]),
        // A micro YOLOv5 on the engine: blocks, Detect, ComputeLoss, NMS, mAP, EMA, data and images.
        .target(
            name: "HalfTraceDetection",
            dependencies: ["HalfTraceAnchors", "HalfTraceAutograd", "HalfTraceKernels", "HalfTraceNN", "HalfTraceOptim", yams]),
        .target(
            name: "HalfTraceTraining",
            dependencies: ["HalfTraceAnchors", "HalfTraceAutograd", "HalfTraceDetection", "HalfTraceKernels", "HalfTraceNN", "HalfTraceOptim", yams]),
        // Closed forms straight from the sources' formulas; imports nothing it checks.
        .target(name: "HalfTraceReference"),
        // Figures described as data (panels, series, markers): what scenarios declare, what the renderer draws.
        .target(name: "HalfTraceFigures"),
        .target(
            name: "HalfTraceTraces",
            dependencies: ["HalfTraceAnchors", "HalfTraceAutograd", "HalfTraceDetection", "HalfTraceFigures", "HalfTraceKernels", "HalfTraceNN",
                           "HalfTraceOptim", "HalfTraceReference", "HalfTraceTraining"]),
        // `halftrace verify`: a YOLOv5 or Ultralytics run checked against the formulas.
        .target(name: "HalfTraceVerify", dependencies: ["HalfTraceKernels", "HalfTraceOptim", "HalfTraceTraining", yams]),
        // Hyper-parameter evolution on the toy models and the detector (classic and genetic).
        .target(name: "HalfTraceEvolve", dependencies: ["HalfTraceDetection", "HalfTraceKernels", "HalfTraceNN", "HalfTraceOptim", "HalfTraceTraining"]),
        .target(
            name: "HalfTracePlot",
            dependencies: ["HalfTraceAnchors", "HalfTraceEvolve", "HalfTraceFigures", "HalfTraceKernels", "HalfTraceTraces", "HalfTraceTraining",
                           "HalfTraceVerify"]),
        .executableTarget(
            name: "halftrace",
            dependencies: [
                "HalfTraceAnchors", "HalfTraceDetection", "HalfTraceEvolve", "HalfTraceFigures", "HalfTraceKernels", "HalfTraceNN", "HalfTraceOptim", "HalfTracePlot",
                "HalfTraceTraces", "HalfTraceTraining", "HalfTraceVerify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "HalfTraceTestSupport", dependencies: ["HalfTraceAutograd", "HalfTraceKernels"], path: "Tests/HalfTraceTestSupport"),
        .testTarget(
            name: "HalfTraceTests",
            dependencies: [
                "HalfTraceKernels", "HalfTraceAutograd", "HalfTraceNN", "HalfTraceOptim",
                "HalfTraceTraining", "HalfTraceTraces", "HalfTraceReference", "HalfTracePlot", "HalfTraceAnchors", "HalfTraceEvolve",
                "HalfTraceVerify", "HalfTraceTestSupport", "HalfTraceDetection", "HalfTraceFigures",
            ],
            exclude: ["Fixtures"]),
    ]
)
