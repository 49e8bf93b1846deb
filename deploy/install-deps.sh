#!/usr/bin/env bash
# Installs everything Sluice's build, tests and benchmarks need on Debian 12.
# Idempotent: packages already present are left alone; safe to run on every
# invocation of the README commands. Must run as root (or through sudo).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  clang llvm lld libclang-rt-14-dev
  # kernel-bypass and system libraries the design rests on
  libbpf-dev libxdp-dev xdp-tools bpftool liburing-dev libhwloc-dev libnuma-dev
  linux-libc-dev
  # libraries
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libzstd-dev libcpp-httplib-dev libmicrohttpd-dev
  # cluster membership (the consensus engine; tests start their own on loopback)
  etcd-server etcd-client
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 ethtool procps psmisc python3
  nftables  # random loss on test links (tests/integration/broker_lossy_link_test.cc; no netem here)
  # sluice-bench compare: the peers it starts, and its plots
  nats-server redis-server gnuplot-nox
)

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E "$0" "$@"; fi
  echo "install-deps.sh: must run as root (apt-get needs it)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
