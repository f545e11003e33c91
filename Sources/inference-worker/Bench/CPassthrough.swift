import Foundation

/// The C passthrough (`../shared/bench/passthrough.c`, built by scripts/bench.sh): librdkafka alone,
/// consuming the pre-filled topic and re-producing each record's bytes, offsets stored on delivery.
/// It runs as a child process on the same topic, broker and machine as the worker's drains, so that
/// every row of a bench run can be compared with the ceiling of that run.
enum CPassthrough {
    /// Runs `binary BOOTSTRAP SOURCE DEST N` with `GROUP=group` and reads the rate it prints.
    /// - Returns: the drain, timed by the child itself (first record to the last copy flushed);
    ///   CPU is the child's own user + system time (`RUSAGE_CHILDREN`), startup and group join included.
    /// - Throws: `BenchError` when the binary fails or prints no rate within `timeout`.
    static func drain(binary: String, bootstrap: [String], input: String, output: String, group: String,
                      expected: Int, timeout: Duration) async throws -> DrainResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [bootstrap.joined(separator: ","), input, output, String(expected)]
        var environment = ProcessInfo.processInfo.environment
        environment["GROUP"] = group
        environment.removeValue(forKey: "LD_PRELOAD")  // the allocation counter is for the worker only
        process.environment = environment
        let stdout = Pipe()
        process.standardOutput = stdout
        let childrenBefore = childCPUSeconds()
        let machineStart = MachineUsage.now
        try process.run()
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw BenchError("the C passthrough did not finish \(expected) records within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let machineEnd = MachineUsage.now
        let text = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // "passthrough processed N in 1.23s = 456789 ev/s"
        guard process.terminationStatus == 0, let seconds = parseSeconds(text) else {
            throw BenchError("the C passthrough failed (status \(process.terminationStatus)): \(text)")
        }
        return DrainResult(label: "C passthrough (librdkafka alone)", records: expected, elapsed: .seconds(seconds),
                           cpuSeconds: childCPUSeconds() - childrenBefore, meanBatchSize: nil, peakResidentMiB: .nan,
                           machineStart: machineStart, machineEnd: machineEnd)
    }

    /// The seconds in "processed N in 1.23s = ...".
    static func parseSeconds(_ text: String) -> Double? {
        guard let inRange = text.range(of: " in "), let sRange = text.range(of: "s =", range: inRange.upperBound..<text.endIndex) else { return nil }
        return Double(text[inRange.upperBound..<sRange.lowerBound])
    }

    private static func childCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
