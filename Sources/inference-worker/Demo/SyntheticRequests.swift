import Foundation
public import InferenceCore
public import Kafka
public import Logging
import Synchronization

/// Produces synthetic requests for a model at a fixed rate on a thread of its own: features drawn
/// from the model's training baseline (inverse CDF over its histogram), a share of malformed
/// requests of every kind, and, after half the duration, a shift of the first few features.
public final class SyntheticRequests: Sendable {
    private let producer: KafkaProducer
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let sentCount = Atomic<Int>(0)
    private let malformedCount = Atomic<Int>(0)
    private let shifted = Atomic<Bool>(false)

    public init(broker: EmbeddedKafkaBroker, topic: String, model: LoadedModel, rate: Int, malformedShare: Double, duration: Double, logger: Logger) throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers])
        configuration.clientID = "demo-producer"
        configuration.linger = .milliseconds(1)
        producer = try KafkaProducer(configuration: configuration, logger: logger)
        let generator = RequestGenerator(model: model)
        let thread = Thread { [self] in
            produce(generator: generator, topic: topic, rate: rate, malformedShare: malformedShare, duration: duration)
        }
        thread.name = "demo-producer"
        thread.start()
    }

    public var sent: Int { sentCount.load(ordering: .relaxed) }
    public var malformedSent: Int { malformedCount.load(ordering: .relaxed) }
    public var isFinished: Bool { finished.load(ordering: .relaxed) }
    public var isShifted: Bool { shifted.load(ordering: .relaxed) }
    public func stop() { stopped.store(true, ordering: .relaxed) }

    /// Stops producing and closes the producer (after its last records are acknowledged).
    public func close() async {
        stop()
        await producer.close(flushTimeout: .seconds(10))
    }

    private func produce(generator: RequestGenerator, topic: String, rate: Int, malformedShare: Double, duration: Double) {
        var random = SystemRandomNumberGenerator()
        let start = Date()
        var produced = 0
        while !stopped.load(ordering: .relaxed) {
            let elapsed = Date().timeIntervalSince(start)
            if elapsed >= duration { break }
            let shift = elapsed >= duration / 2
            shifted.store(shift, ordering: .relaxed)
            let due = Int(elapsed * Double(rate)) + 1
            while produced < due {
                let malformed = Double.random(in: 0..<1, using: &random) < malformedShare
                let value = malformed ? generator.malformed(index: produced) : generator.request(id: produced, shifted: shift, using: &random)
                let key = Array("customer-\(produced % 997)".utf8)
                do {
                    try producer.send(KafkaProducerMessage(topic: topic, key: key, value: value), blockIfQueueFull: true)
                    produced += 1
                    sentCount.store(produced, ordering: .relaxed)
                    if malformed { malformedCount.wrappingAdd(1, ordering: .relaxed) }
                } catch {
                    break
                }
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        try? producer.flush(timeout: .seconds(10))
        finished.store(true, ordering: .relaxed)
    }
}

/// Builds request JSON for a model from its schema and baseline.
public struct RequestGenerator: Sendable {
    struct Feature: Sendable {
        var name: String
        var edges: [Double]
        var cumulative: [Double]
        var lower: Double
        var upper: Double
        var vocabulary: [String]
    }
    let features: [Feature]

    public init(model: LoadedModel) {
        features = model.schema.features.map { spec in
            let baseline = model.baseline?.features[spec.name]
            let edges = baseline?.binEdges ?? [spec.minimum ?? 0, spec.maximum ?? 1]
            let proportions = baseline?.proportions ?? [1]
            var running = 0.0
            let cumulative = proportions.map { running += $0; return running / max(proportions.reduce(0, +), 1e-12) }
            return Feature(name: spec.name, edges: edges, cumulative: cumulative,
                           lower: spec.minimum ?? -Double.greatestFiniteMagnitude, upper: spec.maximum ?? Double.greatestFiniteMagnitude,
                           vocabulary: spec.vocabulary)
        }
    }

    /// A valid request; `shifted` moves the first four numeric features up by 150%.
    public func request(id: Int, shifted: Bool, using random: inout some RandomNumberGenerator) -> [UInt8] {
        var json = "{\"id\":\"req-\(id)\",\"features\":["
        for (index, feature) in features.enumerated() {
            if index > 0 { json += "," }
            if !feature.vocabulary.isEmpty {
                json += "\"\(feature.vocabulary[Int.random(in: 0..<feature.vocabulary.count, using: &random)])\""
                continue
            }
            let u = Double.random(in: 0..<1, using: &random)
            let bin = feature.cumulative.firstIndex { u < $0 } ?? (feature.cumulative.count - 1)
            var value = Double.random(in: feature.edges[bin]...feature.edges[min(bin + 1, feature.edges.count - 1)], using: &random)
            if shifted && index < 4 { value *= 2.5 }
            value = min(max(value, feature.lower), feature.upper)
            json += String(Float(value))
        }
        json += "]}"
        return Array(json.utf8)
    }

    /// One malformed request of each kind in turn: what backend teams get wrong.
    public func malformed(index: Int) -> [UInt8] {
        let first = features.first?.name ?? "x"
        let kinds: [String] = [
            "{\"id\":\"bad-\(index)\",\"features\":[1,2,",                                 // truncated JSON
            "{\"id\":\"bad-\(index)\",\"features\":[1,2,3]}",                              // wrong arity
            "{\"id\":\"bad-\(index)\",\"features\":{\"\(first)\":-1e12}}",                  // out of range
            "{\"id\":\"bad-\(index)\",\"features\":{\"no_such_feature\":1}}",               // unknown feature
            "{\"id\":\"bad-\(index)\",\"features\":{\"\(first)\":\"lots\"}}",               // wrong type
            "not json at all",
        ]
        return Array(kinds[index % kinds.count].utf8)
    }
}
