#!/usr/bin/env python3
"""The same trees as models/fraud-trees/1 as an `onnx` bundle, for comparing the native tree kernel
with ONNX Runtime (docs/performance.md).

Translates the XGBoost model (models/fraud-trees/1/model.json: binary:logistic, 100 trees, 16
features) node by node into ONNX's `ai.onnx.ml.TreeEnsembleRegressor` (BRANCH_LT: XGBoost goes left
when x < split, and NaN follows `default_left`), adds the base margin, and a `Sigmoid`: one float
input `X [batch, 16]`, output `probabilities [batch, 1]`. No xgboost or onnxmltools needed (the
model is read from its JSON). The bundle is written with scripts/export/onnx_bundle.py (raw feed,
features f0..f15, reference rows from onnxruntime's Python API); before writing, the graph's
outputs on the 2,048 reference rows of models/fraud-trees/1 (XGBoost's own predictions, edge values
and NaN included) are checked within 1e-5.

    python3 scripts/bench/make_fraud_trees_onnx.py --root /tmp/onnx-models
    # -> /tmp/onnx-models/fraud-trees-onnx/1
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(REPO, "scripts", "export"))
from bundle_writer import FeatureSpec  # noqa: E402
from onnx_bundle import export_onnx_bundle  # noqa: E402

SOURCE = os.path.join(REPO, "models", "fraud-trees", "1")
WIDTH = 16


def tree_ensemble_graph(model_json: dict):
    from onnx import TensorProto, helper

    learner = model_json["learner"]
    assert learner["objective"]["name"] == "binary:logistic", learner["objective"]
    base_score = float(learner["learner_model_param"]["base_score"].strip("[]"))
    base_margin = math.log(base_score / (1.0 - base_score))  # XGBoost >= 2 stores the probability
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                         "target_treeids", "target_nodeids", "target_ids", "target_weights")}
    trees = learner["gradient_booster"]["model"]["trees"]
    for t, tree in enumerate(trees):
        assert all(s == 0 for s in tree["split_type"]), "categorical splits are not translated"
        for n, (left, right) in enumerate(zip(tree["left_children"], tree["right_children"])):
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(n)
            if left == -1:  # a leaf: its value is in split_conditions
                a["nodes_featureids"].append(0)
                a["nodes_values"].append(0.0)
                a["nodes_modes"].append("LEAF")
                a["nodes_truenodeids"].append(0)
                a["nodes_falsenodeids"].append(0)
                a["nodes_missing_value_tracks_true"].append(0)
                a["target_treeids"].append(t)
                a["target_nodeids"].append(n)
                a["target_ids"].append(0)
                a["target_weights"].append(float(tree["split_conditions"][n]))
            else:
                a["nodes_featureids"].append(int(tree["split_indices"][n]))
                a["nodes_values"].append(float(tree["split_conditions"][n]))
                a["nodes_modes"].append("BRANCH_LT")
                a["nodes_truenodeids"].append(left)
                a["nodes_falsenodeids"].append(right)
                a["nodes_missing_value_tracks_true"].append(int(tree["default_left"][n]))
    ensemble = helper.make_node("TreeEnsembleRegressor", ["X"], ["margin"], domain="ai.onnx.ml", n_targets=1,
                                aggregate_function="SUM", post_transform="NONE", base_values=[base_margin], **a)
    sigmoid = helper.make_node("Sigmoid", ["margin"], ["probabilities"])
    graph = helper.make_graph([ensemble, sigmoid], "fraud_trees",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, WIDTH])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 1])])
    onx = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
                            producer_name="scripts/bench/make_fraud_trees_onnx.py")
    onx.ir_version = 8
    return onx, len(trees)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="model root to write <root>/fraud-trees-onnx/1 into")
    parser.add_argument("--name", default="fraud-trees-onnx")
    args = parser.parse_args(argv)

    import onnx
    import onnxruntime as ort
    model_json = json.load(open(os.path.join(SOURCE, "model.json")))
    onx, trees = tree_ensemble_graph(model_json)
    onnx.checker.check_model(onx)
    model_bytes = onx.SerializeToString()

    inputs = np.fromfile(os.path.join(SOURCE, "reference_inputs.f32"), dtype="<f4").reshape(-1, WIDTH)
    xgboost_out = np.fromfile(os.path.join(SOURCE, "reference_outputs.f32"), dtype="<f4").astype(np.float64)
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"X": inputs})[0][:, 0].astype(np.float64)
    error = np.abs(got - xgboost_out) / np.maximum(np.abs(xgboost_out), 1.0)
    if not np.all(error <= 1e-5):
        worst = int(np.argmax(error))
        print(f"the ONNX trees differ from XGBoost: row {worst}: {got[worst]} vs {xgboost_out[worst]}", file=sys.stderr)
        return 1
    print(f"{trees} trees; ONNX Runtime equals XGBoost on {len(inputs)} reference rows (largest difference {error.max():.1e})")

    # Sample: the reference rows (NaN = missing); every feature allows missing values, as in fraud-trees.
    names = [f"f{i}" for i in range(WIDTH)]
    sample = {name: [None if math.isnan(v) else float(v) for v in inputs[:, i]] for i, name in enumerate(names)}
    overrides = {name: FeatureSpec.numeric(name, missing="allowed") for name in names}
    directory = export_onnx_bundle(model_bytes, sample, args.root, args.name, "1", task="binary", labels=["legit", "fraud"],
                                   inputs=[{"name": "X", "features": names}], overrides=overrides, output_range=[0.0, 1.0],
                                   reference_rows=len(inputs),
                                   training={"library": "xgboost", "converted_from": "models/fraud-trees/1/model.json",
                                             "made_by": "scripts/bench/make_fraud_trees_onnx.py"})
    print(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
