// bench/process.h — what the scenario runner needs from the OS: start a
// server process (optionally inside a network namespace) with its output in
// a log file, wait for it to be ready, stop it by PID; free ports; throwaway
// directories; shell commands. Main thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::bench {

// fork + exec `argv` with stdout and stderr appended to `log`; with `netns`
// non-empty, the child first joins /run/netns/<netns>. Returns the PID or -1.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& netns = "");

// Waits until `log` contains `needle`; false if the process exited or the
// timeout passed.
bool wait_for_log(pid_t pid, const std::string& log, std::string_view needle, double timeout_s);
// Waits until a TCP connect to 127.0.0.1:port succeeds.
bool wait_for_tcp(pid_t pid, std::uint16_t port, double timeout_s);
// SIGTERM, then SIGKILL after `timeout_s`; reaps. Returns the exit status or -1.
int stop_pid(pid_t pid, double timeout_s = 5);

// A run of `count` consecutive UDP ports free on 127.0.0.1 (0 if none found).
std::uint16_t free_udp_ports(std::uint32_t count);
// A TCP port free on 127.0.0.1 (0 if none found).
std::uint16_t free_tcp_port();

std::string make_tmpdir(const char* prefix);
void remove_tree(const std::string& dir);
std::string read_text(const std::string& path);
// Runs `cmd` through sh; returns its exit status, its stdout+stderr in `out`.
int run_command(const std::string& cmd, std::string* out = nullptr);
// First line of `cmd`'s output, or "unknown".
std::string command_line1(const std::string& cmd);

// Two network namespaces joined by a veth pair (198.18.1.1 broker side,
// 198.18.1.2 client side, TX checksum offload off); removed by the destructor.
class veth_pair {
 public:
  veth_pair();
  ~veth_pair();
  veth_pair(const veth_pair&) = delete;
  veth_pair& operator=(const veth_pair&) = delete;
  bool ok() const { return _ok; }
  const std::string& error() const { return _error; }
  std::string broker_ns, client_ns;
  std::string broker_if = "bx0", client_if = "bx1";
  std::string broker_ip = "198.18.1.1", client_ip = "198.18.1.2";

 private:
  bool _ok = false;
  std::string _error;
};

// Moves the calling thread into /run/netns/<ns> (empty: back to where the
// process started). Sockets created afterwards belong to that namespace.
bool enter_netns(const std::string& ns);

}  // namespace sluice::bench
