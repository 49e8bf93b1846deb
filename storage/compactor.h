// storage/compactor.h — copies live data out of the oldest segment.
//
// A segment can be deleted only from the old end of the journal, and only
// once nothing in it is live. A message that stays unconfirmed would pin its
// segment, and every later one, forever; the compactor re-appends it (and
// any queue_created record the segment holds) at the head of the journal,
// with its confirm mask and origin seq, so the old copy stops counting:
//
//   oldest segment ──read (async, batch_sz at a time)──► walk records
//        ▲                                                  │ live here?
//        └── deleted by retention once unpinned ◄── re-append (journal::append)
//
// One read in flight; re-appends are subject to the journal's backpressure
// (the compactor waits and resumes from the same record). A record that
// fails to decode stops compaction: data at rest is corrupt, and recovery or
// `sluicectl journal verify` must look at it.
//
// Thread: the journal's owner; driven by journal::poll().
#pragma once

#include <cstdint>

#include "storage/aligned_buffer.h"
#include "storage/types.h"

namespace sluice::storage {

class journal;

// Token of the compactor's reads among the journal's I/O (kind 4 in the top byte).
inline constexpr std::uint64_t k_compactor_token = 4ULL << 56;

class compactor {
 public:
  explicit compactor(journal& j);

  // Starts on the oldest segment if it is pinned, complete on disk and not
  // the one being written. False if not started (nothing to do, or busy).
  bool begin() noexcept;
  // Issues the next read or re-appends from the last one. Called by poll().
  void step() noexcept;
  void on_read_done(std::int32_t res) noexcept;
  bool reading(segment_id s) const noexcept { return _active && _segment == s; }
  bool active() const noexcept { return _active; }
  std::uint64_t read_errors() const noexcept { return _read_errors; }

 private:
  bool relocate_queues() noexcept;
  void process() noexcept;

  journal& _j;
  aligned_buffer _buf;
  bool _active = false;
  bool _queues_done = false;
  bool _read_in_flight = false;
  bool _have_data = false;
  segment_id _segment;
  std::uint64_t _cursor = 0;   // file offset of the next record to look at
  std::uint64_t _buf_off = 0;  // file offset of _buf[0]
  std::size_t _buf_len = 0;
  std::uint64_t _read_errors = 0;
};

}  // namespace sluice::storage
