#include "storage/window_reader.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "storage/record_layout.h"

namespace sluice::storage {

window_reader::window_reader(persistence& p, const options& opt) : _p(p), _opt(opt) {
  SLUICE_ASSERT(opt.window_sz % k_block_sz == 0 && opt.window_sz > 0, "windows are whole blocks");
  _slots.resize(opt.depth + 1);
  for (slot& sl : _slots) sl.buf = aligned_buffer(opt.window_sz);
}

window_reader::~window_reader() { drain(); }

void window_reader::add_segment(segment_id s, std::uint64_t size) {
  // A file cut short reads as zeros to the next block (and an empty one as
  // one block of zeros), as the scan expects.
  _segs.push_back({s, std::max<std::uint64_t>(align_up(size, k_block_sz), k_block_sz)});
}

const window_reader::seg_info* window_reader::info(segment_id s) const noexcept {
  for (const seg_info& si : _segs)
    if (si.segment == s) return &si;
  return nullptr;
}

std::uint64_t window_reader::window_cnt(const seg_info& si) const noexcept {
  return (si.size - 1) / _opt.window_sz + 1;
}

window_reader::slot* window_reader::find(segment_id s, std::uint64_t w) noexcept {
  for (slot& sl : _slots)
    if (sl.state != slot_state::empty && sl.segment == s && sl.window == w) return &sl;
  return nullptr;
}

window_reader::slot* window_reader::victim(const slot* keep, bool allow_unused) noexcept {
  slot* used = nullptr;    // least recently used
  slot* unused = nullptr;  // read ahead the latest: the one needed last
  for (slot& sl : _slots) {
    if (&sl == keep || sl.state == slot_state::in_flight) continue;
    if (sl.state == slot_state::empty) return &sl;
    if (!sl.unused && (used == nullptr || sl.used_at < used->used_at)) used = &sl;
    if (sl.unused && (unused == nullptr || sl.used_at > unused->used_at)) unused = &sl;
  }
  return used != nullptr ? used : allow_unused ? unused : nullptr;
}

bool window_reader::start_read(slot& sl, const seg_info& si, std::uint64_t w) noexcept {
  const std::uint64_t off = w * _opt.window_sz;
  sl.segment = si.segment;
  sl.window = w;
  sl.len = static_cast<std::size_t>(std::min<std::uint64_t>(_opt.window_sz, si.size - off));
  sl.used_at = ++_clock;
  sl.unused = true;
  const auto idx = static_cast<std::uint64_t>(&sl - _slots.data());
  if (!_p.submit_read(si.segment, off, sl.buf.span().first(sl.len), idx)) {
    sl.state = slot_state::empty;
    return false;
  }
  sl.state = slot_state::in_flight;
  return true;
}

void window_reader::reap_one() {
  std::array<io_completion, 8> done;
  const std::size_t n = _p.wait(done);
  SLUICE_ASSERT(n > 0, "window_reader waits with nothing in flight");
  for (std::size_t i = 0; i < n; ++i) {
    SLUICE_ASSERT(done[i].token < _slots.size(), "a completion the window reader did not submit");
    slot& sl = _slots[done[i].token];
    // A short read (a file cut short) or an error: at() reads it again,
    // blocking, which reads zeros past the end and reports real errors.
    sl.state = done[i].res >= 0 ? slot_state::ready : slot_state::failed;
    if (sl.state == slot_state::ready) _bytes_read += sl.len;
  }
}

void window_reader::drain() noexcept {
  while (std::any_of(_slots.begin(), _slots.end(), [](const slot& sl) { return sl.state == slot_state::in_flight; }))
    reap_one();
}

void window_reader::forget(segment_id s) noexcept {
  for (slot& sl : _slots) {
    SLUICE_ASSERT(sl.state != slot_state::in_flight, "forget() with reads in flight");
    if (sl.segment == s) sl.state = slot_state::empty;
  }
}

void window_reader::queue_after(const seg_info& si, std::uint64_t w, const slot* keep) noexcept {
  const seg_info* cur = &si;
  std::uint64_t next = w;
  for (std::size_t i = 0; i < _opt.depth; ++i) {
    ++next;
    if (next >= window_cnt(*cur)) {  // on into the next segment
      const auto at = static_cast<std::size_t>(cur - _segs.data()) + 1;
      if (at >= _segs.size()) return;
      cur = &_segs[at];
      next = 0;
    }
    if (find(cur->segment, next) != nullptr) continue;
    slot* v = victim(keep, false);
    if (v == nullptr || !start_read(*v, *cur, next)) return;
  }
}

void window_reader::prefetch(segment_id s, std::uint64_t pos) noexcept {
  const seg_info* si = info(s);
  if (si == nullptr || pos >= si->size || find(s, window_of(pos)) != nullptr) return;
  if (slot* v = victim(nullptr, false); v != nullptr) (void)start_read(*v, *si, window_of(pos));
}

result<window_reader::slot*, errc> window_reader::load(const seg_info& si, std::uint64_t w) {
  slot* sl = find(si.segment, w);
  if (sl == nullptr) {
    ++_stalls;
    while ((sl = victim(nullptr, true)) == nullptr) reap_one();
    if (!start_read(*sl, si, w)) sl->state = slot_state::failed;  // no room in the ring: read it below
  } else if (sl->state == slot_state::in_flight) {
    ++_stalls;
  }
  while (sl->state == slot_state::in_flight) reap_one();
  if (sl->state == slot_state::failed) {
    if (auto st = _p.read_blocking(si.segment, w * _opt.window_sz, sl->buf.span().first(sl->len)); !st) {
      sl->state = slot_state::empty;
      return unexpected{st.error()};
    }
    sl->state = slot_state::ready;
    _bytes_read += sl->len;
  }
  sl->unused = false;
  sl->used_at = ++_clock;
  return sl;
}

result<bytes, errc> window_reader::at(segment_id s, std::uint64_t pos, std::size_t need) {
  const seg_info* si = info(s);
  SLUICE_ASSERT(si != nullptr && pos < si->size, "window_reader: a read outside the added segments");
  const std::uint64_t end = std::min<std::uint64_t>(pos + need, si->size);
  std::uint64_t w = window_of(pos);
  auto sl = load(*si, w);
  if (!sl) return unexpected{sl.error()};
  const std::uint64_t w_off = w * _opt.window_sz;
  if (end <= w_off + (*sl)->len) {
    if (_opt.sequential) queue_after(*si, w, *sl);
    return bytes{(*sl)->buf.data() + (pos - w_off), static_cast<std::size_t>(w_off + (*sl)->len - pos)};
  }
  // Across a window boundary: copy the parts together, window by window
  // (each may take the buffer of the one before: its part is copied).
  ++_stitched;
  const auto len = static_cast<std::size_t>(end - pos);
  if (_stitch.size() < len) _stitch.resize(len);
  std::size_t done = 0;
  for (;;) {
    const std::uint64_t off = w * _opt.window_sz;
    const std::uint64_t from = pos + done - off;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>((*sl)->len - from, len - done));
    std::memcpy(_stitch.data() + done, (*sl)->buf.data() + from, n);
    done += n;
    if (done == len) break;
    sl = load(*si, ++w);
    if (!sl) return unexpected{sl.error()};
  }
  if (_opt.sequential) queue_after(*si, w, *sl);
  return bytes{_stitch.data(), len};
}

}  // namespace sluice::storage
