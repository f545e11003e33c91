import Foundation
import Testing
@testable import InferenceCore

/// Issue 13 item 3: a scikit-learn pipeline SimpleImputer + OneHotEncoder + XGBoost, exported as a
/// `tree_ensemble` bundle whose features declare the imputed values as `default`
/// (scripts/fixtures/make_imputing_pipeline_fixture.py). The trees never saw a missing value in
/// training, so a missing value must reach them as the default, not as NaN.
@Suite("Imputing pipeline (SimpleImputer + encoder + XGBoost) fidelity")
struct ImputingPipelineFidelityTests {
    static let name = "xgb-imputing-pipeline"

    @Test("rows with missing values score as the pipeline scores them")
    func rowsWithMissingValuesMatchThePipeline() throws {
        let model = try ModelBundle.load(from: TestSupport.fixtureBundle(Self.name), options: .init(runSelfTest: false))
        #expect(model.kind == .treeEnsemble)
        #expect(model.schema.nativeMissing)
        let reference = try #require(model.reference)
        let rows = (0..<reference.rowCount).map { reference.rawRow($0, schema: model.schema) }
        let withMissing = rows.indices.filter { rows[$0].contains(.missing) }
        #expect(withMissing.count >= 400, "the fixture should have many rows with missing values, has \(withMissing.count)")
        let results = model.predict(rows)
        var mismatches: [String] = []
        var flipped = 0
        for (row, result) in results.enumerated() {
            guard case .binary(let score, _, let isPositive) = try result.get() else { Issue.record("not binary"); return }
            let expected = reference.expectedOutputs[row]
            if abs(Double(score) - Double(expected)) > 1e-5 { mismatches.append("row \(row): \(score) vs \(expected)") }
            if isPositive != (expected >= 0.5) { flipped += 1 }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(rows.count) rows differ, first: \(mismatches.prefix(3))")
        #expect(flipped == 0)
    }

    @Test("the bundle loads with its self-test and exercises every default and category")
    func selfTestPassesAndCoversTheMissingPaths() throws {
        let model = try ModelBundle.load(from: TestSupport.fixtureBundle(Self.name))
        #expect(try #require(model.selfTest()).passed)
        #expect(model.bundleWarnings().isEmpty, "\(model.bundleWarnings())")
        let defaults = model.schema.features.map { $0.numericDefault.map(String.init(describing:)) ?? $0.categoricalDefault ?? "-" }
        #expect(defaults.count == 5)
        #expect(defaults[2] == "-" && defaults[3] == "DE" && defaults[4] == "-")
    }
}
