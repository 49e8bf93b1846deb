// storage/journal_tool.h — offline inspection of a journal directory.
//
// The core of `sluicectl journal verify|dump PATH`: runs recovery read-only
// (nothing is written, a torn tail is reported, not zeroed) in salvage mode,
// so one pass finds every fault. Use it on a stopped broker's directory or a
// copy of it. Thread: any (it owns its persistence); blocking.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/recovery.h"

namespace sluice::storage {

struct queue_summary {
  queue_id queue;
  std::string name;
  std::uint16_t app_cnt = 1;
  std::uint64_t live_cnt = 0;
  std::uint64_t live_bytes = 0;
};

struct segment_summary {
  segment_id segment;
  std::uint64_t live_cnt = 0;  // records pinning it (messages, queue creations)
  std::uint64_t live_bytes = 0;
};

struct journal_summary {
  bool ok = false;            // readable, no torn tail, no corrupt record
  std::string error;          // why not readable at all (missing directory, io_uring)
  std::uint32_t segment_cnt = 0;
  std::uint64_t record_cnt = 0;
  std::array<std::uint64_t, k_record_kind_cnt> records_by_kind{};
  std::uint64_t stale_cnt = 0;  // confirms/deletes of messages whose segment is gone
  seq_no last_seq;
  epoch_no epoch;
  std::optional<recovery_fault> first_bad;  // the first torn or corrupt record
  bool torn_tail = false;
  std::vector<recovery_fault> corrupt;
  std::vector<queue_summary> queues;
  std::vector<segment_summary> segments;  // dump only
  std::vector<live_message> live;          // dump only, in origin_seq order
  std::string log;
};

// Counts and faults of the journal in `dir`.
journal_summary verify(const std::string& dir);
// verify() plus per-segment live counts and every live message.
journal_summary dump(const std::string& dir);
// Same, on any persistence (tests use memory_persistence).
journal_summary inspect(persistence& p, bool details);

}  // namespace sluice::storage
