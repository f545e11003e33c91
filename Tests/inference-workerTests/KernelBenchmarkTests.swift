import InferenceCore
@testable import inference_worker
import Testing

/// ``KernelBenchmark`` counts rows a kernel really evaluated.
@Suite("KernelBenchmark")
struct KernelBenchmarkTests {
    /// Counts the rows it is asked to evaluate; copies the first input column to the output.
    final class CountingKernel: ModelKernel, @unchecked Sendable {
        // Unchecked: only one test uses an instance, from one task at a time.
        let inputWidth = 3
        let outputWidth = 2
        var rowsSeen = 0
        var maxBatch = 0

        func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
            rowsSeen += rowCount
            maxBatch = max(maxBatch, rowCount)
            for row in 0..<rowCount {
                output[row * outputWidth] = input[row * inputWidth]
            }
        }
    }

    @Test("measures for at least minDuration, in batches of batchSize that wrap around the inputs")
    func measures() {
        let kernel = CountingKernel()
        let inputs: [Float] = (0..<(5 * 3)).map(Float.init)  // 5 rows, fewer than a batch
        let rate = KernelBenchmark.rowsPerSecond(kernel: kernel, inputs: inputs, batchSize: 8, minDuration: .milliseconds(20))
        #expect(rate > 0)
        #expect(kernel.maxBatch == 8)
        #expect(kernel.rowsSeen % 8 == 0)
        // The rate counts only timed rows: at most all the rows seen, in at least 20 ms.
        #expect(rate <= Double(kernel.rowsSeen) / 0.020)
    }

    @Test("nothing to measure gives 0 rather than a crash")
    func degenerateArguments() {
        let kernel = CountingKernel()
        #expect(KernelBenchmark.rowsPerSecond(kernel: kernel, inputs: [], batchSize: 1, minDuration: .milliseconds(1)) == 0)
        #expect(KernelBenchmark.rowsPerSecond(kernel: kernel, inputs: [1, 2], batchSize: 1, minDuration: .milliseconds(1)) == 0)
        #expect(KernelBenchmark.rowsPerSecond(kernel: kernel, inputs: [1, 2, 3], batchSize: 0, minDuration: .milliseconds(1)) == 0)
        #expect(kernel.rowsSeen == 0)
    }
}
