#!/usr/bin/env bash
# deploy/test.sh — the README's test command: install dependencies, build and
# run the whole test suite. Ends with ctest's summary line; exits non-zero on
# any failure.
#
#   SLUICE_LONG=1        long mode: thousands of lossy-link seeds, 15-minute fuzzing
#   SLUICE_FUZZ_SECONDS  seconds per fuzz target (default 60, long mode 900)
#   SLUICE_JOBS          build parallelism (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh

jobs=${SLUICE_JOBS:-$(nproc)}
export SLUICE_WERROR=ON
if [ "${SLUICE_LONG:-0}" = 1 ]; then
  export SLUICE_SEEDS=${SLUICE_SEEDS:-5000}
  fuzz_seconds=${SLUICE_FUZZ_SECONDS:-900}
else
  fuzz_seconds=${SLUICE_FUZZ_SECONDS:-60}
fi

echo "== fuzz targets (clang, libFuzzer + ASan/UBSan), ${fuzz_seconds}s each"
cmake --preset fuzz -DSLUICE_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build build/fuzz -j"$jobs"
ctest --preset fuzz -L fuzz

echo "== ASan + UBSan build, full test suite"
cmake --preset asan >/dev/null
cmake --build build/asan -j"$jobs"
ctest --preset asan

echo "== release build, full test suite"
cmake --preset release >/dev/null
cmake --build build/release -j"$jobs"
ctest --preset release
