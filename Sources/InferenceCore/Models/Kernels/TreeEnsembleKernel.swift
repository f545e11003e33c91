public import Foundation

/// A gradient-boosted (or random-forest) tree ensemble trained by XGBoost, evaluated in pure Swift.
///
/// Built from XGBoost's JSON model (`Booster.save_model("model.json")`); supports the objectives in
/// ``TreeEnsembleObjective``, `base_score`, missing values (NaN follows each split's default
/// direction) and random forests (`num_parallel_tree > 1`: every tree adds to the output group
/// that `tree_info` names, exactly as XGBoost sums them).
///
/// Evaluation follows XGBoost where it matters: inputs and thresholds are Float32 and a row goes
/// left when `x < threshold` (strictly less); margins start at the base margins and add the trees'
/// leaf values in model order, in Float32; then sigmoid or softmax as XGBoost's CPU predictor
/// computes them. Against XGBoost 3.2.0's fixtures the outputs are bit-identical for regression,
/// binary and random-forest models and within 1.2e-7 for multiclass (softmax rounding).
///
/// ## Layout and evaluation
/// All trees are flattened into one set of contiguous node columns (struct of arrays: split
/// feature, threshold, first child, missing-goes-right flag, leaf value). Nodes are renumbered
/// breadth first at load so that a split's two children are adjacent: the right child is always
/// `firstChild + 1`. Leaves are made into fixed points of the step (threshold NaN, first child one
/// before the leaf itself, missing goes right), so one step is branch-free,
/// `node = firstChild[node] + goesRight`, and a walk of exactly the tree's depth ends on the leaf
/// for every row. That lets several walks run in lockstep without data-dependent branches, whose
/// mispredictions otherwise dominate tree evaluation:
/// - batches of 8 rows or more: rows in blocks of 64, tree by tree (the tree stays in cache),
///   8 rows walking the tree together;
/// - smaller batches: each row walks 8 trees together.
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
    private let treeRoots: ContiguousArray<Int32>
    /// Output group each tree adds to.
    private let treeGroups: ContiguousArray<Int32>
    /// Steps from each tree's root to its deepest leaf.
    private let treeDepths: ContiguousArray<Int32>
    // Node columns, one entry per node of all trees (unreachable XGBoost nodes dropped).
    /// Feature compared at a split; 0 at a leaf (read, then ignored).
    private let nodeFeature: ContiguousArray<Int32>
    /// Threshold at a split (go left when `x < threshold`); NaN at a leaf, so every row "goes right".
    private let nodeThreshold: ContiguousArray<Float>
    /// Left child at a split (the right child is the next index); at a leaf, the leaf's own index
    /// minus 1, so that "going right" stays on the leaf.
    private let nodeFirstChild: ContiguousArray<Int32>
    /// 1 where a missing (NaN) value goes right (XGBoost's `default_left` false), 0 where it goes
    /// left; 1 at a leaf.
    private let nodeMissingGoesRight: ContiguousArray<Int32>
    /// Value added to the margin at a leaf (0 at splits).
    private let nodeLeafValue: ContiguousArray<Float>

    /// Rows per block: the block walks one tree before moving to the next.
    private static let rowBlock = 64
    /// Walks run in lockstep.
    private static let lanes = 8

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
        var firstChild = ContiguousArray<Int32>(), missingGoesRight = ContiguousArray<Int32>()
        var leafValue = ContiguousArray<Float>()
        feature.reserveCapacity(totalNodes)
        threshold.reserveCapacity(totalNodes)
        firstChild.reserveCapacity(totalNodes)
        missingGoesRight.reserveCapacity(totalNodes)
        leafValue.reserveCapacity(totalNodes)
        var roots = ContiguousArray<Int32>(), depths = ContiguousArray<Int32>()
        roots.reserveCapacity(model.trees.count)
        depths.reserveCapacity(model.trees.count)

        var order: [Int32] = []  // new position within the tree -> XGBoost node id
        var childPosition: [Int32] = []  // new position -> new position of its left child, -1 at a leaf
        var depth: [Int32] = []  // new position -> steps from the root
        for tree in model.trees {
            let base = Int32(feature.count)
            roots.append(base)
            // Breadth first from the root; a split's two children are appended together, so
            // they get adjacent positions. Unreachable (pruned) nodes are dropped. XGBoostModel
            // has checked that this is a finite tree.
            order.removeAll(keepingCapacity: true)
            childPosition.removeAll(keepingCapacity: true)
            depth.removeAll(keepingCapacity: true)
            order.append(0)
            depth.append(0)
            var head = 0
            while head < order.count {
                let node = Int(order[head])
                if tree.isLeaf(node) {
                    childPosition.append(-1)
                } else {
                    childPosition.append(Int32(order.count))
                    order.append(tree.leftChildren[node])
                    order.append(tree.rightChildren[node])
                    depth.append(depth[head] + 1)
                    depth.append(depth[head] + 1)
                }
                head += 1
            }
            depths.append(depth.max() ?? 0)
            for (position, nodeID) in order.enumerated() {
                let node = Int(nodeID)
                if childPosition[position] < 0 {
                    feature.append(0)
                    threshold.append(.nan)
                    firstChild.append(base + Int32(position) - 1)
                    missingGoesRight.append(1)
                    leafValue.append(tree.splitConditions[node])
                } else {
                    feature.append(tree.splitIndices[node])
                    threshold.append(tree.splitConditions[node])
                    firstChild.append(base + childPosition[position])
                    missingGoesRight.append(tree.defaultLeft[node] ? 0 : 1)
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
        treeGroups = ContiguousArray(model.treeGroups.map { Int32($0) })
        treeDepths = depths
        nodeFeature = feature
        nodeThreshold = threshold
        nodeFirstChild = firstChild
        nodeMissingGoesRight = missingGoesRight
        nodeLeafValue = leafValue
    }

    /// Number of trees (for a random forest: rounds x parallel trees x classes).
    public var treeCount: Int { treeRoots.count }

    /// Number of nodes reachable from the roots, over all trees.
    public var nodeCount: Int { nodeFeature.count }

    /// Evaluates `rowCount` rows; NaN inputs are missing values. Allocates nothing on the heap.
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

        let groups = outputWidth
        for row in 0..<rowCount {
            for group in 0..<groups {
                outputBase[row * groups + group] = baseMargins[group]
            }
        }

        // A model without trees predicts its base score; it also has no node columns to point at.
        if !treeRoots.isEmpty {
            addLeafValues(input: inputBase, rowCount: rowCount, output: outputBase)
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

    /// Adds every tree's leaf value for every row to the row's margins, in tree order.
    private func addLeafValues(input inputBase: UnsafePointer<Float>, rowCount: Int, output outputBase: UnsafeMutablePointer<Float>) {
        let groups = outputWidth
        nodeFeature.withUnsafeBufferPointer { feature in
            nodeThreshold.withUnsafeBufferPointer { threshold in
                nodeFirstChild.withUnsafeBufferPointer { firstChild in
                    nodeMissingGoesRight.withUnsafeBufferPointer { missingGoesRight in
                        nodeLeafValue.withUnsafeBufferPointer { leafValue in
                            treeRoots.withUnsafeBufferPointer { roots in
                                treeGroups.withUnsafeBufferPointer { treeGroups in
                                    treeDepths.withUnsafeBufferPointer { depths in
                                        let forest = Forest(
                                            feature: feature.baseAddress!, threshold: threshold.baseAddress!,
                                            firstChild: firstChild.baseAddress!,
                                            missingGoesRight: missingGoesRight.baseAddress!,
                                            leafValue: leafValue.baseAddress!,
                                            treeRoot: roots, treeGroup: treeGroups, treeDepth: depths)
                                        if rowCount >= Self.lanes {
                                            forest.addRowsInLockstep(
                                                input: inputBase, width: inputWidth, rowCount: rowCount,
                                                output: outputBase, groups: groups)
                                        } else {
                                            forest.addTreesInLockstep(
                                                input: inputBase, width: inputWidth, rowCount: rowCount,
                                                output: outputBase, groups: groups)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The node columns as raw pointers for the duration of one `predict` call. Every index used
    /// was validated at load (children, features, depths), so the walks never leave the columns.
    private struct Forest {
        let feature: UnsafePointer<Int32>
        let threshold: UnsafePointer<Float>
        let firstChild: UnsafePointer<Int32>
        let missingGoesRight: UnsafePointer<Int32>
        let leafValue: UnsafePointer<Float>
        let treeRoot: UnsafeBufferPointer<Int32>
        let treeGroup: UnsafeBufferPointer<Int32>
        let treeDepth: UnsafeBufferPointer<Int32>

        /// One branch-free step from `node` for feature vector `values`.
        @inline(__always)
        func step(_ node: Int, _ values: UnsafePointer<Float>) -> Int {
            let x = values[Int(feature[node])]
            let limit = threshold[node]
            // `x >= limit` is "go right" for numbers; `!(x < limit)` is also true for NaN, so it
            // only counts where missing values go right. At a leaf (limit NaN) both say right.
            let right = (x >= limit ? 1 : 0) | ((x < limit ? 0 : 1) & Int(missingGoesRight[node]))
            return Int(firstChild[node]) &+ right
        }

        /// Blocks of rows, tree by tree; within a tree, `lanes` rows walk together.
        func addRowsInLockstep(
            input: UnsafePointer<Float>, width: Int, rowCount: Int,
            output: UnsafeMutablePointer<Float>, groups: Int
        ) {
            var nodes = (0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &nodes) { raw in
                let node = raw.baseAddress!.assumingMemoryBound(to: Int.self)
                var blockStart = 0
                while blockStart < rowCount {
                    let blockEnd = min(blockStart + TreeEnsembleKernel.rowBlock, rowCount)
                    for tree in 0..<treeRoot.count {
                        let root = Int(treeRoot[tree]), depth = Int(treeDepth[tree]), group = Int(treeGroup[tree])
                        var laneStart = blockStart
                        while laneStart < blockEnd {
                            let laneCount = min(TreeEnsembleKernel.lanes, blockEnd - laneStart)
                            let rows = input + laneStart * width
                            if laneCount == 8 {
                                // The common case, spelled out so the eight walks stay in registers.
                                let margins = output + laneStart * groups + group
                                var n0 = root, n1 = root, n2 = root, n3 = root
                                var n4 = root, n5 = root, n6 = root, n7 = root
                                for _ in 0..<depth {
                                    n0 = step(n0, rows)
                                    n1 = step(n1, rows + width)
                                    n2 = step(n2, rows + 2 * width)
                                    n3 = step(n3, rows + 3 * width)
                                    n4 = step(n4, rows + 4 * width)
                                    n5 = step(n5, rows + 5 * width)
                                    n6 = step(n6, rows + 6 * width)
                                    n7 = step(n7, rows + 7 * width)
                                }
                                margins[0] += leafValue[n0]
                                margins[groups] += leafValue[n1]
                                margins[2 * groups] += leafValue[n2]
                                margins[3 * groups] += leafValue[n3]
                                margins[4 * groups] += leafValue[n4]
                                margins[5 * groups] += leafValue[n5]
                                margins[6 * groups] += leafValue[n6]
                                margins[7 * groups] += leafValue[n7]
                                laneStart += 8
                                continue
                            }
                            for lane in 0..<laneCount { node[lane] = root }
                            for _ in 0..<depth {
                                for lane in 0..<laneCount {
                                    node[lane] = step(node[lane], rows + lane * width)
                                }
                            }
                            for lane in 0..<laneCount {
                                output[(laneStart + lane) * groups + group] += leafValue[node[lane]]
                            }
                            laneStart += laneCount
                        }
                    }
                    blockStart = blockEnd
                }
            }
        }

        /// Row by row; `lanes` trees walk together, their leaves added in tree order.
        func addTreesInLockstep(
            input: UnsafePointer<Float>, width: Int, rowCount: Int,
            output: UnsafeMutablePointer<Float>, groups: Int
        ) {
            var nodes = (0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &nodes) { raw in
                let node = raw.baseAddress!.assumingMemoryBound(to: Int.self)
                for row in 0..<rowCount {
                    let values = input + row * width
                    let margins = output + row * groups
                    var treeStart = 0
                    while treeStart < treeRoot.count {
                        let laneCount = min(TreeEnsembleKernel.lanes, treeRoot.count - treeStart)
                        if laneCount == 8 {
                            // The common case, spelled out so the eight walks stay in registers.
                            let roots = treeRoot.baseAddress! + treeStart
                            let depths = treeDepth.baseAddress! + treeStart
                            var n0 = Int(roots[0]), n1 = Int(roots[1]), n2 = Int(roots[2]), n3 = Int(roots[3])
                            var n4 = Int(roots[4]), n5 = Int(roots[5]), n6 = Int(roots[6]), n7 = Int(roots[7])
                            let depth = Int(max(
                                max(max(depths[0], depths[1]), max(depths[2], depths[3])),
                                max(max(depths[4], depths[5]), max(depths[6], depths[7]))))
                            for _ in 0..<depth {
                                n0 = step(n0, values)
                                n1 = step(n1, values)
                                n2 = step(n2, values)
                                n3 = step(n3, values)
                                n4 = step(n4, values)
                                n5 = step(n5, values)
                                n6 = step(n6, values)
                                n7 = step(n7, values)
                            }
                            let group = treeGroup.baseAddress! + treeStart
                            margins[Int(group[0])] += leafValue[n0]
                            margins[Int(group[1])] += leafValue[n1]
                            margins[Int(group[2])] += leafValue[n2]
                            margins[Int(group[3])] += leafValue[n3]
                            margins[Int(group[4])] += leafValue[n4]
                            margins[Int(group[5])] += leafValue[n5]
                            margins[Int(group[6])] += leafValue[n6]
                            margins[Int(group[7])] += leafValue[n7]
                            treeStart += 8
                            continue
                        }
                        var depth = 0
                        for lane in 0..<laneCount {
                            node[lane] = Int(treeRoot[treeStart + lane])
                            depth = max(depth, Int(treeDepth[treeStart + lane]))
                        }
                        for _ in 0..<depth {
                            for lane in 0..<laneCount {
                                node[lane] = step(node[lane], values)
                            }
                        }
                        for lane in 0..<laneCount {
                            margins[Int(treeGroup[treeStart + lane])] += leafValue[node[lane]]
                        }
                        treeStart += laneCount
                    }
                }
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
