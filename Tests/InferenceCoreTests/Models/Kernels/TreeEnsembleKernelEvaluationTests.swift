import Foundation
import InferenceCore
import Testing

/// Split rule, missing values and base_score on hand-made models whose answers are known exactly.
@Suite("TreeEnsembleKernel evaluation rules")
struct TreeEnsembleKernelEvaluationTests {
    /// Tree 0 splits f0 at 0.5 and sends NaN left (-1 | +2); tree 1 splits f1 at -3 and sends NaN
    /// right (+10 | +20). Regression with base score 0, so outputs are plain leaf sums.
    private func twoStumps() throws -> TreeEnsembleKernel {
        var model = HandMadeXGBoostModel()
        model.trees = [
            HandMadeXGBoostModel.stump(feature: 0, threshold: 0.5, defaultLeft: true, left: -1, right: 2),
            HandMadeXGBoostModel.stump(feature: 1, threshold: -3, defaultLeft: false, left: 10, right: 20),
        ]
        return try TreeEnsembleKernel(xgboostJSON: model.json)
    }

    @Test("NaN follows each split's default direction")
    func missingValuesFollowDefaultDirection() throws {
        let kernel = try twoStumps()
        #expect(kernel.predictAll([.nan, .nan]) == [-1 + 20])  // left in tree 0, right in tree 1
        #expect(kernel.predictAll([.nan, -4]) == [-1 + 10])
        #expect(kernel.predictAll([0.7, .nan]) == [2 + 20])
        #expect(kernel.predictAll([Float(bitPattern: 0x7FC0_1234), .nan]) == [-1 + 20], "any NaN payload is missing")
    }

    @Test("a value equal to the threshold goes right (XGBoost splits on x < threshold)")
    func thresholdIsStrictlyLess() throws {
        let kernel = try twoStumps()
        #expect(kernel.predictAll([0.5, -3]) == [2 + 20])
        #expect(kernel.predictAll([(0.5 as Float).nextDown, (-3 as Float).nextDown]) == [-1 + 10])
        #expect(kernel.predictAll([(0.5 as Float).nextUp, (-3 as Float).nextUp]) == [2 + 20])
        #expect(kernel.predictAll([-.infinity, .infinity]) == [-1 + 20])
    }

    @Test("several rows in one batch are evaluated independently")
    func batchOfRows() throws {
        let kernel = try twoStumps()
        #expect(kernel.predictAll([0, 0, 1, -5, .nan, .nan, 0.5, -3]) == [19, 12, 19, 22])
    }

    @Test("binary:logistic base_score is a probability, scalar or vector form",
          arguments: ["5E-1", "[5E-1]", "0.5", "[8E-1]"])
    func binaryBaseScore(baseScore: String) throws {
        var model = HandMadeXGBoostModel()
        model.objective = "binary:logistic"
        model.baseScore = baseScore
        model.trees = [HandMadeXGBoostModel.stump(feature: 0, threshold: 0, defaultLeft: false, left: 0, right: 1)]
        let kernel = try TreeEnsembleKernel(xgboostJSON: model.json)
        let probability = Float(baseScore.trimmingCharacters(in: CharacterSet(charactersIn: "[]")))!
        // Left leaf adds 0: the output is base_score itself; right adds 1 to its logit.
        let left = kernel.predictAll([-1, 0])[0]
        let right = kernel.predictAll([1, 0])[0]
        #expect(abs(left - probability) <= 1e-6)
        let expectedRight = 1 / (1 + exp(-(log(probability / (1 - probability)) + 1)))
        #expect(abs(right - expectedRight) <= 1e-6)
    }

    @Test("reg:squarederror base_score is added as it is")
    func regressionBaseScore() throws {
        var model = HandMadeXGBoostModel()
        model.baseScore = "[-2.5E0]"
        let kernel = try TreeEnsembleKernel(xgboostJSON: model.json)
        #expect(kernel.predictAll([0, 0]) == [-3.5])
        #expect(kernel.predictAll([1, 0]) == [-0.5])
    }

    @Test("multiclass trees add to the class tree_info names; a scalar base_score is shared")
    func multiclassGroups() throws {
        var model = HandMadeXGBoostModel()
        model.objective = "multi:softprob"
        model.numClass = "3"
        model.baseScore = "5E-1"
        // Two trees for class 2 (as a random forest lays them out), one for class 0, none for class 1.
        model.trees = [
            HandMadeXGBoostModel.stump(feature: 0, threshold: 0, defaultLeft: false, left: 1, right: 1),
            HandMadeXGBoostModel.stump(feature: 0, threshold: 0, defaultLeft: false, left: 0.5, right: 0.5),
            HandMadeXGBoostModel.stump(feature: 0, threshold: 0, defaultLeft: false, left: 0.5, right: 0.5),
        ]
        model.treeInfo = [0, 2, 2]
        let kernel = try TreeEnsembleKernel(xgboostJSON: model.json)
        #expect(kernel.outputWidth == 3)
        let output = kernel.predictAll([1, 1])
        // Margins 1.5, 0.5, 1.5.
        let denominator = 2 * exp(Float(1.5)) + exp(Float(0.5))
        let expected = [exp(Float(1.5)) / denominator, exp(Float(0.5)) / denominator, exp(Float(1.5)) / denominator]
        for (actual, wanted) in zip(output, expected) {
            #expect(abs(actual - wanted) <= 1e-6)
        }
    }

    @Test("uneven depths, children in any order and unreachable nodes, one row or many at a time")
    func irregularTree() throws {
        // 0: f0 < 0 ? 4 : 1 (NaN right);  1: f1 < 0 ? 2 : 5 (NaN left);  3: unreachable (pruned).
        var tree = HandMadeXGBoostModel.stump(feature: 0, threshold: 0, defaultLeft: false, left: 0, right: 0)
        tree["left_children"] = [4, 2, -1, -1, -1, -1]
        tree["right_children"] = [1, 5, -1, -1, -1, -1]
        tree["split_indices"] = [0, 1, 0, 0, 0, 0]
        tree["split_conditions"] = [0, 0, 10, 999, -1, 20]
        tree["default_left"] = [0, 1, 0, 0, 0, 0]
        tree["split_type"] = [0, 0, 0, 0, 0, 0]
        tree["tree_param"] = ["num_deleted": "1", "num_feature": "2", "num_nodes": "6", "size_leaf_vector": "1"]
        var model = HandMadeXGBoostModel()
        model.trees = [tree, tree, HandMadeXGBoostModel.stump(feature: 1, threshold: 5, defaultLeft: true, left: 0, right: 100)]
        let kernel = try TreeEnsembleKernel(xgboostJSON: model.json)
        #expect(kernel.nodeCount == 5 + 5 + 3, "the unreachable node is dropped")

        let rows: [[Float]] = [[-1, 0], [1, -1], [1, 1], [.nan, .nan], [1, .nan], [-1, 7], [0, 0], [.nan, 6], [1, -3]]
        let expected: [Float] = [-2, 20, 40, 20, 20, 98, 40, 140, 20]
        #expect(kernel.predictAll(rows.flatMap { $0 }) == expected, "nine rows: eight in lockstep, one alone")
        for (row, value) in zip(rows, expected) {
            #expect(kernel.predictAll(row) == [value], "row \(row) alone")
        }
    }

    @Test("a model without trees predicts its base score")
    func noTrees() throws {
        var model = HandMadeXGBoostModel()
        model.baseScore = "[1.25E0]"
        model.trees = []
        let kernel = try TreeEnsembleKernel(xgboostJSON: model.json)
        #expect(kernel.treeCount == 0)
        #expect(kernel.predictAll([3, 4, 5, 6]) == [1.25, 1.25])
    }
}
