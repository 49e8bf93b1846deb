// bench/udp_floor.h — the kernel-UDP floor: producer → forwarder process →
// consumer, one datagram per message, nothing stored, no ACK, no retransmit.
// What one kernel-UDP hop pair costs on this machine; a broker that keeps
// messages and answers with ACKs cannot beat it, only approach it.
//
// The forwarder (`sluice-bench udp-forwarder --port P`, its own process) keeps
// a list of subscribers: a datagram "SUB!" + u32 queue adds its sender (and is
// answered "OK!!"), "UNS!" removes it; any other datagram of at least a stamp
// is sent to every subscriber of the queue in the stamp.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "bench/harness.h"

namespace sluice::bench {

// The forwarder's loop; runs until killed.
int run_udp_forwarder(std::uint16_t port);

class udp_floor_system final : public system_under_test {
 public:
  explicit udp_floor_system(std::string self_bin) : _self(std::move(self_bin)) {}
  ~udp_floor_system() override;
  std::string start();  // "" or the reason
  std::string name() const override { return "udp floor"; }
  std::string skip_reason(const scenario& s) const override;
  std::string prepare(const scenario&, std::uint64_t) override { return _pid > 0 ? "" : "not running"; }
  std::unique_ptr<consumer_port> consumer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                          std::string& err) override;
  std::unique_ptr<producer_port> producer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                          std::string& err) override;
  bool may_drop(const scenario&) const override { return true; }
  std::string describe() const override {
    return "sluice-bench udp-forwarder: one recvfrom + one sendto per copy, blocking, 127.0.0.1";
  }

 private:
  std::string _self;
  std::string _dir;
  std::uint16_t _port = 0;
  pid_t _pid = -1;
};

}  // namespace sluice::bench
