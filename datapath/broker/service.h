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
// the answers with a deadline (k_answer_wait, shorter than sluice-control's
// call timeout, so a slow shard never costs the channel its connection).
// A query handed to a shard is carried out even when its answer comes too
// late, in ring order: changes (config, serving, draining) take effect in
// the service thread's view when they are handed over, not when answered.
// A reload hands shards a new immutable config snapshot by shared_ptr; its
// life ends with its last user (the service thread, a query, or an engine
// whose queues still use one of its domain definitions), never with a
// deadline.
#pragma once

#include <atomic>
#include <chrono>
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
  // How long a request waits for shards to answer: well inside
  // sluice-control's call timeout (3 s), with the 1 s submit() may wait for
  // ring room.
  static constexpr std::chrono::milliseconds k_answer_wait{1500};

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
  // Hands a query of `kind` to each chosen shard (all if `only` < 0), in
  // shard order: to every one of them, or — when a shard's ring has no room
  // within 1 s — to none (throws; nothing changed).
  std::vector<std::shared_ptr<shard_query>> submit(query_kind kind, const std::function<void(shard_query&)>& fill,
                                                  int only);
  // Waits up to k_answer_wait for the answers; the indexes of the shards
  // that have not answered (their queries stay queued and are carried out).
  std::vector<std::uint32_t> await(const std::vector<std::shared_ptr<shard_query>>& qs) const;
  // submit() then await(); throws if a shard did not answer in time or
  // answered with an error (the reply becomes an error).
  std::vector<std::shared_ptr<shard_query>> ask(query_kind kind, const std::function<void(shard_query&)>& fill,
                                               int only = -1);

  const broker_config& _cfg;
  std::vector<std::unique_ptr<shard>>& _shards;
  const xdp::xdp_steering* _steering;
  std::shared_ptr<const broker_config> _current;  // the config last handed to every shard
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
