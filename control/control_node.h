// control/control_node.h — what sluice-control knows and does.
//
// Owns the link to the local broker, the node's config (re-read from its
// file on reload), membership (membership.h: static or etcd) and a sampler that
// asks the broker for stats and queues every second (rates are differences
// between the last two samples). handle() answers operator requests
// (operator_server's thread); render_metrics() answers /metrics (the HTTP
// server's thread); both read the sampler's snapshots under one mutex, so
// neither ever waits on the data plane longer than one broker call.
// A pusher thread sends membership's per-shard serving vector to the broker
// whenever it changes (membership's callback, or its lease deadline passing:
// fencing) and retries until the broker takes it; membership never waits on
// the broker or the shards.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/broker_link.h"
#include "control/membership.h"
#include "datapath/broker/config.h"

namespace sluice::control {

class control_node {
 public:
  using json = nlohmann::json;

  control_node(std::string config_path, std::string config_text, broker::broker_config cfg);
  ~control_node();
  control_node(const control_node&) = delete;
  control_node& operator=(const control_node&) = delete;

  void start();
  void stop();

  json handle(const json& req);
  std::string render_metrics();

  broker_link& link() noexcept { return _link; }

 private:
  struct sample {
    std::chrono::steady_clock::time_point at{};
    json stats;   // the broker's "stats" reply
    json queues;  // the broker's "queues" reply
    bool valid = false;
  };

  bool resync(const json& hello);
  void sampler();
  json status();
  json members() const;
  json partitions() const;
  json queues(const json& req);
  json reload();
  json drain(const json& req);
  json log_level(const json& req);
  // Queue rows of the latest sample with rates from the previous one.
  json queue_rows();
  // The pusher thread: keeps the broker's serving flags equal to membership's.
  void pusher();
  void wake_pusher();
  // Sends membership's current vector unless the broker has it; false when
  // the broker did not take it. Any thread (serialised).
  bool push_serving();

  std::string _config_path;
  std::string _config_text;  // the config the broker was last given
  broker::broker_config _cfg;
  broker_link _link;
  std::chrono::steady_clock::time_point _started;
  mutable std::mutex _mu;  // guards _cfg, _config_text, samples
  sample _last;
  sample _prev;
  std::uint64_t _reloads_ok = 0;
  std::uint64_t _reloads_refused = 0;
  std::uint64_t _reloads_unknown = 0;  // sent, no answer in time: adopted and pushed again
  std::atomic<bool> _stop{false};
  std::thread _sampler;
  std::unique_ptr<membership> _membership;
  std::mutex _push_call_mu;  // one push at a time
  std::mutex _push_mu;       // guards _push_wake, _pushed
  std::condition_variable _push_cv;
  bool _push_wake = false;
  std::vector<bool> _pushed;  // what the broker last accepted; empty = unknown
  std::thread _pusher;
};

}  // namespace sluice::control
