import CKafkaShim
import Foundation
public import Logging

/// Facts about the librdkafka library loaded at run time (which may be newer than the headers
/// the package was built against: the `librdkafka.so.1` ABI is stable).
public enum KafkaLibrary {
    /// The runtime version as librdkafka reports it, e.g. "2.0.2".
    public static var versionString: String { String(cString: rd_kafka_version_str()) }

    /// The runtime version as (major, minor, patch), decoded from `rd_kafka_version()` (0xMMmmrrxx).
    public static var version: KafkaVersion { KafkaVersion(hex: UInt32(bitPattern: rd_kafka_version())) }

    /// The oldest runtime we recommend: 2.2.0 fixed the tagged-field parsing bug that makes 2.0.x
    /// unable to talk to some brokers (Tansu among them) and the `max.poll.interval.ms` reset bug.
    public static let recommendedMinimum = KafkaVersion(major: 2, minor: 2, patch: 0)

    /// librdkafka clients (consumers, producers, admin and snapshot clients, the embedded broker)
    /// created and not yet destroyed in this process.
    public static var openClients: Int { RDKafkaClient.open.load(ordering: .acquiring) }

    /// Waits until every librdkafka client of the process is destroyed, at most `timeout`.
    ///
    /// A process must not exit while a client's threads run: `exit` runs the process's exit
    /// handlers (OpenSSL's cleanup among them) under those threads, which can crash it (a TLS
    /// client retrying its handshake at exit was seen to end in SIGSEGV). A client is destroyed
    /// when its owner releases it after closing it; this waits for the last of them.
    /// - Returns: true when none is left, false when some still were at the timeout.
    public static func waitForClientsToClose(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while openClients > 0 {
            if ContinuousClock.now >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }

    /// Logs the runtime version, with a warning when it is older than ``recommendedMinimum``.
    public static func logRuntimeVersion(to logger: Logger) {
        let v = version
        logger.info("librdkafka runtime", metadata: ["librdkafka.version": "\(versionString)"])
        if v < recommendedMinimum {
            logger.warning(
                "librdkafka runtime is older than recommended; known bugs affect some brokers and rebalancing. Put librdkafka >= 2.2 on LD_LIBRARY_PATH",
                metadata: ["librdkafka.version": "\(versionString)", "librdkafka.recommended": "\(recommendedMinimum)"]
            )
        }
    }
}

/// A librdkafka version, comparable.
public struct KafkaVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Decodes librdkafka's hex form 0xMMmmrrxx (xx is the pre-release id, ignored).
    public init(hex: UInt32) {
        self.init(major: Int((hex >> 24) & 0xff), minor: Int((hex >> 16) & 0xff), patch: Int((hex >> 8) & 0xff))
    }

    public static func < (a: KafkaVersion, b: KafkaVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }
}
