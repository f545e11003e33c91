"""Write model bundles in the inference worker's format (docs/model-bundle.md).

Reusable by any exporter (scikit-learn, XGBoost, PyTorch): it writes float32 tensors, computes the
SHA-256 digest of every file, the baseline statistics of the training data and the reference rows,
and writes `manifest.json` last so that a half-written bundle has no manifest.

Typical use:

    from bundle_writer import BundleWriter, FeatureSpec
    features = [FeatureSpec.numeric("amount", min=0, max=1e6, scale=(mean, std)),
                FeatureSpec.categorical("country", ["DE", "FR"], default="DE", missing="allowed")]
    w = BundleWriter(root, "fraud-mlp", "3", kind="mlp", features=features)
    layer = {"weights": w.tensor("l0_w.f32", W0), "bias": w.tensor("l0_b.f32", b0), "activation": "relu"}
    w.model = {"layers": [layer, ...], "output_activation": "softmax"}
    w.output = {"type": "multiclass", "labels": ["legit", "fraud"], "sum_tolerance": 1e-4}
    w.baseline_from(raw_columns, predictions)        # binary: predict_proba's two columns are fine
    w.reference(raw_rows_columns, predict=lambda cols: model_outputs(cols))
    w.finish(training={"library": "scikit-learn", ...})

Reference rows are mandatory: `finish()` refuses a bundle without them, and `reference()` refuses rows
that never leave a missing-allowed feature missing or never use a vocabulary entry (the paths where a
wrong `default` or a swapped one-hot column would otherwise pass `model validate`). Given `predict`
(raw columns -> outputs), `reference()` appends such rows itself (`coverage_columns`).

Only numpy is required.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

FORMAT_VERSION = 1
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def f32_round(values) -> np.ndarray:
    """Rounds float64 values to the nearest float32 and back, so that Python computes on exactly the
    values the Swift side reads from a float32 file."""
    return np.asarray(values, dtype=np.float64).astype("<f4").astype(np.float64)


@dataclass
class FeatureSpec:
    """One input feature, serialised as an entry of `input.features`."""
    name: str
    type: str  # "numeric" | "categorical"
    min: Optional[float] = None
    max: Optional[float] = None
    missing: str = "forbidden"  # "allowed" | "forbidden"
    default: Any = None
    vocabulary: Optional[List[str]] = None
    preprocess: Dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def numeric(name, min=None, max=None, scale=None, missing="forbidden", default=None):
        pre = {}
        if scale is not None:
            pre["standard_scale"] = {"mean": float(scale[0]), "std": float(scale[1])}
        return FeatureSpec(name, "numeric", None if min is None else float(min),
                           None if max is None else float(max), missing,
                           None if default is None else float(default), None, pre)

    @staticmethod
    def categorical(name, vocabulary, encoding="one_hot", missing="forbidden", default=None):
        return FeatureSpec(name, "categorical", None, None, missing, default, list(vocabulary),
                           {encoding: True})

    @property
    def width(self) -> int:
        if self.type == "categorical" and "ordinal" not in self.preprocess:
            return len(self.vocabulary)
        return 1

    def to_json(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"name": self.name, "type": self.type, "missing": self.missing}
        if self.min is not None:
            d["min"] = self.min
        if self.max is not None:
            d["max"] = self.max
        if self.default is not None:
            d["default"] = self.default
        if self.vocabulary is not None:
            d["vocabulary"] = self.vocabulary
        if self.preprocess:
            d["preprocess"] = self.preprocess
        return d


def is_missing(value: Any) -> bool:
    """None and NaN (pandas' missing value, also in object columns) are missing."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def encode_design_matrix(features: Sequence[FeatureSpec], columns: Sequence[Sequence[Any]],
                         native_missing: bool = False) -> np.ndarray:
    """The preprocessed float64 matrix the model sees, with exactly the Swift `InputSchema` semantics:
    missing (None/NaN) -> the declared default; NaN only where there is no default and the kernel
    handles missing values (`native_missing`, tree ensembles); then standard scaling for numerics,
    one-hot (or ordinal index) for categoricals."""
    n = len(columns[0])
    blocks = []
    for spec, col in zip(features, columns):
        if spec.type == "numeric":
            x = np.array([np.nan if v is None else float(v) for v in col], dtype=np.float64)
            miss = np.isnan(x)
            if miss.any():
                if spec.default is not None:
                    x[miss] = spec.default
                elif not native_missing:
                    raise ValueError(f"{spec.name}: missing values but no default")
            sc = spec.preprocess.get("standard_scale")
            if sc is not None:
                x = (x - sc["mean"]) / sc["std"]  # NaN stays NaN
            blocks.append(x[:, None])
        else:
            vocab = {c: i for i, c in enumerate(spec.vocabulary)}
            idx = []
            for v in col:
                if is_missing(v):
                    v = spec.default
                    if v is None and not native_missing:
                        raise ValueError(f"{spec.name}: missing values but no default")
                idx.append(np.nan if v is None else vocab[v])
            idx = np.array(idx, dtype=np.float64)
            if "ordinal" in spec.preprocess:
                blocks.append(idx[:, None])
            else:
                oh = np.zeros((n, len(spec.vocabulary)))
                for r, i in enumerate(idx):
                    if math.isnan(i):
                        oh[r, :] = np.nan
                    else:
                        oh[r, int(i)] = 1.0
                blocks.append(oh)
    return np.hstack(blocks)


def raw_reference_matrix(features: Sequence[FeatureSpec], columns: Sequence[Sequence[Any]]) -> np.ndarray:
    """Raw rows as stored in `reference_inputs.f32`: one column per feature in schema order; a numeric
    value as is, a categorical as its vocabulary index; NaN for a missing value."""
    n = len(columns[0])
    out = np.empty((n, len(features)), dtype=np.float64)
    for j, (spec, col) in enumerate(zip(features, columns)):
        if spec.type == "numeric":
            out[:, j] = [np.nan if v is None else float(v) for v in col]
        else:
            vocab = {c: i for i, c in enumerate(spec.vocabulary)}
            out[:, j] = [np.nan if is_missing(v) else vocab[v] for v in col]
    return out


def coverage_problems(features: Sequence[FeatureSpec], columns: Sequence[Sequence[Any]]) -> List[str]:
    """What reference rows `columns` leave unchecked: a feature that allows missing values but is never
    missing, a vocabulary entry never used (the worker's `model validate` warns about the same)."""
    problems = []
    for spec, col in zip(features, columns):
        if spec.missing == "allowed" and not any(is_missing(v) for v in col):
            problems.append(f"{spec.name}: no row leaves it missing")
        if spec.type == "categorical":
            seen = {v for v in col if not is_missing(v)}
            unseen = [c for c in spec.vocabulary if c not in seen]
            if unseen:
                problems.append(f"{spec.name}: no row has {unseen[:10]}")
    return problems


def coverage_columns(features: Sequence[FeatureSpec], columns: Sequence[Sequence[Any]]) -> List[List[Any]]:
    """Rows that take every missing-value path and every vocabulary entry, built around one ordinary
    row of `columns` (the first with no missing value, else each feature's first present value):
    one row per missing-allowed feature with it missing, one with all of them missing at once, one
    per vocabulary entry. Returned as columns, to append to the reference rows."""
    n = len(columns[0])
    base = None
    for r in range(n):
        if not any(is_missing(col[r]) for col in columns):
            base = [col[r] for col in columns]
            break
    if base is None:
        base = []
        for spec, col in zip(features, columns):
            present = [v for v in col if not is_missing(v)]
            if present:
                base.append(present[0])
            elif spec.default is not None:
                base.append(spec.default)
            else:
                base.append(spec.vocabulary[0] if spec.type == "categorical" else
                            (spec.min if spec.min is not None else 0.0))
    rows = []
    allowed = [j for j, spec in enumerate(features) if spec.missing == "allowed"]
    for j in allowed:
        r = list(base); r[j] = None; rows.append(r)
    if len(allowed) > 1:
        r = list(base)
        for j in allowed:
            r[j] = None
        rows.append(r)
    for j, spec in enumerate(features):
        if spec.type == "categorical":
            for category in spec.vocabulary:
                r = list(base); r[j] = category; rows.append(r)
    return [[row[j] for row in rows] for j in range(len(features))]


def positive_class_scores(predictions, n_rows: int, what: str) -> np.ndarray:
    """A binary model's scores as one value per row: `predict_proba`'s two columns (rows summing to 1)
    give the positive (second) column; one column or a flat vector is taken as is. Anything else is
    refused: reading it as scores would silently double the row count."""
    p = np.asarray(predictions, dtype=np.float64)
    if p.ndim == 2 and p.shape[1] == 2:
        if not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
            raise ValueError(f"{what}: a binary model's two columns must be predict_proba's (rows summing to 1); "
                             f"pass the positive-class probability, e.g. predict_proba(X)[:, 1]")
        p = p[:, 1]
    elif p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    elif p.ndim != 1:
        raise ValueError(f"{what}: a binary model has one score per row, got shape {p.shape}; "
                         f"pass predict_proba(X)[:, 1]")
    if p.shape[0] != n_rows:
        raise ValueError(f"{what}: {p.shape[0]} scores for {n_rows} rows")
    return p


def _numeric_stats(x: np.ndarray, bins: int = 10) -> Dict[str, Any]:
    x = np.asarray(x, dtype=np.float64)
    present = x[~np.isnan(x)]
    stats: Dict[str, Any] = {"count": int(x.size),
                             "missing_rate": float(1 - present.size / max(x.size, 1))}
    if present.size == 0:
        return stats
    distinct = np.unique(present)
    if distinct.size == 1:
        edges = np.array([distinct[0], distinct[0] + 1.0])
    elif distinct.size <= bins:
        # A discrete feature (flags, small counts): one bin per value, edges halfway between values.
        edges = np.concatenate([[distinct[0]], (distinct[:-1] + distinct[1:]) / 2, [distinct[-1]]])
    else:
        # Quantile bin edges (deciles): each bin holds ~10% of training data, which keeps PSI stable.
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)))
    counts, _ = np.histogram(present, bins=edges)
    stats.update({
        "bin_edges": [float(e) for e in edges],
        "proportions": [float(c) / present.size for c in counts],
        "mean": float(present.mean()), "std": float(present.std()),
        "min": float(present.min()), "max": float(present.max()),
        "quantiles": {str(q): float(np.quantile(present, q)) for q in QUANTILES},
    })
    return stats


def _categorical_stats(values: Sequence[Any], categories: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    n = len(values)
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    cats = list(categories) if categories is not None else sorted(set(map(str, present)))
    counts = {c: 0 for c in cats}
    for v in present:
        counts[str(v)] = counts.get(str(v), 0) + 1
    return {"count": n, "missing_rate": float(1 - len(present) / max(n, 1)),
            "categories": {c: counts[c] / max(len(present), 1) for c in counts}}


class BundleWriter:
    """Collects one bundle's pieces and writes `<root>/<name>/<version>/`."""

    def __init__(self, root: str, name: str, version: str, kind: str, features: Sequence[FeatureSpec]):
        self.dir = os.path.join(root, name, str(version))
        os.makedirs(self.dir, exist_ok=True)
        manifest_path = os.path.join(self.dir, "manifest.json")
        if os.path.exists(manifest_path):
            os.remove(manifest_path)  # the manifest is written last; no manifest = incomplete bundle
        self.name, self.version, self.kind = name, str(version), kind
        self.features = list(features)
        self.files: Dict[str, str] = {}
        self.model: Dict[str, Any] = {}
        self.output: Dict[str, Any] = {}
        self.baseline: Dict[str, Any] = {}
        self.reference_section: Optional[Dict[str, Any]] = None

    def tensor(self, filename: str, array) -> Dict[str, Any]:
        """Writes a little-endian float32 tensor (C order) and returns its `{"file", "shape"}` reference."""
        a = np.ascontiguousarray(np.asarray(array, dtype=np.float64).astype("<f4"))
        a.tofile(os.path.join(self.dir, filename))
        self.files[filename] = sha256_file(os.path.join(self.dir, filename))
        return {"file": filename, "shape": [int(s) for s in a.shape]}

    def raw_file(self, filename: str, data: bytes) -> str:
        """Writes any other listed file (e.g. an XGBoost JSON dump) and returns its name."""
        with open(os.path.join(self.dir, filename), "wb") as f:
            f.write(data)
        self.files[filename] = sha256_file(os.path.join(self.dir, filename))
        return filename

    def baseline_from(self, columns: Sequence[Sequence[Any]], predictions: np.ndarray) -> None:
        """Baseline statistics from raw training columns (schema order) and the model's outputs on them."""
        feats = {}
        for spec, col in zip(self.features, columns):
            if spec.type == "numeric":
                feats[spec.name] = _numeric_stats(np.array([np.nan if v is None else v for v in col], dtype=float))
            else:
                feats[spec.name] = _categorical_stats(col, spec.vocabulary)
        out_type = self.output.get("type", "regression")
        n_rows = len(columns[0]) if columns else 0
        p = np.asarray(predictions, dtype=np.float64)
        if out_type == "regression":
            if p.ndim > 1 and p.shape[1] != 1 or p.shape[0] != n_rows:
                raise ValueError(f"baseline_from: a regression model has one score per row, got shape {p.shape} for {n_rows} rows")
            out = _numeric_stats(p.reshape(-1))
        elif out_type == "binary":
            p = positive_class_scores(p, n_rows, "baseline_from")
            out = _numeric_stats(p)
            labels = self.output.get("labels", ["0", "1"])
            thr = self.output.get("threshold", 0.5)
            out.update({"categories": _categorical_stats([labels[int(s >= thr)] for s in p], labels)["categories"]})
        else:
            labels = self.output["labels"]
            out = _categorical_stats([labels[i] for i in p.argmax(axis=1)], labels)
        self.baseline = {"features": feats, "output": out}

    def reference(self, columns: Sequence[Sequence[Any]], expected: Optional[np.ndarray] = None, *,
                  predict=None, relative: float = 1e-5, absolute_floor: float = 1.0) -> None:
        """Reference rows for self-test: raw inputs (see `raw_reference_matrix`) and the expected outputs.

        With `predict` (raw columns -> the model's outputs), the rows of `coverage_columns` are
        appended and the expected outputs computed by it; otherwise pass `expected`. Either way the
        rows must leave every missing-allowed feature missing at least once and use every vocabulary
        entry (ValueError otherwise), so that the self-test checks defaults and categories."""
        columns = [list(c) for c in columns]
        if predict is not None:
            extra = coverage_columns(self.features, columns)
            columns = [c + e for c, e in zip(columns, extra)]
            expected = predict(columns)
        elif expected is None:
            raise ValueError("reference: pass the expected outputs or predict=")
        problems = coverage_problems(self.features, columns)
        if problems:
            raise ValueError("reference rows leave paths unchecked (" + "; ".join(problems) +
                             "): add such rows, or pass predict= to have them added")
        raw = raw_reference_matrix(self.features, columns)
        exp = np.asarray(expected, dtype=np.float64)
        if self.output.get("type") == "binary":
            exp = positive_class_scores(exp, raw.shape[0], "reference")
        if exp.ndim == 1:
            exp = exp[:, None]
        if exp.shape[0] != raw.shape[0]:
            raise ValueError(f"reference: {exp.shape[0]} expected outputs for {raw.shape[0]} rows")
        self.reference_section = {
            "inputs": self.tensor("reference_inputs.f32", raw),
            "outputs": self.tensor("reference_outputs.f32", exp),
            "tolerance": {"relative": relative, "absolute_floor": absolute_floor},
        }

    def finish(self, training: Optional[Dict[str, Any]] = None, created_at: Optional[str] = None) -> str:
        """Writes `manifest.json` (last); refuses a bundle without reference rows."""
        if self.reference_section is None:
            raise ValueError("a bundle needs reference rows: call reference(...) before finish(), "
                             "otherwise nothing checks the weights, the feature order or the defaults")
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": self.name, "version": self.version, "kind": self.kind,
            "created_at": created_at or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "training": training or {},
            "files": dict(sorted(self.files.items())),
            "model": self.model,
            "input": {"features": [f.to_json() for f in self.features]},
            "output": self.output,
            "baseline": self.baseline,
        }
        manifest["reference"] = self.reference_section
        path = os.path.join(self.dir, "manifest.json")
        with open(path + ".tmp", "w") as f:
            json.dump(manifest, f, indent=1, allow_nan=False)
            f.write("\n")
        os.replace(path + ".tmp", path)
        return self.dir
