// Replacement global operator new/delete for the allocation guard. Built as
// an OBJECT library (sluice_alloc_guard) so that exactly the binaries that
// link it get the replacement: sluice-broker and its tests.
#include <cstddef>
#include <cstdlib>
#include <new>

#include "common/alloc_guard.h"

namespace sluice::alloc_guard::detail {
void on_allocate(std::size_t sz) noexcept;
void mark_linked() noexcept;
}  // namespace sluice::alloc_guard::detail

namespace {
void* allocate(std::size_t sz, std::size_t align) {
  sluice::alloc_guard::detail::on_allocate(sz);
  if (sz == 0) sz = 1;
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (sz + align - 1) / align * align)
                                              : std::malloc(sz);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
[[maybe_unused]] const bool g_marked = (sluice::alloc_guard::detail::mark_linked(), true);
}  // namespace


void* operator new(std::size_t sz) { return allocate(sz, 0); }
void* operator new[](std::size_t sz) { return allocate(sz, 0); }
void* operator new(std::size_t sz, std::align_val_t a) { return allocate(sz, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t sz, std::align_val_t a) { return allocate(sz, static_cast<std::size_t>(a)); }
void* operator new(std::size_t sz, const std::nothrow_t&) noexcept {
  try {
    return allocate(sz, 0);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t sz, const std::nothrow_t&) noexcept {
  try {
    return allocate(sz, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
