// common/spsc_ring.h — bounded single-producer single-consumer ring.
//
// The only way shards and the service thread talk: commands to a shard,
// forwarded frames between shards. Capacity is a power of two fixed at
// construction; push fails when full (the caller decides: retry, count,
// drop), pop fails when empty. No locks, no allocation after construction.
//
// Memory order: the producer writes the slot, then publishes `_tail` with
// release; the consumer reads `_tail` with acquire before reading the slot,
// and publishes `_head` with release after it is done with the slot, which
// the producer reads with acquire before reusing it. Head and tail live on
// separate cache lines; each side caches the other's index to touch the
// shared line only when it must.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>

#include "common/assert.h"

namespace sluice {

template <class T>
class spsc_ring {
  static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T>);

 public:
  explicit spsc_ring(std::size_t capacity) : _mask(capacity - 1), _slots(std::make_unique<T[]>(capacity)) {
    SLUICE_ASSERT(capacity >= 2 && std::has_single_bit(capacity), "ring capacity must be a power of two");
  }

  // Producer thread only.
  bool push(T&& v) noexcept {
    const std::size_t tail = _tail.load(std::memory_order_relaxed);
    if (tail - _head_cache > _mask) {
      _head_cache = _head.load(std::memory_order_acquire);  // slot free only after the consumer released it
      if (tail - _head_cache > _mask) return false;
    }
    _slots[tail & _mask] = std::move(v);
    _tail.store(tail + 1, std::memory_order_release);  // publish the slot
    return true;
  }

  // Producer thread only: how many push() calls will succeed from now on at
  // the least (the consumer can only free more). Lets a producer that must
  // hand one item to each of several rings check them all before it pushes
  // to any.
  std::size_t free_slots() noexcept {
    _head_cache = _head.load(std::memory_order_acquire);
    return _mask + 1 - (_tail.load(std::memory_order_relaxed) - _head_cache);
  }

  // Consumer thread only.
  std::optional<T> pop() noexcept {
    const std::size_t head = _head.load(std::memory_order_relaxed);
    if (head == _tail_cache) {
      _tail_cache = _tail.load(std::memory_order_acquire);  // see the producer's slot write
      if (head == _tail_cache) return std::nullopt;
    }
    std::optional<T> v{std::move(_slots[head & _mask])};
    _head.store(head + 1, std::memory_order_release);  // hand the slot back
    return v;
  }

  // Approximate (racy) size, for stats only.
  std::size_t size_approx() const noexcept {
    return _tail.load(std::memory_order_relaxed) - _head.load(std::memory_order_relaxed);
  }
  std::size_t capacity() const noexcept { return _mask + 1; }

 private:
  static constexpr std::size_t k_line = 64;
  const std::size_t _mask;
  std::unique_ptr<T[]> _slots;
  alignas(k_line) std::atomic<std::size_t> _head{0};  // written by the consumer
  std::size_t _tail_cache = 0;                        // consumer's copy of _tail
  alignas(k_line) std::atomic<std::size_t> _tail{0};  // written by the producer
  std::size_t _head_cache = 0;                        // producer's copy of _head
};

}  // namespace sluice
