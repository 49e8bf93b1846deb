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

message_store::block message_store::take(std::size_t sz) noexcept {
  if (sz > (std::size_t{1} << k_max_shift)) return {};
  const std::size_t rounded = std::bit_ceil(std::max<std::size_t>(sz, std::size_t{1} << k_min_shift));
  const int cls = std::countr_zero(rounded) - k_min_shift;
  auto& head = _free[static_cast<std::size_t>(cls)];
  std::byte* p = head;
  if (p != nullptr) {
    std::memcpy(&head, p, sizeof(std::byte*));
  } else {
    if (_arena_sz - _bump < rounded) return {};
    p = _arena + _bump;
    _bump += rounded;
  }
  _in_use += rounded;
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
  _in_use -= std::size_t{1} << (b.size_class + k_min_shift);
}

}  // namespace sluice::queue
