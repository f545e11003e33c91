"""`inference-worker model validate / inspect` as a user runs them (issue 13, items 4 and 5): no broker.

The binary is the one the suite runs (E2E_WORKER_BINARY, else .build/debug/inference-worker)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "Tests" / "InferenceCoreTests" / "Fixtures" / "bundles"


@pytest.fixture(scope="module")
def binary() -> str:
    path = Path(os.environ.get("E2E_WORKER_BINARY", REPO / ".build" / "debug" / "inference-worker"))
    if not path.exists():
        pytest.exit(f"no worker binary at {path}: run `swift build --product inference-worker` first", 2)
    return str(path)


def run(binary: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, "model", *args], capture_output=True, text=True, timeout=120)


def copy_bundle(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name / "1"
    shutil.copytree(FIXTURES / name / "1", target)
    return target


def test_validate_warns_without_reference_rows_and_strict_fails(binary, tmp_path):
    bundle = copy_bundle(tmp_path, "linear-regression")
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["reference"]
    for name in ("reference_inputs.f32", "reference_outputs.f32"):
        del manifest["files"][name]
        (bundle / name).unlink()
    (bundle / "manifest.json").write_text(json.dumps(manifest))

    lenient = run(binary, "validate", str(bundle))
    assert lenient.returncode == 0, lenient.stderr
    assert "WARNING no_reference_rows" in lenient.stderr
    assert "OK with 1 warning" in lenient.stdout

    strict = run(binary, "validate", "--strict", str(bundle))
    assert strict.returncode == 1
    assert "WARNING no_reference_rows" in strict.stderr
    assert "--strict" in strict.stderr


def test_validate_strict_passes_a_bundle_whose_rows_cover_every_path(binary, tmp_path):
    for name in ("linear-regression", "xgb-imputing-pipeline"):
        result = run(binary, "validate", "--strict", str(copy_bundle(tmp_path, name)))
        assert result.returncode == 0, result.stderr
        assert "WARNING" not in result.stderr
        assert result.stdout.strip().endswith("OK")


def test_inspect_prints_integer_training_parameters_as_integers(binary):
    result = run(binary, "inspect", str(FIXTURES / "xgb-imputing-pipeline" / "1"))
    assert result.returncode == 0, result.stderr
    training = next(line for line in result.stdout.splitlines() if line.startswith("training"))
    assert "n_estimators=60 " in training + " "
    assert "max_depth=4 " in training + " "
    assert "learning_rate=0.3" in training
    assert re.search(r"=-?\d+\.0( |$)", training) is None, training  # no integer printed as a float
