// swift-tools-version:6.1
// Layers, each knowing only those below it:
//   Crdkafka / CKafkaShim (C)  ->  Kafka  ->  InferenceCore (pure Swift)  ->  InferenceWorker  ->  inference-worker
// InferenceCore deliberately does not depend on Kafka: it is testable without any broker.
// No library target holds benchmark, demo or test-double code: benchmarks and the demo's request
// synthesis live in the executable (next to the `bench` and `demo` subcommands that run them), test
// doubles in InferenceCoreTesting (as NIOTestUtils and HummingbirdTesting do), which only tests import.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "inference-worker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "inference-worker", targets: ["inference-worker"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "InferenceCore", targets: ["InferenceCore"]),
        .library(name: "InferenceWorker", targets: ["InferenceWorker"]),
        .library(name: "InferenceCoreTesting", targets: ["InferenceCoreTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        // Operations (issue 6): metrics API and its Prometheus backend. Both are small (swift-atomics
        // is their only other dependency); the HTTP endpoint is our own, so no swift-nio.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Layer 1: librdkafka as a system library (pkg-config `rdkafka`), plus fixed-arity C wrappers.
        .systemLibrary(
            name: "Crdkafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev", "pkg-config"])]
        ),
        .target(name: "CKafkaShim", dependencies: ["Crdkafka"]),

        // Layer 2: the only Swift module that imports the C targets.
        .target(
            name: "Kafka",
            dependencies: [
                "Crdkafka", "CKafkaShim",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // Layer 3: pure Swift, no broker.
        .target(
            name: "InferenceCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // Layer 4: the pipeline and the executable.
        .target(
            name: "InferenceWorker",
            dependencies: [
                "Kafka", "InferenceCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "inference-worker",
            dependencies: [
                "InferenceWorker", "Kafka", "InferenceCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),

        // Test doubles of the core (a manual clock, a timer-driven batch driver): for tests only.
        .target(name: "InferenceCoreTesting", dependencies: ["InferenceCore"], swiftSettings: strict),

        .target(
            name: "KafkaTestSupport",
            dependencies: ["Kafka", .product(name: "Logging", package: "swift-log")],
            path: "Tests/KafkaTestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "KafkaTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "InferenceCoreTests",
            dependencies: ["InferenceCore", "InferenceCoreTesting"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "InferenceWorkerTests",
            dependencies: ["InferenceWorker", "Kafka", "InferenceCore", "KafkaTestSupport"],
            swiftSettings: strict
        ),
        // The executable's own code: settings resolution, and the benchmarks that live beside `bench`.
        .testTarget(
            name: "inference-workerTests",
            dependencies: ["inference-worker", "InferenceCore"],
            swiftSettings: strict
        ),
    ]
)
