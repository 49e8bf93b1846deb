// datapath/queue/message_store_test.cc — size classes, reuse, borrowing, exhaustion.
#include "datapath/queue/message_store.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::queue {
namespace {

TEST(message_store, classes_are_powers_of_two_from_64_bytes_to_2_mib) {
  EXPECT_EQ(message_store::class_size(message_store::class_of(1)), 64u);
  EXPECT_EQ(message_store::class_size(message_store::class_of(64)), 64u);
  EXPECT_EQ(message_store::class_size(message_store::class_of(65)), 128u);
  EXPECT_EQ(message_store::class_size(message_store::class_of(1024)), 1024u);
  EXPECT_EQ(message_store::class_size(message_store::class_of(1104)), 2048u);
  EXPECT_EQ(message_store::class_of(2u << 20), message_store::k_class_cnt - 1);
  EXPECT_EQ(message_store::class_size(message_store::k_class_cnt - 1), 2u << 20);
}

TEST(message_store, freed_blocks_are_reused_and_counted) {
  message_store st(1u << 20, -1);
  const auto a = st.take(1000);
  ASSERT_NE(a.data, nullptr);
  EXPECT_EQ(st.in_use_bytes(), 1024u);
  st.give(a);
  EXPECT_EQ(st.in_use_bytes(), 0u);
  const auto b = st.take(1000);
  EXPECT_EQ(b.data, a.data);
  EXPECT_EQ(st.carved_bytes(), 1024u);
  EXPECT_EQ(st.take((2u << 20) + 1).data, nullptr) << "larger than the largest class";
}

TEST(message_store, a_full_arena_lends_a_larger_free_block_before_refusing) {
  message_store st(64 * 1024, -1);
  std::vector<message_store::block> big;
  for (;;) {  // carve the whole arena into 2 KiB blocks
    const auto b = st.take(2048);
    if (b.data == nullptr) break;
    big.push_back(b);
  }
  ASSERT_EQ(big.size(), 32u);
  EXPECT_EQ(st.take(100).data, nullptr) << "nothing free";
  st.give(big.back());
  big.pop_back();
  const auto small = st.take(100);  // borrows the free 2 KiB block
  ASSERT_NE(small.data, nullptr);
  EXPECT_EQ(st.in_use_bytes(), 32u * 2048);
  EXPECT_EQ(st.take(100).data, nullptr);
  st.give(small);  // back to the 2 KiB list: a 2 KiB request gets it
  EXPECT_NE(st.take(2048).data, nullptr);
  EXPECT_EQ(st.carved_bytes(), 64u * 1024);
}

}  // namespace
}  // namespace sluice::queue
