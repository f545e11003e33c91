// A mirror of the parts of XGBoost's JSON model schema (`Booster.save_model("model.json")`, the
// `learner` document of XGBoost 1.x-3.x) that evaluation needs. Fields not listed (parents,
// loss_changes, sum_hessian, base_weights, categories, iteration_indptr, attributes) are skipped.
// Leaf values are read from `split_conditions`, which XGBoost's own loader uses for leaves;
// `base_weights` holds training statistics and is ignored.

extension XGBoostModel {
    struct RawDocument: Decodable {
        let learner: RawLearner
        let version: [Int]?
    }

    struct RawLearner: Decodable {
        let learnerModelParam: RawLearnerModelParam
        let objective: RawObjective
        let gradientBooster: RawGradientBooster

        enum CodingKeys: String, CodingKey {
            case learnerModelParam = "learner_model_param"
            case objective
            case gradientBooster = "gradient_booster"
        }
    }

    /// XGBoost writes these numbers as strings: `"base_score": "[5E-1]"`, `"num_class": "0"`.
    struct RawLearnerModelParam: Decodable {
        let baseScore: String
        let numClass: String
        let numFeature: String
        let numTarget: String?

        enum CodingKeys: String, CodingKey {
            case baseScore = "base_score"
            case numClass = "num_class"
            case numFeature = "num_feature"
            case numTarget = "num_target"
        }
    }

    struct RawObjective: Decodable {
        let name: String
    }

    struct RawGradientBooster: Decodable {
        let name: String
        /// Present for `gbtree`; `dart` nests its trees under `gbtree.model` instead.
        let model: RawTreeModel?
    }

    struct RawTreeModel: Decodable {
        let gbtreeModelParam: RawTreeModelParam?
        let trees: [RawTree]
        let treeInfo: [Int]

        enum CodingKeys: String, CodingKey {
            case gbtreeModelParam = "gbtree_model_param"
            case trees
            case treeInfo = "tree_info"
        }
    }

    struct RawTreeModelParam: Decodable {
        let numTrees: String?
        let numParallelTree: String?

        enum CodingKeys: String, CodingKey {
            case numTrees = "num_trees"
            case numParallelTree = "num_parallel_tree"
        }
    }

    struct RawTree: Decodable {
        let treeParam: RawTreeParam
        let leftChildren: [Int32]
        let rightChildren: [Int32]
        let splitIndices: [Int32]
        let splitConditions: [Float]
        let defaultLeft: [RawFlag]
        /// 0 numerical, 1 categorical; absent before XGBoost 1.6.
        let splitType: [Int]?

        enum CodingKeys: String, CodingKey {
            case treeParam = "tree_param"
            case leftChildren = "left_children"
            case rightChildren = "right_children"
            case splitIndices = "split_indices"
            case splitConditions = "split_conditions"
            case defaultLeft = "default_left"
            case splitType = "split_type"
        }
    }

    struct RawTreeParam: Decodable {
        let numNodes: String
        /// "0" (before 2.0) or "1" for scalar leaves; more means a multi-target tree.
        let sizeLeafVector: String?

        enum CodingKeys: String, CodingKey {
            case numNodes = "num_nodes"
            case sizeLeafVector = "size_leaf_vector"
        }
    }

    /// `default_left` is written as 0/1 integers by current XGBoost; booleans are accepted too.
    struct RawFlag: Decodable {
        let value: Bool

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) {
                value = flag
            } else {
                let number = try container.decode(Int.self)
                guard number == 0 || number == 1 else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "expected 0 or 1, found \(number)")
                }
                value = number == 1
            }
        }
    }
}
