// bench/redis_peer.h — Redis Streams as a peer: a redis-server (Debian
// package) on 127.0.0.1 with a free port and a throwaway directory, and a
// minimal RESP client. Producers XADD (the reply is the ACK; with
// `appendfsync always` Redis answers after the append is fsynced), consumers
// XREADGROUP in a consumer group and XACK what they got; fan-out and
// broadcast are one group per consumer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "bench/harness.h"

namespace sluice::bench {

class redis_system final : public system_under_test {
 public:
  // durable: appendonly + appendfsync always, runs only durable scenarios;
  // otherwise no persistence, runs only in-memory ones.
  explicit redis_system(bool durable) : _durable(durable) {}
  ~redis_system() override;
  std::string start();  // "" or the reason
  std::string name() const override { return _durable ? "redis streams fsync" : "redis streams"; }
  std::string skip_reason(const scenario& s) const override;
  std::string prepare(const scenario& s, std::uint64_t run_id) override;
  std::unique_ptr<consumer_port> consumer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                          std::string& err) override;
  std::unique_ptr<producer_port> producer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                          std::string& err) override;
  std::string describe() const override;

 private:
  bool _durable;
  std::string _dir;
  std::uint16_t _port = 0;
  pid_t _pid = -1;
  std::string _tag;
  std::string _last_tag;
  std::uint32_t _last_queues = 0;
};

}  // namespace sluice::bench
