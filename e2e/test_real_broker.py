"""End-to-end: the `inference-worker run` binary against a real Kafka-compatible broker (Tansu),
on librdkafka 2.16, checked with an independent client (confluent-kafka) and an independent
evaluation of the model (numpy)."""
from __future__ import annotations

import json
import re
import signal
import threading
import time

import numpy as np
import pytest

from harness import (Broker, OutputReader, Sent, Topics, Worker, committed, input_ends, make_requests, make_topics,
                     partition_counts, produce, unique, wait_for_spread, wait_until_committed)
from reference_model import close

PARTITIONS = 8


def verify_outcomes(reader: OutputReader, sent: Sent, topics, model, worker_ids) -> int:
    """Every input has an outcome of the right kind and content; returns the number of duplicates
    (outcomes beyond the first per input)."""
    counts = reader.position_counts()
    assert set(counts) == set(sent.by_position), (
        f"{len(set(sent.by_position) - set(counts))} inputs without outcome, "
        f"{len(set(counts) - set(sent.by_position))} outcomes for unknown inputs")
    labels = model.labels
    for value, _ in reader.out.predictions:
        pos = (value["source"]["partition"], value["source"]["offset"])
        rid, expected = sent.by_position[pos]
        assert not isinstance(expected, str), f"malformed input at {pos} got a prediction: {value}"
        assert value["id"] == rid and value["source"]["topic"] == topics.requests
        assert value["model"] == {"name": model.name, "version": model.version}
        probs = [value["outputs"]["probabilities"][label] for label in labels]
        assert close(probs, expected, rel=1e-5), f"{rid}: worker {probs}, reference {list(expected)}"
        assert value["outputs"]["label"] == labels[int(np.argmax(expected))] or abs(expected[0] - expected[1]) < 1e-5
    for raw, headers, _ in reader.out.dead_letters:
        pos = (int(headers["__connect.errors.partition"]), int(headers["__connect.errors.offset"]))
        rid, expected = sent.by_position[pos]
        assert isinstance(expected, str), f"valid input {rid} at {pos} was dead-lettered: {headers}"
        assert headers["__connect.errors.topic"] == topics.requests
        assert headers["inference.errors.reason"] == expected, (raw, headers)
        assert headers["__connect.errors.exception.message"], headers
        assert headers["inference.worker.id"] in worker_ids, headers
        assert raw is not None and not raw.startswith(b'{"id":"req-'), raw
    return sum(counts.values()) - len(counts)


def verify_dead_letter_bytes(reader: OutputReader, requests_by_key: dict) -> None:
    """Dead letters keep the original value byte for byte (matched through the key)."""
    for raw, _, key in reader.out.dead_letters:
        assert raw == requests_by_key[key.decode()], (key, raw)


def start_workers(procs, runtime, broker, topics, group, ids, extra=(), kafka=None):
    return [Worker(procs, runtime, broker, topics, group, wid, extra=list(extra), kafka=kafka) for wid in ids]


def test_three_replicas_100k_events_exact_outcomes(procs, broker, worker_runtime, model, measured):
    """No faults: 100,000 events (~1% malformed) over 8 partitions, three replicas in one group. Every
    input gets exactly one outcome; predictions equal the reference model; dead letters keep the bytes
    and say where they came from; the partitions are spread over all three replicas."""
    topics = make_topics(broker, PARTITIONS)
    group = unique("group")
    ids = ["replica-a", "replica-b", "replica-c"]
    workers = start_workers(procs, worker_runtime, broker, topics, group, ids)
    owned = wait_for_spread(workers, PARTITIONS)

    n = 100_000
    requests = make_requests(model, n, seed=100)
    sent = Sent()
    t0 = time.monotonic()
    produce(broker, topics.requests, PARTITIONS, requests, sent)
    reader = OutputReader(broker, topics, procs, group)
    reader.read_until_covered(sent.by_position, stall=30)
    elapsed = time.monotonic() - t0
    wait_until_committed(broker, group, topics.requests, sent)
    reader.read_all_again()

    assert 500 <= sent.malformed() <= 1500
    duplicates = verify_outcomes(reader, sent, topics, model, set(ids))
    assert duplicates == 0
    assert len(reader.out.predictions) == sent.valid() and len(reader.out.dead_letters) == sent.malformed()
    verify_dead_letter_bytes(reader, {(rid or f"bad-{i}"): payload for i, (payload, rid, _) in enumerate(requests)})

    # Spread: every replica owned partitions, and each dead letter names the replica that owned its partition.
    assert {w.worker_id: w.owned() for w in workers} == owned, "a rebalance happened without faults"
    owner = {p: wid for wid, ps in owned.items() for p in ps}
    for _, headers, _ in reader.out.dead_letters:
        assert headers["inference.worker.id"] == owner[int(headers["__connect.errors.partition"])]
    assert {h["inference.worker.id"] for _, h, _ in reader.out.dead_letters} == set(ids)
    # Drift: every replica published reports (count-closed windows of 10,000 rows by default), keyed
    # by model name, for the model version it served, with the rows it saw.
    reports = read_drift_reports(broker, topics.drift, expect_workers=set(ids))
    assert {tuple(r["worker_ids"]) for _, r in reports} == {(i,) for i in ids}
    assert all(key == b"fraud-mlp" and r["model_name"] == "fraud-mlp" and r["model_version"] == "1" for key, r in reports)
    assert all(r["dataset"]["level"] in ("ok", "warn", "alert", "insufficient_data") for _, r in reports)
    assert sum(r["row_count"] for _, r in reports) <= sent.valid()
    measured(f"100k events: {sent.valid()} predictions, {sent.malformed()} dead letters in {elapsed:.1f}s "
          f"({n / elapsed:.0f} events/s); assignment {owned}; reader re-reads {reader.rereads}")


def read_drift_reports(broker, topic, expect_workers, timeout=60.0, partitions=None):
    """Reads the drift topic from the start until every expected worker has reported (the workers
    publish a window when it reaches 10,000 rows, and the open one when they stop), then until it
    is quiet for 2 s. With `partitions`, reads partitions 0..partitions-1 by assignment instead of
    subscribing (a group join on Tansu takes several seconds)."""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("drift-reader"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    if partitions:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    else:
        consumer.subscribe([topic])
    reports, last, deadline = [], time.monotonic(), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                seen = {w for _, r in reports for w in r["worker_ids"]}
                if seen >= expect_workers and time.monotonic() - last > 2:
                    break
                continue
            reports.append((message.key(), json.loads(message.value())))
            last = time.monotonic()
    finally:
        consumer.close()
    return reports


def _stream_in_background(broker, topics, requests, sent, rate):
    errors = []

    def run():
        try:
            produce(broker, topics.requests, PARTITIONS, requests, sent, rate=rate)
        except BaseException as e:  # reported by the test
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def _wait_for_outcomes(reader, count, timeout=60):
    deadline = time.monotonic() + timeout
    while reader.total() < count:
        assert time.monotonic() < deadline, f"only {reader.total()} outcomes, waited for {count}"
        reader.poll(0.3)


MAX_IN_FLIGHT = 2000
COMMIT_INTERVAL = 0.2
RATE = 4000  # events per second produced while a replica fails


@pytest.mark.parametrize("load", ["stream", "backlog"])
def test_sigkill_of_a_replica_mid_stream(procs, broker, worker_runtime, model, measured, load):
    """SIGKILL of one of three replicas mid-stream: the others take over its partitions, every input
    still gets an outcome, and the duplicates (redelivered outcomes) stay within the bound of what the
    killed replica can have had in flight or acknowledged-but-uncommitted.

    `stream`: 40,000 events arrive at 4,000/s, the replicas keep up (little in flight). `backlog`:
    120,000 events wait before the replicas start, so each runs at its in-flight limit when the kill
    comes. (With 40,000, a replica once wrote its whole share, about 13,000 outcomes, between the
    moment the partitions were seen spread and the first look at its /metrics: nothing was left to kill.)"""
    topics = make_topics(broker, PARTITIONS)
    group = unique("group")
    ids = ["kill-a", "kill-b", "kill-c"]
    extra = ["--max-in-flight-records", str(MAX_IN_FLIGHT), "--commit-interval", f"{int(COMMIT_INTERVAL * 1000)}ms"]
    n = 120_000 if load == "backlog" else 40_000
    requests = make_requests(model, n, seed=200)
    sent = Sent()
    if load == "backlog":
        produce(broker, topics.requests, PARTITIONS, requests, sent)
    workers = start_workers(procs, worker_runtime, broker, topics, group, ids, extra=extra)
    owned = wait_for_spread(workers, PARTITIONS)

    reader = OutputReader(broker, topics, procs, group)
    thread, errors = None, []
    if load == "stream":
        thread, errors = _stream_in_background(broker, topics, requests, sent, RATE)
    victim = workers[1]
    victim_share = None
    if load == "stream":
        _wait_for_outcomes(reader, 2000)
        t_start, count_start = time.monotonic(), reader.total()
        _wait_for_outcomes(reader, n // 3)
    else:
        # The replicas clear the backlog at tens of thousands of events a second, and the test's
        # reader fetches in large chunks: waiting for it to count n/3 once let every outcome be
        # written before the kill. The victim's own /metrics, polled every few ms, times the kill.
        t_start, count_start = time.monotonic(), reader.total()
        victim_share = sum(1 for (p, _) in sent.by_position if p in owned[victim.worker_id])
        deadline = time.monotonic() + 60
        while victim.outcomes() < victim_share // 5:
            assert time.monotonic() < deadline, f"the victim wrote only {victim.outcomes()} of {victim_share} outcomes in 60 s"
            time.sleep(0.003)
    victim_done = victim.outcomes()
    killed_wall = time.time()
    victim.proc.signal(signal.SIGKILL)
    victim.proc.wait(10)
    dead_wall = time.time()
    killed_at = reader.total()
    polled_rate = (killed_at - count_start) / (time.monotonic() - t_start)  # outcomes/s, all replicas
    if thread is not None:
        thread.join(120)
    assert not errors, errors
    survivors = [w for w in workers if w is not victim]
    reader.read_until_covered(sent.by_position, stall=45)
    wait_until_committed(broker, group, topics.requests, sent)
    reader.read_all_again()

    duplicates = verify_outcomes(reader, sent, topics, model, set(ids))
    # The survivors take over every partition, including the victim's. A victim that had already
    # finished (and committed) its partitions leaves nothing to redeliver, so the outcomes can all
    # be in before the group notices the kill (session timeout, 45 s): wait for the hand-over.
    takeover_deadline = time.monotonic() + 90
    while set().union(*(w.owned() for w in survivors)) != set(range(PARTITIONS)) and time.monotonic() < takeover_deadline:
        time.sleep(0.5)
    assert set().union(*(w.owned() for w in survivors)) == set(range(PARTITIONS))
    assert owned[victim.worker_id] <= set().union(*(w.ever_owned() for w in survivors))
    # Duplicates only on the victim's partitions.
    dup_partitions = {p for (p, _), c in reader.position_counts().items() if c > 1}
    assert dup_partitions <= owned[victim.worker_id], (dup_partitions, owned)
    # Bound: in flight (consumed, not yet acknowledged: at most --max-in-flight-records, plus one poll
    # that can land just before the pause) + what was acknowledged but not yet committed: at most what
    # the victim wrote in its last three commit intervals (a commit covers what was acknowledged when
    # it was sent and is itself acknowledged a little later; an output acknowledged in between was
    # written up to a round trip before). That count comes from the timestamps of the predictions of
    # the victim's partitions. A rate polled from this reader was 0 once in the backlog case (its first
    # fetch brought more than n/3 outcomes at once), which left this term out; it is printed too.
    max_poll = 256  # the worker's poll batch: min(max(4 x max-batch-size, 256), max-in-flight)
    uncommitted = reader.outcomes_written(killed_wall - 3 * COMMIT_INTERVAL, dead_wall, partitions=owned[victim.worker_id])
    bound = MAX_IN_FLIGHT + max_poll + uncommitted
    if victim_share is not None:
        assert victim_done < victim_share, f"the kill came after the victim had written all {victim_share} of its outcomes"
    measured(f"{load}: SIGKILL after {killed_at} of {n} outcomes read, the victim's /metrics at {victim_done}"
             f"{f' of its {victim_share}' if victim_share is not None else ''} (it wrote {uncommitted} in its last "
             f"{3 * COMMIT_INTERVAL:.1f}s; group {polled_rate:.0f} outcomes/s polled): "
             f"{duplicates} duplicates (bound {bound}), victim owned {sorted(owned[victim.worker_id])}; "
             f"reader re-reads {reader.rereads}")
    assert duplicates <= bound


def test_sigterm_of_a_replica_drains_without_duplicates(procs, broker, worker_runtime, model, measured):
    """SIGTERM of one of three replicas mid-stream: it drains, commits, leaves and exits 0; the others
    take over; every input has exactly one outcome."""
    topics = make_topics(broker, PARTITIONS)
    group = unique("group")
    ids = ["term-a", "term-b", "term-c"]
    extra = ["--max-in-flight-records", str(MAX_IN_FLIGHT), "--drain-timeout", "15s"]
    workers = start_workers(procs, worker_runtime, broker, topics, group, ids, extra=extra)
    owned = wait_for_spread(workers, PARTITIONS)

    n = 30_000
    requests = make_requests(model, n, seed=300)
    sent = Sent()
    reader = OutputReader(broker, topics, procs, group)
    thread, errors = _stream_in_background(broker, topics, requests, sent, RATE)
    _wait_for_outcomes(reader, n // 3)
    leaver = workers[0]
    t0 = time.monotonic()
    leaver.stop_cleanly()
    stop_seconds = time.monotonic() - t0
    assert "kafka.unacknowledged=0" in leaver.log() and "stopped" in leaver.log()
    thread.join(120)
    assert not errors, errors
    survivors = workers[1:]
    reader.read_until_covered(sent.by_position, stall=45)
    wait_until_committed(broker, group, topics.requests, sent)
    reader.read_all_again()

    duplicates = verify_outcomes(reader, sent, topics, model, set(ids))
    measured(f"SIGTERM: replica stopped in {stop_seconds:.1f}s, {duplicates} duplicates")
    assert duplicates == 0
    assert set().union(*(w.owned() for w in survivors)) == set(range(PARTITIONS))
    assert owned[leaver.worker_id] <= set().union(*(w.ever_owned() for w in survivors))


def test_group_restart_resumes_from_committed_offsets(procs, broker, worker_runtime, model):
    """Stop the whole group gracefully, produce more, start it again: it resumes at the committed
    offsets - nothing committed before the stop is processed again, everything after is."""
    topics = make_topics(broker, PARTITIONS)
    group = unique("group")
    first = start_workers(procs, worker_runtime, broker, topics, group, ["gen1-a", "gen1-b"])
    wait_for_spread(first, PARTITIONS)
    sent = Sent()
    batch1 = make_requests(model, 10_000, seed=400, id_prefix="first")
    produce(broker, topics.requests, PARTITIONS, batch1, sent)
    reader = OutputReader(broker, topics, procs, group)
    reader.read_until_covered(sent.by_position)
    # One at a time, letting the last member take over before it stops too. Stopping both at once
    # trips a Tansu 0.6 bug (measured with plain confluent-kafka consumers as well): when two members
    # leave together, the next generation's JoinGroup still names a departed member as leader, so
    # SyncGroup keeps failing with REBALANCE_IN_PROGRESS and the new group gets no assignment for
    # tens of seconds or more (see README, "Real-broker suite").
    first[0].stop_cleanly()
    wait_for_spread(first[1:], PARTITIONS)
    first[1].stop_cleanly()
    ends1 = input_ends(sent)
    assert committed(broker, group, topics.requests, PARTITIONS) == ends1, "graceful stop did not commit everything"
    outcomes_before = reader.total()

    batch2 = make_requests(model, 10_000, seed=401, id_prefix="second")
    produce(broker, topics.requests, PARTITIONS, batch2, sent, start_index=len(batch1))
    second = start_workers(procs, worker_runtime, broker, topics, group, ["gen2-a", "gen2-b"])
    reader.read_until_covered(sent.by_position)
    wait_until_committed(broker, group, topics.requests, sent)
    reader.read_all_again()

    duplicates = verify_outcomes(reader, sent, topics, model, {"gen1-a", "gen1-b", "gen2-a", "gen2-b"})
    assert duplicates == 0, "the restarted group reprocessed committed records"
    assert reader.total() - outcomes_before == len(batch2)
    for value, _ in reader.out.predictions:
        src = value["source"]
        assert value["id"].startswith("first-") == (src["offset"] < ends1[src["partition"]])
    assert all(w.proc.alive() for w in second)


def test_tls_with_the_right_ca(procs, tls_broker, worker_runtime, model, certificates):
    """TLS terminated by socat in front of Tansu: the worker configured with the CA works end to end."""
    topics = make_topics(tls_broker, PARTITIONS)
    group = unique("group")
    kafka = {"security.protocol": "ssl", "ssl.ca.location": str(certificates["ca"])}
    [worker] = start_workers(procs, worker_runtime, tls_broker, topics, group, ["tls-a"], kafka=kafka)
    sent = Sent()
    produce(tls_broker, topics.requests, PARTITIONS, make_requests(model, 5_000, seed=500), sent)
    reader = OutputReader(tls_broker, topics, procs, group)
    reader.read_until_covered(sent.by_position, stall=30)
    wait_until_committed(tls_broker, group, topics.requests, sent)
    reader.read_all_again()
    assert verify_outcomes(reader, sent, topics, model, {"tls-a"}) == 0
    worker.stop_cleanly()


def test_tls_with_the_wrong_ca_reports_and_keeps_retrying(procs, tls_broker, worker_runtime, model, certificates):
    """With a CA that did not sign the broker's certificate the worker says so in its log, keeps
    running (retrying the connection, consuming nothing), and still stops cleanly on SIGTERM."""
    topics = make_topics(tls_broker, PARTITIONS)
    kafka = {"security.protocol": "ssl", "ssl.ca.location": str(certificates["wrong_ca"])}
    group = unique("group")
    [worker] = start_workers(procs, worker_runtime, tls_broker, topics, group, ["tls-wrong"], kafka=kafka)
    sent = Sent()
    produce(tls_broker, topics.requests, PARTITIONS, make_requests(model, 200, seed=600), sent)
    deadline = time.monotonic() + 20
    while "certificate verify failed" not in worker.log() and time.monotonic() < deadline:
        assert worker.proc.alive(), worker.log()[-3000:]
        time.sleep(0.5)
    log = worker.log()
    assert "certificate verify failed" in log, log[-3000:]
    time.sleep(3)
    assert worker.proc.alive(), "the worker gave up (or crashed) instead of retrying:\n" + worker.log()[-3000:]
    reader = OutputReader(tls_broker, topics, procs, group)
    reader.poll(2)
    assert reader.total() == 0
    # Typically stopped during its start-up ("stopped before starting"): the roll-out coordinator's
    # producer, retrying its TLS handshake, is closed before the process exits (left open, it once
    # ended this test with SIGSEGV).
    worker.stop_cleanly()


def topics_created_in_log(worker: Worker) -> list[str]:
    """The topics the worker's CreateTopics call created (not those that already existed), from its
    `topics ensured kafka.topics.created=[...]` log line."""
    lines = [line for line in worker.log().splitlines() if "topics ensured" in line]
    assert len(lines) == 1, f"expected one 'topics ensured' line:\n{worker.log()[-3000:]}"
    listed = re.search(r"kafka\.topics\.created=\[(.*?)\]", lines[0])
    assert listed, lines[0]
    return re.findall(r'"([^"]*)"', listed.group(1))


def test_create_topics_creates_missing_topics_and_leaves_existing_ones(procs, broker, worker_runtime, model):
    """`run --create-topics true --create-topic-partitions 12` on topic names that do not exist,
    except the output topic, made beforehand with 3 partitions: the worker creates the input,
    dead-letter and drift topics with the partitions `WorkerTopics.specifications` gives (12 for the
    input and drift topics, max(1, 12 / 4) = 3 for the dead-letter topic), leaves the output topic at
    its 3, and serves. A second replica started with the same flags, when every topic exists, starts
    and serves too. Predictions, dead letters and drift reports land in the topics as they are."""
    created_partitions = 12  # not the default 8, so the setting is what counts
    topics = Topics(unique("requests"), unique("predictions"), unique("requests-dlt"), created_partitions, unique("drift"))
    names = [topics.requests, topics.predictions, topics.dead_letters, topics.drift]
    assert partition_counts(broker, names) == dict.fromkeys(names), "the topic names are not new"
    broker.create_topic(topics.predictions, 3)
    expected = {topics.requests: created_partitions, topics.predictions: 3,
                topics.dead_letters: max(1, created_partitions // 4), topics.drift: created_partitions}

    group = unique("group")
    extra = ["--create-topics", "true", "--create-topic-partitions", str(created_partitions)]
    [first] = start_workers(procs, worker_runtime, broker, topics, group, ["create-a"], extra=extra)
    wait_for_spread([first], created_partitions)  # past ensureTopics: subscribed, owns every input partition
    assert partition_counts(broker, names) == expected
    # ...and the roll-out topics (issue 17): the record topic, the evidence topic, the shadow topic.
    rollout_topics = ["inference-rollouts", "inference-rollout-evidence", f"{topics.predictions}.shadow"]
    assert sorted(topics_created_in_log(first)) == sorted([topics.requests, topics.dead_letters, topics.drift] + rollout_topics)
    assert partition_counts(broker, rollout_topics) == {rollout_topics[0]: 1, rollout_topics[1]: 3, rollout_topics[2]: created_partitions}
    # The existing output topic's 3 partitions differ from the 12 asked for: said, and left alone.
    mismatch = [line for line in first.log().splitlines() if "different partition count" in line]
    assert len(mismatch) == 1 and topics.predictions in mismatch[0], first.log()[-3000:]
    assert "kafka.partitions=3" in mismatch[0] and "kafka.partitions.specified=12" in mismatch[0], mismatch[0]

    # Every topic exists now: a second replica with the same flags creates nothing and joins the group.
    [second] = start_workers(procs, worker_runtime, broker, topics, group, ["create-b"], extra=extra)
    wait_for_spread([first, second], created_partitions)
    assert topics_created_in_log(second) == []
    assert sum("different partition count" in line for line in second.log().splitlines()) == 1, "only the output topic differs"
    assert partition_counts(broker, names) == expected

    # Both serve: predictions on the 3-partition output topic, dead letters on the created one.
    sent = Sent()
    produce(broker, topics.requests, created_partitions, make_requests(model, 300, seed=700, malformed_share=0.05), sent)
    assert sent.malformed() > 0
    reader = OutputReader(broker, topics, procs, group, prediction_partitions=expected[topics.predictions],
                          dead_letter_partitions=expected[topics.dead_letters])
    reader.read_until_covered(sent.by_position, stall=30)
    wait_until_committed(broker, group, topics.requests, sent)
    reader.read_all_again()
    assert verify_outcomes(reader, sent, topics, model, {"create-a", "create-b"}) == 0
    assert len(reader.out.predictions) == sent.valid() and len(reader.out.dead_letters) == sent.malformed()
    assert all(w.proc.alive() for w in (first, second))

    # The created drift topic takes reports: each replica publishes its open window when it stops.
    for worker in (second, first):
        worker.stop_cleanly()
    reports = read_drift_reports(broker, topics.drift, expect_workers={"create-a", "create-b"},
                                 partitions=expected[topics.drift])
    assert {w for _, r in reports for w in r["worker_ids"]} == {"create-a", "create-b"}


def test_run_refuses_to_start_when_a_topic_is_missing(procs, broker, worker_runtime):
    """Without --create-topics, a missing dead-letter topic is named at start (a missing topic would
    otherwise hold partitions back at the first bad record); with the topic created, the same
    command starts and joins its group."""
    topics = make_topics(broker, 2)
    missing = unique("missing-dlt")
    topics_missing = Topics(topics.requests, topics.predictions, missing, topics.partitions, topics.drift)
    worker = Worker(procs, worker_runtime, broker, topics_missing, unique("group"), "no-dlt")
    code = worker.proc.wait(60)
    log = worker.log()
    assert code != 0, log[-2000:]
    assert "missing topics: " + missing in log, log[-2000:]
    assert "--create-topics true" in log, log[-2000:]

    broker.create_topic(missing, 1)
    worker = Worker(procs, worker_runtime, broker, topics_missing, unique("group"), "with-dlt")
    deadline = time.monotonic() + 60
    while "partitions assigned" not in worker.log() and time.monotonic() < deadline:
        assert worker.proc.alive(), worker.log()[-2000:]
        time.sleep(0.2)
    assert "partitions assigned" in worker.log(), worker.log()[-2000:]


def test_a_fatal_error_while_running_exits_non_zero(procs, broker, worker_runtime):
    """A service that fails after the group started (here the pipeline, at its first assignment: a
    labels topic with fewer partitions than the requests cannot be joined) shuts the others down and
    the process exits non-zero with the error, for the orchestrator to restart it and its operator to
    read why. (A producer that cannot be recovered within --producer-recovery-timeout ends the same
    way; the embedded broker's tests cover that path inside the process.)"""
    topics = make_topics(broker, 4)
    labels, quality = unique("labels"), unique("quality")
    broker.create_topic(labels, 3)
    broker.create_topic(quality, 1)
    worker = Worker(procs, worker_runtime, broker, topics, unique("group"), "not-co-partitioned",
                    extra=["--labels-topic", labels, "--quality-topic", quality])
    code = worker.proc.wait(90)
    log = worker.log()
    assert code != 0, log[-3000:]
    assert f"the labels topic {labels} has 3 partitions and the request topic {topics.requests} has 4" in log, log[-3000:]
    assert f"repartition {labels} to 4 partitions" in log, log[-3000:]
    assert "partitions assigned" in log and log.index("partitions assigned") < log.index("not co-partitioned"), \
        "the pipeline failed while running, not at start-up: " + log[-3000:]


def test_a_request_whose_dead_letter_is_too_large_is_truncated_and_its_partition_moves_on(procs, broker, worker_runtime, model):
    """Issue 13: a request of max-payload-bytes + 1 (1,048,577 bytes) between valid ones. Its dead
    letter (the original value) is larger than the producer's message.max.bytes: it is written
    truncated, with headers saying so, and the partition moves on; every record has exactly one
    outcome and the group commits to the end."""
    import hashlib
    from confluent_kafka import Producer

    topics = make_topics(broker, 2)
    group = unique("group")
    requests = make_requests(model, 200, seed=300, malformed_share=0.0)
    sent = Sent()
    produce(broker, topics.requests, 2, requests[:100], sent)
    huge = bytes((i * 31 + 7) % 256 for i in range(1_048_577))
    big_producer = Producer({"bootstrap.servers": broker.bootstrap, "message.max.bytes": 4_000_000, **broker.client_config})
    delivered = []
    big_producer.produce(topics.requests, value=huge, key=b"huge", partition=0,
                         on_delivery=lambda err, msg: delivered.append((err, msg.partition(), msg.offset())))
    assert big_producer.flush(60) == 0 and delivered and delivered[0][0] is None, delivered
    _, huge_partition, huge_offset = delivered[0]
    sent.by_position[(huge_partition, huge_offset)] = (None, "oversized_payload")
    produce(broker, topics.requests, 2, requests[100:], sent, start_index=100)

    start_workers(procs, worker_runtime, broker, topics, group, ["big"])
    reader = OutputReader(broker, topics, procs, group)
    _wait_for_outcomes(reader, 201, timeout=120)
    reader.poll(2.0)
    counts = reader.position_counts()
    assert set(counts) == set(sent.by_position), "every input has an outcome"
    assert all(c == 1 for c in counts.values()), "exactly one each"
    assert len(reader.out.predictions) == 200
    [(value, headers, key)] = reader.out.dead_letters
    assert headers["inference.errors.reason"] == "oversized_payload"
    assert (int(headers["__connect.errors.partition"]), int(headers["__connect.errors.offset"])) == (huge_partition, huge_offset)
    assert headers["inference.errors.value.truncated"] == "true"
    assert headers["inference.errors.value.original.size"] == str(len(huge))
    assert headers["inference.errors.value.sha256"] == hashlib.sha256(huge).hexdigest()
    assert 0 < len(value) < 1_000_000 and value == huge[:len(value)]
    assert key == b"huge"
    wait_until_committed(broker, group, topics.requests, sent, timeout=60)
