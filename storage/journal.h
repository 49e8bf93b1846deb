// storage/journal.h — the per-shard journal writer: group commit, durability, retention.
//
// The shard loop appends records as it handles PUTs and CONFIRMs, calls
// commit() once per loop iteration, and poll() to reap completions:
//
//   append_*() ──► filling batch ──commit()──► sealed ──► one write+datasync
//                  (aligned buffer)                        in flight at a time
//                                                               │ poll()
//   listener.on_durable(seq)  ◄── every record up to seq is on disk ──┘
//   listener.on_failed(first, last, err) ◄── the write failed: no ACK for them
//
// Group commit: while one write is in flight, appends keep filling the next
// batch, so the next write carries everything that arrived meanwhile. A
// batch is at most `batch_sz` bytes; one that reaches `commit_sz_budget` is
// issued without waiting for commit(). Each write starts on a block
// boundary of the segment, so a torn write can only damage its own commit.
//
// Segments are preallocated one ahead; a batch that would cross the end of a
// segment goes to the next one. Failure is final: after a failed write (or
// failed segment creation) every pending record is reported failed and every
// append returns journal_failed. The broker restarts the shard, and recovery
// decides what is on disk. That is the only safe answer to a failed fdatasync.
//
// Retention: journal_state counts what pins each segment. The oldest segment
// is removed once nothing pins it and the record that unpinned it is
// durable. Past `segments_soft_max` segments, the oldest one's live messages
// are copied forward (compaction, compactor.h) so it can go.
//
// Backpressure never drops what only changes what is live: confirm,
// delete, delivered, purge and queue-deleted records that find every batch
// busy wait, in call order, in a fixed ring (`deferred_max`) and go into the
// first batch that frees (poll()). While any wait, appends that add data
// (message, queue created, epoch) answer backpressure, so the journal's
// record order is always the order of the calls. Only a full ring refuses.
//
// Thread: the owning shard thread only. No allocation after start(), except
// queue creation (names) — callers allow that as the queue engine does.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/latency_buckets.h"
#include "storage/aligned_buffer.h"
#include "storage/journal_state.h"
#include "storage/persistence.h"

namespace sluice::storage {

class compactor;

struct journal_config {
  std::uint64_t segment_sz = 64u << 20;
  std::size_t batch_sz = 1u << 20;          // one commit at most; also bounds a record
  std::size_t batch_cnt = 4;                // buffers: one in flight, the others filling
  std::size_t commit_sz_budget = 256u << 10;
  std::size_t live_messages_max = 1u << 20;
  std::uint32_t segments_soft_max = 4;      // more: compact the oldest ...
  double compact_live_max = 0.5;            // ... if at most this share of it is live
  std::size_t deferred_max = 1u << 16;      // records waiting out backpressure (about 32 B each)
};

// A record that may wait out backpressure (see above), and its arguments.
struct journal_deferred {
  record_kind kind{};
  std::uint16_t app_idx = 0;
  std::uint16_t delivery_cnt = 0;
  std::uint32_t reason = 0;
  queue_id queue;
  message_id id{};
};

class journal_listener {
 public:
  virtual ~journal_listener() = default;
  // Every record with seq <= `durable` is on disk. Called from poll(), in order.
  virtual void on_durable(seq_no durable) noexcept = 0;
  // Records first..last will never be durable (write failed, journal failed).
  virtual void on_failed(seq_no first, seq_no last, errc why) noexcept = 0;
};

struct journal_stats {
  std::uint64_t records = 0;
  std::uint64_t commits = 0;
  std::uint64_t commit_bytes = 0;
  std::uint64_t backpressure = 0;       // data appends (message, queue, epoch) refused, and full deferral rings
  std::uint64_t deferred = 0;           // records that waited out backpressure in the ring
  std::uint64_t deferred_stale = 0;     // waited, then no longer applied (message gone meanwhile)
  std::uint64_t segments_created = 0;
  std::uint64_t segments_removed = 0;
  std::uint64_t compacted_messages = 0;
  std::uint64_t compacted_queues = 0;
  // Submit → completion of each commit's write + sync (the fsync latency).
  latency_buckets commit_latency;
};

class journal {
 public:
  // `state` comes from recovery (or is empty for a new journal) and is owned
  // by the journal from now on. Allocates every buffer.
  journal(persistence& p, const journal_config& cfg, journal_listener& listener, journal_state state);
  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  // Continues after the last segment recovery found (whose next free commit
  // offset is `resume_off`, a block multiple), or creates segment 1 when
  // `last_segment` is 0. `spare` (recovery_report::spare_segment): the
  // segment after it already exists, created and zero-filled by the previous
  // run; 0: create it. Errors: busy, io_error.
  status<errc> start(segment_id last_segment, std::uint64_t resume_off, segment_id spare = segment_id{0});

  // ---- appends: return the record's seq, durable once on_durable reaches it ----
  // Errors (all): journal_failed, backpressure (poll() and retry), record_too_large.
  // Deferrable kinds (queue deleted, confirm, delete, purge, delivered)
  // answer backpressure only when the deferral ring is full; a deferred
  // record returns seq 0 and gets its seq when it is placed.
  // Creating an existing queue: duplicate. app_cnt 1..64.
  result<seq_no, errc> append_queue_created(queue_id q, std::uint16_t app_cnt, bytes name, bytes config);
  result<seq_no, errc> append_queue_deleted(queue_id q);  // unknown_queue
  // unknown_queue, duplicate, index_full (live_messages_max).
  result<seq_no, errc> append_message(queue_id q, const message_id& id, bytes properties, bytes payload);
  // Confirms for one app; the message goes when every app has confirmed. unknown_message.
  result<seq_no, errc> append_confirm(queue_id q, const message_id& id, std::uint16_t app_idx);
  result<seq_no, errc> append_delete(queue_id q, const message_id& id, std::uint32_t reason);
  result<seq_no, errc> append_purge(queue_id q, std::uint16_t app_idx);  // k_all_apps: all
  // Message pushed for the delivery_cnt-th time (>= 1; the broker journals
  // redeliveries only). Rides later commits; unknown_message if not live.
  result<seq_no, errc> append_delivered(queue_id q, const message_id& id, std::uint16_t app_idx,
                                        std::uint16_t delivery_cnt);
  // Raises the epoch (new_epoch > epoch()). Errors: epoch_out_of_order.
  result<seq_no, errc> append_epoch(epoch_no new_epoch);

  // Once per shard-loop iteration: what was appended goes out in the next write.
  void commit() noexcept;
  // Reaps completions, calls the listener, advances retention and compaction.
  // Never blocks. Returns the completions handled.
  std::size_t poll() noexcept;

  // ---- retention ----
  // Starts copying the oldest segment's live data forward, if it is pinned
  // and sealed, however much of it is live. poll() does it itself past
  // segments_soft_max when at most compact_live_max of the oldest segment is
  // live (copying a mostly-live segment would only churn); callable any time
  // (tests, an admin command). False if there is nothing to compact.
  bool compact_oldest() noexcept;

  seq_no last_seq() const noexcept { return _state.last_seq(); }
  seq_no durable_seq() const noexcept { return _durable_seq; }
  epoch_no epoch() const noexcept { return _state.epoch(); }
  bool failed() const noexcept { return _failed; }
  // The segment the next commit goes to exists (created, or found at
  // start): commits can be written without waiting for a preallocation.
  bool writable() const noexcept { return _started && _place_seg <= _ready_max; }
  bool idle() const noexcept;  // nothing appended that is not yet durable, no I/O in flight
  std::size_t deferred_cnt() const noexcept { return _def_cnt; }
  // Records wait for a commit() that no completion will trigger (no write is
  // in flight): the caller must keep calling commit()/poll() rather than
  // sleep. Everything else the journal waits for ends in a completion.
  bool commit_pending() const noexcept {
    return !_write_in_flight && !_failed && _fill != SIZE_MAX && _batches[_fill].record_cnt > 0;
  }
  int completion_fd() const noexcept { return _p.completion_fd(); }
  // When the write in flight was submitted; 0 if none is.
  time_ns write_submitted_ns() const noexcept {
    return _write_in_flight ? _batches[_head].submitted_ns : 0;
  }
  const journal_state& state() const noexcept { return _state; }
  const journal_stats& stats() const noexcept { return _stats; }
  std::size_t segment_cnt() const noexcept { return _state.segments().size(); }

 private:
  friend class compactor;
  enum class batch_phase : std::uint8_t { free, filling, sealed, in_flight };
  struct batch {
    aligned_buffer buf;
    batch_phase phase = batch_phase::free;
    std::size_t used = 0;  // bytes, header block included
    segment_id segment;
    std::uint64_t off = 0;  // file offset of buf[0]
    seq_no first;
    seq_no last;
    std::uint32_t record_cnt = 0;
    time_ns submitted_ns = 0;
  };

  result<seq_no, errc> append(record& r) noexcept;
  // append() for records that add data: refused while records are deferred.
  result<seq_no, errc> append_data(record& r) noexcept;
  // Validates `d` against the state and builds its record.
  status<errc> build(const journal_deferred& d, record& r) noexcept;
  result<seq_no, errc> append_deferrable(const journal_deferred& d) noexcept;
  void place_deferred() noexcept;
  batch* start_batch() noexcept;
  void seal(batch& b) noexcept;
  void try_issue() noexcept;
  void request_segment(segment_id s) noexcept;
  void on_write_done(std::size_t idx, std::int32_t res) noexcept;
  void fail(errc why) noexcept;
  void retire_segments() noexcept;

  persistence& _p;
  journal_config _cfg;
  journal_listener& _listener;
  journal_state _state;
  std::vector<batch> _batches;  // a ring, oldest at _head
  std::size_t _head = 0;
  std::size_t _fill = SIZE_MAX;  // index of the filling batch
  bool _commit_wanted = false;
  bool _write_in_flight = false;
  bool _failed = false;
  bool _started = false;
  segment_id _place_seg;          // where the next batch goes
  std::uint64_t _place_off = 0;
  segment_id _ready_max;          // highest created segment
  segment_id _requested_max;      // highest segment asked for
  bool _remove_in_flight = false;
  seq_no _durable_seq;
  std::unique_ptr<compactor> _compactor;
  std::vector<journal_deferred> _deferred;  // a ring, oldest at _def_head
  std::size_t _def_head = 0;
  std::size_t _def_cnt = 0;
  journal_stats _stats;
};

}  // namespace sluice::storage
