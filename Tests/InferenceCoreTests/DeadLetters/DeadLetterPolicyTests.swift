import InferenceCore
import Testing

@Suite struct DeadLetterPolicyTests {
    struct BrokerUnavailable: ClassifiedFailure { var isRetriable: Bool { true } }
    struct ModelTimeout: ClassifiedFailure {
        var isRetriable: Bool { true }
        var deadLetterReason: DeadLetterReason? { .modelFailure }
    }
    struct UnknownCategory: ClassifiedFailure { var deadLetterReason: DeadLetterReason? { .unknownCategory } }
    struct Corrupted: ClassifiedFailure {
        var isFatal: Bool { true }
        var isRetriable: Bool { true }
    }
    struct Opaque: Error {}

    let policy = DeadLetterPolicy(configuration: .init(maxAttempts: 4, initialDelay: .milliseconds(100), multiplier: 2, maxDelay: .milliseconds(500), jitter: 0.5))

    @Test func transientFailuresRetryWithinTheJitterBand() {
        var random = SplitMix64(seed: 7)
        for attempt in 1...3 {
            guard case .retry(let delay) = policy.disposition(for: BrokerUnavailable(), attempt: attempt, using: &random) else {
                Issue.record("attempt \(attempt) should retry")
                continue
            }
            let base = [0.1, 0.2, 0.4][attempt - 1]
            #expect(delay >= .milliseconds(Int64(base * 500)) && delay <= .milliseconds(Int64(base * 1000)))
        }
    }

    @Test func backoffIsExponentialAndCapped() {
        #expect(policy.cappedDelaySeconds(attempt: 1) == 0.1)
        #expect(policy.cappedDelaySeconds(attempt: 2) == 0.2)
        #expect(policy.cappedDelaySeconds(attempt: 3) == 0.4)
        #expect(policy.cappedDelaySeconds(attempt: 4) == 0.5)
        #expect(policy.cappedDelaySeconds(attempt: 60) == 0.5)
        var random = SplitMix64(seed: 1)
        for _ in 0..<1000 {
            let delay = policy.backoff(attempt: 10, using: &random)
            #expect(delay >= .milliseconds(250) && delay <= .milliseconds(500))
        }
    }

    @Test func jitterIsDeterministicForASeed() {
        var a = SplitMix64(seed: 99), b = SplitMix64(seed: 99)
        let first = (1...5).map { policy.backoff(attempt: $0, using: &a) }
        let second = (1...5).map { policy.backoff(attempt: $0, using: &b) }
        #expect(first == second)
        // And it is random: not all draws sit at the same fraction of the band.
        var c = SplitMix64(seed: 100)
        #expect(Set((0..<20).map { _ in policy.backoff(attempt: 1, using: &c) }).count > 1)
    }

    @Test func noJitterGivesTheExactDelay() {
        var random = SplitMix64(seed: 3)
        let exact = DeadLetterPolicy(configuration: .init(initialDelay: .milliseconds(100), jitter: 0))
        #expect(exact.backoff(attempt: 3, using: &random) == .milliseconds(400))
    }

    @Test func exhaustedRetriesDeadLetterWhenTheRecordHasAReasonElseStop() {
        var random = SplitMix64(seed: 1)
        #expect(policy.disposition(for: ModelTimeout(), attempt: 4, using: &random) == .deadLetter(.modelFailure))
        #expect(policy.disposition(for: BrokerUnavailable(), attempt: 4, using: &random) == .stop)
    }

    @Test func classification() {
        var random = SplitMix64(seed: 1)
        #expect(policy.disposition(for: UnknownCategory(), attempt: 1, using: &random) == .deadLetter(.unknownCategory))
        #expect(policy.disposition(for: Corrupted(), attempt: 1, using: &random) == .stop)
        #expect(policy.disposition(for: Opaque(), attempt: 1, using: &random) == .stop)
        let lenient = DeadLetterPolicy(configuration: .init(unclassified: .deadLetter(.modelFailure)))
        #expect(lenient.disposition(for: Opaque(), attempt: 1, using: &random) == .deadLetter(.modelFailure))
        let shape = RequestDecodingError(code: .unknownFeature, byteOffset: 3, message: "x")
        #expect(policy.disposition(for: shape, attempt: 1, using: &random) == .deadLetter(.requestSchemaViolation))
        let syntax = RequestDecodingError(code: .malformedJSON, byteOffset: 3, message: "x")
        #expect(policy.disposition(for: syntax, attempt: 1, using: &random) == .deadLetter(.malformedJSON))
        let oversized = RequestDecodingError(code: .oversizedPayload, byteOffset: 3, message: "x")
        #expect(policy.disposition(for: oversized, attempt: 1, using: &random) == .deadLetter(.oversizedPayload))
        let tracking = OffsetTrackingError(code: .notIncreasing, partition: .init(topic: "t", partition: 0), offset: .init(1), message: "x")
        #expect(policy.disposition(for: tracking, attempt: 1, using: &random) == .stop)
    }

    @Test func reasonsHaveStableCodesAndConnectStages() {
        #expect(DeadLetterReason.allPredefined.map(\.code) == [
            "malformed_json", "oversized_payload", "schema_violation", "schema_violation", "out_of_range_value", "non_finite", "unknown_category",
            "model_failure", "output_validation_failure",
        ])
        let connectStages: Set<String> = ["KEY_CONVERTER", "VALUE_CONVERTER", "HEADER_CONVERTER", "TRANSFORMATION", "TASK_PUT", "TASK_POLL", "KAFKA_PRODUCE", "KAFKA_CONSUME"]
        #expect(DeadLetterReason.allPredefined.allSatisfy { connectStages.contains($0.stage) })
        #expect(Set(DeadLetterReason.allPredefined).count == 9)
        #expect(Set(DeadLetterReason.allPredefined.map(\.code)).count == 8)
    }

    @Test func rejectsInvalidConfiguration() {
        #expect(throws: ConfigurationValidationError.self) { try DeadLetterPolicy.Configuration(maxAttempts: 0).validate() }
        #expect(throws: ConfigurationValidationError.self) { try DeadLetterPolicy.Configuration(jitter: 1.5).validate() }
        #expect(throws: ConfigurationValidationError.self) { try DeadLetterPolicy.Configuration(initialDelay: .seconds(20), maxDelay: .seconds(10)).validate() }
        #expect(throws: Never.self) { try DeadLetterPolicy.Configuration().validate() }
    }
}

@Suite struct DeadLetterPolicyOutputTests {
    let policy = DeadLetterPolicy(configuration: .init(maxAttempts: 2, initialDelay: .milliseconds(100), multiplier: 2, maxDelay: .seconds(1), jitter: 0))

    /// The disposition of an output as first sent (a prediction, or a dead letter in its original
    /// form); a refusal is taken to be for size.
    func disposition(_ failure: OutputFailure, isDeadLetter: Bool, attempt: Int, using random: inout SplitMix64) -> OutputDisposition {
        policy.disposition(for: failure, deadLetter: isDeadLetter ? DeadLetterForm() : nil, refusal: .tooLarge, attempt: attempt, using: &random)
    }

    @Test func anOutageIsRetriedForAsLongAsItLastsAndNeverDeadLettered() {
        var random = SplitMix64(seed: 3)
        for attempt in [1, 2, 10, 1000] {
            for isDeadLetter in [false, true] {
                guard case .retry(let delay, let blocked) = disposition(.transient, isDeadLetter: isDeadLetter, attempt: attempt, using: &random) else {
                    Issue.record("attempt \(attempt) of a transient failure must retry"); continue
                }
                #expect(!blocked)
                #expect(delay <= .seconds(1), "capped back-off")
            }
        }
    }

    @Test func anUnwritableTopicHoldsBackAndIsReportedBlocked() {
        var random = SplitMix64(seed: 3)
        #expect(disposition(.topicUnavailable, isDeadLetter: true, attempt: 7, using: &random) == .retry(after: .seconds(1), blocked: true))
        #expect(disposition(.topicUnavailable, isDeadLetter: false, attempt: 1, using: &random) == .retry(after: .milliseconds(100), blocked: true))
    }

    @Test func aRefusedRecordIsDeadLetteredOrTruncatedAndAFatalProducerRecreated() {
        var random = SplitMix64(seed: 3)
        #expect(disposition(.recordRejected, isDeadLetter: false, attempt: 1, using: &random) == .deadLetterInput)
        #expect(disposition(.recordRejected, isDeadLetter: true, attempt: 1, using: &random) == .truncate)
        #expect(disposition(.producerFatal, isDeadLetter: false, attempt: 1, using: &random) == .recreateProducer)
        #expect(disposition(.stopping, isDeadLetter: true, attempt: 3, using: &random) == .abandon)
    }

    @Test func aRefusedDeadLetterIsRewrittenForWhatWasRefusedEachStepOnceThenGivenUp() {
        var random = SplitMix64(seed: 3)
        func next(_ form: DeadLetterForm?, _ refusal: RecordRefusal) -> OutputDisposition {
            policy.disposition(for: .recordRejected, deadLetter: form, refusal: refusal, attempt: 1, using: &random)
        }
        let original = DeadLetterForm()
        let minimal = DeadLetterForm(truncationBudget: 0, isMinimal: true)
        // A prediction refused for any reason dead-letters its input.
        for refusal in [RecordRefusal.tooLarge, .invalidTimestamp, .invalid] { #expect(next(nil, refusal) == .deadLetterInput) }
        // Timestamp: the current time once, then the minimal form, then nothing.
        #expect(next(original, .invalidTimestamp) == .replaceTimestamp)
        #expect(next(DeadLetterForm(timestampReplaced: true), .invalidTimestamp) == .writeMinimal)
        #expect(next(DeadLetterForm(timestampReplaced: true, truncationBudget: 0, isMinimal: true), .invalidTimestamp) == .dropDeadLetter)
        #expect(next(minimal, .invalidTimestamp) == .replaceTimestamp, "a minimal form keeps the input's timestamp until that is refused")
        // Invalid or corrupt: truncation cannot fix it, so the minimal form at once, then nothing.
        #expect(next(original, .invalid) == .writeMinimal)
        #expect(next(DeadLetterForm(truncationBudget: 4096), .invalid) == .writeMinimal)
        #expect(next(minimal, .invalid) == .dropDeadLetter)
        // Too large: cut while a cut leaves something of the record, then the minimal form, then nothing.
        #expect(next(original, .tooLarge) == .truncate)
        #expect(next(DeadLetterForm(truncationBudget: 1_000_000), .tooLarge) == .truncate)
        #expect(next(DeadLetterForm(truncationBudget: 4 * DeadLetterTruncation.reservedBytes), .tooLarge) == .writeMinimal)
        #expect(next(minimal, .tooLarge) == .dropDeadLetter)
        // Whatever the refusals, a dead letter reaches a decision to give up within a few steps.
        for refusal in [RecordRefusal.tooLarge, .invalidTimestamp, .invalid] {
            var form = original
            var steps = 0
            while steps < 40 {
                steps += 1
                switch next(form, refusal) {
                case .replaceTimestamp: form.timestampReplaced = true
                case .truncate: form.truncationBudget = (form.truncationBudget.map { $0 / 4 } ?? 1_000_000)
                case .writeMinimal: form.isMinimal = true; form.truncationBudget = 0
                case .dropDeadLetter: steps += 100
                default: Issue.record("unexpected disposition for \(refusal)")
                }
            }
            #expect(steps > 100, "\(refusal): given up within 40 steps")
        }
    }
}
