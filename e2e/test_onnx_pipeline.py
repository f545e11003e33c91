"""End-to-end: an `onnx` bundle (issue 15) served by the worker binary against a real broker.

The bundle is the scikit-learn pipeline fixture (SimpleImputer + StandardScaler on two numerics,
OneHotEncoder on the *string* feature `country`, LogisticRegression; skl2onnx, ZipMap off, raw feed:
the graph receives the string itself), copied into a temporary model root. Its predictions are
checked against onnxruntime's Python API run here on the same rows, fed as the bundle's schema says
the worker feeds the graph (numerics as float32, a missing number NaN for the graph's imputer, a
missing country the feature's default)."""
from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from harness import REPO, OutputReader, Sent, Worker, make_topics, produce, unique, wait_for_spread, wait_until_committed

BUNDLE = REPO / "Tests" / "InferenceCoreTests" / "Fixtures" / "onnx" / "sk-pipeline" / "1"
MODEL = "sk-pipeline"
PARTITIONS = 4


@pytest.fixture(scope="module")
def onnxruntime_library() -> str:
    """The library the worker opens: INFERENCE_WORKER_ONNXRUNTIME_LIBRARY (`make e2e` sets it to the
    onnxruntime wheel's), else the wheel's own, which the Python reference below uses too."""
    path = os.environ.get("INFERENCE_WORKER_ONNXRUNTIME_LIBRARY")
    if not path:
        try:
            import onnxruntime
        except ImportError:
            pytest.exit("the ONNX test needs onnxruntime: pip install onnxruntime==1.32.0 (make deps)", 2)
        found = sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))
        if not found:
            pytest.exit("the onnxruntime wheel carries no libonnxruntime.so*", 2)
        path = found[0]
    assert Path(path).exists(), f"INFERENCE_WORKER_ONNXRUNTIME_LIBRARY={path} does not exist"
    return path


class PipelineReference:
    """onnxruntime's Python API on the bundle's model.onnx, fed as the manifest's schema says."""

    def __init__(self, bundle: Path):
        import onnxruntime as ort
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["kind"] == "onnx" and manifest["model"]["feed"] == "raw"
        self.features = {f["name"]: f for f in manifest["input"]["features"]}
        self.names = list(self.features)
        self.vocabulary = self.features["country"]["vocabulary"]
        self.labels = manifest["output"]["labels"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(bundle / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name: i.type for i in self.session.get_inputs()}
        assert self.inputs["country"] == "tensor(string)", self.inputs  # the point of this test

    def predict(self, rows: list[dict]) -> np.ndarray:
        """Probabilities [n, 2] for rows of raw values (None: missing)."""
        feeds = {}
        for name, spec in self.features.items():
            column = [row.get(name) for row in rows]
            if spec["type"] == "categorical":
                default = spec.get("default") or ""
                feeds[name] = np.array([[default if v is None else v] for v in column], dtype=object)
            else:
                value = [np.nan if v is None else v for v in column]
                feeds[name] = np.array(value, dtype=np.float32).reshape(-1, 1)
        (probabilities,) = self.session.run(["probabilities"], feeds)
        return np.asarray(probabilities, dtype=np.float64)


# Requests the worker must dead-letter, with the `inference.errors.reason` of each.
BAD = [
    (b'{"id":"bad-%d","features":{"amount":12.5,"account_age_days":30,"country":"XX"}}', "unknown_category"),
    (b'{"id":"bad-%d","features":{"amount":12.5,"account_age_days":30,"country":"de"}}', "unknown_category"),
    (b'{"id":"bad-%d","features":[12.5,30,"Germany"]}', "unknown_category"),
    (b'{"id":"bad-%d","features":{"amount":12.5,"account_age_days":30,"country":7}}', "schema_violation"),
    (b'{"id":"bad-%d","features":{"amount":9000,"account_age_days":30,"country":"FR"}}', "out_of_range_value"),
    (b'{"id":"bad-%d","features":{"amount":12.5,"account_age_days":', "malformed_json"),
]


def make_onnx_requests(reference: PipelineReference, n: int, seed: int, bad_share: float = 0.03):
    """(payload, id, expected probabilities or dead-letter reason): rows with every country, ~5%
    missing numbers, ~5% missing country, half keyed by name and half positional."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        row = {"amount": float(np.float32(rng.uniform(0, 5000))),          # float32 values: exact in JSON
               "account_age_days": float(np.float32(rng.uniform(0, 3650))),
               "country": str(rng.choice(reference.vocabulary))}
        if rng.random() < 0.05:
            row[str(rng.choice(["amount", "account_age_days"]))] = None
        if rng.random() < 0.05:
            row["country"] = None
        rows.append(row)
    expected = reference.predict(rows)
    out = []
    for i, row in enumerate(rows):
        if rng.random() < bad_share:
            template, reason = BAD[i % len(BAD)]
            out.append((template.replace(b"%d", str(i).encode()), None, reason, None))
            continue
        rid = f"onnx-{i}"
        features = row if i % 2 else [row[name] for name in reference.names]
        out.append((json.dumps({"id": rid, "features": features}, separators=(",", ":")).encode(), rid, expected[i], row))
    return out


def test_onnx_pipeline_with_string_category(procs, broker, worker_runtime, onnxruntime_library, tmp_path, measured):
    """Two replicas serve the scikit-learn pipeline through ONNX Runtime; 4,000 requests with the
    string feature (~3% bad: unknown or mistyped country, out of range, truncated JSON). Every input
    gets exactly one outcome; each prediction equals onnxruntime's Python API within 1e-5 relative;
    each bad request is dead-lettered with its reason and original bytes."""
    root = tmp_path / "models"
    shutil.copytree(BUNDLE, root / MODEL / "1")
    runtime = dataclasses.replace(worker_runtime, model_root=root)
    reference = PipelineReference(root / MODEL / "1")

    # The string feature matters: the same numbers give different probabilities per country.
    same = [{"amount": 1000.0, "account_age_days": 100.0, "country": c} for c in reference.vocabulary]
    spread = np.ptp(reference.predict(same)[:, 1])
    assert spread > 1e-3, f"country changes the fraud probability by only {spread}"

    topics = make_topics(broker, PARTITIONS)
    group = unique("group")
    ids = ["onnx-a", "onnx-b"]
    workers = [Worker(procs, runtime, broker, topics, group, wid, model_name=MODEL,
                      extra=["--onnxruntime-library", onnxruntime_library]) for wid in ids]
    wait_for_spread(workers, PARTITIONS, timeout=60)

    n = 4_000
    requests = make_onnx_requests(reference, n, seed=1500)
    rows_by_id = {rid: row for _, rid, _, row in requests if rid}
    sent = Sent()
    t0 = time.monotonic()
    produce(broker, topics.requests, PARTITIONS, [(p, rid, e) for p, rid, e, _ in requests], sent)
    reader = OutputReader(broker, topics, procs, group)
    reader.read_until_covered(sent.by_position, stall=60)
    elapsed = time.monotonic() - t0
    wait_until_committed(broker, group, topics.requests, sent)
    reader.read_all_again()

    counts = reader.position_counts()
    assert set(counts) == set(sent.by_position), (
        f"{len(set(sent.by_position) - set(counts))} inputs without outcome, "
        f"{len(set(counts) - set(sent.by_position))} outcomes for unknown inputs")
    assert all(c == 1 for c in counts.values()), f"{sum(counts.values()) - len(counts)} duplicates"
    assert len(reader.out.predictions) == sent.valid() and len(reader.out.dead_letters) == sent.malformed()
    assert 60 <= sent.malformed() <= 200, sent.malformed()

    worst = 0.0
    countries = set()
    for value, _ in reader.out.predictions:
        pos = (value["source"]["partition"], value["source"]["offset"])
        rid, expected = sent.by_position[pos]
        assert not isinstance(expected, str), f"bad input at {pos} got a prediction: {value}"
        assert value["id"] == rid and value["source"]["topic"] == topics.requests
        assert value["model"] == {"name": MODEL, "version": "1"}
        # A binary bundle's event carries the positive class's probability as `score` (docs/events.md).
        got, want = value["outputs"]["score"], float(expected[1])
        error = abs(got - want) / max(abs(want), 1e-30)
        assert error <= 1e-5, f"{rid} {rows_by_id[rid]}: worker {got}, onnxruntime {want}"
        worst = max(worst, error)
        assert value["outputs"]["label"] == reference.labels[int(want >= 0.5)] or abs(want - 0.5) < 1e-5
        countries.add(rows_by_id[rid]["country"])
    assert countries == set(reference.vocabulary) | {None}, countries  # every category and the default path served

    by_key = {(rid or f"bad-{i}"): payload for i, (payload, rid, _, _) in enumerate(requests)}
    reasons = set()
    for raw, headers, key in reader.out.dead_letters:
        pos = (int(headers["__connect.errors.partition"]), int(headers["__connect.errors.offset"]))
        _, expected = sent.by_position[pos]
        assert isinstance(expected, str), f"valid input at {pos} was dead-lettered: {headers}"
        assert headers["inference.errors.reason"] == expected, (raw, headers)
        assert headers["__connect.errors.exception.message"], headers
        assert headers["inference.worker.id"] in ids, headers
        assert raw == by_key[key.decode()], (key, raw)
        reasons.add(expected)
    assert reasons == {reason for _, reason in BAD}, reasons
    measured(f"onnx pipeline: {sent.valid()} predictions (largest relative difference to onnxruntime "
             f"{worst:.2e}), {sent.malformed()} dead letters in {elapsed:.1f}s")
