// datapath/broker/shard_protocol.h — the queue protocol on one shard.
//
// Turns application frames from client sessions into queue-engine calls
// and engine decisions into frames (docs/protocol.md §11):
//
//   OPEN_QUEUE ──► owner shard? ──no──► REDIRECT(base_port + owner)
//                      │yes
//                      ▼
//              engine.open_queue / add_consumer ──► QUEUE_OPENED(handle)
//   PUT ───────► engine.put ──► ACK entry (batched per session, sent at the
//                                end of the receive burst)
//                  disk queue ──► pending ACK (journal seq) ──on_durable──► ACK
//   CONFIRM ───► engine.confirm
//   engine ────► push() ──► PUSH on the consumer's session
//
// Each session gets a client_ctx from a fixed pool: its queue handles and
// its ACK batch. PUSHes leave `k_push_reserve` frames of every session's
// window free so ACKs and replies always fit; a session that still cannot
// take its ACKs (it stopped reading) is closed with limit_reached rather
// than losing one.
//
// Thread: the shard's thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "datapath/broker/config.h"
#include "datapath/broker/shard_journal.h"
#include "datapath/queue/engine.h"
#include "datapath/transport/session.h"

namespace sluice::broker {

struct shard_counters {
  std::uint64_t puts = 0;
  std::uint64_t acks = 0;
  std::uint64_t pushes = 0;
  std::uint64_t confirms = 0;
  std::uint64_t redirects = 0;
  std::uint64_t errors_sent = 0;     // ERROR frames
  std::uint64_t bad_frames = 0;      // bodies failing validation
  std::uint64_t sessions_opened = 0;
  std::uint64_t sessions_closed = 0;
};

class shard_protocol final : public transport::session_handler, public queue::push_sink, public durable_acks {
 public:
  static constexpr std::uint32_t k_push_reserve = 64;
  static constexpr std::size_t k_ack_ring_initial = 64;  // ACK entries a session slot starts with
  static constexpr std::uint32_t k_handles_max = 1024;  // per session

  shard_protocol(const broker_config& cfg, std::uint32_t shard_idx, const queue::engine_limits& limits);

  // session_handler
  void on_open(transport::session& s) noexcept override;
  void on_frame(transport::session& s, wire::frame_type type, wire::bytes body) noexcept override;
  void on_writable(transport::session& s) noexcept override;
  void on_rx_burst_done() noexcept override;
  void on_close(transport::session& s, wire::status reason) noexcept override;

  // push_sink
  bool push(std::uint32_t session_tag, std::uint32_t queue_id, std::uint16_t delivery_cnt, const wire::guid& id,
            wire::bytes properties, wire::bytes payload) noexcept override;

  // The shard that owns `uri` (a pure function of the URI and shard count).
  static std::uint32_t owner_of(std::string_view uri, std::uint32_t shard_cnt) noexcept;

  queue::engine& engine() noexcept { return _engine; }

  // Disk queues: PUTs on them are ACKed when the journal says their record
  // is durable. Set once, before serving; `j` outlives this object's use.
  void set_journal(shard_journal* j) noexcept { _journal = j; }
  // durable_acks (called from the journal's poll, on this thread)
  void acks_durable(std::uint64_t seq) noexcept override;
  void acks_failed(std::uint64_t last) noexcept override;
  std::size_t acks_pending() const noexcept { return _pending_cnt; }

  // Control requests (shard thread, between loop iterations).
  struct queue_census {
    std::uint32_t producers = 0;  // open handles with the write flag
  };
  // Per engine queue slot: who holds it open.
  void census(std::vector<queue_census>& per_queue) const;
  std::uint32_t queues_open(const transport::session& s) const noexcept;
  // Fencing: while false, OPEN_QUEUE and PUT are answered not_primary.
  void set_serving(bool on) noexcept { _serving = on; }
  bool serving() const noexcept { return _serving; }
  const shard_counters& counters() const noexcept { return _ctr; }

 private:
  struct handle {
    bool used = false;
    std::uint16_t flags = 0;
    queue::idx queue = queue::k_nil;
    queue::idx consumer = queue::k_nil;
  };
  struct client_ctx {
    transport::session* s = nullptr;
    std::vector<handle> handles;        // queue_id = index + 1
    std::vector<wire::ack_entry> acks;  // pending ACK entries: a ring that starts small and grows, up to
                                        // _ack_ring_max, only while the session's send window is full
    std::size_t ack_head = 0;
    std::size_t ack_cnt = 0;
    bool on_ack_list = false;
    std::uint32_t gen = 0;  // rises per session using this slot: pending ACKs name it
    std::uint32_t next_free = UINT32_MAX;
  };
  // A disk PUT waiting for its journal record to be durable.
  struct pending_ack {
    std::uint64_t seq;
    std::uint32_t ctx;
    std::uint32_t gen;
    std::uint32_t queue_id;
    std::uint32_t corr_id;
    wire::guid id;
    queue::idx queue;  // for the publish→ACK latency
    time_ns put_ns;
  };

  void on_open_queue(client_ctx& c, wire::bytes body) noexcept;
  void on_configure_queue(client_ctx& c, wire::bytes body) noexcept;
  void on_close_queue(client_ctx& c, wire::bytes body) noexcept;
  void on_put(client_ctx& c, wire::bytes body) noexcept;
  void on_confirm(client_ctx& c, wire::bytes body) noexcept;
  void release_pending(std::uint64_t last, wire::status st) noexcept;
  void queue_ack(client_ctx& c, std::uint32_t queue_id, std::uint32_t corr_id, wire::status st,
                 const wire::guid& id) noexcept;
  bool flush_acks(client_ctx& c) noexcept;
  void send_error(client_ctx& c, wire::status code, wire::error_ref ref_type, std::uint32_t ref,
                  std::string_view text) noexcept;
  void send_reply(client_ctx& c, wire::frame_type t, wire::wresult<std::size_t> body_sz) noexcept;
  handle* find_handle(client_ctx& c, std::uint32_t queue_id) noexcept;
  void release_handle(handle& h) noexcept;

  const broker_config& _cfg;
  std::uint32_t _shard_idx;
  bool _serving;  // false while fenced (membership gives the partition elsewhere)
  queue::engine _engine;
  std::vector<client_ctx> _ctxs;
  std::uint32_t _free_ctx = UINT32_MAX;
  std::vector<std::uint32_t> _ack_list;   // ctxs with pending ACKs
  std::vector<std::byte> _scratch;        // one encoded frame body
  std::size_t _ack_ring_max;  // 2 × recv_window: a full window of PUTs and more
  shard_counters _ctr;
  shard_journal* _journal = nullptr;
  std::vector<pending_ack> _pending;  // ring, in seq order (storage.unacked_puts_max)
  std::size_t _pending_head = 0;
  std::size_t _pending_cnt = 0;
};

}  // namespace sluice::broker
