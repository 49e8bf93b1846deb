// storage/window_reader.h — start-up reads of segments, a few windows ahead.
//
// Recovery reads a journal twice (the scan, then the live messages), and
// with blocking O_DIRECT reads the disk and the CPU took turns: a gigabyte
// took the disk's 0.8 s on top of the CPU's work, in each pass. This reader
// keeps `depth` windows in flight with submit_read() while the caller
// decodes the one before them.
//
// A segment is cut into adjacent windows of `window_sz` bytes: window k
// covers [k·window_sz, (k+1)·window_sz). Each byte is read once. A range
// that straddles windows (a record across a boundary: about one per
// window) is stitched from them into a buffer kept for that; the windows
// it spans are read then if they were not already. (Windows used to
// overlap by 2 MiB so that a record lay whole in one: a third more bytes
// read, which on this machine's disk was a third more scan time.)
//
// The caller names what it will want next: prefetch(segment, pos) queues
// the window holding pos; with `sequential`, at() also queues the windows
// after the one it serves (continuing into the next added segment).
//
// Thread: the start-up thread, with nothing else in flight on the
// persistence (its completions are taken by this reader). drain() before
// using the persistence's wait() for anything else.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "storage/aligned_buffer.h"
#include "storage/persistence.h"

namespace sluice::storage {

class window_reader {
 public:
  struct options {
    std::size_t window_sz = 8u << 20;
    std::size_t depth = 3;  // windows in flight ahead of the one in use
    bool sequential = true;
  };
  window_reader(persistence& p, const options& opt);
  ~window_reader();  // drains
  window_reader(const window_reader&) = delete;
  window_reader& operator=(const window_reader&) = delete;

  // Declares an open segment of `size` bytes (a block multiple; bytes past
  // the file's end read as zeros), in the order a sequential reader goes.
  void add_segment(segment_id s, std::uint64_t size);

  // Bytes from pos: at least min(need, size - pos) of them, maybe more.
  // Valid until the next at() or drain(). Errors: io_error and the like.
  // A range across windows comes from the stitch buffer: exactly
  // min(need, size - pos) bytes.
  result<bytes, errc> at(segment_id s, std::uint64_t pos, std::size_t need);
  // Starts reading the window that holds pos, if a buffer is free.
  void prefetch(segment_id s, std::uint64_t pos) noexcept;
  // Waits for every read in flight.
  void drain() noexcept;
  // Drops what was read of segment s (it is about to be written).
  // Precondition: drain().
  void forget(segment_id s) noexcept;

  // The window that holds pos (the same for every segment).
  std::uint64_t window_of(std::uint64_t pos) const noexcept { return pos / _opt.window_sz; }
  std::size_t depth() const noexcept { return _opt.depth; }
  std::uint64_t bytes_read() const noexcept { return _bytes_read; }
  // Reads that at() had to wait for or make itself (the disk was behind).
  std::uint64_t stalls() const noexcept { return _stalls; }
  // Ranges stitched from two or more windows.
  std::uint64_t stitched() const noexcept { return _stitched; }

 private:
  enum class slot_state : std::uint8_t { empty, in_flight, ready, failed };
  struct slot {
    aligned_buffer buf;
    segment_id segment{0};
    std::uint64_t window = 0;
    std::size_t len = 0;
    slot_state state = slot_state::empty;
    std::uint64_t used_at = 0;  // least recently used goes first
    bool unused = false;        // read ahead and not yet asked for: kept while others can go
  };
  struct seg_info {
    segment_id segment;
    std::uint64_t size;
  };

  const seg_info* info(segment_id s) const noexcept;
  std::uint64_t window_cnt(const seg_info& si) const noexcept;
  slot* find(segment_id s, std::uint64_t w) noexcept;
  // An idle slot to reuse: empty first, then the least recently used; with
  // allow_unused, else the one read ahead the latest. nullptr if none.
  slot* victim(const slot* keep, bool allow_unused) noexcept;
  bool start_read(slot& sl, const seg_info& si, std::uint64_t w) noexcept;  // false: not submitted
  void reap_one();  // blocks for one completion
  void queue_after(const seg_info& si, std::uint64_t w, const slot* keep) noexcept;
  // Window w of si, read (waiting for it, or reading it now) and marked used.
  result<slot*, errc> load(const seg_info& si, std::uint64_t w);

  persistence& _p;
  options _opt;
  std::vector<slot> _slots;
  std::vector<seg_info> _segs;
  std::vector<std::byte> _stitch;  // a range across windows, copied together
  std::uint64_t _clock = 0;
  std::uint64_t _bytes_read = 0;
  std::uint64_t _stalls = 0;
  std::uint64_t _stitched = 0;
};

}  // namespace sluice::storage
