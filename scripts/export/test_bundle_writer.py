"""Unit tests of bundle_writer (numpy and pytest only): `python3 -m pytest scripts/export` (make check-export)."""
import json
import math
import os

import numpy as np
import pytest

from bundle_writer import BundleWriter, FeatureSpec, coverage_columns, coverage_problems, encode_design_matrix

FEATURES = [
    FeatureSpec.numeric("amount", min=0, max=100),
    FeatureSpec.numeric("ratio", missing="allowed", default=0.25),
    FeatureSpec.categorical("country", ["DE", "FR", "US"], missing="allowed", default="DE"),
]
COLUMNS = [[1.0, 2.0, 3.0, 4.0], [0.1, 0.2, 0.3, 0.4], ["DE", "FR", "DE", "FR"]]


def binary_writer(tmp_path):
    w = BundleWriter(str(tmp_path), "toy", "1", kind="logistic", features=FEATURES)
    w.output = {"type": "binary", "labels": ["no", "yes"], "threshold": 0.5}
    return w


def test_binary_baseline_takes_the_positive_column_of_predict_proba(tmp_path):
    positive = np.array([0.9, 0.2, 0.6, 0.4])
    proba = np.column_stack([1 - positive, positive])
    from_proba = binary_writer(tmp_path)
    from_proba.baseline_from(COLUMNS, proba)
    from_scores = binary_writer(tmp_path)
    from_scores.baseline_from(COLUMNS, positive)
    out = from_proba.baseline["output"]
    assert out == from_scores.baseline["output"]
    assert out["count"] == 4  # not 8: the two columns are not both scores
    assert out["categories"] == {"no": 0.5, "yes": 0.5}
    assert math.isclose(out["mean"], positive.mean())


def test_binary_baseline_refuses_what_is_not_one_score_per_row(tmp_path):
    w = binary_writer(tmp_path)
    with pytest.raises(ValueError, match="predict_proba"):
        w.baseline_from(COLUMNS, np.full((4, 3), 1 / 3))
    with pytest.raises(ValueError, match="rows summing to 1"):
        w.baseline_from(COLUMNS, np.array([[0.2, 0.3]] * 4))
    with pytest.raises(ValueError, match="8 scores for 4 rows"):
        w.baseline_from(COLUMNS, np.zeros(8))


def test_finish_refuses_a_bundle_without_reference_rows(tmp_path):
    w = binary_writer(tmp_path)
    w.model = {"weights": w.tensor("w.f32", np.ones(5)), "bias": w.tensor("b.f32", [0.0])}
    with pytest.raises(ValueError, match="reference rows"):
        w.finish()
    assert not os.path.exists(os.path.join(w.dir, "manifest.json"))


def test_reference_refuses_rows_that_skip_missing_values_and_categories(tmp_path):
    w = binary_writer(tmp_path)
    with pytest.raises(ValueError) as refused:
        w.reference(COLUMNS, np.full(4, 0.5))
    text = str(refused.value)
    assert "ratio: no row leaves it missing" in text
    assert "country: no row leaves it missing" in text
    assert "['US']" in text


def test_reference_with_predict_adds_the_coverage_rows(tmp_path):
    w = binary_writer(tmp_path)
    seen = {}

    def predict(columns):
        seen["columns"] = columns
        x = encode_design_matrix(FEATURES, columns)
        return np.column_stack([1 - x[:, 0] / 100, x[:, 0] / 100])  # predict_proba-shaped

    w.reference(COLUMNS, predict=predict)
    columns = seen["columns"]
    assert coverage_problems(FEATURES, columns) == []
    rows = len(columns[0])
    assert rows == 4 + 2 + 1 + 3  # ratio missing, country missing, both, one row per category
    w.model = {"weights": w.tensor("w.f32", np.ones(5)), "bias": w.tensor("b.f32", [0.0])}
    w.finish(created_at="2026-01-01T00:00:00Z")
    manifest = json.load(open(os.path.join(w.dir, "manifest.json")))
    assert manifest["reference"]["inputs"]["shape"] == [rows, 3]
    assert manifest["reference"]["outputs"]["shape"] == [rows, 1]
    raw = np.fromfile(os.path.join(w.dir, "reference_inputs.f32"), dtype="<f4").reshape(rows, 3)
    assert np.isnan(raw[:, 1]).sum() == 2 and np.isnan(raw[:, 2]).sum() == 2
    assert set(raw[~np.isnan(raw[:, 2]), 2].astype(int)) == {0, 1, 2}


def test_coverage_columns_uses_pandas_style_nan_as_missing():
    columns = [[1.0, 2.0], [float("nan"), 0.5], [float("nan"), "FR"]]
    extra = coverage_columns(FEATURES, columns)
    assert [extra[j][0] for j in range(3)] == [2.0, None, "FR"]  # the first complete row, ratio missing
    assert coverage_problems(FEATURES, [a + b for a, b in zip(columns, extra)]) == []


def test_declared_defaults_are_used_even_for_native_missing():
    columns = [[1.0], [None], [None]]
    x = encode_design_matrix(FEATURES, columns, native_missing=True)
    assert x.tolist() == [[1.0, 0.25, 1.0, 0.0, 0.0]]
    no_default = [FeatureSpec.numeric("score", missing="allowed")]
    assert np.isnan(encode_design_matrix(no_default, [[None]], native_missing=True)[0, 0])
    with pytest.raises(ValueError, match="no default"):
        encode_design_matrix(no_default, [[None]])
