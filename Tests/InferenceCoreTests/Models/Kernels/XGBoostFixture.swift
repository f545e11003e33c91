import Foundation
import InferenceCore
import Testing

/// One reference case written by scripts/fixtures/make_xgboost_fixtures.py: an XGBoost model,
/// input rows and XGBoost's own predictions for them.
struct XGBoostFixture {
    /// meta.json.
    struct Meta: Decodable {
        let rows: Int
        let cols: Int
        let outputWidth: Int
        let objective: String
        let xgboostVersion: String
    }

    let meta: Meta
    let modelJSON: Data
    let inputs: [Float]
    let expected: [Float]

    /// The case names under Fixtures/xgboost/: XGBoost 3.2.0 models, and xgb2_* from XGBoost 2.1.4
    /// (the older schema, whose base_score is a scalar string).
    static let caseNames = [
        "regression", "binary", "multiclass", "multiclass_softmax",
        "rf_regressor", "rf_classifier", "rf_multiclass",
        "xgb2_binary", "xgb2_rf_multiclass",
    ]

    static func directory(_ name: String) throws -> URL {
        let fixtures = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return fixtures.appendingPathComponent("xgboost").appendingPathComponent(name)
    }

    static func load(_ name: String) throws -> XGBoostFixture {
        let directory = try directory(name)
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: directory.appendingPathComponent("meta.json")))
        return XGBoostFixture(
            meta: meta,
            modelJSON: try Data(contentsOf: directory.appendingPathComponent("model.json")),
            inputs: try littleEndianFloats(Data(contentsOf: directory.appendingPathComponent("inputs.f32"))),
            expected: try littleEndianFloats(Data(contentsOf: directory.appendingPathComponent("expected.f32"))))
    }

    /// Little-endian float32 values, as numpy's `<f4` writes them.
    static func littleEndianFloats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { bytes in
            (0..<(bytes.count / 4)).map { index in
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
            }
        }
    }
}

extension ModelKernel {
    /// Runs `predict` on a whole array of rows.
    func predictAll(_ inputs: [Float]) -> [Float] {
        let rows = inputs.count / inputWidth
        var output = [Float](repeating: .nan, count: rows * outputWidth)
        inputs.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                predict(input: input, rowCount: rows, output: output)
            }
        }
        return output
    }
}

/// The fidelity rule: |actual - expected| <= 1e-5 * max(|expected|, 1).
///
/// Relative for large outputs (regression), absolute 1e-5 for outputs below 1 (all probabilities):
/// the kernel sums in Float32 in XGBoost's order, so the only differences left are `expf` and
/// `logf` implementations, a few ulps, far below 1e-5.
func withinFidelity(_ actual: Float, _ expected: Float) -> Bool {
    abs(actual - expected) <= 1e-5 * max(abs(expected), 1)
}
