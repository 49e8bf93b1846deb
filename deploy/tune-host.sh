#!/usr/bin/env bash
# deploy/tune-host.sh — tune a real host for sluice-broker in AF_XDP mode:
# steer each shard's UDP port (base_port + i) to its NIC queue with ethtool
# ntuple rules, pin those queues' IRQs to housekeeping cores (away from the
# shard cores), and set the device's busy-poll knobs. Prints every command it
# runs; --dry-run only prints. What it changed is recorded in
# /run/sluice/tune-host.IF.state so that --undo reverts exactly that (the
# state, like the rules, does not survive a reboot).
#
#   tune-host.sh --interface eth0 --base-port 7600 --queues 0,1 --shard-cores 2,3
#   tune-host.sh --config /etc/sluice.toml --dry-run
#   tune-host.sh --interface eth0 --undo
#
# Run with --help for every option. Must run as root unless --dry-run.
#
#   SLUICE_TUNE_STATE_DIR   where the state file goes (default /run/sluice)
#   SLUICE_TUNE_INTERRUPTS  file read instead of /proc/interrupts (tests)
set -euo pipefail

prog=tune-host.sh
state_dir=${SLUICE_TUNE_STATE_DIR:-/run/sluice}
interrupts_file=${SLUICE_TUNE_INTERRUPTS:-/proc/interrupts}

usage() {
  cat <<'EOF'
usage: tune-host.sh --interface IF --base-port P --queues Q0,Q1,... --shard-cores C0,C1,...
                    [--housekeeping-cores LIST] [--dry-run]
       tune-host.sh --config FILE [same options to override the file] [--dry-run]
       tune-host.sh --interface IF --undo [--dry-run]

Shard i listens on UDP port P+i, reads NIC queue Qi and runs on core Ci.

  --interface IF            the NIC the broker's AF_XDP sockets bind to
  --base-port P             node.base_port of the broker config
  --queues LIST             NIC queue id per shard (datapath.queues)
  --shard-cores LIST        core per shard (shards.cores)
  --housekeeping-cores LIST cores that take the queues' IRQs
                            (default: every online cpu except the shard cores)
  --config FILE             read datapath.interface, datapath.queues,
                            node.base_port, shards.count and shards.cores from
                            a broker TOML (one-line arrays); options override it
  --dry-run                 print the commands, change nothing (no root needed)
  --undo                    revert what the last run on IF changed
  -h, --help                this text

LIST is comma-separated numbers or ranges: 0,1 or 2-5,8.
Steps: 1 queue count (ethtool -L), 2 ntuple rules (ethtool -K/-N),
3 IRQ affinity (/proc/irq/N/smp_affinity_list), 4 busy-poll knobs, 5 summary.
EOF
}

die() { echo "$prog: error: $*" >&2; exit 1; }
usage_error() { echo "$prog: $*" >&2; echo "$prog: run '$prog --help' for usage" >&2; exit 2; }
warn() { echo "$prog: warning: $*" >&2; }
note() { echo "  # $*"; }
step() { echo; echo "== $*"; }

# ---------------------------------------------------------------- arguments

iface="" base_port="" queues_arg="" cores_arg="" hk_arg="" config="" dry_run=0 undo=0
need_value() { if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi; }
while [ $# -gt 0 ]; do
  case $1 in
    --interface) need_value "$@"; iface=$2; shift 2 ;;
    --base-port) need_value "$@"; base_port=$2; shift 2 ;;
    --queues) need_value "$@"; queues_arg=$2; shift 2 ;;
    --shard-cores) need_value "$@"; cores_arg=$2; shift 2 ;;
    --housekeeping-cores) need_value "$@"; hk_arg=$2; shift 2 ;;
    --config) need_value "$@"; config=$2; shift 2 ;;
    --interface=* | --base-port=* | --queues=* | --shard-cores=* | --housekeeping-cores=* | --config=*)
      opt=${1%%=*}; val=${1#*=}; shift; set -- "$opt" "$val" "$@" ;;
    --dry-run) dry_run=1; shift ;;
    --undo) undo=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

# Value of KEY in [TABLE] of a TOML file, on one line, comment stripped.
# Enough for the few keys read here; not a TOML parser.
toml_get() {
  awk -v want_t="$2" -v want_k="$3" '
    { sub(/#.*/, "") }
    /^[[:space:]]*\[/ { t = $0; gsub(/[][[:space:]]/, "", t); next }
    t == want_t && match($0, "^[[:space:]]*\"?" want_k "\"?[[:space:]]*=") {
      v = substr($0, RLENGTH + 1); gsub(/^[[:space:]]+|[[:space:]]+$/, "", v); print v; exit
    }' "$1"
}
# A TOML scalar or one-line array of numbers/strings -> comma list / bare string.
toml_value() {
  local key=$1 v=$2
  case $v in
    \[*\]) v=${v#[}; v=${v%]}; v=${v//[[:space:]]/}; v=${v%,}; echo "$v" ;;
    \[*) die "$config: $key: write the array on one line (or pass it as an option)" ;;
    \"*\") v=${v#\"}; echo "${v%\"}" ;;
    *) echo "$v" ;;
  esac
}
shard_cnt_cfg=""
if [ -n "$config" ]; then
  [ -r "$config" ] || usage_error "--config: cannot read '$config'"
  mode=$(toml_value datapath.mode "$(toml_get "$config" datapath mode)")
  if [ "$undo" = 0 ] && [ "$mode" != af_xdp ]; then
    warn "$config: datapath.mode is '${mode:-unset}', not \"af_xdp\"; tuning anyway"
  fi
  [ -n "$iface" ] || iface=$(toml_value datapath.interface "$(toml_get "$config" datapath interface)")
  [ -n "$queues_arg" ] || queues_arg=$(toml_value datapath.queues "$(toml_get "$config" datapath queues)")
  [ -n "$base_port" ] || base_port=$(toml_value node.base_port "$(toml_get "$config" node base_port)")
  [ -n "$base_port" ] || base_port=7600 # the broker's default
  [ -n "$cores_arg" ] || cores_arg=$(toml_value shards.cores "$(toml_get "$config" shards cores)")
  shard_cnt_cfg=$(toml_value shards.count "$(toml_get "$config" shards count)")
fi

# "0-2,5" -> "0 1 2 5"; fails on anything else.
expand_list() {
  local what=$1 list=$2 part lo hi out=()
  [[ $list =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] ||
    usage_error "$what: '$list' is not a list of numbers like 0,1 or 2-5"
  IFS=, read -ra parts <<<"$list"
  for part in "${parts[@]}"; do
    lo=$((10#${part%-*})) hi=$((10#${part#*-}))
    [ "$lo" -le "$hi" ] || usage_error "$what: range '$part' goes backwards"
    while [ "$lo" -le "$hi" ]; do out+=("$lo"); lo=$((lo + 1)); done
  done
  echo "${out[*]}"
}
join() { local IFS=,; echo "$*"; }
# Prints a command the way it can be pasted into a shell.
quote_cmd() {
  local a s=""
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then s+="$a "; else s+="'${a//\'/\'\\\'\'}' "; fi
  done
  echo "${s% }"
}
# Runs (or in --dry-run only prints) a command that changes the host.
run() {
  echo "  \$ $(quote_cmd "$@")"
  [ "$dry_run" = 1 ] || "$@"
}
# Writes VALUE to a sysfs/procfs FILE (or only prints it); fails softly.
write_knob() {
  local value=$1 file=$2
  echo "  \$ echo $value > $file"
  [ "$dry_run" = 1 ] && return 0
  if ! (printf '%s\n' "$value" >"$file") 2>/dev/null; then
    warn "could not write $value to $file"
    return 1
  fi
}

[ -n "$iface" ] || usage_error "--interface is required (or datapath.interface in --config)"
[[ $iface =~ ^[A-Za-z0-9_.:@-]{1,15}$ ]] || usage_error "--interface: '$iface' is not an interface name"

if [ "$undo" = 0 ]; then
  [ -n "$base_port" ] || usage_error "--base-port is required (node.base_port)"
  [ -n "$queues_arg" ] || usage_error "--queues is required (datapath.queues: the NIC queue id of each shard)"
  [ -n "$cores_arg" ] || usage_error "--shard-cores is required (shards.cores: the core of each shard)"
  if ! [[ $base_port =~ ^[0-9]+$ ]] || [ "$base_port" -lt 1 ] || [ "$base_port" -gt 65535 ]; then
    usage_error "--base-port: '$base_port' is not a UDP port (1-65535)"
  fi
  read -ra queues <<<"$(expand_list --queues "$queues_arg")"
  read -ra cores <<<"$(expand_list --shard-cores "$cores_arg")"
  shards=${#queues[@]}
  [ "${#cores[@]}" -eq "$shards" ] ||
    usage_error "--queues has $shards entries but --shard-cores has ${#cores[@]}: give one queue and one core per shard"
  if [ -n "$shard_cnt_cfg" ] && [ "$shard_cnt_cfg" != "$shards" ]; then
    usage_error "$config: shards.count is $shard_cnt_cfg but there are $shards queues: give one queue per shard"
  fi
  [ $((base_port + shards - 1)) -le 65535 ] || usage_error "--base-port: ports $base_port..$((base_port + shards - 1)) run past 65535"
  dup=$(printf '%s\n' "${queues[@]}" | sort -n | uniq -d | head -n1)
  [ -z "$dup" ] || usage_error "--queues: queue $dup is given to two shards; each shard needs its own queue"
  dup=$(printf '%s\n' "${cores[@]}" | sort -n | uniq -d | head -n1)
  [ -z "$dup" ] || warn "--shard-cores: core $dup runs two shards"
fi

if [ "$dry_run" = 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "must run as root to change NIC and IRQ settings (use sudo), or pass --dry-run to only print the commands"
fi
command -v ethtool >/dev/null 2>&1 || die "ethtool is not installed (apt-get install ethtool)"
[ -e "/sys/class/net/$iface" ] ||
  die "interface '$iface' does not exist here (see 'ip -br link'; in a namespace, run under 'ip netns exec')"

state_file="$state_dir/tune-host.$iface.state"
state_add() {
  [ "$dry_run" = 1 ] && return 0
  echo "$*" >>"$state_file"
}

# ---------------------------------------------------------------- undo

# Reverts the changes recorded in the state file, newest first.
do_undo() {
  local kind a b c lines=() i rules_left
  mapfile -t lines < <(grep -v '^#' "$state_file" || true)
  for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    read -r kind a b c <<<"${lines[i]}"
    case $kind in
      rule) run ethtool -N "$iface" delete "$a" || warn "could not delete rule $a (already gone?)" ;;
      ntuple)
        # Some drivers flush every rule when ntuple goes off: only turn it off
        # if no rule is left (ours are gone; others are not ours to drop).
        rules_left=$({ ethtool -n "$iface" 2>/dev/null || true; } | sed -n 's/^Total \([0-9]*\) rules.*/\1/p')
        if [ "$dry_run" = 1 ] || [ "${rules_left:-0}" = 0 ]; then
          run ethtool -K "$iface" ntuple off || warn "could not turn ntuple off"
        else
          note "leaving ntuple on: $rules_left rule(s) not made by $prog remain"
        fi ;;
      irq) write_knob "$b" "/proc/irq/$a/smp_affinity_list" || true ;;
      knob) write_knob "$b" "$a" || true ;;
      channels) run ethtool -L "$iface" "$a" "$b" ${c:+"$c"} || warn "could not restore the channel count" ;;
    esac
  done
  if [ "$dry_run" = 0 ]; then rm -f "$state_file"; fi
}

if [ "$undo" = 1 ]; then
  [ "$dry_run" = 1 ] && echo "$prog: dry run: printing the commands, changing nothing"
  if [ ! -f "$state_file" ]; then
    echo "$prog: nothing to undo for $iface: no state file $state_file (a reboot also clears the rules)"
    exit 0
  fi
  step "undo: reverting what $state_file records"
  do_undo
  echo
  if [ "$dry_run" = 1 ]; then echo "$prog: dry run: nothing was changed"; else echo "$prog: undone"; fi
  exit 0
fi

read -ra online <<<"$(expand_list online "$(cat /sys/devices/system/cpu/online)")"
for c in "${cores[@]}"; do
  [[ " ${online[*]} " == *" $c "* ]] || warn "shard core $c is not online on this host (online: $(join "${online[@]}"))"
done
if [ -n "$hk_arg" ]; then
  read -ra hk <<<"$(expand_list --housekeeping-cores "$hk_arg")"
  for c in "${hk[@]}"; do
    [[ " ${cores[*]} " != *" $c "* ]] ||
      usage_error "--housekeeping-cores: core $c is also a shard core; IRQs must stay off shard cores"
  done
else
  hk=()
  for c in "${online[@]}"; do [[ " ${cores[*]} " == *" $c "* ]] || hk+=("$c"); done
  [ "${#hk[@]}" -gt 0 ] ||
    die "every online cpu ($(join "${online[@]}")) is a shard core: leave at least one for IRQs and housekeeping (--housekeeping-cores)"
fi
hk_list=$(join "${hk[@]}")

[ "$dry_run" = 1 ] && echo "$prog: dry run: printing the commands, changing nothing"
if [ -f "$state_file" ]; then
  step "0. a previous run left $state_file: undoing it first"
  do_undo
  [ "$dry_run" = 0 ] || note "(dry run: the steps below see the host as it is now, before this undo)"
fi
if [ "$dry_run" = 0 ]; then
  mkdir -p "$state_dir"
  echo "# $prog $(date -u +%FT%TZ): --interface $iface --base-port $base_port --queues $(join "${queues[@]}") --shard-cores $(join "${cores[@]}")" >"$state_file"
fi


# ---------------------------------------------------------------- 1. queues

step "1. interface $iface: driver and queue count"
driver=$({ ethtool -i "$iface" 2>/dev/null || true; } | sed -n 's/^driver: //p')
driver=${driver:-unknown}
dev=$(basename "$(readlink "/sys/class/net/$iface/device" 2>/dev/null)" 2>/dev/null || true)
note "ethtool -i $iface: driver $driver${dev:+, device $dev}"

# chan max|cur Combined|RX|TX -> number, or empty when n/a or unknown
chan() {
  { ethtool -l "$iface" 2>/dev/null || true; } | awk -v sec="$1" -v f="$2:" '
    /^Pre-set maximums/ { s = "max" } /^Current hardware settings/ { s = "cur" }
    s == sec && $1 == f && $2 ~ /^[0-9]+$/ { print $2; exit }'
}
need=0
for q in "${queues[@]}"; do [ "$q" -lt "$need" ] || need=$((q + 1)); done
comb_max=$(chan max Combined) comb_cur=$(chan cur Combined)
rx_max=$(chan max RX) rx_cur=$(chan cur RX) tx_max=$(chan max TX) tx_cur=$(chan cur TX)
if [ -n "$comb_max" ] && [ "$comb_max" -gt 0 ]; then
  note "ethtool -l $iface: combined channels ${comb_cur:-0} (max $comb_max); queues $(join "${queues[@]}") need $need"
  if [ "$comb_max" -lt "$need" ]; then
    die "$iface has at most $comb_max combined queues; queue $((need - 1)) does not exist (use queues below $comb_max)"
  elif [ "${comb_cur:-0}" -lt "$need" ]; then
    run ethtool -L "$iface" combined "$need" || die "ethtool -L failed"
    state_add channels combined "${comb_cur:-1}"
  fi
elif [ -n "$rx_max" ]; then
  note "ethtool -l $iface: rx channels ${rx_cur:-?} (max $rx_max), tx ${tx_cur:-?} (max ${tx_max:-?}); queues $(join "${queues[@]}") need $need"
  if [ "$rx_max" -lt "$need" ]; then
    die "$iface has at most $rx_max rx queues; queue $((need - 1)) does not exist (use queues below $rx_max)"
  elif [ "${rx_cur:-0}" -lt "$need" ]; then
    run ethtool -L "$iface" rx "$need" || die "ethtool -L failed"
    state_add channels rx "${rx_cur:-1}"
  fi
else
  warn "ethtool -l $iface reports no channel counts; make sure queues $(join "${queues[@]}") exist (ls /sys/class/net/$iface/queues)"
fi

# ---------------------------------------------------------------- 2. steering

step "2. steering: one ntuple rule per shard port and address family"
ntuple=$({ ethtool -k "$iface" 2>/dev/null || true; } | sed -n 's/^ntuple-filters: *//p')
declare -A rule_ids=()
explain_no_ntuple() {
  warn "driver $driver has no ntuple filters ('ntuple-filters: ${ntuple:-absent}'): ports cannot be steered to queues on $iface"
  case $driver in
    veth) note "veth has no ntuple and no RSS: a packet arrives on the queue the sender transmitted it on;"
      note "in tests, pin sender threads and set XPS (/sys/class/net/PEER/queues/tx-N/xps_cpus) instead." ;;
    virtio_net) note "virtio-net offers at most RSS hashing, no flow rules: give the VM an SR-IOV VF or a"
      note "passed-through NIC with ntuple (ice, i40e, ixgbe, mlx5, bnxt), or run one shard per node." ;;
    *) note "some NICs need a driver or firmware switch for flow rules (e.g. flow director / ATR modes);"
      note "otherwise use a NIC with ntuple (ice, i40e, ixgbe, mlx5, bnxt)." ;;
  esac
  note "The broker stays correct without steering: a datagram that arrives on a queue owned by another"
  note "shard is forwarded to the owning shard over an SPSC ring (and counted), at the cost of that hop."
}
if [[ $ntuple == *fixed* || -z $ntuple ]]; then
  explain_no_ntuple
  if [ "$dry_run" = 1 ]; then
    note "the rules a NIC with ntuple would get:"
    for ((i = 0; i < shards; i++)); do
      for fam in udp4 udp6; do
        echo "  \$ ethtool -N $iface flow-type $fam dst-port $((base_port + i)) action ${queues[i]}"
      done
    done
  else
    for ((i = 0; i < shards; i++)); do
      for fam in udp4 udp6; do
        note "skipped: ethtool -N $iface flow-type $fam dst-port $((base_port + i)) action ${queues[i]}"
      done
    done
  fi
else
  # Rules someone else made for our ports would compete with ours.
  { ethtool -n "$iface" 2>/dev/null || true; } | awk '
      /^Filter:/ { id = $2 } /Dst port:/ { print id, $3 }' |
    while read -r id port; do
      if [ "$port" -ge "$base_port" ] && [ "$port" -lt $((base_port + shards)) ]; then
        warn "rule $id already matches dst-port $port (not made by this run); 'ethtool -n $iface' shows it, 'ethtool -N $iface delete $id' removes it"
      fi
    done
  if [[ $ntuple == off* ]]; then
    run ethtool -K "$iface" ntuple on || die "could not enable ntuple on $iface"
    state_add ntuple on
  else
    note "ntuple-filters already on"
  fi
  for ((i = 0; i < shards; i++)); do
    for fam in udp4 udp6; do
      cmd=(ethtool -N "$iface" flow-type "$fam" dst-port "$((base_port + i))" action "${queues[i]}")
      echo "  \$ $(quote_cmd "${cmd[@]}")"
      [ "$dry_run" = 1 ] && continue
      if result=$("${cmd[@]}" 2>&1); then
        id=$(sed -n 's/.*Added rule with ID \([0-9][0-9]*\).*/\1/p' <<<"$result")
        if [ -n "$id" ]; then
          state_add rule "$id"
          rule_ids[$i]+="${rule_ids[$i]:+,}$id"
          note "rule $id"
        else
          warn "rule added but ethtool printed no ID ('$result'): --undo cannot remove it; find it with ethtool -n $iface"
        fi
      elif [ "$fam" = udp6 ]; then
        warn "driver $driver refused the IPv6 rule ($result); IPv6 clients of shard $i are not steered"
      else
        die "ethtool -N failed: $result (rules added so far are in $state_file; '$prog --interface $iface --undo' removes them)"
      fi
    done
  done
fi

# ---------------------------------------------------------------- 3. IRQs

step "3. IRQs of queues $(join "${queues[@]}") -> housekeeping cores $hk_list"
# "IRQ NAME" for each numbered line of /proc/interrupts (NAME: the last field).
irq_names=$(awk '$1 ~ /^[0-9]+:$/ { n = $1; sub(/:/, "", n); name = $NF; sub(/,$/, "", name); print n, name }' \
  "$interrupts_file" 2>/dev/null || true)
# Interface names were checked against [A-Za-z0-9_.:@-]: only '.' needs escaping.
ifre=${iface//./\\.}
[[ $dev =~ ^[A-Za-z0-9_.:-]+$ ]] || dev=""
devre=${dev//./\\.}
# IRQs that serve queue Q, by the names drivers give them:
#   IF-TxRx-Q IF-rx-Q IF-tx-Q IF-Q (ixgbe, igb, tg3, sfc...), ice-IF-TxRx-Q (ice, i40e),
#   mlx5_compQ@pci:DEV (mlx5), virtioN-input.Q / virtioN-output.Q (virtio-net).
irqs_of_queue() {
  local q=$1 re
  re="^([A-Za-z0-9_]+-)?$ifre-([A-Za-z]+(-[A-Za-z]+)?-)?$q\$"
  if [ -n "$dev" ]; then re+="|^mlx5_comp$q@pci:$devre\$|^$devre-(input|output)\\.$q\$"; fi
  re=$re awk 'tolower($2) ~ tolower(ENVIRON["re"]) { print $1 }' <<<"$irq_names" | paste -sd, -
}
declare -A queue_irqs=()
matched=0
for ((i = 0; i < shards; i++)); do
  q=${queues[i]}
  queue_irqs[$i]=$(irqs_of_queue "$q")
  if [ -z "${queue_irqs[$i]}" ]; then
    note "queue $q: no IRQ in $interrupts_file has a name this script knows for $iface queue $q"
    continue
  fi
  matched=1
  IFS=, read -ra list <<<"${queue_irqs[$i]}"
  for irq in "${list[@]}"; do
    name=$(awk -v n="$irq" '$1 == n { print $2 }' <<<"$irq_names")
    old=$(cat "/proc/irq/$irq/smp_affinity_list" 2>/dev/null || echo "?")
    note "queue $q: IRQ $irq ($name), now on cpus $old"
    if write_knob "$hk_list" "/proc/irq/$irq/smp_affinity_list"; then
      [ "$old" = "?" ] || state_add irq "$irq" "$old"
    else
      warn "the kernel kept IRQ $irq where it was (a managed IRQ cannot be moved); keep shard cores off cpus $old"
    fi
  done
done
if [ "$matched" = 0 ]; then
  case $driver in
    veth) note "veth has no IRQs: its queues are served in the sender's context; nothing to pin." ;;
    *)
      warn "no IRQ matched $iface's queues; pin them by hand: echo $hk_list > /proc/irq/N/smp_affinity_list"
      for d in "/sys/class/net/$iface/device/msi_irqs" "/sys/class/net/$iface/device/../msi_irqs"; do
        if [ -d "$d" ]; then
          dev_irqs=()
          for f in "$d"/*; do dev_irqs+=("${f##*/}"); done
          note "IRQs of the device ($d): ${dev_irqs[*]} (names in /proc/interrupts)"
          break
        fi
      done ;;
  esac
fi
if pgrep -x irqbalance >/dev/null 2>&1; then
  warn "irqbalance is running and will move these IRQs back onto shard cores. Either stop it:"
  note "systemctl stop irqbalance && systemctl disable irqbalance"
  note "or keep it off the shard cores: IRQBALANCE_BANNED_CPULIST=$(join "${cores[@]}") in /etc/default/irqbalance"
  note "(irqbalance < 1.8: IRQBALANCE_BANNED_CPUS as a hex mask), then systemctl restart irqbalance"
fi

# ---------------------------------------------------------------- 4. busy poll

step "4. busy polling: device knobs (KERNEL-NOTES: napi_defer_hard_irqs=2, gro_flush_timeout=200000 ns)"
for kv in napi_defer_hard_irqs=2 gro_flush_timeout=200000; do
  knob=/sys/class/net/$iface/${kv%=*} value=${kv#*=}
  if [ ! -e "$knob" ]; then
    warn "$knob does not exist (kernel older than 5.10?); busy polling still works, with more IRQs"
    continue
  fi
  old=$(cat "$knob")
  if [ "$old" = "$value" ]; then
    note "${kv%=*} is already $value"
  elif write_knob "$value" "$knob"; then
    state_add knob "$knob" "$old"
  fi
done
note "the broker's busy-poll switch sets SO_PREFER_BUSY_POLL=1, SO_BUSY_POLL=20, SO_BUSY_POLL_BUDGET=64"
note "on each AF_XDP socket (needs CAP_NET_ADMIN); pair it with shards.idle = \"busy\" on dedicated cores."
[ "$driver" != veth ] || note "busy polling has no effect on veth."

# ---------------------------------------------------------------- 5. summary

step "5. summary ($iface, driver $driver)"
printf '  %-6s %-6s %-6s %-12s %-12s %-10s %s\n' shard port queue rules IRQs "IRQ cpus" "shard cpu"
for ((i = 0; i < shards; i++)); do
  if [[ $ntuple == *fixed* || -z $ntuple ]]; then rules="none"; elif [ "$dry_run" = 1 ]; then rules="(dry run)"; else rules=${rule_ids[$i]:-none}; fi
  irqs=${queue_irqs[$i]:-none}
  printf '  %-6s %-6s %-6s %-12s %-12s %-10s %s\n' "$i" "$((base_port + i))" "${queues[i]}" "$rules" "$irqs" \
    "$([ "$irqs" = none ] && echo - || echo "$hk_list")" "${cores[i]}"
done
echo
if [ "$dry_run" = 1 ]; then
  echo "$prog: dry run: nothing was changed"
else
  echo "$prog: done; '$prog --interface $iface --undo' reverts it (state: $state_file)"
fi
