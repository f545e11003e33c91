import InferenceCore
import Testing

@Suite struct PredictionEncoderTests {
    let encoder = PredictionEncoder(modelName: "fraud", modelVersion: "3")
    let context = PredictionContext(
        requestID: "abc", source: KafkaTopicPartition(topic: "requests", partition: 2), offset: KafkaOffset(42),
        eventTimeMilliseconds: 1_700_000_000_000, processingTimeMilliseconds: 1_700_000_000_012
    )

    func encode(_ outputs: PredictionOutputView, _ context: PredictionContext? = nil, with encoder: PredictionEncoder? = nil) -> String {
        var buffer: [UInt8] = []
        (encoder ?? self.encoder).encode(outputs, context: context ?? self.context, into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test func regression() {
        #expect(encode(.regression(score: 12.5)) == #"{"id":"abc","model":{"name":"fraud","version":"3"},"outputs":{"score":12.5},"source":{"topic":"requests","partition":2,"offset":42},"event_time":1700000000000,"processing_time":1700000000012}"#)
    }

    @Test func binary() {
        let labels = PredictionLabels(["legit", "fraud"])
        #expect(encode(.binary(score: 0.93, labelIndex: 1, labels: labels)) == #"{"id":"abc","model":{"name":"fraud","version":"3"},"outputs":{"score":0.93,"label":"fraud"},"source":{"topic":"requests","partition":2,"offset":42},"event_time":1700000000000,"processing_time":1700000000012}"#)
    }

    @Test func multiclass() {
        let labels = PredictionLabels(["a", "b", "c"])
        let probabilities: [Float] = [0.1, 0.7, 0.2]
        let json = probabilities.withUnsafeBufferPointer { p in
            encode(.multiclass(probabilities: p, labelIndex: PredictionEncoder.argmax(p), labels: labels))
        }
        #expect(json == #"{"id":"abc","model":{"name":"fraud","version":"3"},"outputs":{"label":"b","probabilities":{"a":0.1,"b":0.7,"c":0.2}},"source":{"topic":"requests","partition":2,"offset":42},"event_time":1700000000000,"processing_time":1700000000012}"#)
    }

    @Test func derivedIDAndMissingEventTime() {
        var context = self.context
        context.requestID = nil
        context.eventTimeMilliseconds = nil
        context.source = KafkaTopicPartition(topic: "in.\"quoted\"", partition: 0)
        context.offset = KafkaOffset(9_000_000_000)
        #expect(encode(.regression(score: -1), context) == #"{"id":"in.\"quoted\"-0-9000000000","model":{"name":"fraud","version":"3"},"outputs":{"score":-1.0},"source":{"topic":"in.\"quoted\"","partition":0,"offset":9000000000},"event_time":null,"processing_time":1700000000012}"#)
        #expect(PredictionEncoder.derivedID(topic: "t", partition: 3, offset: KafkaOffset(7)) == "t-3-7")
    }

    @Test func escapesStrings() {
        var context = self.context
        context.requestID = "q\"\\/\n\r\t\u{8}\u{C}\u{1}\u{1F}é😀"
        let encoder = PredictionEncoder(modelName: "m\"x", modelVersion: "v\\1")
        let labels = PredictionLabels(["no", "y\"es"])
        let json = encode(.binary(score: 1, labelIndex: 1, labels: labels), context, with: encoder)
        #expect(json.hasPrefix(#"{"id":"q\"\\/\n\r\t\b\f\u0001\u001fé😀","model":{"name":"m\"x","version":"v\\1"},"outputs":{"score":1.0,"label":"y\"es"}"#))
    }

    @Test func nonFiniteScoresAndBadLabelIndexesAreNull() {
        let labels = PredictionLabels(["a"])
        #expect(encode(.binary(score: .nan, labelIndex: 5, labels: labels)).contains(#""outputs":{"score":null,"label":null}"#))
        #expect(encode(.regression(score: .infinity)).contains(#""outputs":{"score":null}"#))
    }

    @Test func floatsRoundTrip() throws {
        var random = SplitMix64(seed: 11)
        var values: [Float] = [0, -0.0, 1, 0.1, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .leastNormalMagnitude, 16777216, 0.3333333]
        for _ in 0..<5000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))
            if value.isFinite { values.append(value) }
        }
        let decoder = try RequestDecoder(featureNames: ["score"])
        for value in values {
            let json = encode(.regression(score: value))
            // Read the score back through our own decoder (a full JSON parser) as a check of validity too.
            let start = try #require(json.range(of: #""score":"#)).upperBound
            let end = try #require(json[start...].firstIndex(of: "}"))
            let text = String(json[start..<end])
            var decoded: [RawFeatureValue] = []
            _ = try decoder.decode(Array("{\"features\":[\(text)]}".utf8), into: &decoded)
            guard case .number(let double) = decoded[0] else {
                Issue.record("\(text) is not a number")
                continue
            }
            #expect(Float(double) == value && Float(double).sign == value.sign, "\(value) written as \(text)")
            #expect(text == value.description)
        }
    }

    @Test func rawRequestIDsAreCopiedAsWritten() throws {
        let decoder = try RequestDecoder(featureNames: ["x"], configuration: .init(materializesID: false))
        for (payload, expectedID) in [
            (#"{"id":"plain-id","features":[1]}"#, #""plain-id""#),
            (#"{"id":"esc\"aped\u00e9","features":[1]}"#, #""esc\"aped\u00e9""#),
            (#"{"id":12345678901234567890,"features":[1]}"#, #""12345678901234567890""#),
            (#"{"features":[1]}"#, #""requests-2-42""#),
        ] {
            let bytes = Array(payload.utf8)
            var values: [RawFeatureValue] = []
            let request = try decoder.decode(bytes, into: &values)
            var buffer: [UInt8] = []
            bytes.withUnsafeBytes { raw in
                let id = request.idSpan.map { UnsafeRawBufferPointer(rebasing: raw[$0]) }
                encoder.encode(.regression(score: 1), context: context, rawRequestID: id, into: &buffer)
            }
            let json = String(decoding: buffer, as: UTF8.self)
            #expect(json.hasPrefix("{\"id\":\(expectedID),\"model\""), "\(json)")
        }
        // Without an escape, the raw path writes exactly what the String path writes.
        var viaString: [UInt8] = []
        encoder.encode(.regression(score: 1), context: context, into: &viaString)
        var viaRaw: [UInt8] = []
        Array("abc".utf8).withUnsafeBytes { encoder.encode(.regression(score: 1), context: context, rawRequestID: $0, into: &viaRaw) }
        #expect(viaRaw == viaString)
    }

    @Test func reusedBufferIsReplacedNotAppended() {
        var buffer: [UInt8] = []
        encoder.encode(.regression(score: 1), context: context, into: &buffer)
        let first = buffer.map { $0 } // a copy with its own storage: `buffer` stays uniquely referenced
        let capacity = buffer.capacity
        encoder.encode(.regression(score: 1), context: context, into: &buffer)
        #expect(buffer == first)
        #expect(buffer.capacity == capacity)
    }

    @Test func worstCaseEscapingStaysWithinTheReservedBound() throws {
        let nasty = String(repeating: "\u{1}\u{1F}\"\\", count: 64)
        let encoder = PredictionEncoder(modelName: nasty, modelVersion: nasty)
        let labels = PredictionLabels([nasty, nasty + "x", "😀"])
        let probabilities: [Float] = [-.leastNormalMagnitude, -.greatestFiniteMagnitude, .nan]
        var context = self.context
        context.source = KafkaTopicPartition(topic: nasty, partition: KafkaPartition(.min))
        context.offset = KafkaOffset(.max)
        context.eventTimeMilliseconds = .min
        context.processingTimeMilliseconds = .max
        for id in [nasty, nil] {
            context.requestID = id
            let json = probabilities.withUnsafeBufferPointer { p in
                encode(.multiclass(probabilities: p, labelIndex: 0, labels: labels), context, with: encoder)
            }
            #expect(json.contains(#""partition":-2147483648,"offset":9223372036854775807},"event_time":-9223372036854775808,"processing_time":9223372036854775807}"#))
            #expect(json.contains(#"\u0001\u001f\"\\"#))
            let decoder = try RequestDecoder(featureNames: ["x"])
            var values: [RawFeatureValue] = []
            do {
                _ = try decoder.decode(Array(json.utf8), into: &values)
                Issue.record("expected missing_features")
            } catch {
                #expect(error.code == .missingFeatures, "\(error)")
            }
        }
    }

    @Test func outputIsValidJSONForTheDecoder() throws {
        // The prediction has no "features", so our request decoder reports missing_features - which it
        // only does after validating the whole document as JSON.
        let decoder = try RequestDecoder(featureNames: ["x"])
        var values: [RawFeatureValue] = []
        let json = encode(.regression(score: 0.5))
        do {
            _ = try decoder.decode(Array(json.utf8), into: &values)
            Issue.record("expected missing_features")
        } catch {
            #expect(error.code == .missingFeatures)
        }
    }
}
