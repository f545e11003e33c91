// PLACEHOLDER: the tree-ensemble kernel is owned by another engineer and replaces this whole file at
// merge. It exists only so that the bundle loader (which dispatches `kind: "tree_ensemble"` to
// `TreeEnsembleKernel(xgboostJSON:)`) compiles on this branch. Do not add tree code here.
public import Foundation

/// Gradient-boosted / random-forest tree ensemble loaded from an XGBoost JSON dump.
///
/// Placeholder in this build: the initialiser always throws `TreeEnsembleKernel.Unavailable`.
public struct TreeEnsembleKernel: ModelKernel {
    /// Thrown by the placeholder: tree ensembles are not available in this build.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var description: String {
            "tree_ensemble models are not available in this build (TreeEnsembleKernel is a placeholder): use a build that includes the tree-ensemble kernel"
        }
    }

    public var inputWidth: Int { 0 }
    public var outputWidth: Int { 0 }

    /// Parses an XGBoost JSON model (`Booster.save_model("model.json")`).
    public init(xgboostJSON: Data) throws {
        throw Unavailable()
    }

    public func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        preconditionFailure("TreeEnsembleKernel placeholder cannot predict")
    }
}
