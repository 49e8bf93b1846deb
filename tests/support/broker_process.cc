#include "tests/support/broker_process.h"

#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "datapath/broker/config.h"
#include "tests/support/test_network.h"

namespace sluice::testing {

namespace {

// The domains of the broker's embedded default config (prio, fan, bcast).
std::string default_domains() {
  const std::string all = broker::k_default_config;
  return all.substr(all.find("[[domain]]"));
}

bool udp_port_free(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::uint16_t find_free_ports(std::uint32_t count) {
  std::mt19937 rng(static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(
                       std::chrono::steady_clock::now().time_since_epoch().count()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto base = static_cast<std::uint16_t>(20000 + rng() % 30000);
    bool all = true;
    for (std::uint32_t i = 0; i < count && all; ++i) all = udp_port_free(static_cast<std::uint16_t>(base + i));
    if (all) return base;
  }
  return 0;
}

}  // namespace

std::string binary_path(const char* name) {
  const std::string dir = SLUICE_BINARY_DIR;
  const std::string n = name;
  if (n == "sluice-broker") return dir + "/datapath/broker/sluice-broker";
  if (n == "sluice") return dir + "/tools/sluice";
  return dir + "/" + n;
}

broker_process::broker_process(const broker_options& opts) : _opts(opts) {
  char tmpl[] = "/tmp/sluice-test-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  _dir = d ? d : "/tmp";
  _log = _dir + "/broker.log";
}

broker_process::~broker_process() {
  if (_pid > 0) {
    // AF_XDP: a graceful stop prints the counters check_datapath() reads.
    if (network(_opts.datapath.empty() ? nullptr : _opts.datapath.c_str()).kind != datapath_kind::udp) {
      stop();
    } else {
      kill9();
    }
  }
  std::remove(_log.c_str());
  std::remove((_dir + "/sluice.toml").c_str());
  std::remove(broker_socket().c_str());
  std::remove(operator_socket().c_str());
  ::rmdir(_dir.c_str());
}

std::string broker_process::address(std::uint32_t shard) const {
  const auto& net = network(_opts.datapath.empty() ? nullptr : _opts.datapath.c_str());
  const std::string ip = _opts.listen.empty() ? net.broker_ip : _opts.listen;
  const std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
  return host + ":" + std::to_string(_base_port + shard);
}

std::string broker_process::output() const {
  std::ifstream in(_log);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool broker_process::start() {
  _start_exit_code = -1;
  const auto& net = network(_opts.datapath.empty() ? nullptr : _opts.datapath.c_str());
  const bool xdp = net.kind != datapath_kind::udp;
  // In its own namespace the broker has every port to itself.
  _base_port = xdp ? 7600 : find_free_ports(_opts.shards);
  if (_base_port == 0) {
    _error = "no free UDP port range";
    return false;
  }
  const std::string cfg_path = config_path();
  {
    std::ofstream cfg(cfg_path);
    cfg << "[node]\nlisten = \"" << (_opts.listen.empty() ? net.broker_ip : _opts.listen) << "\"\nbase_port = " << _base_port << "\n\n[shards]\ncount = "
        << _opts.shards << "\nidle = \"adaptive\"\n" << (_opts.cores.empty() ? "" : "cores = " + _opts.cores + "\n")
        << "\n"
        << "[control]\nbroker_socket = \"" << broker_socket() << "\"\noperator_socket = \"" << operator_socket()
        << "\"\nmetrics_listen = \"" << _opts.metrics_listen << "\"\n\n";
    if (xdp) {
      cfg << "[datapath]\nmode = \"af_xdp\"\ninterface = \"" << net.broker_if << "\"\nxdp_mode = \""
          << (net.kind == datapath_kind::af_xdp_skb ? "skb" : "native") << "\"\nring_size = 512\n"
          << _opts.datapath_extra << "\n\n";
    }
    cfg << _opts.extra << "\n" << (_opts.domains.empty() ? default_domains() : _opts.domains) << "\n";
  }
  const std::string ns_path = xdp ? "/run/netns/" + net.broker_ns : "";
  const std::string bin = binary_path("sluice-broker");
  // A restart must not find the previous run's "ready" before the child
  // has truncated the log.
  std::remove(_log.c_str());
  const std::string interval = std::to_string(_opts.stats_interval_s);
  _pid = ::fork();
  if (_pid == 0) {
    const int fd = ::open(_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (!ns_path.empty()) {
      const int ns = ::open(ns_path.c_str(), O_RDONLY);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) ::_exit(126);
    }
    ::execl(bin.c_str(), bin.c_str(), "--config", cfg_path.c_str(), "--stats-interval", interval.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (_pid < 0) {
    _error = "fork failed";
    return false;
  }
  const int polls = static_cast<int>(_opts.start_timeout_s * 100);
  for (int i = 0; i < polls; ++i) {
    if (output().find("sluice-broker: ready") != std::string::npos) return true;
    int st = 0;
    if (::waitpid(_pid, &st, WNOHANG) == _pid) {
      _pid = -1;
      _start_exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      _error = "broker exited during start-up: " + output();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  _error = "broker did not become ready in " + std::to_string(_opts.start_timeout_s) + " s: " + output();
  kill9();
  return false;
}

int broker_process::stop() {
  if (_pid <= 0) return -1;
  ::kill(_pid, SIGTERM);
  for (int i = 0; i < 1000; ++i) {
    int st = 0;
    if (::waitpid(_pid, &st, WNOHANG) == _pid) {
      _pid = -1;
      check_datapath();
      return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  return -1;
}

// In AF_XDP mode every datagram from the client namespace must have come
// through the AF_XDP sockets, none through the kernel fallback socket: a
// broken XDP program or socket would otherwise hide behind that fallback.
void broker_process::check_datapath() {
  if (network(_opts.datapath.empty() ? nullptr : _opts.datapath.c_str()).kind == datapath_kind::udp) return;
  const std::string out = output();
  std::uint64_t xsk = 0;
  std::uint64_t kernel = 0;
  int lines = 0;
  for (std::size_t at = out.find(" af_xdp: rx_xsk "); at != std::string::npos;
       at = out.find(" af_xdp: rx_xsk ", at + 1)) {
    unsigned long long a = 0;
    unsigned long long b = 0;
    if (std::sscanf(out.c_str() + at, " af_xdp: rx_xsk %llu rx_kernel %llu", &a, &b) == 2) {
      xsk += a;
      kernel += b;
      ++lines;
    }
  }
  if (lines == 0) {
    ADD_FAILURE() << "AF_XDP broker printed no af_xdp counters:\n" << out;
  } else {
    EXPECT_EQ(kernel, 0u) << "datagrams reached the AF_XDP broker through the kernel socket:\n" << out;
    EXPECT_GT(xsk, 0u) << "no datagram reached the AF_XDP broker through AF_XDP:\n" << out;
  }
}

void broker_process::kill9() {
  if (_pid <= 0) return;
  ::kill(_pid, SIGKILL);
  int st = 0;
  ::waitpid(_pid, &st, 0);
  _pid = -1;
}

}  // namespace sluice::testing
