// storage/recovery.h — rebuilding a shard's state from its journal at start-up.
//
// recover() scans every segment in order, checks each record's CRC, fields,
// sequence and epoch, and replays it into a journal_state. Where a record is
// bad it decides which of two cases it is, using the rule that a commit is
// only issued after the previous one completed (journal.h) and that each
// record names the block its commit started at:
//
//   torn tail      nothing valid was committed after the bad bytes: the last
//                  commit was cut short by a crash. Its records were never
//                  acknowledged. The tail is zeroed (unless read_only) and the
//                  journal resumes there. Reported with file and offset.
//   corrupt middle a valid record from a later commit follows: data that was
//                  durable has rotted. A hard error (errc::corrupt_middle)
//                  unless `salvage`, which skips to the next valid commit
//                  and reports every skipped range.
//
// Then replay_live() reads back each live message (properties, payload,
// confirm mask, origin seq) for the broker to rebuild its queues; queues
// come from the state itself.
//
// Thread: the start-up thread, before the shard loop; blocking I/O through
// the persistence's start-up calls. Allocates freely.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/journal_state.h"
#include "storage/persistence.h"

namespace sluice::storage {

struct recovery_options {
  bool salvage = false;    // skip corrupt middle records instead of failing
  bool read_only = false;  // verify/dump: never write (no tail truncation)
  // The journal's segment size: an unwritten segment of this size after the
  // one the journal resumes in is kept as its spare (0: keep none).
  std::uint64_t segment_sz = 0;
};

// Called during the scan about once a second (never in the first second)
// with the records applied and bytes read so far: start-up progress for the
// log.
using recovery_progress = std::function<void(std::uint64_t records, std::uint64_t bytes)>;

struct recovery_fault {
  segment_id segment;
  std::uint64_t offset = 0;
  errc code{};
};

struct recovery_report {
  std::uint32_t segment_cnt = 0;
  std::uint64_t record_cnt = 0;
  std::array<std::uint64_t, k_record_kind_cnt> records_by_kind{};  // index: record_kind value
  std::uint64_t bytes_scanned = 0;
  bool torn_tail = false;
  recovery_fault tail;                  // where the torn tail starts
  std::uint64_t truncated_bytes = 0;    // zeroed (or, read-only, that would be)
  std::vector<recovery_fault> corrupt;  // corrupt middle records (the first only, unless salvage)
  segment_id last_segment;              // 0: no segment at all
  std::uint64_t resume_off = 0;         // where the journal writes next in last_segment
  // An unwritten segment after last_segment, created ahead of need by the
  // previous run: journal::start() uses it instead of creating another.
  // 0: none. Further unwritten segments at the end are removed (each start
  // creates one ahead, so a broker restarted often left one more each time).
  segment_id spare_segment;
  std::uint32_t unused_removed = 0;     // unwritten segments removed (or, read-only, that would be)
  std::string log;                      // one line per finding, with file and offset
};

// Rebuilds `state` (which must be empty) from the segments `p` lists.
// Errors: corrupt_middle (not salvaged), bad_segment (a segment header names
// another segment or breaks the sequence), inconsistent (records that
// contradict each other), index_full, io_error. `report` says where.
status<errc> recover(persistence& p, const recovery_options& opt, journal_state& state, recovery_report& report,
                     const recovery_progress& progress = {});

// One live message, as replay_live hands it over. Spans valid during the call.
struct recovered_message {
  queue_id queue;
  message_id id;
  std::uint16_t app_cnt = 1;
  std::uint64_t confirmed_mask = 0;  // apps that must not get it again
  seq_no origin_seq;                 // order of the original PUTs
  std::uint16_t delivery_cnt = 0;    // largest journaled push count (redeliveries); 0 if none
  bytes properties;
  bytes payload;
};

class recovery_visitor {
 public:
  virtual ~recovery_visitor() = default;
  virtual void on_message(const recovered_message& m) = 0;
  // A message on_message will get a few calls from now: a chance to
  // prefetch what restoring it touches. Optional.
  virtual void upcoming(queue_id /*queue*/, const message_id& /*id*/) noexcept {}
};

// Reads every live message of `state` back from `p` and calls the visitor,
// in journal order (compacted messages come later than their origin_seq
// suggests: sort by origin_seq per queue where order matters). Errors:
// io_error, bad_crc etc. if a record changed since recover().
status<errc> replay_live(persistence& p, const journal_state& state, recovery_visitor& v);

}  // namespace sluice::storage
