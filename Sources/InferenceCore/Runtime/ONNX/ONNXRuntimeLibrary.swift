import CONNXRuntime
import Foundation
import Synchronization

/// An opened ONNX Runtime: its C API table, the process's one `OrtEnv`, and a CPU memory description.
///
/// Opened once per library path and kept for the life of the process (sessions of every model version
/// share the environment; unloading the library under live thread pools is unsafe).
/// `@unchecked Sendable`: the fields are written once in `init` and only read afterwards; the C API is
/// thread-safe for the calls made through it (session creation and `Run`).
final class ONNXRuntimeLibrary: @unchecked Sendable {
    /// The path or name that was opened.
    let path: String
    /// The library's own version string ("1.32.0").
    let version: String
    /// The C API table (allocated once, never freed: the library stays loaded).
    let api: UnsafePointer<IWOrtApi>
    /// The process-wide environment. ONNX Runtime logs only fatal errors: a failed run already
    /// reaches the worker as a status and becomes the row's dead letter (its own log line would
    /// repeat it on stderr for every rerun of the batch split).
    let environment: OpaquePointer
    /// CPU memory for input tensors that wrap the scorer's buffers.
    let memoryInfo: OpaquePointer
    /// ONNX Runtime's default allocator (for string tensors and names).
    let allocator: OpaquePointer

    private static let opened = Mutex<[String: ONNXRuntimeLibrary]>([:])

    /// The library for `configuration`, opened on first use.
    ///
    /// - Throws: ``ModelRuntimeError/Code/libraryUnavailable`` with one message that says how to
    ///   install the library, when no candidate opens or the library is too old.
    static func shared(_ configuration: ONNXRuntimeConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ModelRuntimeError) -> ONNXRuntimeLibrary {
        let candidates = configuration.candidates(environment: environment)
        let result: Result<ONNXRuntimeLibrary, ModelRuntimeError> = opened.withLock { opened in
            for candidate in candidates {
                if let library = opened[candidate] { return .success(library) }
            }
            var problems: [String] = []
            for candidate in candidates {
                do throws(ModelRuntimeError) {
                    let library = try ONNXRuntimeLibrary(path: candidate)
                    opened[candidate] = library
                    return .success(library)
                } catch {
                    problems.append(error.message)
                }
            }
            return .failure(ModelRuntimeError(
                code: .libraryUnavailable,
                message: "ONNX Runtime (libonnxruntime.so.1, C API \(ONNXRuntimeConfiguration.requiredAPIVersion)+, onnxruntime >= 1.16) could not be loaded: \(problems.joined(separator: "; ")). "
                    + "Install it with `pip install onnxruntime` and pass its library with --onnxruntime-library "
                    + "(or \(ONNXRuntimeConfiguration.environmentVariable)): "
                    + "python3 -c 'import onnxruntime, os, glob; print(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), \"capi\", \"libonnxruntime.so*\"))[0])'"))
        }
        return try result.get()
    }

    /// Opens the library at `path` asking for C API `apiVersion` (tests ask for one no library serves).
    init(path: String, apiVersion: UInt32 = ONNXRuntimeConfiguration.requiredAPIVersion) throws(ModelRuntimeError) {
        self.path = path
        let table = UnsafeMutablePointer<IWOrtApi>.allocate(capacity: 1)
        table.initialize(to: IWOrtApi())
        var error = [CChar](repeating: 0, count: 512)
        let code = iw_ort_open(path, apiVersion, table, &error, error.count)
        guard code == 0 else {
            table.deallocate()
            let text = String(decoding: error.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ModelRuntimeError(code: .libraryUnavailable, message: code == 3 ? "\(text) (too old)" : text)
        }
        let api = UnsafePointer(table)
        self.api = api
        self.version = api.pointee.libraryVersion.map { String(cString: $0) } ?? "unknown"
        var environment: OpaquePointer?
        try Self.check(api, iw_ort_CreateEnv(api, Int32(IW_ORT_LOGGING_LEVEL_FATAL), "inference-worker", &environment), .libraryUnavailable, "creating the ONNX Runtime environment")
        var memoryInfo: OpaquePointer?
        try Self.check(api, iw_ort_CreateCpuMemoryInfo(api, Int32(IW_ORT_ARENA_ALLOCATOR), Int32(IW_ORT_MEM_TYPE_DEFAULT), &memoryInfo), .libraryUnavailable, "creating a CPU memory description")
        var allocator: OpaquePointer?
        try Self.check(api, iw_ort_GetAllocatorWithDefaultOptions(api, &allocator), .libraryUnavailable, "getting the default allocator")
        guard let environment, let memoryInfo, let allocator else {
            throw ModelRuntimeError(code: .libraryUnavailable, message: "ONNX Runtime at \(path) returned no environment")
        }
        self.environment = environment
        self.memoryInfo = memoryInfo
        self.allocator = allocator
    }

    /// Turns a status into an error (and releases it); nil is success.
    static func check(_ api: UnsafePointer<IWOrtApi>, _ status: OpaquePointer?, _ code: ModelRuntimeError.Code, _ doing: String) throws(ModelRuntimeError) {
        guard let status else { return }
        let message = iw_ort_GetErrorMessage(api, status).map { String(cString: $0) } ?? "unknown error"
        let ortCode = iw_ort_GetErrorCode(api, status)
        iw_ort_ReleaseStatus(api, status)
        throw ModelRuntimeError(code: code, message: "\(doing): ONNX Runtime error \(ortCode.rawValue): \(message)")
    }

    /// ``check(_:_:_:_:)`` with this library's table.
    func check(_ status: OpaquePointer?, _ code: ModelRuntimeError.Code, _ doing: String) throws(ModelRuntimeError) {
        try Self.check(api, status, code, doing)
    }
}
