// swift-tools-version:6.1
// Layers, each knowing only those below it:
//   Crdkafka / CKafkaShim (C)  ->  Kafka  ->  InferenceCore (pure Swift)  ->  InferenceWorker  ->  inference-worker
// InferenceCore deliberately does not depend on Kafka: it is testable without any broker. Both speak
// of records with the vocabulary in KafkaCore (partitions, offsets, headers; pure values), so that
// nothing converts between twin types on the hot path (NIOCore's role for swift-nio's modules).
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
        .library(name: "KafkaCore", targets: ["KafkaCore"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "InferenceCore", targets: ["InferenceCore"]),
        .library(name: "InferenceWorker", targets: ["InferenceWorker"]),
        .library(name: "InferenceCoreTesting", targets: ["InferenceCoreTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        // Operations (issue 6): metrics API and its Prometheus backend.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Issue 14: the operations HTTP endpoint on hummingbird 2 (and so swift-nio), and the worker's
        // long-running parts as Services in one ServiceGroup. hummingbird's default traits
        // (swift-configuration support, full Foundation) are off: nothing here uses them.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        // Already in the graph through hummingbird; named for the endpoint's own channel handler and
        // event-loop thread.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
    ],
    targets: [
        // Layer 1: librdkafka as a system library (pkg-config `rdkafka`), plus fixed-arity C wrappers.
        .systemLibrary(
            name: "Crdkafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev", "pkg-config"])]
        ),
        .target(name: "CKafkaShim", dependencies: ["Crdkafka"]),

        // The vocabulary every Swift layer shares (partitions, offsets, headers): pure values, no
        // librdkafka, so that the Kafka layer and the core speak of records with the same types.
        .target(name: "KafkaCore", swiftSettings: strict),

        // Layer 2: the only Swift module that imports the C targets.
        .target(
            name: "Kafka",
            dependencies: [
                "Crdkafka", "CKafkaShim", "KafkaCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // ONNX Runtime's C API (issue 15): the entries the worker uses, declared at their fixed positions
        // in the OrtApi table and reached through dlopen, so nothing links against the library.
        .target(name: "CONNXRuntime", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),

        // Layer 3: pure Swift, no broker. Its one C dependency opens ONNX Runtime only when an `onnx`
        // bundle is loaded.
        .target(
            name: "InferenceCore",
            dependencies: [
                "KafkaCore",
                "CONNXRuntime",
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
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
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
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
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
            dependencies: ["InferenceCore", "InferenceCoreTesting", "CONNXRuntime", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "InferenceWorkerTests",
            dependencies: [
                "InferenceWorker", "Kafka", "InferenceCore", "KafkaTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The executable's own code: settings resolution, and the benchmarks that live beside `bench`.
        .testTarget(
            name: "inference-workerTests",
            dependencies: ["inference-worker", "InferenceCore", "InferenceWorker", "Kafka", "KafkaTestSupport"],
            swiftSettings: strict
        ),
    ]
)
