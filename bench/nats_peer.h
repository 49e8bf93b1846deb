// bench/nats_peer.h — NATS as a peer: a nats-server (Debian package) started
// on 127.0.0.1 with a free port and a throwaway JetStream store, and a
// minimal client of the NATS text protocol (INFO/CONNECT/PUB/SUB/MSG/PING).
//
//   core:      PUB subject → every SUB on it; no ACK, nothing stored.
//   jetstream: a file-backed stream per scenario run; producers PUB with a
//              reply subject and count the stream's answer as the ACK;
//              consumers are push consumers with explicit acks (one per
//              consumer: fan-out), each message acked on arrival.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "bench/harness.h"

namespace sluice::bench {

class nats_server {
 public:
  ~nats_server();
  std::string start();  // "" or the reason
  std::uint16_t port() const { return _port; }
  std::string version() const;

 private:
  std::string _dir;
  std::uint16_t _port = 0;
  pid_t _pid = -1;
};

class nats_system final : public system_under_test {
 public:
  nats_system(nats_server& server, bool jetstream) : _server(server), _js(jetstream) {}
  std::string name() const override { return _js ? "nats jetstream" : "nats core"; }
  std::string skip_reason(const scenario& s) const override;
  std::string prepare(const scenario& s, std::uint64_t run_id) override;
  std::unique_ptr<consumer_port> consumer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                          std::string& err) override;
  std::unique_ptr<producer_port> producer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                          std::string& err) override;
  bool may_drop(const scenario&) const override { return !_js; }
  std::string describe() const override;

 private:
  nats_server& _server;
  bool _js;
  std::string _tag;  // per scenario run: subjects and stream names
  std::uint32_t _producers = 0;
};

}  // namespace sluice::bench
