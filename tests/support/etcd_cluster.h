// tests/support/etcd_cluster.h — a real etcd and real sluice-control
// processes for the membership tests.
//
// etcd_process starts Debian's `etcd` on 127.0.0.1 with two free TCP ports
// (client, peer), a throwaway data directory under /tmp and a fast raft tick
// (so short lease TTLs are allowed), waits for /health, and stops it by PID
// (pause()/resume() send SIGSTOP/SIGCONT: "etcd is unreachable"). If no etcd
// binary exists, require_etcd() prints "SKIPPED: reason" and exits 77.
//
// cluster_member writes a TOML config into its own temporary directory
// (its own operator and broker socket paths, metrics off), starts the built
// `sluice-control`, waits for "ready", and talks to its operator socket.
// Destructors kill what is left, by PID.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/free_port.h"

namespace sluice::testing {

// The etcd binary to run: $SLUICE_ETCD, else etcd on PATH; "" if none.
std::string etcd_binary();
// Exits 77 with a printed reason when there is no etcd binary.
void require_etcd();

class etcd_process {
 public:
  etcd_process();
  ~etcd_process();
  etcd_process(const etcd_process&) = delete;
  etcd_process& operator=(const etcd_process&) = delete;

  // False (with error()) if it did not become healthy within 15 s.
  // `client_port` 0 = a free one.
  bool start(std::uint16_t client_port = 0);
  void stop();
  void pause();   // SIGSTOP: connections hang, nothing is answered
  void resume();  // SIGCONT

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(_client_port); }
  pid_t pid() const noexcept { return _pid; }
  const std::string& error() const noexcept { return _error; }
  std::string output() const;

 private:
  std::string _dir;
  pid_t _pid = -1;
  std::uint16_t _client_port = 0;
  std::uint16_t _peer_port = 0;
  bool _paused = false;
  std::string _error;
};

struct control_options {
  std::uint16_t node_id = 1;
  std::string etcd_endpoint;  // "" = static membership
  std::string cluster = "test";
  std::uint32_t lease_ttl_ms = 1500;
  std::uint32_t partitions = 6;
  std::uint32_t shards = 2;
  std::string extra_cluster;  // more [cluster] lines
};

// One node's sluice-control for the etcd tests (tests/support/control_process.h
// has the plain one, started from a config file, for the single-node tests).
class cluster_member {
 public:
  explicit cluster_member(control_options opts);
  ~cluster_member();
  cluster_member(const cluster_member&) = delete;
  cluster_member& operator=(const cluster_member&) = delete;

  // Starts sluice-control; false (with error()) if it did not print "ready"
  // within 10 s or exited.
  bool start();
  // SIGTERM and wait; the exit status (-1 if it had to be killed).
  int stop();
  void kill9();
  // True while the process runs; fills `status` with its exit status once it ended.
  bool running(int* status = nullptr);

  // One request on the operator socket; {"ok": false, "error": ...} on failure.
  nlohmann::json ask(const std::string& cmd, int timeout_ms = 3000) const;

  pid_t pid() const noexcept { return _pid; }
  std::uint16_t node_id() const noexcept { return _opts.node_id; }
  std::string config_path() const { return _dir + "/control.toml"; }
  std::string operator_socket() const { return _dir + "/control.sock"; }
  std::string broker_socket() const { return _dir + "/broker.sock"; }
  const std::string& error() const noexcept { return _error; }
  std::string output() const;

 private:
  control_options _opts;
  std::string _dir;
  pid_t _pid = -1;
  std::string _error;
};

}  // namespace sluice::testing
