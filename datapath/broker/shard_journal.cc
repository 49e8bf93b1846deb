#include "datapath/broker/shard_journal.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "datapath/broker/shard_protocol.h"
#include "storage/recovery.h"

namespace sluice::broker {

namespace {

static_assert(sizeof(storage::message_id) == sizeof(wire::guid), "a journal message id is the GUID");

storage::message_id id_of(const wire::guid& g) noexcept {
  storage::message_id m;
  std::memcpy(m.bytes.data(), &g, sizeof g);
  return m;
}

wire::guid guid_of(const storage::message_id& m) noexcept {
  wire::guid g;
  std::memcpy(&g, m.bytes.data(), sizeof g);
  return g;
}

storage::bytes as_storage(wire::bytes b) noexcept { return {b.data(), b.size()}; }

std::uint64_t realtime_us() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// Puts every live message back into the engine, under the engine's queue
// index for its journal queue id.
class engine_rebuilder final : public storage::recovery_visitor {
 public:
  // `progress(restored)` is called about once a second.
  engine_rebuilder(queue::engine& e, const std::unordered_map<std::uint32_t, queue::idx>& queues,
                   std::function<void(std::uint64_t)> progress)
      : _e(e), _queues(queues), _progress(std::move(progress)) {}

  void on_message(const storage::recovered_message& m) override {
    if (!error.empty()) return;
    const auto it = _queues.find(m.queue.value());
    if (it == _queues.end()) {
      ++orphans;  // its queue's creation was never seen: nothing can consume it
      return;
    }
    // The largest journaled push count (redeliveries are journaled), at
    // least 1: the message may have been pushed once more before the
    // restart, so its next PUSH says "possibly seen before" (count + 1).
    const auto cnt = std::max<std::uint16_t>(1, m.delivery_cnt);
    const auto st = _e.restore_message(it->second, guid_of(m.id), {m.properties.data(), m.properties.size()},
                                       {m.payload.data(), m.payload.size()}, m.confirmed_mask, cnt);
    if (st != wire::status::ok) {
      error = std::string("the journal's live messages do not fit the engine (") + wire::status_name(st) +
              "): raise limits.max_message_slots or limits.message_memory_mb";
      return;
    }
    ++restored;
    if ((restored & 4095) == 0 && _progress) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= _next_progress) {
        _next_progress = now + std::chrono::seconds(1);
        _progress(restored);
      }
    }
  }

  void upcoming(storage::queue_id, const storage::message_id& id) noexcept override {
    __builtin_prefetch(_e.restore_slot(guid_of(id)));
  }

  std::uint64_t restored = 0;
  std::uint64_t orphans = 0;
  std::string error;

 private:
  queue::engine& _e;
  const std::unordered_map<std::uint32_t, queue::idx>& _queues;
  std::function<void(std::uint64_t)> _progress;
  std::chrono::steady_clock::time_point _next_progress = std::chrono::steady_clock::now() + std::chrono::seconds(1);
};

}  // namespace

shard_journal::shard_journal(const broker_config& cfg, std::uint32_t shard_idx, durable_acks& acks)
    : _cfg(cfg), _shard_idx(shard_idx), _dir(cfg.storage.dir + "/shard-" + std::to_string(shard_idx)), _acks(acks) {}

shard_journal::~shard_journal() {
  drain(1 * k_ns_per_s);  // never free buffers the kernel may still write from
  _journal.reset();
  _persistence.reset();
}

bool shard_journal::recover(queue::engine& e, std::string& err) noexcept {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string who = "shard " + std::to_string(_shard_idx) + " journal " + _dir;
  try {
    storage::uring_settings us;
    us.dir = _dir;
    us.sync = _cfg.storage.sync == journal_sync::fdatasync ? storage::sync_mode::linked_fdatasync
                                                            : storage::sync_mode::rwf_dsync;
    _persistence = std::make_unique<storage::uring_persistence>(us);

    storage::journal_state st(_cfg.max_message_slots);
    storage::recovery_report rep;
    // Progress for a long start-up: a line a second after the first.
    const storage::recovery_progress progress = [&](std::uint64_t records, std::uint64_t bytes) {
      std::printf("sluice-broker: %s: recovering: %llu records, %.1f MiB scanned (%.1f s)\n", who.c_str(),
                  static_cast<unsigned long long>(records), static_cast<double>(bytes) / (1u << 20),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      std::fflush(stdout);
    };
    const auto rc = storage::recover(
        *_persistence, {.salvage = _cfg.storage.salvage, .segment_sz = _cfg.storage.segment_sz}, st, rep, progress);
    const auto t_scanned = std::chrono::steady_clock::now();
    // Every finding (torn tail, salvaged ranges) is logged with file and offset.
    for (std::size_t pos = 0; pos < rep.log.size();) {
      const auto nl = rep.log.find('\n', pos);
      const auto line = rep.log.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (!line.empty()) std::fprintf(stderr, "sluice-broker: %s: %s\n", who.c_str(), line.c_str());
      pos = nl == std::string::npos ? rep.log.size() : nl + 1;
    }
    if (!rc) {
      err = who + ": recovery failed (" + storage::to_string(rc.error()) + ")";
      if (rc.error() == storage::errc::corrupt_middle) {
        err += ": a record in the middle of the journal is corrupt (see the lines above for file and offset). "
               "The broker refuses to start so nothing acknowledged is lost silently. Copy the directory aside, "
               "inspect it with `sluicectl journal verify " + _dir +
               "`, and restart with [storage] salvage = true to drop the corrupt records";
      }
      return false;
    }

    // Queues first: they must fit the config they are about to be served under.
    std::unordered_map<std::uint32_t, queue::idx> by_id;
    for (const auto& [qid, q] : st.queues()) {
      _next_queue_id = std::max(_next_queue_id, qid + 1);
      if (!q.created) continue;
      const auto slash = q.name.find('/');
      const domain_config* d = _cfg.find_domain(std::string_view(q.name).substr(0, slash == std::string::npos ? 0 : slash));
      if (d == nullptr || d->storage != storage_kind::disk) {
        err = who + ": queue " + q.name + " is in the journal but the config has no disk domain \"" +
              q.name.substr(0, slash) + "\"; restore the domain, or move the journal directory away";
        return false;
      }
      if (shard_protocol::owner_of(q.name, _cfg.shard_cnt) != _shard_idx) {
        err = who + ": queue " + q.name + " belongs to another shard under shards.count = " +
              std::to_string(_cfg.shard_cnt) + "; start with the shard count the journal was written with";
        return false;
      }
      const auto apps = static_cast<std::uint16_t>(d->mode == domain_mode::fanout ? d->app_ids.size() : 1);
      if (apps != q.app_cnt) {
        err = who + ": queue " + q.name + " was journaled with " + std::to_string(q.app_cnt) +
              " app id(s), domain \"" + d->name + "\" now has " + std::to_string(apps) +
              "; restore its app_ids, or move the journal directory away";
        return false;
      }
      const auto qi = e.restore_queue(q.name, qid);
      if (!qi) {
        err = who + ": cannot restore queue " + q.name + " (" + wire::status_name(qi.error()) +
              "): raise limits.max_queues";
        return false;
      }
      by_id.emplace(qid, *qi);
    }
    const auto t_queues = std::chrono::steady_clock::now();
    {
      // Bodies land in power-of-two blocks: up to twice their size.
      std::uint64_t body_bytes = 0;
      for (const auto& [qid, q] : st.queues()) body_bytes += q.live_bytes;
      e.prepare_restore(static_cast<std::size_t>(2 * body_bytes + 64 * st.messages().size()));
    }
    engine_rebuilder rb(e, by_id, [&](std::uint64_t done) {
      std::printf("sluice-broker: %s: restoring live messages: %llu of %llu (%.1f s)\n", who.c_str(),
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(st.messages().size()),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      std::fflush(stdout);
    });
    if (const auto rs = storage::replay_live(*_persistence, st, rb); !rs) {
      err = who + ": reading live messages back failed (" + storage::to_string(rs.error()) + ")";
      return false;
    }
    if (!rb.error.empty()) {
      err = who + ": " + rb.error;
      return false;
    }
    e.finish_restore();
    const auto t_replayed = std::chrono::steady_clock::now();
    // New GUIDs must differ from every earlier one, including confirmed
    // messages no longer in the journal: start from the clock (µs) when it
    // is ahead of what was recovered.
    e.raise_next_seq(realtime_us());

    const std::uint64_t live_bytes = [&] {
      std::uint64_t b = 0;
      for (const auto& [qid, q] : st.queues()) b += q.live_bytes;
      return b;
    }();
    const storage::segment_id last = rep.last_segment;
    const std::uint64_t resume = rep.resume_off;
    const storage::segment_id spare = rep.spare_segment;
    const std::uint64_t queue_cnt = by_id.size();

    storage::journal_config jc;
    jc.segment_sz = _cfg.storage.segment_sz;
    jc.batch_sz = std::max<std::size_t>(1u << 20, storage::align_up(_cfg.session.max_message_sz + 2 * storage::k_block_sz,
                                                                     storage::k_block_sz));
    jc.batch_cnt = std::max<std::size_t>(4, _cfg.storage.buffer_sz / jc.batch_sz);
    jc.commit_sz_budget = _cfg.storage.group_commit_sz;
    jc.live_messages_max = _cfg.max_message_slots;
    jc.segments_soft_max = _cfg.storage.compact_after_segments;
    jc.compact_live_max = _cfg.storage.compact_live_pct / 100.0;
    _journal = std::make_unique<storage::journal>(*_persistence, jc, *this, std::move(st));
    if (const auto s = _journal->start(last, resume, spare); !s) {
      err = who + ": cannot start the journal (" + storage::to_string(s.error()) + ")";
      return false;
    }
    // The segment the first commits go to is created and zero-filled now,
    // when it is a new one: the first PUTs must not wait behind
    // preallocating it. The one after it is created in the background
    // (the shard loop reaps it): waiting for it too cost seconds of
    // start-up on a busy disk.
    while (!_journal->writable() && !_journal->failed()) {
      if (_journal->poll() == 0) {
        timespec ts{0, 200'000};
        ::nanosleep(&ts, nullptr);
      }
    }
    if (_journal->failed()) {
      err = who + ": cannot create the next journal segment (see the line above)";
      return false;
    }
    const auto t_end = std::chrono::steady_clock::now();
    const auto ms_of = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    const double ms = ms_of(t0, t_end);
    std::printf("sluice-broker: %s: recovered %llu records in %u segment(s) (%llu bytes), %llu queue(s), "
                "%llu live message(s) (%llu bytes)%s%s in %.1f ms (scan %.1f, queues %.1f, messages %.1f, "
                "segments %.1f)\n",
                who.c_str(), static_cast<unsigned long long>(rep.record_cnt), rep.segment_cnt,
                static_cast<unsigned long long>(rep.bytes_scanned), static_cast<unsigned long long>(queue_cnt),
                static_cast<unsigned long long>(rb.restored), static_cast<unsigned long long>(live_bytes),
                rep.torn_tail ? ", torn tail truncated" : "", rep.corrupt.empty() ? "" : ", CORRUPT RECORDS SALVAGED",
                ms, ms_of(t0, t_scanned), ms_of(t_scanned, t_queues), ms_of(t_queues, t_replayed),
                ms_of(t_replayed, t_end));
    std::fflush(stdout);
    return true;
  } catch (const std::exception& ex) {
    err = who + ": " + ex.what();
    return false;
  }
}

std::size_t shard_journal::tick(time_ns now) noexcept {
  if (_cfg.storage.group_commit_ns == 0 || now - _last_commit_ns >= _cfg.storage.group_commit_ns) {
    _journal->commit();
    _last_commit_ns = now;
  }
  return _journal->poll();
}

void shard_journal::drain(time_ns timeout_ns) noexcept {
  if (!_journal) return;
  const time_ns deadline = monotonic_now_ns() + timeout_ns;
  while (!_journal->idle() && !_journal->failed() && monotonic_now_ns() < deadline) {
    _journal->commit();
    if (_journal->poll() == 0) {
      timespec ts{0, 50'000};
      ::nanosleep(&ts, nullptr);
    }
  }
  // Whatever is still in flight must complete before its buffer goes.
  while (_persistence && _persistence->in_flight() > 0 && monotonic_now_ns() < deadline + timeout_ns) {
    _journal->poll();
  }
}

wire::status shard_journal::refused(storage::errc e) noexcept {
  switch (e) {
    case storage::errc::backpressure:
    case storage::errc::index_full:
      return wire::status::queue_full;  // retry later: poll() frees buffers, confirms free the index
    case storage::errc::record_too_large: return wire::status::too_large;
    default: return wire::status::internal;  // journal_failed, io_error: refused until restart
  }
}

wire::status shard_journal::queue_created(std::string_view uri, std::uint16_t app_cnt,
                                          std::uint32_t& durable_id) noexcept {
  // The config bytes name the domain's app ids, for `sluicectl journal dump`.
  const domain_config* d = _cfg.find_domain(uri.substr(0, uri.find('/')));
  std::string apps;
  for (const auto& a : d->app_ids) apps += (apps.empty() ? "" : ",") + a;
  const auto qid = storage::queue_id{_next_queue_id};
  const auto r = _journal->append_queue_created(
      qid, app_cnt, {reinterpret_cast<const std::byte*>(uri.data()), uri.size()},
      {reinterpret_cast<const std::byte*>(apps.data()), apps.size()});
  if (!r) return refused(r.error());
  durable_id = _next_queue_id++;
  return wire::status::ok;
}

wire::status shard_journal::message(std::uint32_t durable_id, const wire::guid& id, wire::bytes properties,
                                    wire::bytes payload) noexcept {
  const auto r = _journal->append_message(storage::queue_id{durable_id}, id_of(id), as_storage(properties),
                                          as_storage(payload));
  if (r) return wire::status::ok;
  ++_ctr.puts_refused;
  return refused(r.error());
}

void shard_journal::done(std::uint32_t durable_id, const wire::guid& id, std::uint16_t app_idx) noexcept {
  // Backpressure defers it (storage/journal.h); it is lost only to a full
  // deferral ring or a failed journal, which means a redelivery after a
  // restart (at-least-once). The CONFIRM itself is never refused.
  if (!_journal->append_confirm(storage::queue_id{durable_id}, id_of(id), app_idx)) ++_ctr.done_dropped;
}

void shard_journal::delivered(std::uint32_t durable_id, const wire::guid& id, std::uint16_t app_idx,
                              std::uint16_t delivery_cnt) noexcept {
  // Lost only to a full deferral ring or a failed journal: the count then restarts
  // lower after a crash, as before this record existed.
  if (!_journal->append_delivered(storage::queue_id{durable_id}, id_of(id), app_idx, delivery_cnt)) {
    ++_ctr.done_dropped;
  }
}

void shard_journal::purged(std::uint32_t durable_id) noexcept {
  if (!_journal->append_purge(storage::queue_id{durable_id}, storage::k_all_apps)) ++_ctr.done_dropped;
}

void shard_journal::queue_deleted(std::uint32_t durable_id) noexcept {
  if (!_journal->append_queue_deleted(storage::queue_id{durable_id})) ++_ctr.done_dropped;
}

void shard_journal::on_durable(storage::seq_no durable) noexcept {
  if (!_detached) _acks.acks_durable(durable.value());
}

void shard_journal::on_failed(storage::seq_no first, storage::seq_no last, storage::errc why) noexcept {
  if (!_failure_logged) {
    _failure_logged = true;
    std::fprintf(stderr,
                 "sluice-broker: shard %u journal %s: write failed (%s) at records %llu-%llu: those PUTs are "
                 "NACKed (internal) and disk PUTs on this shard are refused until the broker restarts\n",
                 _shard_idx, _dir.c_str(), storage::to_string(why), static_cast<unsigned long long>(first.value()),
                 static_cast<unsigned long long>(last.value()));
  }
  if (!_detached) _acks.acks_failed(last.value());
}

}  // namespace sluice::broker
