// tests/support/broker_process.h — start and stop a real sluice-broker.
//
// Integration tests run the real binary: this writes a config file into a
// temporary directory, spawns `sluice-broker --config`, waits for its
// "ready" line, and stops it by PID (SIGTERM, or SIGKILL for crash tests).
// Ports: a free run of consecutive UDP ports on 127.0.0.1 is probed per
// start, so tests can run side by side. The destructor kills what is left.
// With an AF_XDP datapath (test_network.h) the broker runs in AF_XDP mode in
// the broker namespace on 198.18.0.1, ports from 7600.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sluice::testing {

struct broker_options {
  std::uint32_t shards = 2;
  std::string cores;         // shards.cores, e.g. "[1, 0]"; "" = not set
  std::string domains;       // [[domain]] tables; empty = the default three
  std::string extra;         // more TOML (e.g. [debug], [limits]) placed before the domains
  double stats_interval_s = 0;
  // "" = as SLUICE_TEST_DATAPATH says (tests/support/test_network.h);
  // "af_xdp" / "af_xdp_skb" for tests that exist only for AF_XDP.
  std::string datapath;
  std::string datapath_extra;  // more [datapath] keys in AF_XDP mode (e.g. attach = "dispatcher")
  std::string listen;          // node.listen; "" = the test network's broker address
  std::string metrics_listen;  // control.metrics_listen for a sluice-control on this config; "" = off
  double start_timeout_s = 10;  // how long start() waits for "ready" (journal recovery can take a while)
};

inline broker_options with_extra(std::string extra) {
  broker_options o;
  o.extra = std::move(extra);
  return o;
}
inline broker_options with_domains(std::string domains) {
  broker_options o;
  o.domains = std::move(domains);
  return o;
}

class broker_process {
 public:
  explicit broker_process(const broker_options& opts = {});
  ~broker_process();
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  // Starts the broker; false (with the reason in error()) if it did not
  // print "ready" within start_timeout_s (default 10 s).
  bool start();
  // SIGTERM and wait; returns the exit status (-1 if it had to be killed).
  int stop();
  // SIGKILL and reap.
  void kill9();

  pid_t pid() const noexcept { return _pid; }
  std::uint16_t base_port() const noexcept { return _base_port; }
  std::string address(std::uint32_t shard = 0) const;  // "127.0.0.1:PORT" (or the namespace address)
  // Path of the config file the broker was started with.
  std::string config_path() const { return _dir + "/sluice.toml"; }
  // The broker's control channel and the operator socket a sluice-control
  // started with config_path() would use (both in the test's directory).
  std::string broker_socket() const { return _dir + "/broker.sock"; }
  std::string operator_socket() const { return _dir + "/control.sock"; }
  const std::string& error() const noexcept { return _error; }
  // The exit code when start() failed because the broker exited (-1 otherwise).
  int start_exit_code() const noexcept { return _start_exit_code; }
  // Everything the broker printed so far (stdout and stderr).
  std::string output() const;

 private:
  broker_options _opts;
  void check_datapath();

  std::string _dir;
  std::string _log;
  pid_t _pid = -1;
  std::uint16_t _base_port = 0;
  std::string _error;
  int _start_exit_code = -1;
};

// Path of a binary built in this tree (set by CMake at build time).
std::string binary_path(const char* name);

}  // namespace sluice::testing
