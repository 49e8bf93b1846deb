// storage/message_index.h — fixed-capacity hash table of live messages.
//
// Key: (queue, message id). Value: where the message's record lies and its
// confirm state. Open addressing with linear probing and backward-shift
// deletion (as common/flat_map.h, whose keys are single u64s): no allocation
// after construction, at most 50 % load. Iteration walks every slot, so it
// is for rare work (purge, queue deletion, compaction, recovery output).
// Thread: the journal's owner (one shard), or the recovery thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/assert.h"
#include "common/pool_memory.h"
#include "storage/types.h"

namespace sluice::storage {

struct live_message {
  queue_id queue;
  message_id id;
  std::uint16_t app_cnt = 1;
  std::uint64_t confirmed_mask = 0;
  seq_no origin_seq;     // first append; survives compaction
  segment_id segment;    // where the message record is now
  std::uint64_t offset = 0;
  std::uint32_t length = 0;  // padded bytes on disk
  std::uint16_t delivery_cnt = 0;  // largest journaled push count (0: never redelivered)
};

class message_index {
 public:
  explicit message_index(std::size_t max_entries) {
    std::size_t cap = 16;
    while (cap < 2 * max_entries) cap *= 2;
    _slots.assign(cap, slot{});
    _mask = cap - 1;
    _max = max_entries;
  }

  live_message* find(queue_id q, const message_id& id) noexcept {
    for (std::size_t i = home(q, id);; i = (i + 1) & _mask) {
      slot& s = _slots[i];
      if (!s.used) return nullptr;
      if (s.m.queue == q && s.m.id == id) return &s.m;
    }
  }

  // Where the key's probe begins, for a bulk reader (recovery) to prefetch a
  // few records ahead, so the cache miss overlaps other work. (The caller
  // prefetches: GCC finds a function that only prefetches free of effects
  // and drops its calls.)
  const void* probe_start(queue_id q, const message_id& id) const noexcept { return &_slots[home(q, id)]; }

  // nullptr when full. Precondition: the key is absent.
  live_message* insert(const live_message& m) noexcept {
    if (_size >= _max) return nullptr;
    std::size_t i = home(m.queue, m.id);
    while (_slots[i].used) i = (i + 1) & _mask;
    _slots[i] = slot{true, m};
    ++_size;
    return &_slots[i].m;
  }

  // Precondition: m points into this index (from find/insert/for_each).
  void erase(live_message* m) noexcept {
    auto* s = reinterpret_cast<slot*>(reinterpret_cast<char*>(m) - offsetof(slot, m));
    std::size_t hole = static_cast<std::size_t>(s - _slots.data());
    SLUICE_ASSERT(hole < _slots.size() && _slots[hole].used, "erase of a message not in the index");
    for (std::size_t j = (hole + 1) & _mask; _slots[j].used; j = (j + 1) & _mask) {
      const std::size_t h = home(_slots[j].m.queue, _slots[j].m.id);
      if (((j - h) & _mask) >= ((j - hole) & _mask)) {
        _slots[hole] = _slots[j];
        hole = j;
      }
    }
    _slots[hole] = slot{};
    --_size;
  }

  // Calls fn(live_message&) for each entry; fn returns true to erase it.
  // An entry moved by an erase may be visited twice: fn must be idempotent.
  template <class Fn>
  void erase_if(Fn fn) noexcept {
    for (std::size_t i = 0; i < _slots.size();) {
      if (_slots[i].used && fn(_slots[i].m)) {
        erase(&_slots[i].m);  // a later entry may shift into i: look at i again
      } else {
        ++i;
      }
    }
  }
  template <class Fn>
  void for_each(Fn fn) const noexcept {
    for (const slot& s : _slots)
      if (s.used) fn(s.m);
  }

  std::size_t size() const noexcept { return _size; }
  std::size_t capacity() const noexcept { return _max; }

 private:
  struct slot {
    bool used = false;
    live_message m;
  };

  std::size_t home(queue_id q, const message_id& id) const noexcept {
    std::uint64_t a;
    std::uint64_t b;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    std::uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ULL) ^ q.value()) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 31;
    return static_cast<std::size_t>(h) & _mask;
  }

  pool_vector<slot> _slots;  // hundreds of MiB for a big limit: common/pool_memory.h
  std::size_t _mask = 0;
  std::size_t _size = 0;
  std::size_t _max = 0;
};

}  // namespace sluice::storage
