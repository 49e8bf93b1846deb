#include "storage/recovery.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "storage/aligned_buffer.h"
#include "storage/record_layout.h"
#include "storage/segment.h"
#include "storage/window_reader.h"

namespace sluice::storage {
namespace {

// One segment seen through the scan's window_reader.
class segment_reader {
 public:
  segment_reader(window_reader& wr, segment_id s, std::uint64_t size) noexcept : _wr(wr), _s(s), _size(size) {}
  // Bytes from pos: at least min(need, size - pos) of them, maybe more;
  // valid until the next read.
  result<bytes, errc> at(std::uint64_t pos, std::size_t need) { return _wr.at(_s, pos, need); }
  // The record at pos, read as far as its header's length says (a garbled
  // length reads only the header: decoding it then fails).
  result<bytes, errc> record_at(std::uint64_t pos) {
    const auto head = at(pos, sizeof(record_header));
    if (!head) return head;
    std::uint32_t len;
    std::memcpy(&len, head->data() + 4, 4);
    if (len > k_record_sz_max) return head;
    return at(pos, padded_sz(len));
  }
  std::uint64_t size() const noexcept { return _size; }

 private:
  window_reader& _wr;
  segment_id _s;
  std::uint64_t _size;
};

std::string file_of(segment_id s) {
  char name[24];
  segment_file_name(s, name);
  return name;
}

// Word at a time: recovery checks whole unwritten segments with it.
bool all_zero(bytes b) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    if (w != 0) return false;
  }
  for (; i < b.size(); ++i)
    if (b[i] != std::byte{0}) return false;
  return true;
}

// The index slot the record at `rec` will touch (a message, confirm, delete
// or delivered record; others touch none: nullptr). The scan prefetches it
// a few records ahead of the one it checks, so the cache miss into an index
// of hundreds of MiB overlaps the work on the records before. The bytes are
// not checked yet: garbage only prefetches a useless line.
const void* index_slot_of(const journal_state& st, bytes rec) noexcept {
  if (rec.size() < sizeof(record_header)) return nullptr;
  std::size_t id_off = 0;
  switch (static_cast<record_kind>(rec[offsetof(record_header, kind)])) {
    case record_kind::message: id_off = offsetof(message_body, id); break;
    case record_kind::confirm: id_off = offsetof(confirm_body, id); break;
    case record_kind::del: id_off = offsetof(delete_body, id); break;
    case record_kind::delivered: id_off = offsetof(delivered_body, id); break;
    default: return nullptr;
  }
  const std::size_t body = sizeof(record_header);
  if (rec.size() < body + id_off + 16) return nullptr;
  std::uint32_t q;
  std::memcpy(&q, rec.data() + body, 4);  // every body with an id starts with its queue
  message_id id;
  std::memcpy(id.bytes.data(), rec.data() + body + id_off, 16);
  return st.probe_start(queue_id{q}, id);
}

class scanner {
 public:
  scanner(persistence& p, const recovery_options& opt, journal_state& st, recovery_report& rep,
          const recovery_progress& progress)
      : _p(p), _opt(opt), _st(st), _rep(rep), _progress(progress), _wr(p, window_reader::options{}) {}

  status<errc> run();

 private:
  status<errc> scan_segment(std::size_t idx);
  // A bad record at pos: torn tail (zeroed, scan ends) or corrupt middle.
  // Sets `resume` to the next valid commit in this segment when salvaging.
  status<errc> on_bad(std::size_t idx, segment_reader& r, std::uint64_t pos, errc code,
                      std::optional<std::uint64_t>& resume);
  bool later_segment_has_data(std::size_t idx);
  result<bool, errc> segment_is_empty(segment_reader& r);
  // Salvage: continue the order checks from the valid record at pos.
  status<errc> reseed(segment_reader& r, std::uint64_t pos);
  status<errc> zero_tail(segment_id s, segment_reader& r, std::uint64_t pos, std::uint64_t end);
  // The unwritten segments at the end: the journal resumes after the last
  // written segment (or in the first unwritten one after a torn tail), the
  // next unwritten one of the right size is its spare, the rest go.
  status<errc> settle_unwritten_tail();

  persistence& _p;
  const recovery_options& _opt;
  journal_state& _st;
  recovery_report& _rep;
  const recovery_progress& _progress;
  window_reader _wr;  // reads ahead while records are checked
  std::vector<segment_id> _segs;
  std::vector<std::uint64_t> _sizes;  // of _segs, rounded up to whole blocks
  record_order _order;
  bool _any_header = false;
  bool _ended = false;  // a torn tail was found: later segments must hold no data
  struct unwritten {
    segment_id segment;
    std::uint64_t size;
  };
  std::vector<unwritten> _unwritten_tail;  // not one byte written, nothing written after them
  struct clean_end {
    segment_id segment;
    std::uint64_t resume_off;
  };
  std::optional<clean_end> _clean_end;  // the last segment scanned, when it ended without a bad record
  std::chrono::steady_clock::time_point _next_progress = std::chrono::steady_clock::now() + std::chrono::seconds(1);

  // The prefetch cursor: records up to k_prefetch_depth ahead of the one
  // being checked, within the bytes the window reader handed over.
  static constexpr std::uint32_t k_prefetch_depth = 8;
  std::uint64_t _pf_pos = 0;  // the next record to prefetch, in the segment being scanned
  std::uint32_t _pf_ahead = 0;
  void prefetch_ahead(std::uint64_t pos, bytes in) noexcept {
    if (_pf_pos <= pos) {  // a new segment or window, or a skip: start over after this record
      _pf_pos = pos;
      _pf_ahead = 0;
    } else if (_pf_ahead > 0) {
      --_pf_ahead;  // this record was one of them
    }
    while (_pf_ahead < k_prefetch_depth) {
      const std::uint64_t at = _pf_pos - pos;
      if (at + sizeof(record_header) > in.size()) break;
      std::uint32_t len;
      std::memcpy(&len, in.data() + at + 4, 4);
      if (len < sizeof(record_header) || len > k_record_sz_max) break;
      if (at != 0)
        if (const void* slot = index_slot_of(_st, in.subspan(at)); slot != nullptr) __builtin_prefetch(slot);
      _pf_pos += padded_sz(len);
      ++_pf_ahead;
    }
  }

  void report_progress() {
    const auto now = std::chrono::steady_clock::now();
    if (now < _next_progress) return;
    _next_progress = now + std::chrono::seconds(1);
    _progress(_rep.record_cnt, _wr.bytes_read());
  }
};

status<errc> scanner::run() {
  if (auto st = _p.list_segments(_segs); !st) return st;
  for (const segment_id s : _segs) {
    const auto size = _p.open_segment(s);
    if (!size) return unexpected{size.error()};
    // A file cut short (truncated by hand, or a copy that stopped early) may
    // end inside a block; reads past the end return zeros, so round up to
    // keep every read whole blocks, as O_DIRECT needs.
    _sizes.push_back(align_up(*size, k_block_sz));
    _wr.add_segment(s, *size);
  }
  for (std::size_t i = 0; i < _segs.size(); ++i) {
    if (i > 0 && _segs[i] != _segs[i - 1].next()) {
      _rep.log += "journal: segment " + file_of(_segs[i - 1].next()) + " is missing\n";
      return unexpected{errc::bad_segment};
    }
    const std::size_t unwritten_before = _unwritten_tail.size();
    if (auto st = scan_segment(i); !st) return st;
    if (_unwritten_tail.size() == unwritten_before) {  // written (or skipped): not the tail
      _unwritten_tail.clear();
      if (_clean_end && _clean_end->segment != _segs[i]) _clean_end.reset();
    }
  }
  _rep.last_segment = _segs.empty() ? segment_id{0} : _segs.back();
  _wr.drain();  // settling the tail waits on the persistence for itself
  _rep.bytes_scanned = _wr.bytes_read();
  return settle_unwritten_tail();
}

status<errc> scanner::settle_unwritten_tail() {
  if (_unwritten_tail.empty()) return {};
  // The journal resumes where the last written segment ends when that
  // segment ended cleanly (the previous run stopped, or crashed between
  // commits), else in the first unwritten one (after a torn tail, as before).
  std::size_t first_spare = 1;
  if (_clean_end && _clean_end->segment.next() == _unwritten_tail[0].segment) {
    _rep.last_segment = _clean_end->segment;
    _rep.resume_off = _clean_end->resume_off;
    first_spare = 0;
  } else {
    _rep.last_segment = _unwritten_tail[0].segment;
    _rep.resume_off = 0;
  }
  std::size_t removed_from = first_spare;
  if (first_spare < _unwritten_tail.size() && _opt.segment_sz != 0 &&
      _unwritten_tail[first_spare].size == _opt.segment_sz) {
    _rep.spare_segment = _unwritten_tail[first_spare].segment;
    removed_from = first_spare + 1;
  }
  for (std::size_t i = first_spare; i < _unwritten_tail.size(); ++i) _st.drop_newest_segment();
  for (std::size_t i = removed_from; i < _unwritten_tail.size(); ++i) {
    const segment_id s = _unwritten_tail[i].segment;
    ++_rep.unused_removed;
    _rep.log += "journal: " + file_of(s) + " was created ahead of need and never written: " +
                (_opt.read_only ? "would remove it\n" : "removed\n");
    if (_opt.read_only) continue;
    if (auto st = _p.submit_remove(s, 0); !st) return st;
    io_completion done[1];
    if (_p.wait(done) != 1 || done[0].res < 0) return unexpected{errc::io_error};
  }
  return {};
}

status<errc> scanner::scan_segment(std::size_t idx) {
  const segment_id s = _segs[idx];
  const std::uint64_t size = _sizes[idx];
  _st.add_segment(s);
  ++_rep.segment_cnt;
  _rep.resume_off = 0;
  segment_reader r(_wr, s, std::max(size, std::uint64_t{k_block_sz}));
  const auto block0 = r.at(0, k_block_sz);
  if (!block0) return unexpected{block0.error()};
  const auto hdr = decode_segment_header(*block0, s);
  std::optional<std::uint64_t> resume;
  if (!hdr.ok()) {
    if (hdr.error() == errc::not_found && all_zero(block0->first(k_block_sz))) {
      // A segment with not one byte written, followed by written ones. It is
      // what a torn first commit leaves once an earlier recovery zeroed it:
      // that recovery resumed in the (empty) segment after it. No record is
      // lost by skipping it: the next segment's header must continue the
      // sequence, which scanning it checks.
      const auto empty = segment_is_empty(r);
      if (!empty) return unexpected{empty.error()};
      if (*empty && later_segment_has_data(idx)) {
        _rep.log += "journal: " + file_of(s) + " is empty between written segments (a torn first commit zeroed "
                    "by an earlier recovery): skipped\n";
        return {};
      }
      if (*empty) {  // created ahead of need and never written: the clean end of the journal
        _unwritten_tail.push_back({s, size});
        return {};
      }
      // An unwritten first block of a torn commit.
      return on_bad(idx, r, 0, errc::truncated, resume);
    }
    return on_bad(idx, r, 0, errc::bad_segment, resume);
  }
  if (_ended) {
    _rep.log += "journal: " + file_of(s) + " holds data after a torn tail\n";
    return unexpected{errc::corrupt_middle};
  }
  if (!_any_header) {
    _st.set_position(seq_no{hdr->base_seq.value() - 1}, hdr->epoch);
    _order = record_order(hdr->epoch, seq_no{hdr->base_seq.value() - 1});
    _any_header = true;
  } else if (hdr->base_seq != _order.last_seq().next() || hdr->epoch != _order.epoch()) {
    if (auto st = on_bad(idx, r, 0, errc::seq_out_of_order, resume); !st) return st;
    if (!resume) return {};
    if (auto st = reseed(r, *resume); !st) return st;
  }
  bool clean = !resume.has_value();
  std::uint64_t pos = resume.value_or(k_segment_data_off);
  _pf_pos = 0;  // the prefetch cursor starts over in each segment
  _pf_ahead = 0;
  while (pos + sizeof(record_header) <= r.size()) {
    const auto head = r.at(pos, sizeof(record_header));
    if (!head) return unexpected{head.error()};
    if (is_zero_header(*head)) {
      if (pos % k_block_sz == 0) break;  // no commit starts here: end of data
      pos = align_up(pos, k_block_sz);
      continue;
    }
    std::uint32_t len;
    std::memcpy(&len, head->data() + 4, 4);
    const auto in = r.at(pos, std::min<std::size_t>(padded_sz(len), k_record_sz_max));
    if (!in) return unexpected{in.error()};
    prefetch_ahead(pos, *in);
    auto rec = decode_record(*in);
    errc bad{};
    if (!rec.ok()) bad = rec.error();
    else if (auto o = _order.check(*rec); !o) bad = o.error();
    if (bad != errc{}) {
      clean = false;
      resume.reset();
      if (auto st = on_bad(idx, r, pos, bad, resume); !st) return st;
      if (!resume) break;
      pos = *resume;
      if (auto st = reseed(r, pos); !st) return st;
      continue;
    }
    const auto padded = static_cast<std::uint32_t>(padded_sz(len));
    if (auto st = _st.apply(*rec, s, pos, padded); !st) {
      _rep.log += "journal: " + file_of(s) + " offset " + std::to_string(pos) + ": record contradicts the state (" +
                  to_string(st.error()) + ")\n";
      if (!_opt.salvage || st.error() == errc::index_full) return st;
      _rep.corrupt.push_back({s, pos, st.error()});
      clean = false;
    }
    ++_rep.record_cnt;
    ++_rep.records_by_kind[static_cast<std::size_t>(rec->kind)];
    pos += padded;
    if (_progress && (_rep.record_cnt & 4095) == 0) report_progress();
  }
  _rep.resume_off = std::min(align_up(pos, k_block_sz), r.size());
  if (clean && !_ended) _clean_end = clean_end{s, _rep.resume_off};
  return {};
}

status<errc> scanner::reseed(segment_reader& r, std::uint64_t pos) {
  const auto in = r.record_at(pos);
  if (!in) return unexpected{in.error()};
  const auto rec = decode_record(*in);
  SLUICE_ASSERT(rec.ok(), "salvage resumes only at a record that decodes");
  const epoch_no before = rec->kind == record_kind::epoch ? epoch_no{rec->body.epoch.previous_epoch} : rec->epoch;
  _order = record_order(before, seq_no{rec->seq.value() - 1});
  return {};
}

result<bool, errc> scanner::segment_is_empty(segment_reader& r) {
  for (std::uint64_t b = 0; b < r.size(); b += k_block_sz) {
    const auto blk = r.at(b, k_block_sz);
    if (!blk) return unexpected{blk.error()};
    if (!all_zero(blk->first(k_block_sz))) return false;
  }
  return true;
}

bool scanner::later_segment_has_data(std::size_t idx) {
  for (std::size_t j = idx + 1; j < _segs.size(); ++j) {
    if (!_p.open_segment(_segs[j]).ok()) continue;
    aligned_buffer block(k_block_sz);
    if (_p.read_blocking(_segs[j], 0, block.span()).ok() && decode_segment_header(block.span(), _segs[j]).ok())
      return true;
  }
  return false;
}

status<errc> scanner::on_bad(std::size_t idx, segment_reader& r, std::uint64_t pos, errc code,
                             std::optional<std::uint64_t>& resume) {
  const segment_id s = _segs[idx];
  // Look for a record of a later commit at any block boundary past pos, and
  // for the end of the non-zero bytes (what a torn tail spans).
  std::optional<std::uint64_t> evidence;
  std::uint64_t nonzero_end = pos;
  for (std::uint64_t b = align_down(pos, k_block_sz); b < r.size(); b += k_block_sz) {
    const auto blk = r.at(b, k_block_sz);
    if (!blk) return unexpected{blk.error()};
    if (all_zero(blk->first(k_block_sz))) continue;
    nonzero_end = b + k_block_sz;
    if (b <= pos) continue;
    const auto in = r.record_at(b);
    if (!in) return unexpected{in.error()};
    const auto rec = decode_record(*in);
    if (rec.ok() && static_cast<std::uint64_t>(rec->batch_block) * k_block_sz > pos &&
        (pos == 0 || rec->seq > _order.last_seq())) {
      evidence = b;
      break;
    }
  }
  const bool later = !evidence && later_segment_has_data(idx);
  if (!evidence && !later) {  // torn tail
    if (nonzero_end <= pos) return {};  // nothing written here: a clean end
    _rep.torn_tail = true;
    _rep.tail = {s, pos, code};
    _rep.truncated_bytes += nonzero_end - pos;
    _rep.log += "journal: torn tail in " + file_of(s) + " at offset " + std::to_string(pos) + " (" +
                to_string(code) + "): " + (_opt.read_only ? "would zero " : "zeroed ") +
                std::to_string(nonzero_end - pos) + " bytes\n";
    _ended = true;
    if (_opt.read_only) return {};
    return zero_tail(s, r, pos, nonzero_end);
  }
  _rep.corrupt.push_back({s, pos, code});
  _rep.log += "journal: corrupt record in the middle of " + file_of(s) + " at offset " + std::to_string(pos) +
              " (" + to_string(code) + "), valid records follow" +
              (_opt.salvage ? ": skipped (salvage)\n" : ": refusing to start; run with salvage to skip it\n");
  if (!_opt.salvage) return unexpected{errc::corrupt_middle};
  resume = evidence;  // nullopt: the rest of this segment is lost, go on with the next
  return {};
}

status<errc> scanner::zero_tail(segment_id s, segment_reader& r, std::uint64_t pos, std::uint64_t end) {
  aligned_buffer zeros(std::min<std::uint64_t>(end - align_down(pos, k_block_sz), 1u << 20));
  const std::uint64_t b0 = align_down(pos, k_block_sz);
  const auto first = r.at(b0, k_block_sz);
  if (!first) return unexpected{first.error()};
  std::memcpy(zeros.data(), first->data(), static_cast<std::size_t>(pos - b0));  // keep the good records
  _wr.drain();  // no read of this segment in flight while it is written,
  _wr.forget(s);  // and none of its old bytes kept
  if (auto st = _p.write_blocking(s, b0, zeros.span().first(k_block_sz)); !st) return st;
  std::memset(zeros.data(), 0, k_block_sz);
  for (std::uint64_t off = b0 + k_block_sz; off < end;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), end - off));
    if (auto st = _p.write_blocking(s, off, zeros.span().first(n)); !st) return st;
    off += n;
  }
  return {};
}

}  // namespace

status<errc> recover(persistence& p, const recovery_options& opt, journal_state& state, recovery_report& report,
                     const recovery_progress& progress) {
  SLUICE_ASSERT(state.segments().empty() && state.last_seq() == seq_no{0}, "recover() into a used state");
  scanner sc(p, opt, state, report, progress);
  return sc.run();
}

}  // namespace sluice::storage
