#!/usr/bin/env bash
# Proves that Sources/CONNXRuntime/include/CONNXRuntime.h matches ONNX Runtime's official C header.
#
# Fetches onnxruntime_c_api.h from Debian trixie's libonnxruntime-dev (an 85 KB .deb; bookworm packages
# no header, the PyPI wheel ships none) into a cache directory without touching the system's apt
# sources, compiles check-c-api.c (static asserts on every table position and function type the
# worker uses), and compares the positions it prints with the committed ort-api-entries.txt, which the
# Swift test ONNXRuntimeCAPITests compares with the C target. Usage:
#   scripts/onnxruntime/check-c-api.sh            # check
#   scripts/onnxruntime/check-c-api.sh --write    # regenerate ort-api-entries.txt
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${ORT_HEADER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inference-worker/onnxruntime-header}"
header="$cache/x/usr/include/onnxruntime/onnxruntime_c_api.h"
if [ ! -f "$header" ]; then
  mkdir -p "$cache/lists/partial" "$cache/cache/archives/partial"
  echo "deb http://deb.debian.org/debian trixie main" > "$cache/sources.list"
  opts=(-o "Dir::Etc::sourcelist=$cache/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache/cache")
  apt-get "${opts[@]}" update -qq
  (cd "$cache" && apt-get "${opts[@]}" download libonnxruntime-dev 2>/dev/null)
  dpkg-deb -x "$cache"/libonnxruntime-dev_*.deb "$cache/x"
fi
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
cc -std=gnu11 -Wall -Werror -I"$root/Sources/CONNXRuntime/include" -I"$(dirname "$header")" "$here/check-c-api.c" -o "$build/check"
"$build/check" > "$build/entries.txt"
if [ "${1:-}" = "--write" ]; then
  cp "$build/entries.txt" "$here/ort-api-entries.txt"
  echo "wrote $here/ort-api-entries.txt"
elif ! diff -u <(grep -v '^#' "$here/ort-api-entries.txt") <(grep -v '^#' "$build/entries.txt"); then
  echo "ort-api-entries.txt differs from the official header: run $0 --write and commit it" >&2
  exit 1
else
  echo "CONNXRuntime.h matches onnxruntime_c_api.h ($(head -1 "$build/entries.txt" | sed 's/.*(\(.*\)).*/\1/'))"
fi
