import Testing

@testable import InferenceCore

@Suite("BatchScorer: the one scoring path")
struct BatchScorerTests {
    /// p in [-5, 5] echoed to the output: a binary probability, so p outside [0, 1] fails output validation.
    let model = LoadedModel(
        name: "echo", version: "3", kind: .linear,
        schema: InputSchema(features: [.numeric("p", minimum: -5, maximum: 5)]),
        kernel: EchoKernel(), output: OutputSchema(task: .binary, labels: ["no", "yes"]))

    private func append(_ scorer: inout BatchScorer, _ json: String) -> Result<String?, ScoringFailure> {
        Array(json.utf8).withUnsafeBytes { scorer.append(request: $0) }
    }

    @Test func eachRequestGetsExactlyOneTypedOutcomeAndBadRowsNeverEnterTheBatch() throws {
        var scorer = try BatchScorer(model: model, maxRows: 8, maxPayloadBytes: 64)
        #expect(try append(&scorer, #"{"id":"a","features":[0.9]}"#).get() == "a")
        guard case .failure(let malformed) = append(&scorer, "{not json") else { Issue.record("malformed accepted"); return }
        #expect(malformed.reason.code == "malformed_json")
        guard case .failure(let range) = append(&scorer, #"{"features":[9]}"#) else { Issue.record("out of range accepted"); return }
        #expect(range.reason.code == "out_of_range_value")
        guard case .input = range.cause else { Issue.record("cause \(range.cause)"); return }
        guard case .failure(let tombstone) = scorer.append(request: nil) else { Issue.record("tombstone accepted"); return }
        guard case .tombstone = tombstone.cause else { Issue.record("cause \(tombstone.cause)"); return }
        let big = #"{"features":[0.1],"padding":""# + String(repeating: "x", count: 64) + #""}"#
        guard case .failure(let oversized) = append(&scorer, big) else { Issue.record("oversized accepted"); return }
        #expect(oversized.reason.code == "oversized_payload")
        #expect(try append(&scorer, #"{"features":{"p":2}}"#).get() == nil)
        #expect(try append(&scorer, #"{"features":[0.1]}"#).get() == nil)
        #expect(scorer.rowCount == 3, "only the accepted rows are in the batch")

        scorer.score()
        #expect(try scorer.outcome(ofRow: 0).get().label == "yes")
        guard case .failure(let output) = scorer.outcome(ofRow: 1) else { Issue.record("p = 2 is no probability"); return }
        #expect(output.reason.code == "output_validation_failure")
        #expect(try scorer.outcome(ofRow: 2).get().label == "no")
    }

    @Test func theBatchMatrixIsReusedAndResetStartsAFreshBatch() throws {
        var scorer = try BatchScorer(model: model, maxRows: 2)
        _ = append(&scorer, #"{"features":[0.2]}"#)
        _ = append(&scorer, #"{"features":[0.7]}"#)
        #expect(scorer.isFull)
        scorer.score()
        #expect(try scorer.outcome(ofRow: 1).get().score == 0.7)
        scorer.reset()
        #expect(scorer.rowCount == 0 && !scorer.isScored)
        _ = append(&scorer, #"{"features":[0.4]}"#)
        scorer.score()
        #expect(try scorer.outcome(ofRow: 0).get().score == 0.4, "row 0 now holds the new batch's first request")
    }

    @Test func predictionsAreEncodedWithTheModelsNameAndVersion() throws {
        var scorer = try BatchScorer(model: model, maxRows: 1)
        _ = append(&scorer, #"{"id":"r1","features":[0.25]}"#)
        scorer.score()
        var buffer: [UInt8] = []
        let context = PredictionContext(requestID: "r1", source: KafkaTopicPartition(topic: "requests", partition: 2), offset: KafkaOffset(7), eventTimeMilliseconds: nil, processingTimeMilliseconds: 1)
        scorer.encodePrediction(try scorer.outcome(ofRow: 0).get(), context: context, into: &buffer)
        let json = String(decoding: buffer, as: UTF8.self)
        #expect(json.contains(#""name":"echo""#) && json.contains(#""version":"3""#) && json.contains(#""id":"r1""#))
        #expect(json.contains(#""label":"no""#))
    }

    @Test func loadedModelPredictIsTheScorersPath() throws {
        // The same rows through predict(_:) and through a scorer give the same outcomes.
        let rows: [[RawFeatureValue]] = [[.number(0.3)], [.string("x")], [.number(3)], [.number(0.8)]]
        let viaPredict = model.predict(rows)
        var scorer = model.makeScorer(maxRows: rows.count)
        var refused = 0
        for row in rows where scorer.append(row: row) != nil { refused += 1 }
        scorer.score()
        #expect(refused == 1)
        #expect(try viaPredict[0].get().score == scorer.outcome(ofRow: 0).get().score)
        #expect(try viaPredict[3].get().score == scorer.outcome(ofRow: 2).get().score)
    }
}
