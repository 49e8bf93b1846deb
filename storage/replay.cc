// storage/replay.cc — replay_live(): reads each live message back for the broker.
#include <algorithm>
#include <vector>

#include "storage/aligned_buffer.h"
#include "storage/recovery.h"

namespace sluice::storage {

status<errc> replay_live(persistence& p, const journal_state& state, recovery_visitor& v) {
  struct where {
    segment_id segment;
    std::uint64_t offset;
    std::uint32_t length;
  };
  std::vector<where> todo;
  todo.reserve(state.messages().size());
  state.messages().for_each([&](const live_message& m) { todo.push_back({m.segment, m.offset, m.length}); });
  std::sort(todo.begin(), todo.end(), [](const where& a, const where& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
  });

  // Read in windows of up to 4 MiB; a window always holds the whole record.
  aligned_buffer buf(std::max<std::size_t>(4u << 20, k_record_sz_max + 2 * k_block_sz));
  segment_id win_seg{0};
  std::uint64_t win_off = 0;
  std::size_t win_len = 0;
  std::uint64_t seg_sz = 0;
  for (const where& w : todo) {
    if (w.segment != win_seg) {
      const auto sz = p.open_segment(w.segment);
      if (!sz) return unexpected{sz.error()};
      seg_sz = align_up(*sz, k_block_sz);  // a short file reads as zeros past its end
      win_seg = w.segment;
      win_len = 0;
    }
    if (!(win_len > 0 && w.offset >= win_off && w.offset + w.length <= win_off + win_len)) {
      win_off = align_down(w.offset, k_block_sz);
      win_len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), seg_sz - win_off));
      if (auto st = p.read_blocking(w.segment, win_off, buf.span().first(win_len)); !st) return st;
    }
    const auto r = decode_record(bytes{buf.data() + (w.offset - win_off), win_off + win_len - w.offset});
    if (!r.ok()) return unexpected{r.error()};
    if (r->kind != record_kind::message) return unexpected{errc::inconsistent};
    const auto& b = r->body.message;
    const live_message* m = const_cast<journal_state&>(state).find_message(queue_id{b.queue}, id_of(b.id));
    if (m == nullptr || m->segment != w.segment || m->offset != w.offset) return unexpected{errc::inconsistent};
    v.on_message(recovered_message{m->queue, m->id, m->app_cnt, m->confirmed_mask, m->origin_seq, m->delivery_cnt,
                                   r->part1, r->part2});
  }
  return {};
}

}  // namespace sluice::storage
