"""Processes and Kafka helpers for the real-broker suite: Tansu, socat, workers, producers, readers.

Every process is started through `ProcessSet.start`, which records it so the fixture that owns the
set stops it (SIGTERM, then SIGKILL) whatever the test's outcome.
"""
from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if the test runner dies (Linux PR_SET_PDEATHSIG), so a
    killed pytest leaves no broker or worker behind. Teardown stops children the normal way."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except Exception:
        pass


class Proc:
    """A child process in its own session, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True, stdin=subprocess.DEVNULL,
                                      preexec_fn=_die_with_parent)
        self.pid = self.popen.pid

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds; returns the exit code."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()
        return self.popen.returncode


class ProcessSet:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[Proc] = []
        self.cleanups: list = []   # client closers, run before any process stops

    def on_stop(self, fn) -> None:
        self.cleanups.append(fn)

    def start(self, name: str, argv: list[str], env: dict | None = None) -> Proc:
        proc = Proc(name, argv, self.log_dir / f"{name}-{len(self.procs)}.log", env=env)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                pass
        self.cleanups.clear()
        # Workers first (they need the broker to drain), brokers and proxies last.
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception:  # keep stopping the others
                pass


@dataclass
class Broker:
    """A Tansu broker (plain) and, optionally, socat terminating TLS in front of it."""
    bootstrap: str                      # what clients connect to (TLS port when tls)
    client_config: dict                 # extra confluent-kafka settings (ssl.*)
    tansu: str
    plain_port: int

    def admin_url(self) -> str:
        return f"tcp://127.0.0.1:{self.plain_port}"

    def create_topic(self, name: str, partitions: int) -> None:
        subprocess.run([self.tansu, "topic", "create", "--broker", self.admin_url(), "--partitions", str(partitions), name],
                       check=True, capture_output=True, timeout=30)
        # Wait until metadata shows every partition (creation is asynchronous for some brokers).
        admin = AdminClient({"bootstrap.servers": self.bootstrap, **self.client_config})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            md = admin.list_topics(topic=name, timeout=5)
            t = md.topics.get(name)
            if t is not None and t.error is None and len(t.partitions) == partitions:
                return
            time.sleep(0.1)
        raise TimeoutError(f"topic {name} not visible with {partitions} partitions")


def partition_counts(broker: Broker, names) -> dict[str, int | None]:
    """Partitions of each named topic (None: no such topic), from a metadata request for all topics.
    Asking for a topic by name from a producer-type handle (AdminClient's, with librdkafka's producer
    default allow.auto.create.topics=true) would make Tansu create it with its default partitions."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, **broker.client_config})
    md = admin.list_topics(timeout=10)
    counts = {}
    for name in names:
        t = md.topics.get(name)
        assert t is None or t.error is None, f"topic {name}: {t.error}"
        counts[name] = None if t is None else len(t.partitions)
    return counts


def start_tansu(procs: ProcessSet, tansu: str, advertised_port: int | None = None) -> tuple[Proc, int]:
    port = free_port()
    advertised = advertised_port or port
    proc = procs.start("tansu", [tansu, "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
                                 "--advertised-listener-url", f"tcp://127.0.0.1:{advertised}"])
    wait_for_port(port)
    return proc, port


@dataclass
class Topics:
    requests: str
    predictions: str
    dead_letters: str
    partitions: int
    drift: str = ""


def make_topics(broker: Broker, partitions: int = 8) -> Topics:
    t = Topics(unique("requests"), unique("predictions"), unique("requests-dlt"), partitions, unique("drift"))
    broker.create_topic(t.requests, partitions)
    broker.create_topic(t.predictions, partitions)
    broker.create_topic(t.dead_letters, 2)
    broker.create_topic(t.drift, 1)
    return t


# ---------------------------------------------------------------------------------------------- workers

@dataclass
class WorkerRuntime:
    binary: Path
    lib_dir: Path               # holds librdkafka.so.1 -> the confluent-kafka wheel's 2.16 build
    model_root: Path


class Worker:
    def __init__(self, procs: ProcessSet, runtime: WorkerRuntime, broker: Broker, topics: Topics, group: str,
                 worker_id: str, extra: list[str] = (), kafka: dict | None = None, model_name: str = "fraud-mlp"):
        self.worker_id = worker_id
        # Several replicas share this host: each gets its own metrics/health port.
        self.metrics_port = free_port()
        argv = [str(runtime.binary), "run",
                "--metrics-port", str(self.metrics_port),
                "--bootstrap-servers", broker.bootstrap,
                "--input-topics", topics.requests,
                "--output-topic", topics.predictions,
                "--dead-letter-topic", topics.dead_letters,
                "--drift-topic", topics.drift or "none",
                "--group-id", group,
                "--worker-id", worker_id,
                "--model-root", str(runtime.model_root),
                "--model-name", model_name,
                "--model-poll-interval", "60s",
                # A SIGKILLed member must be noticed in seconds, not librdkafka's default 45 s.
                "--consumer-property", "session.timeout.ms=6000",
                "--consumer-property", "heartbeat.interval.ms=500",
                *extra]
        for k, v in (kafka or {}).items():
            argv += ["--kafka", f"{k}={v}"]
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = f"{runtime.lib_dir}:{env.get('LD_LIBRARY_PATH', '')}".rstrip(":")
        self.proc = procs.start(f"worker-{worker_id}", argv, env=env)

    def log(self) -> str:
        return self.proc.log()

    # What the worker logs when it must end without its exit handlers (a client still open).
    CLIENTS_LEFT_OPEN = "librdkafka clients still open at exit"

    def stop_cleanly(self, timeout: float = 30) -> None:
        """SIGTERM, then asserts a clean stop: exit status 0 within `timeout`, and every librdkafka
        client destroyed before the process ended (a client left open lets `exit` run the exit
        handlers, OpenSSL's among them, under its threads: a SIGSEGV seen in CI)."""
        self.proc.signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        log = self.log()
        assert code == 0, f"exit {code}:\n{log[-3000:]}"
        assert self.CLIENTS_LEFT_OPEN not in log, log[-3000:]

    def metric_total(self, *names: str) -> float:
        """The sum of every sample (all label sets) of the named metrics on this worker's /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            body = response.read().decode()
        total = 0.0
        for line in body.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in names:
                total += float(line.rsplit(" ", 1)[1])
        return total

    def outcomes(self) -> int:
        """Predictions plus dead letters this worker has written, from its own /metrics."""
        return int(self.metric_total("inference_worker_predictions_total", "inference_worker_dead_letters_total"))

    def owned(self) -> set[int]:
        """The input partitions this worker owns now, replayed from its log (cooperative rebalancing
        logs increments: `partitions assigned` adds, `partitions revoking` / `partitions lost` remove)."""
        owned: set[int] = set()
        for line in self.log().splitlines():
            parts = {int(p) for p in re.findall(r"\[(\d+)\]", line)}
            if "partitions assigned" in line:
                owned |= parts
            elif "partitions revoking" in line or "partitions lost" in line:
                owned -= parts
        return owned

    def ever_owned(self) -> set[int]:
        got: set[int] = set()
        for line in self.log().splitlines():
            if "partitions assigned" in line:
                got |= {int(p) for p in re.findall(r"\[(\d+)\]", line)}
        return got


def wait_for_spread(workers: list[Worker], partitions: int, timeout: float = 30.0) -> dict[str, set[int]]:
    """Waits until the workers own disjoint, non-empty partition sets covering every partition."""
    deadline = time.monotonic() + timeout
    while True:
        owned = {w.worker_id: w.owned() for w in workers}
        union = set().union(*owned.values())
        disjoint = sum(len(o) for o in owned.values()) == len(union)
        if all(owned.values()) and disjoint and union == set(range(partitions)):
            return owned
        for w in workers:
            assert w.proc.alive(), f"worker {w.worker_id} exited with {w.proc.popen.returncode}:\n{w.log()[-3000:]}"
        if time.monotonic() > deadline:
            raise AssertionError(f"partitions not spread over all workers after {timeout}s: {owned}")
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------- data

@dataclass
class Sent:
    """What was produced: per (partition, offset) the request id and the expected outcome: the
    reference probabilities, or for a malformed request (id None) the dead-letter reason code."""
    by_position: dict = field(default_factory=dict)   # (partition, offset) -> (id or None, expected or None)

    def valid(self) -> int:
        return sum(1 for _, e in self.by_position.values() if not isinstance(e, str))

    def malformed(self) -> int:
        return sum(1 for _, e in self.by_position.values() if isinstance(e, str))


# Malformed requests of the kinds backend teams get wrong, with the `inference.errors.reason` each
# must be dead-lettered with.
MALFORMED = [
    (b'{"id":"bad-%d","features":[1,2,', "malformed_json"),                     # truncated JSON
    (b'{"id":"bad-%d","features":[1,2,3]}', "schema_violation"),                # wrong arity
    (b'{"id":"bad-%d","features":{"amount":-1e12}}', "out_of_range_value"),     # out of range
    (b'{"id":"bad-%d","features":{"no_such_feature":1}}', "schema_violation"),  # unknown feature
    (b'{"id":"bad-%d","features":{"amount":"lots"}}', "schema_violation"),      # wrong type
    (b"not json at all %d", "malformed_json"),
]


def make_requests(model, n: int, seed: int, malformed_share: float = 0.01, id_prefix: str = "req", pool: int = 4096):
    """(payload, id, expected probabilities or dead-letter reason) for n requests; ~malformed_share of them malformed.

    Feature rows come from a pool of `pool` distinct rows (encoding JSON floats in Python is what
    makes generating 100,000 requests slow); ~2% of the pool leaves an optional feature null and
    ~5% uses the object-keyed-by-name form."""
    rng = np.random.default_rng(seed)
    rows = model.random_rows(pool, rng).astype(np.float64)  # float64 copies of float32 values: exact
    nullable = [i for i, ok in enumerate(model.nullable) if ok]
    for i in np.nonzero(rng.random(pool) < 0.02)[0]:
        rows[i, nullable[i % len(nullable)]] = np.nan
    expected = model.predict(rows)
    named = rng.random(pool) < 0.05
    encoded = []
    for i, values in enumerate(rows.tolist()):
        # repr of a float64 holding a float32 value parses back to that float32 exactly; NaN -> null.
        values = [None if v != v else v for v in values]
        feats = dict(zip(model.feature_names, values)) if named[i] else values
        encoded.append(json.dumps(feats, separators=(",", ":")))
    which = rng.integers(0, pool, size=n).tolist()
    bad = (rng.random(n) < malformed_share).tolist()
    out = []
    for i in range(n):
        if bad[i]:
            template, reason = MALFORMED[i % len(MALFORMED)]
            out.append((template.replace(b"%d", str(i).encode()), None, reason))
            continue
        rid = f"{id_prefix}-{i}"
        k = which[i]
        out.append((f'{{"id":"{rid}","features":{encoded[k]}}}'.encode(), rid, expected[k]))
    return out


def produce(broker: Broker, topic: str, partitions: int, requests, sent: Sent, rate: float | None = None,
            start_index: int = 0) -> None:
    """Produces requests round-robin over partitions (optionally at `rate` per second), records offsets."""
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "enable.idempotence": True,
                  "queue.buffering.max.messages": 200000, **broker.client_config})
    errors = []

    def on_delivery(err, msg, meta):
        if err is not None:
            errors.append(err)
        else:
            sent.by_position[(msg.partition(), msg.offset())] = meta

    t0 = time.monotonic()
    for k, (payload, rid, expected) in enumerate(requests):
        i = start_index + k
        while True:
            try:
                p.produce(topic, value=payload, key=(rid or f"bad-{i}").encode(), partition=i % partitions,
                          on_delivery=lambda err, msg, meta=(rid, expected): on_delivery(err, msg, meta))
                break
            except BufferError:
                p.poll(0.05)
        if rate and k % 100 == 0:
            ahead = k / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
        if k % 1000 == 0:
            p.poll(0)
    remaining = p.flush(60)
    assert remaining == 0 and not errors, f"producing failed: {remaining} unflushed, errors {errors[:3]}"


def high_watermarks(broker: Broker, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("probe"), **broker.client_config})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        c.close()


def committed(broker: Broker, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, **broker.client_config})
    try:
        return {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)}
    finally:
        c.close()


@dataclass
class Outcomes:
    predictions: list = field(default_factory=list)    # (value dict, headers)
    dead_letters: list = field(default_factory=list)   # (raw value bytes, headers dict, key)
    prediction_times_ms: list = field(default_factory=list)  # (Kafka timestamp: the worker's produce time, source partition)


class OutputReader:
    """Reads the prediction and dead-letter topics from the beginning with manual assignment."""

    def __init__(self, broker: Broker, topics: Topics, owner: ProcessSet, group: str | None = None,
                 prediction_partitions: int | None = None, dead_letter_partitions: int = 2):
        """Reads partitions 0..prediction_partitions-1 of the prediction topic (default: as many as
        the input, `topics.partitions`) and 0..dead_letter_partitions-1 of the dead-letter topic (2,
        what `make_topics` creates)."""
        owner.on_stop(self.close)
        self.group = group  # the workers' group, for diagnostics
        self._closed = False
        self.broker = broker
        self.topics = topics
        self.consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("reader"),
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                                  "fetch.wait.max.ms": 50, **broker.client_config})
        self.prediction_partitions = prediction_partitions or topics.partitions
        self.dead_letter_partitions = dead_letter_partitions
        tps = [TopicPartition(topics.predictions, p, 0) for p in range(self.prediction_partitions)]
        tps += [TopicPartition(topics.dead_letters, p, 0) for p in range(dead_letter_partitions)]
        self._partitions = tps
        self.rereads = 0
        self.consumer.assign(tps)
        self.out = Outcomes()
        self.positions: dict[tuple[str, int], int] = {}

    def poll(self, seconds: float) -> int:
        got = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msgs = self.consumer.consume(num_messages=20000, timeout=0.2)
            for m in msgs:
                if m.error():
                    continue
                got += 1
                self.positions[(m.topic(), m.partition())] = m.offset() + 1
                headers = {}
                for k, v in (m.headers() or []):
                    headers[k] = v.decode("utf-8", "replace") if v is not None else None
                if m.topic() == self.topics.predictions:
                    value = json.loads(m.value())
                    self.out.predictions.append((value, headers))
                    self.out.prediction_times_ms.append((m.timestamp()[1], value["source"]["partition"]))
                else:
                    self.out.dead_letters.append((m.value(), headers, m.key()))
            if not msgs and got:
                break
        return got

    def position_counts(self) -> "Counter[tuple[int, int]]":
        """How many outcomes each input (partition, offset) has, predictions and dead letters together."""
        counts = Counter()
        for value, _ in self.out.predictions:
            counts[(value["source"]["partition"], value["source"]["offset"])] += 1
        for _, headers, _ in self.out.dead_letters:
            counts[(int(headers["__connect.errors.partition"]), int(headers["__connect.errors.offset"]))] += 1
        return counts

    def read_until_covered(self, positions, stall: float = 30.0, limit: float = 240.0) -> None:
        """Reads until every input position has at least one outcome."""
        wanted = set(positions)
        t0 = last = time.monotonic()
        seen = set()
        reread = False
        while True:
            if self.poll(0.5):
                last = time.monotonic()
                seen = set(self.position_counts())
            missing = len(wanted - seen)
            if not missing:
                return
            now = time.monotonic()
            if now - last > 5.0 and not reread:
                reread = True     # a tailing reader can miss records on Tansu: see reread()
                self.reread()
                last = time.monotonic()
                continue
            if now - last > stall or now - t0 > limit:
                lost = sorted(wanted - seen)
                raise AssertionError(f"{missing} of {len(wanted)} inputs without an outcome after {now - t0:.0f}s "
                                     f"({now - last:.0f}s without progress); first missing (partition, offset): "
                                     f"{lost[:10]}; {self.diagnose(lost)}")

    def reread(self) -> None:
        """Forgets everything read and reads both output topics again from offset 0.

        Measured on Tansu 0.6: a reader tailing the output topics while several workers write to them
        can skip a few records (10 of 41,427 in one run) that a reader starting later from offset 0
        sees. So progress is followed by tailing, but every verdict is taken on a full re-read."""
        self.rereads += 1
        self.out = Outcomes()
        self.positions = {}
        self.consumer.unassign()
        self.consumer.assign(self._partitions)

    def diagnose(self, lost) -> str:
        """Whether a fresh reader finds outcomes this reader did not (a reader problem) or not (lost)."""
        fresh = OutputReader(self.broker, self.topics, ProcessSet(Path("/tmp")),
                             prediction_partitions=self.prediction_partitions,
                             dead_letter_partitions=self.dead_letter_partitions)
        try:
            fresh.read_until_quiet(3.0)
            found = set(fresh.position_counts()) & set(lost)
            text = (f"a fresh reader sees {fresh.total()} outcomes (this one {self.total()}) and finds "
                    f"{len(found)} of the {len(lost)} missing")
            if self.group:
                text += f"; the workers' group committed {committed(self.broker, self.group, self.topics.requests, self.topics.partitions)}"
            return text
        finally:
            fresh.close()

    def total(self) -> int:
        return len(self.out.predictions) + len(self.out.dead_letters)

    def outcomes_written(self, start: float, end: float, partitions=None) -> int:
        """Outcomes of the input `partitions` (default all) written between the wall-clock times `start`
        and `end`, from the predictions' Kafka timestamps (the worker's produce time; a dead letter
        keeps its request's timestamp, so dead letters are counted in proportion). Unlike a count
        taken by polling this reader, it does not depend on how the reader's fetches fell: one fetch
        can bring thousands of outcomes at once."""
        if not self.out.predictions:
            return 0
        lo, hi = start * 1000, end * 1000
        written = sum(1 for t, p in self.out.prediction_times_ms
                      if lo < t <= hi and (partitions is None or p in partitions))
        return math.ceil(written * self.total() / len(self.out.predictions))

    def read_until(self, count: int, stall: float = 30.0, limit: float = 240.0) -> None:
        """Reads until `count` outputs are seen; fails after `stall` seconds without progress."""
        t0 = last = time.monotonic()
        while self.total() < count:
            if self.poll(0.5):
                last = time.monotonic()
            now = time.monotonic()
            if now - last > stall or now - t0 > limit:
                raise AssertionError(f"only {self.total()} of {count} outcomes after {now - t0:.0f}s "
                                     f"({now - last:.0f}s without progress)")

    def read_all_again(self, quiet: float = 2.0) -> None:
        """The verdict read: everything from offset 0 (see reread()), until quiet."""
        self.reread()
        self.read_until_quiet(quiet)

    def read_until_quiet(self, quiet: float = 2.0) -> None:
        """Reads until nothing new arrives for `quiet` seconds. Called once the worker group has
        committed every input: outputs are acknowledged before their input's offset is stored, so no
        further output can appear. (Not "read to the high watermark": Tansu 0.6 reports the high
        watermark as the last batch's base offset + 1, not the last offset + 1.)"""
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            if self.poll(0.3):
                last = time.monotonic()

    def close(self):
        if not self._closed:
            self._closed = True
            self.consumer.close()


def input_ends(sent: "Sent") -> dict[int, int]:
    """Per input partition, the offset after the last record produced (from delivery reports)."""
    ends: dict[int, int] = {}
    for (p, o) in sent.by_position:
        ends[p] = max(ends.get(p, 0), o + 1)
    return ends


def wait_until_committed(broker: Broker, group: str, topic: str, sent: "Sent", timeout: float = 30.0) -> dict:
    """Waits until the group's committed offsets reach the end of everything produced (nothing left
    to redeliver)."""
    ends = input_ends(sent)
    deadline = time.monotonic() + timeout
    while True:
        got = committed(broker, group, topic, max(ends) + 1)
        if all(got.get(p, -1) >= ends[p] for p in ends):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"group {group} committed {got}, produced up to {ends}")
        time.sleep(0.5)
