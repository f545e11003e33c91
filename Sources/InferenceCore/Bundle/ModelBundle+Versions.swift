public import Foundation

extension ModelBundle {
    /// The version directories in `modelDirectory` (`<root>/<name>/`), ascending in numeric-aware order.
    ///
    /// Hidden entries (starting with ".") and plain files are skipped, so an exporter can write a
    /// bundle into `.staging-4/` and rename it to `4/` when complete.
    public static func versions(in modelDirectory: URL) throws(ModelBundleError) -> [ModelVersion] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: modelDirectory.path)
        } catch {
            throw ModelBundleError(
                code: .noVersions, message: "cannot list the model directory: check that <root>/<model-name>/ exists and is readable",
                path: modelDirectory.path, underlying: error)
        }
        var versions: [ModelVersion] = []
        for name in names where !name.hasPrefix(".") {
            var isDirectory: ObjCBool = false
            let path = modelDirectory.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                versions.append(ModelVersion(name))
            }
        }
        return versions.sorted()
    }
}
