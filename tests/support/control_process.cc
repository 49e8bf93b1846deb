#include "tests/support/control_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/unix_socket.h"
#include "tests/support/broker_process.h"

namespace sluice::testing {

control_process::control_process(std::string config_path) : _config(std::move(config_path)) {
  _log = _config + ".control.log";
}

control_process::~control_process() {
  kill9();
  std::remove(_log.c_str());
}

std::string control_process::output() const {
  std::ifstream in(_log);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool control_process::start() {
  const std::string bin = binary_path("control/sluice-control");
  _pid = ::fork();
  if (_pid == 0) {
    const int fd = ::open(_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(bin.c_str(), bin.c_str(), "--config", _config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (_pid < 0) {
    _error = "fork failed";
    return false;
  }
  // The log is appended to across restarts: count "ready" lines.
  const auto readies = [this] {
    const std::string out = output();
    std::size_t n = 0;
    for (auto at = out.find("sluice-control: ready"); at != std::string::npos;
         at = out.find("sluice-control: ready", at + 1)) {
      ++n;
    }
    return n;
  };
  const std::size_t before = _starts;
  for (int i = 0; i < 1000; ++i) {
    if (readies() > before) {
      ++_starts;
      return true;
    }
    int st = 0;
    if (::waitpid(_pid, &st, WNOHANG) == _pid) {
      _pid = -1;
      _error = "sluice-control exited during start-up: " + output();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  _error = "sluice-control did not become ready in 10 s: " + output();
  kill9();
  return false;
}

int control_process::stop() {
  if (_pid <= 0) return -1;
  ::kill(_pid, SIGTERM);
  for (int i = 0; i < 1000; ++i) {
    int st = 0;
    if (::waitpid(_pid, &st, WNOHANG) == _pid) {
      _pid = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  return -1;
}

void control_process::kill9() {
  if (_pid <= 0) return;
  ::kill(_pid, SIGKILL);
  int st = 0;
  ::waitpid(_pid, &st, 0);
  _pid = -1;
}

std::string operator_call_raw(const std::string& socket, const std::string& line, std::string& err, int timeout_ms) {
  const int fd = connect_unix(socket, err);
  if (fd < 0) return {};
  std::string reply;
  // A refusal may be written (and the socket closed) before the request is
  // sent: read the reply even when the send fails.
  const bool sent = send_all(fd, line);
  std::string buf;
  if (!read_line(fd, buf, reply, timeout_ms)) {
    err = sent ? "no reply line within " + std::to_string(timeout_ms) + " ms" : "send failed, no reply";
  }
  ::close(fd);
  return reply;
}

nlohmann::json operator_call(const std::string& socket, const nlohmann::json& req, int timeout_ms) {
  std::string err;
  const std::string reply = operator_call_raw(socket, req.dump() + "\n", err, timeout_ms);
  if (reply.empty()) return {{"ok", false}, {"error", "call failed: " + err}};
  try {
    return nlohmann::json::parse(reply);
  } catch (const std::exception& e) {
    return {{"ok", false}, {"error", std::string("reply is not JSON: ") + e.what() + ": " + reply}};
  }
}

int run_command(const std::string& bin, const std::vector<std::string>& args, std::string& out) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  out.clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace sluice::testing
