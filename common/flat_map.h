// common/flat_map.h — fixed-capacity u64 → V hash map.
//
// Open addressing with linear probing and backward-shift deletion: no
// allocation after construction, no tombstones, at most 50 % load. Key 0 is
// reserved (empty slot). Keys are mixed with a multiplicative hash, so
// sequential keys (message sequence numbers) and random ones (session ids)
// both spread. Single-threaded: owned by one shard or endpoint.
#pragma once

#include <cstdint>
#include <vector>

#include "common/assert.h"
#include "common/pool_memory.h"

namespace sluice {

template <class V>
class flat_map {
 public:
  explicit flat_map(std::size_t max_entries) {
    std::size_t cap = 16;
    while (cap < 2 * max_entries) cap *= 2;
    _slots.assign(cap, entry{});
    _mask = cap - 1;
    _max = max_entries;
  }

  // Pointer to the value, or nullptr.
  V* find(std::uint64_t key) noexcept {
    for (std::size_t i = home(key);; i = (i + 1) & _mask) {
      entry& e = _slots[i];
      if (e.key == key) return &e.value;
      if (e.key == 0) return nullptr;
    }
  }

  // False when full. Precondition: key != 0 and not present.
  bool insert(std::uint64_t key, V value) noexcept {
    SLUICE_ASSERT(key != 0, "flat_map key 0 is reserved");
    if (_size >= _max) return false;
    std::size_t i = home(key);
    while (_slots[i].key != 0) i = (i + 1) & _mask;
    _slots[i] = entry{key, value};
    ++_size;
    return true;
  }

  bool erase(std::uint64_t key) noexcept {
    std::size_t i = home(key);
    while (_slots[i].key != key) {
      if (_slots[i].key == 0) return false;
      i = (i + 1) & _mask;
    }
    // Backward shift: pull later members of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & _mask; _slots[j].key != 0; j = (j + 1) & _mask) {
      const std::size_t h = home(_slots[j].key);
      if (((j - h) & _mask) >= ((j - hole) & _mask)) {
        _slots[hole] = _slots[j];
        hole = j;
      }
    }
    _slots[hole] = entry{};
    --_size;
    return true;
  }

  std::size_t size() const noexcept { return _size; }
  // Where the key's probe begins, for a bulk caller (recovery) to prefetch
  // ahead of inserting it.
  const void* probe_start(std::uint64_t key) const noexcept { return &_slots[home(key)]; }

 private:
  struct entry {
    std::uint64_t key = 0;
    V value{};
  };
  std::size_t home(std::uint64_t key) const noexcept {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 20) & _mask;
  }
  pool_vector<entry> _slots;  // common/pool_memory.h: faulted in at construction
  std::size_t _mask = 0;
  std::size_t _max = 0;
  std::size_t _size = 0;
};

}  // namespace sluice
