import Foundation
import InferenceCore

/// Throughput of the request decoder and prediction encoder on a 16-float request, next to
/// Foundation's `JSONSerialization` on the same bytes - callable from the CLI (a `bench` subcommand)
/// so numbers come from a release build on the machine at hand.
///
/// Foundation is imported here only, for the comparison; the codecs themselves do not use it.
enum CodecBenchmark {
    /// One measured case.
    struct Measurement: Sendable, CustomStringConvertible {
        /// What was measured.
        var name: String
        /// Records processed.
        var records: Int
        /// Wall time for all of them.
        var elapsed: Duration

        /// Records per second.
        var recordsPerSecond: Double { Double(records) / elapsed.doubleSeconds }
        /// Nanoseconds per record.
        var nanosecondsPerRecord: Double { elapsed.doubleSeconds * 1e9 / Double(records) }

        var description: String {
            let name = self.name.padding(toLength: 44, withPad: " ", startingAt: 0)
            return "\(name) \(String(format: "%10.0f", recordsPerSecond)) records/s  \(String(format: "%8.1f", nanosecondsPerRecord)) ns/record"
        }
    }

    /// The feature names of the benchmark model.
    static let featureNames = (0..<16).map { "feature_\($0)" }

    /// The benchmark request, features as an array.
    static let arrayRequest: [UInt8] = {
        let values = sampleValues.map { String($0) }.joined(separator: ",")
        return Array(#"{"id":"req-000000123","features":[\#(values)]}"#.utf8)
    }()

    /// The benchmark request, features as an object keyed by name.
    static let objectRequest: [UInt8] = {
        let fields = zip(featureNames, sampleValues).map { "\"\($0)\":\($1)" }.joined(separator: ",")
        return Array(#"{"id":"req-000000123","features":{\#(fields)}}"#.utf8)
    }()

    static let sampleValues: [Double] = [
        0.8273645, -1.2039, 3.14159, 42, 0.0001234, 1234.5678, -0.5, 7.25e-3,
        99.99, 0.333333, -17.125, 2.718281828, 1e-5, 512, 0.618034, -3.75,
    ]

    /// Runs every case over `records` records each and returns the measurements.
    static func run(records: Int = 1_000_000) throws -> [Measurement] {
        let decoder = try RequestDecoder(featureNames: featureNames)
        var results: [Measurement] = []
        var checksum = 0.0

        for (name, payload) in [("decode 16 floats (array)", arrayRequest), ("decode 16 floats (object)", objectRequest)] {
            var values = [RawFeatureValue](repeating: .missing, count: featureNames.count)
            let elapsed = try values.withUnsafeMutableBufferPointer { buffer in
                try payload.withUnsafeBytes { bytes in
                    try ContinuousClock().measure {
                        for _ in 0..<records {
                            _ = try decoder.decode(bytes, into: buffer)
                            if case .number(let x) = buffer[3] { checksum += x }
                        }
                    }
                }
            }
            results.append(Measurement(name: name, records: records, elapsed: elapsed))
        }

        let foundationRecords = max(1, records / 10)
        let data = Data(arrayRequest)
        let foundationDecode = try ContinuousClock().measure {
            for _ in 0..<foundationRecords {
                let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                let features = object?["features"] as? [Any]
                if let x = features?[3] as? NSNumber { checksum += x.doubleValue }
            }
        }
        results.append(Measurement(name: "JSONSerialization.jsonObject (array)", records: foundationRecords, elapsed: foundationDecode))

        let encoder = PredictionEncoder(modelName: "fraud-detector", modelVersion: "2024-06-01")
        let labels = PredictionLabels(["legit", "fraud"])
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        var context = PredictionContext(
            requestID: "req-000000123", source: KafkaTopicPartition(topic: "requests", partition: 3), offset: KafkaOffset(123_456_789),
            eventTimeMilliseconds: 1_700_000_000_000, processingTimeMilliseconds: 1_700_000_000_012
        )
        let binaryElapsed = ContinuousClock().measure {
            for i in 0..<records {
                context.offset = KafkaOffset(Int64(i))
                let score = Float(i & 1023) / 1024
                encoder.encode(.binary(score: score, labelIndex: score >= 0.5 ? 1 : 0, labels: labels), context: context, into: &buffer)
                checksum += Double(buffer.count)
            }
        }
        results.append(Measurement(name: "encode binary prediction", records: records, elapsed: binaryElapsed))

        let classes = PredictionLabels((0..<16).map { "class_\($0)" })
        var probabilities = [Float](repeating: 1.0 / 16, count: 16)
        let multiclassElapsed = probabilities.withUnsafeMutableBufferPointer { p in
            ContinuousClock().measure {
                for i in 0..<records {
                    p[i & 15] = Float(i & 255) / 4096
                    let view = UnsafeBufferPointer(p)
                    encoder.encode(.multiclass(probabilities: view, labelIndex: PredictionEncoder.argmax(view), labels: classes), context: context, into: &buffer)
                    checksum += Double(buffer.count)
                }
            }
        }
        results.append(Measurement(name: "encode multiclass prediction (16 classes)", records: records, elapsed: multiclassElapsed))

        let foundationEncode = try ContinuousClock().measure {
            for i in 0..<foundationRecords {
                let object: [String: Any] = [
                    "id": "req-000000123",
                    "model": ["name": "fraud-detector", "version": "2024-06-01"],
                    "outputs": ["score": Float(i & 1023) / 1024, "label": "fraud"],
                    "source": ["topic": "requests", "partition": 3, "offset": i],
                    "event_time": 1_700_000_000_000 as Int64, "processing_time": 1_700_000_000_012 as Int64,
                ]
                checksum += Double(try JSONSerialization.data(withJSONObject: object).count)
            }
        }
        results.append(Measurement(name: "JSONSerialization.data (binary prediction)", records: foundationRecords, elapsed: foundationEncode))

        // Keeps the optimiser from deleting the loops.
        if checksum == .pi { print(checksum) }
        return results
    }
}
