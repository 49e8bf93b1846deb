// datapath/broker/service.h — the broker's service thread: its end of the
// channel to sluice-control.
//
// sluice-broker listens on a Unix socket (control.broker_socket, mode 0660;
// a stale socket file is replaced, a live one refused). sluice-control
// connects — before or after the broker started, and again after either
// restarts — and sends one JSON request per line; each gets one JSON reply
// line with the same "id" (docs/control.md, "Broker channel"). One
// connection at a time: a new one replaces the old.
//
// Questions and changes for shards go through shard_query (never a lock, so
// a shard never waits for the control plane); the service thread waits for
// the answers with a deadline. A reload hands shards a new immutable config
// snapshot; snapshots stay alive for the life of the process, because queues
// created under an old one may still point into it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "datapath/broker/config.h"
#include "datapath/broker/shard.h"

namespace sluice::xdp {
class xdp_steering;
}

namespace sluice::broker {

class broker_service {
 public:
  broker_service(const broker_config& cfg, std::vector<std::unique_ptr<shard>>& shards,
                 const xdp::xdp_steering* steering);
  ~broker_service();
  broker_service(const broker_service&) = delete;
  broker_service& operator=(const broker_service&) = delete;

  // Binds the socket and starts the thread; false with `err` on failure.
  bool start(std::string& err);
  void stop();

  // One request line → one reply line (public for tests and the thread).
  std::string handle(const std::string& line);

 private:
  void run();
  void serve(int fd);
  nlohmann::json dispatch(const nlohmann::json& req);
  nlohmann::json hello() const;
  nlohmann::json stats() const;
  nlohmann::json queues();
  nlohmann::json sessions();
  nlohmann::json purge_or_delete(const nlohmann::json& req, bool remove);
  nlohmann::json close_session(const nlohmann::json& req);
  nlohmann::json reload(const nlohmann::json& req);
  nlohmann::json partitions(const nlohmann::json& req);
  nlohmann::json drain(const nlohmann::json& req);
  // Sends a query of `kind` to the chosen shards (all if `only` < 0) and
  // waits up to 2 s for each; answers in shard order. Throws on a shard that
  // did not answer (the reply becomes an error).
  std::vector<std::shared_ptr<shard_query>> ask(query_kind kind, const std::function<void(shard_query&)>& fill,
                                               int only = -1);

  const broker_config& _cfg;
  std::vector<std::unique_ptr<shard>>& _shards;
  const xdp::xdp_steering* _steering;
  std::vector<std::unique_ptr<broker_config>> _snapshots;  // reloads, kept alive
  const broker_config* _current;
  std::int64_t _started_unix = 0;
  std::uint64_t _reloads = 0;
  bool _draining = false;
  std::vector<bool> _serving;
  int _listen_fd = -1;
  int _wake_fd = -1;  // eventfd: stop()
  std::atomic<bool> _stop{false};
  std::thread _thread;
};

}  // namespace sluice::broker
