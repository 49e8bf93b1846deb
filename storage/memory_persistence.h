// storage/memory_persistence.h — persistence in memory, with injected faults.
//
// For unit tests and the deterministic simulation. Each segment keeps two
// images: `written` (what reads see: the page cache) and `durable` (what
// survives crash()). A write lands in `written`; a datasync copies the whole
// `written` image to `durable`, as fdatasync does for a file. Completions
// are queued at submit time and handed out by the next poll(), so callers see
// the same asynchrony as with io_uring, deterministically.
//
// Faults (each applies to the next matching submit only):
//   fail_next_write(err)      completion -err; nothing stored
//   tear_next_write(n)        only the first n bytes land (durably); the
//                             completion never comes: the host died mid-write,
//                             so call crash() next
//   corrupt_next_write(at)    byte `at` of the data is flipped on the way to
//                             disk; the write reports success (silent corruption)
//   fail_next_create(err)     the create completes with -err and leaves nothing
// crash() drops everything not durable and every pending completion.
//
// Thread: one owner. Allocates (it is a test tool).
#pragma once

#include <cerrno>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "storage/persistence.h"

namespace sluice::storage {

class memory_persistence final : public persistence {
 public:
  memory_persistence() = default;

  // ---- faults ----
  void fail_next_write(int err = EIO) noexcept { _fail_write = err; }
  void tear_next_write(std::size_t prefix_sz) noexcept { _tear_prefix = static_cast<std::int64_t>(prefix_sz); }
  void corrupt_next_write(std::size_t at) noexcept { _corrupt_at = static_cast<std::int64_t>(at); }
  void fail_next_create(int err = ENOSPC) noexcept { _fail_create = err; }
  // Flips one byte of segment s's durable (and written) image: bit rot at rest.
  void corrupt_at_rest(segment_id s, std::uint64_t off) noexcept;
  void crash() noexcept;

  // ---- inspection ----
  std::size_t segment_cnt() const noexcept { return _segs.size(); }
  std::uint64_t disk_bytes() const noexcept;
  std::uint64_t writes() const noexcept { return _writes; }
  std::uint64_t datasyncs() const noexcept { return _datasyncs; }

  // ---- persistence ----
  status<errc> list_segments(std::vector<segment_id>& out) override;
  result<std::uint64_t, errc> open_segment(segment_id s) override;
  status<errc> read_blocking(segment_id s, std::uint64_t off, mut_bytes out) override;
  status<errc> write_blocking(segment_id s, std::uint64_t off, bytes data) override;
  status<errc> submit_create(segment_id s, std::uint64_t size, std::uint64_t token) override;
  status<errc> submit_write(segment_id s, std::uint64_t off, bytes data, bool datasync,
                            std::uint64_t token) override;
  status<errc> submit_read(segment_id s, std::uint64_t off, mut_bytes out, std::uint64_t token) override;
  status<errc> submit_remove(segment_id s, std::uint64_t token) override;
  std::size_t poll(std::span<io_completion> out) noexcept override;
  std::size_t wait(std::span<io_completion> out) override { return poll(out); }
  std::size_t in_flight() const noexcept override { return _done.size() + _lost; }

 private:
  struct image {
    std::vector<std::byte> written;
    std::vector<std::byte> durable;
  };
  void store(image& img, std::uint64_t off, bytes data, bool durable_too) noexcept;

  std::map<std::uint64_t, image> _segs;
  std::deque<io_completion> _done;
  std::size_t _lost = 0;  // torn writes whose completion never comes
  int _fail_write = 0;
  int _fail_create = 0;
  std::int64_t _tear_prefix = -1;
  std::int64_t _corrupt_at = -1;
  std::uint64_t _writes = 0;
  std::uint64_t _datasyncs = 0;
};

}  // namespace sluice::storage
