// swift-tools-version: 6.1
// A package that uses HalfTrace by version. `.ci/consumer` builds and runs it against a tagged
// clone of this repository, with the URL below replaced by that clone's file:// URL.
import PackageDescription

let package = Package(
    name: "consumer",
    dependencies: [
        .package(url: "https://github.com/halftrace/halftrace", from: "0.4.0"),
    ],
    targets: [
        .executableTarget(
            name: "consumer",
            dependencies: [
                .product(name: "HalfTraceTensors", package: "halftrace"),
                .product(name: "HalfTraceOptimization", package: "halftrace"),
                .product(name: "HalfTraceTraining", package: "halftrace"),
                .product(name: "HalfTraceVerification", package: "halftrace"),
            ]),
    ]
)
