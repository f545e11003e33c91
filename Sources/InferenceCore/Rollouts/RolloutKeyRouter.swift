/// Decides, per record key, which version serves a record during a roll-out.
///
/// **Deterministic.** The route depends only on the key bytes and the roll-out's ``RolloutRecord/rolloutID``
/// (the salt): a 64-bit FNV-1a hash of `salt ‖ 0xFF ‖ key`, finished with MurmurHash3's fmix64 so that
/// its top bits are uniform, mapped to a unit value `u` in [0, 1). A key with `u < fraction` is in the
/// roll-out. Every replica, and every restart, routes a key the same way, so a key stays with one
/// version for the whole roll-out (Swift's `Hasher` is seeded per process and cannot do this).
/// A new roll-out has a new salt and so draws a different set of keys.
///
/// Records without a key are routed the same way by their position instead: their partition and
/// offset (see ``route(partition:offset:)``). A keyless record has no entity to keep with one
/// version, but its position is stable: a record read again (after a crash or a rebalance) goes to
/// the version that served it the first time, on any replica. Producers that send keyless events
/// (round-robin or sticky partitioning) get a canary or shadow of the configured share too.
public struct RolloutKeyRouter: Sendable, Hashable {
    /// Where one record goes.
    public enum Route: Sendable, Hashable {
        /// The primary serves it; the candidate does not see it.
        case primary
        /// The primary serves it and the candidate scores it too, as a shadow (its prediction goes to
        /// the shadow topic and into the evidence, never to the output topic or the commit path).
        case primaryWithShadow
        /// The candidate serves it (canary).
        case candidate
    }

    /// Shadow or canary, and the share of keys.
    public let mode: RolloutMode
    /// The salt: the roll-out's id.
    public let salt: String
    private let saltHash: UInt64

    /// A router for a running roll-out; `nil` when the record is not running (everything goes to the
    /// primary then, and the caller need not ask).
    public init?(record: RolloutRecord) {
        guard record.state == .running, record.candidateVersion != nil else { return nil }
        self.init(mode: record.mode, salt: record.rolloutID)
    }

    /// A router for `mode`, salted with `salt`.
    public init(mode: RolloutMode, salt: String) {
        self.mode = mode
        self.salt = salt
        var h = Self.offsetBasis
        for byte in salt.utf8 { h = (h ^ UInt64(byte)) &* Self.prime }
        h = (h ^ 0xFF) &* Self.prime
        self.saltHash = h
    }

    /// The route of a record with key `key` (`nil`: no key).
    public func route(key: some Sequence<UInt8>) -> Route {
        guard unitValue(key: key) < mode.fraction else { return .primary }
        return mode.kind == .canary ? .candidate : .primaryWithShadow
    }

    /// The route of a record without a key, by its position: hashed like a key whose 16 bytes are
    /// `"\0pos" ‖ partition (4 bytes) ‖ offset (8 bytes)`, big-endian. (A real key with exactly those
    /// bytes would share the route, which is harmless: routes only need to be stable.) Allocates nothing.
    public func route(partition: Int32, offset: Int64) -> Route {
        withUnsafeBytes(of: Self.position(partition: partition, offset: offset)) { route(key: $0) }
    }

    /// The bytes ``route(partition:offset:)`` hashes, laid out in a tuple (no padding: 4 + 4 + 8).
    static func position(partition: Int32, offset: Int64) -> (UInt32, UInt32, UInt64) {
        (UInt32(0x0070_6F73).bigEndian, UInt32(bitPattern: partition).bigEndian, UInt64(bitPattern: offset).bigEndian)
    }

    /// The key's position in [0, 1): keys below the fraction are in the roll-out.
    public func unitValue(key: some Sequence<UInt8>) -> Double {
        Double(Self.finish(hash(key: key)) >> 11) * 0x1p-53
    }

    /// FNV-1a (64 bit) of `salt ‖ 0xFF ‖ key`.
    func hash(key: some Sequence<UInt8>) -> UInt64 {
        var h = saltHash
        for byte in key { h = (h ^ UInt64(byte)) &* Self.prime }
        return h
    }

    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// MurmurHash3's 64-bit finaliser: spreads FNV's weak high bits.
    static func finish(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }

    /// FNV-1a (64 bit) of `bytes` from the standard offset basis (exposed for the published test vectors).
    public static func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h = offsetBasis
        for byte in bytes { h = (h ^ UInt64(byte)) &* prime }
        return h
    }
}
