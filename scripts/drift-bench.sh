#!/bin/sh
# Measures the drift monitor's hot-path cost (DriftBenchmark: observe per row and output, window
# closes with their reports built and encoded as JSON) in the release build, called across the module
# boundary as the pipeline calls it. Prints the best of 5 runs in thread CPU time (steadier than wall
# time on a shared machine), for the default 500,000-row windows and the old 10,000-row ones.
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product inference-worker >/dev/null
.build/release/inference-worker bench drift "$@"
