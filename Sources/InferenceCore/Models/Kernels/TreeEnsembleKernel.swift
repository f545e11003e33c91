public import Foundation

/// A gradient-boosted (or random-forest) tree ensemble trained by XGBoost, evaluated in pure Swift.
///
/// Built from XGBoost's JSON model (`Booster.save_model("model.json")`); supports the objectives in
/// ``TreeEnsembleObjective``, `base_score`, missing values (NaN follows each split's default
/// direction) and random forests (`num_parallel_tree > 1`: every tree adds to the output group
/// that `tree_info` names, exactly as XGBoost sums them).
///
/// Evaluation follows XGBoost bit for bit where it matters: inputs and thresholds are Float32 and a
/// row goes left when `x < threshold` (strictly less); the margins start at the base margins and
/// add the trees' leaf values in model order, in Float32; then sigmoid or softmax as XGBoost's
/// CPU predictor computes them.
///
/// Layout: all trees are flattened into one set of contiguous columns (struct of arrays: split
/// feature, threshold, first child, default-left flag, leaf value). Nodes are renumbered breadth
/// first at load so that the two children of a split are adjacent: the right child is always
/// `firstChild + 1`, which saves a column and a load per step. Rows are evaluated in blocks, tree by
/// tree, so one tree's nodes stay in cache while the block's rows walk it.
public struct TreeEnsembleKernel: ModelKernel {
    public let inputWidth: Int
    public let outputWidth: Int
    /// The XGBoost objective, which fixed the outputs' meaning.
    public let objective: TreeEnsembleObjective
    /// The XGBoost version that wrote the model, such as `[3, 2, 0]`, when it is recorded.
    public let xgboostVersion: [Int]?

    /// Starting margin per output group (base_score as a margin).
    private let baseMargins: [Float]
    /// Root node index of each tree in the node columns.
    private let treeRoots: [Int32]
    /// Output group each tree adds to.
    private let treeGroups: [Int32]
    // Node columns, one entry per node of all trees.
    /// Feature compared at a split (0 at leaves, never read there).
    private let nodeFeature: ContiguousArray<Int32>
    /// Threshold at a split: go left when `x < threshold`.
    private let nodeThreshold: ContiguousArray<Float>
    /// Index of the left child at a split (the right child is the next index); -1 at a leaf.
    private let nodeFirstChild: ContiguousArray<Int32>
    /// Where NaN goes at a split.
    private let nodeDefaultLeft: ContiguousArray<Bool>
    /// Value added to the margin at a leaf (0 at splits).
    private let nodeLeafValue: ContiguousArray<Float>

    /// Rows per block in `predict`: the block walks one tree before moving to the next.
    private static let rowBlock = 64

    /// Loads an XGBoost JSON model (`Booster.save_model("model.json")`, XGBoost 1.x-3.x schema).
    ///
    /// - Throws: ``TreeEnsembleError`` naming the JSON path and the reason when the bytes are not
    ///   JSON, the schema is incomplete or inconsistent, or the model uses an objective, booster or
    ///   tree feature this kernel does not evaluate.
    public init(xgboostJSON: Data) throws {
        try self.init(model: XGBoostModel.parse(json: xgboostJSON))
    }

    /// Lays out a validated model for evaluation.
    init(model: XGBoostModel) throws(TreeEnsembleError) {
        let totalNodes = model.trees.reduce(0) { $0 + $1.nodeCount }
        guard totalNodes < Int(Int32.max) else {
            throw TreeEnsembleError(
                code: .invalidField, path: "learner.gradient_booster.model.trees",
                message: "\(totalNodes) nodes in all: more than this kernel indexes (2^31 - 1)")
        }
        var feature = ContiguousArray<Int32>(), threshold = ContiguousArray<Float>()
        var firstChild = ContiguousArray<Int32>(), defaultLeft = ContiguousArray<Bool>()
        var leafValue = ContiguousArray<Float>()
        feature.reserveCapacity(totalNodes)
        threshold.reserveCapacity(totalNodes)
        firstChild.reserveCapacity(totalNodes)
        defaultLeft.reserveCapacity(totalNodes)
        leafValue.reserveCapacity(totalNodes)
        var roots: [Int32] = []
        roots.reserveCapacity(model.trees.count)

        var order: [Int32] = []  // new position within the tree -> XGBoost node id
        var childPosition: [Int32] = []  // new position -> new position of its left child, -1 at a leaf
        for tree in model.trees {
            let base = feature.count
            roots.append(Int32(base))
            // Breadth first from the root; a split's two children are appended together, so
            // they get adjacent positions. Unreachable (pruned) nodes are dropped.
            order.removeAll(keepingCapacity: true)
            childPosition.removeAll(keepingCapacity: true)
            order.append(0)
            var head = 0
            while head < order.count {
                let node = Int(order[head])
                if tree.isLeaf(node) {
                    childPosition.append(-1)
                } else {
                    childPosition.append(Int32(order.count))
                    order.append(tree.leftChildren[node])
                    order.append(tree.rightChildren[node])
                }
                head += 1
            }
            for (position, nodeID) in order.enumerated() {
                let node = Int(nodeID)
                if childPosition[position] < 0 {
                    feature.append(0)
                    threshold.append(0)
                    firstChild.append(-1)
                    defaultLeft.append(false)
                    leafValue.append(tree.splitConditions[node])
                } else {
                    feature.append(tree.splitIndices[node])
                    threshold.append(tree.splitConditions[node])
                    firstChild.append(Int32(base) + childPosition[position])
                    defaultLeft.append(tree.defaultLeft[node])
                    leafValue.append(0)
                }
            }
        }

        inputWidth = model.featureCount
        outputWidth = model.objective.outputGroups
        objective = model.objective
        xgboostVersion = model.xgboostVersion
        baseMargins = model.baseMargins
        treeRoots = roots
        treeGroups = model.treeGroups.map { Int32($0) }
        nodeFeature = feature
        nodeThreshold = threshold
        nodeFirstChild = firstChild
        nodeDefaultLeft = defaultLeft
        nodeLeafValue = leafValue
    }

    /// Number of trees (for a random forest: rounds x parallel trees x classes).
    public var treeCount: Int { treeRoots.count }

    /// Number of nodes reachable from the roots, over all trees.
    public var nodeCount: Int { nodeFeature.count }

    /// Evaluates `rowCount` rows; NaN inputs are missing values.
    ///
    /// - Precondition: `input` holds at least `rowCount * inputWidth` values and `output` at least
    ///   `rowCount * outputWidth` (a caller bug, not a data error).
    public func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        precondition(rowCount >= 0, "rowCount \(rowCount) is negative")
        precondition(input.count >= rowCount * inputWidth,
                     "input holds \(input.count) values, \(rowCount) rows need \(rowCount * inputWidth)")
        precondition(output.count >= rowCount * outputWidth,
                     "output holds \(output.count) values, \(rowCount) rows need \(rowCount * outputWidth)")
        guard rowCount > 0, let inputBase = input.baseAddress, let outputBase = output.baseAddress else { return }

        let width = inputWidth, groups = outputWidth
        for row in 0..<rowCount {
            for group in 0..<groups {
                outputBase[row * groups + group] = baseMargins[group]
            }
        }

        nodeFeature.withUnsafeBufferPointer { feature in
            nodeThreshold.withUnsafeBufferPointer { threshold in
                nodeFirstChild.withUnsafeBufferPointer { firstChild in
                    nodeDefaultLeft.withUnsafeBufferPointer { defaultLeft in
                        nodeLeafValue.withUnsafeBufferPointer { leafValue in
                            var blockStart = 0
                            while blockStart < rowCount {
                                let blockEnd = min(blockStart + Self.rowBlock, rowCount)
                                for tree in 0..<treeRoots.count {
                                    let root = Int(treeRoots[tree])
                                    let group = Int(treeGroups[tree])
                                    for row in blockStart..<blockEnd {
                                        let values = inputBase + row * width
                                        var node = root
                                        while true {
                                            let child = Int(firstChild[node])
                                            if child < 0 { break }
                                            let x = values[Int(feature[node])]
                                            // NaN fails `x < threshold`: it goes right unless the split defaults left.
                                            let goLeft = x < threshold[node] || (x.isNaN && defaultLeft[node])
                                            node = goLeft ? child : child &+ 1
                                        }
                                        outputBase[row * groups + group] += leafValue[node]
                                    }
                                }
                                blockStart = blockEnd
                            }
                        }
                    }
                }
            }
        }

        switch objective {
        case .squaredErrorRegression:
            break
        case .binaryLogistic:
            for row in 0..<rowCount {
                outputBase[row] = Self.sigmoid(outputBase[row])
            }
        case .multiclassSoftprob, .multiclassSoftmax:
            for row in 0..<rowCount {
                Self.softmax(outputBase + row * groups, count: groups)
            }
        }
    }

    /// XGBoost's `common::Sigmoid` (without its 1e-16 denominator guard, which cannot change a
    /// Float32 result since the denominator is at least 1).
    @inline(__always)
    private static func sigmoid(_ margin: Float) -> Float {
        1 / (1 + exp(-margin))
    }

    /// In place, max-subtracted as XGBoost's `common::Softmax`.
    @inline(__always)
    private static func softmax(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var largest = values[0]
        for index in 1..<count where values[index] > largest {
            largest = values[index]
        }
        var sum: Float = 0
        for index in 0..<count {
            let e = exp(values[index] - largest)
            values[index] = e
            sum += e
        }
        for index in 0..<count {
            values[index] /= sum
        }
    }
}
