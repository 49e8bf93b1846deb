// storage/persistence_test.cc — both persistence implementations against one contract,
// the memory one's faults, and io_uring on a real directory under /tmp; the
// start-up window_reader on top of them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "storage/aligned_buffer.h"
#include "storage/memory_persistence.h"
#include "storage/uring_persistence.h"
#include "storage/window_reader.h"

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

// ---- window_reader ---------------------------------------------------------------

std::byte pattern(segment_id s, std::uint64_t off) noexcept {
  return static_cast<std::byte>((off * 131 + off / 4096 + s.value() * 7) & 0xFF);
}

// A segment of `sz` bytes holding pattern(), created and written blocking.
void make_patterned(persistence& p, segment_id s, std::uint64_t sz) {
  ASSERT_TRUE(p.submit_create(s, sz, 1).ok());
  ASSERT_GE(wait_one(p).res, 0);
  aligned_buffer b(sz);
  for (std::uint64_t i = 0; i < sz; ++i) b.data()[i] = pattern(s, i);
  ASSERT_TRUE(p.write_blocking(s, 0, b.span()).ok());
}

void expect_pattern(segment_id s, std::uint64_t pos, bytes got, std::size_t need) {
  ASSERT_GE(got.size(), need) << "at " << pos;
  for (std::size_t i = 0; i < need; ++i)
    if (got[i] != pattern(s, pos + i)) FAIL() << "segment " << s.value() << " byte " << pos + i;
}

constexpr window_reader::options k_small{.window_sz = 64 * 1024, .depth = 2};

TEST(window_reader, reads_what_is_on_disk_across_windows_and_segments) {
  memory_persistence p;
  make_patterned(p, segment_id{1}, k_seg_sz);
  make_patterned(p, segment_id{2}, k_seg_sz);
  window_reader wr(p, k_small);
  wr.add_segment(segment_id{1}, k_seg_sz);
  wr.add_segment(segment_id{2}, k_seg_sz);
  for (const segment_id s : {segment_id{1}, segment_id{2}}) {
    for (std::uint64_t pos = 0; pos < k_seg_sz; pos += 5000) {
      const std::size_t need = static_cast<std::size_t>(std::min<std::uint64_t>(5000, k_seg_sz - pos));
      const auto got = wr.at(s, pos, need);
      ASSERT_TRUE(got.ok());
      expect_pattern(s, pos, *got, need);
    }
  }
  // Ranges straddling two windows, one spanning three, one ending at the segment's end.
  for (const auto& [pos, len] : {std::pair<std::uint64_t, std::size_t>{40'000, 40'000}, {100'001, 40'000},
                                 {60'000, 150'000}, {k_seg_sz - 40'000, 40'000}}) {
    const auto got = wr.at(segment_id{1}, pos, len);
    ASSERT_TRUE(got.ok());
    expect_pattern(segment_id{1}, pos, *got, len);
  }
  EXPECT_GE(wr.bytes_read(), 2 * k_seg_sz);
  EXPECT_GT(wr.stitched(), 0u);
}

TEST(window_reader, a_sequential_pass_reads_each_byte_once) {
  memory_persistence p;
  make_patterned(p, segment_id{1}, k_seg_sz);
  window_reader wr(p, k_small);
  wr.add_segment(segment_id{1}, k_seg_sz);
  // Records of 5,000 bytes: every window boundary falls inside one.
  for (std::uint64_t pos = 0; pos < k_seg_sz; pos += 5000) {
    const std::size_t need = static_cast<std::size_t>(std::min<std::uint64_t>(5000, k_seg_sz - pos));
    const auto got = wr.at(segment_id{1}, pos, need);
    ASSERT_TRUE(got.ok());
    expect_pattern(segment_id{1}, pos, *got, need);
  }
  wr.drain();
  EXPECT_EQ(wr.bytes_read(), k_seg_sz);
  EXPECT_EQ(wr.stitched(), 3u) << "one range across each of the three inner boundaries";
}

TEST(window_reader, windows_read_ahead_are_kept_until_used) {
  memory_persistence p;
  make_patterned(p, segment_id{1}, k_seg_sz);
  window_reader::options o = k_small;
  o.sequential = false;
  window_reader wr(p, o);
  wr.add_segment(segment_id{1}, k_seg_sz);
  const std::uint64_t step = o.window_sz;
  wr.prefetch(segment_id{1}, 1 * step);
  wr.prefetch(segment_id{1}, 2 * step);
  wr.prefetch(segment_id{1}, 3 * step);
  wr.prefetch(segment_id{1}, 4 * step);  // no idle buffer left (depth 2: three buffers): not read
  // Window 0 was not asked for: it takes the buffer of the window needed
  // last (3), not those of 1 and 2.
  for (const std::uint64_t w : {0u, 1u, 2u}) {
    const auto got = wr.at(segment_id{1}, w * step + 10, 100);
    ASSERT_TRUE(got.ok());
    expect_pattern(segment_id{1}, w * step + 10, *got, 100);
  }
  EXPECT_EQ(wr.bytes_read(), 4 * o.window_sz) << "windows 1, 2, 3 read ahead once, 0 on demand";
  EXPECT_EQ(wr.window_of(2 * step + 5), 2u);
}

TEST(window_reader, a_file_cut_short_reads_as_zeros_past_its_end) {
  temp_dir d;
  auto p = make_uring(d.path, sync_mode::rwf_dsync);
  if (!p) GTEST_SKIP() << "io_uring unavailable here";
  make_patterned(*p, segment_id{3}, k_seg_sz);
  const std::uint64_t cut = 70'000;  // inside the second window, not on a block boundary
  std::filesystem::resize_file(d.path / "0000000000000003.sjl", cut);
  const auto sz = p->open_segment(segment_id{3});
  ASSERT_TRUE(sz.ok());
  ASSERT_EQ(*sz, cut);
  window_reader wr(*p, k_small);  // the read ahead of window 1 comes back short: read again, blocking
  wr.add_segment(segment_id{3}, *sz);
  const auto head = wr.at(segment_id{3}, 0, 1000);
  ASSERT_TRUE(head.ok());
  expect_pattern(segment_id{3}, 0, *head, 1000);
  const auto tail = wr.at(segment_id{3}, 60'000, 10'000);
  ASSERT_TRUE(tail.ok());
  expect_pattern(segment_id{3}, 60'000, *tail, 10'000);
  const auto past = wr.at(segment_id{3}, cut, align_up(cut, k_block_sz) - cut);
  ASSERT_TRUE(past.ok());
  for (std::size_t i = 0; i < align_up(cut, k_block_sz) - cut; ++i) ASSERT_EQ((*past)[i], std::byte{0});
}

}  // namespace
}  // namespace sluice::storage
