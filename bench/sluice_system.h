// bench/sluice_system.h — Sluice as a system under test: starts its own
// sluice-broker (the built binary, a temporary config, temporary control
// sockets, free UDP ports; or, for the veth modes, inside a namespace of a
// veth_pair), one client per producer and per consumer, stops the broker by
// PID. Main thread only; the ports it makes belong to the runner's threads.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "bench/harness.h"
#include "bench/process.h"

namespace sluice::bench {

struct sluice_mode {
  std::string label = "udp adaptive";  // "udp adaptive", "udp busy", "veth udp", "veth af_xdp"
  std::string idle = "adaptive";
  std::uint32_t shards = 2;
  bool af_xdp = false;
  const veth_pair* veth = nullptr;  // run the broker and clients across this pair
  time_ns client_linger_ns = -1;  // the clients' coalescing bound; < 0: the client library's default
};

class sluice_system final : public system_under_test {
 public:
  // `broker_bin`: path of sluice-broker. Call start() next.
  sluice_system(std::string broker_bin, sluice_mode mode);
  ~sluice_system() override;
  // Starts the broker; "" or the reason it did not start.
  std::string start();
  void stop();

  // A fresh broker per scenario (same config and ports).
  std::string reset() override;
  std::string name() const override { return "sluice " + _mode.label; }
  std::string skip_reason(const scenario& s) const override;
  std::string prepare(const scenario& s, std::uint64_t run_id) override;
  std::unique_ptr<consumer_port> consumer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                          std::string& err) override;
  std::unique_ptr<producer_port> producer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                          std::string& err) override;
  bool may_drop(const scenario& s) const override { return s.mode == queue_mode::broadcast; }
  std::string describe() const override;
  // Why `storage = "disk"` cannot run here ("" when it can).
  const std::string& disk_refusal() const { return _disk_refusal; }
  // The broker's lines about its datapath (AF_XDP mode, zero-copy or not).
  std::string datapath_log() const;

 private:
  std::string config(bool with_disk) const;
  std::string uri(const scenario& s, std::uint32_t q) const;

  std::string _bin;
  sluice_mode _mode;
  std::string _dir;
  std::string _log;
  std::string _address;  // "IP:PORT" of shard 0
  std::uint16_t _base_port = 0;
  pid_t _pid = -1;
  std::string _disk_refusal;
  std::uint64_t _run_id = 0;
  std::uint32_t _starts = 0;  // reset() calls: the first uses the broker start() made
};

}  // namespace sluice::bench
