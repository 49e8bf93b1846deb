#include "control/operator_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/unix_socket.h"

namespace sluice::control {

namespace {

nlohmann::json error_reply(const std::string& why) { return {{"ok", false}, {"error", why}}; }

}  // namespace

operator_server::operator_server(std::string path, std::vector<int> allowed_uids, std::vector<int> allowed_gids,
                                 handler h)
    : _path(std::move(path)), _uids(std::move(allowed_uids)), _gids(std::move(allowed_gids)), _handler(std::move(h)) {}

operator_server::~operator_server() { stop(); }

bool operator_server::start(std::string& err) {
  _listen_fd = listen_unix(_path, err, 0660);
  if (_listen_fd < 0) {
    err = "control.operator_socket: " + err;
    return false;
  }
  _wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  _thread = std::thread([this] { run(); });
  return true;
}

void operator_server::stop() {
  if (_thread.joinable()) {
    _stop.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(_wake_fd, &one, sizeof one);
    _thread.join();
  }
  for (auto& c : _conns) ::close(c.fd);
  _conns.clear();
  if (_listen_fd >= 0) {
    ::close(_listen_fd);
    ::unlink(_path.c_str());
    _listen_fd = -1;
  }
  if (_wake_fd >= 0) ::close(_wake_fd);
  _wake_fd = -1;
}

bool operator_server::allowed(uid_t uid, gid_t gid) const {
  return std::find(_uids.begin(), _uids.end(), static_cast<int>(uid)) != _uids.end() ||
         std::find(_gids.begin(), _gids.end(), static_cast<int>(gid)) != _gids.end();
}

void operator_server::run() {
  std::vector<pollfd> fds;
  while (!_stop.load()) {
    fds.clear();
    fds.push_back({_wake_fd, POLLIN, 0});
    fds.push_back({_listen_fd, POLLIN, 0});
    for (const auto& c : _conns) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    if (fds[1].revents & POLLIN) {
      const int fd = ::accept4(_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        uid_t uid = 0;
        gid_t gid = 0;
        if (!peer_credentials(fd, uid, gid) || !allowed(uid, gid)) {
          _refused.fetch_add(1);
          send_all(fd, error_reply("not allowed: uid " + std::to_string(uid) + " gid " + std::to_string(gid) +
                                   " is in neither control.allowed_uids nor control.allowed_gids")
                               .dump() +
                           "\n");
          ::close(fd);
        } else {
          _conns.push_back({fd, {}});
        }
      }
    }
    // Connections in the same order as fds[2..].
    std::vector<int> gone;
    for (std::size_t i = 0; i + 2 < fds.size() && i < _conns.size(); ++i) {
      if ((fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      conn& c = _conns[i];
      char chunk[16384];
      const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        gone.push_back(c.fd);
        continue;
      }
      c.buf.append(chunk, static_cast<std::size_t>(n));
      if (!serve(c)) gone.push_back(c.fd);
    }
    for (const int fd : gone) {
      ::close(fd);
      _conns.erase(std::remove_if(_conns.begin(), _conns.end(), [fd](const conn& c) { return c.fd == fd; }),
                   _conns.end());
    }
  }
}

bool operator_server::serve(conn& c) {
  for (auto nl = c.buf.find('\n'); nl != std::string::npos; nl = c.buf.find('\n')) {
    const std::string line = c.buf.substr(0, nl);
    c.buf.erase(0, nl + 1);
    json reply = line.size() > k_request_max
                     ? error_reply("request too large: " + std::to_string(line.size()) + " bytes (at most " +
                                   std::to_string(k_request_max) + ")")
                     : answer(line);
    if (!send_all(c.fd, reply.dump() + "\n") || line.size() > k_request_max) return false;
  }
  if (c.buf.size() > k_request_max) {  // no newline in sight: refuse and hang up
    send_all(c.fd, error_reply("request too large: more than " + std::to_string(k_request_max) +
                               " bytes without a newline")
                           .dump() +
                       "\n");
    return false;
  }
  return true;
}

nlohmann::json operator_server::answer(const std::string& line) {
  _requests.fetch_add(1);
  json id = nullptr;
  json reply;
  try {
    const json req = json::parse(line);
    if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
      reply = error_reply("a request is a JSON object with a string \"cmd\", e.g. {\"cmd\": \"status\"}");
    } else {
      id = req.value("id", json(nullptr));
      reply = _handler(req);
    }
  } catch (const json::exception& e) {
    reply = error_reply(std::string("malformed request: ") + e.what());
  } catch (const std::exception& e) {
    reply = error_reply(e.what());
  }
  if (!id.is_null()) reply["id"] = id;
  return reply;
}

}  // namespace sluice::control
