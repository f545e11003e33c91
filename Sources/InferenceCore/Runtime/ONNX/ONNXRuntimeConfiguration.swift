/// How the worker finds and runs ONNX Runtime for `onnx` bundles (docs/model-bundle.md, "ONNX Runtime").
///
/// The library is opened with `dlopen` the first time an ONNX bundle loads, so bundles of the native
/// kinds never need it.
public struct ONNXRuntimeConfiguration: Sendable, Hashable {
    /// The environment variable naming the library when no path is configured.
    public static let environmentVariable = "INFERENCE_WORKER_ONNXRUNTIME_LIBRARY"
    /// The oldest C API version the worker asks for (ONNX Runtime 1.16, 2023): every entry it uses
    /// exists in it.
    public static let requiredAPIVersion: UInt32 = 16

    /// The library file (`--onnxruntime-library`). Default `nil`: the environment variable
    /// ``environmentVariable``, then `libonnxruntime.so.1` through the dynamic linker's search path.
    public var libraryPath: String?
    /// Threads one batch may use inside an operator (`--onnxruntime-intra-op-threads`). Default 1:
    /// the worker owns its threads (one scoring thread), and a micro-batch is too small to split well.
    public var intraOpThreads: Int
    /// Threads running independent operators of one graph in parallel (`--onnxruntime-inter-op-threads`).
    /// Default 1 (ONNX Runtime then runs the graph sequentially).
    public var interOpThreads: Int

    /// Creates a configuration; see each property for its default.
    public init(libraryPath: String? = nil, intraOpThreads: Int = 1, interOpThreads: Int = 1) {
        self.libraryPath = libraryPath
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
    }

    /// Rejects thread counts that cannot work and an empty library path.
    ///
    /// - Throws: ``ConfigurationValidationError`` naming the setting.
    public func validate() throws(ConfigurationValidationError) {
        if let libraryPath, libraryPath.isEmpty {
            throw ConfigurationValidationError(message: "onnxruntime-library is empty: give the path of libonnxruntime.so.1 or leave it unset")
        }
        for (name, value) in [("intra-op", intraOpThreads), ("inter-op", interOpThreads)] where !(1...256).contains(value) {
            throw ConfigurationValidationError(message: "onnxruntime-\(name)-threads must be in 1...256, got \(value)")
        }
    }

    /// The library names tried, in order: the configured path, the environment variable, then the
    /// dynamic linker's search.
    func candidates(environment: [String: String]) -> [String] {
        if let libraryPath { return [libraryPath] }
        if let path = environment[Self.environmentVariable], !path.isEmpty { return [path] }
        #if os(macOS)
        return ["libonnxruntime.dylib", "libonnxruntime.1.dylib"]
        #else
        return ["libonnxruntime.so.1", "libonnxruntime.so"]
        #endif
    }
}
