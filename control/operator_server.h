// control/operator_server.h — the operator socket of sluice-control.
//
// A Unix stream socket (control.operator_socket, mode 0660). On accept the
// peer's credentials (SO_PEERCRED) are checked against control.allowed_uids
// and allowed_gids: anyone else gets one error line and is disconnected.
// Requests are JSON objects, one per line (at most 64 KiB); every request
// gets exactly one reply line. A malformed or oversize request gets an error
// reply (an oversize one also ends that connection); the server keeps serving
// everyone else. One thread polls every connection; the handler runs on it.
// Protocol: docs/control.md.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::control {

class operator_server {
 public:
  using json = nlohmann::json;
  using handler = std::function<json(const json& request)>;
  static constexpr std::size_t k_request_max = 64 * 1024;

  operator_server(std::string path, std::vector<int> allowed_uids, std::vector<int> allowed_gids, handler h);
  ~operator_server();
  operator_server(const operator_server&) = delete;
  operator_server& operator=(const operator_server&) = delete;

  bool start(std::string& err);
  void stop();

  std::uint64_t refused() const noexcept { return _refused.load(); }
  std::uint64_t requests() const noexcept { return _requests.load(); }

 private:
  struct conn {
    int fd;
    std::string buf;
  };
  void run();
  bool allowed(uid_t uid, gid_t gid) const;
  // Handles the complete lines in c.buf; false when the connection must end.
  bool serve(conn& c);
  json answer(const std::string& line);

  std::string _path;
  std::vector<int> _uids;
  std::vector<int> _gids;
  handler _handler;
  int _listen_fd = -1;
  int _wake_fd = -1;
  std::vector<conn> _conns;
  std::atomic<bool> _stop{false};
  std::atomic<std::uint64_t> _refused{0};
  std::atomic<std::uint64_t> _requests{0};
  std::thread _thread;
};

}  // namespace sluice::control
