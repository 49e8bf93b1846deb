#include "tests/support/test_network.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/if_xdp.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

namespace sluice::testing {

namespace {

const char* const k_prefix = "sluice-t-";

[[noreturn]] void skip(const std::string& why) {
  std::printf("SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
  std::_Exit(77);
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "test network setup failed: %s\n", why.c_str());
  std::_Exit(1);
}

test_network* g_net = nullptr;

void remove_namespaces() {
  if (g_net == nullptr || g_net->broker_ns.empty()) return;
  run_command("ip netns del " + g_net->broker_ns);
  run_command("ip netns del " + g_net->client_ns);
}

// Namespaces of earlier runs whose process is gone (a crashed test).
void remove_stale() {
  DIR* d = ::opendir("/run/netns");
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(k_prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + std::strlen(k_prefix), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  ::closedir(d);
  for (const auto& n : stale) run_command("ip netns del " + n);
}

void must(const std::string& cmd) {
  std::string out;
  if (run_command(cmd, &out) != 0) fail("`" + cmd + "` failed: " + out);
}

test_network setup(const char* forced) {
  test_network net;
  const char* env = forced != nullptr ? forced : std::getenv("SLUICE_TEST_DATAPATH");
  const std::string kind = env != nullptr ? env : "";
  if (kind.empty() || kind == "udp") return net;
  if (kind == "af_xdp") {
    net.kind = datapath_kind::af_xdp;
  } else if (kind == "af_xdp_skb") {
    net.kind = datapath_kind::af_xdp_skb;
  } else {
    fail("SLUICE_TEST_DATAPATH=\"" + kind + "\": expected udp, af_xdp or af_xdp_skb");
  }
  if (::geteuid() != 0) skip("AF_XDP tests need root (network namespaces, XDP programs, AF_XDP sockets)");
  const int x = ::socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (x < 0) skip("this kernel refuses AF_XDP sockets: " + std::string(std::strerror(errno)));
  ::close(x);
  std::string out;
  if (run_command("ip -V", &out) != 0) skip("iproute2 (`ip`) is not installed");
  if (run_command("command -v ethtool", &out) != 0) fail("ethtool is not installed (deploy/install-deps.sh)");
  remove_stale();

  const std::string pid = std::to_string(::getpid());
  net.broker_ns = k_prefix + pid + "-b";
  net.client_ns = k_prefix + pid + "-c";
  net.broker_ip = "198.18.0.1";
  net.client_ip = "198.18.0.2";
  g_net = new test_network(net);
  std::atexit(remove_namespaces);
  must("ip netns add " + net.broker_ns);
  must("ip netns add " + net.client_ns);
  must("ip link add " + net.broker_if + " netns " + net.broker_ns + " numtxqueues 2 numrxqueues 2 type veth peer name " +
       net.client_if + " netns " + net.client_ns + " numtxqueues 2 numrxqueues 2");
  for (const auto& [ns, dev, ip] : {std::tuple{net.broker_ns, net.broker_if, net.broker_ip},
                                    std::tuple{net.client_ns, net.client_if, net.client_ip}}) {
    must("ip -n " + ns + " addr add " + ip + "/24 dev " + dev);
    // IPv6 too (RFC 5180's benchmarking prefix), without duplicate address
    // detection so the address is usable at once.
    must("ip -n " + ns + " addr add " + (ns == net.broker_ns ? net.broker_ip6 : net.client_ip6) + "/64 dev " + dev +
         " nodad");
    must("ip -n " + ns + " link set lo up");
    must("ip -n " + ns + " link set " + dev + " up");
    // Without this the AF_XDP side sees partial (offloaded) UDP checksums.
    must("ip netns exec " + ns + " ethtool -K " + dev + " tx off >/dev/null");
  }
  const int fd = ::open(("/run/netns/" + net.client_ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) fail("cannot enter " + net.client_ns + ": " + std::strerror(errno));
  ::close(fd);
  std::printf("test network: broker %s in %s (%s), clients %s in %s, datapath %s\n", net.broker_ip.c_str(),
              net.broker_ns.c_str(), net.broker_if.c_str(), net.client_ip.c_str(), net.client_ns.c_str(),
              kind.c_str());
  std::fflush(stdout);
  return net;
}

}  // namespace

const test_network& network(const char* forced) {
  static const test_network net = setup(forced);
  return net;
}

int run_command(const std::string& cmd, std::string* out) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) text += buf;
  const int st = ::pclose(p);
  if (out != nullptr) *out = text;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool in_netns(const std::string& ns, const std::function<void()>& fn) {
  const int here = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int there = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = here >= 0 && there >= 0 && ::setns(there, CLONE_NEWNET) == 0;
  if (ok) {
    fn();
    ok = ::setns(here, CLONE_NEWNET) == 0;
  }
  if (here >= 0) ::close(here);
  if (there >= 0) ::close(there);
  return ok;
}

}  // namespace sluice::testing
