// storage/persistence.h — the narrow interface between the journal and the disk.
//
// Everything the journal, recovery and the tools do to files goes through
// `persistence`, so tests and the simulation can swap the disk for
// memory_persistence (with injected faults) and production uses
// uring_persistence (io_uring, O_DIRECT). A segment is addressed by its id;
// the directory is the implementation's business.
//
// Two groups of calls:
//   start-up (recovery, tools): list, open, read_blocking, write_blocking.
//     They block; call them before the shard loop starts.
//   runtime (the shard loop): submit_* return at once; the result arrives
//     later as an io_completion from poll(), which never blocks. Every
//     accepted submit yields exactly one completion, tagged with the
//     caller's token; res >= 0 is success, res < 0 is -errno.
//
// Buffers passed to writes and reads must be k_block_sz-aligned, their size
// and offset multiples of k_block_sz (O_DIRECT rules, checked by assert in
// every implementation so the memory one catches what the disk would), and
// must stay untouched until their completion.
//
// Thread: one owner (the shard thread that owns the journal).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "storage/errc.h"
#include "storage/record.h"
#include "storage/types.h"

namespace sluice::storage {

struct io_completion {
  std::uint64_t token = 0;
  std::int32_t res = 0;  // >= 0 ok; < 0: -errno
};

// How a write is made durable (uring_persistence's setting; memory ignores it).
enum class sync_mode : std::uint8_t {
  rwf_dsync,         // one SQE: write with RWF_DSYNC
  linked_fdatasync,  // two SQEs: write, linked IORING_FSYNC_DATASYNC
};

class persistence {
 public:
  virtual ~persistence() = default;

  // ---- start-up (blocking) ----
  // Ids of every segment in the directory, ascending. Errors: io_error.
  virtual status<errc> list_segments(std::vector<segment_id>& out) = 0;
  // Opens an existing segment for reads and writes; returns its size in bytes.
  // Errors: not_found, io_error.
  virtual result<std::uint64_t, errc> open_segment(segment_id s) = 0;
  // Reads exactly out.size() bytes at off; bytes past the end read as zeros.
  virtual status<errc> read_blocking(segment_id s, std::uint64_t off, mut_bytes out) = 0;
  // Writes and datasyncs (recovery zeroes a torn tail with it).
  virtual status<errc> write_blocking(segment_id s, std::uint64_t off, bytes data) = 0;

  // ---- runtime (non-blocking; one io_completion each) ----
  // Creates segment s of `size` bytes, preallocated and zero-filled, durable
  // (file and directory entry) when its completion arrives. Errors now: busy,
  // duplicate; later: the completion's -errno.
  virtual status<errc> submit_create(segment_id s, std::uint64_t size, std::uint64_t token) = 0;
  // Writes data at off; with `datasync`, the completion means the bytes are
  // durable. Errors now: busy, not_found.
  virtual status<errc> submit_write(segment_id s, std::uint64_t off, bytes data, bool datasync,
                                    std::uint64_t token) = 0;
  // Reads out.size() bytes at off (compaction). Errors now: busy, not_found.
  virtual status<errc> submit_read(segment_id s, std::uint64_t off, mut_bytes out, std::uint64_t token) = 0;
  // Closes and deletes segment s, durably. Errors now: busy, not_found.
  virtual status<errc> submit_remove(segment_id s, std::uint64_t token) = 0;

  // Moves up to out.size() finished operations into out; returns how many.
  // Never blocks. Not reentrant.
  virtual std::size_t poll(std::span<io_completion> out) noexcept = 0;
  // Like poll(), but blocks until at least one completion (tests, tools,
  // benchmarks; never the shard loop). Returns 0 if nothing is in flight.
  virtual std::size_t wait(std::span<io_completion> out) = 0;
  // Operations submitted and not yet returned by poll()/wait().
  virtual std::size_t in_flight() const noexcept = 0;
  // A descriptor that polls readable when poll() has completions to return,
  // so an idle shard can sleep in ppoll() instead of spinning on the CPU the
  // kernel needs to finish its I/O; -1 if the implementation has none.
  virtual int completion_fd() const noexcept { return -1; }
};

// Asserts the O_DIRECT rules on one I/O.
inline void assert_direct_io(std::uint64_t off, const void* buf, std::size_t sz) noexcept {
  SLUICE_ASSERT(off % k_block_sz == 0, "I/O offset must be block-aligned");
  SLUICE_ASSERT(sz % k_block_sz == 0 && sz > 0, "I/O size must be whole blocks");
  SLUICE_ASSERT(reinterpret_cast<std::uintptr_t>(buf) % k_block_sz == 0, "I/O buffer must be block-aligned");
}

}  // namespace sluice::storage
