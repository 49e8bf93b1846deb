// datapath/broker/shard_query.h — a control request for one shard.
//
// The broker's service thread (service.h) asks shards about their queues and
// sessions, and changes them (purge, delete, close a session, new config,
// fencing, drain), without ever making a shard wait: it pushes a
// shared_ptr<shard_query> on the shard's query ring; the shard handles it
// between loop iterations (shard_control.cc), fills the results, and sets
// `done` (release). The service thread polls `done` (acquire) with a
// deadline.
//
// A shard may answer after the deadline (descheduled, stopped by a
// debugger): it then still carries the query out, in ring order. So a query
// owns everything it carries — strings by value, the config snapshot by
// shared_ptr — and the shared_ptr to the query keeps it alive for whichever
// side lets go last; nothing in it points at the service thread's stack or
// at state that a deadline could free.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net_addr.h"
#include "datapath/broker/config.h"
#include "datapath/queue/engine.h"
#include "datapath/transport/session.h"

namespace sluice::broker {

enum class query_kind : std::uint8_t {
  list_queues,
  list_sessions,
  purge_queue,    // uri → count
  delete_queue,   // uri
  close_session,  // session_id
  set_config,     // config (reload) → count = queues that kept their old domain definition
  set_serving,    // flag: serve (true) or fence (false) this shard's partition
  set_draining,   // flag: refuse (true) or accept new sessions
};

struct queue_row {
  std::string uri;
  std::string domain;
  domain_mode mode = domain_mode::priority;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint32_t consumers = 0;
  std::uint64_t unconfirmed = 0;
  std::uint32_t producers = 0;
  queue::queue_counters ctr;
};

struct session_row {
  std::uint64_t id = 0;
  net_addr peer;
  std::uint32_t queues = 0;  // queue handles open
  std::uint32_t in_flight = 0;
  time_ns srtt_ns = 0;
  transport::session_counters ctr;
};

// How many queries may wait on one shard's ring.
inline constexpr std::size_t k_query_ring_sz = 64;

struct shard_query {
  explicit shard_query(query_kind k) : kind(k) {}

  const query_kind kind;
  std::uint32_t shard = 0;  // the shard it was handed to
  time_ns submitted_ns = 0;  // monotonic, when handed over (the shard measures its wait)
  // inputs
  std::string uri;
  std::uint64_t session_id = 0;
  std::shared_ptr<const broker_config> config;  // set_config: shared with the engine that applies it
  bool flag = false;
  // outputs (written by the shard before `done`)
  std::vector<queue_row> queues;
  std::vector<session_row> sessions;
  std::uint64_t count = 0;
  bool found = false;
  std::string error;
  std::atomic<bool> done{false};
};

}  // namespace sluice::broker
