#include "storage/compactor.h"

#include <algorithm>
#include <cstring>

#include "storage/journal.h"
#include "storage/segment.h"

namespace sluice::storage {

compactor::compactor(journal& j) : _j(j), _buf(j._cfg.batch_sz + k_block_sz) {}

bool compactor::begin() noexcept {
  if (_active || _j._failed) return false;
  const auto& segs = _j._state.segments();
  if (segs.size() < 2) return false;
  const segment_live& oldest = segs.front();
  const auto& h = _j._batches[_j._head];
  const segment_id busy_from = h.phase != journal::batch_phase::free ? h.segment : _j._place_seg;
  if (oldest.live_cnt == 0 || oldest.segment >= busy_from || oldest.segment > _j._ready_max) return false;
  _active = true;
  _queues_done = false;
  _segment = oldest.segment;
  _cursor = k_segment_data_off;
  _have_data = false;
  return true;
}

bool compactor::relocate_queues() noexcept {
  for (const auto& [id, q] : _j._state.queues()) {
    if (!q.created || q.created_seg != _segment) continue;
    record r;
    r.kind = record_kind::queue_created;
    r.body.queue_created = queue_created_body{q.id.value(), q.app_cnt, 0, 0, 0};
    r.part1 = bytes{reinterpret_cast<const std::byte*>(q.name.data()), q.name.size()};
    r.part2 = q.config;
    if (!_j.append(r).ok()) return false;  // backpressure: again next step (the map is unchanged)
    ++_j._stats.compacted_queues;
    return relocate_queues();  // the map may have been touched: restart the walk
  }
  return true;
}

void compactor::step() noexcept {
  if (!_active || _j._failed) return;
  if (!_queues_done) {
    if (!relocate_queues()) return;
    _queues_done = true;
  }
  if (_have_data) process();
  if (_read_in_flight || _have_data || !_active) return;
  const segment_live* sl = _j._state.segment(_segment);
  if (sl == nullptr || sl->live_cnt == 0 || _cursor >= _j._cfg.segment_sz) {
    _active = false;  // done: retention removes it once the copies are durable
    return;
  }
  _buf_off = align_down(_cursor, k_block_sz);
  _buf_len = static_cast<std::size_t>(std::min<std::uint64_t>(_buf.size(), _j._cfg.segment_sz - _buf_off));
  if (_j._p.submit_read(_segment, _buf_off, _buf.span().first(_buf_len), k_compactor_token).ok()) _read_in_flight = true;
}

void compactor::on_read_done(std::int32_t res) noexcept {
  _read_in_flight = false;
  if (res < 0) {
    ++_read_errors;
    _active = false;
    return;
  }
  _have_data = true;
}

void compactor::process() noexcept {
  const std::uint64_t end = _buf_off + _buf_len;
  std::uint64_t pos = _cursor;
  while (pos + sizeof(record_header) <= end) {
    const bytes in = _buf.span().subspan(static_cast<std::size_t>(pos - _buf_off), static_cast<std::size_t>(end - pos));
    if (is_zero_header(in)) {
      if (pos % k_block_sz == 0) {  // a commit starts on every block boundary: none here, so no more data
        pos = _j._cfg.segment_sz;
        break;
      }
      pos = align_up(pos, k_block_sz);
      continue;
    }
    record_header h;
    std::memcpy(&h, in.data(), sizeof h);
    if (pos + padded_sz(h.length) > end && h.length <= k_record_sz_max && end < _j._cfg.segment_sz)
      break;  // the record continues past this read: read on from here
    auto r = decode_record(in);
    if (!r.ok()) {
      ++_read_errors;
      _active = false;
      _have_data = false;
      return;
    }
    const std::size_t len = padded_sz(record_length(r.value()));
    if (r->kind == record_kind::message) {
      const auto& b = r->body.message;
      const live_message* m = _j._state.find_message(queue_id{b.queue}, id_of(b.id));
      if (m != nullptr && m->segment == _segment && m->offset == pos) {
        record copy = r.value();
        copy.body.message.confirmed_mask = m->confirmed_mask;
        copy.body.message.delivery_cnt = m->delivery_cnt;
        if (!_j.append(copy).ok()) break;  // backpressure: resume from this record
        ++_j._stats.compacted_messages;
      }
    }
    pos += len;
  }
  _cursor = pos;
  _have_data = false;
}

}  // namespace sluice::storage
