import Foundation
import InferenceCore
import Kafka

extension ScoringLoop {
    /// What happens to one scored row, on every serving path (plain batches and both versions of a
    /// roll-out): a prediction is recorded for drift (the serving version's) and live quality, encoded
    /// with the scorer's model name and version, and published; a failure is dead-lettered with the
    /// scorer's model.
    ///
    /// - Parameters:
    ///   - outcome: the row's outcome from `scorer`.
    ///   - pending: the row's input record and request id.
    ///   - scorer: the version that scored it (moved in, not copied: the hot path owns it).
    ///   - processingTime: the batch's processing time, ms since the epoch.
    ///   - drift: the drift monitor of the serving (primary) version.
    ///   - observesDrift: false for a roll-out's candidate, whose outputs the primary's monitor must not count.
    ///   - quality: the live-quality path, when labels are on.
    ///   - publisher: where the prediction or the dead letter goes.
    ///   - encodeBuffer: the reusable buffer the prediction is encoded into.
    @inline(__always)
    static func publishOutcome(
        _ outcome: Result<PredictionOutput, ScoringFailure>, of pending: PendingRow, scoredBy scorer: inout BatchScorer,
        processingTime: Int64, drift: inout DriftMonitor?, observesDrift: Bool, quality: inout QualityPath?,
        publisher: OutputPublisher, encodeBuffer: inout [UInt8]
    ) {
        let message = pending.input.message
        switch outcome {
        case .success(let output):
            if observesDrift { drift?.observe(output: output) }
            quality?.recordPrediction(output, requestID: pending.requestID, message: message, version: scorer.version, processingTimeMs: processingTime)
            let context = PredictionContext(
                requestID: pending.requestID,
                source: message.topicPartition,
                offset: message.offset,
                eventTimeMilliseconds: message.timestamp?.milliseconds,
                processingTimeMilliseconds: processingTime
            )
            scorer.encodePrediction(output, context: context, into: &encodeBuffer)
            publisher.publishPrediction(&encodeBuffer, for: pending.input)
        case .failure(let failure):
            publisher.deadLetter(pending.input, reason: failure.reason, message: failure.message, model: (scorer.name, scorer.version))
        }
    }
}
