import InferenceCore

/// Throughput of a ``ModelKernel`` measured in process, for the CLI's benchmark command and for
/// comparing kernels and batch sizes.
///
/// Measures only the kernel: inputs are prepared up front, the output buffer is allocated once,
/// and the clock is read once per chunk of batches (not per batch) so that batch size 1 is not
/// dominated by clock reads.
enum KernelBenchmark {
    /// Rows per second that `kernel` evaluates when fed batches of `batchSize` rows.
    ///
    /// Batches are taken in turn from `inputs` (row-major, `kernel.inputWidth` values per row),
    /// wrapping around at the end, so every row is used and batches may span the wrap. One batch is
    /// run untimed first (warm-up); timing then runs whole chunks of batches until at least
    /// `minDuration` has passed.
    ///
    /// - Parameters:
    ///   - kernel: the kernel to measure.
    ///   - inputs: at least one row; a trailing partial row is ignored.
    ///   - batchSize: rows per `predict` call, at least 1.
    ///   - minDuration: the least time to measure; longer gives steadier figures.
    /// - Returns: rows per second, or 0 when there is nothing to measure (no whole input row,
    ///   `batchSize` < 1, or a kernel with input width 0).
    static func rowsPerSecond(
        kernel: any ModelKernel, inputs: [Float], batchSize: Int, minDuration: Duration
    ) -> Double {
        let width = kernel.inputWidth
        guard width > 0, batchSize >= 1, inputs.count >= width else { return 0 }
        let rowCount = inputs.count / width

        // rowCount rows followed by the first batchSize rows again (cyclically), so a batch that
        // starts at any row is contiguous.
        var tiled = [Float]()
        tiled.reserveCapacity((rowCount + batchSize) * width)
        tiled.append(contentsOf: inputs[0..<(rowCount * width)])
        for extra in 0..<batchSize {
            let source = (extra % rowCount) * width
            tiled.append(contentsOf: inputs[source..<(source + width)])
        }
        var output = [Float](repeating: 0, count: batchSize * kernel.outputWidth)

        let clock = ContinuousClock()
        var start = 0
        var rows = 0
        var elapsed = Duration.zero
        tiled.withUnsafeBufferPointer { tiledBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                func runBatch() {
                    let batch = UnsafeBufferPointer(rebasing: tiledBuffer[(start * width)..<((start + batchSize) * width)])
                    kernel.predict(input: batch, rowCount: batchSize, output: outputBuffer)
                    start = (start + batchSize) % rowCount
                }
                runBatch()  // warm-up: first-touch page faults, caches

                var batchesPerChunk = 1
                let began = clock.now
                while elapsed < minDuration || rows == 0 {
                    let chunkBegan = clock.now
                    for _ in 0..<batchesPerChunk {
                        runBatch()
                    }
                    let now = clock.now
                    rows += batchesPerChunk * batchSize
                    elapsed = began.duration(to: now)
                    // Grow chunks to at least 1 ms, so the two clock reads per chunk are negligible.
                    if chunkBegan.duration(to: now) < .milliseconds(1) {
                        batchesPerChunk *= 2
                    }
                }
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return seconds > 0 ? Double(rows) / seconds : 0
    }
}
