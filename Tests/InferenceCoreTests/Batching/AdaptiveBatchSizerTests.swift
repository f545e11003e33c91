import InferenceCore
import Testing

@Suite struct AdaptiveBatchSizerTests {
    /// A synthetic model whose batch cost is `a*n + b` milliseconds.
    struct LinearCost {
        var perRecordMilliseconds: Double
        var fixedMilliseconds: Double
        func latency(_ n: Int) -> Duration { .microseconds(Int64(((perRecordMilliseconds * Double(n) + fixedMilliseconds) * 1000).rounded())) }
        func optimum(objectiveMilliseconds: Double, queueingMilliseconds: Double = 0, maxBatchSize: Int) -> Int {
            min(maxBatchSize, max(1, Int(((objectiveMilliseconds - queueingMilliseconds - fixedMilliseconds) / perRecordMilliseconds).rounded(.down))))
        }
    }

    /// Runs `batches` saturated batches (every batch closes full at the current target).
    func run(_ sizer: inout AdaptiveBatchSizer, cost: LinearCost, batches: Int, queueing: Duration = .zero) -> [Int] {
        var sizes: [Int] = []
        for _ in 0..<batches {
            let n = sizer.batchSize
            sizes.append(n)
            sizer.record(batchSize: n, queueingDelay: queueing, modelLatency: cost.latency(n))
        }
        return sizes
    }

    @Test func growsWhenBatchesAreCheap() {
        var sizer = AdaptiveBatchSizer(configuration: .init(latencyObjective: .milliseconds(50)), maxBatchSize: 64)
        #expect(sizer.batchSize == 1)
        let sizes = run(&sizer, cost: LinearCost(perRecordMilliseconds: 0.01, fixedMilliseconds: 1), batches: 100)
        // Additive increase: one more per batch, never decreasing while the objective holds.
        #expect(sizes.prefix(10) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(sizer.batchSize == 64)
        #expect(sizer.misses == 0)
    }

    @Test func convergesToTheOptimumOfALinearCostModel() throws {
        let cost = LinearCost(perRecordMilliseconds: 0.7, fixedMilliseconds: 2)
        let objective = 20.0
        let expected = cost.optimum(objectiveMilliseconds: objective, maxBatchSize: 64)
        #expect(expected == 25)
        var sizer = AdaptiveBatchSizer(configuration: .init(latencyObjective: .milliseconds(20)), maxBatchSize: 64)
        let sizes = run(&sizer, cost: cost, batches: 200)
        #expect(sizer.batchSize == expected)
        // Converged and stable: the last 100 batches all ran at the optimum, and none missed.
        #expect(sizes.suffix(100).allSatisfy { $0 == expected })
        #expect(sizer.misses == 0)
        let model = try #require(sizer.costModel)
        #expect(abs(model.perRecordSeconds - 0.0007) < 1e-6)
        #expect(abs(model.fixedSeconds - 0.002) < 1e-5)
    }

    @Test func queueingDelayLeavesLessBudgetForTheModel() {
        let cost = LinearCost(perRecordMilliseconds: 0.5, fixedMilliseconds: 1)
        var sizer = AdaptiveBatchSizer(configuration: .init(latencyObjective: .milliseconds(20)), maxBatchSize: 128)
        _ = run(&sizer, cost: cost, batches: 200, queueing: .milliseconds(5))
        #expect(sizer.batchSize == cost.optimum(objectiveMilliseconds: 20, queueingMilliseconds: 5, maxBatchSize: 128))
        #expect(sizer.batchSize == 28)
    }

    @Test func shrinksAfterMissesAndSettlesOnTheNewOptimum() {
        var sizer = AdaptiveBatchSizer(configuration: .init(latencyObjective: .milliseconds(20)), maxBatchSize: 64)
        _ = run(&sizer, cost: LinearCost(perRecordMilliseconds: 0.1, fixedMilliseconds: 1), batches: 100)
        #expect(sizer.batchSize == 64)
        // The model becomes 10x slower per record: 64 records now take 65 ms.
        let slow = LinearCost(perRecordMilliseconds: 1, fixedMilliseconds: 1)
        sizer.record(batchSize: 64, queueingDelay: .zero, modelLatency: slow.latency(64))
        #expect(sizer.batchSize == 57) // floor(64 * 0.9): Clipper's 10 % back-off
        #expect(sizer.misses == 1)
        let sizes = run(&sizer, cost: slow, batches: 300)
        #expect(sizes.contains { $0 < 57 })
        #expect(sizer.batchSize == slow.optimum(objectiveMilliseconds: 20, maxBatchSize: 64))
        #expect(sizer.batchSize == 19)
        #expect(sizes.suffix(50).allSatisfy { $0 == 19 })
    }

    @Test(arguments: [0.05, 0.1, 0.2])
    func keepsTheObjectiveUnderNoise(noise: Double) {
        // Batch cost 0.7 ms * n + 2 ms, each batch off by up to +-noise: sizing at the mean optimum
        // (25) would miss about half the time; the residual margin must keep misses rare.
        var random = SplitMix64(seed: 5)
        var sizer = AdaptiveBatchSizer(configuration: .init(latencyObjective: .milliseconds(20)), maxBatchSize: 64)
        var sizes: [Int] = []
        var misses = 0
        for i in 0..<1500 {
            let n = sizer.batchSize
            let milliseconds = (0.7 * Double(n) + 2) * Double.random(in: (1 - noise)...(1 + noise), using: &random)
            if i >= 1000 {
                sizes.append(n)
                if milliseconds > 20 { misses += 1 }
            }
            sizer.record(batchSize: n, queueingDelay: .zero, modelLatency: .microseconds(Int64(milliseconds * 1000)))
        }
        let worstCaseOptimum = Int(((20 / (1 + noise)) - 2) / 0.7)
        #expect(misses <= 10, "\(misses) misses in 500 batches")
        #expect(sizes.allSatisfy { $0 <= 25 })
        #expect(Double(sizes.reduce(0, +)) / Double(sizes.count) >= Double(worstCaseOptimum) - 1)
    }

    @Test func staysWithinBounds() {
        // A model that can never meet the objective: the size bottoms out at 1, never 0.
        var sizer = AdaptiveBatchSizer(configuration: .init(latencyObjective: .milliseconds(1), initialBatchSize: 10), maxBatchSize: 16)
        let sizes = run(&sizer, cost: LinearCost(perRecordMilliseconds: 1, fixedMilliseconds: 5), batches: 50)
        #expect(sizes.allSatisfy { (1...16).contains($0) })
        #expect(sizer.batchSize == 1)
        // An initial size above the maximum is clamped.
        let clamped = AdaptiveBatchSizer(configuration: .init(latencyObjective: .milliseconds(1), initialBatchSize: 100), maxBatchSize: 16)
        #expect(clamped.batchSize == 16)
    }
}
