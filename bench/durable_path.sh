#!/usr/bin/env bash
# bench/durable_path.sh — ACKed msg/s and publish->ACK latency of a `disk`
# domain, 1 producer -> 1 consumer, with sluice-bench smoke.
#
#   bench/durable_path.sh [BUILD_DIR] [SYNC] [WINDOW] [SECONDS]
#
# Starts sluice-broker (2 shards, adaptive) with a disk domain "dq" journaling
# in JOURNAL_DIR (default /var/tmp/sluice-durable; must allow O_DIRECT) with
# storage.sync = SYNC ("fdatasync" or "dsync"), runs
# `sluice-bench smoke --uri dq/bench --window WINDOW` (64 B payloads), then
# the same on a memory domain for comparison, and stops the broker.
set -euo pipefail
build=${1:-build/release}
sync_mode=${2:-fdatasync}
window=${3:-64}
seconds=${4:-5}
dir=${JOURNAL_DIR:-/var/tmp/sluice-durable}
port=${PORT:-7780}

rm -rf "$dir"
mkdir -p "$dir"
cat > "$dir/sluice.toml" <<TOML
[node]
listen = "127.0.0.1"
base_port = $port
[control]
broker_socket = "$dir/broker.sock"
metrics_listen = ""
[storage]
dir = "$dir"
sync = "$sync_mode"
[[domain]]
name = "dq"
storage = "disk"
[[domain]]
name = "prio"
TOML
log="$dir/broker.log"
"$build/datapath/broker/sluice-broker" --config "$dir/sluice.toml" > "$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
until grep -q "sluice-broker: ready" "$log"; do sleep 0.05; done
echo "== disk domain, sync = $sync_mode"
"$build/bench/sluice-bench" smoke --broker "127.0.0.1:$port" --uri dq/bench --window "$window" --seconds "$seconds" 2>/dev/null || true
echo "== memory domain"
"$build/bench/sluice-bench" smoke --broker "127.0.0.1:$port" --uri prio/bench --window "$window" --seconds "$seconds" 2>/dev/null || true
