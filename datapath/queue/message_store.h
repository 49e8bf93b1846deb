// datapath/queue/message_store.h — memory for message bodies, per shard.
//
// One arena (from the shard's NUMA node) carved into power-of-two blocks by
// size class (64 B … 2 MiB) on first need; freed blocks go to their class's
// free list and are reused. When a class has no free block and the arena is
// carved to its end, take() borrows a free block of the nearest larger
// class rather than fail (the block keeps its class). No allocation after
// construction: when nothing fits, take() fails and the PUT is answered
// queue_full. Owned by one shard thread.
//
// Finer classes (four per doubling) would waste at most a quarter instead
// of up to half, but carved blocks never change class here, so a workload
// whose sizes shift would strand more memory in classes it no longer uses;
// that wants blocks grouped in pages that return to a common pool when
// empty, not just more classes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice::queue {

class message_store {
 public:
  static constexpr int k_min_shift = 6;   // 64 B
  static constexpr int k_max_shift = 21;  // 2 MiB: 1 MiB message + properties fit
  static constexpr int k_class_cnt = k_max_shift - k_min_shift + 1;

  // The smallest class whose blocks hold `sz` bytes (sz ≤ 2 MiB), and a class's block size.
  static int class_of(std::size_t sz) noexcept;
  static std::size_t class_size(int cls) noexcept;

  // `numa_node` < 0: ordinary memory. Aborts if the arena cannot be mapped.
  message_store(std::size_t arena_bytes, int numa_node);
  ~message_store();
  message_store(const message_store&) = delete;
  message_store& operator=(const message_store&) = delete;

  struct block {
    std::byte* data = nullptr;
    std::uint8_t size_class = 0;
  };
  // A block of at least `sz` bytes, or {nullptr} when memory is exhausted.
  block take(std::size_t sz) noexcept;
  void give(block b) noexcept;

  // Advises the next `bytes` of the arena that take() will carve for
  // transparent huge pages: one fault per 2 MiB instead of one per 4 KiB on
  // first touch (recovery, which fills gigabytes at once, spent a third of
  // its time in page faults). Best effort (THP `never` ignores it);
  // start-up only, before the shard loop.
  void prefault(std::size_t bytes) noexcept;

  std::size_t arena_bytes() const noexcept { return _arena_sz; }
  std::size_t carved_bytes() const noexcept { return _bump; }
  std::size_t in_use_bytes() const noexcept { return _in_use; }
  bool on_numa_node() const noexcept { return _numa; }

 private:
  std::byte* _arena = nullptr;
  std::size_t _arena_sz = 0;
  std::size_t _bump = 0;
  std::size_t _in_use = 0;
  bool _numa = false;
  // Free blocks of each class form a singly linked list through their first bytes.
  std::array<std::byte*, k_class_cnt> _free{};
  std::uint64_t _nonempty = 0;  // bit c: _free[c] has a block
  static_assert(k_class_cnt <= 64, "one bit per class");
};

}  // namespace sluice::queue
