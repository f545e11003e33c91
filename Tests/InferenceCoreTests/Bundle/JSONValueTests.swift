import Foundation
import Testing
import InferenceCore

@Suite("Free-form manifest JSON")
struct JSONValueTests {
    /// Issue 13 item 5: `model inspect` printed `n_estimators=150.0`; integers print as integers.
    @Test func scalarsPrintAsWritten() throws {
        let json = #"{"n_estimators": 150, "max_depth": 6.0, "learning_rate": 0.1, "seed": -7, "big": 1e20, "huge": 9007199254740993, "tiny": 1.5e-9, "library": "xgboost", "early_stopping": false, "params": {"a": 1}, "none": null}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        guard case .object(let training) = value else { Issue.record("not an object: \(value)"); return }
        #expect(training["n_estimators"]?.scalarText == "150")
        #expect(training["max_depth"]?.scalarText == "6")
        #expect(training["learning_rate"]?.scalarText == "0.1")
        #expect(training["seed"]?.scalarText == "-7")
        #expect(training["big"]?.scalarText == "1e+20")
        #expect(training["huge"]?.scalarText == "9007199254740992")  // beyond 2^53: the Double's value
        #expect(training["tiny"]?.scalarText == "1.5e-09")
        #expect(training["library"]?.scalarText == "xgboost")
        #expect(training["early_stopping"]?.scalarText == "false")
        #expect(training["params"]?.scalarText == nil)
        #expect(training["none"]?.scalarText == nil)
    }
}
