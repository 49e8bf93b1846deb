// common/pool_memory_test.cc — pool_allocator: big pools mapped on their own, small ones from the heap.
#include "common/pool_memory.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace sluice {
namespace {

struct slot {
  std::uint64_t key = 0;
  std::uint32_t value = 7;
};

TEST(pool_memory, a_big_pool_is_huge_page_aligned_and_value_initialised) {
  pool_vector<slot> v(600'000);  // 9.6 MB: mapped on its own
  ASSERT_EQ(v.size(), 600'000u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % (std::uintptr_t{2} << 20), 0u);
  for (std::size_t i = 0; i < v.size(); i += 4099) {
    EXPECT_EQ(v[i].key, 0u);
    EXPECT_EQ(v[i].value, 7u);
  }
  v.back().key = 1;  // the whole range is writable
  v.assign(700'000, slot{3, 4});  // a bigger one: mapped again, the old one returned
  EXPECT_EQ(v.back().key, 3u);
}

TEST(pool_memory, a_small_pool_comes_from_the_heap) {
  pool_vector<slot> v(10);
  ASSERT_EQ(v.size(), 10u);
  EXPECT_EQ(v[9].value, 7u);
  v.clear();
  v.shrink_to_fit();
  EXPECT_EQ(v.capacity(), 0u);
}

}  // namespace
}  // namespace sluice
