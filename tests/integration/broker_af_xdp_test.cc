// What only the AF_XDP datapath has to show, with the real broker in a
// network namespace behind a veth pair (tests/support/test_network.h): the
// XDP program detaches when the broker exits or is killed; a foreign XDP
// program is never replaced; ARP and TCP to the broker's host still work
// while the program is attached; two shards on two NIC queues, and
// datagrams that land on the wrong shard's queue are forwarded to the owner.
// (The broker scenarios themselves run over AF_XDP as the *_af_xdp variants
// of broker_modes_test, broker_bad_input_test and broker_delivery_test.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "datapath/broker/shard_protocol.h"
#include "tests/support/broker_process.h"
#include "tests/support/test_network.h"

namespace sluice::testing {
namespace {

const test_network& net() { return network("af_xdp"); }

broker_options xdp_options(std::string datapath_extra = {}) {
  broker_options o;
  o.datapath = "af_xdp";
  o.datapath_extra = std::move(datapath_extra);
  return o;
}

// The XDP program attached to the broker's veth end, as `ip link` shows it.
bool xdp_attached() {
  std::string out;
  run_command("ip -n " + net().broker_ns + " -d link show dev " + net().broker_if, &out);
  return out.find("prog/xdp") != std::string::npos;
}

bool wait_detached(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (xdp_attached()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string cli(const std::string& args, int* status = nullptr) {
  std::string out;
  const int st = run_command(binary_path("sluice") + " " + args, &out);
  if (status != nullptr) *status = st;
  return out;
}

// Publishes `n` messages and consumes them again through the broker.
void round_trip(const broker_process& b, const std::string& queue, int n) {
  int st = 0;
  const std::string pub = cli("pub --broker " + b.address() + " --count " + std::to_string(n) + " " + queue + " m", &st);
  ASSERT_EQ(st, 0) << pub;
  EXPECT_NE(pub.find(std::to_string(n) + " acked ok"), std::string::npos) << pub;
  const std::string sub =
      cli("sub --broker " + b.address() + " --count " + std::to_string(n) + " --timeout 5 " + queue, &st);
  ASSERT_EQ(st, 0) << sub;
}

// "shard I af_xdp: ... NAME N ..." from the broker's final stats.
std::uint64_t shard_counter(const std::string& out, unsigned shard, const std::string& name) {
  const std::string head = "shard " + std::to_string(shard) + " af_xdp:";
  const auto line = out.rfind(head);
  if (line == std::string::npos) return ~0ull;
  const auto at = out.find(" " + name + " ", line);
  if (at == std::string::npos) return ~0ull;
  return std::stoull(out.substr(at + name.size() + 2));
}

std::uint64_t xdp_counter(const std::string& out, const std::string& name) {
  const auto line = out.rfind("\nxdp:");
  const auto at = line == std::string::npos ? line : out.find(" " + name + " ", line);
  return at == std::string::npos ? ~0ull : std::stoull(out.substr(at + name.size() + 2));
}

TEST(broker_af_xdp, program_detaches_on_exit_and_after_sigkill) {
  {
    broker_process b(xdp_options());
    ASSERT_TRUE(b.start()) << b.error();
    EXPECT_TRUE(xdp_attached());
    round_trip(b, "prio/detach", 10);
    EXPECT_EQ(b.stop(), 0) << b.output();
    EXPECT_TRUE(wait_detached(2)) << "program left attached after a clean exit";
  }
  {
    broker_process b(xdp_options());
    ASSERT_TRUE(b.start()) << b.error();
    ASSERT_TRUE(xdp_attached());
    b.kill9();
    EXPECT_TRUE(wait_detached(2)) << "program left attached after SIGKILL: it would black-hole traffic";
  }
  // A restart attaches again and serves.
  broker_process b(xdp_options());
  ASSERT_TRUE(b.start()) << b.error();
  round_trip(b, "prio/after-restart", 10);
}

// An operator's restart: a new broker started the moment the old one has
// exited (cleanly or by SIGKILL) binds the same NIC queues, although the
// kernel releases the old AF_XDP sockets asynchronously (bind answers EBUSY
// meanwhile: issue 13.6). The broker waits for the queue, bounded, and says
// so.
TEST(broker_af_xdp, a_broker_restarted_at_once_binds_its_queues) {
  for (const char* mode : {"af_xdp", "af_xdp_skb"}) {
    broker_options o;
    o.datapath = mode;
    for (int round = 0; round < 4; ++round) {
      broker_process b(o);
      ASSERT_TRUE(b.start()) << mode << " round " << round << ": " << b.error() << "\n" << b.output();
      round_trip(b, "prio/restart", 5);
      const std::string out = b.output();
      if (out.find("the queue is busy") != std::string::npos) {
        EXPECT_NE(out.find("the queue came free after"), std::string::npos) << out;
      }
      if (round % 2 == 0) {
        EXPECT_EQ(b.stop(), 0) << b.output();
      } else {
        b.kill9();
      }
    }
  }
}

TEST(broker_af_xdp, a_foreign_xdp_program_is_never_replaced) {
  const std::string obj = binary_path("bpf/sluice_xdp.bpf.o");
  const std::string dev = "ip -n " + net().broker_ns + " link set dev " + net().broker_if;
  std::string out;
  ASSERT_EQ(run_command(dev + " xdpgeneric obj " + obj + " sec xdp", &out), 0) << out;
  std::string before;
  run_command("ip -n " + net().broker_ns + " -d link show dev " + net().broker_if, &before);
  {
    broker_process b(xdp_options());
    EXPECT_FALSE(b.start());
    EXPECT_NE(b.error().find("already has an XDP program"), std::string::npos) << b.error();
    EXPECT_NE(b.error().find("does not replace it"), std::string::npos) << b.error();
  }
  {
    // Asked for the dispatcher: libxdp cannot add to a program attached
    // without one, so the broker still refuses, saying why.
    broker_process b(xdp_options("attach = \"dispatcher\""));
    EXPECT_FALSE(b.start());
    EXPECT_NE(b.error().find("datapath.attach = \"dispatcher\""), std::string::npos) << b.error();
    EXPECT_NE(b.error().find("already has an XDP program"), std::string::npos) << b.error();
  }
  std::string after;
  run_command("ip -n " + net().broker_ns + " -d link show dev " + net().broker_if, &after);
  EXPECT_EQ(before, after) << "the foreign program was touched";
  ASSERT_EQ(run_command(dev + " xdpgeneric off", &out), 0) << out;
}

TEST(broker_af_xdp, dispatcher_option_never_leaves_a_program_behind) {
  broker_process b(xdp_options("attach = \"dispatcher\""));
  ASSERT_TRUE(b.start()) << b.error();
  const std::string out = b.output();
  // Where libxdp's dispatcher works the program runs through it; where it
  // cannot load (here: no bpffs, freplace refused) the broker says why and
  // uses a bpf_link.
  const bool dispatcher = out.find("through libxdp's dispatcher") != std::string::npos;
  if (!dispatcher) {
    EXPECT_NE(out.find("using a bpf_link instead"), std::string::npos) << out;
  }
  std::printf("dispatcher used: %s\n", dispatcher ? "yes" : "no (fell back to bpf_link)");
  round_trip(b, "prio/dispatcher", 5);
  b.kill9();
  if (!dispatcher) {
    EXPECT_TRUE(wait_detached(2)) << "libxdp's netlink fallback outlived the broker";
  } else {
    run_command("ip -n " + net().broker_ns + " link set dev " + net().broker_if + " xdp off");
  }
}

TEST(broker_af_xdp, arp_and_tcp_to_the_broker_host_still_work) {
  broker_process b(xdp_options());
  ASSERT_TRUE(b.start()) << b.error();
  // Forget the broker's MAC so the client must ARP through the XDP program.
  std::string out;
  ASSERT_EQ(run_command("ip -n " + net().client_ns + " neigh flush all", &out), 0) << out;
  int listener = -1;
  ASSERT_TRUE(in_netns(net().broker_ns, [&] { listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }));
  ASSERT_GE(listener, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(2222);  // an ssh-like TCP service on the broker host
  ::inet_pton(AF_INET, net().broker_ip.c_str(), &a.sin_addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << "TCP connect through the XDP host failed";
  const int s = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(s, 0);
  ASSERT_EQ(::send(c, "hello", 5, 0), 5);
  char buf[8] = {};
  ASSERT_EQ(::recv(s, buf, sizeof buf, 0), 5);
  ASSERT_EQ(::send(s, buf, 5, 0), 5);
  char back[8] = {};
  EXPECT_EQ(::recv(c, back, sizeof back, 0), 5);
  EXPECT_EQ(std::string(back, 5), "hello");
  ::close(s);
  ::close(c);
  ::close(listener);
  run_command("ip -n " + net().client_ns + " neigh show", &out);
  EXPECT_NE(out.find(net().broker_ip), std::string::npos) << "no neighbour entry: ARP did not happen? " << out;
  round_trip(b, "prio/beside-tcp", 10);  // and the broker still serves
  ASSERT_EQ(b.stop(), 0);
  const std::string stats = b.output();
  EXPECT_GT(xdp_counter(stats, "passed_not_ip"), 0u) << stats;   // ARP
  EXPECT_GT(xdp_counter(stats, "passed_not_udp"), 0u) << stats;  // TCP
  EXPECT_GT(xdp_counter(stats, "redirected"), 0u) << stats;
}

TEST(broker_af_xdp, serves_ipv6_clients) {
  broker_options o = xdp_options();
  o.listen = net().broker_ip6;
  broker_process b(o);
  ASSERT_TRUE(b.start()) << b.error();
  round_trip(b, "prio/over-ipv6", 50);
  ASSERT_EQ(b.stop(), 0);
  const std::string out = b.output();
  EXPECT_GT(shard_counter(out, 0, "rx_xsk") + shard_counter(out, 1, "rx_xsk"), 0u) << out;
  EXPECT_GT(shard_counter(out, 0, "tx_xsk") + shard_counter(out, 1, "tx_xsk"), 0u) << out;
}

// veth steers by the sender's TX queue, which XPS picks from the sending CPU.
class two_queues : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs 2 cpus to steer by XPS";
    for (int q = 0; q < 2; ++q) {
      std::string out;
      ASSERT_EQ(run_command("ip netns exec " + net().client_ns + " sh -c 'echo " + std::to_string(1 << q) +
                                " > /sys/class/net/" + net().client_if + "/queues/tx-" + std::to_string(q) + "/xps_cpus'",
                            &out),
                0)
          << out;
    }
  }
  // A queue name owned by `shard`, so no REDIRECT moves the client.
  static std::string queue_on(unsigned shard, const std::string& stem) {
    for (int i = 0;; ++i) {
      const std::string q = "prio/" + stem + std::to_string(i);
      if (broker::shard_protocol::owner_of(q, 2) == shard) return q;
    }
  }
  // Publishes and consumes from `cpu` through shard `shard`'s port.
  static void traffic(const broker_process& b, int cpu, unsigned shard, const std::string& stem) {
    const std::string q = queue_on(shard, stem);
    const std::string pin = "taskset -c " + std::to_string(cpu) + " " + binary_path("sluice");
    int st = 0;
    std::string out;
    st = run_command(pin + " pub --broker " + b.address(shard) + " --count 200 " + q + " m", &out);
    ASSERT_EQ(st, 0) << out;
    EXPECT_NE(out.find("200 acked ok"), std::string::npos) << out;
    st = run_command(pin + " sub --broker " + b.address(shard) + " --count 200 --timeout 5 " + q + " >/dev/null", &out);
    ASSERT_EQ(st, 0) << out;
  }
};

TEST_F(two_queues, each_shard_serves_its_own_queue) {
  broker_process b(xdp_options());
  ASSERT_TRUE(b.start()) << b.error();
  traffic(b, 0, 0, "steered-a");  // cpu 0 → TX queue 0 → RX queue 0 → shard 0
  traffic(b, 1, 1, "steered-b");  // cpu 1 → queue 1 → shard 1
  ASSERT_EQ(b.stop(), 0);
  const std::string out = b.output();
  EXPECT_GT(shard_counter(out, 0, "rx_xsk"), 0u) << out;
  EXPECT_GT(shard_counter(out, 1, "rx_xsk"), 0u) << out;
  EXPECT_EQ(shard_counter(out, 0, "forwarded_out"), 0u) << out;
  EXPECT_EQ(shard_counter(out, 1, "forwarded_out"), 0u) << out;
  // Replies left as frames the broker built (Ethernet/IP/UDP, checksums):
  // the clients' kernel accepted them.
  EXPECT_GT(shard_counter(out, 0, "tx_xsk"), 0u) << out;
  EXPECT_GT(shard_counter(out, 1, "tx_xsk"), 0u) << out;
}

TEST_F(two_queues, datagrams_on_the_wrong_queue_are_forwarded_to_their_shard) {
  broker_process b(xdp_options());
  ASSERT_TRUE(b.start()) << b.error();
  traffic(b, 1, 0, "crossed-a");  // shard 0's port, arriving on queue 1
  traffic(b, 0, 1, "crossed-b");  // shard 1's port, arriving on queue 0
  ASSERT_EQ(b.stop(), 0);
  const std::string out = b.output();
  EXPECT_GT(shard_counter(out, 0, "forwarded_out"), 0u) << out;
  EXPECT_GT(shard_counter(out, 1, "forwarded_out"), 0u) << out;
  EXPECT_EQ(shard_counter(out, 0, "forwarded_in"), shard_counter(out, 1, "forwarded_out")) << out;
  EXPECT_EQ(shard_counter(out, 0, "forward_dropped") + shard_counter(out, 1, "forward_dropped"), 0u) << out;
}

}  // namespace
}  // namespace sluice::testing
