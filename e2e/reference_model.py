"""The bundled fraud-mlp model evaluated independently in numpy, from its manifest and weight files.

The worker's predictions are compared with this; `check_against_bundle_reference` proves this
evaluation itself matches the reference outputs shipped in the bundle before it is trusted.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class ReferenceModel:
    def __init__(self, bundle: Path):
        self.bundle = Path(bundle)
        self.manifest = json.loads((self.bundle / "manifest.json").read_text())
        m = self.manifest
        self.name = m["name"]
        self.version = m["version"]
        self.features = m["input"]["features"]
        self.feature_names = [f["name"] for f in self.features]
        self.labels = m["output"]["labels"]
        self.mean = np.array([f["preprocess"]["standard_scale"]["mean"] for f in self.features])
        self.std = np.array([f["preprocess"]["standard_scale"]["std"] for f in self.features])
        self.defaults = np.array([f.get("default", np.nan) for f in self.features], dtype=np.float64)
        self.nullable = [f["missing"] == "allowed" for f in self.features]
        self.layers = []
        for layer in m["model"]["layers"]:
            w = self._load(layer["weights"]["file"], layer["weights"]["shape"])
            b = self._load(layer["bias"]["file"], layer["bias"]["shape"])
            self.layers.append((w.astype(np.float64), b.astype(np.float64), layer["activation"]))
        assert m["model"]["output_activation"] == "softmax"
        self.tolerance = m["reference"]["tolerance"]

    def _load(self, name: str, shape) -> np.ndarray:
        return np.fromfile(self.bundle / name, dtype="<f4").reshape(shape)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for rows of raw (unscaled) features, computed in float64."""
        x = np.array(x, dtype=np.float64)
        missing = np.isnan(x)
        if missing.any():  # a missing value takes the feature's default before scaling
            x[missing] = np.broadcast_to(self.defaults, x.shape)[missing]
        h = (x - self.mean) / self.std
        for w, b, activation in self.layers:
            h = h @ w + b
            if activation == "relu":
                h = np.maximum(h, 0.0)
            else:
                assert activation == "identity", activation
        h = h - h.max(axis=1, keepdims=True)
        e = np.exp(h)
        return e / e.sum(axis=1, keepdims=True)

    def reference_rows(self):
        ref = self.manifest["reference"]
        x = self._load(ref["inputs"]["file"], ref["inputs"]["shape"])
        y = self._load(ref["outputs"]["file"], ref["outputs"]["shape"])
        return x, y

    def check_against_bundle_reference(self, rel: float = 1e-5) -> float:
        x, y = self.reference_rows()
        got = self.predict(x)
        err = float(np.max(np.abs(got - y) / np.maximum(np.abs(y), 1.0)))
        assert err <= rel, f"numpy evaluation differs from the bundle's reference outputs by {err}"
        return err

    def random_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Valid rows as float32, drawn like the worker's demo generator: per feature a bin of the
        training baseline's histogram by its proportion, then uniformly inside the bin."""
        cols = []
        for f in self.features:
            base = self.manifest["baseline"]["features"][f["name"]]
            edges = np.array(base["bin_edges"], dtype=np.float64)
            p = np.array(base["proportions"], dtype=np.float64)
            bins = rng.choice(len(p), size=n, p=p / p.sum())
            col = rng.uniform(edges[bins], edges[bins + 1])
            if len(edges) <= 10 and all(float(e).is_integer() for e in edges):  # counts, flags, hours
                col = np.floor(col)
            cols.append(np.clip(col, f["min"], f["max"]))
        return np.stack(cols, axis=1).astype(np.float32)


def close(got, expected, rel: float = 1e-5) -> bool:
    """|got - expected| <= rel * max(|expected|, 1) per output (the bundle's tolerance, floor 1.0)."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return bool(got.shape == expected.shape and np.all(np.abs(got - expected) <= rel * np.maximum(np.abs(expected), 1.0)))
