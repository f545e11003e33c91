import InferenceCore
import Kafka
import Testing

@testable import InferenceWorker

@Suite struct PipelineLifecycleTests {
    @Test func aGracefulStopDrainsOnceAndStillCommits() {
        var lifecycle = PipelineLifecycle()
        #expect(!lifecycle.isShuttingDown && lifecycle.commits)
        #expect(lifecycle.shutdownRequested() == .beginStopping)
        #expect(lifecycle.phase == .draining)
        #expect(lifecycle.shutdownRequested() == .none, "a second request changes nothing")
        #expect(lifecycle.isShuttingDown && lifecycle.commits, "draining commits what finished")
        lifecycle.stopped()
        #expect(lifecycle.phase == .stopped)
        #expect(lifecycle.abandonRequested() == .none)
    }

    @Test func abandoningCommitsNothingMoreEvenDuringADrain() {
        var running = PipelineLifecycle()
        #expect(running.abandonRequested() == .abandonAndStop)
        #expect(!running.commits && running.isShuttingDown)
        #expect(running.shutdownRequested() == .none)

        var draining = PipelineLifecycle()
        _ = draining.shutdownRequested()
        #expect(draining.abandonRequested() == .abandonAndStop)
        #expect(draining.phase == .abandoned && !draining.commits)
    }
}

@Suite struct OutputFailureClassificationTests {
    /// The error as the Kafka layer reports that code (its flags derived from the code).
    private func classify(_ code: Int32, fatal: Bool = false) -> OutputFailure {
        OutputPublisher.classify(KafkaError(librdkafkaCode: code, message: "test"), producerIsFatal: fatal)
    }

    @Test func recordFaultsTopicFaultsOutagesAndFatalProducersAreToldApart() {
        #expect(classify(10) == .recordRejected) // MSG_SIZE_TOO_LARGE
        #expect(classify(87) == .recordRejected) // INVALID_RECORD
        #expect(classify(3) == .topicUnavailable) // UNKNOWN_TOPIC_OR_PART
        #expect(classify(-188) == .topicUnavailable) // _UNKNOWN_TOPIC
        #expect(classify(29) == .topicUnavailable) // TOPIC_AUTHORIZATION_FAILED
        #expect(classify(-192) == .transient) // _MSG_TIMED_OUT: possibly persisted, retried
        #expect(classify(-195) == .transient) // _TRANSPORT
        #expect(classify(90) == .producerFatal, "PRODUCER_FENCED: librdkafka keeps bumping the epoch, only a new producer gets through")
        #expect(classify(47) == .transient, "INVALID_PRODUCER_EPOCH: librdkafka bumps the epoch and the record is sent again")
        #expect(classify(47, fatal: true) == .producerFatal)
        #expect(classify(-151, fatal: true) == .producerFatal, "purged by a fatal error")
        #expect(classify(-151) == .stopping, "purged by our own close")
        #expect(OutputPublisher.classify(KafkaError(code: .closed, message: "closed"), producerIsFatal: false) == .stopping)
        #expect(OutputPublisher.classify(KafkaError(code: .librdkafka(-150), message: "fatal", isFatal: true), producerIsFatal: false) == .producerFatal)
    }
}
