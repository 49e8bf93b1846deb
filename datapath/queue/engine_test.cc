// Queue engine unit tests with a recording push sink: the delivery rules of
// each mode, credit, redelivery, limits, TTL, back-pressure.
#include "datapath/queue/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sluice::queue {
namespace {

using wire::status;

struct pushed {
  std::uint32_t session;
  std::uint32_t queue_id;
  std::uint16_t delivery_cnt;
  wire::guid id;
  std::string payload;
};

struct recording_sink final : push_sink {
  bool push(std::uint32_t s, std::uint32_t q, std::uint16_t cnt, const wire::guid& id, wire::bytes,
            wire::bytes payload) noexcept override {
    if (refuse) return false;
    log.push_back({s, q, cnt, id, std::string(wire::as_string(payload))});
    return true;
  }
  std::vector<pushed> log;
  bool refuse = false;
};

broker::broker_config test_config() {
  std::string err;
  auto cfg = broker::parse_config(R"(
[[domain]]
name = "p"
mode = "priority"
max_messages = 5
max_bytes = 100
[[domain]]
name = "f"
mode = "fanout"
app_ids = ["a", "b"]
[[domain]]
name = "b"
mode = "broadcast"
[[domain]]
name = "t"
message_ttl_ms = 100
)",
                                  "test", err);
  EXPECT_TRUE(cfg) << err;
  return *cfg;
}

struct engine_fixture : ::testing::Test {
  broker::broker_config cfg = test_config();
  recording_sink sink;
  engine_limits limits{1, 0, 16, 16, 64, 1 << 20, -1};
  engine e{cfg, limits, sink};

  idx reader(idx q, std::uint32_t session, std::int32_t prio = 0, std::uint32_t credit = 100,
             std::string_view app = {}) {
    const auto c = e.add_consumer(q, consumer_args{session, session * 10, app, prio, credit, 1 << 20});
    EXPECT_TRUE(c.ok());
    e.resume(*c);
    return *c;
  }
  wire::guid put(idx q, std::string_view payload, time_ns now = 0) {
    const auto r = e.put(q, {}, wire::as_bytes(payload), now);
    EXPECT_EQ(r.status, status::ok);
    return r.id;
  }
};

TEST_F(engine_fixture, bad_uris_unknown_domains_and_app_id_rules) {
  EXPECT_EQ(e.open_queue("noslash").error(), status::invalid_argument);
  EXPECT_EQ(e.open_queue("p/").error(), status::invalid_argument);
  EXPECT_EQ(e.open_queue("p/a b").error(), status::invalid_argument);
  EXPECT_EQ(e.open_queue("nope/q").error(), status::unknown_domain);
  const idx p = *e.open_queue("p/q");
  EXPECT_EQ(*e.open_queue("p/q"), p);  // same queue on reopen
  EXPECT_EQ(e.add_consumer(p, {1, 1, "a", 0, 1, 1}).error(), status::invalid_argument);
  const idx f = *e.open_queue("f/q");
  EXPECT_EQ(e.add_consumer(f, {1, 1, "", 0, 1, 1}).error(), status::invalid_argument);
  EXPECT_EQ(e.add_consumer(f, {1, 1, "zzz", 0, 1, 1}).error(), status::invalid_argument);
}

TEST_F(engine_fixture, priority_round_robin_among_the_highest) {
  const idx q = *e.open_queue("p/q");
  reader(q, 1, 5);
  reader(q, 2, 5);
  reader(q, 3, 1);  // lower priority: gets nothing while the others have credit
  for (int i = 0; i < 4; ++i) put(q, "m" + std::to_string(i));
  ASSERT_EQ(sink.log.size(), 4u);
  EXPECT_EQ(sink.log[0].session, 1u);
  EXPECT_EQ(sink.log[1].session, 2u);
  EXPECT_EQ(sink.log[2].session, 1u);
  EXPECT_EQ(sink.log[3].session, 2u);
  EXPECT_EQ(sink.log[0].payload, "m0");
  EXPECT_EQ(sink.log[0].delivery_cnt, 1);
}

TEST_F(engine_fixture, credit_bounds_unconfirmed_and_zero_pauses) {
  const idx q = *e.open_queue("p/q");
  const idx c = reader(q, 1, 0, 2);
  for (int i = 0; i < 5; ++i) put(q, "x");  // the queue holds at most 5
  EXPECT_EQ(sink.log.size(), 2u);           // never more than the credit
  EXPECT_TRUE(e.confirm(c, sink.log[0].id));
  EXPECT_EQ(sink.log.size(), 3u);  // confirm frees credit → next message
  e.configure_consumer(c, 0, 0, 1 << 20);  // pause
  EXPECT_TRUE(e.confirm(c, sink.log[1].id));
  EXPECT_EQ(sink.log.size(), 3u);
  e.configure_consumer(c, 0, 10, 1 << 20);  // resume
  EXPECT_EQ(sink.log.size(), 5u);
  EXPECT_FALSE(e.confirm(c, sink.log[0].id));  // twice: ignored
}

TEST_F(engine_fixture, removed_consumer_messages_are_redelivered_with_higher_count) {
  const idx q = *e.open_queue("p/q");
  const idx c1 = reader(q, 1, 0, 10);
  put(q, "a");
  put(q, "b");
  ASSERT_EQ(sink.log.size(), 2u);
  e.remove_consumer(c1);  // e.g. its session ended
  reader(q, 2);
  ASSERT_EQ(sink.log.size(), 4u);
  EXPECT_EQ(sink.log[2].session, 2u);
  EXPECT_EQ(sink.log[2].payload, "a");  // order kept
  EXPECT_EQ(sink.log[2].delivery_cnt, 2);
  EXPECT_EQ(sink.log[3].payload, "b");
  EXPECT_EQ(sink.log[3].delivery_cnt, 2);
  EXPECT_EQ(e.info(q).counters->redeliveries, 2u);
}

TEST_F(engine_fixture, fanout_every_app_id_gets_every_message_freed_after_all_confirm) {
  const idx q = *e.open_queue("f/q");
  const idx a1 = reader(q, 1, 0, 100, "a");
  const idx a2 = reader(q, 2, 0, 100, "a");
  const idx b1 = reader(q, 3, 0, 100, "b");
  put(q, "m0");
  put(q, "m1");
  std::map<std::uint32_t, int> per_session;
  for (const auto& p : sink.log) ++per_session[p.session];
  EXPECT_EQ(per_session[1], 1);  // app a: round-robin between its two consumers
  EXPECT_EQ(per_session[2], 1);
  EXPECT_EQ(per_session[3], 2);  // app b: every message
  EXPECT_EQ(e.info(q).messages, 2u);
  for (const auto& p : sink.log) {
    const idx c = p.session == 1 ? a1 : p.session == 2 ? a2 : b1;
    EXPECT_TRUE(e.confirm(c, p.id));
  }
  EXPECT_EQ(e.info(q).messages, 0u);
  EXPECT_EQ(e.deliveries_in_use(), 0u);
  EXPECT_EQ(e.memory_in_use(), 0u);
}

TEST_F(engine_fixture, broadcast_reaches_current_consumers_once_and_stores_nothing) {
  const idx q = *e.open_queue("b/q");
  put(q, "before");  // nobody listening: gone
  reader(q, 1);
  reader(q, 2);
  put(q, "now");
  ASSERT_EQ(sink.log.size(), 2u);
  EXPECT_EQ(sink.log[0].payload, "now");
  EXPECT_EQ(sink.log[1].payload, "now");
  EXPECT_EQ(e.info(q).messages, 0u);
  reader(q, 3);
  EXPECT_EQ(sink.log.size(), 2u);  // no replay for late joiners
}

TEST_F(engine_fixture, queue_limits_answer_queue_full) {
  const idx q = *e.open_queue("p/q");
  for (int i = 0; i < 5; ++i) put(q, "1234567890");
  EXPECT_EQ(e.put(q, {}, wire::as_bytes("x"), 0).status, status::queue_full);  // 5 messages
  const idx q2 = *e.open_queue("p/other");
  const std::string big(90, 'x');
  put(q2, big);
  EXPECT_EQ(e.put(q2, {}, wire::as_bytes(std::string(20, 'y')), 0).status, status::queue_full);  // 100 bytes
  EXPECT_EQ(e.info(q).counters->rejected_full, 1u);
}

TEST_F(engine_fixture, ttl_discards_undelivered_messages) {
  const idx q = *e.open_queue("t/q");
  put(q, "old", 0);
  put(q, "new", 150 * k_ns_per_ms);
  e.expire(160 * k_ns_per_ms);  // "old" is 160 ms old, ttl 100 ms
  reader(q, 1);
  ASSERT_EQ(sink.log.size(), 1u);
  EXPECT_EQ(sink.log[0].payload, "new");
  EXPECT_EQ(e.info(q).counters->expired, 1u);
}

TEST_F(engine_fixture, blocked_session_holds_messages_until_resumed) {
  const idx q = *e.open_queue("p/q");
  const idx c = reader(q, 1);
  sink.refuse = true;  // session window full
  put(q, "a");
  put(q, "b");
  EXPECT_TRUE(sink.log.empty());
  sink.refuse = false;
  e.resume(c);
  ASSERT_EQ(sink.log.size(), 2u);
  EXPECT_EQ(sink.log[0].payload, "a");
  EXPECT_EQ(sink.log[0].delivery_cnt, 1);  // a refused push is not a delivery
}

TEST_F(engine_fixture, too_large_and_pool_exhaustion) {
  const idx q = *e.open_queue("p/q");
  const std::string huge(e.max_body_sz() + 1, 'x');
  EXPECT_EQ(e.put(q, {}, wire::as_bytes(huge), 0).status, status::too_large);
  for (std::uint32_t i = 0; i < limits.max_consumers; ++i) reader(q, i + 1);
  EXPECT_EQ(e.add_consumer(q, {99, 1, "", 0, 1, 1}).error(), status::limit_reached);
}

}  // namespace
}  // namespace sluice::queue

// ---- disk queues: the durability hook -------------------------------------------------

namespace sluice::queue {
namespace {

struct recording_hook final : durability_hook {
  status queue_created(std::string_view uri, std::uint16_t app_cnt, std::uint32_t& durable_id) noexcept override {
    log.push_back("created " + std::string(uri) + " " + std::to_string(app_cnt));
    durable_id = next_id++;
    return refuse_create;
  }
  status message(std::uint32_t q, const wire::guid& id, wire::bytes, wire::bytes payload) noexcept override {
    log.push_back("message " + std::to_string(q) + " " + std::to_string(id.seq) + " " +
                  std::string(wire::as_string(payload)));
    return refuse_message;
  }
  void done(std::uint32_t q, const wire::guid& id, std::uint16_t app) noexcept override {
    log.push_back("done " + std::to_string(q) + " " + std::to_string(id.seq) + " app " + std::to_string(app));
  }
  void delivered(std::uint32_t q, const wire::guid& id, std::uint16_t app, std::uint16_t cnt) noexcept override {
    log.push_back("delivered " + std::to_string(q) + " " + std::to_string(id.seq) + " app " + std::to_string(app) +
                  " #" + std::to_string(cnt));
  }
  void purged(std::uint32_t q) noexcept override { log.push_back("purged " + std::to_string(q)); }
  void queue_deleted(std::uint32_t q) noexcept override { log.push_back("deleted " + std::to_string(q)); }

  std::vector<std::string> log;
  std::uint32_t next_id = 7;
  status refuse_create = status::ok;
  status refuse_message = status::ok;
};

broker::broker_config disk_config() {
  std::string err;
  auto cfg = broker::parse_config(R"(
[[domain]]
name = "d"
storage = "disk"
[[domain]]
name = "df"
mode = "fanout"
storage = "disk"
app_ids = ["a", "b"]
[[domain]]
name = "m"
)",
                                  "test", err);
  EXPECT_TRUE(cfg) << err;
  return *cfg;
}

struct disk_fixture : ::testing::Test {
  broker::broker_config cfg = disk_config();
  recording_sink sink;
  recording_hook hook;
  engine_limits limits{1, 0, 16, 16, 64, 1 << 20, -1};
  engine e{cfg, limits, sink};

  idx reader(idx q, std::uint32_t session, std::uint32_t credit = 100, std::string_view app = {}) {
    const auto c = e.add_consumer(q, consumer_args{session, session * 10, app, 0, credit, 1 << 20});
    EXPECT_TRUE(c.ok());
    e.resume(*c);
    return *c;
  }
};

TEST_F(disk_fixture, disk_queue_without_a_journal_is_refused_memory_queue_is_not_journaled) {
  EXPECT_EQ(e.open_queue("d/q").error(), status::internal);
  e.set_durability(&hook);
  const auto m = e.open_queue("m/q");
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(e.durable(*m));
  EXPECT_EQ(e.put(*m, {}, wire::as_bytes("x"), 0).status, status::ok);
  EXPECT_TRUE(hook.log.empty());
}

TEST_F(disk_fixture, refused_records_store_nothing) {
  e.set_durability(&hook);
  hook.refuse_create = status::queue_full;
  EXPECT_EQ(e.open_queue("d/q").error(), status::queue_full);
  hook.refuse_create = status::ok;
  const idx q = *e.open_queue("d/q");
  reader(q, 1);
  hook.refuse_message = status::internal;
  EXPECT_EQ(e.put(q, {}, wire::as_bytes("lost"), 0).status, status::internal);
  EXPECT_TRUE(sink.log.empty()) << "a PUT the journal refused is never delivered";
  EXPECT_EQ(e.info(q).messages, 0u);
  EXPECT_EQ(e.memory_in_use(), 0u);
}

TEST_F(disk_fixture, every_change_is_journaled_before_it_happens) {
  e.set_durability(&hook);
  const idx q = *e.open_queue("df/q");
  EXPECT_TRUE(e.durable(q));
  const auto g1 = e.put(q, {}, wire::as_bytes("one"), 0).id;
  const auto g2 = e.put(q, {}, wire::as_bytes("two"), 0).id;
  const idx ca = reader(q, 1, 100, "a");
  ASSERT_EQ(sink.log.size(), 2u);
  EXPECT_TRUE(e.confirm(ca, g1));
  // Purge with "two" out with consumer a: per-message records for what is ready.
  EXPECT_EQ(e.purge(q), 2u);  // "one" and "two" for app b
  const auto s1 = std::to_string(g1.seq);
  const auto s2 = std::to_string(g2.seq);
  EXPECT_EQ(hook.log, (std::vector<std::string>{"created df/q 2", "message 7 " + s1 + " one", "message 7 " + s2 + " two",
                                                "done 7 " + s1 + " app 0", "done 7 " + s1 + " app 1",
                                                "done 7 " + s2 + " app 1"}));
  e.remove_consumer(ca);  // "two" back to a's ready list
  hook.log.clear();
  EXPECT_EQ(e.purge(q), 1u);
  EXPECT_EQ(hook.log, (std::vector<std::string>{"purged 7"})) << "nothing in flight: one purge record";
  hook.log.clear();
  EXPECT_TRUE(e.remove_queue(q));
  EXPECT_EQ(hook.log, (std::vector<std::string>{"deleted 7"}));
}

TEST_F(disk_fixture, redeliveries_are_journaled_first_pushes_are_not) {
  e.set_durability(&hook);
  const idx q = *e.open_queue("d/q");
  const auto g = e.put(q, {}, wire::as_bytes("m"), 0).id;
  e.remove_consumer(reader(q, 1));  // pushed, never confirmed: back to ready
  e.remove_consumer(reader(q, 2));
  reader(q, 3);
  ASSERT_EQ(sink.log.size(), 3u);
  EXPECT_EQ(sink.log[2].delivery_cnt, 3u);
  const auto s = std::to_string(g.seq);
  EXPECT_EQ(hook.log, (std::vector<std::string>{"created d/q 1", "message 7 " + s + " m", "delivered 7 " + s + " app 0 #2",
                                                "delivered 7 " + s + " app 0 #3"}));
  // A restored message continues from its journaled count.
  const idx r = *e.restore_queue("d/r", 8);
  ASSERT_EQ(e.restore_message(r, wire::guid{900, 0, 1, 0}, {}, wire::as_bytes("again"), 0, 5), status::ok);
  reader(r, 4);
  ASSERT_EQ(sink.log.size(), 4u);
  EXPECT_EQ(sink.log[3].delivery_cnt, 6u);
}

TEST_F(disk_fixture, restored_messages_keep_per_app_state_order_and_fresh_guids_follow) {
  const idx q = *e.restore_queue("df/q", 3);
  EXPECT_TRUE(e.durable(q));
  EXPECT_EQ(e.app_cnt(q), 2u);
  const wire::guid a{500, 0, 1, 0};
  const wire::guid b{400, 0, 1, 0};  // a compacted copy comes later in the journal
  EXPECT_EQ(e.restore_message(q, a, {}, wire::as_bytes("five"), 0b01, 1), status::ok);  // app a confirmed it
  EXPECT_EQ(e.restore_message(q, b, {}, wire::as_bytes("four"), 0, 1), status::ok);
  EXPECT_EQ(e.restore_message(q, wire::guid{600, 0, 1, 0}, {}, wire::as_bytes("gone"), 0b11, 1), status::ok);
  e.finish_restore();
  e.set_durability(&hook);
  reader(q, 1, 100, "a");
  reader(q, 2, 100, "b");
  ASSERT_EQ(sink.log.size(), 3u);
  EXPECT_EQ(sink.log[0].payload, "four");  // app a: only "four"
  EXPECT_EQ(sink.log[0].session, 1u);
  EXPECT_EQ(sink.log[1].payload, "four");  // app b: in GUID order
  EXPECT_EQ(sink.log[2].payload, "five");
  for (const auto& p : sink.log) EXPECT_EQ(p.delivery_cnt, 2u) << "may have been seen before the restart";
  const auto fresh = e.put(q, {}, wire::as_bytes("new"), 0);
  ASSERT_EQ(fresh.status, status::ok);
  EXPECT_GT(fresh.id.seq, 500u);
}

// Journal order is not GUID order after compaction or across restarts:
// whatever order messages are restored in, they are delivered by GUID.
TEST_F(disk_fixture, messages_restored_in_any_order_are_delivered_in_guid_order) {
  const std::uint64_t seed = std::random_device{}();
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  const idx q = *e.restore_queue("d/q", 1);
  std::vector<std::uint64_t> seqs(60);
  for (std::size_t i = 0; i < seqs.size(); ++i) seqs[i] = 1000 + 7 * i;
  std::shuffle(seqs.begin(), seqs.end(), rng);
  for (const auto sq : seqs) {
    ASSERT_EQ(e.restore_message(q, wire::guid{sq, 0, 1, 0}, {}, wire::as_bytes(std::to_string(sq)), 0, 0), status::ok);
  }
  e.finish_restore();
  e.set_durability(&hook);
  reader(q, 1, 100);
  ASSERT_EQ(sink.log.size(), seqs.size()) << "seed " << seed;
  for (std::size_t i = 0; i < sink.log.size(); ++i) {
    EXPECT_EQ(sink.log[i].id.seq, 1000 + 7 * i) << "seed " << seed << " position " << i;
  }
}

TEST_F(disk_fixture, restore_beyond_the_pools_is_refused) {
  const idx q = *e.restore_queue("d/q", 1);
  std::size_t ok = 0;
  for (std::uint64_t i = 1; i <= 100; ++i) {
    if (e.restore_message(q, wire::guid{i, 0, 1, 0}, {}, wire::as_bytes("x"), 0, 1) == status::ok) ++ok;
  }
  EXPECT_EQ(ok, 64u) << "max_message_slots bounds what recovery can rebuild";
}

// A reload snapshot lives as long as a queue uses it, whoever else lets go
// of it: the broker's service thread gives up its reference when a shard is
// slow to answer (issue 13: queues then read freed domain definitions).
TEST_F(engine_fixture, reload_snapshots_live_while_a_queue_uses_them) {
  const auto qp = *e.open_queue("p/old");
  const auto qf = *e.open_queue("f/old");
  std::string err;
  // A: "p" gets a bigger limit (queues follow it); "f" gets another app id
  // set (its queue keeps the definition it was created with).
  auto a = broker::parse_config(R"(
[[domain]]
name = "p"
max_messages = 7
[[domain]]
name = "f"
mode = "fanout"
app_ids = ["a", "b", "c"]
)",
                                "a", err);
  ASSERT_TRUE(a) << err;
  std::weak_ptr<const broker::broker_config> weak_a;
  {
    auto snap = std::make_shared<const broker::broker_config>(*a);
    weak_a = snap;
    EXPECT_EQ(e.set_config(std::move(snap)), 1u);  // f/old kept its definition
  }
  ASSERT_FALSE(weak_a.expired()) << "the engine holds the snapshot its queues use";
  for (int i = 0; i < 7; ++i) put(qp, "x");
  EXPECT_EQ(e.put(qp, {}, wire::as_bytes(std::string_view("8")), 0).status, status::queue_full);

  // B: both domains as in A. f/old still has the construction config's
  // definition, p/old moves to B: A is used by nobody and goes.
  auto b = broker::parse_config(R"(
[[domain]]
name = "p"
max_messages = 8
[[domain]]
name = "f"
mode = "fanout"
app_ids = ["a", "b", "c"]
[[domain]]
name = "g"
mode = "fanout"
app_ids = ["x"]
)",
                                "b", err);
  ASSERT_TRUE(b) << err;
  std::weak_ptr<const broker::broker_config> weak_b;
  {
    auto snap = std::make_shared<const broker::broker_config>(*b);
    weak_b = snap;
    EXPECT_EQ(e.set_config(std::move(snap)), 1u);
  }
  EXPECT_TRUE(weak_a.expired()) << "no queue points into A any more";
  ASSERT_FALSE(weak_b.expired());
  put(qp, "8");
  EXPECT_EQ(e.put(qp, {}, wire::as_bytes(std::string_view("9")), 0).status, status::queue_full);

  // A queue created under B that keeps its definition through C holds B.
  const auto qg = *e.open_queue("g/new");
  (void)qg;
  auto c = broker::parse_config("[[domain]]\nname = \"g\"\nmode = \"fanout\"\napp_ids = [\"y\"]\n", "c", err);
  ASSERT_TRUE(c) << err;
  std::weak_ptr<const broker::broker_config> weak_c;
  {
    auto snap = std::make_shared<const broker::broker_config>(*c);
    weak_c = snap;
    EXPECT_EQ(e.set_config(std::move(snap)), 3u);  // p/old (gone from C), f/old, g/new keep theirs
  }
  EXPECT_FALSE(weak_b.expired()) << "p/old and g/new still point into B";
  EXPECT_FALSE(weak_c.expired());
  // Their definitions still read as written (freed memory would not).
  EXPECT_EQ(e.info(qp).domain, "p");
  EXPECT_EQ(e.info(qf).domain, "f");
  EXPECT_EQ(e.app_cnt(qf), 2u);
  EXPECT_EQ(e.put(qp, {}, wire::as_bytes(std::string_view("9")), 0).status, status::queue_full);
}

}  // namespace
}  // namespace sluice::queue
