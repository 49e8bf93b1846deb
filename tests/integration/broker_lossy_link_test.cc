// A producer and a consumer reach the real broker over a lossy link: two
// network namespaces joined by a veth pair (198.18.3.1 broker, 198.18.3.2
// clients), and nftables in each dropping a random 5 % of the UDP datagrams
// that arrive (`numgen random`, ../shared/KERNEL-NOTES.md: this kernel has
// no netem). Every PUT is ACKed once, every message arrives exactly once and
// in order. The clients size their datagrams to the veth's MTU (1,472
// bytes), so this also runs the path-sized datagram rule over a real route.
//
// Needs root and nft; exit status 77 (skipped) where either is missing,
// with the reason printed. Namespaces left by a killed earlier run are
// removed first.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/test_network.h"

namespace sluice::testing {
namespace {

// The two namespaces, named after the test's PID, removed at destruction
// (their veth pair goes with them).
class lossy_link {
 public:
  lossy_link() {
    remove_stale();
    const std::string pid = std::to_string(::getpid());
    broker_ns = "sluice-lossy-b-" + pid;
    client_ns = "sluice-lossy-c-" + pid;
    const std::string veth_b = "slb" + pid.substr(pid.size() > 8 ? pid.size() - 8 : 0);
    const std::string veth_c = "slc" + pid.substr(pid.size() > 8 ? pid.size() - 8 : 0);
    const std::string cmds[] = {
        "ip netns add " + broker_ns,
        "ip netns add " + client_ns,
        "ip link add " + veth_b + " netns " + broker_ns + " type veth peer name " + veth_c + " netns " + client_ns,
        "ip -n " + broker_ns + " addr add 198.18.3.1/24 dev " + veth_b,
        "ip -n " + client_ns + " addr add 198.18.3.2/24 dev " + veth_c,
        "ip -n " + broker_ns + " link set " + veth_b + " up",
        "ip -n " + client_ns + " link set " + veth_c + " up",
        "ip -n " + broker_ns + " link set lo up",
        "ip -n " + client_ns + " link set lo up",
    };
    for (const auto& c : cmds) {
      std::string out;
      if (run_command(c, &out) != 0) {
        error = c + ": " + out;
        return;
      }
    }
    for (const auto& ns : {broker_ns, client_ns}) {
      const std::string nft = "ip netns exec " + ns +
                              " nft -f - <<'EOF'\n"
                              "table inet sluice_lossy {\n"
                              "  chain in {\n"
                              "    type filter hook input priority 0;\n"
                              "    meta l4proto udp numgen random mod 100 < 5 counter drop\n"
                              "  }\n"
                              "}\n"
                              "EOF\n";
      std::string out;
      if (run_command(nft, &out) != 0) {
        error = "nftables in " + ns + ": " + out;
        return;
      }
    }
  }
  ~lossy_link() {
    run_command("ip netns del " + broker_ns + " 2>/dev/null");
    run_command("ip netns del " + client_ns + " 2>/dev/null");
  }
  // Namespaces of an earlier run that was killed (its PID gone).
  static void remove_stale() {
    std::string out;
    run_command("ip netns list", &out);
    std::size_t at = 0;
    while ((at = out.find("sluice-lossy-", at)) != std::string::npos) {
      const std::size_t end = out.find_first_of(" \n", at);
      const std::string name = out.substr(at, end == std::string::npos ? std::string::npos : end - at);
      at += name.size();
      const std::string pid = name.substr(name.rfind('-') + 1);
      if (pid != std::to_string(::getpid()) && ::access(("/proc/" + pid).c_str(), F_OK) != 0) {
        run_command("ip netns del " + name + " 2>/dev/null");
      }
    }
  }
  // Datagrams the rules dropped in `ns`.
  std::uint64_t dropped(const std::string& ns) const {
    std::string out;
    run_command("ip netns exec " + ns + " nft list chain inet sluice_lossy in 2>/dev/null", &out);
    const auto at = out.find("packets ");
    return at == std::string::npos ? 0 : std::strtoull(out.c_str() + at + 8, nullptr, 10);
  }

  std::string broker_ns;
  std::string client_ns;
  std::string error;
};

TEST(broker_lossy_link, every_put_acked_and_every_message_delivered_once_in_order_at_5_percent_loss) {
  if (::geteuid() != 0) {
    std::printf("skipped: needs root for network namespaces and nftables\n");
    std::exit(77);
  }
  if (run_command("command -v nft >/dev/null") != 0) {
    std::printf("skipped: no nft here (deploy/install-deps.sh installs nftables)\n");
    std::exit(77);
  }
  lossy_link link;
  ASSERT_TRUE(link.error.empty()) << "cannot build the lossy link: " << link.error;
  broker_options bo;
  bo.listen = "198.18.3.1";
  broker_process broker(bo);
  bool started = false;
  ASSERT_TRUE(in_netns(link.broker_ns, [&] { started = broker.start(); }));  // the child is forked in there
  ASSERT_TRUE(started) << broker.error();

  std::unique_ptr<client::client> p;
  std::unique_ptr<client::client> c;
  ASSERT_TRUE(in_netns(link.client_ns, [&] {  // their sockets stay in the client namespace
    p = connect_client(broker.address(0));
    c = connect_client(broker.address(1));
  }));
  ASSERT_TRUE(p && c);
  const std::string uri = "prio/lossy";
  auto w = p->open_queue(uri, writer());
  ASSERT_TRUE(w.ok()) << client::describe(w.error());
  constexpr std::uint64_t k_messages = 20'000;
  std::uint64_t next = 0;
  std::uint64_t received = 0;
  std::string order_error;
  c->on_message([&](const client::message& m) {
    std::uint64_t seq = UINT64_MAX;
    if (m.payload.size() >= 8) std::memcpy(&seq, m.payload.data(), 8);
    if (seq != next && order_error.empty()) {
      order_error = "message " + std::to_string(seq) + " arrived when " + std::to_string(next) + " was due";
    }
    next = seq + 1;
    ++received;
    (void)c->confirm(m.queue, m.guid);
  });
  ASSERT_TRUE(c->open_queue(uri, reader()).ok());

  std::uint64_t acks_ok = 0;
  std::uint64_t acks_bad = 0;
  std::array<std::byte, 200> body{};
  for (std::uint64_t i = 0; i < k_messages;) {
    std::memcpy(body.data(), &i, 8);
    const auto r = p->post(*w, body, {}, [&](const client::ack& a) {
      (a.status == wire::status::ok ? acks_ok : acks_bad)++;
    });
    if (r.ok()) {
      ++i;
    } else {
      ASSERT_EQ(r.error().code, client::errc::would_block) << client::describe(r.error());
      poll_for({p.get(), c.get()}, 0.001);
    }
  }
  EXPECT_TRUE(poll_until({p.get(), c.get()}, [&] { return acks_ok + acks_bad == k_messages && received >= k_messages; },
                         120))
      << acks_ok << " ACKs, " << received << " messages of " << k_messages;
  poll_for({p.get(), c.get()}, 0.2);  // a duplicate would come now
  EXPECT_EQ(acks_ok, k_messages);
  EXPECT_EQ(acks_bad, 0u);
  EXPECT_EQ(received, k_messages) << "exactly once";
  EXPECT_TRUE(order_error.empty()) << order_error;
  const auto dropped_b = link.dropped(link.broker_ns);
  const auto dropped_c = link.dropped(link.client_ns);
  std::printf("dropped by the link: %llu datagrams to the broker, %llu to the clients\n",
              static_cast<unsigned long long>(dropped_b), static_cast<unsigned long long>(dropped_c));
  EXPECT_GT(dropped_b + dropped_c, 0u) << "the link lost nothing: the test did not test loss";
  p.reset();
  c.reset();
  EXPECT_EQ(broker.stop(), 0);
}

}  // namespace
}  // namespace sluice::testing
