import Foundation
import Testing
@testable import InferenceCore

@Suite("Version ordering")
struct ModelVersionTests {
    @Test func numericAware() {
        #expect(ModelVersion("10") > ModelVersion("9"))
        #expect(ModelVersion("1.10") > ModelVersion("1.9"))
        #expect(ModelVersion("2") < ModelVersion("2a"))
        #expect(ModelVersion("v2") < ModelVersion("v10"))
        #expect(ModelVersion("123456789012345678901234567890") > ModelVersion("99"))
        #expect(["10", "9", "1", "100", "2"].map { ModelVersion($0) }.sorted().map(\.name) == ["1", "2", "9", "10", "100"])
    }

    @Test func listingSkipsHiddenDirectoriesAndFiles() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        for name in ["9", "10", ".staging-11", "2"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try Data().write(to: root.appendingPathComponent("README"))
        #expect(try ModelBundle.versions(in: root).map(\.name) == ["2", "9", "10"])
        #expect(throws: ModelBundleError.self) { try ModelBundle.versions(in: root.appendingPathComponent("absent")) }
    }
}
