#include "bench/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace sluice::bench {

pid_t spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& netns) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string ns_path = netns.empty() ? "" : "/run/netns/" + netns;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (!ns_path.empty()) {
      const int ns = ::open(ns_path.c_str(), O_RDONLY);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) ::_exit(126);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

namespace {
bool exited(pid_t pid) {
  int st = 0;
  return ::waitpid(pid, &st, WNOHANG) == pid;
}
}  // namespace

bool wait_for_log(pid_t pid, const std::string& log, std::string_view needle, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (read_text(log).find(needle) != std::string::npos) return true;
    if (exited(pid)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool wait_for_tcp(pid_t pid, std::uint16_t port, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    if (exited(pid)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int stop_pid(pid_t pid, double timeout_s) {
  if (pid <= 0) return -1;
  ::kill(pid, SIGTERM);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int st = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (::waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &st, 0);
  return -1;
}

namespace {
bool port_free(int type, std::uint16_t port) {
  const int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}
std::mt19937& rng() {
  static std::mt19937 r(static_cast<unsigned>(::getpid()) ^
                        static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return r;
}
}  // namespace

std::uint16_t free_udp_ports(std::uint32_t count) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto base = static_cast<std::uint16_t>(20000 + rng()() % 30000);
    bool all = true;
    for (std::uint32_t i = 0; i < count && all; ++i) all = port_free(SOCK_DGRAM, static_cast<std::uint16_t>(base + i));
    if (all) return base;
  }
  return 0;
}

std::uint16_t free_tcp_port() {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto p = static_cast<std::uint16_t>(20000 + rng()() % 30000);
    if (port_free(SOCK_STREAM, p)) return p;
  }
  return 0;
}

std::string make_tmpdir(const char* prefix) {
  std::string t = std::string("/tmp/") + prefix + "-XXXXXX";
  const char* d = ::mkdtemp(t.data());
  return d ? std::string(d) : std::string();
}

void remove_tree(const std::string& dir) {
  if (dir.size() < 6 || dir.rfind("/tmp/", 0) != 0) return;  // only what make_tmpdir made
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_command(const std::string& cmd, std::string* out) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string s;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) s += buf;
  const int st = ::pclose(p);
  if (out != nullptr) *out = s;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string command_line1(const std::string& cmd) {
  std::string out;
  if (run_command(cmd, &out) != 0 || out.empty()) return "unknown";
  return out.substr(0, out.find('\n'));
}

veth_pair::veth_pair() {
  broker_ns = "sluice-bench-" + std::to_string(::getpid()) + "-b";
  client_ns = "sluice-bench-" + std::to_string(::getpid()) + "-c";
  const std::string b = broker_ns;
  const std::string c = client_ns;
  const std::vector<std::string> cmds = {
      "ip netns add " + b,
      "ip netns add " + c,
      "ip link add bx0 netns " + b + " numtxqueues 2 numrxqueues 2 type veth peer name bx1 netns " + c +
          " numtxqueues 2 numrxqueues 2",
      "ip -n " + b + " addr add 198.18.1.1/24 dev bx0",
      "ip -n " + c + " addr add 198.18.1.2/24 dev bx1",
      "ip -n " + b + " link set lo up",
      "ip -n " + c + " link set lo up",
      "ip -n " + b + " link set bx0 up",
      "ip -n " + c + " link set bx1 up",
      "ip netns exec " + b + " ethtool -K bx0 tx off",
      "ip netns exec " + c + " ethtool -K bx1 tx off",
  };
  for (const auto& cmd : cmds) {
    std::string out;
    if (run_command(cmd, &out) != 0) {
      _error = "'" + cmd + "' failed: " + out;
      return;
    }
  }
  _ok = true;
}

veth_pair::~veth_pair() {
  run_command("ip netns del " + broker_ns);
  run_command("ip netns del " + client_ns);
}

bool enter_netns(const std::string& ns) {
  static const int home = ::open("/proc/self/ns/net", O_RDONLY);  // the namespace the process started in
  if (ns.empty()) return home >= 0 && ::setns(home, CLONE_NEWNET) == 0;
  const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

}  // namespace sluice::bench
