#!/bin/sh
# Measures the drift monitor's hot-path cost (DriftBenchmark) in an optimised build without building
# the whole package in release: compiles InferenceCore's sources that need no package dependency, the
# benchmark (Sources/inference-worker/Bench/DriftBenchmark.swift) and a three-line main into one module
# with swiftc -O -wmo, into /tmp. Prints the best of 7 runs, in thread CPU time (steadier than wall
# time on a shared machine), for mixed-sign and non-negative data.
set -eu
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/drift-bench
mkdir -p "$out"
cat > "$out/main.swift" <<'SWIFT'
for signed in [true, false] {
    var best = Double.infinity
    for _ in 0..<7 { best = min(best, DriftBenchmark.run(featureCount: 16, rows: 1_000_000, signed: signed).cpuNanosecondsPerRow) }
    print("16 numeric features, \(signed ? "mixed-sign" : "non-negative") values: best \((best * 10).rounded() / 10) ns/row (thread CPU)")
}
SWIFT
# ModelBundle*/Registry need swift-crypto/swift-log; the drift code does not use them.
files="$(find Sources/InferenceCore -name '*.swift' | grep -v -e Registry/ -e 'Bundle/ModelBundle.swift' -e 'Bundle/ModelBundle+') Sources/inference-worker/Bench/DriftBenchmark.swift"
swiftc -O -wmo -swift-version 6 -enable-upcoming-feature ExistentialAny -enable-upcoming-feature InternalImportsByDefault \
    -module-name DriftBench $files "$out/main.swift" -o "$out/drift-bench"
"$out/drift-bench"
