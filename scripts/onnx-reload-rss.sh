#!/usr/bin/env bash
# Resident memory of a running release worker across hot reloads of an ONNX bundle (issue 15).
#
# Starts the embedded broker (librdkafka's mock cluster, `inference-worker embedded-broker`), one
# `inference-worker run` serving models/fraud-mlp-onnx from a temporary model root (polled every
# second), and `produce-demo` at 500 requests/s. Then it drops versions 2, 3, ... into the root one
# at a time (copied, manifest version rewritten, moved in whole) and, once the worker's /metrics
# names the new version and its prediction count has grown by 500 since, prints the worker's VmRSS
# (/proc/<pid>/status). A leak of replaced ONNX Runtime sessions shows as RSS growing per reload.
#
#   swift build -c release --product inference-worker && scripts/onnx-reload-rss.sh
#   RELOADS=50 scripts/onnx-reload-rss.sh
#
# Needs: pip package onnxruntime (its libonnxruntime.so); nothing else (no broker to install).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BINARY="${BINARY:-$REPO/.build/release/inference-worker}"
RELOADS="${RELOADS:-20}"
DIR="$(mktemp -d /tmp/onnx-reload-rss.XXXXXX)"
MODEL=fraud-mlp-onnx
[ -x "$BINARY" ] || { echo "build it first: swift build -c release --product inference-worker" >&2; exit 2; }
python3 -c "import onnxruntime" 2>/dev/null || python3 -m pip install -q onnxruntime
ORT="$(python3 -c "import onnxruntime, os, glob; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so*')))[0])")"
export INFERENCE_WORKER_ONNXRUNTIME_LIBRARY="$ORT"  # produce-demo reads the bundle's schema through it too

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$BINARY" embedded-broker --topic requests:2 --topic predictions:2 --topic requests.DLT:1 > "$DIR/broker.out" 2> "$DIR/broker.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^bootstrap.servers=' "$DIR/broker.out" 2>/dev/null && break; sleep 0.1; done
BOOTSTRAP="$(sed -n 's/^bootstrap.servers=//p' "$DIR/broker.out")"
[ -n "$BOOTSTRAP" ] || { echo "the embedded broker did not start: $(cat "$DIR/broker.log")" >&2; exit 1; }

mkdir -p "$DIR/models/$MODEL"
cp -r "$REPO/models/$MODEL/1" "$DIR/models/$MODEL/1"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$BINARY" run --bootstrap-servers "$BOOTSTRAP" --input-topics requests --output-topic predictions --drift-topic none \
  --model-root "$DIR/models" --model-name "$MODEL" --model-poll-interval 1s --onnxruntime-library "$ORT" \
  --metrics-host 127.0.0.1 --metrics-port "$PORT" > "$DIR/worker.log" 2>&1 &
WORKER=$!
PIDS+=($WORKER)
"$BINARY" produce-demo --bootstrap-servers "$BOOTSTRAP" --topic requests --rate 500 --malformed-share 0 \
  --model-root "$DIR/models" --model-name "$MODEL" > "$DIR/produce.log" 2>&1 &
PIDS+=($!)

metric() {  # the value of one series of /metrics (a name with its labels), or nothing
  { curl -s "http://127.0.0.1:$PORT/metrics" 2>/dev/null || true; } | awk -v s="$1" 'index($0, s " ") == 1 { print $2 }'
}
rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$WORKER/status"; }
wait_served() {  # until version $1 is in service and has made 500 predictions since it was seen
  local deadline=$((SECONDS + 60)) seen=""
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$WORKER" 2>/dev/null || { echo "the worker stopped: $(tail -5 "$DIR/worker.log")" >&2; exit 1; }
    local info; info="$(metric "inference_worker_model_info{model=\"$MODEL\",version=\"$1\"}")"
    if [ "${info%.*}" = "1" ]; then
      local now; now="$(metric inference_worker_predictions_total)"
      [ -z "$seen" ] && seen="${now%.*}"
      [ $(( ${now%.*} - seen )) -ge 500 ] && return 0
    fi
    sleep 0.2
  done
  echo "version $1 was not served within 60 s: $(tail -5 "$DIR/worker.log")" >&2
  exit 1
}

wait_served 1
echo "version  RSS MiB  predictions"
echo "1        $(rss_mib)     $(metric inference_worker_predictions_total)"
for version in $(seq 2 $((RELOADS + 1))); do
  staging="$DIR/models/.staging-$version"
  cp -r "$REPO/models/$MODEL/1" "$staging"
  python3 - "$staging/manifest.json" "$version" <<'EOF'
import json, sys
path, version = sys.argv[1], sys.argv[2]
manifest = json.load(open(path))
manifest["version"] = version
json.dump(manifest, open(path, "w"))
EOF
  mv "$staging" "$DIR/models/$MODEL/$version"
  wait_served "$version"
  printf "%-8s %-8s %s\n" "$version" "$(rss_mib)" "$(metric inference_worker_predictions_total)"
done
echo "logs: $DIR"
