import Foundation

/// An XGBoost tree ensemble read from its JSON model format and checked node by node, ready to be
/// laid out for evaluation by ``TreeEnsembleKernel``.
///
/// Everything that could make evaluation read out of bounds or loop forever is rejected here with a
/// ``TreeEnsembleError`` naming the JSON path: child indices out of range or reaching a node twice,
/// split features beyond `num_feature`, arrays shorter than `num_nodes`, tree groups beyond the
/// number of outputs. After `parse` succeeds, every tree is a finite binary tree rooted at node 0.
struct XGBoostModel: Sendable {
    /// One regression tree in XGBoost's own node numbering; node 0 is the root.
    struct Tree: Sendable {
        /// Left child per node, -1 for a leaf.
        var leftChildren: [Int32]
        /// Right child per node, -1 for a leaf.
        var rightChildren: [Int32]
        /// Feature compared at a split node.
        var splitIndices: [Int32]
        /// Threshold at a split node (go left when `x < threshold`), leaf value at a leaf.
        var splitConditions: [Float]
        /// Where a missing (NaN) feature goes at a split node.
        var defaultLeft: [Bool]

        var nodeCount: Int { leftChildren.count }
        func isLeaf(_ node: Int) -> Bool { leftChildren[node] == -1 }
    }

    /// What the margins mean and how they become outputs.
    var objective: TreeEnsembleObjective
    /// Features per row (`num_feature`).
    var featureCount: Int
    /// The starting margin of each output group, `base_score` already turned into a margin.
    var baseMargins: [Float]
    /// The trees, in the order XGBoost sums them.
    var trees: [Tree]
    /// The output group (class) each tree adds to, from `tree_info`.
    var treeGroups: [Int]
    /// The XGBoost version that wrote the model, when recorded.
    var xgboostVersion: [Int]?

    private static let modelPath = "learner.gradient_booster.model"

    /// Parses and validates `Booster.save_model("model.json")` output.
    static func parse(json data: Data) throws(TreeEnsembleError) -> XGBoostModel {
        let document: RawDocument
        do {
            document = try JSONDecoder().decode(RawDocument.self, from: data)
        } catch let error as DecodingError {
            throw Self.translate(error, in: data)
        } catch {
            throw TreeEnsembleError(
                code: .malformedJSON, path: "", message: "the model is not readable JSON: \(error)", underlying: error)
        }
        return try Self.validate(document)
    }

    // MARK: - Validation

    private static func validate(_ document: RawDocument) throws(TreeEnsembleError) -> XGBoostModel {
        let learner = document.learner
        let param = learner.learnerModelParam
        let paramPath = "learner.learner_model_param"

        let featureCount = try count(param.numFeature, at: "\(paramPath).num_feature")
        guard featureCount > 0 else {
            throw TreeEnsembleError(
                code: .invalidField, path: "\(paramPath).num_feature",
                message: "num_feature is 0: the model was saved before it was trained")
        }
        let classCount = try count(param.numClass, at: "\(paramPath).num_class")
        if let numTarget = param.numTarget {
            let targets = try count(numTarget, at: "\(paramPath).num_target")
            guard targets <= 1 else {
                throw TreeEnsembleError(
                    code: .unsupportedTreeFeature, path: "\(paramPath).num_target",
                    message: "multi-target models (num_target \(targets)) are not supported; train one model per target")
            }
        }

        let objective = try objective(named: learner.objective.name, classCount: classCount)
        let groups = objective.outputGroups
        let baseMargins = try baseMargins(param.baseScore, objective: objective, at: "\(paramPath).base_score")

        let booster = learner.gradientBooster
        switch booster.name {
        case "gbtree":
            break
        case "dart":
            throw TreeEnsembleError(
                code: .unsupportedBooster, path: "learner.gradient_booster.name",
                message: "the dart booster is not supported; train with booster gbtree")
        default:
            throw TreeEnsembleError(
                code: .unsupportedBooster, path: "learner.gradient_booster.name",
                message: "booster '\(booster.name)' is not supported; only gbtree tree ensembles are")
        }
        guard let model = booster.model else {
            throw TreeEnsembleError(
                code: .missingField, path: modelPath, message: "a gbtree booster needs its 'model' object")
        }

        guard model.trees.count == model.treeInfo.count else {
            throw TreeEnsembleError(
                code: .invalidField, path: "\(modelPath).tree_info",
                message: "tree_info has \(model.treeInfo.count) entries but there are \(model.trees.count) trees")
        }
        if let declared = model.gbtreeModelParam?.numTrees {
            let numTrees = try count(declared, at: "\(modelPath).gbtree_model_param.num_trees")
            guard numTrees == model.trees.count else {
                throw TreeEnsembleError(
                    code: .invalidField, path: "\(modelPath).gbtree_model_param.num_trees",
                    message: "num_trees is \(numTrees) but the trees array holds \(model.trees.count): the file is incomplete")
            }
        }
        for (index, group) in model.treeInfo.enumerated() where !(0..<groups).contains(group) {
            throw TreeEnsembleError(
                code: .invalidField, path: "\(modelPath).tree_info[\(index)]",
                message: "tree \(index) adds to output group \(group), but \(objective.name) has \(groups) group(s)")
        }

        var trees: [Tree] = []
        trees.reserveCapacity(model.trees.count)
        for (index, raw) in model.trees.enumerated() {
            trees.append(try tree(raw, featureCount: featureCount, at: "\(modelPath).trees[\(index)]"))
        }

        return XGBoostModel(
            objective: objective, featureCount: featureCount, baseMargins: baseMargins,
            trees: trees, treeGroups: model.treeInfo, xgboostVersion: document.version)
    }

    private static func objective(named name: String, classCount: Int) throws(TreeEnsembleError) -> TreeEnsembleObjective {
        let path = "learner.learner_model_param.num_class"
        switch name {
        case "reg:squarederror", "binary:logistic":
            guard classCount <= 1 else {
                throw TreeEnsembleError(
                    code: .invalidField, path: path, message: "num_class is \(classCount) but \(name) has one output")
            }
            return name == "binary:logistic" ? .binaryLogistic : .squaredErrorRegression
        case "multi:softprob", "multi:softmax":
            guard classCount >= 2 else {
                throw TreeEnsembleError(
                    code: .invalidField, path: path, message: "\(name) needs num_class >= 2, found \(classCount)")
            }
            return name == "multi:softprob"
                ? .multiclassSoftprob(classCount: classCount) : .multiclassSoftmax(classCount: classCount)
        default:
            throw TreeEnsembleError(
                code: .unsupportedObjective, path: "learner.objective.name",
                message: "objective '\(name)' is not supported; supported: "
                    + TreeEnsembleObjective.supportedNames.joined(separator: ", "))
        }
    }

    /// `base_score` is `"5E-1"` (XGBoost < 3.1) or a vector `"[5E-1]"` / `"[a,b,c]"` (3.1+, one value
    /// per class for multiclass). For binary:logistic it is a probability and the margin is its logit;
    /// for the other objectives it is already a margin (measured against XGBoost 3.2.0's
    /// `predict(output_margin=True)`).
    private static func baseMargins(
        _ text: String, objective: TreeEnsembleObjective, at path: String
    ) throws(TreeEnsembleError) -> [Float] {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        if body.hasPrefix("[") && body.hasSuffix("]") {
            body = body.dropFirst().dropLast()
        }
        var scores: [Float] = []
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let value = Float(trimmed), value.isFinite else {
                throw TreeEnsembleError(
                    code: .invalidField, path: path,
                    message: "base_score '\(text)' is not a number or a bracketed list of numbers")
            }
            scores.append(value)
        }
        let groups = objective.outputGroups
        if scores.count == 1 && groups > 1 {
            scores = Array(repeating: scores[0], count: groups)
        }
        guard scores.count == groups else {
            throw TreeEnsembleError(
                code: .invalidField, path: path,
                message: "base_score has \(scores.count) values but \(objective.name) has \(groups) output group(s)")
        }
        guard objective == .binaryLogistic else { return scores }
        return try scores.map { (score: Float) throws(TreeEnsembleError) -> Float in
            guard score > 0 && score < 1 else {
                throw TreeEnsembleError(
                    code: .invalidField, path: path,
                    message: "base_score \(score) must be a probability strictly between 0 and 1 for binary:logistic")
            }
            // XGBoost's ProbToMargin for logistic objectives, in float as XGBoost computes it.
            return -log(1 / score - 1)
        }
    }

    private static func tree(_ raw: RawTree, featureCount: Int, at path: String) throws(TreeEnsembleError) -> Tree {
        let nodeCount = try count(raw.treeParam.numNodes, at: "\(path).tree_param.num_nodes")
        guard nodeCount >= 1 else {
            throw TreeEnsembleError(code: .invalidField, path: "\(path).tree_param.num_nodes", message: "a tree needs at least one node")
        }
        if let sizeText = raw.treeParam.sizeLeafVector {
            let size = try count(sizeText, at: "\(path).tree_param.size_leaf_vector")
            guard size <= 1 else {
                throw TreeEnsembleError(
                    code: .unsupportedTreeFeature, path: "\(path).tree_param.size_leaf_vector",
                    message: "vector leaves (size \(size), multi_strategy multi_output_tree) are not supported")
            }
        }
        let lengths: [(String, Int)] = [
            ("left_children", raw.leftChildren.count), ("right_children", raw.rightChildren.count),
            ("split_indices", raw.splitIndices.count), ("split_conditions", raw.splitConditions.count),
            ("default_left", raw.defaultLeft.count), ("split_type", raw.splitType?.count ?? nodeCount),
        ]
        for (field, length) in lengths where length != nodeCount {
            throw TreeEnsembleError(
                code: .invalidField, path: "\(path).\(field)",
                message: "\(field) has \(length) entries but num_nodes is \(nodeCount)")
        }

        for node in 0..<nodeCount {
            let left = Int(raw.leftChildren[node])
            let right = Int(raw.rightChildren[node])
            if left == -1 {
                guard right == -1 else {
                    throw TreeEnsembleError(
                        code: .invalidField, path: "\(path).right_children[\(node)]",
                        message: "node \(node) is a leaf (left child -1) but has right child \(right)")
                }
                guard raw.splitConditions[node].isFinite else {
                    throw TreeEnsembleError(
                        code: .invalidField, path: "\(path).split_conditions[\(node)]",
                        message: "leaf value \(raw.splitConditions[node]) is not finite")
                }
                continue
            }
            for (field, child) in [("left_children", left), ("right_children", right)]
            where !(0..<nodeCount).contains(child) {
                throw TreeEnsembleError(
                    code: .invalidField, path: "\(path).\(field)[\(node)]",
                    message: "child \(child) of node \(node) is outside 0..<\(nodeCount)")
            }
            if let splitType = raw.splitType, splitType[node] != 0 {
                throw TreeEnsembleError(
                    code: .unsupportedTreeFeature, path: "\(path).split_type[\(node)]",
                    message: "node \(node) is a categorical split; categorical features are not supported, "
                        + "one-hot encode them before training")
            }
            let feature = Int(raw.splitIndices[node])
            guard (0..<featureCount).contains(feature) else {
                throw TreeEnsembleError(
                    code: .invalidField, path: "\(path).split_indices[\(node)]",
                    message: "node \(node) splits on feature \(feature) but num_feature is \(featureCount)")
            }
            guard !raw.splitConditions[node].isNaN else {
                throw TreeEnsembleError(
                    code: .invalidField, path: "\(path).split_conditions[\(node)]",
                    message: "node \(node) has a NaN threshold")
            }
        }

        // Every node reachable from the root is reached exactly once: no cycles, no shared
        // subtrees, so evaluation always ends at a leaf. Unreached nodes (pruned) are ignored.
        var seen = [Bool](repeating: false, count: nodeCount)
        var stack = [0]
        seen[0] = true
        while let node = stack.popLast() {
            guard raw.leftChildren[node] != -1 else { continue }
            for child in [Int(raw.leftChildren[node]), Int(raw.rightChildren[node])] {
                guard !seen[child] else {
                    throw TreeEnsembleError(
                        code: .invalidField, path: "\(path).left_children",
                        message: "node \(child) is reached twice (from node \(node)): the nodes do not form a tree")
                }
                seen[child] = true
                stack.append(child)
            }
        }

        return Tree(
            leftChildren: raw.leftChildren, rightChildren: raw.rightChildren, splitIndices: raw.splitIndices,
            splitConditions: raw.splitConditions, defaultLeft: raw.defaultLeft.map(\.value))
    }

    /// XGBoost writes counts as decimal strings.
    private static func count(_ text: String, at path: String) throws(TreeEnsembleError) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
            throw TreeEnsembleError(
                code: .invalidField, path: path, message: "expected a non-negative integer string, found '\(text)'")
        }
        return value
    }

    // MARK: - Decoder errors

    private static func translate(_ error: DecodingError, in data: Data) -> TreeEnsembleError {
        switch error {
        case .keyNotFound(let key, let context):
            return TreeEnsembleError(
                code: .missingField, path: jsonPath(context.codingPath + [key]),
                message: "required field '\(key.stringValue)' is missing", underlying: error)
        case .valueNotFound(let type, let context):
            return TreeEnsembleError(
                code: .invalidField, path: jsonPath(context.codingPath),
                message: "expected \(type), found null", underlying: error)
        case .typeMismatch(let type, let context):
            return TreeEnsembleError(
                code: .invalidField, path: jsonPath(context.codingPath),
                message: "expected \(type): \(context.debugDescription)", underlying: error)
        case .dataCorrupted where looksLikeUBJSON(data):
            return TreeEnsembleError(
                code: .malformedJSON, path: "",
                message: "this looks like XGBoost's binary UBJSON format (model.ubj); "
                    + "save the model with a .json file name instead", underlying: error)
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // The document itself failed to parse: truncated or not JSON. JSONDecoder on Linux says
            // only "not valid JSON"; JSONSerialization says where, so ask it (error path only).
            return TreeEnsembleError(
                code: .malformedJSON, path: "",
                message: "the \(data.count)-byte file is not valid JSON (truncated or not a JSON model?): "
                    + syntaxErrorDetail(data, otherwise: context.debugDescription),
                underlying: error)
        case .dataCorrupted(let context):
            let detail = context.underlyingError.map { " (\($0))" } ?? ""
            return TreeEnsembleError(
                code: .invalidField, path: jsonPath(context.codingPath),
                message: context.debugDescription + detail, underlying: error)
        @unknown default:
            return TreeEnsembleError(code: .malformedJSON, path: "", message: "\(error)", underlying: error)
        }
    }

    /// A UBJSON object opens with `{` and a length-typed key (`L`, `l`, `I`, `i`, `U`), where JSON
    /// would have whitespace, `"` or `}`.
    private static func looksLikeUBJSON(_ data: Data) -> Bool {
        guard data.count >= 2, data[data.startIndex] == UInt8(ascii: "{") else { return false }
        return [UInt8(ascii: "L"), UInt8(ascii: "l"), UInt8(ascii: "I"), UInt8(ascii: "i"), UInt8(ascii: "U")]
            .contains(data[data.startIndex + 1])
    }

    /// JSONSerialization's description of a syntax error, such as "Unexpected end of file during
    /// JSON parse." or "Invalid value around character 14.".
    private static func syntaxErrorDetail(_ data: Data, otherwise fallback: String) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return fallback
        } catch {
            let info = (error as NSError).userInfo
            return (info[NSDebugDescriptionErrorKey] as? String) ?? fallback
        }
    }

    /// `learner.gradient_booster.model.trees[3].left_children` from a decoder coding path.
    static func jsonPath(_ keys: [any CodingKey]) -> String {
        var path = ""
        for key in keys {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return path
    }
}
