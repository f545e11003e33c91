import Foundation
import InferenceCore
import Testing

/// The examples in docs/events.md are decoded and re-encoded here, so the documentation cannot drift
/// from the code. An example is the ```json block after a `<!-- example: KIND [ARGUMENT] -->` line.
@Suite struct DocumentedExamplesTests {
    struct Example {
        var kind: String
        var argument: String?
        var json: String
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func examples() throws -> [Example] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/events.md"), encoding: .utf8)
        var examples: [Example] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let line = lines.popFirst() {
            guard line.hasPrefix("<!-- example: "), line.hasSuffix(" -->") else { continue }
            let words = line.dropFirst("<!-- example: ".count).dropLast(" -->".count).split(separator: " ")
            guard lines.popFirst() == "```json" else { throw ExampleError(message: "no ```json block after \(line)") }
            var body: [Substring] = []
            while let next = lines.popFirst(), next != "```" { body.append(next) }
            examples.append(Example(kind: String(words[0]), argument: words.count > 1 ? String(words[1]) : nil, json: body.joined(separator: "\n")))
        }
        return examples
    }

    struct ExampleError: Error { var message: String }

    let decoder = try! RequestDecoder(featureNames: ["amount", "country", "account_age_days", "is_new_device"])

    @Test func requestExamplesDecode() throws {
        let requests = try Self.examples().filter { $0.kind == "request" }
        #expect(requests.count >= 2)
        for example in requests {
            var values: [RawFeatureValue] = []
            let request = try decoder.decode(Array(example.json.utf8), into: &values)
            #expect(request.id != nil)
            #expect(values.count == 4)
        }
    }

    @Test func invalidRequestExamplesFailWithTheDocumentedCode() throws {
        let invalid = try Self.examples().filter { $0.kind == "invalid-request" }
        #expect(invalid.count >= 3)
        for example in invalid {
            var values: [RawFeatureValue] = []
            do {
                _ = try decoder.decode(Array(example.json.utf8), into: &values)
                Issue.record("documented as invalid but decoded: \(example.json)")
            } catch {
                #expect(error.code.rawValue == example.argument, "\(example.json): \(error)")
            }
        }
    }

    @Test func predictionExamplesAreTheEncodersOutput() throws {
        let predictions = Dictionary(uniqueKeysWithValues: try Self.examples().filter { $0.kind == "prediction" }.map { ($0.argument ?? "", $0.json) })
        #expect(predictions.count == 3)
        func encode(_ encoder: PredictionEncoder, _ outputs: PredictionOutputView, _ context: PredictionContext) -> String {
            var buffer: [UInt8] = []
            encoder.encode(outputs, context: context, into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }
        let payments = KafkaTopicPartition(topic: "payments.requests", partition: 3)
        #expect(predictions["binary"] == encode(
            PredictionEncoder(modelName: "fraud", modelVersion: "2024-06-01"),
            .binary(score: 0.93, labelIndex: 1, labels: PredictionLabels(["legit", "fraud"])),
            PredictionContext(requestID: "txn-0001", source: payments, offset: KafkaOffset(1842), eventTimeMilliseconds: 1_718_000_000_000, processingTimeMilliseconds: 1_718_000_000_012)
        ))
        #expect(predictions["regression"] == encode(
            PredictionEncoder(modelName: "basket-value", modelVersion: "7"),
            .regression(score: 57.25),
            PredictionContext(requestID: nil, source: payments, offset: KafkaOffset(1843), eventTimeMilliseconds: 1_718_000_000_001, processingTimeMilliseconds: 1_718_000_000_012)
        ))
        let probabilities: [Float] = [0.1, 0.7, 0.2]
        let multiclass = probabilities.withUnsafeBufferPointer { p in
            encode(
                PredictionEncoder(modelName: "intent", modelVersion: "3"),
                .multiclass(probabilities: p, labelIndex: 1, labels: PredictionLabels(["a", "b", "c"])),
                PredictionContext(requestID: "42", source: KafkaTopicPartition(topic: "chat.requests", partition: 0), offset: KafkaOffset(7), eventTimeMilliseconds: nil, processingTimeMilliseconds: 1_718_000_000_012)
            )
        }
        #expect(predictions["multiclass"] == multiclass)
    }

    @Test(arguments: ["docs/schemas/request.schema.json", "docs/schemas/prediction.schema.json"])
    func schemasAreValidJSON(path: String) throws {
        let data = try Data(contentsOf: Self.repositoryRoot.appendingPathComponent(path))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect((schema["required"] as? [String])?.isEmpty == false)
    }
}
