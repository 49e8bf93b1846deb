// datapath/transport/session_table.h — session id → session, fixed capacity.
//
// Open addressing with linear probing and backward-shift deletion: no
// allocation after construction, no tombstones. Ids are random 64-bit
// values (SipHash output), so their low bits index the table directly; an
// outsider cannot pick ids to collide because the key is secret.
// Owned by the endpoint's thread.
#pragma once

#include <cstdint>
#include <vector>

#include "common/assert.h"

namespace sluice::transport {

class session;

class session_table {
 public:
  // Capacity is the next power of two ≥ 2 × max_entries (load ≤ 50 %).
  explicit session_table(std::uint32_t max_entries) {
    std::size_t cap = 16;
    while (cap < 2 * std::size_t{max_entries}) cap *= 2;
    _slots.assign(cap, entry{});
    _mask = cap - 1;
  }

  session* find(std::uint64_t id) const noexcept {
    for (std::size_t i = id & _mask;; i = (i + 1) & _mask) {
      const entry& e = _slots[i];
      if (e.id == id) return e.s;
      if (e.id == 0) return nullptr;
    }
  }

  // Precondition: id != 0, not present, fewer than max_entries present.
  void insert(std::uint64_t id, session* s) noexcept {
    SLUICE_ASSERT(id != 0, "session id 0 is reserved");
    std::size_t i = id & _mask;
    while (_slots[i].id != 0) i = (i + 1) & _mask;
    _slots[i] = entry{id, s};
  }

  void erase(std::uint64_t id) noexcept {
    std::size_t i = id & _mask;
    while (_slots[i].id != id) {
      if (_slots[i].id == 0) return;
      i = (i + 1) & _mask;
    }
    // Backward shift: pull later entries of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & _mask; _slots[j].id != 0; j = (j + 1) & _mask) {
      const std::size_t home = _slots[j].id & _mask;
      const bool movable = ((j - home) & _mask) >= ((j - hole) & _mask);
      if (movable) {
        _slots[hole] = _slots[j];
        hole = j;
      }
    }
    _slots[hole] = entry{};
  }

 private:
  struct entry {
    std::uint64_t id = 0;
    session* s = nullptr;
  };
  std::vector<entry> _slots;
  std::size_t _mask = 0;
};

}  // namespace sluice::transport
