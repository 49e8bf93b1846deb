// bench/smoke.h — `sluice-bench smoke`: one producer -> one consumer, closed
// loop, against a broker the user started (deploy/run.sh, af_xdp_vs_udp.sh).
// Runs on the calling thread plus two threads it starts; see smoke.cc.
#pragma once

#include <cstdint>
#include <string>

namespace sluice {

struct smoke_options {
  std::string broker = "127.0.0.1:7600";
  std::string uri = "prio/bench-smoke";
  std::uint32_t window = 256;
  double seconds = 5;
  double warmup = 1;
  bool json = false;
};

// Runs the scenario and prints the summary; returns the exit status (1 on
// any loss, duplicate, failed or missing ACK, lost session or interruption).
int run_smoke(const smoke_options& o);

}  // namespace sluice
