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


def produce_until_decided(runtime, broker, topics, partitions: int, model, seed: int, prefix: str, limit: float = 120.0):
    """Requests at 200/s, 200 at a time, until the roll-out is no longer running (or `limit` seconds
    passed): the last record read and what was sent."""
    sent = Sent()
    batch = 0
    deadline = time.monotonic() + limit
    while True:
        chunk = make_requests(model, 200, seed=seed + batch, malformed_share=0.0, id_prefix=f"{prefix}{batch}")
        produce(broker, topics.requests, partitions, chunk, sent, rate=200)
        batch += 1
        record = status(runtime, broker)
        if record["state"] != "running" or time.monotonic() > deadline:
            return record, sent


def start_shadow(procs, runtime, broker, names):
    """A 50 % shadow of version 2 (3-second windows, promotion after three good ones) served by two
    replicas spread over 4 partitions: the topics, the shadow topic, the roll-out's salt, the group and
    the workers."""
    topics = make_topics(broker, 4)
    shadow_topic = f"{topics.predictions}.shadow"
    broker.create_topic(shadow_topic, 2)
    started = cli(runtime, broker, "start", "--model", "fraud-mlp", "--primary", "1", "--candidate", "2",
                  "--mode", "shadow", "--fraction", "0.5", "--promote-after", "3", "--window", "3", "--grace", "2",
                  "--min-records", "20", "--max-latency-ratio", "off", "--create-topic")
    assert started.returncode == 0, started.stderr[-2000:]
    salt = status(runtime, broker)["rollout_id"]
    group = unique("group")
    workers = start_workers(procs, runtime, broker, topics, group, names)
    wait_for_spread(workers, 4, timeout=60)
    return topics, shadow_topic, salt, group, workers


def wait_until_every_worker_follows(workers, state: str, limit: float = 30.0) -> None:
    """Waits until every replica's /metrics shows the roll-out in `state`."""
    pattern = re.compile(r'inference_worker_rollout_info\{[^}]*state="' + state + r'"[^}]*\} 1')
    deadline = time.monotonic() + limit
    while not all(pattern.search(metrics(w)) for w in workers):
        assert time.monotonic() < deadline, [metrics(w)[-1500:] for w in workers]
        time.sleep(0.5)


def send_more_and_read_everything(procs, broker, topics, partitions: int, group, model, sent, count: int, seed: int):
    """`count` more requests (ids `after...`) once the replicas follow the decision, then every output
    read back after the group committed everything: the reader, the outcomes per input position and
    the new requests' ids."""
    after = make_requests(model, count, seed=seed, malformed_share=0.0, id_prefix="after")
    produce(broker, topics.requests, partitions, after, sent, rate=count)
    reader = OutputReader(broker, topics, procs, group)
    reader.read_until_covered(sent.by_position, stall=30)
    wait_until_committed(broker, group, topics.requests, sent)
    reader.read_all_again()
    return reader, reader.position_counts(), {rid for _, rid, _ in after}


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
    record, sent = produce_until_decided(runtime, broker, topics, PARTITIONS, model, seed=900, prefix="a")
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
    wait_until_every_worker_follows(workers, "promoted")
    written = 0
    for worker in workers:
        for line in metrics(worker).splitlines():
            if line.startswith("inference_worker_rollout_decisions_total{"):
                written += int(float(line.rsplit(" ", 1)[1]))
    assert written == len(automatic), f"decisions written {written}, in the record {len(automatic)}"

    # After the promotion, version 2 serves every key.
    reader, counts, after_ids = send_more_and_read_everything(procs, broker, topics, PARTITIONS, group, model, sent, 600, seed=999)
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


def read_topic(broker, topic: str, partitions: int, quiet: float = 3.0, limit: float = 60.0) -> list:
    """Every record of `topic` from offset 0, until nothing new came for `quiet` seconds."""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("shadow-reader"),
                         "enable.auto.commit": False, **broker.client_config})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    records = []
    last = start = time.monotonic()
    try:
        while time.monotonic() - last < quiet and time.monotonic() - start < limit:
            for m in consumer.consume(num_messages=10000, timeout=0.2):
                if m.error() is None:
                    records.append(m)
                    last = time.monotonic()
    finally:
        consumer.close()
    return records


def test_a_shadow_on_two_replicas_goes_to_the_shadow_topic_only_and_is_promoted(procs, broker, worker_runtime, model, tmp_path):
    """A shadow of 50 % (a copy of the model: it agrees) with two replicas: the output topic has exactly
    one prediction per input; the shadow topic has version 2's predictions of exactly the sampled keys (the
    Python router) the primary served during the roll-out, each once; the decider
    promotes on full agreement; afterwards version 2 serves every key and nothing more is shadowed."""
    runtime = WorkerRuntime(worker_runtime.binary, worker_runtime.lib_dir,
                            model_root_with_two_versions(worker_runtime.model_root, tmp_path / "models"))
    topics, shadow_topic, salt, group, workers = start_shadow(procs, runtime, broker, ["shadow-a", "shadow-b"])
    record, sent = produce_until_decided(runtime, broker, topics, 4, model, seed=1900, prefix="s")
    assert record["state"] == "promoted", json.dumps(record["decisions"], indent=1)[-3000:]
    automatic = [d for d in record["decisions"] if not d["manual"]]
    assert all(d["evidence"]["label_disagreement_rate"] == 0 for d in automatic if d["evidence"]["label_comparisons"] > 0)
    assert automatic[-1]["evidence"]["label_comparisons"] >= 20
    wait_until_every_worker_follows(workers, "promoted")
    reader, counts, after_ids = send_more_and_read_everything(procs, broker, topics, 4, group, model, sent, 400, seed=1999)
    assert set(counts) == set(sent.by_position) and sum(counts.values()) == len(counts)
    served_by = {value["id"]: value["model"]["version"] for value, _ in reader.out.predictions}
    assert all(served_by[rid] == "2" for rid in after_ids)

    shadows = read_topic(broker, shadow_topic, 2)
    ids = [json.loads(m.value())["id"] for m in shadows]
    assert len(ids) == len(set(ids)), "each shadow prediction once"
    for m in shadows:
        value = json.loads(m.value())
        rid = value["id"]
        assert value["model"]["version"] == "2" and m.key().decode() == rid
        assert unit_value(salt, rid.encode()) < 0.5, f"{rid} is not a sampled key"
        assert served_by[rid] == "1", f"{rid} shadowed but not served by the primary"
        assert rid not in after_ids
        _, expected = next(v for v in sent.by_position.values() if v[0] == rid)
        assert close([value["outputs"]["probabilities"][label] for label in model.labels], expected, rel=1e-5)
    sampled_by_primary = {rid for rid, version in served_by.items() if version == "1" and unit_value(salt, rid.encode()) < 0.5}
    # Exactly those: the candidate (2) is the registry's own latest version, in memory before the first
    # batch (the primary, 1, is the one loaded on demand, and the replicas wait for it).
    assert set(ids) == sampled_by_primary, (len(ids), len(sampled_by_primary))
    print(f"\nshadow e2e: {len(automatic)} decisions; {len(ids)} shadow predictions of {len(sampled_by_primary)} sampled rows the primary served")


def flip_classes(bundle) -> None:
    """Rewrites a `fraud-mlp` bundle so that it predicts the other class: the output layer's two
    columns swapped (and the reference outputs with them, so that its self-test still passes)."""
    import hashlib

    import numpy as np
    manifest = json.loads((bundle / "manifest.json").read_text())

    def rewrite(name, shape):
        values = np.fromfile(bundle / name, dtype="<f4").reshape(shape)[..., ::-1].copy()
        values.astype("<f4").tofile(bundle / name)
        manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()

    rewrite("layer1_weights.f32", (32, 2))
    rewrite("layer1_bias.f32", (2,))
    rewrite("reference_outputs.f32", (-1, 2))
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_a_shadow_that_disagrees_is_rolled_back_and_the_primary_path_is_untouched(procs, broker, worker_runtime, model, tmp_path):
    """A candidate that predicts the other class, shadowed on 50 % of the keys by two replicas: the
    first window with enough comparisons rolls it back (label disagreement); the output topic has
    exactly one prediction per input, all by 1 and equal to the reference model; the shadow topic's
    predictions are the flipped ones, of sampled keys only, and stop once the replicas follow the
    roll-back."""
    root = model_root_with_two_versions(worker_runtime.model_root, tmp_path / "models")
    flip_classes(root / "fraud-mlp" / "2")
    runtime = WorkerRuntime(worker_runtime.binary, worker_runtime.lib_dir, root)
    topics, shadow_topic, salt, group, workers = start_shadow(procs, runtime, broker, ["flip-a", "flip-b"])
    record, sent = produce_until_decided(runtime, broker, topics, 4, model, seed=2900, prefix="f")
    assert record["state"] == "rolled_back", json.dumps(record["decisions"], indent=1)[-3000:]
    assert record["primary_version"] == "1"
    last = record["decisions"][-1]
    assert last["action"] == "roll_back" and "label disagreement" in last["reason"], last
    assert all(d["action"] == "hold" for d in record["decisions"][:-1])
    wait_until_every_worker_follows(workers, "rolled_back")
    reader, counts, after_ids = send_more_and_read_everything(procs, broker, topics, 4, group, model, sent, 400, seed=2999)
    assert set(counts) == set(sent.by_position) and sum(counts.values()) == len(counts)
    assert not reader.out.dead_letters
    for value, _ in reader.out.predictions:
        _, expected = sent.by_position[(value["source"]["partition"], value["source"]["offset"])]
        assert value["model"]["version"] == "1"
        assert close([value["outputs"]["probabilities"][label] for label in model.labels], expected, rel=1e-5)

    shadows = read_topic(broker, shadow_topic, 2)
    assert shadows, "the candidate was shadowed before the roll-back"
    expected_by_id = {rid: e for rid, e in sent.by_position.values()}
    for m in shadows:
        value = json.loads(m.value())
        assert value["model"]["version"] == "2" and unit_value(salt, value["id"].encode()) < 0.5
        assert value["id"] not in after_ids, "nothing is shadowed once the replicas follow the roll-back"
        flipped = list(expected_by_id[value["id"]])[::-1]
        assert close([value["outputs"]["probabilities"][label] for label in model.labels], flipped, rel=1e-5)
    print(f"\nshadow rollback e2e: {len(record['decisions'])} decisions, last: {last['reason']}; {len(shadows)} shadow predictions")


def test_a_canary_less_accurate_than_its_labels_is_rolled_back(procs, broker, worker_runtime, model, tmp_path):
    """A canary of 50 % whose candidate predicts the other class, judged on accuracy against a labels
    topic (issue 17): two replicas join each label with their own prediction, the decider rolls the
    canary back on the candidate's accuracy (no other limit can: output PSI and latency are off, it
    fails no row), and every replica follows. The labels are the primary's own classes, so version 1
    is always right and the flipped version 2 always wrong."""
    import numpy as np
    from confluent_kafka import Producer

    root = model_root_with_two_versions(worker_runtime.model_root, tmp_path / "models")
    flip_classes(root / "fraud-mlp" / "2")
    runtime = WorkerRuntime(worker_runtime.binary, worker_runtime.lib_dir, root)
    topics = make_topics(broker, 4)
    labels_topic, quality_topic = unique("labels"), unique("quality")
    broker.create_topic(labels_topic, 4)  # co-partitioned with the requests
    broker.create_topic(quality_topic, 1)
    started = cli(runtime, broker, "start", "--model", "fraud-mlp", "--primary", "1", "--candidate", "2",
                  "--mode", "canary", "--fraction", "0.5", "--promote-after", "3", "--window", "3", "--grace", "2",
                  "--min-records", "20", "--max-output-psi", "off", "--max-latency-ratio", "off",
                  "--min-accuracy", "0.8", "--min-labelled", "20", "--create-topic")
    assert started.returncode == 0, started.stderr[-2000:]
    group = unique("group")
    workers = start_workers(procs, runtime, broker, topics, group, ["acc-a", "acc-b"],
                            extra=["--labels-topic", labels_topic, "--quality-topic", quality_topic])
    wait_for_spread(workers, 4, timeout=60)

    labeller = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, **broker.client_config})
    labelled: set = set()
    sent = Sent()
    deadline = time.monotonic() + 120
    batch = 0
    while True:
        chunk = make_requests(model, 200, seed=3300 + batch, malformed_share=0.0, id_prefix=f"acc{batch}")
        produce(broker, topics.requests, 4, chunk, sent, rate=200)
        batch += 1
        # Each request's label, keyed like it and on its partition: the class version 1 predicts.
        for (partition, _), (rid, expected) in list(sent.by_position.items()):
            if rid in labelled:
                continue
            labelled.add(rid)
            label = model.labels[int(np.argmax(expected))]
            labeller.produce(labels_topic, key=rid.encode(), partition=partition,
                             value=json.dumps({"id": rid, "label": label}).encode())
        assert labeller.flush(30) == 0
        record = status(runtime, broker)
        if record["state"] != "running" or time.monotonic() > deadline:
            break

    assert record["state"] == "rolled_back", json.dumps(record["decisions"], indent=1)[-3000:]
    assert record["primary_version"] == "1"
    automatic = [d for d in record["decisions"] if not d["manual"]]
    last = automatic[-1]
    assert last["action"] == "roll_back" and "accuracy" in last["reason"], last
    assert all(d["action"] == "hold" for d in automatic[:-1]), [d["reason"] for d in automatic]
    wait_until_every_worker_follows(workers, "rolled_back")
    print(f"\naccuracy rollback e2e: {len(automatic)} decisions, last: {last['reason']}; {len(labelled)} labels sent")
