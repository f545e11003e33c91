#!/usr/bin/env python3
"""Turn an ONNX file plus a sample of training data into an `onnx` model bundle (docs/model-bundle.md).

What it writes, with bundle_writer: the `.onnx` file and its digest; `input.features` read from the
graph's inputs (raw feed: one feature per column of each input; a string input makes a categorical
feature whose vocabulary is the sample's values); the baseline from the sample; reference rows (the
sample plus rows that take every missing-value path and every category) whose expected outputs are
computed with onnxruntime's Python API, fed exactly as the worker feeds the graph; and the manifest.

Library use (what the fixture and demo scripts do):

    from onnx_bundle import export_onnx_bundle
    export_onnx_bundle("model.onnx", {"amount": [...], "country": ["DE", None, ...]}, "models",
                       "fraud-onnx", "1", task="binary", labels=["legit", "fraud"])

Command line (sample as CSV with a header row; an empty cell is a missing value):

    python3 scripts/export/onnx_bundle.py model.onnx sample.csv --root models --name fraud-onnx \\
        --version 1 --task binary --labels legit,fraud

Feeds: `raw` (default) passes each graph input its features' raw values (a scikit-learn pipeline
with its own scaler and OneHotEncoder, exported by skl2onnx); `encoded` passes the worker's own
preprocessing as one float input `[batch, width]`: give `features` (FeatureSpec with scaling/one-hot).
Classifiers: export with ZipMap disabled (skl2onnx `options={"zipmap": False}`); the probabilities
output is read (`[batch, 2]` for binary, `[batch, classes]` for multiclass).

Needs numpy, onnx and onnxruntime (`pip install onnxruntime onnx`).
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bundle_writer import BundleWriter, FeatureSpec, f32_round, is_missing  # noqa: E402

NUMERIC_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def _session(model_bytes: bytes):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def features_from_graph(session, sample: Dict[str, Sequence[Any]], inputs: Optional[List[Dict[str, Any]]] = None,
                        overrides: Optional[Dict[str, FeatureSpec]] = None):
    """Features (schema order) and the `model.inputs` mapping of a raw feed, read from the graph.

    A graph input `[N, 1]` (or `[N]`) is one feature named like the input; `[N, k]` needs `inputs`
    naming its k features. A string input gives a categorical feature (vocabulary: the sample's
    values, sorted); a numeric input a numeric feature. A feature with missing values in the sample
    allows them (the graph receives NaN, or "" for a string without a default). `overrides` replace
    the derived spec of a feature (ranges, defaults)."""
    overrides = overrides or {}
    by_name = {i.name: i for i in session.get_inputs()}
    if inputs is None:
        inputs = []
        for i in session.get_inputs():
            width = i.shape[1] if len(i.shape) == 2 else 1
            if width != 1:
                raise ValueError(f"graph input {i.name} has shape {i.shape}: pass inputs=[{{'name': '{i.name}', 'features': [...]}}]")
            inputs.append({"name": i.name, "features": [i.name]})
    features: List[FeatureSpec] = []
    for section in inputs:
        port = by_name.get(section["name"])
        if port is None:
            raise ValueError(f"the graph has no input {section['name']} (inputs: {list(by_name)})")
        for name in section["features"]:
            if name in overrides:
                features.append(overrides[name])
                continue
            if name not in sample:
                raise ValueError(f"the sample has no column {name}")
            column = sample[name]
            missing = "allowed" if any(is_missing(v) for v in column) else "forbidden"
            if port.type == "tensor(string)":
                vocabulary = sorted({str(v) for v in column if not is_missing(v)})
                features.append(FeatureSpec(name, "categorical", None, None, missing, None, vocabulary, {}))
            elif port.type in NUMERIC_TYPES:
                features.append(FeatureSpec(name, "numeric", None, None, missing, None, None, {}))
            else:
                raise ValueError(f"graph input {port.name} has type {port.type}: supported are float, double, int64, int32 and string")
    return features, inputs


def worker_feeds(session, features: Sequence[FeatureSpec], inputs, columns: Sequence[Sequence[Any]]) -> Dict[str, np.ndarray]:
    """The tensors the worker builds for these raw columns (feed `raw`): numerics rounded to float32
    (reference rows are stored as float32), a missing value replaced by the default or left NaN,
    a missing category replaced by the default or ""."""
    index = {f.name: j for j, f in enumerate(features)}
    ports = {i.name: i for i in session.get_inputs()}
    feeds = {}
    for section in inputs:
        port = ports[section["name"]]
        cols = []
        for name in section["features"]:
            spec = features[index[name]]
            col = columns[index[name]]
            if spec.type == "categorical":
                default = spec.default if spec.default is not None else ""
                cols.append(np.array([default if is_missing(v) else str(v) for v in col], dtype=object))
            else:
                x = f32_round([np.nan if is_missing(v) else float(v) for v in col])
                if spec.default is not None:
                    x[np.isnan(x)] = spec.default
                cols.append(x)
        block = np.stack(cols, axis=1)
        if port.type != "tensor(string)":
            block = block.astype(NUMERIC_TYPES[port.type])
        if len(port.shape) == 1:
            block = block[:, 0]
        feeds[port.name] = block
    return feeds


def export_onnx_bundle(model, sample: Dict[str, Sequence[Any]], root: str, name: str, version: str, *,
                       task: str, labels: Optional[Sequence[str]] = None, feed: str = "raw",
                       features: Optional[Sequence[FeatureSpec]] = None, inputs=None,
                       overrides: Optional[Dict[str, FeatureSpec]] = None, output_name: Optional[str] = None,
                       reference_rows: int = 1000, relative: float = 1e-5, absolute_floor: float = 1.0,
                       output_range: Optional[Sequence[float]] = None, training: Optional[Dict[str, Any]] = None,
                       created_at: Optional[str] = None) -> str:
    """Writes `<root>/<name>/<version>/` for ONNX `model` (a path or bytes) and returns the directory.

    `sample`: raw training columns by feature name (None/NaN = missing), used for the features, the
    baseline and the reference rows (the first `reference_rows`, plus coverage rows). For feed
    `encoded`, `features` gives the worker's preprocessing (bundle_writer FeatureSpec)."""
    import onnx  # noqa: F401  (checks the file parses before anything is written)
    model_bytes = open(model, "rb").read() if isinstance(model, (str, os.PathLike)) else bytes(model)
    onnx.load_from_string(model_bytes)
    session = _session(model_bytes)
    if feed == "raw":
        features, inputs = features_from_graph(session, sample, inputs, overrides)
    elif feed == "encoded":
        if not features:
            raise ValueError("feed 'encoded' needs features= (the worker's preprocessing of each feature)")
        if len(session.get_inputs()) != 1:
            raise ValueError("feed 'encoded' needs a graph with one float input [batch, width]")
    else:
        raise ValueError("feed is 'raw' or 'encoded'")
    features = list(features)
    outputs = [o.name for o in session.get_outputs()]
    for o in session.get_outputs():
        if o.name == output_name and not o.type.startswith("tensor"):
            raise ValueError(f"output {o.name} is {o.type}: export classifiers with options={{'zipmap': False}}")
    if output_name is None:
        if task == "regression":
            output_name = outputs[0] if len(outputs) == 1 else "variable"
        else:
            output_name = "probabilities" if "probabilities" in outputs else outputs[-1]
    if output_name not in outputs:
        raise ValueError(f"the graph has no output {output_name} (outputs: {outputs})")

    def predict(columns):
        if feed == "raw":
            feeds = worker_feeds(session, features, inputs, columns)
        else:
            from bundle_writer import encode_design_matrix
            raw = [[None if is_missing(v) else (float(f32_round([v])[0]) if s.type == "numeric" else v) for v in c]
                   for s, c in zip(features, columns)]
            x = encode_design_matrix(features, raw, native_missing=True).astype(np.float32)
            feeds = {session.get_inputs()[0].name: x}
        out = np.asarray(session.run([output_name], feeds)[0], dtype=np.float64)
        return out

    w = BundleWriter(root, name, version, kind="onnx", features=features)
    w.model = {"format": "onnx", "file": w.raw_file("model.onnx", model_bytes), "feed": feed,
               "outputs": {"score" if task == "regression" else "probabilities": output_name}}
    if feed == "raw":
        w.model["inputs"] = inputs
    w.output = {"type": task}
    if labels is not None:
        w.output["labels"] = list(labels)
    if output_range is not None:
        w.output["range"] = [float(output_range[0]), float(output_range[1])]
    columns = [list(sample[f.name]) for f in features]
    predictions = predict(columns)
    if task == "regression" and predictions.ndim == 2 and predictions.shape[1] > 1:
        w.baseline_from(columns, predictions[:, 0])
        w.baseline.pop("output", None)  # one score per row only: the output baseline is left out
    else:
        w.baseline_from(columns, predictions)
    n = min(reference_rows, len(columns[0]))
    w.reference([c[:n] for c in columns], predict=predict, relative=relative, absolute_floor=absolute_floor)
    return w.finish(training=training or {"library": "onnx", "exporter": "scripts/export/onnx_bundle.py"}, created_at=created_at)


def read_csv(path: str) -> Dict[str, List[Any]]:
    """Columns of a CSV file: numbers where every present cell parses as one, else strings; empty = missing."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns: Dict[str, List[Any]] = {}
    for name in rows[0].keys() if rows else []:
        cells = [r[name] for r in rows]
        try:
            columns[name] = [None if c == "" else float(c) for c in cells]
        except ValueError:
            columns[name] = [None if c == "" else c for c in cells]
    return columns


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the .onnx file")
    p.add_argument("sample", help="CSV of training rows with a header (column names = graph input names)")
    p.add_argument("--root", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--task", required=True, choices=["regression", "binary", "multiclass"])
    p.add_argument("--labels", help="comma-separated class labels (binary: negative,positive)")
    p.add_argument("--output", help="the graph output to read (default: probabilities / the only output)")
    p.add_argument("--reference-rows", type=int, default=1000)
    a = p.parse_args(argv)
    directory = export_onnx_bundle(a.model, read_csv(a.sample), a.root, a.name, a.version, task=a.task,
                                   labels=a.labels.split(",") if a.labels else None, output_name=a.output,
                                   reference_rows=a.reference_rows)
    print(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
