import Foundation
import Kafka
import Logging
import Synchronization

/// The demo's ground truth: for each prediction read back from the output topic, a label event
/// (`{"id", "label"}`, keyed like the request) sent to the labels topic `delay` seconds later.
///
/// The truth is simulated from the served class: it agrees with it except for a share of flips,
/// `flipShare` before the input shift and `shiftedFlipShare` after it, so the live quality shown
/// (accuracy, AUC) falls once the inputs drift, as a model's would on data it was not trained for.
final class DelayedLabels: Sendable {
    private struct Pending { var due: ContinuousClock.Instant; var key: [UInt8]?; var value: [UInt8] }
    private struct State {
        var queue: [Pending] = []
        var stopped = false
    }

    private let producer: KafkaProducer
    private let topic: String
    private let classes: [String]
    private let delay: Duration
    private let flipShare: Double
    private let shiftedFlipShare: Double
    private let state = Mutex(State())
    private let sentCount = Atomic<Int>(0)
    private let done = Atomic<Bool>(false)

    init(broker: EmbeddedKafkaBroker, topic: String, classes: [String], delay: Duration, flipShare: Double = 0.08,
         shiftedFlipShare: Double = 0.4, logger: Logger) throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers])
        configuration.clientID = "demo-labels"
        configuration.linger = .milliseconds(5)
        producer = try KafkaProducer(configuration: configuration, logger: logger)
        self.topic = topic
        self.classes = classes
        self.delay = delay
        self.flipShare = flipShare
        self.shiftedFlipShare = shiftedFlipShare
        let thread = Thread { [self] in run() }
        thread.name = "demo-labels"
        thread.start()
    }

    /// Labels sent so far.
    var sent: Int { sentCount.load(ordering: .relaxed) }
    /// Labels scheduled and not yet sent.
    var pending: Int { state.withLock { $0.queue.count } }

    /// Schedules the label of one prediction record (its key is the request's).
    func observe(key: [UInt8]?, prediction: [UInt8], shifted: Bool) {
        guard classes.count >= 2,
              let json = try? JSONSerialization.jsonObject(with: Data(prediction)) as? [String: Any],
              let id = json["id"] as? String,
              let served = (json["outputs"] as? [String: Any])?["label"] as? String,
              let servedIndex = classes.firstIndex(of: served) else { return }
        var truth = served
        if Double.random(in: 0..<1) < (shifted ? shiftedFlipShare : flipShare) {
            truth = classes[(servedIndex + Int.random(in: 1..<classes.count)) % classes.count]
        }
        let value = try? JSONSerialization.data(withJSONObject: ["id": id, "label": truth])
        guard let value else { return }
        let due = ContinuousClock.now.advanced(by: delay)
        state.withLock { $0.queue.append(Pending(due: due, key: key, value: Array(value))) }
    }

    private func run() {
        while true {
            let now = ContinuousClock.now
            let (due, stopped) = state.withLock { state -> ([Pending], Bool) in
                let split = state.queue.firstIndex { $0.due > now } ?? state.queue.count
                defer { state.queue.removeFirst(split) }
                return (Array(state.queue.prefix(split)), state.stopped)
            }
            for label in due {
                do {
                    try producer.send(KafkaProducerMessage(topic: topic, key: label.key, value: label.value), blockIfQueueFull: true)
                    sentCount.wrappingAdd(1, ordering: .relaxed)
                } catch {
                    break
                }
            }
            if stopped { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        done.store(true, ordering: .releasing)
    }

    /// Stops scheduling (labels not yet due are dropped) and closes the producer.
    func close() async {
        state.withLock {
            $0.stopped = true
            $0.queue.removeAll()
        }
        while !done.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(20)) }
        await producer.close(flushTimeout: .seconds(5))
    }
}
