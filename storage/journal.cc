#include "storage/journal.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage/compactor.h"
#include "storage/segment.h"

namespace sluice::storage {
namespace {

enum : std::uint64_t { k_tok_write = 1, k_tok_create = 2, k_tok_remove = 3, k_tok_read = k_compactor_token >> 56 };
constexpr std::uint64_t token(std::uint64_t kind, std::uint64_t v) noexcept { return kind << 56 | v; }
constexpr std::uint64_t k_tok_value_mask = (1ULL << 56) - 1;

errc errc_of_res(std::int32_t res) noexcept { return res == -ENOSPC ? errc::no_space : errc::io_error; }

}  // namespace

journal::journal(persistence& p, const journal_config& cfg, journal_listener& listener, journal_state state)
    : _p(p), _cfg(cfg), _listener(listener), _state(std::move(state)) {
  SLUICE_ASSERT(_cfg.batch_sz % k_block_sz == 0 && _cfg.batch_sz >= 2 * k_block_sz, "batch_sz: whole blocks, >= 2");
  SLUICE_ASSERT(_cfg.segment_sz % k_block_sz == 0 && _cfg.segment_sz >= _cfg.batch_sz + k_block_sz,
                "segment_sz: whole blocks, room for one full batch after the header");
  SLUICE_ASSERT(_cfg.batch_cnt >= 2, "batch_cnt >= 2: one in flight, one filling");
  _batches.resize(_cfg.batch_cnt);
  for (batch& b : _batches) b.buf = aligned_buffer(_cfg.batch_sz);
  _durable_seq = _state.last_seq();
  _compactor = std::make_unique<compactor>(*this);
  _deferred.resize(std::max<std::size_t>(1, _cfg.deferred_max));
}

journal::~journal() = default;

status<errc> journal::start(segment_id last_segment, std::uint64_t resume_off, segment_id spare) {
  SLUICE_ASSERT(!_started, "journal started twice");
  SLUICE_ASSERT(resume_off % k_block_sz == 0, "resume offset must be block-aligned");
  _started = true;
  if (last_segment == segment_id{0}) {
    SLUICE_ASSERT(_state.segments().empty(), "state has segments but no last segment was given");
    _place_seg = segment_id{1};
    _place_off = 0;
    _state.add_segment(_place_seg);
  } else {
    SLUICE_ASSERT(!_state.segments().empty() && _state.segments().back().segment == last_segment,
                  "the last segment must be the state's newest");
    _place_seg = last_segment;
    _place_off = resume_off;
    _ready_max = _requested_max = last_segment;
    if (spare != segment_id{0}) {
      SLUICE_ASSERT(spare == last_segment.next(), "the spare segment follows the last one");
      _ready_max = _requested_max = spare;
    }
    if (_place_off + k_block_sz > _cfg.segment_sz) {
      _place_seg = _place_seg.next();
      _place_off = 0;
      _state.add_segment(_place_seg);
    }
  }
  request_segment(_place_seg);
  request_segment(_place_seg.next());
  if (_failed) return unexpected{errc::io_error};
  return {};
}

void journal::request_segment(segment_id s) noexcept {
  if (s <= _requested_max || _failed) return;
  SLUICE_ASSERT(s == _requested_max.next(), "segments are created in order");
  const auto st = _p.submit_create(s, _cfg.segment_sz, token(k_tok_create, s.value()));
  if (st.ok()) {
    _requested_max = s;
    ++_stats.segments_created;
  } else if (st.error() != errc::busy) {  // busy: poll() asks again
    fail(st.error());
  }
}

journal::batch* journal::start_batch() noexcept {
  const std::size_t n = _batches.size();
  std::size_t idx = _head;
  while (_batches[idx].phase != batch_phase::free) {
    idx = (idx + 1) % n;
    if (idx == _head) return nullptr;
  }
  batch& b = _batches[idx];
  b.phase = batch_phase::filling;
  b.segment = _place_seg;
  b.off = _place_off;
  b.used = 0;
  b.record_cnt = 0;
  b.first = _state.last_seq().next();
  b.last = _state.last_seq();
  if (b.off == 0) {  // a segment's first commit carries its header
    encode_segment_header(b.buf.span(), segment_info{b.segment, b.first, _state.epoch(), _cfg.segment_sz});
    b.used = k_block_sz;
  }
  _fill = idx;
  return &b;
}

void journal::seal(batch& b) noexcept {
  SLUICE_ASSERT(b.phase == batch_phase::filling && b.record_cnt > 0, "sealing an empty batch");
  const std::size_t sz = align_up(b.used, k_block_sz);
  std::memset(b.buf.data() + b.used, 0, sz - b.used);  // a zero header ends the commit
  b.phase = batch_phase::sealed;
  _fill = SIZE_MAX;
  _place_off = b.off + sz;
  if (_place_off + k_block_sz > _cfg.segment_sz) {
    _place_seg = _place_seg.next();
    _place_off = 0;
    _state.add_segment(_place_seg);
    request_segment(_place_seg);
    request_segment(_place_seg.next());
  }
}

result<seq_no, errc> journal::append(record& r) noexcept {
  SLUICE_ASSERT(_started, "append before start()");
  if (_failed) return unexpected{errc::journal_failed};
  r.seq = _state.last_seq().next();
  if (r.kind != record_kind::epoch) r.epoch = _state.epoch();
  if (r.kind == record_kind::message && r.body.message.origin_seq == 0) r.body.message.origin_seq = r.seq.value();
  const std::size_t len = padded_sz(record_length(r));
  if (len > _cfg.batch_sz - k_block_sz) return unexpected{errc::record_too_large};

  batch* b = nullptr;
  for (int attempt = 0;; ++attempt) {
    SLUICE_ASSERT(attempt < 4, "batch placement does not converge");
    b = _fill != SIZE_MAX ? &_batches[_fill] : start_batch();
    if (b == nullptr) return unexpected{errc::backpressure};
    const bool fits_batch = b->used + len <= _cfg.batch_sz;
    const bool fits_seg = b->off + align_up(b->used + len, k_block_sz) <= _cfg.segment_sz;
    if (fits_batch && fits_seg) break;
    const segment_id was = b->segment;
    if (b->record_cnt > 0) {
      seal(*b);
    } else {  // empty and past the segment's end: place it at the next segment instead
      b->phase = batch_phase::free;
      _fill = SIZE_MAX;
    }
    if (!fits_seg && _place_seg == was) {
      _place_seg = _place_seg.next();
      _place_off = 0;
      _state.add_segment(_place_seg);
      request_segment(_place_seg);
      request_segment(_place_seg.next());
    }
  }
  r.batch_block = static_cast<std::uint32_t>(b->off / k_block_sz);
  const auto n = encode_record(b->buf.span().subspan(b->used, len), r);
  SLUICE_ASSERT(n.ok() && n.value() == len, "a validated record failed to encode");
  const auto st = _state.apply(r, b->segment, b->off + b->used, static_cast<std::uint32_t>(len));
  SLUICE_ASSERT(st.ok(), "a validated record was refused by the state");
  b->used += len;
  b->last = r.seq;
  ++b->record_cnt;
  ++_stats.records;
  if (b->used >= _cfg.commit_sz_budget) {
    seal(*b);
    try_issue();
  }
  return r.seq;
}

void journal::commit() noexcept {
  _commit_wanted = true;
  try_issue();
}

void journal::try_issue() noexcept {
  if (_write_in_flight || _failed) return;
  batch& h = _batches[_head];
  if (h.phase == batch_phase::filling) {
    if (!_commit_wanted || h.record_cnt == 0) return;
    seal(h);
    _commit_wanted = false;
  }
  if (h.phase != batch_phase::sealed || h.segment > _ready_max) return;
  const std::size_t sz = align_up(h.used, k_block_sz);
  const auto st = _p.submit_write(h.segment, h.off, bytes{h.buf.data(), sz}, true, token(k_tok_write, _head));
  if (!st.ok()) {
    if (st.error() != errc::busy) fail(st.error());
    return;  // busy: the next poll() tries again
  }
  h.phase = batch_phase::in_flight;
  h.submitted_ns = monotonic_now_ns();
  _write_in_flight = true;
  ++_stats.commits;
  _stats.commit_bytes += sz;
}

void journal::on_write_done(std::size_t idx, std::int32_t res) noexcept {
  batch& b = _batches[idx];
  _write_in_flight = false;
  if (_failed) return;  // its records were already reported failed
  SLUICE_ASSERT(idx == _head && b.phase == batch_phase::in_flight, "write completion out of order");
  if (res < 0) {
    fail(errc_of_res(res));
    return;
  }
  const time_ns took = monotonic_now_ns() - b.submitted_ns;
  _stats.commit_latency.record(took > 0 ? static_cast<std::uint64_t>(took) : 0);
  b.phase = batch_phase::free;
  _head = (_head + 1) % _batches.size();
  _durable_seq = b.last;
  _listener.on_durable(b.last);
}

void journal::fail(errc why) noexcept {
  if (_failed) return;
  _failed = true;
  for (std::size_t i = 0; i < _batches.size(); ++i) {
    batch& b = _batches[(_head + i) % _batches.size()];
    if (b.phase == batch_phase::free) continue;
    if (b.record_cnt > 0) _listener.on_failed(b.first, b.last, why);
    if (b.phase != batch_phase::in_flight) b.phase = batch_phase::free;
  }
  _fill = SIZE_MAX;
  _def_cnt = 0;  // they change nothing now: recovery decides what is on disk
}

void journal::retire_segments() noexcept {
  while (!_remove_in_flight && !_failed && _state.segments().size() > 1) {
    const segment_live& oldest = _state.segments().front();
    const batch& h = _batches[_head];
    const segment_id busy_from = h.phase != batch_phase::free ? h.segment : _place_seg;
    if (oldest.segment >= busy_from || oldest.segment > _ready_max || oldest.live_cnt > 0 ||
        oldest.last_unpin_seq > _durable_seq || _compactor->reading(oldest.segment))
      return;
    const auto st = _p.submit_remove(oldest.segment, token(k_tok_remove, oldest.segment.value()));
    if (!st.ok()) return;  // busy: later; not_found: nothing to delete
    _remove_in_flight = true;
    _state.drop_oldest_segment();
  }
}

std::size_t journal::poll() noexcept {
  io_completion done[16];
  const std::size_t n = _p.poll(done);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t kind = done[i].token >> 56;
    const std::uint64_t v = done[i].token & k_tok_value_mask;
    if (kind == k_tok_write) {
      on_write_done(static_cast<std::size_t>(v), done[i].res);
    } else if (kind == k_tok_create) {
      if (done[i].res < 0) fail(errc_of_res(done[i].res));
      else if (segment_id{v} > _ready_max) _ready_max = segment_id{v};
    } else if (kind == k_tok_remove) {
      _remove_in_flight = false;
      ++_stats.segments_removed;
    } else if (kind == k_tok_read) {
      _compactor->on_read_done(done[i].res);
    }
  }
  if (_failed) return n;
  request_segment(_place_seg);
  request_segment(_place_seg.next());
  try_issue();
  place_deferred();
  if (_state.segments().size() > _cfg.segments_soft_max &&
      static_cast<double>(_state.segments().front().live_bytes) <=
          _cfg.compact_live_max * static_cast<double>(_cfg.segment_sz))
    compact_oldest();
  _compactor->step();
  retire_segments();
  return n;
}

bool journal::compact_oldest() noexcept { return _compactor->begin(); }

bool journal::idle() const noexcept {
  if (_def_cnt > 0) return false;
  for (const batch& b : _batches)
    if (b.phase != batch_phase::free) return false;
  return true;
}

}  // namespace sluice::storage
