#!/usr/bin/env bash
# bench/recovery_time.sh — broker start-up (recovery) time on a big journal.
#
#   bench/recovery_time.sh [BUILD_DIR] [SIZE_MB] [LIVE_EVERY]
#
# Writes a SIZE_MB (default 1024) shard journal with sluice-journal-fill
# (1 KiB messages; one in LIVE_EVERY left unconfirmed, default 1 = all
# live), drops the page cache, starts a one-shard sluice-broker with a disk
# domain on it, and reports the time from exec to its "ready" line and the
# broker's own recovery summary. Needs root (drop_caches) and a directory
# that supports O_DIRECT (JOURNAL_DIR, default /var/tmp/sluice-recovery).
set -euo pipefail
build=${1:-build/release}
size_mb=${2:-1024}
live_every=${3:-1}
dir=${JOURNAL_DIR:-/var/tmp/sluice-recovery}
port=${PORT:-7790}

rm -rf "$dir"
mkdir -p "$dir"
"$build/bench/sluice-journal-fill" "$dir" --size-mb "$size_mb" --live-every "$live_every"
du -sh "$dir/shard-0"

cat > "$dir/sluice.toml" <<TOML
[node]
listen = "127.0.0.1"
base_port = $port
[shards]
count = 1
[limits]
message_memory_mb = 2048
max_message_slots = 2097152
[control]
broker_socket = "$dir/broker.sock"
metrics_listen = ""
[storage]
dir = "$dir"
[[domain]]
name = "dq"
storage = "disk"
TOML

sync
echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || echo "(page cache not dropped: not root)"
log="$dir/broker.log"
t0=$(date +%s%N)
"$build/datapath/broker/sluice-broker" --config "$dir/sluice.toml" > "$log" 2>&1 &
pid=$!
until grep -q "sluice-broker: ready" "$log"; do
  if ! kill -0 "$pid" 2>/dev/null; then cat "$log"; exit 1; fi
  sleep 0.005
done
t1=$(date +%s%N)
grep "recovered" "$log"
echo "start to ready: $(( (t1 - t0) / 1000000 )) ms (journal $size_mb MiB, one message in $live_every live)"
kill -TERM "$pid"
wait "$pid" || true
rm -rf "$dir"
