// The allocation guard's state. The operator new replacement that consults
// it is alloc_guard_new.cc, linked only into binaries that opt in.
#include "common/alloc_guard.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace sluice::alloc_guard {
namespace {
std::atomic<mode> g_mode{mode::off};
std::atomic<std::uint64_t> g_violations{0};
thread_local bool t_armed = false;
thread_local int t_allow_depth = 0;

std::atomic<bool> g_linked{false};
}  // namespace

namespace detail {
void on_allocate(std::size_t sz) noexcept {
  const mode m = g_mode.load(std::memory_order_relaxed);
  if (m == mode::off || !t_armed || t_allow_depth > 0) return;
  g_violations.fetch_add(1, std::memory_order_relaxed);
  if (m == mode::abort) {
    std::fprintf(stderr, "sluice: heap allocation of %zu bytes on an armed hot-path thread\n", sz);
    std::abort();
  }
}
void mark_linked() noexcept { g_linked.store(true, std::memory_order_relaxed); }
}  // namespace detail

void set_mode(mode m) noexcept { g_mode.store(m, std::memory_order_relaxed); }
mode get_mode() noexcept { return g_mode.load(std::memory_order_relaxed); }
void arm_this_thread(bool armed) noexcept { t_armed = armed; }
bool linked() noexcept { return g_linked.load(std::memory_order_relaxed); }
std::uint64_t violations() noexcept { return g_violations.load(std::memory_order_relaxed); }
allow::allow() noexcept { ++t_allow_depth; }
allow::~allow() { --t_allow_depth; }

}  // namespace sluice::alloc_guard

