// storage/journal_test.cc — group commit, durability callbacks, failures, roll-over.
#include <gtest/gtest.h>

#include "storage/journal_test_util.h"
#include "storage/memory_persistence.h"
#include "storage/record_test_util.h"

namespace sluice::storage {
namespace {

using test::as_bytes;
using test::make_id;

journal_config small_config() {
  journal_config c;
  c.segment_sz = 64 * 1024;
  c.batch_sz = 16 * 1024;
  c.batch_cnt = 3;
  c.commit_sz_budget = 8 * 1024;
  c.live_messages_max = 4096;
  c.segments_soft_max = 4;
  return c;
}

struct fixture {
  memory_persistence p;
  test::recording_listener l;
  journal j{p, small_config(), l, journal_state(4096)};
  fixture() {
    EXPECT_TRUE(j.start(segment_id{0}, 0).ok());
    j.poll();  // segment 1 and 2 created
    EXPECT_TRUE(j.append_queue_created(queue_id{1}, 2, as_bytes("d/q1"), {}).ok());
  }
};

// ---- failure cases first ------------------------------------------------------------------

TEST(journal, failed_write_reports_every_record_and_never_durable) {
  fixture f;
  test::drain(f.j, f.p);
  const seq_no before = f.l.durable;
  f.p.fail_next_write(EIO);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(i), {}, as_bytes("x")).ok());
  f.j.commit();
  f.j.poll();
  EXPECT_TRUE(f.j.failed());
  EXPECT_EQ(f.l.durable, before) << "nothing of the failed batch may become durable";
  ASSERT_EQ(f.l.failed.size(), 1u);
  EXPECT_EQ(f.l.failed[0].first, before.next());
  EXPECT_EQ(f.l.failed[0].last, seq_no{before.value() + 5});
  EXPECT_EQ(f.l.failed[0].why, errc::io_error);
  EXPECT_EQ(f.j.append_message(queue_id{1}, make_id(99), {}, as_bytes("x")).error(), errc::journal_failed);
}

TEST(journal, failure_covers_batches_waiting_behind_the_failed_one) {
  fixture f;
  test::drain(f.j, f.p);
  f.p.fail_next_write(EIO);
  ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(1), {}, as_bytes("a")).ok());
  f.j.commit();  // in flight (fails)
  ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(2), {}, as_bytes("b")).ok());  // waiting
  f.j.poll();
  ASSERT_EQ(f.l.failed.size(), 2u);
  EXPECT_EQ(f.l.failed[1].first, f.l.failed[0].last.next());
}

TEST(journal, rejects_bad_appends) {
  fixture f;
  EXPECT_EQ(f.j.append_message(queue_id{7}, make_id(1), {}, {}).error(), errc::unknown_queue);
  ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(1), {}, {}).ok());
  EXPECT_EQ(f.j.append_message(queue_id{1}, make_id(1), {}, {}).error(), errc::duplicate);
  EXPECT_EQ(f.j.append_confirm(queue_id{1}, make_id(2), 0).error(), errc::unknown_message);
  EXPECT_EQ(f.j.append_confirm(queue_id{1}, make_id(1), 2).error(), errc::bad_field);
  ASSERT_TRUE(f.j.append_confirm(queue_id{1}, make_id(1), 0).ok());
  EXPECT_EQ(f.j.append_confirm(queue_id{1}, make_id(1), 0).error(), errc::duplicate);
  EXPECT_EQ(f.j.append_queue_created(queue_id{1}, 1, as_bytes("again"), {}).error(), errc::duplicate);
  EXPECT_EQ(f.j.append_epoch(epoch_no{0}).error(), errc::epoch_out_of_order);
  std::vector<std::byte> huge(small_config().batch_sz);
  EXPECT_EQ(f.j.append_message(queue_id{1}, make_id(3), {}, huge).error(), errc::record_too_large);
}

// Fills every batch with messages, leaving the journal in backpressure.
// Returns the ids accepted.
std::vector<int> fill_until_backpressure(journal& j) {
  std::vector<std::byte> body(3000);
  std::vector<int> ids;
  for (int i = 0; i < 100; ++i) {
    const auto r = j.append_message(queue_id{1}, make_id(i), {}, body);
    if (!r.ok()) {
      EXPECT_EQ(r.error(), errc::backpressure);
      break;
    }
    ids.push_back(i);
  }
  EXPECT_LT(ids.size(), 100u) << "the batches never filled";
  return ids;
}

TEST(journal, backpressure_when_every_batch_is_busy) {
  fixture f;
  test::drain(f.j, f.p);
  fill_until_backpressure(f.j);  // stops at the first refusal, which must be backpressure
  EXPECT_GT(f.j.stats().backpressure, 0u);
  test::drain(f.j, f.p);  // poll frees batches: appends work again
  const std::vector<std::byte> body(3000);
  EXPECT_TRUE(f.j.append_message(queue_id{1}, make_id(1000), {}, body).ok());
}

TEST(journal, confirms_wait_out_backpressure_in_order_and_nothing_overtakes_them) {
  fixture f;
  test::drain(f.j, f.p);
  const auto ids = fill_until_backpressure(f.j);
  ASSERT_GE(ids.size(), 4u);
  // Both apps confirm every accepted message: none is refused, the ones
  // that found no room wait (seq 0).
  std::size_t waiting = 0;
  for (const int i : ids) {
    for (std::uint16_t app = 0; app < 2; ++app) {
      const auto r = f.j.append_confirm(queue_id{1}, make_id(i), app);
      ASSERT_TRUE(r.ok()) << i << ": " << to_string(r.error());
      if (r.value() == seq_no{}) ++waiting;
    }
  }
  EXPECT_GT(waiting, 0u);
  EXPECT_EQ(f.j.deferred_cnt(), waiting);
  EXPECT_FALSE(f.j.idle()) << "deferred records are pending work";
  // Data appends may not overtake the waiting records.
  EXPECT_EQ(f.j.append_message(queue_id{1}, make_id(500), {}, as_bytes("x")).error(), errc::backpressure);
  EXPECT_EQ(f.j.append_queue_created(queue_id{2}, 1, as_bytes("d/q2"), {}).error(), errc::backpressure);
  // Deferrable kinds keep queueing behind them, in order.
  ASSERT_TRUE(f.j.append_delivered(queue_id{1}, make_id(ids[0]), 0, 2).ok());
  test::drain(f.j, f.p);
  EXPECT_EQ(f.j.deferred_cnt(), 0u);
  EXPECT_EQ(f.j.stats().deferred, waiting + 1);
  EXPECT_EQ(f.j.stats().deferred_stale, 1u) << "the delivered record met a message already confirmed";
  EXPECT_EQ(f.j.state().queue(queue_id{1})->live_cnt, 0u);
  EXPECT_EQ(f.l.durable, f.j.last_seq());
  ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(500), {}, as_bytes("x")).ok()) << "room again";
  test::drain(f.j, f.p);

  // On disk: every confirm landed, after its message: only id 500 is live.
  f.p.crash();
  journal_state st(4096);
  recovery_report rep;
  ASSERT_TRUE(recover(f.p, {}, st, rep).ok()) << rep.log;
  test::collected got;
  ASSERT_TRUE(replay_live(f.p, st, got).ok());
  ASSERT_EQ(got.msgs.size(), 1u);
  EXPECT_EQ(got.msgs[0].id, make_id(500));
}

TEST(journal, a_full_deferral_ring_refuses_and_a_failure_empties_it) {
  memory_persistence p;
  test::recording_listener l;
  journal_config c = small_config();
  c.deferred_max = 3;
  journal j{p, c, l, journal_state(4096)};
  ASSERT_TRUE(j.start(segment_id{0}, 0).ok());
  j.poll();
  ASSERT_TRUE(j.append_queue_created(queue_id{1}, 2, as_bytes("d/q1"), {}).ok());
  test::drain(j, p);
  const auto ids = fill_until_backpressure(j);
  ASSERT_GE(ids.size(), 4u);
  for (int k = 0; k < 3; ++k) ASSERT_EQ(j.append_confirm(queue_id{1}, make_id(ids[static_cast<std::size_t>(k)]), 0).value(), seq_no{});
  const auto bp = j.stats().backpressure;
  EXPECT_EQ(j.append_confirm(queue_id{1}, make_id(ids[3]), 0).error(), errc::backpressure) << "the ring is full";
  EXPECT_EQ(j.stats().backpressure, bp + 1);
  EXPECT_EQ(j.append_confirm(queue_id{1}, make_id(9999), 0).error(), errc::unknown_message) << "validated at the call";
  // A failed write ends the journal; the waiting records go with it.
  p.fail_next_write(EIO);
  j.commit();
  for (int k = 0; k < 20 && !j.failed(); ++k) j.poll();
  ASSERT_TRUE(j.failed());
  EXPECT_EQ(j.deferred_cnt(), 0u);
  EXPECT_EQ(j.append_confirm(queue_id{1}, make_id(ids[3]), 0).error(), errc::journal_failed);
}

// ---- normal operation ----------------------------------------------------------------------

TEST(journal, group_commit_one_write_per_iteration) {
  fixture f;
  test::drain(f.j, f.p);
  const auto writes = f.p.writes();
  seq_no last;
  for (int i = 0; i < 20; ++i) last = *f.j.append_message(queue_id{1}, make_id(i), as_bytes("p"), as_bytes("hello"));
  EXPECT_LT(f.l.durable, last) << "nothing is durable before commit";
  f.j.commit();
  f.j.poll();
  EXPECT_EQ(f.p.writes(), writes + 1);
  EXPECT_EQ(f.l.durable, last);
  EXPECT_EQ(f.j.durable_seq(), last);
}

TEST(journal, appends_while_a_write_is_in_flight_ride_the_next_one) {
  fixture f;
  test::drain(f.j, f.p);
  const auto writes = f.p.writes();
  ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(1), {}, as_bytes("a")).ok());
  f.j.commit();  // write 1 in flight
  for (int i = 2; i < 10; ++i) {
    ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(i), {}, as_bytes("b")).ok());
    f.j.commit();  // no second write while one is in flight
  }
  EXPECT_EQ(f.p.writes(), writes + 1);
  f.j.poll();  // completes write 1, issues the rest as write 2
  EXPECT_EQ(f.p.writes(), writes + 2);
  f.j.poll();
  EXPECT_EQ(f.l.durable, f.j.last_seq());
}

TEST(journal, rolls_over_segments_and_preallocates_ahead) {
  fixture f;
  std::vector<std::byte> body(1000);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(i), {}, body).ok()) << i;
    if (i % 10 == 9) test::drain(f.j, f.p);
  }
  test::drain(f.j, f.p);
  EXPECT_GE(f.j.segment_cnt(), 5u);
  EXPECT_EQ(f.p.segment_cnt(), f.j.segment_cnt() + 1) << "one segment is created ahead";
  EXPECT_EQ(f.l.durable, f.j.last_seq());
  EXPECT_TRUE(f.l.failed.empty());
}

TEST(journal, confirm_by_every_app_frees_the_message) {
  fixture f;
  ASSERT_TRUE(f.j.append_message(queue_id{1}, make_id(1), {}, as_bytes("x")).ok());
  ASSERT_TRUE(f.j.append_confirm(queue_id{1}, make_id(1), 1).ok());
  EXPECT_EQ(f.j.state().queue(queue_id{1})->live_cnt, 1u);
  ASSERT_TRUE(f.j.append_confirm(queue_id{1}, make_id(1), 0).ok());
  EXPECT_EQ(f.j.state().queue(queue_id{1})->live_cnt, 0u);
  EXPECT_EQ(f.j.state().queue(queue_id{1})->live_bytes, 0u);
}

}  // namespace
}  // namespace sluice::storage
