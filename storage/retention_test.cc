// storage/retention_test.cc — disk use stays bounded under steady produce/confirm,
// compaction copies long-lived messages forward, and a real io_uring journal
// survives a restart.
#include <gtest/gtest.h>

#include <unistd.h>

#include <deque>
#include <filesystem>

#include "common/rng.h"
#include "storage/journal_test_util.h"
#include "storage/memory_persistence.h"
#include "storage/record_test_util.h"
#include "storage/uring_persistence.h"

namespace sluice::storage {
namespace {

using test::as_bytes;
using test::make_id;

journal_config cfg() {
  journal_config c;
  c.segment_sz = 64 * 1024;
  c.batch_sz = 16 * 1024;
  c.batch_cnt = 3;
  c.commit_sz_budget = 8 * 1024;
  c.live_messages_max = 8192;
  c.segments_soft_max = 4;
  return c;
}

// Steady load: every message is confirmed 50 messages later, except every
// 100th, which stays unconfirmed for the whole run (a stuck consumer).
TEST(retention, disk_use_stays_bounded_under_steady_produce_confirm) {
  const std::uint64_t seed = 42;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  splitmix64 rng(seed);
  memory_persistence p;
  test::recording_listener l;
  journal j(p, cfg(), l, journal_state(8192));
  ASSERT_TRUE(j.start(segment_id{0}, 0).ok());
  ASSERT_TRUE(j.append_queue_created(queue_id{1}, 1, as_bytes("d/q"), {}).ok());
  std::deque<int> pending;
  std::size_t max_segments = 0;
  std::uint64_t max_disk = 0;
  int stuck = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string body(100 + rng.below(400), 'm');
    for (;;) {
      const auto r = j.append_message(queue_id{1}, make_id(i), {}, as_bytes(body));
      if (r.ok()) break;
      ASSERT_EQ(r.error(), errc::backpressure);
      j.commit();
      j.poll();
    }
    if (i % 100 == 0) {
      ++stuck;
    } else {
      pending.push_back(i);
    }
    while (pending.size() > 50) {
      for (;;) {
        const auto r = j.append_confirm(queue_id{1}, make_id(pending.front()), 0);
        if (r.ok()) break;
        ASSERT_EQ(r.error(), errc::backpressure);
        j.commit();
        j.poll();
      }
      pending.pop_front();
    }
    if (i % 8 == 0) {
      j.commit();
      j.poll();
    }
    max_segments = std::max(max_segments, j.segment_cnt());
    max_disk = std::max(max_disk, p.disk_bytes());
  }
  test::drain(j, p);
  std::printf("segments max %zu, disk max %llu KiB, compacted %llu messages, removed %llu segments\n",
              max_segments, static_cast<unsigned long long>(max_disk / 1024),
              static_cast<unsigned long long>(j.stats().compacted_messages),
              static_cast<unsigned long long>(j.stats().segments_removed));
  // ~5 MiB were written in all; what stays is a few segments.
  EXPECT_LE(max_segments, cfg().segments_soft_max + 3u);
  EXPECT_LE(max_disk, (cfg().segments_soft_max + 4u) * cfg().segment_sz);
  EXPECT_GT(j.stats().compacted_messages, 0u);
  EXPECT_GT(j.stats().segments_removed, 20u);
  EXPECT_EQ(j.state().queue(queue_id{1})->live_cnt, pending.size() + static_cast<std::size_t>(stuck));

  // Everything still live, stuck messages included, survives a crash, once.
  p.crash();
  journal_state st(8192);
  recovery_report rep;
  ASSERT_TRUE(recover(p, {}, st, rep).ok()) << rep.log;
  EXPECT_EQ(st.queue(queue_id{1})->live_cnt, pending.size() + static_cast<std::size_t>(stuck));
  EXPECT_EQ(st.queue(queue_id{1})->name, "d/q");
  test::collected got;
  ASSERT_TRUE(replay_live(p, st, got).ok());
  EXPECT_EQ(got.msgs.size(), pending.size() + static_cast<std::size_t>(stuck));
}

TEST(retention, compaction_moves_the_oldest_segment_forward) {
  memory_persistence p;
  test::recording_listener l;
  journal_config c = cfg();
  c.segments_soft_max = 1000;  // no automatic compaction
  journal j(p, c, l, journal_state(8192));
  ASSERT_TRUE(j.start(segment_id{0}, 0).ok());
  ASSERT_TRUE(j.append_queue_created(queue_id{1}, 2, as_bytes("d/q"), {}).ok());
  const std::string body(600, 'b');
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(j.append_message(queue_id{1}, make_id(i), {}, as_bytes(body)).ok());
    if (i == 1) {  // redelivered, recorded in the segment compaction deletes: the copy carries the count
      ASSERT_TRUE(j.append_delivered(queue_id{1}, make_id(1), 0, 3).ok());
      ASSERT_TRUE(j.append_delivered(queue_id{1}, make_id(1), 1, 2).ok());  // the largest count wins
    }
    if (i % 10 == 0) test::drain(j, p);
  }
  ASSERT_TRUE(j.append_confirm(queue_id{1}, make_id(0), 1).ok());  // half-confirmed: its mask moves too
  EXPECT_EQ(j.append_delivered(queue_id{1}, make_id(9999), 0, 2).error(), errc::unknown_message);
  EXPECT_EQ(j.append_delivered(queue_id{1}, make_id(1), 0, 0).error(), errc::bad_field);
  test::drain(j, p);
  const segment_id oldest = j.state().segments().front().segment;
  EXPECT_GT(j.state().segments().front().live_cnt, 0u);
  ASSERT_TRUE(j.compact_oldest());
  test::drain(j, p);
  EXPECT_GT(j.state().segments().front().segment, oldest) << "the oldest segment was deleted";
  EXPECT_EQ(j.state().queue(queue_id{1})->live_cnt, 400u);
  const live_message* m0 = const_cast<journal_state&>(j.state()).find_message(queue_id{1}, make_id(0));
  ASSERT_NE(m0, nullptr);
  EXPECT_EQ(m0->confirmed_mask, 2u);
  EXPECT_EQ(m0->origin_seq, seq_no{2});
  p.crash();
  journal_state st(8192);
  recovery_report rep;
  ASSERT_TRUE(recover(p, {}, st, rep).ok()) << rep.log;
  EXPECT_EQ(st.queue(queue_id{1})->live_cnt, 400u);
  EXPECT_EQ(st.find_message(queue_id{1}, make_id(0))->confirmed_mask, 2u);
  EXPECT_EQ(st.find_message(queue_id{1}, make_id(1))->delivery_cnt, 3u);
  EXPECT_EQ(st.find_message(queue_id{1}, make_id(2))->delivery_cnt, 0u);
  test::collected got;
  ASSERT_TRUE(replay_live(p, st, got).ok());
  ASSERT_EQ(got.msgs.size(), 400u);
  for (const auto& m : got.msgs) EXPECT_EQ(m.delivery_cnt, m.id == make_id(1) ? 3u : 0u);
}

TEST(uring_journal, commits_are_durable_on_a_real_directory) {
  char tmpl[] = "/tmp/sluice_journal_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  seq_no last;
  {
    std::unique_ptr<uring_persistence> p;
    try {
      p = std::make_unique<uring_persistence>(uring_settings{dir});
    } catch (const std::runtime_error& e) {
      std::filesystem::remove_all(dir);
      GTEST_SKIP() << e.what();
    }
    test::recording_listener l;
    journal j(*p, cfg(), l, journal_state(8192));
    ASSERT_TRUE(j.start(segment_id{0}, 0).ok());
    ASSERT_TRUE(j.append_queue_created(queue_id{3}, 1, as_bytes("d/disk"), {}).ok());
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(j.append_message(queue_id{3}, make_id(i), as_bytes("p"), as_bytes("payload")).ok());
      if (i % 50 == 0) test::drain(j, *p);
    }
    for (int i = 0; i < 500; i += 2) ASSERT_TRUE(j.append_confirm(queue_id{3}, make_id(i), 0).ok());
    test::drain(j, *p);
    EXPECT_EQ(l.durable, j.last_seq());
    EXPECT_TRUE(l.failed.empty());
    last = j.last_seq();
  }
  uring_persistence p2(uring_settings{dir});
  journal_state st(8192);
  recovery_report rep;
  ASSERT_TRUE(recover(p2, {}, st, rep).ok()) << rep.log;
  EXPECT_EQ(st.last_seq(), last);
  EXPECT_EQ(st.queue(queue_id{3})->live_cnt, 250u);
  test::collected got;
  ASSERT_TRUE(replay_live(p2, st, got).ok());
  ASSERT_EQ(got.msgs.size(), 250u);
  EXPECT_EQ(got.msgs[0].payload, "payload");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::storage
