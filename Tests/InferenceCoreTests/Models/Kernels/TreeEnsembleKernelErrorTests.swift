import Foundation
import InferenceCore
import Testing

/// Bad model files become a ``TreeEnsembleError`` that names the reason and the JSON path.
@Suite("TreeEnsembleKernel rejects bad models")
struct TreeEnsembleKernelErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let json: @Sendable () -> Data
        let code: TreeEnsembleError.Code
        /// The error's path must be exactly this.
        let path: String
        /// The message must contain this.
        let mentions: String

        var testDescription: String { name }
    }

    /// A hand-made model, changed by `change`.
    private static func model(_ change: @escaping @Sendable (inout HandMadeXGBoostModel) -> Void) -> @Sendable () -> Data {
        {
            var model = HandMadeXGBoostModel()
            change(&model)
            return model.json
        }
    }

    private static let tree0 = "learner.gradient_booster.model.trees[0]"

    static let cases: [Case] = [
        Case(name: "empty file", json: { Data() }, code: .malformedJSON, path: "", mentions: ""),
        Case(name: "not JSON", json: { Data("model: trees".utf8) }, code: .malformedJSON, path: "", mentions: ""),
        Case(name: "truncated JSON", json: { let json = HandMadeXGBoostModel().json; return json.prefix(json.count / 2) },
             code: .malformedJSON, path: "", mentions: ""),
        Case(name: "UBJSON model (model.ubj)",
             json: { Data([UInt8(ascii: "{"), UInt8(ascii: "L"), 0, 0, 0, 0, 0, 0, 0, 7] + Array("learner{".utf8)) },
             code: .malformedJSON, path: "", mentions: "UBJSON"),
        Case(name: "JSON array instead of object", json: { Data("[1, 2]".utf8) }, code: .invalidField, path: "", mentions: ""),
        Case(name: "unsupported objective", json: model { $0.objective = "rank:pairwise" },
             code: .unsupportedObjective, path: "learner.objective.name", mentions: "rank:pairwise"),
        Case(name: "gblinear booster", json: model { $0.booster = "gblinear" },
             code: .unsupportedBooster, path: "learner.gradient_booster.name", mentions: "gblinear"),
        Case(name: "missing learner_model_param",
             json: {
                 var document = HandMadeXGBoostModel().document
                 var learner = document["learner"] as! [String: Any]
                 learner["learner_model_param"] = nil
                 document["learner"] = learner
                 return HandMadeXGBoostModel.serialize(document)
             },
             code: .missingField, path: "learner.learner_model_param", mentions: "learner_model_param"),
        Case(name: "missing split_conditions", json: model { $0.trees[0]["split_conditions"] = nil },
             code: .missingField, path: "\(tree0).split_conditions", mentions: "split_conditions"),
        Case(name: "count written as a number", json: model { $0.numFeature = "two" },
             code: .invalidField, path: "learner.learner_model_param.num_feature", mentions: "two"),
        Case(name: "default_left not 0 or 1", json: model { $0.trees[0]["default_left"] = ["yes", 0, 0] },
             code: .invalidField, path: "\(tree0).default_left[0]", mentions: ""),
        Case(name: "child index out of range", json: model { $0.trees[0]["left_children"] = [7, -1, -1] },
             code: .invalidField, path: "\(tree0).left_children[0]", mentions: "outside"),
        Case(name: "child pointing back to the root", json: model { $0.trees[0]["right_children"] = [0, -1, -1] },
             code: .invalidField, path: "\(tree0).left_children", mentions: "reached twice"),
        Case(name: "leaf with a right child", json: model { $0.trees[0]["right_children"] = [2, 2, -1] },
             code: .invalidField, path: "\(tree0).right_children[1]", mentions: "leaf"),
        Case(name: "split on a feature beyond num_feature", json: model { $0.trees[0]["split_indices"] = [5, 0, 0] },
             code: .invalidField, path: "\(tree0).split_indices[0]", mentions: "num_feature is 2"),
        Case(name: "arrays shorter than num_nodes", json: model { $0.trees[0]["split_conditions"] = [0.5, 1] },
             code: .invalidField, path: "\(tree0).split_conditions", mentions: "num_nodes is 3"),
        Case(name: "categorical split", json: model { $0.trees[0]["split_type"] = [1, 0, 0] },
             code: .unsupportedTreeFeature, path: "\(tree0).split_type[0]", mentions: "categorical"),
        Case(name: "vector leaves",
             json: model { $0.trees[0]["tree_param"] = ["num_nodes": "3", "size_leaf_vector": "3", "num_feature": "2"] },
             code: .unsupportedTreeFeature, path: "\(tree0).tree_param.size_leaf_vector", mentions: "vector leaves"),
        Case(name: "tree_info group beyond the outputs", json: model { $0.treeInfo = [1] },
             code: .invalidField, path: "learner.gradient_booster.model.tree_info[0]", mentions: "group 1"),
        Case(name: "fewer trees than num_trees",
             json: {
                 var document = HandMadeXGBoostModel().document
                 var learner = document["learner"] as! [String: Any]
                 var booster = learner["gradient_booster"] as! [String: Any]
                 var model = booster["model"] as! [String: Any]
                 model["gbtree_model_param"] = ["num_parallel_tree": "1", "num_trees": "2"]
                 booster["model"] = model
                 learner["gradient_booster"] = booster
                 document["learner"] = learner
                 return HandMadeXGBoostModel.serialize(document)
             },
             code: .invalidField, path: "learner.gradient_booster.model.gbtree_model_param.num_trees", mentions: "incomplete"),
        Case(name: "binary base_score not a probability",
             json: model { $0.objective = "binary:logistic"; $0.baseScore = "[1.5E0]" },
             code: .invalidField, path: "learner.learner_model_param.base_score", mentions: "probability"),
        Case(name: "base_score not a number", json: model { $0.baseScore = "[abc]" },
             code: .invalidField, path: "learner.learner_model_param.base_score", mentions: "abc"),
        Case(name: "base_score of the wrong length", json: model { $0.baseScore = "[1E0,2E0]" },
             code: .invalidField, path: "learner.learner_model_param.base_score", mentions: "2 values"),
        Case(name: "multiclass without num_class", json: model { $0.objective = "multi:softprob" },
             code: .invalidField, path: "learner.learner_model_param.num_class", mentions: "num_class >= 2"),
        Case(name: "multi-target model", json: {
                 var document = HandMadeXGBoostModel().document
                 var learner = document["learner"] as! [String: Any]
                 learner["learner_model_param"] = [
                     "base_score": "[0E0]", "num_class": "0", "num_feature": "2", "num_target": "2",
                 ]
                 document["learner"] = learner
                 return HandMadeXGBoostModel.serialize(document)
             },
             code: .unsupportedTreeFeature, path: "learner.learner_model_param.num_target", mentions: "num_target 2"),
    ]

    @Test("a bad model throws TreeEnsembleError with code, path and reason", arguments: cases)
    func badModel(_ badCase: Case) throws {
        let json = badCase.json()
        let error = try #require(throws: TreeEnsembleError.self) {
            try TreeEnsembleKernel(xgboostJSON: json)
        }
        #expect(error.code == badCase.code, "\(error)")
        #expect(error.path == badCase.path, "\(error)")
        #expect(badCase.mentions.isEmpty || error.message.contains(badCase.mentions), "\(error)")
        #expect(badCase.path.isEmpty || error.description.contains(badCase.path), "the description names where")
        #expect(error.isRetriable == false)
    }

    @Test("every prefix of a real model is rejected cleanly, never a crash")
    func truncatedRealModel() throws {
        let json = try XGBoostFixture.load("rf_multiclass").modelJSON
        for length in stride(from: 0, to: json.count, by: max(1, json.count / 97)) {
            #expect(throws: TreeEnsembleError.self, "prefix of \(length) bytes") {
                try TreeEnsembleKernel(xgboostJSON: json.prefix(length))
            }
        }
    }

    @Test("unsupported features are flagged as such, broken files are not")
    func unsupportedFlag() {
        #expect(TreeEnsembleError(code: .unsupportedObjective, path: "", message: "").isUnsupportedFeature)
        #expect(TreeEnsembleError(code: .unsupportedTreeFeature, path: "", message: "").isUnsupportedFeature)
        #expect(!TreeEnsembleError(code: .malformedJSON, path: "", message: "").isUnsupportedFeature)
        #expect(!TreeEnsembleError(code: .invalidField, path: "", message: "").isUnsupportedFeature)
    }
}
