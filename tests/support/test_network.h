// tests/support/test_network.h — where integration tests run the broker.
//
// By default the broker listens on 127.0.0.1 with kernel UDP. With
// SLUICE_TEST_DATAPATH=af_xdp (or af_xdp_skb) the same tests run the broker
// in AF_XDP mode instead: on first use this creates two network namespaces
// joined by a two-queue veth pair (198.18.0.1 and 2001:2::1 broker side,
// 198.18.0.2 and 2001:2::2 client side, TX checksum offload off on both ends so AF_XDP sees complete
// checksums), moves the test process's main thread into the client
// namespace (threads and child processes started later follow it), and the
// broker is started inside the broker namespace. The namespaces are named
// after the test's PID and removed at exit; namespaces left by an earlier
// crashed run (their PID gone) are removed first.
//
// Where the machine cannot do this (not root, no AF_XDP), the test process
// prints why and exits with status 77, which ctest reports as skipped.
#pragma once

#include <functional>
#include <string>

namespace sluice::testing {

enum class datapath_kind { udp, af_xdp, af_xdp_skb };

struct test_network {
  datapath_kind kind = datapath_kind::udp;
  std::string broker_ns;  // "" for udp
  std::string client_ns;
  std::string broker_if = "sx0";
  std::string client_if = "sx1";
  std::string broker_ip = "127.0.0.1";
  std::string client_ip = "127.0.0.1";
  std::string broker_ip6 = "2001:2::1";  // AF_XDP namespaces only
  std::string client_ip6 = "2001:2::2";
};

// The process's network (set up on first call). `forced` overrides the
// environment for tests that exist only for AF_XDP.
const test_network& network(const char* forced = nullptr);

// Runs a shell command; returns its exit status (and its output in `out`).
int run_command(const std::string& cmd, std::string* out = nullptr);

// Runs `fn` with the calling thread inside namespace `ns`, then returns to
// the namespace it was in. Sockets created inside stay in `ns`.
bool in_netns(const std::string& ns, const std::function<void()>& fn);

}  // namespace sluice::testing
