import CONNXRuntime
import Foundation

/// One ONNX Runtime session (a loaded graph), released when the last model version holding it goes.
///
/// `@unchecked Sendable`: the session pointer is written once; ONNX Runtime documents `Run` as safe
/// to call concurrently on one session, and nothing else is called after `init`.
final class ONNXSession: @unchecked Sendable {
    /// A graph input or output as the session declares it.
    struct Port: Sendable, Hashable, CustomStringConvertible {
        var name: String
        /// `ONNXType` (1 = tensor; 2 sequence, 3 map, ...).
        var onnxType: Int32
        /// `ONNXTensorElementDataType` (tensors only).
        var elementType: Int32
        /// Dimensions; -1 (or any negative) for a dynamic one.
        var shape: [Int64]

        var isTensor: Bool { onnxType == Int32(IW_ORT_ONNX_TYPE_TENSOR) }

        var elementName: String { Self.elementName(elementType) }

        static func elementName(_ type: Int32) -> String {
            switch type {
            case Int32(IW_ORT_ELEMENT_FLOAT): "float"
            case Int32(IW_ORT_ELEMENT_DOUBLE): "double"
            case Int32(IW_ORT_ELEMENT_INT64): "int64"
            case Int32(IW_ORT_ELEMENT_INT32): "int32"
            case Int32(IW_ORT_ELEMENT_STRING): "string"
            case Int32(IW_ORT_ELEMENT_BOOL): "bool"
            default: "element type \(type)"
            }
        }

        var description: String {
            guard isTensor else { return "'\(name)' (\(onnxType == 2 ? "a sequence" : onnxType == 3 ? "a map" : "ONNX type \(onnxType)"), not a tensor)" }
            return "'\(name)' \(elementName)[\(shape.map { $0 < 0 ? "N" : "\($0)" }.joined(separator: ", "))]"
        }
    }

    let library: ONNXRuntimeLibrary
    private let session: OpaquePointer
    let inputs: [Port]
    let outputs: [Port]

    /// Creates a session from the bytes of an `.onnx` file (already verified against its digest, so
    /// the file is not read twice).
    ///
    /// - Throws: ``ModelRuntimeError/Code/modelRejected`` for a corrupt or unsupported model.
    init(library: ONNXRuntimeLibrary, model: Data, configuration: ONNXRuntimeConfiguration) throws(ModelRuntimeError) {
        self.library = library
        let api = library.api
        var options: OpaquePointer?
        try library.check(iw_ort_CreateSessionOptions(api, &options), .modelRejected, "creating session options")
        guard let options else { throw ModelRuntimeError(code: .modelRejected, message: "ONNX Runtime returned no session options") }
        defer { iw_ort_ReleaseSessionOptions(api, options) }
        try library.check(iw_ort_SetIntraOpNumThreads(api, options, Int32(configuration.intraOpThreads)), .modelRejected, "setting intra-op threads")
        try library.check(iw_ort_SetInterOpNumThreads(api, options, Int32(configuration.interOpThreads)), .modelRejected, "setting inter-op threads")
        try library.check(iw_ort_SetSessionGraphOptimizationLevel(api, options, Int32(IW_ORT_ENABLE_ALL)), .modelRejected, "setting the optimization level")
        var created: OpaquePointer?
        let status = model.withUnsafeBytes { bytes in
            iw_ort_CreateSessionFromArray(api, library.environment, bytes.baseAddress, bytes.count, options, &created)
        }
        try library.check(status, .modelRejected, "loading the model")
        guard let created else { throw ModelRuntimeError(code: .modelRejected, message: "ONNX Runtime returned no session") }
        session = created
        do throws(ModelRuntimeError) {
            inputs = try Self.ports(library, created, input: true)
            outputs = try Self.ports(library, created, input: false)
        } catch {
            iw_ort_ReleaseSession(api, created)
            throw error
        }
    }

    deinit {
        iw_ort_ReleaseSession(library.api, session)
    }

    private static func ports(_ library: ONNXRuntimeLibrary, _ session: OpaquePointer, input: Bool) throws(ModelRuntimeError) -> [Port] {
        let api = library.api
        let side = input ? "input" : "output"
        var count = 0
        try library.check(input ? iw_ort_SessionGetInputCount(api, session, &count) : iw_ort_SessionGetOutputCount(api, session, &count), .modelRejected, "counting \(side)s")
        var ports: [Port] = []
        for index in 0..<count {
            var rawName: UnsafeMutablePointer<CChar>?
            try library.check(
                input ? iw_ort_SessionGetInputName(api, session, index, library.allocator, &rawName) : iw_ort_SessionGetOutputName(api, session, index, library.allocator, &rawName),
                .modelRejected, "reading \(side) \(index)'s name")
            let name = rawName.map { String(cString: $0) } ?? ""
            if let rawName { _ = iw_ort_AllocatorFree(api, library.allocator, rawName) }
            var typeInfo: OpaquePointer?
            try library.check(
                input ? iw_ort_SessionGetInputTypeInfo(api, session, index, &typeInfo) : iw_ort_SessionGetOutputTypeInfo(api, session, index, &typeInfo),
                .modelRejected, "reading \(side) '\(name)''s type")
            guard let typeInfo else { continue }
            defer { iw_ort_ReleaseTypeInfo(api, typeInfo) }
            var onnxType: Int32 = 0
            try library.check(iw_ort_GetOnnxTypeFromTypeInfo(api, typeInfo, &onnxType), .modelRejected, "reading \(side) '\(name)''s type")
            var port = Port(name: name, onnxType: onnxType, elementType: 0, shape: [])
            if port.isTensor {
                var tensorInfo: OpaquePointer?
                try library.check(iw_ort_CastTypeInfoToTensorInfo(api, typeInfo, &tensorInfo), .modelRejected, "reading \(side) '\(name)''s tensor type")
                if let tensorInfo {
                    (port.elementType, port.shape) = try tensorType(library, tensorInfo)
                }
            }
            ports.append(port)
        }
        return ports
    }

    /// Element type and dimensions of a tensor type (not released here).
    static func tensorType(_ library: ONNXRuntimeLibrary, _ info: OpaquePointer) throws(ModelRuntimeError) -> (Int32, [Int64]) {
        let api = library.api
        var element: Int32 = 0
        try library.check(iw_ort_GetTensorElementType(api, info, &element), .badOutput, "reading a tensor's element type")
        var rank = 0
        try library.check(iw_ort_GetDimensionsCount(api, info, &rank), .badOutput, "reading a tensor's rank")
        var shape = [Int64](repeating: 0, count: rank)
        try library.check(iw_ort_GetDimensions(api, info, &shape, rank), .badOutput, "reading a tensor's shape")
        return (element, shape)
    }

    /// Runs the graph: `inputs` (values created and released by the caller) in, the named outputs
    /// out. The returned values are released with the ``ONNXValues``.
    func run(inputNames: CStringArray, inputs: [OpaquePointer?], outputNames: CStringArray) throws(ModelRuntimeError) -> ONNXValues {
        let api = library.api
        let values = ONNXValues(library: library, count: outputNames.count)
        let status: OpaquePointer? = inputs.withUnsafeBufferPointer { inputValues in
            values.pointers.withUnsafeMutableBufferPointer { outputValues in
                inputValues.withMemoryRebound(to: OpaquePointer?.self) { rebound in
                    iw_ort_Run(api, session, inputNames.base, rebound.baseAddress, inputs.count, outputNames.base, outputNames.count, outputValues.baseAddress)
                }
            }
        }
        try library.check(status, .runFailed, "running the model")
        return values
    }
}

/// Output values of one run, released on deinit.
final class ONNXValues {
    let library: ONNXRuntimeLibrary
    var pointers: [OpaquePointer?]

    init(library: ONNXRuntimeLibrary, count: Int) {
        self.library = library
        pointers = [OpaquePointer?](repeating: nil, count: count)
    }

    deinit {
        for pointer in pointers {
            if let pointer { iw_ort_ReleaseValue(library.api, pointer) }
        }
    }
}

/// C strings allocated once and kept for the owner's life (graph port names, vocabularies).
///
/// `@unchecked Sendable`: immutable after `init`; the strings are only read.
final class CStringArray: @unchecked Sendable {
    /// `count` pointers to NUL-terminated copies.
    let base: UnsafePointer<UnsafePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        let buffer = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(strings.count, 1))
        for (index, string) in strings.enumerated() { buffer[index] = UnsafePointer(strdup(string)) }
        base = UnsafePointer(buffer)
    }

    subscript(index: Int) -> UnsafePointer<CChar>? { base[index] }

    deinit {
        for index in 0..<count { free(UnsafeMutableRawPointer(mutating: base[index])) }
        base.deallocate()
    }
}
