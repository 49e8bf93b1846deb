#include "control/broker_link.h"

#include <unistd.h>

#include <chrono>

#include "common/unix_socket.h"

namespace sluice::control {

broker_link::broker_link(std::string socket_path, int probe_ms) : _path(std::move(socket_path)), _probe_ms(probe_ms) {}

broker_link::~broker_link() { stop(); }

void broker_link::start(std::function<bool(const json&)> on_connect) {
  _on_connect = std::move(on_connect);
  _thread = std::thread([this] { keeper(); });
}

void broker_link::stop() {
  if (_thread.joinable()) {
    {
      std::lock_guard lk(_wait_mu);
      _stop.store(true);
    }
    _wait_cv.notify_all();
    _thread.join();
  }
  std::lock_guard lk(_mu);
  drop_locked();
}

void broker_link::drop_locked() {
  if (const int fd = _fd.exchange(-1); fd >= 0) ::close(fd);
  _rbuf.clear();
}

broker_link::json broker_link::call(json req, int timeout_ms) {
  std::lock_guard lk(_mu);
  if (_fd.load() < 0) {
    std::string err;
    const int fd = connect_unix(_path, err);
    if (fd < 0) return json{{"ok", false}, {"error", "broker not reachable: " + err}};
    _fd.store(fd);
    _fresh = true;
  }
  const std::uint64_t id = _next_id++;
  req["id"] = id;
  if (!send_all(_fd.load(), req.dump() + "\n")) {
    drop_locked();
    return json{{"ok", false}, {"error", "broker connection lost"}, {"outcome_unknown", true}};
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    std::string line;
    if (left.count() <= 0) {
      // Keep the connection: the broker answers every request in order, so
      // this one's late reply is skipped by its id. Dropping it would make
      // the keeper take a slow broker for a new one and push a resync at it.
      return json{{"ok", false},
                  {"error", "broker did not answer within " + std::to_string(timeout_ms) + " ms"},
                  {"outcome_unknown", true}};
    }
    if (!read_line(_fd.load(), _rbuf, line, static_cast<int>(left.count()))) {
      if (std::chrono::steady_clock::now() < deadline) {  // closed or broken, not slow
        drop_locked();
        return json{{"ok", false}, {"error", "broker connection lost"}, {"outcome_unknown", true}};
      }
      continue;  // timed out: answered above
    }
    try {
      json reply = json::parse(line);
      if (reply.value("id", json(nullptr)) == json(id)) return reply;
    } catch (const json::exception&) {
      drop_locked();
      return json{{"ok", false}, {"error", "broker sent a malformed reply"}};
    }
  }
}

void broker_link::resync_soon() {
  std::lock_guard lk(_mu);
  _fresh = true;
}

void broker_link::keeper() {
  while (!_stop.load()) {
    const json hello = call(json{{"cmd", "hello"}}, 2000);
    if (hello.value("ok", false)) {
      const std::int64_t pid = hello.value("pid", std::int64_t{-1});
      bool resync = false;
      {
        std::lock_guard lk(_mu);
        resync = _fresh || pid != _broker_pid;
        _fresh = false;
        _broker_pid = pid;
      }
      if (resync) {
        if (!_on_connect || _on_connect(hello)) {
          _resyncs.fetch_add(1);
        } else {
          std::lock_guard lk(_mu);
          _fresh = true;  // try again at the next probe
        }
      }
    }
    std::unique_lock lk(_wait_mu);
    _wait_cv.wait_for(lk, std::chrono::milliseconds(_probe_ms), [this] { return _stop.load(); });
  }
}

}  // namespace sluice::control
