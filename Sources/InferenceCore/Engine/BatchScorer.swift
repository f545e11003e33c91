/// Turns a batch of raw requests into one outcome per row: the one scoring path of the project.
///
/// The pipeline, the bundle self-test, `model bench` and ``LoadedModel/predict(_:)`` all score
/// through it, so what is measured and tested is what serves. For each request, ``append(request:)``
/// decodes the JSON, validates and encodes the features straight into the next row of the batch
/// matrix (or refuses the row with a typed ``ScoringFailure``); ``score()`` runs the model runtime
/// (a native ``ModelKernel`` or an ``ExternalModelKernel``) once over the accepted rows;
/// ``outcome(ofRow:)`` then validates and interprets each row's output. A refused row never enters
/// the matrix, so one bad record never fails its batch-mates.
///
/// A runtime that reads raw features (``ModelFeed/rawFeatures``: an ONNX graph with its own
/// preprocessing) also gets each accepted row's validated raw values, column by column. When an
/// external runtime fails on a batch, the scorer reruns each half of the failing range until the
/// failing rows stand alone: only those get a failure (`model_failure`, dead-lettered).
///
/// A value owned by one thread; its buffers are allocated once (for `maxRows` rows) and reused, so
/// scoring allocates nothing per row (multiclass probabilities are slices of the output buffer).
///
/// Lifecycle of one batch: `append` rows (row `i` is the `i`-th accepted), `score()`, read
/// `outcome(ofRow:)` for `0..<rowCount`, `reset()`.
public struct BatchScorer: Sendable {
    /// What never changes for a scorer, behind one reference: the struct itself stays a few words,
    /// so moving it (the scoring thread moves its scorer out of an optional and back per batch) is
    /// a small copy rather than a memmove of the whole model (measured in the drain profile).
    private final class Fixed: Sendable {
        let model: LoadedModel
        let decoder: RequestDecoder
        let encoder: PredictionEncoder
        let labels: PredictionLabels
        let width: Int
        let outputWidth: Int

        init(model: LoadedModel, maxPayloadBytes: Int) throws(ConfigurationValidationError) {
            self.model = model
            decoder = try RequestDecoder(featureNames: model.schema.features.map(\.name), configuration: .init(maxPayloadBytes: maxPayloadBytes))
            encoder = PredictionEncoder(modelName: model.name, modelVersion: model.version)
            labels = PredictionLabels(model.output.labels)
            width = model.schema.width
            outputWidth = model.runtime.outputWidth
        }
    }

    private let fixed: Fixed
    /// The model version this scorer serves (a new version gets a new scorer).
    public var model: LoadedModel { fixed.model }
    /// Rows the matrix holds: the largest batch.
    public let maxRows: Int
    /// Requests larger than this are refused as `oversized_payload` before decoding.
    public let maxPayloadBytes: Int

    private var matrix: [Float]
    private var outputs: [Float]
    /// Raw feature columns (column-major, `maxRows` apart) for a ``ModelFeed/rawFeatures`` runtime; empty otherwise.
    private var raw: [Double]
    /// Per row of the open batch, the external runtime's failure when the row failed alone.
    private var runtimeFailures: [ModelRuntimeError?]
    /// Rows with an entry in `runtimeFailures` (cleared by `reset()`).
    private var failedRows: [Int] = []
    /// The raw values of the row last passed to ``append(request:)`` (kept for drift statistics).
    public private(set) var lastRow: [RawFeatureValue] = []
    /// Rows accepted into the open batch.
    public private(set) var rowCount = 0
    /// Whether ``score()`` ran over the open batch (outcomes are readable).
    public private(set) var isScored = false

    /// Prepares a scorer for `model`.
    ///
    /// - Parameters:
    ///   - model: the model version to serve.
    ///   - maxRows: the largest batch (the matrix is allocated for it once).
    ///   - maxPayloadBytes: the largest request value accepted.
    /// - Throws: ``ConfigurationValidationError`` when the model's feature names cannot be decoded
    ///   (duplicates) or `maxRows` is not positive.
    public init(model: LoadedModel, maxRows: Int, maxPayloadBytes: Int = 1 << 20) throws(ConfigurationValidationError) {
        guard maxRows > 0 else { throw ConfigurationValidationError(message: "a batch holds at least one row (maxRows is \(maxRows))") }
        fixed = try Fixed(model: model, maxPayloadBytes: maxPayloadBytes)
        self.maxRows = maxRows
        self.maxPayloadBytes = maxPayloadBytes
        matrix = [Float](repeating: 0, count: maxRows * model.schema.width)
        outputs = [Float](repeating: 0, count: maxRows * model.runtime.outputWidth)
        raw = model.runtime.feed == .rawFeatures ? [Double](repeating: .nan, count: maxRows * model.schema.features.count) : []
        if case .external = model.runtime {
            runtimeFailures = [ModelRuntimeError?](repeating: nil, count: maxRows)
        } else {
            runtimeFailures = []
        }
        lastRow.reserveCapacity(model.schema.features.count)
    }

    /// The model's name.
    public var name: String { fixed.model.name }
    /// The model's version.
    public var version: String { fixed.model.version }
    /// Whether another row fits in the open batch.
    public var isFull: Bool { rowCount >= maxRows }

    /// Decodes a request (a record's value; `nil` for a tombstone), validates it and encodes it
    /// into the next row of the batch.
    ///
    /// - Parameter value: the request's bytes, borrowed for the call.
    /// - Returns: the request's `id` (nil when it has none) when the row was accepted as row
    ///   `rowCount - 1`; the reason it was refused otherwise (nothing was added).
    public mutating func append(request value: UnsafeRawBufferPointer?) -> Result<String?, ScoringFailure> {
        precondition(!isScored && rowCount < maxRows, "BatchScorer: append to a scored or full batch (reset first)")
        guard let value else {
            return .failure(ScoringFailure(
                reason: .malformedJSON, message: "the record has a null value (a tombstone); a request must be a JSON object", cause: .tombstone))
        }
        guard value.count <= maxPayloadBytes else {
            return .failure(ScoringFailure(
                reason: .oversizedPayload, message: "value of \(value.count) bytes exceeds max-payload-bytes (\(maxPayloadBytes))",
                cause: .oversized(bytes: value.count)))
        }
        let request: DecodedRequest
        do {
            request = try fixed.decoder.decode(value, into: &lastRow)
        } catch {
            return .failure(ScoringFailure(
                reason: (error.deadLetterReason ?? .malformedJSON).raised(by: "InferenceCore.RequestDecoder", error), message: error.description,
                cause: .request(error)))
        }
        if let failure = encodeNextRow(lastRow) { return .failure(failure) }
        return .success(request.id)
    }

    /// Validates already decoded values (one per feature, schema order) and encodes them into the
    /// next row of the batch (the self-test and tools score rows that are not JSON).
    ///
    /// - Returns: nil when the row was accepted, else why it was refused.
    public mutating func append(row: [RawFeatureValue]) -> ScoringFailure? {
        precondition(!isScored && rowCount < maxRows, "BatchScorer: append to a scored or full batch (reset first)")
        return encodeNextRow(row)
    }

    private mutating func encodeNextRow(_ row: [RawFeatureValue]) -> ScoringFailure? {
        let fixed = self.fixed // one reference into the closure, not a copy of the schema
        let width = fixed.width
        let start = rowCount * width
        do {
            try matrix.withUnsafeMutableBufferPointer { (m) throws(InputValidationError) in
                try fixed.model.schema.encode(row: row, into: UnsafeMutableBufferPointer(rebasing: m[start..<(start + width)]))
            }
        } catch {
            return ScoringFailure(
                reason: (error.deadLetterReason ?? .schemaViolation).raised(by: "InferenceCore.InputSchema", error), message: error.message,
                cause: .input(error))
        }
        if !raw.isEmpty { storeRawColumns(row) }
        rowCount += 1
        return nil
    }

    /// Writes a validated row's raw values into the raw columns (see ``ModelBatchInput/raw``).
    private mutating func storeRawColumns(_ row: [RawFeatureValue]) {
        let features = fixed.model.schema.features
        let stride = maxRows
        let rowIndex = rowCount
        raw.withUnsafeMutableBufferPointer { columns in
            for (position, feature) in features.enumerated() {
                let value: Double
                switch (feature.valueType, row[position]) {
                case (.numeric, .number(let x)) where !x.isNaN: value = x
                case (.numeric, .bool(let flag)): value = flag ? 1 : 0
                case (.numeric, _): value = feature.numericDefault ?? .nan
                case (.categorical, .string(let text)): value = feature.vocabularyIndex[text].map(Double.init) ?? .nan
                case (.categorical, _): value = feature.categoricalDefault.flatMap { feature.vocabularyIndex[$0] }.map(Double.init) ?? .nan
                }
                columns[position * stride + rowIndex] = value
            }
        }
    }

    /// Runs the model over the accepted rows (once per batch). Afterwards ``outcome(ofRow:)``
    /// answers for each of them.
    public mutating func score() {
        precondition(!isScored, "BatchScorer: the batch was already scored")
        isScored = true
        let n = rowCount
        guard n > 0 else { return }
        switch fixed.model.runtime {
        case .native(let kernel):
            matrix.withUnsafeBufferPointer { input in
                outputs.withUnsafeMutableBufferPointer { output in
                    kernel.predict(
                        input: UnsafeBufferPointer(rebasing: input[0..<(n * kernel.inputWidth)]), rowCount: n,
                        output: UnsafeMutableBufferPointer(rebasing: output[0..<(n * kernel.outputWidth)])
                    )
                }
            }
        case .external(let kernel):
            scoreExternal(kernel, rows: 0..<n)
        }
    }

    /// Runs `kernel` over `rows`; when it fails, reruns each half, down to single rows, which then
    /// carry the failure. A batch with one bad row costs about 2 log2(n) extra runs.
    private mutating func scoreExternal(_ kernel: any ExternalModelKernel, rows: Range<Int>) {
        let width = kernel.outputWidth
        let encodedWidth = fixed.width
        let stride = maxRows
        let result: Result<Void, ModelRuntimeError> = matrix.withUnsafeBufferPointer { encoded in
            raw.withUnsafeBufferPointer { raw in
                outputs.withUnsafeMutableBufferPointer { output in
                    let input = ModelBatchInput(encoded: encoded, encodedWidth: encodedWidth, raw: raw, rawStride: stride)
                    do throws(ModelRuntimeError) {
                        try kernel.predict(
                            input, rows: rows,
                            output: UnsafeMutableBufferPointer(rebasing: output[(rows.lowerBound * width)..<(rows.upperBound * width)]))
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
            }
        }
        guard case .failure(let error) = result else { return }
        if rows.count == 1 {
            runtimeFailures[rows.lowerBound] = error
            failedRows.append(rows.lowerBound)
            return
        }
        let middle = rows.lowerBound + rows.count / 2
        scoreExternal(kernel, rows: rows.lowerBound..<middle)
        scoreExternal(kernel, rows: middle..<rows.upperBound)
    }

    /// Runs the model again over the same accepted rows (benchmarks measure the runtime alone with it;
    /// outcomes reflect the last run).
    public mutating func rescore() {
        precondition(isScored, "BatchScorer: rescore before score")
        for row in failedRows { runtimeFailures[row] = nil }
        failedRows.removeAll(keepingCapacity: true)
        isScored = false
        score()
    }

    /// Row `row`'s validated, interpreted output; a failure when the model's output is invalid
    /// (non-finite, out of range, probabilities that do not sum to 1: `output_validation_failure`), or
    /// when an external runtime failed on the row even run alone (`model_failure`).
    public func outcome(ofRow row: Int) -> Result<PredictionOutput, ScoringFailure> {
        precondition(isScored && row < rowCount, "BatchScorer: outcome of a row that was not scored")
        if !runtimeFailures.isEmpty, let error = runtimeFailures[row] {
            let failure = OutputValidationError(reason: .runtimeFailure(error))
            return .failure(ScoringFailure(
                reason: DeadLetterReason.modelFailure.raised(by: "InferenceCore.ExternalModelKernel", error), message: failure.message,
                cause: .output(failure)))
        }
        let width = fixed.outputWidth
        return fixed.model.output.interpret(outputs[(row * width)..<((row + 1) * width)]).mapError { error in
            ScoringFailure(
                reason: DeadLetterReason.outputValidationFailure.raised(by: "InferenceCore.OutputSchema", error), message: error.message,
                cause: .output(error))
        }
    }

    /// Empties the batch for the next one (buffers are kept).
    public mutating func reset() {
        for row in failedRows { runtimeFailures[row] = nil }
        failedRows.removeAll(keepingCapacity: true)
        rowCount = 0
        isScored = false
    }

    /// Appends one prediction event's JSON (docs/events.md) for `output` to an emptied `buffer`.
    public func encodePrediction(_ output: PredictionOutput, context: PredictionContext, into buffer: inout [UInt8]) {
        switch output {
        case .regression(let score):
            fixed.encoder.encode(.regression(score: score), context: context, into: &buffer)
        case .multiOutputRegression(let scores):
            scores.withUnsafeBufferPointer { s in
                fixed.encoder.encode(.multiOutputRegression(scores: s, names: fixed.labels), context: context, into: &buffer)
            }
        case .binary(let score, _, let isPositive):
            fixed.encoder.encode(.binary(score: score, labelIndex: isPositive ? 1 : 0, labels: fixed.labels), context: context, into: &buffer)
        case .multiclass(let probabilities, let classIndex, _):
            probabilities.withUnsafeBufferPointer { p in
                fixed.encoder.encode(.multiclass(probabilities: p, labelIndex: classIndex, labels: fixed.labels), context: context, into: &buffer)
            }
        }
    }
}

/// Why a row could not be scored: the dead-letter reason and a message for the record's headers.
public struct ScoringFailure: Error, Sendable, CustomStringConvertible {
    /// The step that refused the row, with its typed error.
    public enum Cause: Sendable {
        /// The record had no value.
        case tombstone
        /// The value was larger than `maxPayloadBytes`.
        case oversized(bytes: Int)
        /// The value is not a valid request (JSON, layout).
        case request(RequestDecodingError)
        /// A feature value failed validation.
        case input(InputValidationError)
        /// The model's output failed validation.
        case output(OutputValidationError)
    }

    /// The dead-letter reason (code, Kafka Connect stage and class names).
    public var reason: DeadLetterReason
    /// What was wrong with the record, for a person reading the dead letter.
    public var message: String
    /// The step that refused the row.
    public var cause: Cause

    /// Creates a failure.
    public init(reason: DeadLetterReason, message: String, cause: Cause) {
        self.reason = reason
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(reason.code): \(message)" }
}

extension DeadLetterReason {
    /// The same reason, with Kafka Connect's class headers naming the component that raised the
    /// error and the error's own type (the reason alone cannot know which raised it).
    public func raised(by component: String, _ error: any Error) -> DeadLetterReason {
        DeadLetterReason(code: code, stage: stage, className: component, exceptionClassName: String(reflecting: type(of: error)))
    }
}
