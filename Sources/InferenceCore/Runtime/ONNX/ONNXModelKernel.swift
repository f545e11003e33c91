import CONNXRuntime
import Foundation

/// A model served through ONNX Runtime: an ``ExternalModelKernel`` over one ``ONNXSession``.
///
/// Two feeds (docs/model-bundle.md): ``ModelFeed/encoded(width:)`` passes the worker's encoded
/// matrix as the graph's one float input `[batch, width]`; ``ModelFeed/rawFeatures`` passes each
/// graph input its features' validated raw values in the input's element type (float, double, int64,
/// int32, or string for categoricals). The batch dimension is dynamic. One output is read: the
/// regression score(s) or the class probabilities, in float or double.
struct ONNXModelKernel: ExternalModelKernel {
    /// One graph input fed with raw features.
    struct RawInput: Sendable {
        /// Feature positions in the schema, in the input's column order.
        var features: [Int]
        /// Their names (for errors).
        var names: [String]
        /// `ONNXTensorElementDataType`.
        var elementType: Int32
        /// 1: `[batch]` (one feature); 2: `[batch, features.count]`.
        var rank: Int
        /// Per feature (string inputs), its vocabulary as C strings.
        var vocabularies: [CStringArray]
    }

    enum Plan: Sendable {
        case encoded(width: Int)
        case raw([RawInput])
    }

    let session: ONNXSession
    let plan: Plan
    let inputNames: CStringArray
    let outputNames: CStringArray
    /// Columns of the read output per row.
    let outputColumns: Int
    /// The output column written first (1 for a binary model's `[batch, 2]` probabilities).
    let firstColumn: Int
    let outputWidth: Int
    /// What a string input gets for a missing category without a default (OneHotEncoder with
    /// `handle_unknown="ignore"` encodes it as all zeros).
    private let missingString = CStringArray([""])

    var feed: ModelFeed {
        switch plan {
        case .encoded(let width): .encoded(width: width)
        case .raw: .rawFeatures
        }
    }

    func predict(_ input: ModelBatchInput, rows: Range<Int>, output: UnsafeMutableBufferPointer<Float>) throws(ModelRuntimeError) {
        let library = session.library
        let api = library.api
        let n = rows.count
        var values: [OpaquePointer?] = []
        var buffers: [UnsafeMutableRawPointer] = []
        defer {
            for value in values { if let value { iw_ort_ReleaseValue(api, value) } }
            for buffer in buffers { buffer.deallocate() }
        }
        switch plan {
        case .encoded(let width):
            let start = UnsafeMutableRawPointer(mutating: input.encoded.baseAddress! + rows.lowerBound * width)
            values.append(try tensor(wrapping: start, bytes: n * width * 4, shape: [Int64(n), Int64(width)], element: Int32(IW_ORT_ELEMENT_FLOAT)))
        case .raw(let inputs):
            for graphInput in inputs {
                let k = graphInput.features.count
                let shape: [Int64] = graphInput.rank == 1 ? [Int64(n)] : [Int64(n), Int64(k)]
                func column(_ j: Int) -> UnsafeBufferPointer<Double> {
                    UnsafeBufferPointer(rebasing: input.raw[(graphInput.features[j] * input.rawStride + rows.lowerBound)..<(graphInput.features[j] * input.rawStride + rows.upperBound)])
                }
                switch graphInput.elementType {
                case Int32(IW_ORT_ELEMENT_STRING):
                    var value: OpaquePointer?
                    try library.check(iw_ort_CreateTensorAsOrtValue(api, library.allocator, shape, shape.count, Int32(IW_ORT_ELEMENT_STRING), &value), .runFailed, "creating a string tensor")
                    values.append(value)
                    var strings = [UnsafePointer<CChar>?](repeating: nil, count: n * k)
                    for j in 0..<k {
                        let vocabulary = graphInput.vocabularies[j]
                        for (r, x) in column(j).enumerated() {
                            strings[r * k + j] = x.isNaN ? missingString[0] : vocabulary[Int(x)]
                        }
                    }
                    try library.check(iw_ort_FillStringTensor(api, value, strings, strings.count), .runFailed, "filling a string tensor")
                case Int32(IW_ORT_ELEMENT_FLOAT):
                    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
                    buffers.append(UnsafeMutableRawPointer(buffer))
                    for j in 0..<k { for (r, x) in column(j).enumerated() { buffer[r * k + j] = Float(x) } }
                    values.append(try tensor(wrapping: UnsafeMutableRawPointer(buffer), bytes: n * k * 4, shape: shape, element: graphInput.elementType))
                case Int32(IW_ORT_ELEMENT_DOUBLE):
                    let buffer = UnsafeMutablePointer<Double>.allocate(capacity: n * k)
                    buffers.append(UnsafeMutableRawPointer(buffer))
                    for j in 0..<k { for (r, x) in column(j).enumerated() { buffer[r * k + j] = x } }
                    values.append(try tensor(wrapping: UnsafeMutableRawPointer(buffer), bytes: n * k * 8, shape: shape, element: graphInput.elementType))
                case Int32(IW_ORT_ELEMENT_INT64), Int32(IW_ORT_ELEMENT_INT32):
                    let is64 = graphInput.elementType == Int32(IW_ORT_ELEMENT_INT64)
                    let buffer = UnsafeMutableRawPointer.allocate(byteCount: n * k * 8, alignment: 8)
                    buffers.append(buffer)
                    for j in 0..<k {
                        for (r, x) in column(j).enumerated() {
                            // An integer input cannot take a fraction or a missing value: the row fails
                            // (and is isolated from its batch-mates by the scorer).
                            guard x.rounded() == x, abs(x) < (is64 ? 9.0e18 : 2.1e9) else {
                                throw ModelRuntimeError(code: .unrepresentableInput, message: "feature '\(graphInput.names[j])' value \(x) cannot be given to an \(is64 ? "int64" : "int32") graph input: send whole numbers (or declare a default for missing values)")
                            }
                            if is64 { buffer.storeBytes(of: Int64(x), toByteOffset: (r * k + j) * 8, as: Int64.self) }
                            else { buffer.storeBytes(of: Int32(x), toByteOffset: (r * k + j) * 4, as: Int32.self) }
                        }
                    }
                    values.append(try tensor(wrapping: buffer, bytes: n * k * (is64 ? 8 : 4), shape: shape, element: graphInput.elementType))
                default:
                    throw ModelRuntimeError(code: .signatureMismatch, message: "graph input element type \(graphInput.elementType) is not supported")
                }
            }
        }
        let results = try session.run(inputNames: inputNames, inputs: values, outputNames: outputNames)
        guard let result = results.pointers[0] else {
            throw ModelRuntimeError(code: .badOutput, message: "the model returned no value for its output")
        }
        try copyOutput(result, rows: n, into: output)
    }

    private func tensor(wrapping data: UnsafeMutableRawPointer, bytes: Int, shape: [Int64], element: Int32) throws(ModelRuntimeError) -> OpaquePointer? {
        let library = session.library
        var value: OpaquePointer?
        try library.check(
            iw_ort_CreateTensorWithDataAsOrtValue(library.api, library.memoryInfo, data, bytes, shape, shape.count, element, &value),
            .runFailed, "creating an input tensor")
        return value
    }

    private func copyOutput(_ value: OpaquePointer, rows n: Int, into output: UnsafeMutableBufferPointer<Float>) throws(ModelRuntimeError) {
        let library = session.library
        let api = library.api
        var info: OpaquePointer?
        try library.check(iw_ort_GetTensorTypeAndShape(api, value, &info), .badOutput, "reading the output's shape (is it a tensor? export classifiers without ZipMap)")
        guard let info else { throw ModelRuntimeError(code: .badOutput, message: "the output has no tensor type") }
        let (element, shape) = try ONNXSession.tensorType(library, info)
        iw_ort_ReleaseTensorTypeAndShapeInfo(api, info)
        let columns = shape.count == 2 ? Int(shape[1]) : 1
        guard shape.count == 1 || shape.count == 2, shape[0] == Int64(n), columns == outputColumns else {
            throw ModelRuntimeError(code: .badOutput, message: "the output has shape \(shape), expected [\(n), \(outputColumns)]")
        }
        var data: UnsafeMutableRawPointer?
        try library.check(iw_ort_GetTensorMutableData(api, value, &data), .badOutput, "reading the output")
        guard let data else { throw ModelRuntimeError(code: .badOutput, message: "the output has no data") }
        let width = outputWidth
        switch element {
        case Int32(IW_ORT_ELEMENT_FLOAT):
            let values = data.assumingMemoryBound(to: Float.self)
            for r in 0..<n { for c in 0..<width { output[r * width + c] = values[r * columns + firstColumn + c] } }
        case Int32(IW_ORT_ELEMENT_DOUBLE):
            let values = data.assumingMemoryBound(to: Double.self)
            for r in 0..<n { for c in 0..<width { output[r * width + c] = Float(values[r * columns + firstColumn + c]) } }
        default:
            throw ModelRuntimeError(code: .badOutput, message: "the output is \(ONNXSession.Port.elementName(element)), expected float or double")
        }
    }
}
