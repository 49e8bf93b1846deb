#include "tests/support/etcd_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/unix_socket.h"

namespace sluice::testing {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string make_temp_dir(const char* what) {
  std::string tmpl = std::string("/tmp/sluice-") + what + "-XXXXXX";
  const char* d = ::mkdtemp(tmpl.data());
  return d ? std::string(d) : std::string();
}

// Waits for `pid` to end within `ms`; its exit status, or -2 if it did not.
int wait_exit(pid_t pid, int ms) {
  for (int i = 0; i < ms / 10; ++i) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -2;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

std::string control_binary() { return std::string(SLUICE_BINARY_DIR) + "/control/sluice-control"; }

}  // namespace

std::string etcd_binary() {
  if (const char* e = std::getenv("SLUICE_ETCD"); e != nullptr && *e != '\0') return ::access(e, X_OK) == 0 ? e : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    const std::string p = (d.empty() ? "." : d) + "/etcd";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

void require_etcd() {
  if (!etcd_binary().empty()) return;
  std::printf("SKIPPED: no etcd binary (install Debian's etcd-server, run deploy/install-deps.sh, "
              "or set SLUICE_ETCD=/path/to/etcd)\n");
  std::fflush(stdout);
  std::_Exit(77);
}

// ---- etcd_process ---------------------------------------------------------

etcd_process::etcd_process() : _dir(make_temp_dir("etcd")) {}

etcd_process::~etcd_process() {
  stop();
  if (!_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(_dir, ec);
  }
}

std::string etcd_process::output() const { return read_file(_dir + "/etcd.log"); }

bool etcd_process::start(std::uint16_t client_port) {
  const std::string bin = etcd_binary();
  if (bin.empty() || _dir.empty()) {
    _error = bin.empty() ? "no etcd binary" : "no temporary directory";
    return false;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {  // a port may be taken between probe and bind
    _client_port = client_port != 0 ? client_port : free_tcp_port();
    _peer_port = free_tcp_port();
    if (_client_port == 0 || _peer_port == 0 || _client_port == _peer_port) continue;
    const std::string client = "http://127.0.0.1:" + std::to_string(_client_port);
    const std::string peer = "http://127.0.0.1:" + std::to_string(_peer_port);
    const std::string data = _dir + "/data-" + std::to_string(attempt);
    const std::string log = _dir + "/etcd.log";
    _pid = ::fork();
    if (_pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      // A fast tick: leases as short as one second are granted as asked.
      ::execl(bin.c_str(), bin.c_str(), "--name", "sluice-test", "--data-dir", data.c_str(), "--listen-client-urls",
              client.c_str(), "--advertise-client-urls", client.c_str(), "--listen-peer-urls", peer.c_str(),
              "--initial-advertise-peer-urls", peer.c_str(), "--initial-cluster", ("sluice-test=" + peer).c_str(),
              "--heartbeat-interval", "50", "--election-timeout", "250", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (_pid < 0) {
      _error = "fork failed";
      return false;
    }
    httplib::Client cli("127.0.0.1", _client_port);
    cli.set_connection_timeout(std::chrono::milliseconds(200));
    cli.set_read_timeout(std::chrono::milliseconds(500));
    for (int i = 0; i < 150; ++i) {
      const auto res = cli.Get("/health");
      if (res && res->status == 200 && res->body.find("true") != std::string::npos) return true;
      int st = 0;
      if (::waitpid(_pid, &st, WNOHANG) == _pid) {
        _pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    _error = "etcd did not become healthy: " + output();
    if (_pid > 0) kill_and_reap(_pid);
    _pid = -1;
  }
  return false;
}

void etcd_process::stop() {
  if (_pid <= 0) return;
  if (_paused) resume();
  ::kill(_pid, SIGTERM);
  if (wait_exit(_pid, 5000) == -2) kill_and_reap(_pid);
  _pid = -1;
}

void etcd_process::pause() {
  if (_pid <= 0) return;
  ::kill(_pid, SIGSTOP);
  _paused = true;
}

void etcd_process::resume() {
  if (_pid <= 0) return;
  ::kill(_pid, SIGCONT);
  _paused = false;
}

// ---- cluster_member ------------------------------------------------------

cluster_member::cluster_member(control_options opts) : _opts(std::move(opts)), _dir(make_temp_dir("control")) {}

cluster_member::~cluster_member() {
  if (_pid > 0) kill9();
  if (!_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(_dir, ec);
  }
}

std::string cluster_member::output() const { return read_file(_dir + "/control.log"); }

bool cluster_member::start() {
  {
    std::ofstream cfg(config_path());
    cfg << "[node]\nid = " << _opts.node_id << "\nlisten = \"127.0.0.1\"\nbase_port = " << 20000 + _opts.node_id * 10
        << "\n\n[shards]\ncount = " << _opts.shards << "\n\n[control]\nbroker_socket = \"" << broker_socket()
        << "\"\noperator_socket = \"" << operator_socket() << "\"\nmetrics_listen = \"\"\n\n[cluster]\n";
    if (!_opts.etcd_endpoint.empty()) {
      cfg << "membership = \"etcd\"\nname = \"" << _opts.cluster << "\"\netcd_endpoints = [\"" << _opts.etcd_endpoint
          << "\"]\nlease_ttl_ms = " << _opts.lease_ttl_ms << "\n";
    }
    cfg << "partitions = " << _opts.partitions << "\n" << _opts.extra_cluster << "\n\n[[domain]]\nname = \"prio\"\n";
  }
  const std::string bin = control_binary();
  const std::string cfg_path = config_path();
  const std::string log = _dir + "/control.log";
  _pid = ::fork();
  if (_pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(bin.c_str(), bin.c_str(), "--config", cfg_path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (_pid < 0) {
    _error = "fork failed";
    return false;
  }
  for (int i = 0; i < 1000; ++i) {
    if (output().find("sluice-control: ready") != std::string::npos) return true;
    int st = 0;
    if (::waitpid(_pid, &st, WNOHANG) == _pid) {
      _pid = -1;
      _error = "sluice-control exited during start-up (status " + std::to_string(WEXITSTATUS(st)) + "): " + output();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  _error = "sluice-control did not become ready in 10 s: " + output();
  kill9();
  return false;
}

int cluster_member::stop() {
  if (_pid <= 0) return -1;
  ::kill(_pid, SIGTERM);
  const int st = wait_exit(_pid, 10000);
  if (st == -2) kill_and_reap(_pid);
  _pid = -1;
  return st == -2 ? -1 : st;
}

void cluster_member::kill9() {
  if (_pid <= 0) return;
  kill_and_reap(_pid);
  _pid = -1;
}

bool cluster_member::running(int* status) {
  if (_pid <= 0) return false;
  int st = 0;
  if (::waitpid(_pid, &st, WNOHANG) != _pid) return true;
  if (status != nullptr) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  _pid = -1;
  return false;
}

nlohmann::json cluster_member::ask(const std::string& cmd, int timeout_ms) const {
  std::string err;
  const int fd = connect_unix(operator_socket(), err);
  if (fd < 0) return {{"ok", false}, {"error", "connect: " + err}};
  std::string buf, line;
  nlohmann::json reply = {{"ok", false}, {"error", "no reply within " + std::to_string(timeout_ms) + " ms"}};
  if (send_all(fd, nlohmann::json{{"cmd", cmd}}.dump() + "\n") && read_line(fd, buf, line, timeout_ms)) {
    try {
      reply = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      reply = {{"ok", false}, {"error", std::string("bad reply: ") + e.what()}};
    }
  }
  ::close(fd);
  return reply;
}

}  // namespace sluice::testing
