// storage/replay.cc — replay_live(): reads each live message back for the broker.
#include <algorithm>
#include <vector>

#include "common/pool_memory.h"
#include "storage/recovery.h"
#include "storage/window_reader.h"

namespace sluice::storage {

status<errc> replay_live(persistence& p, const journal_state& state, recovery_visitor& v) {
  // Each live message once, copied out of the index and sorted into disk
  // order: no second look-up per message, and no pointer back into the
  // index either (the index is in hash order: a cache miss per message).
  // A million of them at 72 bytes: a one-off pool (huge pages).
  pool_vector<live_message> todo;
  todo.reserve(state.messages().size());
  state.messages().for_each([&](const live_message& m) { todo.push_back(m); });
  std::sort(todo.begin(), todo.end(), [](const live_message& a, const live_message& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
  });

  // The windows those messages lie in, in order: while one is decoded the
  // next ones are read (window_reader.h). Windows without a live message
  // are never read.
  window_reader wr(p, {.sequential = false});
  struct window {
    segment_id segment;
    std::uint64_t pos;  // of the first message in it
  };
  std::vector<window> windows;
  for (const live_message& m : todo) {
    const bool new_segment = windows.empty() || windows.back().segment != m.segment;
    if (new_segment) {
      const auto sz = p.open_segment(m.segment);
      if (!sz) return unexpected{sz.error()};
      wr.add_segment(m.segment, *sz);
    }
    if (new_segment || wr.window_of(windows.back().pos) != wr.window_of(m.offset))
      windows.push_back({m.segment, m.offset});
  }

  std::size_t entered = 0;     // windows[0, entered) were reached (the message opening each)
  std::size_t prefetched = 0;  // windows[0, prefetched) were asked for
  constexpr std::size_t k_hint_ahead = 8;  // messages: far enough to hide a cache miss
  for (std::size_t i = 0; i < std::min(k_hint_ahead, todo.size()); ++i) v.upcoming(todo[i].queue, todo[i].id);
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const live_message& m = todo[i];
    if (i + k_hint_ahead < todo.size()) v.upcoming(todo[i + k_hint_ahead].queue, todo[i + k_hint_ahead].id);
    if (entered < windows.size() && windows[entered].segment == m.segment && windows[entered].pos == m.offset)
      ++entered;
    for (; prefetched < windows.size() && prefetched < entered + wr.depth(); ++prefetched)
      wr.prefetch(windows[prefetched].segment, windows[prefetched].pos);
    const auto in = wr.at(m.segment, m.offset, m.length);
    if (!in) return unexpected{in.error()};
    const auto r = decode_record(*in);
    if (!r.ok()) return unexpected{r.error()};
    if (r->kind != record_kind::message) return unexpected{errc::inconsistent};
    const auto& b = r->body.message;
    if (queue_id{b.queue} != m.queue || id_of(b.id) != m.id) return unexpected{errc::inconsistent};
    v.on_message(recovered_message{m.queue, m.id, m.app_cnt, m.confirmed_mask, m.origin_seq, m.delivery_cnt,
                                   r->part1, r->part2});
  }
  return {};
}

}  // namespace sluice::storage
