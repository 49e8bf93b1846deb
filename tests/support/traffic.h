// tests/support/traffic.h — a producer and a consumer on one queue of a
// real broker, on a thread of their own, for tests that change the broker
// while messages flow.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/client_helpers.h"

namespace sluice::testing {

// A producer and a consumer on their own thread, closed loop (at most 64
// unacknowledged PUTs), counting ACKs and deliveries, until stopped. Each
// payload carries its number, so deliveries are also counted distinct
// (a message delivered twice counts once).
class traffic {
 public:
  traffic(const std::string& addr, std::string uri) : _addr(addr), _uri(std::move(uri)) {
    _thread = std::thread([this] { run(); });
  }
  ~traffic() { stop(); }
  void stop() {
    _stop = true;
    if (_thread.joinable()) _thread.join();
  }
  // Stops posting and waits up to `seconds` until every PUT is answered and
  // every ACKed message delivered, then stops; false if that did not happen.
  bool finish(double seconds = 20) {
    _stop_posting = true;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!_drained.load() && !_failed.load() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
    return _drained.load();
  }
  std::uint64_t acks() const { return _acks.load(); }
  std::uint64_t distinct_delivered() const { return _distinct.load(); }
  std::uint64_t delivered() const { return _delivered.load(); }
  std::uint64_t bad_acks() const { return _bad_acks.load(); }
  bool failed() const { return _failed.load(); }
  std::string error() const {
    std::lock_guard lk(_mu);
    return _error;
  }

 private:
  void fail(const std::string& why) {
    std::lock_guard lk(_mu);
    _error = why;
    _failed = true;
  }
  void run() {
    client::client_config cfg;
    cfg.broker = _addr;
    auto p = client::client::connect(cfg);
    auto c = client::client::connect(cfg);
    if (!p.ok() || !c.ok()) return fail("connect failed");
    std::uint64_t in_flight = 0;
    (*p)->on_ack([&](const client::ack& a) {
      --in_flight;
      if (a.status == wire::status::ok) {
        _acks.fetch_add(1);
      } else {
        _bad_acks.fetch_add(1);
      }
    });
    std::vector<bool> seen;
    (*c)->on_message([&](const client::message& m) {
      _delivered.fetch_add(1);
      std::uint64_t n = UINT64_MAX;
      if (m.payload.size() >= sizeof n) std::memcpy(&n, m.payload.data(), sizeof n);
      if (n < (1u << 30)) {
        if (n >= seen.size()) seen.resize(n + 1 + (1u << 16));
        if (!seen[n]) {
          seen[n] = true;
          _distinct.fetch_add(1);
        }
      }
      (void)(*c)->confirm(m.queue, m.guid);
    });
    auto wq = (*p)->open_queue(_uri, writer());
    auto rq = (*c)->open_queue(_uri, reader());
    if (!wq.ok() || !rq.ok()) return fail("open_queue failed");
    std::string payload(64, 'x');
    std::uint64_t next = 0;
    while (!_stop) {
      while (!_stop_posting && in_flight < 64) {
        std::memcpy(payload.data(), &next, sizeof next);
        if (!(*p)->post(*wq, wire::as_bytes(payload)).ok()) break;
        ++next;
        ++in_flight;
      }
      (*p)->poll(0);
      (*c)->poll(100 * k_ns_per_us);
      if (!(*p)->connected() || !(*c)->connected()) return fail("a session ended");
      if (_stop_posting && in_flight == 0 && _distinct.load() >= _acks.load()) _drained = true;
    }
  }

  std::string _addr;
  std::string _uri;
  std::atomic<bool> _stop{false};
  std::atomic<bool> _stop_posting{false};
  std::atomic<bool> _drained{false};
  std::atomic<std::uint64_t> _distinct{0};
  std::atomic<bool> _failed{false};
  std::atomic<std::uint64_t> _acks{0};
  std::atomic<std::uint64_t> _bad_acks{0};
  std::atomic<std::uint64_t> _delivered{0};
  mutable std::mutex _mu;
  std::string _error;
  std::thread _thread;
};

}  // namespace sluice::testing
