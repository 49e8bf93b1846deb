// datapath/broker/shard_journal.h — one shard's journal: disk domains.
//
// The bridge between a shard's queue engine and storage/'s journal
// (storage/README.md, docs/broker.md "Disk domains"):
//
//   start-up (shard thread, before its loop):
//     recover()  uring_persistence on DIR/shard-<n>/ → storage::recover
//                (torn tail truncated and logged; corrupt middle refused
//                unless storage.salvage) → replay_live into the engine
//                (queues, unconfirmed messages, fan-out app state) → journal
//   shard loop:
//     engine ──durability_hook──► append_* (queue, message, done, purge, delete)
//     tick() once per iteration: commit (group commit) + poll
//     journal listener ──► durable_acks: ACK the PUTs whose record is durable,
//                                        NACK (internal) the ones that failed
//
// Failure is final (storage/journal.h): after a failed write every disk PUT
// is refused with `internal` until the broker restarts and recovery decides
// what is on disk. Backpressure (every batch buffer busy) refuses disk PUTs
// with `queue_full`, which clients treat as "retry later"; confirms and the
// other records that only change what is live wait in the journal's
// deferral ring instead of being dropped.
//
// Thread: the owning shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "datapath/broker/config.h"
#include "datapath/queue/engine.h"
#include "storage/journal.h"
#include "storage/uring_persistence.h"

namespace sluice::broker {

// Where durability reaches the producers: shard_protocol.
class durable_acks {
 public:
  virtual ~durable_acks() = default;
  // Every journal record with seq <= `seq` is durable.
  virtual void acks_durable(std::uint64_t seq) noexcept = 0;
  // Records up to `last` will never be durable.
  virtual void acks_failed(std::uint64_t last) noexcept = 0;
};

struct journal_counters {
  std::uint64_t done_dropped = 0;  // confirms etc. not journaled (deferral ring full, journal failed)
  std::uint64_t puts_refused = 0;  // disk PUTs refused (backpressure or failed journal)
};

class shard_journal final : public queue::durability_hook, public storage::journal_listener {
 public:
  shard_journal(const broker_config& cfg, std::uint32_t shard_idx, durable_acks& acks);
  ~shard_journal() override;
  shard_journal(const shard_journal&) = delete;
  shard_journal& operator=(const shard_journal&) = delete;

  // Recovers DIR/shard-<n>/ into `e` and starts the journal. Prints the torn
  // tail (file, offset) and a one-line summary. False with `err` when the
  // broker must not start: a corrupt middle (without salvage), a journal
  // that does not fit the config (unknown domain, other app count, other
  // shard count) or the engine's pools, or an I/O error.
  bool recover(queue::engine& e, std::string& err) noexcept;

  // Once per loop iteration: commit (subject to storage.group_commit_us)
  // and reap completions. Returns the completions handled.
  std::size_t tick(time_ns now) noexcept;
  // Records wait for a commit this loop must issue: it must not sleep. I/O
  // in flight earns only a short spin (write_younger_than): its completion
  // wakes the loop through completion_fd(), and spinning longer on the
  // shard's CPU starves the kernel workers that finish the I/O (the dio
  // completion kworker is bound to that CPU; storage/README.md, the
  // 10-queue durable stall).
  bool commit_pending() const noexcept { return _journal && _journal->commit_pending(); }
  // A write has been in flight for less than `ns`: worth a short spin, as
  // a fast disk completes it sooner than a sleep and wake-up would.
  bool write_younger_than(time_ns now, time_ns ns) const noexcept {
    const time_ns t = _journal ? _journal->write_submitted_ns() : 0;
    return t != 0 && now - t < ns;
  }
  int completion_fd() const noexcept { return _journal ? _journal->completion_fd() : -1; }
  // Waits (blocking, bounded) until everything appended is durable or failed:
  // at shutdown, so the last PUTs get their ACKs.
  void drain(time_ns timeout_ns) noexcept;
  // From now on durability reaches nobody (the sessions are going away).
  void detach() noexcept { _detached = true; }

  // The seq of the last record appended (a PUT's record right after put()).
  std::uint64_t last_seq() const noexcept { return _journal->last_seq().value(); }
  bool failed() const noexcept { return _journal && _journal->failed(); }
  const journal_counters& counters() const noexcept { return _ctr; }
  const storage::journal_stats* stats() const noexcept { return _journal ? &_journal->stats() : nullptr; }
  // Segment files the journal holds now (recovered ones included).
  std::size_t segment_cnt() const noexcept { return _journal ? _journal->segment_cnt() : 0; }

  // durability_hook
  wire::status queue_created(std::string_view uri, std::uint16_t app_cnt, std::uint32_t& durable_id) noexcept override;
  wire::status message(std::uint32_t durable_id, const wire::guid& id, wire::bytes properties,
                       wire::bytes payload) noexcept override;
  void done(std::uint32_t durable_id, const wire::guid& id, std::uint16_t app_idx) noexcept override;
  void delivered(std::uint32_t durable_id, const wire::guid& id, std::uint16_t app_idx,
                 std::uint16_t delivery_cnt) noexcept override;
  void purged(std::uint32_t durable_id) noexcept override;
  void queue_deleted(std::uint32_t durable_id) noexcept override;

  // storage::journal_listener (from tick(): the journal's poll)
  void on_durable(storage::seq_no durable) noexcept override;
  void on_failed(storage::seq_no first, storage::seq_no last, storage::errc why) noexcept override;

 private:
  wire::status refused(storage::errc e) noexcept;

  const broker_config& _cfg;
  std::uint32_t _shard_idx;
  std::string _dir;
  durable_acks& _acks;
  std::unique_ptr<storage::uring_persistence> _persistence;  // outlives _journal
  std::unique_ptr<storage::journal> _journal;
  std::uint32_t _next_queue_id = 1;
  time_ns _last_commit_ns = 0;
  bool _failure_logged = false;
  bool _detached = false;
  journal_counters _ctr;
};

}  // namespace sluice::broker
