import Kafka
import Testing

@testable import InferenceWorker

@Suite struct OutputSlotsTests {
    @Test func insertedSlotsCanBeReadUpdatedAndRemovedOnce() {
        let slots = OutputSlots<String>()
        let a = slots.insert("a")
        let b = slots.insert("b")
        #expect(a != b)
        #expect(slots.count == 2)
        #expect(slots.get(a) == "a")
        slots.update(b) { $0 += "!" }
        #expect(slots.get(b) == "b!")
        #expect(slots.remove(a) == "a")
        #expect(slots.remove(a) == nil)
        #expect(slots.get(a) == nil)
        #expect(slots.count == 1)
        #expect(slots.remove(b) == "b!")
        #expect(slots.count == 0)
    }

    @Test func aStaleIdFindsNothingAfterItsPositionIsReused() {
        let slots = OutputSlots<Int>()
        let first = slots.insert(1)
        #expect(slots.remove(first) == 1)
        let second = slots.insert(2) // reuses the freed position
        #expect(second != first)
        #expect(slots.get(first) == nil)
        #expect(slots.remove(first) == nil)
        slots.update(first) { $0 = 99 }
        #expect(slots.get(second) == 2)
        #expect(slots.remove(second) == 2)
    }

    @Test func idsAreNeverZeroNorReservedAndNeverReusedWhileLive() {
        let slots = OutputSlots<Int>()
        var live: [UInt64: Int] = [:]
        var seen = Set<UInt64>()
        var generator = SystemRandomNumberGenerator()
        for value in 0..<20_000 {
            if !live.isEmpty, Int.random(in: 0..<3, using: &generator) == 0 {
                let id = live.keys.randomElement(using: &generator)!
                #expect(slots.remove(id) == live.removeValue(forKey: id))
            }
            let id = slots.insert(value)
            #expect(id != 0)
            #expect(id & KafkaProducer.reservedContextBit == 0)
            #expect(live[id] == nil)
            #expect(seen.insert(id).inserted, "an id is never handed out twice")
            live[id] = value
        }
        #expect(slots.count == live.count)
        for (id, value) in live { #expect(slots.get(id) == value) }
        for (id, value) in live { #expect(slots.remove(id) == value) }
        #expect(slots.count == 0)
    }

    @Test func unknownIdsFindNothing() {
        let slots = OutputSlots<Int>()
        _ = slots.insert(7)
        #expect(slots.get(0) == nil)
        #expect(slots.remove(0) == nil)
        #expect(slots.get(1 << 40 | 5) == nil)
        #expect(slots.remove(UInt64.max) == nil)
    }

    @Test func concurrentInsertsAndRemovesKeepEverySlot() async {
        let slots = OutputSlots<Int>()
        await withTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var sum = 0
                    for i in 0..<5_000 {
                        let value = worker * 100_000 + i
                        let id = slots.insert(value)
                        if slots.remove(id) == value { sum += 1 }
                    }
                    return sum
                }
            }
            var total = 0
            for await sum in group { total += sum }
            #expect(total == 20_000)
        }
        #expect(slots.count == 0)
    }
}

@Suite struct OutputSlotsRecyclingTests {
    struct Output: Sendable, Equatable {
        var name: String
        var value: [UInt8]?
    }

    static func recycle(_ slot: inout Output) -> [UInt8]? {
        defer { slot.value = nil }
        return slot.value
    }

    @Test func aRemovedSlotsBufferIsHandedToTheNextInsert() {
        let slots = OutputSlots<Output>()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(300)
        buffer.append(contentsOf: [1, 2, 3])
        let first = slots.insert(Output(name: "a", value: buffer), takingSpareInto: &buffer)
        #expect(buffer == [1, 2, 3], "no spare yet: the caller's buffer is left as it was")
        #expect(slots.remove(first, recycling: Self.recycle) == Output(name: "a", value: nil))
        #expect(slots.spareCount == 1)

        var next: [UInt8] = [9]
        let second = slots.insert(Output(name: "b", value: next), takingSpareInto: &next)
        #expect(slots.spareCount == 0)
        #expect(next == [1, 2, 3], "the spare still holds the old bytes; encoders clear it first")
        #expect(next.capacity >= 300, "capacity is kept")
        #expect(slots.get(second) == Output(name: "b", value: [9]), "the inserted slot keeps its own value")
    }

    @Test func plainRemovalAndDeclinedBuffersAreNotKept() {
        let slots = OutputSlots<Output>()
        let a = slots.insert(Output(name: "a", value: [1]))
        #expect(slots.remove(a)?.value == [1])
        let b = slots.insert(Output(name: "b", value: [2]))
        #expect(slots.remove(b, recycling: { _ in nil })?.value == [2])
        let c = slots.insert(Output(name: "c", value: [UInt8](repeating: 0, count: OutputSlots<Output>.maxSpareCapacity + 1)))
        _ = slots.remove(c, recycling: Self.recycle)
        #expect(slots.spareCount == 0)
    }

    @Test func theSparePoolIsBounded() {
        let slots = OutputSlots<Output>()
        let limit = OutputSlots<Output>.maxSpares
        let ids = (0..<(limit + 10)).map { slots.insert(Output(name: "\($0)", value: [UInt8($0 % 256)])) }
        for id in ids { _ = slots.remove(id, recycling: Self.recycle) }
        #expect(slots.spareCount == limit)
        #expect(slots.count == 0)
    }
}
