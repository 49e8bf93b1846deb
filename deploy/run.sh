#!/usr/bin/env bash
# deploy/run.sh — the README's run command: install dependencies, build, and
# show Sluice working. For now this is the session-layer demo (an echo
# responder and a client over kernel UDP on 127.0.0.1, in one process that
# stops by itself); the single-node broker replaces it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target sluice-session-demo
exec ./build/release/tools/sluice-session-demo "$@"
