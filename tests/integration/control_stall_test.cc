// The control plane against a shard that stops answering: one shard thread
// of the real sluice-broker is held still (ptrace, tests/support/
// thread_stall.h) while sluice-control reloads the config and messages flow
// on the other shard and wait on the stalled one. Issue 13: a reload that
// timed out on a slow shard freed the config the other shards had switched
// to; queues then read freed domain definitions, ACKed messages were dropped
// as "expired" and empty queues answered queue_full.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "datapath/broker/shard_protocol.h"
#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/control_fixture.h"
#include "tests/support/thread_stall.h"
#include "tests/support/traffic.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;

// A queue name in domain `dom` owned by `shard` of 2, so no REDIRECT moves
// a client connected to that shard's port.
std::string queue_on(unsigned shard, const std::string& dom, const std::string& stem) {
  for (int i = 0;; ++i) {
    const std::string q = dom + "/" + stem + std::to_string(i);
    if (broker::shard_protocol::owner_of(q, 2) == shard) return q;
  }
}

class control_stall : public control_plane {
 protected:
  json queue_info(const std::string& uri) { return call({{"cmd", "queue_info"}, {"uri", uri}}); }
  void append_domain(const std::string& name) {
    std::ofstream out(broker.config_path(), std::ios::app);
    out << "\n[[domain]]\nname = \"" << name << "\"\nmode = \"priority\"\n";
  }
};

TEST_F(control_stall, reload_while_a_shard_is_stalled_refuses_and_loses_nothing) {
  const std::string busy_q = queue_on(1, "prio", "flow");   // traffic throughout
  const std::string held_q = queue_on(0, "prio", "held");   // PUTs wait out the stall
  traffic t(broker.address(1), busy_q);
  ASSERT_TRUE(eventually([&] { return t.acks() >= 2000 || t.failed(); })) << t.error();

  // A producer on the shard about to stall, its session made beforehand.
  auto p0 = connect_client(broker.address(0));
  ASSERT_TRUE(p0);
  std::uint64_t held_acks = 0, held_bad = 0;
  p0->on_ack([&](const client::ack& a) { (a.status == wire::status::ok ? held_acks : held_bad) += 1; });
  auto wq0 = p0->open_queue(held_q, writer());
  ASSERT_TRUE(wq0.ok()) << client::describe(wq0.error());

  thread_stall stall(broker.pid(), "sluice-shard-0");
  if (!stall.stalled()) GTEST_SKIP() << "cannot stop a shard thread: " << stall.why();
  constexpr int k_held = 200;
  for (int i = 0; i < k_held; ++i) ASSERT_TRUE(p0->post(*wq0, wire::as_bytes(std::string("held"))).ok());
  p0->poll(0);

  // Two reloads while shard 0 cannot answer: each is handed over, answered
  // with shard 0 pending, and shard 1 runs on the newer snapshot while the
  // older one is still waiting in shard 0's ring.
  append_domain("later");
  const json r1 = call({{"cmd", "reload"}});
  ASSERT_TRUE(r1.value("ok", false)) << r1.dump() << control.output();
  EXPECT_EQ(r1["pending_shards"], json::array({0})) << r1.dump();
  EXPECT_NE(r1.value("warning", "").find("shard(s) 0"), std::string::npos) << r1.dump();
  EXPECT_EQ(r1["added"], json::array({"later"})) << r1.dump();
  append_domain("later2");
  const json r2 = call({{"cmd", "reload"}});
  ASSERT_TRUE(r2.value("ok", false)) << r2.dump() << control.output();
  EXPECT_EQ(r2["pending_shards"], json::array({0})) << r2.dump();

  // A question shard 0 cannot answer fails fast, naming it; shard 1's side
  // keeps its config: a new domain opens there, traffic flows.
  const std::uint64_t acks_at_reload = t.acks();
  auto c1 = connect_client(broker.address(1));
  ASSERT_TRUE(c1);
  const auto later_q = c1->open_queue(queue_on(1, "later2", "q"), writer());
  EXPECT_TRUE(later_q.ok()) << client::describe(later_q.error());
  ASSERT_TRUE(eventually([&] { return t.acks() >= acks_at_reload + 2000 || t.failed(); })) << t.error();
  EXPECT_EQ(held_acks, 0u) << "shard 0 answered while stopped";

  stall.resume();
  // Shard 0 applies both snapshots, in order, then serves the PUTs that
  // waited: every one ACKed ok, none refused.
  ASSERT_TRUE(poll_until({p0.get()}, [&] { return held_acks + held_bad == k_held; }, 20));
  EXPECT_EQ(held_acks, static_cast<std::uint64_t>(k_held));
  EXPECT_EQ(held_bad, 0u);
  auto r0 = connect_client(broker.address(0));
  ASSERT_TRUE(r0);
  int held_read = 0;
  r0->on_message([&](const client::message& m) {
    ++held_read;
    (void)r0->confirm(m.queue, m.guid);
  });
  ASSERT_TRUE(r0->open_queue(held_q, reader()).ok());
  EXPECT_TRUE(poll_until({r0.get()}, [&] { return held_read == k_held; }, 20)) << held_read;
  EXPECT_TRUE(r0->open_queue(queue_on(0, "later2", "q"), writer()).ok()) << "shard 0 has the newest config";

  // Nothing on the busy queue was refused, lost or expired.
  ASSERT_TRUE(t.finish()) << t.error() << ": " << t.acks() << " ACKed, " << t.distinct_delivered() << " delivered";
  EXPECT_FALSE(t.failed()) << t.error();
  EXPECT_EQ(t.bad_acks(), 0u);
  EXPECT_EQ(t.distinct_delivered(), t.acks());
  json info;
  ASSERT_TRUE(eventually([&] {
    info = queue_info(busy_q);
    return info.value("ok", false) && info["queue"]["counters"]["puts"].get<std::uint64_t>() >= t.acks();
  })) << info.dump();
  EXPECT_EQ(info["queue"]["counters"]["expired"], 0) << info.dump();
  EXPECT_EQ(info["queue"]["counters"]["rejected_full"], 0) << info.dump();
  EXPECT_EQ(info["queue"]["domain"], "prio") << info.dump();

  // The broker answers every question again and reports both reloads
  // (after sluice-control's own first push).
  const json st = call({{"cmd", "status"}});
  ASSERT_TRUE(st.value("broker_connected", false)) << st.dump();
  EXPECT_GE(st["broker"]["reloads"].get<std::uint64_t>(), 3u) << st.dump();
  const json ss = call({{"cmd", "sessions"}});
  EXPECT_TRUE(ss.value("ok", false)) << ss.dump();
}

// Questions and changes for a stalled shard: a question fails within the
// answer wait and says which shard; a serving change is recorded when handed
// over, so a later change back is not skipped as "already so".
TEST(broker_stall, a_stalled_shard_fails_questions_fast_and_applies_changes_in_order) {
  // The broker alone: this test is the broker channel's only client.
  broker_process broker;
  ASSERT_TRUE(broker.start()) << broker.error();
  thread_stall stall(broker.pid(), "sluice-shard-1");
  if (!stall.stalled()) GTEST_SKIP() << "cannot stop a shard thread: " << stall.why();
  const auto started = std::chrono::steady_clock::now();
  const json q = operator_call(broker.broker_socket(), {{"cmd", "queues"}}, 10000);
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_FALSE(q.value("ok", true)) << q.dump();
  EXPECT_NE(q.value("error", "").find("shard 1 did not answer"), std::string::npos) << q.dump();
  EXPECT_LT(took_s, 20.0) << "the answer wait is bounded (1.5 s; generous for a loaded machine)";

  // The broker's own view: fence shard 1 and unfence it again while it is
  // stopped; both changes reach it in order once it runs.
  const json off =
      operator_call(broker.broker_socket(), {{"cmd", "partitions"}, {"serving", {true, false}}}, 10000);
  ASSERT_TRUE(off.value("ok", false)) << off.dump();
  EXPECT_EQ(off["pending_shards"], json::array({1})) << off.dump();
  const json on = operator_call(broker.broker_socket(), {{"cmd", "partitions"}, {"serving", {true, true}}}, 10000);
  ASSERT_TRUE(on.value("ok", false)) << on.dump();
  EXPECT_EQ(on["pending_shards"], json::array({1})) << on.dump() << "the change back was handed over, not skipped";
  stall.resume();

  // Shard 1 serves: a producer on one of its queues gets ACKs.
  auto p = connect_client(broker.address(1));
  ASSERT_TRUE(p);
  int acks = 0;
  p->on_ack([&](const client::ack& a) { acks += a.status == wire::status::ok; });
  auto wq = p->open_queue(queue_on(1, "prio", "served"), writer());
  ASSERT_TRUE(wq.ok()) << client::describe(wq.error());
  ASSERT_TRUE(p->post(*wq, wire::as_bytes(std::string("x"))).ok());
  EXPECT_TRUE(poll_until({p.get()}, [&] { return acks == 1; }));
  p.reset();
  EXPECT_EQ(broker.stop(), 0) << broker.output();
}

}  // namespace
}  // namespace sluice::testing
