#!/usr/bin/env bash
# bench/session_cost.sh — what a session costs a broker, in resident memory.
#
#   bench/session_cost.sh [BUILD_DIR] [MAX_SESSIONS] [SESSIONS...]
#
# Starts a one-shard sluice-broker with limits.max_sessions = MAX_SESSIONS
# (default 4096) on 127.0.0.1:$PORT (default 7795), reads its RSS once ready,
# then for each count in SESSIONS (default 1000 4000) holds that many
# sessions open with sluice-session-hold and reads the RSS again. Prints the
# RSS at start and per live session. Stops what it started, by PID.
set -euo pipefail
build=${1:-build/release}
max=${2:-4096}
shift 2 2>/dev/null || shift $#
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(1000 4000)
port=${PORT:-7795}
dir=$(mktemp -d /tmp/sluice-session-cost-XXXXXX)
cat > "$dir/sluice.toml" <<TOML
[node]
listen = "127.0.0.1"
base_port = $port
[shards]
count = 1
[limits]
max_sessions = $max
[control]
broker_socket = "$dir/broker.sock"
[[domain]]
name = "prio"
TOML
start_broker() {
  : > "$dir/broker.log"
  "$build/datapath/broker/sluice-broker" -c "$dir/sluice.toml" > "$dir/broker.log" 2>&1 &
  broker=$!
  for _ in $(seq 100); do grep -q ready "$dir/broker.log" && break; sleep 0.1; done
}
stop_broker() { kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; }
broker=
trap 'stop_broker; rm -rf "$dir"' EXIT
rss() { awk '/VmRSS/ {print $2}' "/proc/$broker/status"; }
for n in "${counts[@]}"; do
  start_broker  # a fresh broker per count: nothing left over from the last
  base=$(rss)
  out="$dir/hold.out"
  "$build/bench/sluice-session-hold" --broker "127.0.0.1:$port" --sessions "$n" --seconds 2 > "$out" &
  hold=$!
  for _ in $(seq 600); do grep -q "^open" "$out" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  now=$(rss)
  echo "max_sessions $max, RSS at start $((base / 1024)) MiB; $(cat "$out"): RSS $((now / 1024)) MiB," \
       "$(( (now - base) / n )) KiB per live session"
  wait "$hold" || true
  stop_broker
done
