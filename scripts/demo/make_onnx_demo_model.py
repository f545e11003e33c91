#!/usr/bin/env python3
"""models/fraud-mlp-onnx/1: the demo's fraud MLP (models/fraud-mlp/1) as an ONNX graph, served through
ONNX Runtime (`make demo DEMO_ARGS="--model-name fraud-mlp-onnx"`).

The graph is written with onnx.helper, as a PyTorch `nn.Sequential(Linear, ReLU, Linear, Softmax)`
exports: MatMul/Add/Relu/MatMul/Add/Softmax, the same weights as the native bundle, fed the worker's
own preprocessing (feed `encoded`: the same standard scaling). So docs/performance.md compares the
same model served natively and through ONNX Runtime. Reference rows: the native bundle's rows, with
outputs computed by onnxruntime's Python API.

  pip install onnx onnxruntime numpy && python3 scripts/demo/make_onnx_demo_model.py
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts", "export"))
from bundle_writer import FeatureSpec  # noqa: E402
from onnx_bundle import export_onnx_bundle  # noqa: E402

SOURCE = os.path.join(ROOT, "models", "fraud-mlp", "1")


def tensor(manifest_ref):
    return np.fromfile(os.path.join(SOURCE, manifest_ref["file"]), dtype="<f4").reshape(manifest_ref["shape"])


def main():
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = json.load(open(os.path.join(SOURCE, "manifest.json")))
    layers = m["model"]["layers"]
    width = layers[0]["weights"]["shape"][0]
    inits, nodes, x = [], [], "input"
    for i, layer in enumerate(layers):
        inits += [numpy_helper.from_array(tensor(layer["weights"]), f"W{i}"), numpy_helper.from_array(tensor(layer["bias"]), f"b{i}")]
        nodes += [helper.make_node("MatMul", [x, f"W{i}"], [f"m{i}"]), helper.make_node("Add", [f"m{i}", f"b{i}"], [f"z{i}"])]
        x = f"z{i}"
        if layer.get("activation", "identity") == "relu":
            nodes.append(helper.make_node("Relu", [x], [f"a{i}"]))
            x = f"a{i}"
    nodes.append(helper.make_node("Softmax", [x], ["probabilities"], axis=1))
    classes = layers[-1]["bias"]["shape"][0]
    graph = helper.make_graph(nodes, "fraud-mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, width])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, classes])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_onnx_demo_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model)

    features = []
    for f in m["input"]["features"]:
        scale = f.get("preprocess", {}).get("standard_scale")
        features.append(FeatureSpec.numeric(f["name"], min=f.get("min"), max=f.get("max"),
                                            scale=(scale["mean"], scale["std"]) if scale else None,
                                            missing=f.get("missing", "forbidden"), default=f.get("default")))
    ref = m["reference"]["inputs"]
    raw = np.fromfile(os.path.join(SOURCE, ref["file"]), dtype="<f4").reshape(ref["shape"]).astype(np.float64)
    sample = {f.name: [None if np.isnan(v) else float(v) for v in raw[:, j]] for j, f in enumerate(features)}
    directory = export_onnx_bundle(model.SerializeToString(), sample, os.path.join(ROOT, "models"), "fraud-mlp-onnx", "1",
                                   task="multiclass", labels=m["output"]["labels"], feed="encoded", features=features,
                                   reference_rows=len(raw), created_at="2026-12-07T00:00:00Z",
                                   training={"library": "onnx.helper", "source": "models/fraud-mlp/1 (same weights)"})
    print(directory)


if __name__ == "__main__":
    main()
