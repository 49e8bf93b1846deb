// The allocation guard catches heap allocation on an armed thread, counts it
// in count mode, ignores other threads and allow scopes, and aborts in abort
// mode.
#include "common/alloc_guard.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace sluice {
namespace {

struct guard_reset {
  ~guard_reset() {
    alloc_guard::arm_this_thread(false);
    alloc_guard::set_mode(alloc_guard::mode::off);
  }
};

TEST(alloc_guard, replacement_is_linked_into_this_binary) { EXPECT_TRUE(alloc_guard::linked()); }

TEST(alloc_guard, counts_allocations_on_armed_threads_only) {
  guard_reset reset;
  alloc_guard::set_mode(alloc_guard::mode::count);
  const auto before = alloc_guard::violations();
  auto unarmed = std::make_unique<int>(1);  // not armed: not counted
  EXPECT_EQ(alloc_guard::violations(), before);
  alloc_guard::arm_this_thread(true);
  auto armed = std::make_unique<int>(2);
  EXPECT_EQ(alloc_guard::violations(), before + 1);
  {
    alloc_guard::allow allowed;
    std::vector<int> v(100);  // allowed scope: not counted
  }
  EXPECT_EQ(alloc_guard::violations(), before + 1);
  {
    alloc_guard::allow allowed;  // starting a thread allocates its state here
    std::thread other([] { auto p = std::make_unique<int>(3); });  // other threads are not armed
    other.join();
  }
  alloc_guard::arm_this_thread(false);
  EXPECT_EQ(alloc_guard::violations(), before + 1);
}

TEST(alloc_guard_death, abort_mode_stops_the_process) {
  EXPECT_DEATH(
      {
        alloc_guard::set_mode(alloc_guard::mode::abort);
        alloc_guard::arm_this_thread(true);
        auto p = std::make_unique<std::vector<int>>(10);
        (void)p;
      },
      "heap allocation of .* bytes on an armed hot-path thread");
}

}  // namespace
}  // namespace sluice
