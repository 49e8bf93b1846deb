#include "storage/journal_state.h"

#include <algorithm>

namespace sluice::storage {

void journal_state::add_segment(segment_id s) {
  SLUICE_ASSERT(_segments.empty() || s == _segments.back().segment.next(), "segments are added in order");
  _segments.push_back(segment_live{s, 0, 0, seq_no{0}});
}

void journal_state::drop_oldest_segment() noexcept {
  SLUICE_ASSERT(!_segments.empty() && _segments.front().live_cnt == 0, "dropping a pinned segment");
  _segments.pop_front();
}

void journal_state::drop_newest_segment() noexcept {
  SLUICE_ASSERT(!_segments.empty() && _segments.back().live_cnt == 0, "dropping a pinned segment");
  _segments.pop_back();
}

const queue_state* journal_state::queue(queue_id q) const noexcept {
  auto it = _queues.find(q.value());
  return it == _queues.end() ? nullptr : &it->second;
}

segment_live* journal_state::seg(segment_id s) noexcept {
  if (_segments.empty() || s < _segments.front().segment || s > _segments.back().segment) return nullptr;
  return &_segments[static_cast<std::size_t>(s.value() - _segments.front().segment.value())];
}

const segment_live* journal_state::segment(segment_id s) const noexcept {
  return const_cast<journal_state*>(this)->seg(s);
}

void journal_state::pin(segment_id s, std::uint64_t sz) noexcept {
  segment_live* sl = seg(s);
  SLUICE_ASSERT(sl != nullptr, "record in a segment the state does not know");
  ++sl->live_cnt;
  sl->live_bytes += sz;
}

void journal_state::unpin(segment_id s, std::uint64_t sz, seq_no by) noexcept {
  segment_live* sl = seg(s);
  SLUICE_ASSERT(sl != nullptr && sl->live_cnt > 0, "unpin of a segment nothing pins");
  --sl->live_cnt;
  sl->live_bytes -= sz;
  sl->last_unpin_seq = by;
}

void journal_state::drop_message(live_message* m, seq_no by) noexcept {
  auto it = _queues.find(m->queue.value());
  if (it != _queues.end()) {
    --it->second.live_cnt;
    it->second.live_bytes -= m->length;
  }
  unpin(m->segment, m->length, by);
  _messages.erase(m);
}

// app_idx k_all_apps: every message goes; else that app's bit is set and
// messages every app has now confirmed go.
void journal_state::drop_queue_messages(queue_state& q, std::uint16_t app_idx, seq_no by) noexcept {
  _messages.erase_if([&](live_message& m) {
    if (m.queue != q.id) return false;
    if (app_idx != k_all_apps) {
      m.confirmed_mask |= 1ULL << app_idx;
      if (m.confirmed_mask != full_mask(m.app_cnt)) return false;
    }
    --q.live_cnt;
    q.live_bytes -= m.length;
    unpin(m.segment, m.length, by);
    return true;
  });
}

status<errc> journal_state::apply(const record& r, segment_id segment, std::uint64_t offset,
                                  std::uint32_t padded) {
  _last_seq = r.seq;
  _epoch = r.epoch;
  switch (r.kind) {
    case record_kind::queue_created: {
      const auto& b = r.body.queue_created;
      auto [it, fresh] = _queues.try_emplace(b.queue);
      queue_state& q = it->second;
      if (q.created) unpin(q.created_seg, 0, r.seq);  // compaction copied it forward
      if (!fresh && q.app_cnt != b.app_cnt && q.live_cnt > 0) return unexpected{errc::inconsistent};
      q.id = queue_id{b.queue};
      q.name.assign(reinterpret_cast<const char*>(r.part1.data()), r.part1.size());
      q.config.assign(r.part2.begin(), r.part2.end());
      q.app_cnt = b.app_cnt;
      q.created = true;
      q.created_seg = segment;
      pin(segment, 0);
      return {};
    }
    case record_kind::queue_deleted: {
      auto it = _queues.find(r.body.queue_deleted.queue);
      if (it == _queues.end()) {
        ++_stale_cnt;
        return {};
      }
      drop_queue_messages(it->second, k_all_apps, r.seq);
      if (it->second.created) unpin(it->second.created_seg, 0, r.seq);
      _queues.erase(it);
      return {};
    }
    case record_kind::message: {
      const auto& b = r.body.message;
      const message_id id = id_of(b.id);
      auto [it, fresh] = _queues.try_emplace(b.queue);
      queue_state& q = it->second;
      if (fresh) {  // its queue_created record was compacted to a later segment
        q.id = queue_id{b.queue};
        q.app_cnt = b.app_cnt;
      }
      if (b.app_cnt != q.app_cnt) return unexpected{errc::inconsistent};
      live_message* m = _messages.find(queue_id{b.queue}, id);
      if (m != nullptr) {  // a compacted copy replaces the original
        q.live_bytes -= m->length;
        unpin(m->segment, m->length, r.seq);
      } else {
        m = _messages.insert(live_message{queue_id{b.queue}, id, b.app_cnt, 0, seq_no{b.origin_seq},
                                          segment, offset, padded});
        if (m == nullptr) return unexpected{errc::index_full};
        ++q.live_cnt;
      }
      m->confirmed_mask |= b.confirmed_mask;
      m->delivery_cnt = std::max(m->delivery_cnt, b.delivery_cnt);
      m->origin_seq = seq_no{b.origin_seq};
      m->segment = segment;
      m->offset = offset;
      m->length = padded;
      q.live_bytes += padded;
      pin(segment, padded);
      return {};
    }
    case record_kind::confirm: {
      const auto& b = r.body.confirm;
      live_message* m = _messages.find(queue_id{b.queue}, id_of(b.id));
      if (m == nullptr) {
        ++_stale_cnt;
        return {};
      }
      if (b.app_idx >= m->app_cnt) return unexpected{errc::inconsistent};
      m->confirmed_mask |= b.confirmed_mask & full_mask(m->app_cnt);
      if (m->confirmed_mask == full_mask(m->app_cnt)) drop_message(m, r.seq);
      return {};
    }
    case record_kind::del: {
      live_message* m = _messages.find(queue_id{r.body.del.queue}, id_of(r.body.del.id));
      if (m == nullptr) {
        ++_stale_cnt;
        return {};
      }
      drop_message(m, r.seq);
      return {};
    }
    case record_kind::purge: {
      auto it = _queues.find(r.body.purge.queue);
      if (it == _queues.end()) {
        ++_stale_cnt;
        return {};
      }
      if (r.body.purge.app_idx != k_all_apps && r.body.purge.app_idx >= it->second.app_cnt)
        return unexpected{errc::inconsistent};
      drop_queue_messages(it->second, r.body.purge.app_idx, r.seq);
      return {};
    }
    case record_kind::epoch: return {};
    case record_kind::delivered: {
      const auto& b = r.body.delivered;
      live_message* m = _messages.find(queue_id{b.queue}, id_of(b.id));
      if (m == nullptr) {
        ++_stale_cnt;
        return {};
      }
      if (b.app_idx >= m->app_cnt) return unexpected{errc::inconsistent};
      m->delivery_cnt = std::max(m->delivery_cnt, b.delivery_cnt);
      return {};
    }
  }
  return unexpected{errc::inconsistent};
}

}  // namespace sluice::storage
