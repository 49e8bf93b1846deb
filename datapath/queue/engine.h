// datapath/queue/engine.h — the queue engine of one shard.
//
// Holds the shard's queues and their messages and decides who gets what
// (DESIGN.md §4, docs/protocol.md §11):
//
//   PUT ─► message (body in message_store) ─► one delivery per subscription
//                                             (priority: 1; fanout: 1 per app id)
//   subscription: ready list (oldest first) ──dispatch──► consumer inflight list
//                 consumers: highest priority with credit, round-robin
//   CONFIRM ─► delivery freed ─► message freed when its last delivery is
//   consumer gone ─► its inflight deliveries back to ready (delivery_cnt rises)
//   broadcast: pushed to every consumer at PUT time, never stored
//
// Every pool (queues, consumers, deliveries, message slots, bodies) is sized
// from the config at construction; PUT, PUSH and CONFIRM allocate nothing.
// Opening a queue may allocate (its URI); callers allow that. A message is
// addressed by its GUID: (node, partition = shard, per-shard sequence).
//
// Thread: the owning shard's thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/latency_buckets.h"
#include "common/flat_map.h"
#include "common/pool_memory.h"
#include "datapath/broker/config.h"
#include "datapath/queue/message_store.h"
#include "datapath/wire/codec.h"

namespace sluice::queue {

using idx = std::uint32_t;
inline constexpr idx k_nil = UINT32_MAX;

// Where the engine sends PUSHes: the shard, which owns the sessions.
class push_sink {
 public:
  virtual ~push_sink() = default;
  // Sends PUSH to the consumer's session. False when the session cannot take
  // it now (window full); the engine then holds the consumer until
  // consumer_writable().
  virtual bool push(std::uint32_t session_tag, std::uint32_t queue_id, std::uint16_t delivery_cnt,
                    const wire::guid& id, wire::bytes properties, wire::bytes payload) noexcept = 0;
};

// Where the engine records what happens to `disk` queues: the shard's
// journal (datapath/broker/shard_journal.h). Called only for queues of disk
// domains, always before the engine's own state changes, so the journal's
// order is the engine's order. `durable_id` is the hook's name for a queue.
class durability_hook {
 public:
  virtual ~durability_hook() = default;
  // A disk queue is created; sets `durable_id`. A non-ok status refuses it.
  virtual wire::status queue_created(std::string_view uri, std::uint16_t app_cnt,
                                     std::uint32_t& durable_id) noexcept = 0;
  // A PUT. A non-ok status refuses it (nothing is stored).
  virtual wire::status message(std::uint32_t durable_id, const wire::guid& id, wire::bytes properties,
                               wire::bytes payload) noexcept = 0;
  // App `app_idx` is done with the message: confirmed, expired or purged.
  virtual void done(std::uint32_t durable_id, const wire::guid& id, std::uint16_t app_idx) noexcept = 0;
  // The message was pushed to app `app_idx` for the delivery_cnt-th time
  // (called for redeliveries only, delivery_cnt >= 2), so the count
  // survives a restart. Best effort: never refuses.
  virtual void delivered(std::uint32_t durable_id, const wire::guid& id, std::uint16_t app_idx,
                         std::uint16_t delivery_cnt) noexcept = 0;
  // Every stored message of the queue is gone (every app).
  virtual void purged(std::uint32_t durable_id) noexcept = 0;
  virtual void queue_deleted(std::uint32_t durable_id) noexcept = 0;
};

struct engine_limits {
  std::uint16_t node_id = 1;
  std::uint32_t partition = 0;  // shard index
  std::uint32_t max_queues = 1024;
  std::uint32_t max_consumers = 4096;
  std::uint32_t max_message_slots = 1u << 20;
  std::size_t message_memory_bytes = 256u << 20;
  int numa_node = -1;
};

struct queue_counters {
  std::uint64_t puts = 0;
  std::uint64_t rejected_full = 0;
  std::uint64_t rejected_too_large = 0;
  std::uint64_t pushes = 0;
  std::uint64_t redeliveries = 0;
  std::uint64_t confirms = 0;
  std::uint64_t confirms_unknown = 0;
  std::uint64_t expired = 0;
  std::uint64_t purged = 0;
  // Broker-side latencies: PUT received → ACK sent (publish→ACK; for disk
  // queues this includes the journal write), and PUT received → CONFIRM
  // received (end to end through the queue, per app id for fan-out).
  latency_buckets ack_latency;
  latency_buckets e2e_latency;
};

struct consumer_args {
  std::uint32_t session_tag;  // the shard's id for the session
  std::uint32_t queue_id;     // the session's handle for the queue
  std::string_view app_id;
  std::int32_t priority;
  std::uint32_t max_msgs;
  std::uint64_t max_bytes;
};

struct put_result {
  wire::status status;
  wire::guid id;
};

class engine {
 public:
  engine(const broker::broker_config& cfg, const engine_limits& limits, push_sink& sink);

  // The queue for `uri` ("domain/name"), created on first use. Errors:
  // invalid_argument (syntax), unknown_domain, limit_reached.
  result<idx, wire::status> open_queue(std::string_view uri) noexcept;
  // Adds a reader, not yet served: call resume() once the client knows its
  // handle. Errors: invalid_argument (app id rules), limit_reached.
  result<idx, wire::status> add_consumer(idx queue, const consumer_args& a) noexcept;
  // Removes a reader; its unconfirmed messages go back to the queue.
  void remove_consumer(idx consumer) noexcept;
  void configure_consumer(idx consumer, std::int32_t priority, std::uint32_t max_msgs,
                          std::uint64_t max_bytes) noexcept;
  // Serve the consumer (again): after add_consumer(), and when its session
  // can take PUSHes again.
  void resume(idx consumer) noexcept;

  put_result put(idx queue, wire::bytes properties, wire::bytes payload, time_ns now) noexcept;
  // Frees the consumer's delivery of `id`; false if it holds no such message.
  bool confirm(idx consumer, const wire::guid& id) noexcept;
  // Advances the engine's clock (CONFIRMs are timed with it).
  void tick(time_ns now) noexcept { _now = now; }
  // Records a PUT's publish→ACK latency (the shard, when it sends the ACK).
  void note_ack_latency(idx queue, time_ns ns) noexcept { _queues[queue].ctr.ack_latency.record(ns > 0 ? static_cast<std::uint64_t>(ns) : 0); }
  // Discards ready messages past their domain's TTL; also the engine's clock.
  void expire(time_ns now) noexcept;

  // ---- disk queues ----
  // Journals disk queues through `hook` from now on (nullptr: disk domains
  // refuse queues). Call after restoring (below), before serving.
  void set_durability(durability_hook* hook) noexcept { _hook = hook; }
  bool durable(idx queue) const noexcept { return _queues[queue].durable_id != 0; }
  // Recovery (before the shard loop): recreates a disk queue under its
  // journal id. Errors: as open_queue.
  result<idx, wire::status> restore_queue(std::string_view uri, std::uint32_t durable_id) noexcept;
  // Recovery: puts back a stored message with its GUID, ready for every app
  // not in `done_mask`, with the given delivery count (the next PUSH carries
  // delivery_cnt + 1). Errors: queue_full (pools or memory too small).
  // O(1): messages are appended in the order given (journal order);
  // finish_restore() puts each ready list in GUID order.
  wire::status restore_message(idx queue, const wire::guid& id, wire::bytes properties, wire::bytes payload,
                               std::uint64_t done_mask, std::uint16_t delivery_cnt) noexcept;
  // Recovery, after the last restore_message: sorts the ready lists that
  // got a message out of GUID order (compacted copies, journals written
  // across restarts), O(n log n) each. Allocates (start-up only).
  void finish_restore();
  // Recovery, before restoring about `bytes` of message bodies: faults the
  // memory they will take in at once (message_store::prefault).
  void prepare_restore(std::size_t bytes) noexcept { _store.prefault(bytes); }
  // Recovery: the memory restore_message(id) will touch first (its GUID
  // index slot), for the caller to prefetch a few messages ahead: the index
  // is hundreds of MiB, a cache miss a message otherwise.
  const void* restore_slot(const wire::guid& id) const noexcept { return _by_guid.probe_start(key(id.seq, 0)); }
  // GUIDs of new messages start at `seq` or later (never reuse a recovered one).
  void raise_next_seq(std::uint64_t seq) noexcept { _next_seq = std::max(_next_seq, seq); }
  std::uint16_t app_cnt(idx queue) const noexcept { return static_cast<std::uint16_t>(_queues[queue].subs.size()); }

  // Control requests (shard thread, between loop iterations; may allocate).
  std::optional<idx> find_queue(std::string_view uri) const noexcept;
  // Discards every ready (undelivered) message; returns how many.
  std::uint64_t purge(idx queue) noexcept;
  // Purges and forgets the queue; false (nothing done) while it has consumers.
  bool remove_queue(idx queue) noexcept;
  // Switches to a new config snapshot (reload): queues follow their domain's
  // new definition when its mode and app ids are unchanged; returns how many
  // queues kept the old one. The engine shares ownership of `cfg` and of
  // every earlier snapshot a queue still uses, and lets go of the others
  // here (they may be freed on this thread: control path only). The config
  // given at construction must outlive the engine.
  std::size_t set_config(std::shared_ptr<const broker::broker_config> cfg) noexcept;
  // Queue slots to iterate with live(); deleted queues leave a free slot.
  std::size_t queue_slots() const noexcept { return _queues.size(); }
  bool live(idx queue) const noexcept { return _queues[queue].domain != nullptr; }

  // Largest properties + payload a queue stores.
  std::size_t max_body_sz() const noexcept;

  struct queue_info {
    std::string_view uri;
    std::string_view domain;
    broker::domain_mode mode;
    std::uint64_t messages;  // stored (not yet freed)
    std::uint64_t bytes;
    std::uint32_t consumers;
    std::uint64_t unconfirmed;  // deliveries awaiting CONFIRM (per app id for fan-out)
    const queue_counters* counters;
  };
  std::size_t queue_cnt() const noexcept { return _queues.size() - _deleted_cnt; }
  queue_info info(idx queue) const noexcept;
  std::size_t memory_in_use() const noexcept { return _store.in_use_bytes(); }
  std::size_t deliveries_in_use() const noexcept { return _deliveries_used; }

 private:
  struct message {
    wire::guid id{};
    idx queue = k_nil;
    message_store::block body;
    std::uint32_t body_sz = 0;
    std::uint16_t props_sz = 0;
    std::uint16_t refs = 0;  // live deliveries
    time_ns enqueued_ns = 0;
    idx next_free = k_nil;
  };
  struct delivery {
    idx msg = k_nil;
    idx consumer = k_nil;  // k_nil while ready
    idx prev = k_nil;
    idx next = k_nil;
    std::uint16_t delivery_cnt = 0;
    std::uint8_t sub = 0;
  };
  struct list {
    idx head = k_nil;
    idx tail = k_nil;
  };
  struct consumer {
    bool live = false;
    bool blocked = false;
    std::uint8_t sub = 0;
    idx queue = k_nil;
    std::uint32_t session_tag = 0;
    std::uint32_t queue_id = 0;
    std::int32_t priority = 0;
    std::uint32_t max_msgs = 0;
    std::uint64_t max_bytes = 0;
    std::uint32_t unconf_msgs = 0;
    std::uint64_t unconf_bytes = 0;
    list inflight;
    idx next_free = k_nil;
  };
  struct subscription {
    std::string app_id;
    list ready;
    std::vector<idx> consumers;  // reserved at queue creation
    std::size_t rr = 0;          // round-robin position
    bool restored_unsorted = false;  // recovery appended out of GUID order: finish_restore() sorts
  };
  struct queue_rec {
    std::string uri;
    const broker::domain_config* domain = nullptr;
    const broker::broker_config* domain_owner = nullptr;  // the snapshot `domain` lives in
    std::vector<subscription> subs;
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
    std::uint32_t durable_id = 0;  // disk queues: the journal's queue id; 0 = memory
    queue_counters ctr;
  };

  void dispatch(idx queue, std::uint8_t sub) noexcept;
  idx pick_consumer(subscription& s, std::uint32_t body_sz) noexcept;
  bool deliver(idx d, idx c) noexcept;
  void release_delivery(idx d) noexcept;
  void journal_done(idx d) noexcept;  // a disk queue's app is done with delivery d's message
  result<idx, wire::status> create_queue(std::string_view uri) noexcept;
  void free_message(idx m) noexcept;
  void broadcast(queue_rec& q, const message& m, wire::bytes props, wire::bytes payload) noexcept;
  void list_push_back(list& l, idx d) noexcept;
  void list_insert_sorted(list& l, idx d) noexcept;
  void list_remove(list& l, idx d) noexcept;
  static std::uint64_t key(std::uint64_t seq, std::uint8_t sub) noexcept { return (seq << 4) | sub; }

  const broker::broker_config* _cfg;
  // Reload snapshots this engine uses: the current one and those that queues
  // which kept an old domain definition point into (see set_config).
  std::vector<std::shared_ptr<const broker::broker_config>> _snapshots;
  engine_limits _limits;
  push_sink& _sink;
  durability_hook* _hook = nullptr;
  message_store _store;
  std::vector<queue_rec> _queues;
  std::unordered_map<std::string, idx> _by_uri;
  std::vector<consumer> _consumers;
  idx _free_consumer = k_nil;
  pool_vector<message> _messages;  // sized by max_message_slots: common/pool_memory.h
  idx _free_message = k_nil;
  pool_vector<delivery> _deliveries;
  idx _free_delivery = k_nil;
  std::size_t _deliveries_used = 0;
  flat_map<idx> _by_guid;  // key(seq, sub) → delivery
  std::uint64_t _next_seq = 1;
  std::size_t _deleted_cnt = 0;
  time_ns _now = 0;  // the latest time put() or expire() was given
};

}  // namespace sluice::queue
