// control/broker_link.h — sluice-control's end of the broker channel.
//
// Connects to the broker's Unix socket (control.broker_socket; the broker's
// side is datapath/broker/service.h) and sends one JSON request per line.
// Either process may start first and either may restart: call() connects
// on demand, and a keeper thread says hello every `probe_ms`; each time it
// finds a broker it was not talking to before (first contact, reconnect, a
// new broker PID), it runs `on_connect` so the caller can resynchronise it
// (push the domains and the partition map). call() may be used from any
// thread; requests are serialised.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace sluice::control {

class broker_link {
 public:
  using json = nlohmann::json;

  explicit broker_link(std::string socket_path, int probe_ms = 300);
  ~broker_link();
  broker_link(const broker_link&) = delete;
  broker_link& operator=(const broker_link&) = delete;

  // Starts the keeper thread. `on_connect(hello_reply)` runs on it; if it
  // returns false (the resync failed) it runs again at the next probe.
  void start(std::function<bool(const json&)> on_connect);
  void stop();

  // Sends `req` (an "id" is added) and returns the broker's reply object, or
  // {"ok": false, "error": "..."} when the broker cannot be reached or does
  // not answer within `timeout_ms`. When the request was sent and no reply
  // came, the reply also has "outcome_unknown": true — the broker may still
  // carry it out. A late reply is recognised by its id and skipped; the
  // connection is kept (a slow answer is not a new broker to resync).
  json call(json req, int timeout_ms = 3000);
  // Runs on_connect again at the next probe (the caller changed what a
  // resync pushes and is not sure the broker has it).
  void resync_soon();

  bool connected() const noexcept { return _fd.load() >= 0; }
  std::uint64_t resyncs() const noexcept { return _resyncs.load(); }
  const std::string& socket_path() const noexcept { return _path; }

 private:
  void keeper();
  void drop_locked();

  std::string _path;
  int _probe_ms;
  std::mutex _mu;  // one request at a time on the connection
  std::atomic<int> _fd{-1};
  std::string _rbuf;
  std::uint64_t _next_id = 1;
  std::int64_t _broker_pid = -1;
  bool _fresh = true;  // the connection was (re)made since the last resync
  std::function<bool(const json&)> _on_connect;
  std::atomic<std::uint64_t> _resyncs{0};
  std::atomic<bool> _stop{false};
  std::mutex _wait_mu;
  std::condition_variable _wait_cv;
  std::thread _thread;
};

}  // namespace sluice::control
