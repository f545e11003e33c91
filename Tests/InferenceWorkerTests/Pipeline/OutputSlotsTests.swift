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
