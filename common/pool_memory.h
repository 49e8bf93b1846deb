// common/pool_memory.h — memory for the big fixed pools a shard allocates once.
//
// A shard sizes its pools (message slots, deliveries, hash tables, the
// journal's index) for its limits at start-up: hundreds of MiB with the
// defaults raised for a real node. Filled through 4 KiB first-touch faults
// that cost seconds on a VM before the broker was ready (issue 13.5).
// `pool_allocator` maps allocations of 2 MiB and more on their own, advised
// for transparent huge pages and populated in one madvise: the faults
// happen here, at construction, 2 MiB at a time, and never later on the
// shard loop. Smaller allocations go to operator new. Best effort: without
// huge pages (THP `never`) or MADV_POPULATE_WRITE the memory still works,
// faulted as before.
//
// Use it for pools built once before the loop; not for containers that grow
// while serving (a growing vector would map, populate and unmap each time).
// Thread: any (allocation is not on the data path).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace sluice {

// Raw pool memory: at least `bytes`, aligned for any type. Throws
// std::bad_alloc when the kernel refuses the mapping, as operator new does.
void* pool_map(std::size_t bytes);
void pool_unmap(void* p, std::size_t bytes) noexcept;

template <class T>
struct pool_allocator {
  using value_type = T;
  pool_allocator() noexcept = default;
  template <class U>
  pool_allocator(const pool_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(pool_map(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { pool_unmap(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const pool_allocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using pool_vector = std::vector<T, pool_allocator<T>>;

}  // namespace sluice
