#!/usr/bin/env bash
# bench/af_xdp_vs_udp.sh — sluice-bench smoke over the same veth pair with
# the broker in kernel-UDP mode, AF_XDP native mode and AF_XDP SKB mode, in
# one run, so the figures compare like with like.
#
# Creates two network namespaces (sluice-bench-PID-b/-c) joined by a
# two-queue veth pair with addresses 198.18.1.1 (broker) and 198.18.1.2
# (sluice-bench), TX checksum offload off; removes them on exit. Starts and
# stops each broker by PID. Root only. Prints a markdown table and leaves the
# JSON lines in $OUT (default bench/results/af_xdp_vs_udp.jsonl).
#
#   SECONDS_PER_RUN=5  WINDOWS="256 1"  IDLE=adaptive|busy  SHARDS=1  BUILD=build/release
#
# One shard by default: veth has no ntuple steering, so with more shards a
# datagram may land on another shard's queue and pay a forwarding hop.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD:-build/release}
secs=${SECONDS_PER_RUN:-5}
windows=${WINDOWS:-"256 1"}
idle=${IDLE:-adaptive}
shards=${SHARDS:-1}
out=${OUT:-bench/results/af_xdp_vs_udp.jsonl}
broker_bin=$build/datapath/broker/sluice-broker
bench_bin=$build/bench/sluice-bench
[ "$(id -u)" = 0 ] || { echo "af_xdp_vs_udp.sh: needs root (namespaces, XDP)" >&2; exit 1; }
for b in "$broker_bin" "$bench_bin"; do
  [ -x "$b" ] || { echo "af_xdp_vs_udp.sh: $b not built (cmake --build $build)" >&2; exit 1; }
done

nb=sluice-bench-$$-b
nc=sluice-bench-$$-c
tmp=$(mktemp -d)
broker_pid=
cleanup() {
  if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  ip netns del "$nb" 2>/dev/null || true
  ip netns del "$nc" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$nb"
ip netns add "$nc"
ip link add bx0 netns "$nb" numtxqueues 2 numrxqueues 2 type veth peer name bx1 netns "$nc" numtxqueues 2 numrxqueues 2
ip -n "$nb" addr add 198.18.1.1/24 dev bx0
ip -n "$nc" addr add 198.18.1.2/24 dev bx1
for ns_dev in "$nb bx0" "$nc bx1"; do
  set -- $ns_dev
  ip -n "$1" link set lo up
  ip -n "$1" link set "$2" up
  ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
done

mkdir -p "$(dirname "$out")"
: > "$out"
run_mode() {  # label, [datapath] lines
  local label=$1 datapath=$2 cfg=$tmp/$1.toml log=$tmp/$1.log
  printf '[node]\nlisten = "198.18.1.1"\nbase_port = 7600\n[shards]\ncount = %s\nidle = "%s"\n%s\n[[domain]]\nname = "prio"\nmode = "priority"\n' \
    "$shards" "$idle" "$datapath" > "$cfg"
  ip netns exec "$nb" "$broker_bin" --config "$cfg" > "$log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 100); do grep -q "sluice-broker: ready" "$log" && break; sleep 0.1; done
  grep -q "sluice-broker: ready" "$log" || { cat "$log" >&2; exit 1; }
  grep -E "shard 0: |XDP program" "$log" | sed "s/^/  [$label] /" >&2 || true
  for w in $windows; do
    ip netns exec "$nc" "$bench_bin" smoke --broker 198.18.1.1:7600 --window "$w" --seconds "$secs" --json 2>/dev/null |
      python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["mode"]=sys.argv[1]; print(json.dumps(d))' "$label" >> "$out"
  done
  kill "$broker_pid"; wait "$broker_pid" || true; broker_pid=
}

run_mode udp ''
run_mode af_xdp_native $'[datapath]\nmode = "af_xdp"\ninterface = "bx0"\nxdp_mode = "native"'
run_mode af_xdp_skb $'[datapath]\nmode = "af_xdp"\ninterface = "bx0"\nxdp_mode = "skb"'

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| mode | window | delivered msg/s | e2e p50 us | e2e p99 us | e2e p99.9 us | ACK p50 us | lost | dup |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    e, a = r["e2e_us"], r["ack_us"]
    print(f'| {r["mode"]} | {r["window"]} | {r["delivered_msgs_per_s"]:.0f} | {e["p50"]:.1f} | {e["p99"]:.1f} | {e["p999"]:.1f} | {a["p50"]:.1f} | {r["lost"]} | {r["duplicates"]} |')
PY
