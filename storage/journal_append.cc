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
  return append(r);
}

result<seq_no, errc> journal::append_queue_deleted(queue_id q) {
  if (_state.queue(q) == nullptr) return unexpected{errc::unknown_queue};
  record r;
  r.kind = record_kind::queue_deleted;
  r.body.queue_deleted = queue_deleted_body{q.value(), 0};
  return append(r);
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
  return append(r);
}

result<seq_no, errc> journal::append_confirm(queue_id q, const message_id& id, std::uint16_t app_idx) {
  const live_message* m = _state.find_message(q, id);
  if (m == nullptr) return unexpected{errc::unknown_message};
  if (app_idx >= m->app_cnt) return unexpected{errc::bad_field};
  if ((m->confirmed_mask >> app_idx & 1u) != 0) return unexpected{errc::duplicate};
  record r;
  r.kind = record_kind::confirm;
  r.body.confirm = confirm_body{};
  r.body.confirm.queue = q.value();
  r.body.confirm.app_idx = app_idx;
  r.body.confirm.confirmed_mask = m->confirmed_mask | 1ULL << app_idx;
  set_id(r.body.confirm.id, id);
  return append(r);
}

result<seq_no, errc> journal::append_delete(queue_id q, const message_id& id, std::uint32_t reason) {
  if (_state.find_message(q, id) == nullptr) return unexpected{errc::unknown_message};
  record r;
  r.kind = record_kind::del;
  r.body.del = delete_body{q.value(), reason, {}};
  set_id(r.body.del.id, id);
  return append(r);
}

result<seq_no, errc> journal::append_purge(queue_id q, std::uint16_t app_idx) {
  const queue_state* qs = _state.queue(q);
  if (qs == nullptr) return unexpected{errc::unknown_queue};
  if (app_idx != k_all_apps && app_idx >= qs->app_cnt) return unexpected{errc::bad_field};
  record r;
  r.kind = record_kind::purge;
  r.body.purge = purge_body{q.value(), app_idx, 0};
  return append(r);
}

result<seq_no, errc> journal::append_delivered(queue_id q, const message_id& id, std::uint16_t app_idx,
                                               std::uint16_t delivery_cnt) {
  const live_message* m = _state.find_message(q, id);
  if (m == nullptr) return unexpected{errc::unknown_message};
  if (app_idx >= m->app_cnt || delivery_cnt == 0) return unexpected{errc::bad_field};
  record r;
  r.kind = record_kind::delivered;
  r.body.delivered = delivered_body{q.value(), app_idx, delivery_cnt, {}};
  set_id(r.body.delivered.id, id);
  return append(r);
}

result<seq_no, errc> journal::append_epoch(epoch_no new_epoch) {
  if (new_epoch <= _state.epoch()) return unexpected{errc::epoch_out_of_order};
  record r;
  r.kind = record_kind::epoch;
  r.epoch = new_epoch;
  r.body.epoch = epoch_body{_state.epoch().value()};
  return append(r);
}

}  // namespace sluice::storage
