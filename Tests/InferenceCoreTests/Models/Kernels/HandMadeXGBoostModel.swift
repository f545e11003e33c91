import Foundation

/// A tiny XGBoost JSON model written by hand, in the 3.x schema, for tests that need exact control
/// over thresholds, default directions and malformed fields.
struct HandMadeXGBoostModel {
    var objective = "reg:squarederror"
    var baseScore = "[0E0]"
    var numClass = "0"
    var numFeature = "2"
    var booster = "gbtree"
    var trees: [[String: Any]] = [Self.stump(feature: 0, threshold: 0.5, defaultLeft: true, left: -1, right: 2)]
    var treeInfo: [Int]? = nil

    /// A one-split tree: `x[feature] < threshold` goes to the `left` leaf, otherwise `right`;
    /// NaN goes left when `defaultLeft`.
    static func stump(feature: Int, threshold: Float, defaultLeft: Bool, left: Float, right: Float) -> [String: Any] {
        [
            "base_weights": [0, Double(left), Double(right)],
            "categories": [Int](), "categories_nodes": [Int](), "categories_segments": [Int](), "categories_sizes": [Int](),
            "default_left": [defaultLeft ? 1 : 0, 0, 0],
            "id": 0,
            "left_children": [1, -1, -1],
            "right_children": [2, -1, -1],
            "loss_changes": [1.0, 0, 0],
            "parents": [2_147_483_647, 0, 0],
            "split_conditions": [Double(threshold), Double(left), Double(right)],
            "split_indices": [feature, 0, 0],
            "split_type": [0, 0, 0],
            "sum_hessian": [2.0, 1, 1],
            "tree_param": ["num_deleted": "0", "num_feature": "2", "num_nodes": "3", "size_leaf_vector": "1"],
        ]
    }

    /// The document as a JSON object, for tests that corrupt it.
    var document: [String: Any] {
        [
            "learner": [
                "attributes": [String: Any](),
                "feature_names": [String](),
                "feature_types": [String](),
                "gradient_booster": [
                    "name": booster,
                    "model": [
                        "gbtree_model_param": ["num_parallel_tree": "1", "num_trees": "\(trees.count)"],
                        "iteration_indptr": Array(0...trees.count),
                        "tree_info": treeInfo ?? Array(repeating: 0, count: trees.count),
                        "trees": trees,
                    ] as [String: Any],
                ] as [String: Any],
                "learner_model_param": [
                    "base_score": baseScore, "boost_from_average": "1", "num_class": numClass,
                    "num_feature": numFeature, "num_target": "1",
                ],
                "objective": ["name": objective],
            ] as [String: Any],
            "version": [3, 2, 0],
        ]
    }

    var json: Data { Self.serialize(document) }

    static func serialize(_ object: [String: Any]) -> Data {
        // Hand-built dictionaries of JSON types always serialize.
        try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
