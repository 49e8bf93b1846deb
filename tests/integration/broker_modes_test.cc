// End to end through the real sluice-broker: each queue mode, REDIRECT
// across shards, limits, TTL, and the errors a client gets for bad requests.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "datapath/wire/properties.h"
#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/test_network.h"

namespace sluice::testing {
namespace {

struct received {
  std::string payload;
  std::uint16_t delivery_cnt;
  wire::guid guid;
  client::queue_handle queue;
};

// A client that records (and by default confirms) every message.
struct consumer {
  explicit consumer(const std::string& addr, bool confirm = true) : c(connect_client(addr)) {
    c->on_message([this, confirm](const client::message& m) {
      got.push_back({text(m.payload), m.delivery_cnt, m.guid, m.queue});
      if (confirm) (void)c->confirm(m.queue, m.guid);
    });
  }
  std::unique_ptr<client::client> c;
  std::vector<received> got;
};

struct producer {
  explicit producer(const std::string& addr) : c(connect_client(addr)) {
    c->on_ack([this](const client::ack& a) { acks.push_back(a); });
  }
  void post(client::queue_handle q, const std::string& payload) {
    for (;;) {
      const auto r = c->post(q, wire::as_bytes(payload));
      if (r.ok()) return;
      ASSERT_EQ(r.error().code, client::errc::would_block) << client::describe(r.error());
      c->poll(1 * k_ns_per_ms);
    }
  }
  std::unique_ptr<client::client> c;
  std::vector<client::ack> acks;
};

class broker_modes : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker.start()) << broker.error(); }
  void TearDown() override { EXPECT_EQ(broker.stop(), 0) << broker.output(); }
  broker_process broker;
};

TEST_F(broker_modes, priority_queue_end_to_end_every_put_acked_once) {
  producer p(broker.address());
  consumer c(broker.address());
  auto wq = p.c->open_queue("prio/e2e", writer());
  ASSERT_TRUE(wq.ok()) << client::describe(wq.error());
  auto rq = c.c->open_queue("prio/e2e", reader());
  ASSERT_TRUE(rq.ok()) << client::describe(rq.error());
  for (int i = 0; i < 100; ++i) p.post(*wq, "m" + std::to_string(i));
  ASSERT_TRUE(poll_until({p.c.get(), c.c.get()}, [&] { return p.acks.size() == 100 && c.got.size() == 100; }));
  std::set<std::uint32_t> corr;
  for (const auto& a : p.acks) {
    EXPECT_EQ(a.status, wire::status::ok);
    EXPECT_TRUE(corr.insert(a.corr_id).second) << "two ACKs for one PUT";
  }
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(c.got[static_cast<std::size_t>(i)].payload, "m" + std::to_string(i));  // producer order
    EXPECT_EQ(c.got[static_cast<std::size_t>(i)].delivery_cnt, 1);
  }
}

TEST_F(broker_modes, priority_consumers_share_round_robin_and_priority_wins) {
  producer p(broker.address());
  consumer hi1(broker.address()), hi2(broker.address()), lo(broker.address());
  auto wq = *p.c->open_queue("prio/rr", writer());
  ASSERT_TRUE(hi1.c->open_queue("prio/rr", reader(1024, {}, 5)).ok());
  ASSERT_TRUE(hi2.c->open_queue("prio/rr", reader(1024, {}, 5)).ok());
  ASSERT_TRUE(lo.c->open_queue("prio/rr", reader(1024, {}, 1)).ok());
  for (int i = 0; i < 40; ++i) p.post(wq, "x");
  ASSERT_TRUE(poll_until({p.c.get(), hi1.c.get(), hi2.c.get(), lo.c.get()},
                         [&] { return hi1.got.size() + hi2.got.size() == 40; }));
  EXPECT_EQ(hi1.got.size(), 20u);
  EXPECT_EQ(hi2.got.size(), 20u);
  EXPECT_EQ(lo.got.size(), 0u);
}

TEST_F(broker_modes, fanout_every_app_id_gets_every_message) {
  producer p(broker.address());
  consumer audit1(broker.address()), audit2(broker.address()), billing(broker.address());
  auto wq = *p.c->open_queue("fan/orders", writer());
  ASSERT_TRUE(audit1.c->open_queue("fan/orders", reader(1024, "audit")).ok());
  ASSERT_TRUE(audit2.c->open_queue("fan/orders", reader(1024, "audit")).ok());
  ASSERT_TRUE(billing.c->open_queue("fan/orders", reader(1024, "billing")).ok());
  for (int i = 0; i < 30; ++i) p.post(wq, "o" + std::to_string(i));
  ASSERT_TRUE(poll_until({p.c.get(), audit1.c.get(), audit2.c.get(), billing.c.get()}, [&] {
    return audit1.got.size() + audit2.got.size() == 30 && billing.got.size() == 30;
  }));
  EXPECT_EQ(audit1.got.size(), 15u);  // round-robin within the app id
  EXPECT_EQ(audit2.got.size(), 15u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(billing.got[static_cast<std::size_t>(i)].payload, "o" + std::to_string(i));
  // Unknown and missing app ids are refused with the broker's reason.
  consumer bad(broker.address());
  const auto r = bad.c->open_queue("fan/orders", reader(10, "marketing"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, client::errc::broker_refused);
  EXPECT_EQ(r.error().status, wire::status::invalid_argument);
  EXPECT_EQ(bad.c->open_queue("fan/orders", reader(10)).error().status, wire::status::invalid_argument);
}

TEST_F(broker_modes, broadcast_reaches_every_current_consumer_once) {
  producer p(broker.address());
  std::vector<std::unique_ptr<consumer>> cs;
  for (int i = 0; i < 3; ++i) {
    cs.push_back(std::make_unique<consumer>(broker.address()));
    ASSERT_TRUE(cs.back()->c->open_queue("bcast/news", reader()).ok());
  }
  auto wq = *p.c->open_queue("bcast/news", writer());
  for (int i = 0; i < 10; ++i) p.post(wq, "n" + std::to_string(i));
  ASSERT_TRUE(poll_until({p.c.get(), cs[0]->c.get(), cs[1]->c.get(), cs[2]->c.get()}, [&] {
    return cs[0]->got.size() == 10 && cs[1]->got.size() == 10 && cs[2]->got.size() == 10 && p.acks.size() == 10;
  }));
  poll_for({p.c.get(), cs[0]->c.get(), cs[1]->c.get(), cs[2]->c.get()}, 0.2);
  for (const auto& c : cs) {
    ASSERT_EQ(c->got.size(), 10u);  // once each, never more
    for (int i = 0; i < 10; ++i) EXPECT_EQ(c->got[static_cast<std::size_t>(i)].payload, "n" + std::to_string(i));
  }
}

TEST_F(broker_modes, queues_on_other_shards_are_reached_through_redirect) {
  // Connected to shard 0 only; the queues spread over both shards by hash.
  producer p(broker.address(0));
  consumer c(broker.address(0));
  std::vector<client::queue_handle> wqs;
  for (int i = 0; i < 8; ++i) {
    const std::string uri = "prio/spread-" + std::to_string(i);
    auto w = p.c->open_queue(uri, writer());
    ASSERT_TRUE(w.ok()) << uri << ": " << client::describe(w.error());
    wqs.push_back(*w);
    ASSERT_TRUE(c.c->open_queue(uri, reader()).ok());
  }
  for (std::size_t i = 0; i < wqs.size(); ++i) p.post(wqs[i], "q" + std::to_string(i));
  ASSERT_TRUE(poll_until({p.c.get(), c.c.get()}, [&] { return c.got.size() == 8 && p.acks.size() == 8; }));
  std::set<std::uint32_t> partitions;
  for (const auto& a : p.acks) partitions.insert(a.guid.partition);
  EXPECT_EQ(partitions.size(), 2u) << "eight queues should land on both shards";
  EXPECT_NE(broker.output().find("sluice-broker: ready"), std::string::npos);
}

TEST_F(broker_modes, typed_properties_travel_with_the_message) {
  producer p(broker.address());
  auto c = connect_client(broker.address());
  std::vector<std::pair<std::string, std::int64_t>> ints;
  std::string source;
  bool flag = false;
  c->on_message([&](const client::message& m) {
    wire::property_reader r(m.properties);
    while (!r.done()) {
      const auto prop = r.next();
      if (prop.type == wire::property_type::string) source = std::string(prop.as_string());
      if (prop.type == wire::property_type::boolean) flag = prop.as_bool();
      if (prop.type == wire::property_type::int32 || prop.type == wire::property_type::int64) {
        ints.emplace_back(std::string(prop.key), prop.as_int());
      }
    }
    (void)c->confirm(m.queue, m.guid);
  });
  auto wq = *p.c->open_queue("prio/props", writer());
  ASSERT_TRUE(c->open_queue("prio/props", reader()).ok());
  std::byte buf[256];
  wire::property_writer w(buf);
  ASSERT_TRUE(w.add_string("source", "test").ok());
  ASSERT_TRUE(w.add_int32("attempt", 3).ok());
  ASSERT_TRUE(w.add_int64("ts", 1'700'000'000'000LL).ok());
  ASSERT_TRUE(w.add_bool("urgent", true).ok());
  ASSERT_TRUE(p.c->post(wq, wire::as_bytes("body"), w.finish()).ok());
  ASSERT_TRUE(poll_until({p.c.get(), c.get()}, [&] { return ints.size() == 2; }));
  EXPECT_EQ(source, "test");
  EXPECT_TRUE(flag);
  EXPECT_EQ(ints[0], (std::pair<std::string, std::int64_t>{"attempt", 3}));
  EXPECT_EQ(ints[1], (std::pair<std::string, std::int64_t>{"ts", 1'700'000'000'000LL}));
}

TEST_F(broker_modes, unknown_domain_and_bad_uri_are_refused) {
  producer p(broker.address());
  const auto r = p.c->open_queue("nosuch/q", writer());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, client::errc::broker_refused);
  EXPECT_EQ(r.error().status, wire::status::unknown_domain);
  EXPECT_EQ(p.c->open_queue("prio/bad name", writer()).error().status, wire::status::invalid_argument);
  EXPECT_TRUE(p.c->open_queue("prio/fine", writer()).ok());  // the session carries on
}

TEST_F(broker_modes, oversized_message_is_refused_locally) {
  producer p(broker.address());
  auto wq = *p.c->open_queue("prio/big", writer());
  const std::string big(2u << 20, 'x');  // over the default 1 MiB
  const auto r = p.c->post(wq, wire::as_bytes(big));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, client::errc::too_large);
  // A large message that fits travels in fragments.
  consumer c(broker.address());
  ASSERT_TRUE(c.c->open_queue("prio/big", reader()).ok());
  const std::string fits(512u << 10, 'y');
  p.post(wq, fits);
  ASSERT_TRUE(poll_until({p.c.get(), c.c.get()}, [&] { return c.got.size() == 1; }));
  EXPECT_EQ(c.got[0].payload, fits);
}

class broker_limits : public ::testing::Test {
 protected:
  broker_limits()
      : broker(with_domains(R"(
[[domain]]
name = "small"
max_messages = 5
[[domain]]
name = "short"
message_ttl_ms = 200
)")) {}
  void SetUp() override { ASSERT_TRUE(broker.start()) << broker.error(); }
  void TearDown() override { EXPECT_EQ(broker.stop(), 0) << broker.output(); }
  broker_process broker;
};

TEST_F(broker_limits, queue_full_is_nacked_with_the_reason) {
  producer p(broker.address());
  auto wq = *p.c->open_queue("small/q", writer());
  for (int i = 0; i < 8; ++i) p.post(wq, "m");
  ASSERT_TRUE(poll_until({p.c.get()}, [&] { return p.acks.size() == 8; }));
  std::map<wire::status, int> by_status;
  for (const auto& a : p.acks) ++by_status[a.status];
  EXPECT_EQ(by_status[wire::status::ok], 5);
  EXPECT_EQ(by_status[wire::status::queue_full], 3);
  // Draining makes room again.
  consumer c(broker.address());
  ASSERT_TRUE(c.c->open_queue("small/q", reader()).ok());
  ASSERT_TRUE(poll_until({p.c.get(), c.c.get()}, [&] { return c.got.size() == 5; })) << c.got.size() << "\n"
                                                                                     << broker.output();
  poll_for({c.c.get()}, 0.1);  // let the confirms reach the broker
  p.post(wq, "again");
  ASSERT_TRUE(poll_until({p.c.get()}, [&] { return p.acks.size() == 9; }));
  EXPECT_EQ(p.acks.back().status, wire::status::ok);
}

TEST_F(broker_limits, messages_past_their_ttl_are_not_delivered) {
  producer p(broker.address());
  auto wq = *p.c->open_queue("short/q", writer());
  p.post(wq, "stale");
  ASSERT_TRUE(poll_until({p.c.get()}, [&] { return p.acks.size() == 1; }));
  poll_for({p.c.get()}, 0.4);  // past the 200 ms TTL with no consumer
  consumer c(broker.address());
  ASSERT_TRUE(c.c->open_queue("short/q", reader()).ok());
  p.post(wq, "fresh");
  ASSERT_TRUE(poll_until({p.c.get(), c.c.get()}, [&] { return !c.got.empty(); }));
  poll_for({c.c.get()}, 0.2);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0].payload, "fresh");
}

// limits.max_sessions per shard: a client past it is refused with the reason
// at once (REFUSE, docs/protocol.md §3.12) instead of timing out, the CLI
// says what happened, and the refusal is counted.
class broker_session_limit : public ::testing::Test {
 protected:
  broker_session_limit() : broker(with_extra("[limits]\nmax_sessions = 2\n")) {}
  void SetUp() override { ASSERT_TRUE(broker.start()) << broker.error(); }
  broker_process broker;
};

TEST_F(broker_session_limit, a_client_past_the_limit_is_refused_with_the_reason_and_told_what_to_do) {
  auto a = connect_client(broker.address());
  auto b = connect_client(broker.address());
  ASSERT_TRUE(a && b);
  client::client_config cfg;
  cfg.broker = broker.address();
  auto c = client::client::connect(cfg);
  ASSERT_FALSE(c.ok()) << "a third session on a shard limited to two";
  EXPECT_EQ(c.error().code, client::errc::broker_refused) << client::describe(c.error());
  EXPECT_EQ(c.error().status, wire::status::limit_reached) << "refused with the reason, not timed out";
  EXPECT_NE(client::describe_connect(c.error()).find("session limit"), std::string::npos);

  std::string out;
  const int st = run_command(binary_path("sluice") + " pub --broker " + broker.address() + " prio/lim m", &out);
  EXPECT_NE(st, 0) << out;
  EXPECT_NE(out.find("the broker is at its session limit"), std::string::npos) << out;
  EXPECT_EQ(out.find("is sluice-broker running"), std::string::npos) << "not a missing broker: " << out;

  // A session that ends frees its slot for the next client.
  a.reset();
  std::unique_ptr<client::client> d;
  for (int i = 0; i < 50 && !d; ++i) {
    auto r = client::client::connect(cfg);
    if (r.ok()) d = std::move(*r);
  }
  EXPECT_TRUE(d) << "the freed slot was not reused";
  a.reset();
  b.reset();
  d.reset();
  ASSERT_EQ(broker.stop(), 0) << broker.output();
  // Counted: the broker's final stats line for shard 0 (the CLI made one
  // more refusal).
  const std::string out_b = broker.output();
  const auto line = out_b.rfind("shard 0 cpu");
  ASSERT_NE(line, std::string::npos) << out_b;
  const auto at = out_b.find(" refused ", line);
  ASSERT_NE(at, std::string::npos) << out_b;
  EXPECT_GE(std::stoull(out_b.substr(at + 9)), 2u) << out_b;
}

// ---- where shard threads run ------------------------------------------------------

// The cpus thread `name` of process `pid` may run on (Cpus_allowed_list), "" if no such thread.
std::string thread_cpus(pid_t pid, const std::string& name) {
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task.c_str());
  if (d == nullptr) return "";
  std::string out;
  while (const dirent* e = ::readdir(d)) {
    std::ifstream comm(task + "/" + e->d_name + "/comm");
    std::string c;
    if (!std::getline(comm, c) || c != name) continue;
    std::ifstream status(task + "/" + e->d_name + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("Cpus_allowed_list:", 0) == 0) out = line.substr(line.find_first_not_of(" \t", 18));
  }
  ::closedir(d);
  return out;
}

std::string own_cpus() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Cpus_allowed_list:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 18));
  return "";
}

// A message through the broker, both shards (REDIRECT), to show it serves where it runs.
void round_trip(const broker_process& b) {
  producer p(b.address());
  consumer c(b.address());
  for (const std::string q : {"prio/pin-a", "prio/pin-b", "prio/pin-c"}) {
    auto wq = p.c->open_queue(q, writer());
    ASSERT_TRUE(wq.ok()) << client::describe(wq.error());
    ASSERT_TRUE(c.c->open_queue(q, reader()).ok());
    p.post(*wq, q);
  }
  ASSERT_TRUE(poll_until({p.c.get(), c.c.get()}, [&] { return p.acks.size() == 3 && c.got.size() == 3; }));
}

bool cpus_isolated() {
  std::ifstream f("/sys/devices/system/cpu/isolated");
  std::string s;
  return std::getline(f, s) && s.find_first_not_of(" \t\n") != std::string::npos;
}

TEST(broker_pinning, without_shards_cores_the_shards_are_not_pinned_on_a_shared_machine) {
  if (cpus_isolated()) GTEST_SKIP() << "this machine isolates cpus: the shards pin to those";
  broker_process b;
  ASSERT_TRUE(b.start()) << b.error();
  EXPECT_NE(b.output().find("shards not pinned"), std::string::npos) << b.output();
  std::string cpus;
  ASSERT_TRUE(eventually([&] { return !(cpus = thread_cpus(b.pid(), "sluice-shard-0")).empty(); }, 5));
  EXPECT_EQ(cpus, own_cpus()) << "an unpinned shard may run wherever the broker may";
  round_trip(b);
  EXPECT_EQ(b.stop(), 0) << b.output();
  EXPECT_NE(b.output().find("shard 0 cpu -1:"), std::string::npos) << b.output();
}

TEST(broker_pinning, shards_cores_pins_each_shard_to_its_core) {
  const int last = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  broker_options o;
  o.cores = "[" + std::to_string(last) + ", 0]";
  broker_process b(o);
  ASSERT_TRUE(b.start()) << b.error();
  EXPECT_NE(b.output().find("shards pinned to cpus " + std::to_string(last) + ",0 (shards.cores)"),
            std::string::npos)
      << b.output();
  std::string cpus;
  ASSERT_TRUE(eventually([&] { return !(cpus = thread_cpus(b.pid(), "sluice-shard-0")).empty(); }, 5));
  EXPECT_EQ(cpus, std::to_string(last));
  EXPECT_EQ(thread_cpus(b.pid(), "sluice-shard-1"), "0");
  round_trip(b);
  EXPECT_EQ(b.stop(), 0) << b.output();
}

}  // namespace
}  // namespace sluice::testing
