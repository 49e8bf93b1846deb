#!/usr/bin/env bash
# deploy/run.sh — the README's run command: install dependencies, build, start
# a single-node sluice-broker with its embedded default config, show messages
# produced and consumed in each queue mode, measure 1 producer → 1 consumer
# (messages/s, publish→ACK and end-to-end latency), show the node through
# sluice-control and sluicectl, and stop everything it started. Extra arguments go to `sluice-bench smoke` (e.g. --seconds 10).
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target sluice-broker sluice sluice-bench sluice-control sluicectl

bin=build/release
log=$(mktemp /tmp/sluice-broker.XXXXXX.log)
"$bin/datapath/broker/sluice-broker" >"$log" 2>&1 &
broker_pid=$!
control_pid=
control_log=$(mktemp /tmp/sluice-control.XXXXXX.log)
cleanup() {
  for pid in $control_pid $broker_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$log" "$control_log"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  grep -q "sluice-broker: ready" "$log" && break
  if ! kill -0 "$broker_pid" 2>/dev/null; then cat "$log"; exit 1; fi
  sleep 0.05
done
cat "$log"
sluice="$bin/tools/sluice"

# The control plane on the same (embedded) config: operator socket
# /run/sluice/control.sock, metrics on 127.0.0.1:9464.
"$bin/control/sluice-control" >"$control_log" 2>&1 &
control_pid=$!
for _ in $(seq 1 100); do
  grep -q "sluice-control: ready" "$control_log" && break
  if ! kill -0 "$control_pid" 2>/dev/null; then cat "$control_log"; exit 1; fi
  sleep 0.05
done

echo
echo "== priority queue prio/demo: publish 3, consume 3"
"$sluice" pub prio/demo "hello" "from" "sluice"
"$sluice" sub prio/demo --count 3 --timeout 5

echo
echo "== fanout queue fan/orders: every app id gets every message"
"$sluice" pub fan/orders "order-1" "order-2"
echo "-- app id audit:";   "$sluice" sub fan/orders --app-id audit --count 2 --timeout 5
echo "-- app id billing:"; "$sluice" sub fan/orders --app-id billing --count 2 --timeout 5

echo
echo "== 1 producer -> 1 consumer, 64-byte messages (sluice-bench smoke)"
"$bin/bench/sluice-bench" smoke --seconds 5 "$@"

echo
echo "== the node as an operator sees it (sluicectl status, sluicectl queues)"
sleep 1.2  # one sampling interval after the traffic, for the queue figures
"$bin/tools/sluicectl" status
echo
"$bin/tools/sluicectl" queues

echo
echo "== stopping sluice-control and the broker"
kill -TERM "$control_pid"
wait "$control_pid" || true
kill -TERM "$broker_pid"
wait "$broker_pid" || true
tail -n 4 "$log"
