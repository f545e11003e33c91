import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging
import Synchronization

/// CPU time and memory of this process, for the bench's figures.
struct ProcessUsage {
    /// User plus system CPU seconds of every thread so far (`getrusage(RUSAGE_SELF)`).
    var cpuSeconds: Double
    /// Peak resident set so far, MiB (`ru_maxrss`; the high-water mark of the whole process).
    var peakResidentMiB: Double

    static var now: ProcessUsage {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return ProcessUsage(cpuSeconds: cpu, peakResidentMiB: Double(usage.ru_maxrss) / 1024)
    }

    /// Current resident set in MiB (`VmRSS` of /proc/self/status), nil off Linux.
    static var residentMiB: Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first
            return kb.map { $0 / 1024 }
        }
        return nil
    }
}

/// CPU time of the whole machine (`/proc/stat`) and of the broker process (`BENCH_BROKER_PID`, set by
/// scripts/bench.sh), so that a drain shows whether the two cores were saturated and what the broker
/// spent next to the worker.
struct MachineUsage {
    /// Jiffies (clock ticks) spent busy by all cores: user, nice, system, irq, softirq.
    var busy: Double
    /// Jiffies all cores spent idle or waiting for I/O.
    var idle: Double
    /// Jiffies the hypervisor took from this VM's cores.
    var steal: Double
    /// CPU seconds of the broker process so far (user + system), nil when its pid is not known.
    var brokerSeconds: Double?

    static var ticksPerSecond: Double { Double(sysconf(Int32(_SC_CLK_TCK))) }

    static var now: MachineUsage {
        var usage = MachineUsage(busy: 0, idle: 0, steal: 0, brokerSeconds: nil)
        if let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
           let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") {
            // cpu user nice system idle iowait irq softirq steal ...
            let f = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            if f.count >= 8 {
                usage.busy = f[0] + f[1] + f[2] + f[5] + f[6]
                usage.idle = f[3] + f[4]
                usage.steal = f[7]
            }
        }
        if let pid = ProcessInfo.processInfo.environment["BENCH_BROKER_PID"],
           let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after the command name: state is field 3, utime 14, stime 15.
            let f = stat[stat.index(after: close)...].split(separator: " ")
            if f.count > 13, let user = Double(f[11]), let system = Double(f[12]) {
                usage.brokerSeconds = (user + system) / ticksPerSecond
            }
        }
        return usage
    }

    /// Busy share of all cores between `start` and `self`, percent (steal counted as not busy).
    func busyPercent(since start: MachineUsage) -> Double {
        let busy = self.busy - start.busy, total = busy + (idle - start.idle) + (steal - start.steal)
        return total > 0 ? 100 * busy / total : .nan
    }

    /// Share of all cores the hypervisor stole between `start` and `self`, percent.
    func stealPercent(since start: MachineUsage) -> Double {
        let total = (busy - start.busy) + (idle - start.idle) + (steal - start.steal)
        return total > 0 ? 100 * (steal - start.steal) / total : .nan
    }
}

/// The allocation counter preloaded by scripts/bench.sh (scripts/bench/malloc-count.c), if any.
enum MallocCount {
    private typealias Report = @convention(c) (UnsafePointer<CChar>, UInt64) -> Void
    private static let report: Report? = {
        // The global scope (the executable and what was preloaded): RTLD_DEFAULT.
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_count_report") else { return nil }
        return unsafeBitCast(symbol, to: Report.self)
    }()

    static var isAvailable: Bool { report != nil }

    /// Prints per-thread allocations since the previous call to stderr, per record if `records` > 0.
    static func report(_ label: String, records: Int) {
        guard let report else { return }
        fflush(nil)
        label.withCString { report($0, UInt64(records)) }
    }
}

/// `uptime`'s load averages, for the record next to every figure.
func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))
        .map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "?"
}

func say(bench line: String) {
    print(line)
    fflush(nil)
}

/// A pool of valid 16-feature request bodies for a model (drawn from its baseline), reused in turn.
struct RequestPool: Sendable {
    let bodies: [[UInt8]]

    init(model: LoadedModel, size: Int = 4096) {
        let generator = RequestGenerator(model: model)
        var random = SystemRandomNumberGenerator()
        bodies = (0..<size).map { generator.request(id: $0, shifted: false, using: &random) }
    }

    var meanBytes: Double { Double(bodies.reduce(0) { $0 + $1.count }) / Double(bodies.count) }
}

/// Writes `count` requests round-robin over `partitions` partitions as fast as the producer takes
/// them, and waits until all are acknowledged.
func prefill(bootstrap: [String], topic: String, partitions: Int, count: Int, pool: RequestPool, logger: Logger) async throws -> Duration {
    var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
    configuration.clientID = "bench-prefill"
    configuration.linger = .milliseconds(20)
    configuration.maxQueuedMessages = 1_000_000
    configuration.additionalProperties["batch.num.messages"] = "10000"
    let failures = Atomic<Int>(0)
    let producer = try KafkaProducer(configuration: configuration, logger: logger) { report in
        if report.error != nil { failures.wrappingAdd(1, ordering: .relaxed) }
    }
    let started = ContinuousClock.now
    for i in 0..<count {
        let body = pool.bodies[i % pool.bodies.count]
        try body.withUnsafeBytes { value in
            try producer.send(topic: topic, partition: KafkaPartition(Int32(i % partitions)), key: nil, value: value, context: 1, blockIfQueueFull: true)
        }
    }
    try producer.flush(timeout: .seconds(300))
    let elapsed = started.duration(to: .now)
    await producer.close()
    if failures.load(ordering: .relaxed) > 0 { throw BenchError("prefill: \(failures.load(ordering: .relaxed)) records not delivered") }
    return elapsed
}

/// Offers requests at a fixed rate on a thread of its own (the latency runs' load), each record
/// stamped by librdkafka with its create time (the start of its end-to-end latency).
final class PacedProducer: Sendable {
    private let producer: KafkaProducer
    private let stopped = Atomic<Bool>(false)
    private let sentCount = Atomic<Int>(0)
    private let done = Atomic<Bool>(false)

    init(bootstrap: [String], topic: String, partitions: Int, rate: Double, duration: Duration, pool: RequestPool, logger: Logger) throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
        configuration.clientID = "bench-load"
        // The create time is stamped when send() is called: linger counts in end-to-end latency.
        configuration.linger = .milliseconds(1)
        producer = try KafkaProducer(configuration: configuration, logger: logger)
        let thread = Thread { [self] in
            let start = ContinuousClock.now
            var produced = 0
            while !stopped.load(ordering: .relaxed) {
                let elapsed = start.duration(to: .now)
                if elapsed >= duration { break }
                let due = Int(elapsed.doubleSeconds * rate) + 1
                while produced < due {
                    let body = pool.bodies[produced % pool.bodies.count]
                    do {
                        try body.withUnsafeBytes { value in
                            try producer.send(topic: topic, partition: KafkaPartition(Int32(produced % partitions)), key: nil, value: value, context: 1, blockIfQueueFull: true)
                        }
                    } catch {
                        break
                    }
                    produced += 1
                }
                sentCount.store(produced, ordering: .relaxed)
                Thread.sleep(forTimeInterval: 0.0005)
            }
            sentCount.store(produced, ordering: .relaxed)
            done.store(true, ordering: .relaxed)
        }
        thread.name = "bench-load"
        thread.start()
    }

    var sent: Int { sentCount.load(ordering: .relaxed) }
    var isFinished: Bool { done.load(ordering: .relaxed) }

    func close() async {
        stopped.store(true, ordering: .relaxed)
        await producer.close(flushTimeout: .seconds(10))
    }
}

/// A model whose kernel sleeps after each batch so that it scores at most `rowsPerSecond`: the
/// memory run's "input arrives much faster than it is scored".
struct ThrottledKernel: ModelKernel {
    let base: any ModelKernel
    let secondsPerRow: Double
    var inputWidth: Int { base.inputWidth }
    var outputWidth: Int { base.outputWidth }
    func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        base.predict(input: input, rowCount: rowCount, output: output)
        usleep(UInt32(min(1e6, secondsPerRow * Double(rowCount) * 1e6)))
    }
}

extension LoadedModel {
    /// The same model with a kernel throttled to `rowsPerSecond`.
    /// External runtimes (ONNX Runtime) are not throttled: the model is returned as is.
    func throttled(rowsPerSecond: Double) -> LoadedModel {
        guard let kernel else { return self }
        return LoadedModel(
            name: name, version: version, kind: kind, schema: schema,
            kernel: ThrottledKernel(base: kernel, secondsPerRow: 1 / rowsPerSecond), output: output,
            baseline: baseline, reference: reference, manifest: manifest, directory: directory
        )
    }
}

func fixed(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

/// A bench run that cannot go on, and why.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
