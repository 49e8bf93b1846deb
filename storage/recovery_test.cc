// storage/recovery_test.cc — crash, torn tail, corrupt middle, salvage, restart.
#include <gtest/gtest.h>

#include <memory>

#include "common/rng.h"
#include "storage/journal_test_util.h"
#include "storage/journal_tool.h"
#include "storage/memory_persistence.h"
#include "storage/record_test_util.h"

namespace sluice::storage {
namespace {

using test::as_bytes;
using test::make_id;

journal_config cfg() {
  journal_config c;
  c.segment_sz = 64 * 1024;
  c.batch_sz = 16 * 1024;
  c.batch_cnt = 3;
  c.commit_sz_budget = 16 * 1024;
  c.live_messages_max = 4096;
  c.segments_soft_max = 1000;
  return c;
}

// A broker's life: recover what is on `p`, run a journal on top of it.
struct life {
  persistence& p;
  test::recording_listener l;
  recovery_report rep;
  status<errc> recovered;
  std::unique_ptr<journal> j;
  explicit life(persistence& pers, recovery_options opt = {}) : p(pers) {
    journal_state st(4096);
    opt.segment_sz = cfg().segment_sz;
    recovered = recover(p, opt, st, rep);
    if (!recovered) return;
    j = std::make_unique<journal>(p, cfg(), l, std::move(st));
    EXPECT_TRUE(j->start(rep.last_segment, rep.resume_off, rep.spare_segment).ok());
    test::drain(*j, p);
  }
  std::uint64_t live(std::uint32_t q) const {
    const auto* qs = j->state().queue(queue_id{q});
    return qs ? qs->live_cnt : 0;
  }
};

void put(journal& j, int from, int to, std::string_view payload = "payload") {
  for (int i = from; i < to; ++i) ASSERT_TRUE(j.append_message(queue_id{1}, make_id(i), {}, as_bytes(payload)).ok());
}

// ---- failure cases first ------------------------------------------------------------------

TEST(recovery, segment_zeroed_after_a_torn_first_commit_is_skipped_by_the_next_recovery) {
  memory_persistence p;
  int n = 0;
  {
    life a(p);
    ASSERT_TRUE(a.j->append_queue_created(queue_id{1}, 1, as_bytes("d/q"), {}).ok());
    test::drain(*a.j, p);
    // Fill segment 1; tear the first commit that goes to segment 2 inside
    // its header block, with segment 3 already preallocated.
    for (;; ++n) {
      ASSERT_LT(n, 10000);
      ASSERT_TRUE(a.j->append_message(queue_id{1}, make_id(n), {}, as_bytes(std::string(700, 'x'))).ok());
      if (a.j->state().segments().back().segment == segment_id{2}) break;
      test::drain(*a.j, p);
    }
    ++n;
    p.tear_next_write(20);
    a.j->commit();
    for (int i = 0; i < 100; ++i) a.j->poll();  // the creation of segment 3 completes
    p.crash();
  }
  {
    life b(p);  // zeroes the torn segment 2 and resumes in segment 3
    ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
    EXPECT_TRUE(b.rep.torn_tail) << b.rep.log;
    put(*b.j, 50000, 50010);
    test::drain(*b.j, p);
  }
  life c(p);
  ASSERT_TRUE(c.recovered.ok()) << c.rep.log;
  EXPECT_GE(c.live(1), 10u);
  EXPECT_TRUE(c.rep.corrupt.empty()) << c.rep.log;
  EXPECT_NE(c.rep.log.find("0000000000000002.sjl is empty between written segments"), std::string::npos)
      << c.rep.log;
}


TEST(recovery, torn_last_commit_is_truncated_and_reported) {
  memory_persistence p;
  {
    life a(p);
    ASSERT_TRUE(a.j->append_queue_created(queue_id{1}, 1, as_bytes("d/q"), {}).ok());
    put(*a.j, 0, 10);
    test::drain(*a.j, p);
    put(*a.j, 10, 20);
    p.tear_next_write(300);  // the host dies 300 bytes into the second commit
    a.j->commit();
    a.j->poll();
    EXPECT_EQ(a.l.durable, seq_no{11});
    p.crash();
  }
  life b(p);
  ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
  EXPECT_TRUE(b.rep.torn_tail);
  EXPECT_GT(b.rep.truncated_bytes, 0u);
  EXPECT_NE(b.rep.log.find("torn tail in 0000000000000001.sjl at offset"), std::string::npos) << b.rep.log;
  EXPECT_GE(b.live(1), 10u);  // the 10 acknowledged, maybe some of the torn commit's first records
  EXPECT_LT(b.live(1), 20u);
  // The journal goes on where the tail was cut; a second recovery is clean.
  put(*b.j, 100, 110);
  test::drain(*b.j, p);
  const auto live_before = b.live(1);
  p.crash();
  life c(p);
  ASSERT_TRUE(c.recovered.ok()) << c.rep.log;
  EXPECT_FALSE(c.rep.torn_tail) << c.rep.log;
  EXPECT_EQ(c.live(1), live_before);
}

TEST(recovery, corrupt_middle_refused_unless_salvage) {
  memory_persistence p;
  {
    life a(p);
    ASSERT_TRUE(a.j->append_queue_created(queue_id{1}, 1, as_bytes("d/q"), {}).ok());
    test::drain(*a.j, p);
    p.corrupt_next_write(40);  // silently rots the first record of the second commit
    put(*a.j, 0, 10);
    test::drain(*a.j, p);
    put(*a.j, 10, 20);
    test::drain(*a.j, p);
    EXPECT_EQ(a.l.durable, a.j->last_seq());
    p.crash();
  }
  {
    life refused(p);
    EXPECT_EQ(refused.recovered.error(), errc::corrupt_middle);
    ASSERT_EQ(refused.rep.corrupt.size(), 1u);
    EXPECT_EQ(refused.rep.corrupt[0].code, errc::bad_crc);
    EXPECT_NE(refused.rep.log.find("refusing to start"), std::string::npos);
  }
  life salvaged(p, recovery_options{true, false});
  ASSERT_TRUE(salvaged.recovered.ok()) << salvaged.rep.log;
  EXPECT_EQ(salvaged.rep.corrupt.size(), 1u);
  EXPECT_EQ(salvaged.live(1), 10u) << "the third commit survives; the rotten one is skipped";
}

TEST(recovery, bit_rot_in_the_last_record_of_the_last_commit_is_a_tail) {
  memory_persistence p;
  segment_id seg;
  {
    life a(p);
    ASSERT_TRUE(a.j->append_queue_created(queue_id{1}, 1, as_bytes("d/q"), {}).ok());
    test::drain(*a.j, p);
    put(*a.j, 0, 3);
    test::drain(*a.j, p);
    const live_message* m = const_cast<journal_state&>(a.j->state()).find_message(queue_id{1}, make_id(2));
    seg = m->segment;
    p.corrupt_at_rest(seg, m->offset + 50);
    p.crash();
  }
  life b(p, recovery_options{false, true});  // read-only: reports, writes nothing
  ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
  EXPECT_TRUE(b.rep.torn_tail);
  EXPECT_EQ(b.rep.tail.code, errc::bad_crc);
  EXPECT_EQ(b.live(1), 2u);
}

// ---- normal operation ----------------------------------------------------------------------

TEST(recovery, empty_directory_starts_fresh) {
  memory_persistence p;
  life a(p);
  ASSERT_TRUE(a.recovered.ok());
  EXPECT_EQ(a.rep.segment_cnt, 0u);
  EXPECT_EQ(a.j->last_seq(), seq_no{0});
  p.crash();
  life b(p);  // segments created, never written
  ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
  EXPECT_FALSE(b.rep.torn_tail);
}

std::vector<segment_id> segments_of(persistence& p) {
  std::vector<segment_id> v;
  EXPECT_TRUE(p.list_segments(v).ok());
  return v;
}

void create_segment(persistence& p, segment_id s, std::uint64_t size) {
  ASSERT_TRUE(p.submit_create(s, size, 0).ok());
  io_completion done[1];
  ASSERT_EQ(p.wait(done), 1u);
  ASSERT_GE(done[0].res, 0);
}

// A first run that creates queue 1, stores `n` messages and stops.
void first_run(persistence& p, int n) {
  life a(p);
  ASSERT_TRUE(a.j->append_queue_created(queue_id{1}, 1, as_bytes("d/q"), {}).ok());
  put(*a.j, 0, n);
  test::drain(*a.j, p);
}

// The journal after a restart takes ten more messages (from `from` on).
void expect_writable(life& l, int from) {
  put(*l.j, from, from + 10);
  test::drain(*l.j, l.p);
  EXPECT_TRUE(l.l.failed.empty());
}

TEST(recovery, restarts_without_writes_do_not_add_segments) {
  memory_persistence p;
  first_run(p, 10);
  const auto first = segments_of(p);  // the written segment and the one created ahead of need
  ASSERT_EQ(first.size(), 2u);
  for (int i = 0; i < 5; ++i) {
    life b(p);
    ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
    EXPECT_EQ(b.live(1), 10u);
    EXPECT_EQ(segments_of(p), first) << "restart " << i;
  }
  // Once the journal writes into its spare, a restart keeps the next one.
  {
    life c(p);
    const auto in_second = [&] {
      const auto* s2 = c.j->state().segment(segment_id{2});
      return s2 != nullptr && s2->live_cnt > 0;
    };
    for (int n = 100; !in_second(); ++n) {
      ASSERT_LT(n, 10000);
      put(*c.j, n, n + 1, std::string(700, 'x'));
      test::drain(*c.j, p);
    }
  }
  life d(p);
  ASSERT_TRUE(d.recovered.ok()) << d.rep.log;
  EXPECT_EQ(d.rep.unused_removed, 0u) << d.rep.log;
  EXPECT_EQ(d.rep.last_segment, segment_id{2});
  EXPECT_EQ(d.rep.spare_segment, segment_id{3});
  EXPECT_EQ(segments_of(p).size(), 3u);
  expect_writable(d, 20000);
}

TEST(recovery, unwritten_segments_at_the_end_beyond_a_spare_are_removed) {
  memory_persistence p;
  first_run(p, 10);
  // What older builds left after restarts: one more unwritten segment each.
  for (std::uint64_t s = 3; s <= 6; ++s) create_segment(p, segment_id{s}, cfg().segment_sz);
  {
    recovery_report rep;
    journal_state st(4096);
    ASSERT_TRUE(recover(p, {.read_only = true, .segment_sz = cfg().segment_sz}, st, rep).ok()) << rep.log;
    EXPECT_EQ(rep.unused_removed, 4u) << rep.log;
    EXPECT_EQ(segments_of(p).size(), 6u) << "read-only recovery removes nothing";
  }
  life b(p);
  ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
  EXPECT_EQ(b.rep.last_segment, segment_id{1});
  EXPECT_GT(b.rep.resume_off, 0u);
  EXPECT_EQ(b.rep.spare_segment, segment_id{2});
  EXPECT_EQ(b.rep.unused_removed, 4u);
  EXPECT_NE(b.rep.log.find("0000000000000006.sjl was created ahead of need and never written: removed"),
            std::string::npos)
      << b.rep.log;
  EXPECT_EQ(segments_of(p), (std::vector<segment_id>{segment_id{1}, segment_id{2}}));
  EXPECT_EQ(b.live(1), 10u);
  expect_writable(b, 100);
}

TEST(recovery, an_unwritten_segment_of_another_size_is_not_kept_as_the_spare) {
  memory_persistence p;
  first_run(p, 0);
  // The segment created ahead of need, as if by a run with another segment size.
  ASSERT_TRUE(p.submit_remove(segment_id{2}, 0).ok());
  io_completion done[1];
  ASSERT_EQ(p.wait(done), 1u);
  create_segment(p, segment_id{2}, cfg().segment_sz / 2);
  life b(p);
  ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
  EXPECT_EQ(b.rep.spare_segment, segment_id{0});
  EXPECT_EQ(b.rep.unused_removed, 1u);
  // The journal created its spare again, at the configured size.
  const auto sz = p.open_segment(segment_id{2});
  ASSERT_TRUE(sz.ok());
  EXPECT_EQ(*sz, cfg().segment_sz);
}

TEST(recovery, rebuilds_queues_messages_confirms_and_epochs_across_segments) {
  memory_persistence p;
  const std::uint64_t seed = 0xC0FFEE;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  splitmix64 rng(seed);
  std::map<std::uint64_t, std::uint64_t> expect_mask;  // id → mask, for live messages
  seq_no last;
  epoch_no epoch;
  {
    life a(p);
    ASSERT_TRUE(a.j->append_queue_created(queue_id{1}, 3, as_bytes("d/fanout"), as_bytes("cfg")).ok());
    ASSERT_TRUE(a.j->append_epoch(epoch_no{5}).ok());
    for (int i = 0; i < 400; ++i) {
      const std::string body(rng.below(900), 'x');
      ASSERT_TRUE(a.j->append_message(queue_id{1}, make_id(i), as_bytes("p"), as_bytes(body)).ok());
      expect_mask[static_cast<std::uint64_t>(i)] = 0;
      if (i % 7 == 0) test::drain(*a.j, p);
    }
    for (int i = 0; i < 400; i += 2) {
      for (std::uint16_t app = 0; app < 3; ++app) {
        if (!rng.chance(0.6)) continue;
        ASSERT_TRUE(a.j->append_confirm(queue_id{1}, make_id(i), app).ok());
        auto& m = expect_mask[static_cast<std::uint64_t>(i)];
        m |= 1ULL << app;
        if (m == 7) expect_mask.erase(static_cast<std::uint64_t>(i));
      }
      if (i % 20 == 0) test::drain(*a.j, p);
    }
    ASSERT_TRUE(a.j->append_epoch(epoch_no{6}).ok());
    test::drain(*a.j, p);
    last = a.j->last_seq();
    epoch = a.j->epoch();
    EXPECT_GT(a.j->segment_cnt(), 3u);
    p.crash();
  }
  life b(p);
  ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
  EXPECT_EQ(b.j->last_seq(), last);
  EXPECT_EQ(b.j->epoch(), epoch_no{6});
  EXPECT_EQ(b.rep.records_by_kind[static_cast<std::size_t>(record_kind::message)], 400u);
  EXPECT_EQ(b.rep.records_by_kind[static_cast<std::size_t>(record_kind::epoch)], 2u);
  const auto* q = b.j->state().queue(queue_id{1});
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->name, "d/fanout");
  EXPECT_EQ(q->app_cnt, 3);
  EXPECT_EQ(q->live_cnt, expect_mask.size());
  test::collected got;
  ASSERT_TRUE(replay_live(p, b.j->state(), got).ok());
  ASSERT_EQ(got.msgs.size(), expect_mask.size());
  for (const auto& m : got.msgs) {
    std::uint64_t n;
    std::memcpy(&n, m.id.bytes.data(), 8);
    ASSERT_TRUE(expect_mask.count(n)) << n;
    EXPECT_EQ(m.mask, expect_mask[n]) << n;
  }
  // The restarted journal continues the sequence and the epoch.
  ASSERT_TRUE(b.j->append_purge(queue_id{1}, k_all_apps).ok());
  EXPECT_EQ(b.j->last_seq(), last.next());
  EXPECT_EQ(b.j->state().queue(queue_id{1})->live_cnt, 0u);
}

TEST(recovery, unsynced_appends_are_gone_after_a_crash_acked_ones_stay) {
  memory_persistence p;
  seq_no durable;
  {
    life a(p);
    ASSERT_TRUE(a.j->append_queue_created(queue_id{1}, 1, as_bytes("d/q"), {}).ok());
    put(*a.j, 0, 5);
    test::drain(*a.j, p);
    durable = a.l.durable;
    put(*a.j, 5, 9);  // appended, never committed
    p.crash();
  }
  life b(p);
  ASSERT_TRUE(b.recovered.ok()) << b.rep.log;
  EXPECT_EQ(b.j->last_seq(), durable);
  EXPECT_EQ(b.live(1), 5u);
}

}  // namespace
}  // namespace sluice::storage

namespace sluice::storage {
namespace {

TEST(journal_tool, verify_counts_kinds_live_messages_and_first_bad_offset) {
  memory_persistence p;
  {
    life a(p);
    ASSERT_TRUE(a.j->append_queue_created(queue_id{1}, 1, as_bytes("d/q"), {}).ok());
    test::drain(*a.j, p);
    p.corrupt_next_write(40);
    put(*a.j, 0, 4);
    test::drain(*a.j, p);
    put(*a.j, 4, 10);
    ASSERT_TRUE(a.j->append_confirm(queue_id{1}, make_id(5), 0).ok());
    test::drain(*a.j, p);
    p.crash();
  }
  const journal_summary s = inspect(p, true);
  EXPECT_FALSE(s.ok);
  ASSERT_TRUE(s.first_bad.has_value());
  EXPECT_EQ(s.first_bad->segment, segment_id{1});
  EXPECT_EQ(s.first_bad->offset, 2 * k_block_sz);
  EXPECT_EQ(s.first_bad->code, errc::bad_crc);
  EXPECT_EQ(s.records_by_kind[static_cast<std::size_t>(record_kind::message)], 6u);
  EXPECT_EQ(s.records_by_kind[static_cast<std::size_t>(record_kind::confirm)], 1u);
  ASSERT_EQ(s.queues.size(), 1u);
  EXPECT_EQ(s.queues[0].live_cnt, 5u);
  EXPECT_EQ(s.live.size(), 5u);
}

}  // namespace
}  // namespace sluice::storage
