// etcd membership end to end: a real etcd on loopback and real sluice-control
// processes (no broker needed; where a test watches what control pushes to
// the broker, a fake broker channel in this file records it).
//
// Every wait is a bounded poll with a deadline; the lease TTLs are short
// (1.5 s) so the whole file runs in well under a minute. Without an etcd
// binary it prints "SKIPPED: ..." and exits 77.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "common/unix_socket.h"
#include "control/etcd_client.h"
#include "control/etcd_membership.h"
#include "tests/support/etcd_cluster.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Polls `done` every 50 ms until it holds or `ms` pass.
bool eventually(int ms, const std::function<bool()>& done) {
  const auto deadline = clock_type::now() + milliseconds(ms);
  while (clock_type::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return done();
}

std::vector<int> primaries(const json& parts_reply) {
  std::vector<int> out;
  for (const auto& p : parts_reply.value("partitions", json::array())) out.push_back(p["primary"].get<int>());
  return out;
}

std::set<int> member_ids(const json& members_reply) {
  std::set<int> out;
  for (const auto& m : members_reply.value("members", json::array())) out.insert(m["node_id"].get<int>());
  return out;
}

bool any_serving(const json& parts_reply) {
  for (const auto& p : parts_reply.value("partitions", json::array())) {
    if (p.value("serving", false)) return true;
  }
  return false;
}

// The broker's end of the control channel, enough for sluice-control's
// resync and pushes: answers hello and reload, records every "partitions"
// request's serving vector, refuses the rest.
class fake_broker {
 public:
  explicit fake_broker(std::string path) : _path(std::move(path)) {
    std::string err;
    _fd = listen_unix(_path, err, 0600);
    EXPECT_GE(_fd, 0) << err;
    _thread = std::thread([this] { run(); });
  }
  ~fake_broker() {
    _stop.store(true);
    _thread.join();
    if (_fd >= 0) ::close(_fd);
    ::unlink(_path.c_str());
  }
  std::vector<std::vector<bool>> pushes() const {
    std::lock_guard lk(_mu);
    return _pushes;
  }
  std::vector<bool> last() const {
    std::lock_guard lk(_mu);
    return _pushes.empty() ? std::vector<bool>{} : _pushes.back();
  }

 private:
  void run() {
    int conn = -1;
    std::string buf;
    while (!_stop.load()) {
      pollfd p{conn >= 0 ? conn : _fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      if (conn < 0) {
        conn = ::accept4(_fd, nullptr, nullptr, SOCK_CLOEXEC);
        continue;
      }
      std::string line;
      if (!read_line(conn, buf, line, 50)) {
        if (p.revents & (POLLHUP | POLLERR)) {
          ::close(conn);
          conn = -1;
          buf.clear();
        }
        continue;
      }
      const json req = json::parse(line);
      json reply = {{"id", req["id"]}, {"ok", false}, {"error", "fake broker"}};
      const std::string cmd = req.value("cmd", std::string());
      if (cmd == "hello") {
        reply = {{"id", req["id"]}, {"ok", true}, {"pid", 4242}, {"shards", json::array()}};
      } else if (cmd == "reload") {
        reply = {{"id", req["id"]}, {"ok", true}};
      } else if (cmd == "partitions") {
        std::lock_guard lk(_mu);
        _pushes.push_back(req["serving"].get<std::vector<bool>>());
        reply = {{"id", req["id"]}, {"ok", true}};
      }
      send_all(conn, reply.dump() + "\n");
    }
    if (conn >= 0) ::close(conn);
  }

  std::string _path;
  int _fd = -1;
  mutable std::mutex _mu;
  std::vector<std::vector<bool>> _pushes;
  std::atomic<bool> _stop{false};
  std::thread _thread;
};

class control_etcd : public ::testing::Test {
 protected:
  void SetUp() override {
    require_etcd();
    ASSERT_TRUE(_etcd.start()) << _etcd.error();
  }

  control_options node(std::uint16_t id, std::uint32_t ttl_ms = 1500) {
    control_options o;
    o.node_id = id;
    o.etcd_endpoint = _etcd.endpoint();
    o.cluster = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.lease_ttl_ms = ttl_ms;
    o.partitions = 6;
    return o;
  }

  etcd_process _etcd;
};

// Three nodes register; every one of them sees all three members and the
// same map, each node primary for two of the six partitions. SIGKILL one:
// its lease lapses, the lowest live node raises the epoch by CAS, and both
// survivors see a map without it.
TEST_F(control_etcd, three_nodes_share_the_map_and_a_killed_node_is_replaced) {
  std::vector<std::unique_ptr<cluster_member>> nodes;
  for (std::uint16_t id = 1; id <= 3; ++id) {
    nodes.push_back(std::make_unique<cluster_member>(node(id)));
    ASSERT_TRUE(nodes.back()->start()) << nodes.back()->error();
  }
  json parts[3];
  ASSERT_TRUE(eventually(10000, [&] {
    for (int i = 0; i < 3; ++i) {
      if (member_ids(nodes[static_cast<std::size_t>(i)]->ask("members")) != std::set<int>{1, 2, 3}) return false;
      parts[i] = nodes[static_cast<std::size_t>(i)]->ask("partitions");
    }
    const auto p = primaries(parts[0]);
    return p.size() == 6 && primaries(parts[1]) == p && primaries(parts[2]) == p &&
           parts[0]["epoch"] == parts[1]["epoch"] && parts[1]["epoch"] == parts[2]["epoch"] &&
           std::count(p.begin(), p.end(), 1) == 2 && std::count(p.begin(), p.end(), 2) == 2 &&
           std::count(p.begin(), p.end(), 3) == 2;
  })) << parts[0].dump() << "\n" << parts[1].dump() << "\n" << parts[2].dump() << "\n" << nodes[0]->output();
  for (int i = 0; i < 3; ++i) {
    const json st = nodes[static_cast<std::size_t>(i)]->ask("status");
    EXPECT_EQ(st["membership"], "etcd");
    EXPECT_EQ(st["membership_state"], "up") << st.dump();
    EXPECT_GE(st["epoch"].get<int>(), 1);
    // Each node serves exactly the partitions it is primary for.
    for (const auto& p : parts[i]["partitions"]) {
      EXPECT_EQ(p["serving"].get<bool>(), p["primary"].get<int>() == i + 1) << parts[i].dump();
    }
  }
  EXPECT_EQ(parts[0]["written_by"], 1) << "the lowest live node writes the map";
  const auto epoch_before = parts[0]["epoch"].get<std::uint64_t>();

  const auto killed_at = clock_type::now();
  nodes[2]->kill9();
  json survivors[2];
  ASSERT_TRUE(eventually(10000, [&] {
    for (int i = 0; i < 2; ++i) {
      if (member_ids(nodes[static_cast<std::size_t>(i)]->ask("members")) != std::set<int>{1, 2}) return false;
      survivors[i] = nodes[static_cast<std::size_t>(i)]->ask("partitions");
    }
    const auto p = primaries(survivors[0]);
    return survivors[0]["epoch"].get<std::uint64_t>() > epoch_before &&
           survivors[0]["epoch"] == survivors[1]["epoch"] &&
           p == primaries(survivors[1]) && std::count(p.begin(), p.end(), 3) == 0;
  })) << survivors[0].dump() << "\n" << survivors[1].dump() << "\n" << nodes[0]->output();
  // Nobody noticed before etcd expired the lease (a SIGKILLed node cannot revoke it).
  const auto takeover = std::chrono::duration_cast<milliseconds>(clock_type::now() - killed_at);
  std::printf("survivors took over %lld ms after the SIGKILL (TTL 1500 ms)\n",
              static_cast<long long>(takeover.count()));
  EXPECT_GE(takeover, milliseconds(1000));
  const auto p = primaries(survivors[0]);
  EXPECT_EQ(std::count(p.begin(), p.end(), 1), 3) << survivors[0].dump();
  EXPECT_EQ(std::count(p.begin(), p.end(), 2), 3) << survivors[0].dump();
  for (const auto& e : survivors[0]["partitions"]) {
    EXPECT_EQ(std::count(e["replicas"].begin(), e["replicas"].end(), json(3)), 0) << "dead node still a replica";
  }
  EXPECT_EQ(survivors[0]["written_by"], 1);
}

// A node stopped with SIGTERM fences its broker and revokes its lease: the
// others see it leave at once, long before its (10 s) TTL could lapse, and
// take its partitions.
TEST_F(control_etcd, a_stopped_node_leaves_at_once) {
  cluster_member a(node(1, 10000));
  cluster_member b(node(2, 10000));
  fake_broker b_broker(b.broker_socket());
  ASSERT_TRUE(a.start()) << a.error();
  ASSERT_TRUE(b.start()) << b.error();
  ASSERT_TRUE(eventually(10000, [&] {
    const auto p = primaries(a.ask("partitions"));
    // b's broker serves what b is primary for (which shards depends on the map).
    const json serving = b.ask("status")["serving"];
    return std::count(p.begin(), p.end(), 2) == 3 && member_ids(b.ask("members")) == std::set<int>{1, 2} &&
           serving.is_array() && json(b_broker.last()) == serving &&
           std::find(serving.begin(), serving.end(), json(true)) != serving.end();
  })) << a.ask("partitions").dump();
  const auto stopped_at = clock_type::now();
  EXPECT_EQ(b.stop(), 0) << b.output();
  json parts;
  ASSERT_TRUE(eventually(5000, [&] {
    parts = a.ask("partitions");
    const auto p = primaries(parts);
    return member_ids(a.ask("members")) == std::set<int>{1} && std::count(p.begin(), p.end(), 1) == 6;
  })) << parts.dump() << "\n" << a.output();
  EXPECT_LT(clock_type::now() - stopped_at, milliseconds(9000)) << "seen by the revoke, not the TTL";
  EXPECT_NE(b.output().find("revoked lease"), std::string::npos) << b.output();
  // It told its broker to stop serving before it left.
  EXPECT_EQ(b_broker.last(), (std::vector<bool>{false, false})) << b.output();
}

// Library level: the map changes only by CAS on its mod_revision. A writer
// holding a stale revision is refused and handed the current map; nothing it
// wrote reaches etcd. A stored value that does not decode is an error, never
// overwritten.
TEST_F(control_etcd, a_stale_writer_cas_is_rejected) {
  control::etcd_client etcd({_etcd.endpoint()});
  const std::string key = "/sluice/cas/partition_map";
  auto first = control::read_partition_map(etcd, key);
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_EQ(first.value->revision, 0);
  EXPECT_EQ(first.value->map.epoch, 0u);

  control::partition_map m1 = control::assign({}, {1, 2}, 4);
  m1.epoch = 1;
  m1.written_by = 1;
  auto w1 = control::write_partition_map(etcd, key, m1, 0);
  ASSERT_TRUE(w1.ok()) << w1.error;
  ASSERT_TRUE(w1.value->won);
  const std::int64_t r1 = w1.value->current.revision;

  // A second writer that also read "no map yet" loses and learns epoch 1.
  control::partition_map rival = control::assign({}, {2}, 4);
  rival.epoch = 1;
  rival.written_by = 2;
  auto lost = control::write_partition_map(etcd, key, rival, 0);
  ASSERT_TRUE(lost.ok()) << lost.error;
  EXPECT_FALSE(lost.value->won);
  EXPECT_EQ(lost.value->current.revision, r1);
  EXPECT_EQ(lost.value->current.map.epoch, 1u);
  EXPECT_TRUE(lost.value->current.map.same_assignment(m1));

  // Epoch 2 from revision r1 wins ...
  control::partition_map m2 = control::assign(m1, {1}, 4);
  m2.epoch = 2;
  auto w2 = control::write_partition_map(etcd, key, m2, r1);
  ASSERT_TRUE(w2.ok() && w2.value->won) << w2.error;
  // ... after which a writer still holding r1 (even with a higher epoch) loses.
  control::partition_map stale = control::assign(m1, {2}, 4);
  stale.epoch = 3;
  auto w3 = control::write_partition_map(etcd, key, stale, r1);
  ASSERT_TRUE(w3.ok()) << w3.error;
  EXPECT_FALSE(w3.value->won);
  EXPECT_EQ(w3.value->current.map.epoch, 2u);
  EXPECT_EQ(w3.value->current.revision, w2.value->current.revision);
  auto now = control::read_partition_map(etcd, key);
  ASSERT_TRUE(now.ok()) << now.error;
  EXPECT_EQ(now.value->map.epoch, 2u);
  EXPECT_TRUE(now.value->map.same_assignment(m2));

  // Compare-by-value: the same rule with the value as the witness.
  const std::string cur = control::encode(now.value->map);
  auto v_stale = etcd.cas_value(key, control::encode(m1), control::encode(stale));
  ASSERT_TRUE(v_stale.ok()) << v_stale.error;
  EXPECT_FALSE(v_stale.value->succeeded);
  ASSERT_TRUE(v_stale.value->current.has_value());
  EXPECT_EQ(v_stale.value->current->value, cur);

  // Garbage at the key: readers and writers refuse it.
  ASSERT_TRUE(etcd.put(key, "not a map").ok());
  EXPECT_FALSE(control::read_partition_map(etcd, key).ok());
  auto w4 = control::write_partition_map(etcd, key, stale, r1);
  EXPECT_FALSE(w4.ok());
  EXPECT_NE(w4.error.find("fix or delete"), std::string::npos) << w4.error;
}

// Fencing: with etcd frozen (SIGSTOP) no keepalive gets through; within the
// TTL (by its own clock) the node reports serving nothing and pushes an
// all-false vector to its broker. When etcd is back it serves again.
TEST_F(control_etcd, a_node_cut_off_from_etcd_stops_serving_after_its_ttl) {
  cluster_member a(node(1));
  fake_broker broker(a.broker_socket());
  ASSERT_TRUE(a.start()) << a.error();
  ASSERT_TRUE(eventually(10000, [&] {
    return any_serving(a.ask("partitions")) && broker.last() == std::vector<bool>{true, true};
  })) << a.ask("partitions").dump() << "\n" << a.output();

  // The lease's remaining time just before the cut: no renewal can shorten
  // it, so fencing must not come sooner than that.
  const auto asked_at = clock_type::now();
  const json before = a.ask("status");
  ASSERT_EQ(before["membership_state"], "up") << before.dump();
  const auto lease_left = milliseconds(before["lease_left_ms"].get<std::int64_t>());
  _etcd.pause();
  const auto cut_at = clock_type::now();
  json st, parts;
  ASSERT_TRUE(eventually(1500 + 2000, [&] {
    st = a.ask("status");
    parts = a.ask("partitions");
    return st["membership_state"] == "fenced" && !any_serving(parts) &&
           broker.last() == std::vector<bool>{false, false};
  })) << st.dump() << "\n" << parts.dump() << "\n" << a.output();
  const auto fenced_at = clock_type::now();
  std::printf("fenced %lld ms after etcd froze (TTL 1500 ms, %lld ms of lease left at the cut)\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(fenced_at - cut_at).count()),
              static_cast<long long>(lease_left.count()));
  EXPECT_EQ(st["serving"], json::array({false, false}));
  EXPECT_NE(st["membership_detail"].get<std::string>().find("lease not renewed"), std::string::npos) << st.dump();
  EXPECT_GE(fenced_at - asked_at, lease_left) << "fenced before the lease could have lapsed";

  _etcd.resume();
  ASSERT_TRUE(eventually(10000, [&] {
    st = a.ask("status");
    return st["membership_state"] == "up" && any_serving(a.ask("partitions")) &&
           broker.last() == std::vector<bool>{true, true};
  })) << st.dump() << "\n" << a.output();
}

// Someone writes garbage at the map key: nobody can know who serves what,
// so the node stops serving and says why; deleting the key lets the writer
// put the map back with a higher epoch, and serving resumes.
TEST_F(control_etcd, a_corrupt_map_fences_until_the_key_is_deleted) {
  cluster_member a(node(1));
  ASSERT_TRUE(a.start()) << a.error();
  json st;
  ASSERT_TRUE(eventually(10000, [&] {
    st = a.ask("status");
    return st["membership_state"] == "up" && st["epoch"] == 1;
  })) << st.dump();
  control::etcd_client etcd({_etcd.endpoint()});
  const std::string key = "/sluice/a_corrupt_map_fences_until_the_key_is_deleted/partition_map";
  ASSERT_TRUE(etcd.put(key, "{\"epoch\": \"lots\"}").ok());
  ASSERT_TRUE(eventually(5000, [&] {
    st = a.ask("status");
    return st["membership_state"] == "map_invalid" && st["serving"] == json::array({false, false});
  })) << st.dump();
  EXPECT_NE(st["membership_detail"].get<std::string>().find("fix or delete the key"), std::string::npos);
  ASSERT_TRUE(etcd.remove(key).ok());
  ASSERT_TRUE(eventually(5000, [&] {
    st = a.ask("status");
    return st["membership_state"] == "up" && st["epoch"] == 2 && st["serving"] == json::array({true, true});
  })) << st.dump() << "\n" << a.output();
  auto stored = control::read_partition_map(etcd, key);
  ASSERT_TRUE(stored.ok()) << stored.error;
  EXPECT_EQ(stored.value->map.epoch, 2u);
}

// etcd down when sluice-control starts: it starts anyway, says why it is not
// a member, retries with backoff, and joins once etcd is up.
TEST(control_etcd_start, unreachable_etcd_is_retried_and_reported) {
  require_etcd();
  const std::uint16_t port = free_tcp_port();
  control_options o;
  o.node_id = 5;
  o.etcd_endpoint = "http://127.0.0.1:" + std::to_string(port);
  cluster_member a(o);
  ASSERT_TRUE(a.start()) << a.error();
  json st;
  ASSERT_TRUE(eventually(3000, [&] {
    st = a.ask("status");
    return st["membership_state"] == "connecting" &&
           st["membership_detail"].get<std::string>().find("etcd unreachable") != std::string::npos;
  })) << st.dump();
  EXPECT_EQ(st["serving"], json::array({false, false})) << "no map, no lease: nothing is served";
  EXPECT_EQ(a.ask("partitions")["epoch"], 0);

  etcd_process etcd;
  ASSERT_TRUE(etcd.start(port)) << etcd.error();
  ASSERT_TRUE(eventually(10000, [&] {
    st = a.ask("status");
    return st["membership_state"] == "up" && st["epoch"] == 1 && st["serving"] == json::array({true, true});
  })) << st.dump() << "\n" << a.output();
  EXPECT_NE(a.output().find("not registered in etcd"), std::string::npos) << "the wait was logged:\n" << a.output();
}

// Two processes claiming one node id: the second is told so and waits; it
// takes over once the first is gone.
TEST_F(control_etcd, a_duplicate_node_id_waits_for_the_first) {
  cluster_member a(node(3));
  ASSERT_TRUE(a.start()) << a.error();
  ASSERT_TRUE(eventually(5000, [&] { return a.ask("status")["membership_state"] == "up"; }));
  cluster_member twin(node(3));
  ASSERT_TRUE(twin.start()) << twin.error();
  json st;
  ASSERT_TRUE(eventually(5000, [&] {
    st = twin.ask("status");
    return st["membership_state"] == "conflict";
  })) << st.dump();
  EXPECT_NE(st["membership_detail"].get<std::string>().find("node id 3 is registered already"), std::string::npos);
  EXPECT_EQ(st["serving"], json::array({false, false}));
  EXPECT_EQ(a.stop(), 0);
  ASSERT_TRUE(eventually(10000, [&] { return twin.ask("status")["membership_state"] == "up"; }))
      << twin.ask("status").dump();
}

// A bad endpoint is refused at start with the setting named.
TEST(control_etcd_start, bad_endpoints_are_refused) {
  control_options o;
  o.etcd_endpoint = "https://127.0.0.1:2379";
  cluster_member a(o);
  EXPECT_FALSE(a.start());
  EXPECT_NE(a.error().find("cluster.etcd_endpoints"), std::string::npos) << a.error();
  EXPECT_NE(a.error().find("https is not supported"), std::string::npos) << a.error();
  EXPECT_NE(a.error().find("status 2"), std::string::npos) << a.error();
}

}  // namespace
}  // namespace sluice::testing
