"""End-to-end roll-out (issue 17): three `inference-worker run` replicas on Tansu serve a canary
written with `inference-worker rollout start`, report evidence, and the group's one decider promotes
it. Checked with an independent client, an independent key router (the hash written out in Python
from docs/rollouts.md) and the replicas' own /metrics."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

from harness import (OutputReader, Sent, WorkerRuntime, make_requests, make_topics, produce, unique, wait_for_spread,
                     wait_until_committed)
from reference_model import close
from test_real_broker import start_workers

PARTITIONS = 6
MASK = (1 << 64) - 1


def unit_value(salt: str, key: bytes) -> float:
    """docs/rollouts.md, "Routing keys": FNV-1a 64 of salt || 0xFF || key, MurmurHash3's fmix64,
    the top 53 bits as a fraction of 1."""
    h = 0xCBF29CE484222325
    for b in salt.encode() + b"\xff" + key:
        h = ((h ^ b) * 0x100000001B3) & MASK
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK
    h ^= h >> 33
    return (h >> 11) * 2.0 ** -53


def model_root_with_two_versions(source, target):
    """fraud-mlp 1 and a copy of it as version 2 (same weights: a candidate that agrees)."""
    for version in ("1", "2"):
        directory = target / "fraud-mlp" / version
        shutil.copytree(source / "fraud-mlp" / "1", directory)
        manifest = json.loads((directory / "manifest.json").read_text())
        manifest["version"] = version
        (directory / "manifest.json").write_text(json.dumps(manifest))
    return target


def cli(runtime: WorkerRuntime, broker, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = f"{runtime.lib_dir}:{env.get('LD_LIBRARY_PATH', '')}".rstrip(":")
    return subprocess.run([str(runtime.binary), "rollout", *args, "--bootstrap-servers", broker.bootstrap],
                          capture_output=True, text=True, timeout=60, env=env)


def status(runtime, broker) -> dict:
    done = cli(runtime, broker, "status", "--model", "fraud-mlp", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def metrics(worker) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_three_replicas_agree_on_every_rollout_decision(procs, broker, worker_runtime, model, tmp_path):
    """A canary of 30 % (copy of the model: it agrees), 3-second windows, promotion after three good
    windows, with three replicas: exactly one decision per window whoever decides, the promotion made
    on the merged evidence of all three, every replica follows it; every input has exactly one
    prediction, equal to the reference model, named by the version its key's route says (a canary
    key is never served by version 1; after the promotion everything by 2)."""
    runtime = WorkerRuntime(worker_runtime.binary, worker_runtime.lib_dir,
                            model_root_with_two_versions(worker_runtime.model_root, tmp_path / "models"))
    topics = make_topics(broker, PARTITIONS)
    started = cli(runtime, broker, "start", "--model", "fraud-mlp", "--primary", "1", "--candidate", "2",
                  "--mode", "canary", "--fraction", "0.3", "--promote-after", "3", "--window", "3", "--grace", "2",
                  "--min-records", "20", "--max-output-psi", "off", "--max-latency-ratio", "off", "--create-topic")
    assert started.returncode == 0, started.stderr[-2000:]
    record = status(runtime, broker)
    salt = record["rollout_id"]
    assert record["state"] == "running" and record["mode"] == {"kind": "canary", "fraction": 0.3}

    group = unique("group")
    ids = ["rollout-a", "rollout-b", "rollout-c"]
    workers = start_workers(procs, runtime, broker, topics, group, ids)
    wait_for_spread(workers, PARTITIONS, timeout=60)

    # Traffic (200 requests/s) until the decider promotes.
    sent = Sent()
    requests_by_id = {}
    batch = 0
    deadline = time.monotonic() + 120
    while True:
        chunk = make_requests(model, 200, seed=900 + batch, malformed_share=0.0, id_prefix=f"a{batch}")
        requests_by_id.update({rid: payload for payload, rid, _ in chunk})
        produce(broker, topics.requests, PARTITIONS, chunk, sent, rate=200)
        batch += 1
        record = status(runtime, broker)
        if record["state"] != "running" or time.monotonic() > deadline:
            break
    assert record["state"] == "promoted", json.dumps(record["decisions"], indent=1)[-3000:]
    assert record["primary_version"] == "2" and record["previous_primary_version"] == "1"

    # One decision per window, made by one of the replicas; the promotion on all three's evidence.
    automatic = [d for d in record["decisions"] if not d["manual"]]
    windows = [d["window"]["index"] for d in automatic]
    assert windows == sorted(set(windows)), f"a window decided twice or out of order: {windows}"
    assert all(d["decided_by"] in ids for d in automatic)
    assert [d["action"] for d in automatic][-1] == "promote" and all(d["action"] == "hold" for d in automatic[:-1])
    assert automatic[-1]["evidence"]["workers"] == 3, automatic[-1]
    good = [d for d in automatic if d["reason"].startswith("within thresholds")]
    assert len(good) >= 3 and all(d["evidence"]["candidate_failure_rate"] == 0 for d in good)

    # Every replica follows the promotion, and together they wrote each decision once.
    promoted = re.compile(r'inference_worker_rollout_info\{[^}]*state="promoted"[^}]*\} 1')
    deadline = time.monotonic() + 30
    while not all(promoted.search(metrics(w)) for w in workers):
        assert time.monotonic() < deadline, [metrics(w)[-1500:] for w in workers]
        time.sleep(0.5)
    written = 0
    for worker in workers:
        for line in metrics(worker).splitlines():
            if line.startswith("inference_worker_rollout_decisions_total{"):
                written += int(float(line.rsplit(" ", 1)[1]))
    assert written == len(automatic), f"decisions written {written}, in the record {len(automatic)}"

    # After the promotion, version 2 serves every key.
    after = make_requests(model, 600, seed=999, malformed_share=0.0, id_prefix="after")
    produce(broker, topics.requests, PARTITIONS, after, sent, rate=600)
    after_ids = {rid for _, rid, _ in after}

    reader = OutputReader(broker, topics, procs, group)
    reader.read_until_covered(sent.by_position, stall=30)
    wait_until_committed(broker, group, topics.requests, sent)
    reader.read_all_again()
    counts = reader.position_counts()
    assert set(counts) == set(sent.by_position)
    assert sum(counts.values()) == len(counts), "no fault: no duplicates"
    assert not reader.out.dead_letters
    versions = {"1": 0, "2": 0}
    labels = model.labels
    for value, _ in reader.out.predictions:
        rid, expected = sent.by_position[(value["source"]["partition"], value["source"]["offset"])]
        version = value["model"]["version"]
        versions[version] += 1
        probabilities = [value["outputs"]["probabilities"][label] for label in labels]
        assert close(probabilities, expected, rel=1e-5), rid
        if unit_value(salt, rid.encode()) < 0.3:
            assert version == "2", f"canary key {rid} served by {version}"
        if rid in after_ids:
            assert version == "2", f"{rid} after the promotion served by {version}"
    assert versions["1"] > 0 and versions["2"] >= len(after_ids), versions
    print(f"\nrollout e2e: {len(automatic)} decisions over windows {windows}; predictions by version {versions}")
