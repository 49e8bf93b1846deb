// SPSC ring: full and empty edges first, then a two-thread transfer that
// checks order and count.
#include "common/spsc_ring.h"

#include <gtest/gtest.h>

#include <thread>

namespace sluice {
namespace {

TEST(spsc_ring, full_ring_refuses_and_empty_ring_returns_nothing) {
  spsc_ring<int> r(4);
  EXPECT_FALSE(r.pop().has_value());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.push(int{i}));
  EXPECT_FALSE(r.push(99));  // full: refused, nothing overwritten
  for (int i = 0; i < 4; ++i) EXPECT_EQ(*r.pop(), i);
  EXPECT_FALSE(r.pop().has_value());
}

TEST(spsc_ring, free_slots_counts_what_push_will_take) {
  spsc_ring<int> r(4);
  EXPECT_EQ(r.free_slots(), 4u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(r.push(int{i}));
  EXPECT_EQ(r.free_slots(), 1u);
  ASSERT_TRUE(r.push(3));
  EXPECT_EQ(r.free_slots(), 0u);
  EXPECT_FALSE(r.push(4));
  (void)r.pop();
  (void)r.pop();
  EXPECT_EQ(r.free_slots(), 2u);
  EXPECT_TRUE(r.push(5));
  EXPECT_TRUE(r.push(6));
  EXPECT_FALSE(r.push(7));
}

TEST(spsc_ring, wraps_around_many_times) {
  spsc_ring<std::uint64_t> r(8);
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    while (r.push(std::uint64_t{next_in})) ++next_in;
    while (auto v = r.pop()) EXPECT_EQ(*v, next_out++);
  }
  EXPECT_EQ(next_in, next_out);
}

TEST(spsc_ring, two_threads_keep_order_and_lose_nothing) {
  constexpr std::uint64_t n = 1'000'000;
  spsc_ring<std::uint64_t> r(1024);
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < n;) {
      if (r.push(std::uint64_t{i})) ++i;
    }
  });
  std::uint64_t expect = 0;
  while (expect < n) {
    if (auto v = r.pop()) {
      ASSERT_EQ(*v, expect);
      ++expect;
    }
  }
  producer.join();
  EXPECT_FALSE(r.pop().has_value());
}

}  // namespace
}  // namespace sluice
