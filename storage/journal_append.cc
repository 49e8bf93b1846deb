// storage/journal_append.cc — the typed append_* calls of journal: validate
// against the state, build the record, hand it to journal::append().
#include "storage/journal.h"

namespace sluice::storage {

result<seq_no, errc> journal::append_queue_created(queue_id q, std::uint16_t app_cnt, bytes name, bytes config) {
  if (app_cnt == 0 || app_cnt > k_app_cnt_max || name.size() > UINT16_MAX) return unexpected{errc::bad_field};
  const queue_state* qs = _state.queue(q);
  if (qs != nullptr && qs->created) return unexpected{errc::duplicate};
  record r;
  r.kind = record_kind::queue_created;
  r.body.queue_created = queue_created_body{q.value(), app_cnt, 0, 0, 0};
  r.part1 = name;
  r.part2 = config;
  return append_data(r);
}

result<seq_no, errc> journal::append_message(queue_id q, const message_id& id, bytes properties, bytes payload) {
  const queue_state* qs = _state.queue(q);
  if (qs == nullptr || !qs->created) return unexpected{errc::unknown_queue};
  if (_state.find_message(q, id) != nullptr) return unexpected{errc::duplicate};
  if (_state.messages().size() >= _state.messages().capacity()) return unexpected{errc::index_full};
  record r;
  r.kind = record_kind::message;
  r.body.message = message_body{};
  r.body.message.queue = q.value();
  r.body.message.app_cnt = qs->app_cnt;
  set_id(r.body.message.id, id);
  r.part1 = properties;
  r.part2 = payload;
  return append_data(r);
}

// Records that add data (message, queue created, epoch) may not overtake
// deferred ones; their refusals are what the backpressure stat counts.
result<seq_no, errc> journal::append_data(record& r) noexcept {
  const auto s = _def_cnt > 0 ? result<seq_no, errc>{unexpected{errc::backpressure}} : append(r);
  if (!s.ok() && s.error() == errc::backpressure) ++_stats.backpressure;
  return s;
}

namespace {

journal_deferred make_deferred(record_kind kind, queue_id q) noexcept {
  journal_deferred d;
  d.kind = kind;
  d.queue = q;
  return d;
}

}  // namespace

result<seq_no, errc> journal::append_queue_deleted(queue_id q) {
  return append_deferrable(make_deferred(record_kind::queue_deleted, q));
}

result<seq_no, errc> journal::append_confirm(queue_id q, const message_id& id, std::uint16_t app_idx) {
  auto d = make_deferred(record_kind::confirm, q);
  d.id = id;
  d.app_idx = app_idx;
  return append_deferrable(d);
}

result<seq_no, errc> journal::append_delete(queue_id q, const message_id& id, std::uint32_t reason) {
  auto d = make_deferred(record_kind::del, q);
  d.id = id;
  d.reason = reason;
  return append_deferrable(d);
}

result<seq_no, errc> journal::append_purge(queue_id q, std::uint16_t app_idx) {
  auto d = make_deferred(record_kind::purge, q);
  d.app_idx = app_idx;
  return append_deferrable(d);
}

result<seq_no, errc> journal::append_delivered(queue_id q, const message_id& id, std::uint16_t app_idx,
                                               std::uint16_t delivery_cnt) {
  auto d = make_deferred(record_kind::delivered, q);
  d.id = id;
  d.app_idx = app_idx;
  d.delivery_cnt = delivery_cnt;
  return append_deferrable(d);
}

// The state decides validity when the record is built: at the call, and
// again when a deferred one is placed (the state may have moved on).
status<errc> journal::build(const journal_deferred& d, record& r) noexcept {
  r = record{};
  r.kind = d.kind;
  switch (d.kind) {
    case record_kind::queue_deleted:
      if (_state.queue(d.queue) == nullptr) return unexpected{errc::unknown_queue};
      r.body.queue_deleted = queue_deleted_body{d.queue.value(), 0};
      return {};
    case record_kind::purge: {
      const queue_state* qs = _state.queue(d.queue);
      if (qs == nullptr) return unexpected{errc::unknown_queue};
      if (d.app_idx != k_all_apps && d.app_idx >= qs->app_cnt) return unexpected{errc::bad_field};
      r.body.purge = purge_body{d.queue.value(), d.app_idx, 0};
      return {};
    }
    default: break;
  }
  const live_message* m = _state.find_message(d.queue, d.id);
  if (m == nullptr) return unexpected{errc::unknown_message};
  switch (d.kind) {
    case record_kind::confirm:
      if (d.app_idx >= m->app_cnt) return unexpected{errc::bad_field};
      if ((m->confirmed_mask >> d.app_idx & 1u) != 0) return unexpected{errc::duplicate};
      r.body.confirm = confirm_body{};
      r.body.confirm.queue = d.queue.value();
      r.body.confirm.app_idx = d.app_idx;
      r.body.confirm.confirmed_mask = m->confirmed_mask | 1ULL << d.app_idx;
      set_id(r.body.confirm.id, d.id);
      return {};
    case record_kind::del:
      r.body.del = delete_body{d.queue.value(), d.reason, {}};
      set_id(r.body.del.id, d.id);
      return {};
    case record_kind::delivered:
      if (d.app_idx >= m->app_cnt || d.delivery_cnt == 0) return unexpected{errc::bad_field};
      r.body.delivered = delivered_body{d.queue.value(), d.app_idx, d.delivery_cnt, {}};
      set_id(r.body.delivered.id, d.id);
      return {};
    default: SLUICE_ASSERT(false, "not a deferrable record kind");
  }
  return unexpected{errc::bad_field};
}

result<seq_no, errc> journal::append_deferrable(const journal_deferred& d) noexcept {
  record r;
  if (const auto st = build(d, r); !st) return unexpected{st.error()};
  if (_def_cnt == 0) {
    const auto s = append(r);
    if (s.ok() || s.error() != errc::backpressure) return s;  // else: not refused, it waits
  } else if (_failed) {
    return unexpected{errc::journal_failed};
  }
  if (_def_cnt == _deferred.size()) {
    ++_stats.backpressure;
    return unexpected{errc::backpressure};
  }
  _deferred[(_def_head + _def_cnt) % _deferred.size()] = d;
  ++_def_cnt;
  ++_stats.deferred;
  return seq_no{};
}

// From poll(), once batches may have freed: the waiting records go first,
// in order; each is validated again against the state it now meets.
void journal::place_deferred() noexcept {
  while (_def_cnt > 0 && !_failed) {
    record r;
    if (build(_deferred[_def_head], r).ok()) {
      if (!append(r).ok()) return;  // still no room: the next poll
    } else {
      ++_stats.deferred_stale;
    }
    _def_head = (_def_head + 1) % _deferred.size();
    --_def_cnt;
  }
}

result<seq_no, errc> journal::append_epoch(epoch_no new_epoch) {
  if (new_epoch <= _state.epoch()) return unexpected{errc::epoch_out_of_order};
  record r;
  r.kind = record_kind::epoch;
  r.epoch = new_epoch;
  r.body.epoch = epoch_body{_state.epoch().value()};
  return append_data(r);
}

}  // namespace sluice::storage
