// storage/persistence_test.cc — both persistence implementations against one contract,
// the memory one's faults, and io_uring on a real directory under /tmp.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "storage/aligned_buffer.h"
#include "storage/memory_persistence.h"
#include "storage/uring_persistence.h"

namespace sluice::storage {
namespace {

constexpr std::uint64_t k_seg_sz = 256 * 1024;

io_completion wait_one(persistence& p) {
  io_completion c[1];
  const std::size_t n = p.wait(c);
  EXPECT_EQ(n, 1u);
  return n == 1 ? c[0] : io_completion{0, -9999};
}

// The contract both implementations keep.
void exercise(persistence& p) {
  ASSERT_TRUE(p.submit_create(segment_id{2}, k_seg_sz, 11).ok());
  EXPECT_EQ(p.submit_create(segment_id{2}, k_seg_sz, 12).error(), errc::duplicate);
  auto c = wait_one(p);
  EXPECT_EQ(c.token, 11u);
  EXPECT_EQ(c.res, 0);
  EXPECT_EQ(p.in_flight(), 0u);

  aligned_buffer buf(2 * k_block_sz);
  for (std::size_t i = 0; i < buf.size(); ++i) buf.data()[i] = static_cast<std::byte>(i * 7);
  ASSERT_TRUE(p.submit_write(segment_id{2}, k_block_sz, buf.span(), true, 21).ok());
  EXPECT_EQ(p.submit_write(segment_id{9}, 0, buf.span(), true, 22).error(), errc::not_found);
  c = wait_one(p);
  EXPECT_EQ(c.token, 21u);
  EXPECT_EQ(c.res, static_cast<std::int32_t>(buf.size()));

  aligned_buffer back(4 * k_block_sz);
  ASSERT_TRUE(p.read_blocking(segment_id{2}, 0, back.span()).ok());
  EXPECT_EQ(back.data()[0], std::byte{0});  // pre-zeroed
  EXPECT_EQ(std::memcmp(back.data() + k_block_sz, buf.data(), buf.size()), 0);
  EXPECT_EQ(back.data()[3 * k_block_sz], std::byte{0});

  aligned_buffer async_back(k_block_sz);
  ASSERT_TRUE(p.submit_read(segment_id{2}, 2 * k_block_sz, async_back.span(), 31).ok());
  c = wait_one(p);
  EXPECT_EQ(c.token, 31u);
  EXPECT_EQ(std::memcmp(async_back.data(), buf.data() + k_block_sz, k_block_sz), 0);

  std::vector<segment_id> segs;
  ASSERT_TRUE(p.list_segments(segs).ok());
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0], segment_id{2});
  auto sz = p.open_segment(segment_id{2});
  ASSERT_TRUE(sz.ok());
  EXPECT_EQ(*sz, k_seg_sz);
  EXPECT_EQ(p.open_segment(segment_id{3}).error(), errc::not_found);

  ASSERT_TRUE(p.submit_remove(segment_id{2}, 41).ok());
  c = wait_one(p);
  EXPECT_EQ(c.token, 41u);
  EXPECT_EQ(c.res, 0);
  ASSERT_TRUE(p.list_segments(segs).ok());
  EXPECT_TRUE(segs.empty());
  io_completion none[1];
  EXPECT_EQ(p.poll(none), 0u);
}

TEST(memory_persistence, contract) {
  memory_persistence p;
  exercise(p);
}

TEST(memory_persistence, failed_torn_corrupt_and_crash) {
  memory_persistence p;
  ASSERT_TRUE(p.submit_create(segment_id{1}, k_seg_sz, 1).ok());
  EXPECT_EQ(wait_one(p).res, 0);
  aligned_buffer buf(k_block_sz);
  std::memset(buf.data(), 0x11, buf.size());

  p.fail_next_write(EIO);
  ASSERT_TRUE(p.submit_write(segment_id{1}, 0, buf.span(), true, 2).ok());
  EXPECT_EQ(wait_one(p).res, -EIO);
  aligned_buffer back(k_block_sz);
  ASSERT_TRUE(p.read_blocking(segment_id{1}, 0, back.span()).ok());
  EXPECT_EQ(back.data()[0], std::byte{0});

  ASSERT_TRUE(p.submit_write(segment_id{1}, 0, buf.span(), false, 3).ok());  // not synced
  EXPECT_EQ(wait_one(p).res, static_cast<std::int32_t>(k_block_sz));
  p.crash();
  ASSERT_TRUE(p.read_blocking(segment_id{1}, 0, back.span()).ok());
  EXPECT_EQ(back.data()[0], std::byte{0}) << "an unsynced write must not survive a crash";

  p.tear_next_write(100);
  ASSERT_TRUE(p.submit_write(segment_id{1}, 0, buf.span(), true, 4).ok());
  io_completion c[1];
  EXPECT_EQ(p.poll(c), 0u);
  EXPECT_EQ(p.in_flight(), 1u);
  p.crash();
  ASSERT_TRUE(p.read_blocking(segment_id{1}, 0, back.span()).ok());
  EXPECT_EQ(back.data()[99], std::byte{0x11});
  EXPECT_EQ(back.data()[100], std::byte{0});

  p.corrupt_next_write(5);
  ASSERT_TRUE(p.submit_write(segment_id{1}, 0, buf.span(), true, 5).ok());
  EXPECT_GT(wait_one(p).res, 0);
  ASSERT_TRUE(p.read_blocking(segment_id{1}, 0, back.span()).ok());
  EXPECT_NE(back.data()[5], std::byte{0x11});
  EXPECT_EQ(back.data()[6], std::byte{0x11});

  p.fail_next_create(ENOSPC);
  ASSERT_TRUE(p.submit_create(segment_id{2}, k_seg_sz, 6).ok());
  EXPECT_EQ(wait_one(p).res, -ENOSPC);
  EXPECT_EQ(p.segment_cnt(), 1u);
}

// A fresh directory under /tmp (ext4 here, so O_DIRECT works), removed after.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    char tmpl[] = "/tmp/sluice_storage_XXXXXX";
    SLUICE_ASSERT(::mkdtemp(tmpl) != nullptr, "mkdtemp");
    path = tmpl;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

std::unique_ptr<uring_persistence> make_uring(const std::string& dir, sync_mode m) {
  try {
    return std::make_unique<uring_persistence>(uring_settings{dir, 64, m, 64 * 1024, 2});
  } catch (const std::runtime_error& e) {
    std::printf("skip: %s\n", e.what());
    return nullptr;
  }
}

TEST(uring_persistence, contract_rwf_dsync) {
  temp_dir d;
  auto p = make_uring(d.path, sync_mode::rwf_dsync);
  if (!p) GTEST_SKIP() << "io_uring unavailable here";
  exercise(*p);
}

TEST(uring_persistence, contract_linked_fdatasync) {
  temp_dir d;
  auto p = make_uring(d.path, sync_mode::linked_fdatasync);
  if (!p) GTEST_SKIP() << "io_uring unavailable here";
  exercise(*p);
}

TEST(uring_persistence, segment_file_is_preallocated_and_zeroed) {
  temp_dir d;
  auto p = make_uring(d.path, sync_mode::rwf_dsync);
  if (!p) GTEST_SKIP() << "io_uring unavailable here";
  ASSERT_TRUE(p->submit_create(segment_id{5}, k_seg_sz, 1).ok());
  EXPECT_EQ(wait_one(*p).res, 0);
  const auto f = d.path / "0000000000000005.sjl";
  EXPECT_EQ(std::filesystem::file_size(f), k_seg_sz);
  EXPECT_EQ(p->submit_create(segment_id{5}, k_seg_sz, 2).error(), errc::duplicate);
}

}  // namespace
}  // namespace sluice::storage
