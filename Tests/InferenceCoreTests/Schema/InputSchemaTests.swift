import Testing
@testable import InferenceCore

@Suite("Input schema validation and preprocessing")
struct InputSchemaTests {
    let schema = InputSchema(features: [
        .numeric("amount", minimum: 0, maximum: 100, encoding: .standardScale(mean: 10, std: 4)),
        .numeric("ratio", minimum: -1, maximum: 1, missing: .allowed, default: 0.5),
        .categorical("country", vocabulary: ["DE", "FR", "US"], missing: .allowed, default: "FR"),
        .categorical("channel", vocabulary: ["web", "app"], encoding: .ordinal),
    ])

    func encode(_ row: [RawFeatureValue], schema: InputSchema? = nil) throws(InputValidationError) -> [Float] {
        let schema = schema ?? self.schema
        var out = [Float](repeating: -7, count: schema.width)
        try out.withUnsafeMutableBufferPointer { buffer throws(InputValidationError) in try schema.encode(row: row, into: buffer) }
        return out
    }

    func reason(_ row: [RawFeatureValue]) -> (String?, InputValidationError.Reason)? {
        do {
            _ = try encode(row)
            return nil
        } catch {
            return (error.feature, error.reason)
        }
    }

    @Test func encodesScalingOneHotOrdinalAndDefaults() throws {
        #expect(schema.width == 1 + 1 + 3 + 1)
        #expect(try encode([.number(18), .number(-0.25), .string("US"), .string("app")]) == [2, -0.25, 0, 0, 1, 1])
        // Missing and null both take the default; the categorical default is one-hot encoded.
        #expect(try encode([.number(0), .missing, .null, .string("web")]) == [-2.5, 0.5, 0, 1, 0, 0])
        // Range bounds are inclusive.
        #expect(try encode([.number(100), .number(1), .string("DE"), .string("web")])[0] == 22.5)
    }

    @Test func nativeMissingEncodesNaNOnlyWithoutADefault() throws {
        let native = InputSchema(features: [
            .numeric("amount", minimum: 0, maximum: 100, encoding: .standardScale(mean: 10, std: 4)),
            .numeric("score", missing: .allowed),
            .categorical("colour", vocabulary: ["red", "blue", "green"], missing: .allowed),
            .categorical("channel", vocabulary: ["web", "app"], missing: .allowed, encoding: .ordinal),
        ], nativeMissing: true)
        let out = try encode([.number(10), .null, .missing, .missing], schema: native)
        #expect(out[0] == 0)
        #expect(out[1].isNaN)
        #expect(out[2...4].allSatisfy { $0.isNaN })
        #expect(out[5].isNaN)
    }

    /// Issue 13 item 3: an imputing pipeline (SimpleImputer + encoder + XGBoost) trains on the default,
    /// so a declared default must reach a tree ensemble too, not NaN.
    @Test func declaredDefaultsAreUsedEvenWhenTheKernelHandlesMissingValues() throws {
        let native = InputSchema(features: schema.features, nativeMissing: true)
        #expect(try encode([.number(10), .null, .missing, .string("web")], schema: native) == [0, 0.5, 0, 1, 0, 0])
        #expect(try encode([.number(10), .number(.nan), .number(.nan), .string("app")], schema: native) == [0, 0.5, 0, 1, 0, 1])
    }

    /// Issue 13 item 5: `true` / `false` are 1 / 0 for numeric features, range-checked and scaled.
    @Test func booleansAreOneAndZeroForNumericFeatures() throws {
        #expect(try encode([.bool(true), .bool(false), .string("DE"), .string("web")]) == [-2.25, 0, 1, 0, 0, 0])
        #expect(try encode([.bool(false), .bool(true), .string("DE"), .string("web")]) == [-2.5, 1, 1, 0, 0, 0])
        let positive = InputSchema(features: [.numeric("flag", minimum: 2, maximum: 5)])
        #expect(throws: InputValidationError.self) { try encode([.bool(true)], schema: positive) }
    }

    /// Issue 13 item 5: Python's `json.dumps` writes a missing float as `NaN`: missing where allowed.
    @Test func nanIsMissingWhereMissingIsAllowed() throws {
        #expect(try encode([.number(0), .number(.nan), .number(.nan), .string("web")]) == [-2.5, 0.5, 0, 1, 0, 0])
        guard case ("amount", .nonFinite(let value))? = reason([.number(.nan), .number(0), .string("DE"), .string("web")]) else {
            Issue.record("NaN for a feature without missing values"); return
        }
        #expect(value.isNaN)
        guard case ("channel", .nonFinite)? = reason([.number(1), .number(0), .string("DE"), .number(.nan)]) else {
            Issue.record("NaN for a categorical feature without missing values"); return
        }
        let error = InputValidationError(feature: "amount", reason: .nonFinite(.nan))
        #expect(error.code == .nonFinite)
        #expect(error.deadLetterReason == .nonFinite)
        #expect(error.deadLetterReason?.code == "non_finite")
        #expect(InputValidationError(feature: "amount", reason: .nonFinite(.infinity)).deadLetterReason?.code == "non_finite")
        #expect(error.message.contains("missing"))
    }

    @Test func missingNotAllowed() {
        let result = reason([.missing, .number(0), .string("DE"), .string("web")])
        #expect(result?.0 == "amount")
        guard case .missing? = result?.1 else { Issue.record("\(String(describing: result))"); return }
        guard case .missing? = reason([.number(1), .number(0), .string("DE"), .null])?.1 else { Issue.record("null channel"); return }
    }

    @Test func wrongTypes() {
        guard case (let feature, .wrongType(.numeric, .string))? = reason([.string("12"), .number(0), .string("DE"), .string("web")]) else {
            Issue.record("string for numeric"); return
        }
        #expect(feature == "amount")
        guard case ("country", .wrongType(.categorical, .number))? = reason([.number(1), .number(0), .number(1), .string("web")]) else {
            Issue.record("number for categorical"); return
        }
        guard case ("channel", .wrongType(.categorical, .bool))? = reason([.number(1), .number(0), .string("DE"), .bool(false)]) else {
            Issue.record("bool for categorical"); return
        }
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFinite(value: Double) {
        guard case ("amount", .nonFinite)? = reason([.number(value), .number(0), .string("DE"), .string("web")]) else {
            Issue.record("non-finite \(value)"); return
        }
    }

    @Test func outOfRange() {
        guard case ("amount", .outOfRange(let value, 0, 100))? = reason([.number(100.5), .number(0), .string("DE"), .string("web")]) else {
            Issue.record("above max"); return
        }
        #expect(value == 100.5)
        guard case ("ratio", .outOfRange(-1.01, -1, 1))? = reason([.number(1), .number(-1.01), .string("DE"), .string("web")]) else {
            Issue.record("below min"); return
        }
    }

    @Test func unknownCategory() {
        guard case ("country", .unknownCategory("XX"))? = reason([.number(1), .number(0), .string("XX"), .string("web")]) else {
            Issue.record("unknown category"); return
        }
    }

    @Test func wrongArityAndUnknownFeatureForTheDecoder() {
        guard case (nil, .wrongArity(4, 2))? = reason([.number(1), .number(0)]) else { Issue.record("arity"); return }
        let unknown = InputValidationError.unknownFeature("colour")
        #expect(unknown.code == .unknownFeature)
        #expect(unknown.feature == "colour")
        #expect(unknown.message.contains("colour"))
        #expect(!unknown.isRetriable)
        #expect(InputValidationError.wrongArity(expected: 3, got: 5).code == .wrongArity)
    }

    @Test func oneBadRowDoesNotFailItsBatchMates() {
        let rows: [[RawFeatureValue]] = [
            [.number(10), .number(0), .string("DE"), .string("web")],
            [.number(10), .number(0), .string("XX"), .string("web")],  // unknown category
            [.number(14), .missing, .string("US"), .string("app")],
            [.string("x"), .number(0), .string("DE"), .string("web")],  // wrong type
            [.number(6), .number(1), .null, .string("web")],
        ]
        let batch = schema.encode(rows: rows)
        #expect(batch.packedCount == 3)
        #expect(batch.matrix.count == 3 * schema.width)
        let packed = batch.rows.map { status -> Int? in if case .packed(let index) = status { index } else { nil } }
        #expect(packed == [0, nil, 1, nil, 2])
        #expect(Array(batch.matrix[6..<12]) == [1, 0.5, 0, 0, 1, 1])
        #expect(Array(batch.matrix[12..<18]) == [-1, 1, 0, 1, 0, 0])
        guard case .rejected(let error) = batch.rows[3] else { Issue.record("row 3 not rejected"); return }
        #expect(error.feature == "amount")
        #expect(error.code == .wrongType)
    }

    @Test func messagesNameTheFeatureAndReason() {
        let error = InputValidationError(feature: "amount", reason: .outOfRange(value: 101, min: 0, max: 100))
        #expect(error.message.contains("amount"))
        #expect(error.message.contains("101"))
        #expect(error.code == .outOfRange)
    }
}
