#include "datapath/queue/message_store.h"

#include <numa.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/assert.h"

namespace sluice::queue {

message_store::message_store(std::size_t arena_bytes, int numa_node) : _arena_sz(arena_bytes) {
  if (numa_node >= 0 && numa_available() >= 0) {
    _arena = static_cast<std::byte*>(numa_alloc_onnode(arena_bytes, numa_node));
    _numa = _arena != nullptr;
  }
  if (_arena == nullptr) {
    void* p = ::mmap(nullptr, arena_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SLUICE_ASSERT(p != MAP_FAILED, "cannot map the message arena (limits.message_memory_mb)");
    _arena = static_cast<std::byte*>(p);
  }
}

message_store::~message_store() {
  if (_numa) {
    numa_free(_arena, _arena_sz);
  } else {
    ::munmap(_arena, _arena_sz);
  }
}

int message_store::class_of(std::size_t sz) noexcept {
  return std::countr_zero(std::bit_ceil(std::max<std::size_t>(sz, std::size_t{1} << k_min_shift))) - k_min_shift;
}

std::size_t message_store::class_size(int cls) noexcept { return std::size_t{1} << (cls + k_min_shift); }

message_store::block message_store::take(std::size_t sz) noexcept {
  if (sz > (std::size_t{1} << k_max_shift)) return {};
  int cls = class_of(sz);
  if (_free[static_cast<std::size_t>(cls)] == nullptr) {
    if (_arena_sz - _bump >= class_size(cls)) {
      std::byte* p = _arena + _bump;
      _bump += class_size(cls);
      _in_use += class_size(cls);
      return block{p, static_cast<std::uint8_t>(cls)};
    }
    // Carved to the end: borrow the nearest larger free block (it keeps its class).
    const std::uint64_t larger = _nonempty & ~((std::uint64_t{2} << cls) - 1);
    if (larger == 0) return {};
    cls = std::countr_zero(larger);
  }
  auto& head = _free[static_cast<std::size_t>(cls)];
  std::byte* p = head;
  std::memcpy(&head, p, sizeof(std::byte*));
  if (head == nullptr) _nonempty &= ~(std::uint64_t{1} << cls);
  _in_use += class_size(cls);
  return block{p, static_cast<std::uint8_t>(cls)};
}

void message_store::prefault(std::size_t bytes) noexcept {
  // Huge pages for the range recovery is about to fill: one fault per 2 MiB
  // instead of one per 4 KiB. Only that range: a huge-page fault later, on
  // the shard loop's hot path, could stall in compaction.
  constexpr std::size_t k_huge = 2u << 20;
  const std::size_t from = (_bump + k_huge - 1) / k_huge * k_huge;
  const std::size_t to = std::min(_arena_sz, (_bump + bytes) / k_huge * k_huge);
  if (to > from) (void)::madvise(_arena + from, to - from, MADV_HUGEPAGE);
}

void message_store::give(block b) noexcept {
  SLUICE_DCHECK(b.data >= _arena && b.data < _arena + _arena_sz, "block from another arena");
  auto& head = _free[b.size_class];
  std::memcpy(b.data, &head, sizeof(std::byte*));
  head = b.data;
  _nonempty |= std::uint64_t{1} << b.size_class;
  _in_use -= class_size(b.size_class);
}

}  // namespace sluice::queue
