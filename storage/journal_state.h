// storage/journal_state.h — what the journal's records add up to.
//
// One model, fed by two callers: the journal applies each record as it
// appends it, and recovery replays the records it reads from disk, so the
// state after a restart is the state the writer had at its last durable
// record. It holds:
//   queues     name, config, app count, the segment of their queue_created
//              record, live message count and bytes on disk
//   messages   every live (not fully confirmed, deleted or purged) message:
//              where its record lies, its confirm mask, its origin seq
//   segments   per segment, how many live records pin it (messages and
//              queue_created records); retention deletes a segment at the
//              old end once nothing pins it
//   last seq and epoch
//
// Replay is lenient where retention makes records legitimately stale: the
// confirm of a message whose segment was deleted, the deletion of a queue
// whose creation was deleted. Those are counted in `stale_cnt`, not errors.
// Only records that can never be right are refused (errc::inconsistent).
//
// Thread: one owner (the shard thread, or the recovery thread before it).
// Queue creation allocates (name, config); messages do not.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/errc.h"
#include "storage/message_index.h"
#include "storage/record.h"

namespace sluice::storage {

struct queue_state {
  queue_id id;
  std::string name;
  std::vector<std::byte> config;
  std::uint16_t app_cnt = 1;
  bool created = false;     // its queue_created record was seen (a compacted one may come later)
  segment_id created_seg;   // pinned while the queue exists
  std::uint64_t live_cnt = 0;
  std::uint64_t live_bytes = 0;  // on-disk bytes of its live message records
};

struct segment_live {
  segment_id segment;
  std::uint64_t live_cnt = 0;
  std::uint64_t live_bytes = 0;
  seq_no last_unpin_seq;  // the record that last lowered live_cnt: it must be durable before deletion
};

class journal_state {
 public:
  explicit journal_state(std::size_t live_messages_max) : _messages(live_messages_max) {}

  // Applies r, read or written at (segment, offset) taking `padded_sz` bytes.
  // Errors: inconsistent (a message with more apps than its queue, a confirm
  // index past the app count), index_full.
  status<errc> apply(const record& r, segment_id segment, std::uint64_t offset, std::uint32_t padded_sz);

  // Declares that segment s exists (recovery: in order; journal: at roll-over).
  void add_segment(segment_id s);
  // Forgets the oldest segment. Precondition: nothing pins it.
  void drop_oldest_segment() noexcept;
  // Forgets the newest segment (recovery: one never written). Precondition: nothing pins it.
  void drop_newest_segment() noexcept;

  const queue_state* queue(queue_id q) const noexcept;
  const std::map<std::uint32_t, queue_state>& queues() const noexcept { return _queues; }
  const message_index& messages() const noexcept { return _messages; }
  live_message* find_message(queue_id q, const message_id& id) noexcept { return _messages.find(q, id); }
  // For a record about to be applied (recovery): message_index::probe_start.
  const void* probe_start(queue_id q, const message_id& id) const noexcept { return _messages.probe_start(q, id); }
  const std::deque<segment_live>& segments() const noexcept { return _segments; }
  const segment_live* segment(segment_id s) const noexcept;

  seq_no last_seq() const noexcept { return _last_seq; }
  epoch_no epoch() const noexcept { return _epoch; }
  std::uint64_t stale_cnt() const noexcept { return _stale_cnt; }
  // Sets the position of an empty journal (recovery from segment headers).
  void set_position(seq_no last, epoch_no e) noexcept {
    _last_seq = last;
    _epoch = e;
  }

 private:
  segment_live* seg(segment_id s) noexcept;
  void pin(segment_id s, std::uint64_t sz) noexcept;
  void unpin(segment_id s, std::uint64_t sz, seq_no by) noexcept;
  void drop_message(live_message* m, seq_no by) noexcept;
  void drop_queue_messages(queue_state& q, std::uint16_t app_idx, seq_no by) noexcept;

  std::map<std::uint32_t, queue_state> _queues;
  message_index _messages;
  std::deque<segment_live> _segments;  // ascending, contiguous ids
  seq_no _last_seq{0};
  epoch_no _epoch{0};
  std::uint64_t _stale_cnt = 0;
};

}  // namespace sluice::storage
