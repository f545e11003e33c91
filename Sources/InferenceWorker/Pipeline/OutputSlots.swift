import InferenceCore
import Kafka
import Synchronization

/// An output (prediction or dead letter) sent to the producer and not yet acknowledged: what the
/// delivery report needs to acknowledge the input, and what a retry needs to send it again.
struct OutputSlot: Sendable {
    enum Kind: Sendable {
        case prediction
        case deadLetter(reason: DeadLetterReason)
    }

    var kind: Kind
    var input: InboundRecord
    var topic: String
    var value: [UInt8]?
    var headers: [KafkaHeader]
    var timestampMilliseconds: Int64?
    var attempt: Int = 0

    var partition: TopicPartition { TopicPartition(topic: input.message.topic, partition: input.message.partition.rawValue) }
    var offset: RecordOffset { RecordOffset(input.message.offset.rawValue) }
}

/// Outputs in flight by producer context.
final class OutputSlots: Sendable {
    private let slots = Mutex<[UInt64: OutputSlot]>([:])
    private let next = Atomic<UInt64>(1)

    /// Registers an output; returns its context for the producer.
    func insert(_ slot: OutputSlot) -> UInt64 {
        let id = next.wrappingAdd(1, ordering: .relaxed).oldValue
        slots.withLock { $0[id] = slot }
        return id
    }

    func get(_ id: UInt64) -> OutputSlot? { slots.withLock { $0[id] } }
    func remove(_ id: UInt64) -> OutputSlot? { slots.withLock { $0.removeValue(forKey: id) } }
    func update(_ id: UInt64, _ body: (inout OutputSlot) -> Void) { slots.withLock { if $0[id] != nil { body(&$0[id]!) } } }
}
