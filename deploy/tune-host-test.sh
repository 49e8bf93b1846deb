#!/usr/bin/env bash
# deploy/tune-host-test.sh — tests deploy/tune-host.sh without a real NIC.
# Creates a network namespace sluice-tune-$$ holding a 4-queue veth pair
# (198.18.0.1/24 <-> 198.18.0.2/24) and checks that:
#   - --dry-run prints the expected ethtool -L/-N and sysfs commands and
#     changes nothing (channels, ntuple state, busy-poll knobs, no state file);
#   - the IRQ matching finds queue IRQs by their driver names (a fixture
#     /proc/interrupts, dry run);
#   - --config reads the broker TOML keys;
#   - bad arguments exit non-zero with a clear message;
#   - a real run on the veth (no ntuple, no IRQs: only channels and busy-poll
#     knobs change) is fully reverted by --undo;
#   - against a stub ethtool playing an ntuple-capable NIC, the rules are
#     added, their IDs recorded, and --undo deletes exactly those.
# Removes the namespace and its temporary files on exit. Needs root.
set -euo pipefail
cd "$(dirname "$0")"

script=$PWD/tune-host.sh
ns=sluice-tune-$$
a=sluice0 b=sluice1

if [ "$(id -u)" -ne 0 ]; then echo "tune-host-test: skip: needs root (network namespaces)"; exit 0; fi
for tool in ip ethtool; do
  command -v "$tool" >/dev/null 2>&1 || { echo "tune-host-test: skip: $tool not installed"; exit 0; }
done

tmp=$(mktemp -d /tmp/sluice-tune-test.XXXXXX)
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export SLUICE_TUNE_STATE_DIR=$tmp/state

ip netns add "$ns"
ip -n "$ns" link add "$a" numtxqueues 4 numrxqueues 4 type veth peer name "$b" numtxqueues 4 numrxqueues 4
ip -n "$ns" addr add 198.18.0.1/24 dev "$a"
ip -n "$ns" addr add 198.18.0.2/24 dev "$b"
ip -n "$ns" link set "$a" up
ip -n "$ns" link set "$b" up
in_ns() { ip netns exec "$ns" "$@"; }
# Start with one rx channel so that the script has a queue count to raise.
in_ns ethtool -L "$a" rx 1

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
  echo "not ok - $1"
  failed=$((failed + 1))
  if [ -n "${2:-}" ]; then sed 's/^/    | /' "$2"; fi
}
# tune ARGS... : runs the script in the namespace; output in $tmp/out, status in $rc
tune() {
  rc=0
  in_ns "$script" "$@" >"$tmp/out" 2>&1 || rc=$?
}
expect_lines() { # NAME LINE... : every LINE appears in $tmp/out
  local name=$1 l missing=""
  shift
  for l in "$@"; do grep -qF -- "$l" "$tmp/out" || missing+=" [$l]"; done
  if [ "$rc" -eq 0 ] && [ -z "$missing" ]; then ok "$name"; else
    echo "    exit $rc, missing:$missing"; not_ok "$name" "$tmp/out"
  fi
}
expect_fail() { # NAME MESSAGE ARGS... : non-zero exit and MESSAGE in the output
  local name=$1 msg=$2
  shift 2
  tune "$@"
  if [ "$rc" -ne 0 ] && grep -qF -- "$msg" "$tmp/out"; then ok "$name (exit $rc: $(grep -F -m1 -- "$msg" "$tmp/out"))"; else
    echo "    exit $rc, wanted non-zero and [$msg]"; not_ok "$name" "$tmp/out"
  fi
}
# Everything the script may change on the veth.
snapshot() {
  {
    in_ns ethtool -l "$a"
    in_ns ethtool -k "$a" | grep ntuple
    in_ns ethtool -n "$a" 2>&1 || true
    in_ns cat "/sys/class/net/$a/napi_defer_hard_irqs" "/sys/class/net/$a/gro_flush_timeout"
    find "$SLUICE_TUNE_STATE_DIR" -type f 2>/dev/null || true
  } >"$1"
}

# -- dry run ---------------------------------------------------------------
snapshot "$tmp/before"
tune --dry-run --interface "$a" --base-port 7600 --queues 0,1 --shard-cores 1,1
expect_lines "dry run prints the steering, channel and busy-poll commands" \
  "ethtool -L $a rx 2" \
  "ethtool -N $a flow-type udp4 dst-port 7600 action 0" \
  "ethtool -N $a flow-type udp6 dst-port 7600 action 0" \
  "ethtool -N $a flow-type udp4 dst-port 7601 action 1" \
  "ethtool -N $a flow-type udp6 dst-port 7601 action 1" \
  "echo 2 > /sys/class/net/$a/napi_defer_hard_irqs" \
  "echo 200000 > /sys/class/net/$a/gro_flush_timeout" \
  "nothing was changed"
expect_lines "dry run explains that veth has no ntuple" "driver veth has no ntuple filters" "XPS" "forwarded to the owning shard"
expect_lines "dry run prints the summary table" "shard  port" "1      7601   1      none"
snapshot "$tmp/after"
if diff -u "$tmp/before" "$tmp/after" >"$tmp/diff"; then
  ok "dry run changed nothing (channels, ntuple, rules, busy-poll knobs, state file)"
else
  not_ok "dry run changed something" "$tmp/diff"
fi

# -- IRQ names (fixture /proc/interrupts) -------------------------------------
cat >"$tmp/interrupts" <<EOF
           CPU0       CPU1
 90:          0          0  IR-PCI-MSI 1-edge      $a-TxRx-0
 91:          0          0  IR-PCI-MSI 2-edge      $a-TxRx-1
 92:          0          0  IR-PCI-MSI 3-edge      $a-TxRx-10
 93:          0          0  IR-PCI-MSI 4-edge      ice-$a-rx-1
 94:          0          0  IR-PCI-MSI 5-edge      x$a-TxRx-0
 95:          0          0  IR-PCI-MSI 6-edge      $b-TxRx-0
NMI:          0          0   Non-maskable interrupts
EOF
SLUICE_TUNE_INTERRUPTS=$tmp/interrupts tune --dry-run --interface "$a" --base-port 7600 --queues 0,1 \
  --shard-cores 1,1 --housekeeping-cores 0
expect_lines "IRQs are found by driver naming and printed as affinity writes" \
  "echo 0 > /proc/irq/90/smp_affinity_list" \
  "echo 0 > /proc/irq/91/smp_affinity_list" \
  "echo 0 > /proc/irq/93/smp_affinity_list" \
  "1      7601   1      none         91,93        0          1"
if grep -qE "/proc/irq/(92|94|95)/" "$tmp/out"; then
  not_ok "IRQs of other queues and interfaces are left alone" "$tmp/out"
else
  ok "IRQs of other queues and interfaces are left alone"
fi

# -- --config ------------------------------------------------------------------
cat >"$tmp/broker.toml" <<EOF
[node]
id = 1
base_port = 7700 # comment

[shards]
count = 2
cores = [1, 1]

[datapath]
mode = "af_xdp"
interface = "$a"
queues = [0, 1]
EOF
tune --dry-run --config "$tmp/broker.toml"
expect_lines "--config reads interface, queues, base_port and cores" \
  "ethtool -N $a flow-type udp4 dst-port 7700 action 0" \
  "ethtool -N $a flow-type udp4 dst-port 7701 action 1"

# -- bad arguments ---------------------------------------------------------------
expect_fail "missing --interface is refused" "--interface is required" \
  --dry-run --base-port 7600 --queues 0,1 --shard-cores 1,1
expect_fail "a nonexistent interface is refused" "interface 'nosuch0' does not exist" \
  --dry-run --interface nosuch0 --base-port 7600 --queues 0,1 --shard-cores 1,1
expect_fail "mismatched queue and core counts are refused" "--queues has 2 entries but --shard-cores has 1" \
  --dry-run --interface "$a" --base-port 7600 --queues 0,1 --shard-cores 1
expect_fail "a queue given to two shards is refused" "queue 1 is given to two shards" \
  --dry-run --interface "$a" --base-port 7600 --queues 1,1 --shard-cores 0,1
expect_fail "a malformed list is refused" "is not a list of numbers" \
  --dry-run --interface "$a" --base-port 7600 --queues zero --shard-cores 1
expect_fail "a bad port is refused" "is not a UDP port" \
  --dry-run --interface "$a" --base-port 70000 --queues 0 --shard-cores 1
expect_fail "a queue the NIC does not have is refused" "at most 4 rx queues" \
  --dry-run --interface "$a" --base-port 7600 --queues 0,7 --shard-cores 1,1
expect_fail "housekeeping cores overlapping shard cores are refused" "core 1 is also a shard core" \
  --dry-run --interface "$a" --base-port 7600 --queues 0 --shard-cores 1 --housekeeping-cores 0-1
expect_fail "an unknown option is refused" "unknown argument '--frobnicate'" --frobnicate
if command -v setpriv >/dev/null 2>&1; then
  rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups "$script" --interface lo --base-port 7600 \
    --queues 0 --shard-cores 0 >"$tmp/out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] && grep -qF "must run as root" "$tmp/out"; then ok "a non-root run without --dry-run is refused"; else
    not_ok "a non-root run without --dry-run is refused" "$tmp/out"
  fi
fi

# -- a real run and --undo on the veth -----------------------------------------------
tune --interface "$a" --base-port 7600 --queues 0,1 --shard-cores 1,1
expect_lines "a real run on veth succeeds and records its state" "done;" "skipped: ethtool -N $a flow-type udp4 dst-port 7600 action 0"
applied=$(in_ns cat "/sys/class/net/$a/napi_defer_hard_irqs" "/sys/class/net/$a/gro_flush_timeout" | paste -sd' ' -)
rx=$(in_ns ethtool -l "$a" | awk '/^Current/ { c = 1 } c && $1 == "RX:" { print $2 }')
if [ "$applied" = "2 200000" ] && [ "$rx" = 2 ] && [ -f "$SLUICE_TUNE_STATE_DIR/tune-host.$a.state" ]; then
  ok "the real run set the knobs and the rx queue count (knobs: $applied, rx: $rx)"
else
  not_ok "the real run set the knobs and the rx queue count (knobs: $applied, rx: $rx)" "$tmp/out"
fi
tune --interface "$a" --undo
expect_lines "--undo restores the recorded values" \
  "echo 0 > /sys/class/net/$a/napi_defer_hard_irqs" "echo 0 > /sys/class/net/$a/gro_flush_timeout" \
  "ethtool -L $a rx 1" "undone"
snapshot "$tmp/after-undo"
if diff -u "$tmp/before" "$tmp/after-undo" >"$tmp/diff"; then
  ok "after --undo the veth is as before and the state file is gone"
else
  not_ok "after --undo the veth is as before and the state file is gone" "$tmp/diff"
fi
tune --interface "$a" --undo
expect_lines "a second --undo has nothing to do" "nothing to undo"

# -- ntuple rules and --undo against a fake ntuple-capable NIC ---------------------
# veth has no ntuple, so a stub ethtool in front of the real one plays a NIC
# that has it: -k/-K/-N/-n act on files in $fake, everything else is real.
fake=$tmp/fake-nic
mkdir -p "$fake" "$tmp/bin"
cat >"$tmp/bin/ethtool" <<STUB
#!/usr/bin/env bash
set -euo pipefail
real=$(command -v ethtool) d=$fake
STUB
cat >>"$tmp/bin/ethtool" <<'STUB'
echo "$*" >>"$d/log"
case $1 in
  -k) "$real" "$@" | sed "s/^ntuple-filters: .*/ntuple-filters: $(cat "$d/ntuple")/" ;;
  -K) echo "$4" >"$d/ntuple" ;;
  -N)
    if [ "$3" = delete ]; then
      grep -q "^$4 " "$d/rules" || { echo "rmgr: Cannot delete RX class rule: No such file or directory" >&2; exit 1; }
      awk -v id="$4" '$1 != id' "$d/rules" >"$d/rules.new"
      mv "$d/rules.new" "$d/rules"
    else
      [ "$(cat "$d/ntuple")" = on ] || { echo "rmgr: Cannot insert RX class rule: Operation not supported" >&2; exit 1; }
      id=$(cat "$d/next")
      echo $((id - 1)) >"$d/next"
      echo "$id $7" >>"$d/rules"
      echo "Added rule with ID $id"
    fi ;;
  -n)
    echo "Total $(wc -l <"$d/rules") rules"
    while read -r id port; do printf '\nFilter: %s\n\tDst port: %s mask: 0x0\n' "$id" "$port"; done <"$d/rules" ;;
  *) exec "$real" "$@" ;;
esac
STUB
chmod +x "$tmp/bin/ethtool"
fake_tune() {
  rc=0
  in_ns env PATH="$tmp/bin:$PATH" "$script" "$@" >"$tmp/out" 2>&1 || rc=$?
}
fake_reset() { # "ID PORT"... : rules already on the NIC
  echo off >"$fake/ntuple"
  echo 1023 >"$fake/next"
  : >"$fake/rules"
  local r
  for r in "$@"; do echo "$r" >>"$fake/rules"; done
}
fake_state() { echo "ntuple=$(cat "$fake/ntuple") rules=$(cut -d' ' -f1 "$fake/rules" | paste -sd, -)"; }

fake_reset
fake_tune --interface "$a" --base-port 7600 --queues 0,1 --shard-cores 1,1
expect_lines "ntuple NIC: the run turns ntuple on and adds udp4+udp6 rules per shard" \
  "ethtool -K $a ntuple on" \
  "ethtool -N $a flow-type udp4 dst-port 7600 action 0" "rule 1023" \
  "ethtool -N $a flow-type udp6 dst-port 7601 action 1" "rule 1020" \
  "1      7601   1      1021,1020"
if [ "$(fake_state)" = "ntuple=on rules=1023,1022,1021,1020" ]; then ok "ntuple NIC: four rules are on the NIC"; else
  not_ok "ntuple NIC: four rules are on the NIC ($(fake_state))" "$tmp/out"
fi
fake_tune --interface "$a" --undo
expect_lines "ntuple NIC: --undo deletes exactly its rules and turns ntuple back off" \
  "ethtool -N $a delete 1020" "ethtool -N $a delete 1023" "ethtool -K $a ntuple off"
if [ "$(fake_state)" = "ntuple=off rules=" ]; then ok "ntuple NIC: nothing is left after --undo"; else
  not_ok "ntuple NIC: nothing is left after --undo ($(fake_state))" "$tmp/out"
fi

fake_reset "5 7601"
fake_tune --interface "$a" --base-port 7600 --queues 0,1 --shard-cores 1,1
expect_lines "ntuple NIC: a foreign rule on a shard port is reported" "rule 5 already matches dst-port 7601"
fake_tune --interface "$a" --undo
expect_lines "ntuple NIC: --undo leaves the foreign rule, and ntuple on for it" "leaving ntuple on: 1 rule(s)"
if [ "$(fake_state)" = "ntuple=on rules=5" ]; then ok "ntuple NIC: only the foreign rule remains"; else
  not_ok "ntuple NIC: only the foreign rule remains ($(fake_state))" "$tmp/out"
fi
snapshot "$tmp/after-fake"
if diff -u "$tmp/before" "$tmp/after-fake" >"$tmp/diff"; then ok "the fake-NIC runs left the veth as before"; else
  not_ok "the fake-NIC runs left the veth as before" "$tmp/diff"
fi

echo
echo "tune-host-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
