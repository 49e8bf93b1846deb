// tests/support/client_helpers.h — small helpers for tests that use the
// client library against a real broker.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "client/client.h"

namespace sluice::testing {

inline std::unique_ptr<client::client> connect_client(const std::string& addr) {
  client::client_config cfg;
  cfg.broker = addr;
  auto c = client::client::connect(cfg);
  EXPECT_TRUE(c.ok()) << "connect " << addr << ": " << (c.ok() ? "" : client::describe(c.error()));
  return c.ok() ? std::move(*c) : nullptr;
}

// Polls every client until `done` or `seconds` pass; returns done().
inline bool poll_until(std::initializer_list<client::client*> clients, const std::function<bool()>& done,
                       double seconds = 10) {
  const time_ns deadline = monotonic_now_ns() + static_cast<time_ns>(seconds * 1e9);
  while (!done()) {
    if (monotonic_now_ns() > deadline) return false;
    for (auto* c : clients) c->poll(clients.size() == 1 ? 1 * k_ns_per_ms : 0);
  }
  return true;
}

// Checks `f` every 20 ms (no client to poll) until it returns true or
// `seconds` pass; returns its last answer.
inline bool eventually(const std::function<bool()>& f, double seconds = 10) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Polls for `seconds` no matter what (to show that nothing more arrives).
inline void poll_for(std::initializer_list<client::client*> clients, double seconds) {
  poll_until(clients, [] { return false; }, seconds);
}

inline client::queue_options reader(std::uint32_t credit = 1024, std::string app_id = {}, std::int32_t prio = 0) {
  client::queue_options o;
  o.read = true;
  o.max_unconfirmed_msgs = credit;
  o.app_id = std::move(app_id);
  o.priority = prio;
  return o;
}

inline client::queue_options writer() {
  client::queue_options o;
  o.write = true;
  return o;
}

inline std::string text(wire::bytes b) { return std::string(wire::as_string(b)); }

}  // namespace sluice::testing
