#include "common/pool_memory.h"

#include <sys/mman.h>

#include <cstdint>

#include "common/assert.h"

namespace sluice {
namespace {

constexpr std::size_t k_huge = std::size_t{2} << 20;

// The mapping is rounded up to whole huge pages and placed on a 2 MiB
// boundary (a huge page can only back an aligned 2 MiB range): map 2 MiB
// more than needed and give back the ends.
std::size_t mapped_sz(std::size_t bytes) noexcept { return (bytes + k_huge - 1) / k_huge * k_huge; }

}  // namespace

void* pool_map(std::size_t bytes) {
  if (bytes < k_huge) return ::operator new(bytes == 0 ? 1 : bytes);
  const std::size_t sz = mapped_sz(bytes);
  void* raw = ::mmap(nullptr, sz + k_huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto base = reinterpret_cast<std::uintptr_t>(raw);
  const auto aligned = (base + k_huge - 1) / k_huge * k_huge;
  if (aligned > base) ::munmap(raw, aligned - base);
  if (const auto tail = base + sz + k_huge - (aligned + sz); tail > 0)
    ::munmap(reinterpret_cast<void*>(aligned + sz), tail);
  auto* p = reinterpret_cast<void*>(aligned);
  (void)::madvise(p, sz, MADV_HUGEPAGE);
  (void)::madvise(p, sz, MADV_POPULATE_WRITE);
  return p;
}

void pool_unmap(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes < k_huge) {
    ::operator delete(p);
    return;
  }
  ::munmap(p, mapped_sz(bytes));
}

}  // namespace sluice
