extension LoadedModel {
    /// What the self-test cannot vouch for: no reference rows at all, or reference rows that never
    /// take a missing-value path or a vocabulary entry. Empty for a bundle whose reference rows
    /// exercise every feature's missing value (where allowed) and every category.
    ///
    /// The self-test (``selfTest(batchSize:)``) only catches a wrong export on the paths its rows take:
    /// a wrong `default` needs a row where that feature is missing, a swapped one-hot column a row with
    /// that category. `scripts/export/bundle_writer.py` adds such rows itself.
    public func bundleWarnings() -> [ModelBundleWarning] {
        guard let reference else {
            return [ModelBundleWarning(
                code: .noReferenceRows, feature: nil,
                message: "the bundle has no reference rows, so weights, feature order and defaults are unchecked: export it with bundle_writer.py's reference()")]
        }
        var warnings: [ModelBundleWarning] = []
        let featureCount = reference.featureCount
        for (column, feature) in schema.features.enumerated() {
            var sawMissing = false
            var seenCategories = [Bool](repeating: false, count: feature.vocabulary.count)
            for row in 0..<reference.rowCount {
                let value = reference.rawInputs[row * featureCount + column]
                if value.isNaN {
                    sawMissing = true
                } else if feature.valueType == .categorical, let index = Int(exactly: value), seenCategories.indices.contains(index) {
                    seenCategories[index] = true
                }
            }
            if feature.missing == .allowed && !sawMissing {
                warnings.append(ModelBundleWarning(
                    code: .missingValueNotExercised, feature: feature.name,
                    message: "feature '\(feature.name)' allows missing values but no reference row leaves it missing, so its default is unchecked: add such a row"))
            }
            let unseen = feature.vocabulary.indices.filter { !seenCategories[$0] }.map { feature.vocabulary[$0] }
            if !unseen.isEmpty {
                let shown = unseen.prefix(10).map { "'\($0)'" }.joined(separator: ", ") + (unseen.count > 10 ? ", ... (\(unseen.count) in all)" : "")
                warnings.append(ModelBundleWarning(
                    code: .categoryNotExercised, feature: feature.name,
                    message: "feature '\(feature.name)': no reference row has \(shown), so those columns are unchecked: add rows with every vocabulary entry"))
            }
        }
        return warnings
    }
}
