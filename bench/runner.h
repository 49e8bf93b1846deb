// bench/runner.h — `sluice-bench run` and `sluice-bench compare`: which
// systems run which scenarios, in what order, and where the results go.
// Main thread; every process it starts it stops by PID before returning.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::bench {

struct runner_options {
  std::string broker_bin;               // sluice-broker
  std::string self_bin;                 // this binary (for the udp-forwarder process)
  std::vector<std::string> scenarios;   // names; empty = all
  std::vector<std::string> modes;       // Sluice modes; empty = the command's default
  std::vector<std::string> peers;       // compare: empty = all
  double seconds = -1;                  // < 0: the scenario's own
  double warmup = -1;
  std::string out_dir;                  // compare: default bench/results/<date> (-2, -3 … if it holds a report)
  std::uint32_t shards = 2;
  double client_linger_us = -1;  // < 0: the client library's default
  bool smoke = false;
  bool compare = false;
};

// Runs and reports; exit status 1 when a Sluice run lost, duplicated or
// failed messages (peers' failures are reported, not fatal), 2 on bad usage.
int run_runner(const runner_options& o);

}  // namespace sluice::bench
