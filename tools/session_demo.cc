// tools/session_demo.cc — sluice-session-demo: the session layer at work.
//
// Starts an echo responder and a client in one process (two threads, each
// owning its endpoint and kernel UDP port on 127.0.0.1), then measures:
//   1. throughput: N 64-byte frames echoed with a bounded in-flight window;
//   2. latency: frames at a fixed rate, each stamped with its *intended*
//      send time, round trip through both session layers (p50/p99/p99.9).
// Every frame is checked: exactly once, in order. Until the broker exists
// this is what the README's run command shows.
#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/histogram.h"
#include "datapath/transport/endpoint.h"
#include "datapath/transport/udp_port.h"

namespace sluice {
namespace {

using transport::endpoint;
using transport::endpoint_config;
using transport::session;

struct echo_app final : transport::session_handler {
  void on_frame(session& s, wire::frame_type, wire::bytes body) noexcept override {
    // The client keeps fewer frames in flight than our window: never blocks.
    if (!s.send(wire::frame_type::push, body)) ++refused;
  }
  std::uint64_t refused = 0;
};

struct stamp {
  std::uint64_t n;
  std::int64_t intended_ns;
};

struct client_app final : transport::session_handler {
  void on_open(session& s) noexcept override { sess = &s; }
  void on_frame(session&, wire::frame_type, wire::bytes body) noexcept override {
    stamp st{};
    std::memcpy(&st, body.data(), sizeof st);
    if (st.n != received) ++out_of_order;
    ++received;
    if (measuring) lat.record(static_cast<std::uint64_t>(monotonic_now_ns() - st.intended_ns));
  }
  void on_close(session&, wire::status reason) noexcept override {
    sess = nullptr;
    closed_reason = reason;
    closed = true;
  }
  session* sess = nullptr;
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
  bool measuring = false;
  bool closed = false;
  wire::status closed_reason = wire::status::ok;
  histogram lat;
};

std::unique_ptr<transport::udp_port> open_port(std::uint16_t port) {
  transport::udp_port_config pc;
  pc.bind = *net_addr::from_ip_port("127.0.0.1", port);
  std::string err;
  auto p = transport::udp_port::open(pc, err);
  if (!p) std::fprintf(stderr, "sluice-session-demo: %s\n", err.c_str());
  return p;
}

int run(std::uint64_t count, std::uint64_t rate, double seconds, std::uint32_t inflight) {
  auto server_port = open_port(0);
  auto client_port = open_port(0);
  if (!server_port || !client_port) return 1;
  monotonic_clock clk;
  endpoint_config scfg;
  scfg.accept_inbound = true;
  endpoint_config ccfg;
  echo_app echo;
  client_app app;
  endpoint server(*server_port, clk, scfg, echo);
  endpoint client(*client_port, clk, ccfg, app);

  std::atomic<bool> stop{false};
  std::thread server_thread([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      if (server.poll() == 0) server.port().wait(200 * k_ns_per_us);  // adaptive idle
    }
  });
  const auto poll_client = [&] {
    if (client.poll() == 0) client.port().wait(20 * k_ns_per_us);
  };

  std::printf("sluice session demo: wire protocol v1 over kernel UDP, %s <-> %s\n",
              client_port->local_addr().to_string().c_str(), server_port->local_addr().to_string().c_str());
  if (!client.connect(server_port->local_addr()).ok()) return 1;
  const time_ns connect_deadline = clk.now_ns() + 5 * k_ns_per_s;
  while (app.sess == nullptr && !app.closed && clk.now_ns() < connect_deadline) poll_client();
  if (app.sess == nullptr) {
    std::fprintf(stderr, "sluice-session-demo: handshake failed\n");
    stop = true;
    server_thread.join();
    return 1;
  }

  // 1. throughput
  std::byte body[64] = {};
  std::uint64_t sent = 0;
  const time_ns t0 = clk.now_ns();
  while (app.received < count && !app.closed) {
    while (sent < count && sent - app.received < inflight) {
      const stamp st{sent, clk.now_ns()};
      std::memcpy(body, &st, sizeof st);
      if (!app.sess->send(wire::frame_type::put, body)) break;
      ++sent;
    }
    poll_client();
  }
  const double tput_s = static_cast<double>(clk.now_ns() - t0) / 1e9;
  std::printf("  throughput: %llu x 64 B frames echoed in %.2f s = %.0f msg/s each way\n",
              static_cast<unsigned long long>(count), tput_s, static_cast<double>(count) / tput_s);

  // 2. latency at a fixed rate, open loop: the stamp is the intended send time.
  const std::uint64_t total = static_cast<std::uint64_t>(static_cast<double>(rate) * seconds);
  const time_ns interval = k_ns_per_s / static_cast<time_ns>(rate);
  const std::uint64_t base = app.received;
  app.measuring = true;
  const time_ns t1 = clk.now_ns();
  std::uint64_t issued = 0;
  while ((issued < total || app.received < base + total) && !app.closed &&
         clk.now_ns() < t1 + static_cast<time_ns>(seconds * 1e9) + 5 * k_ns_per_s) {
    const time_ns now = clk.now_ns();
    while (issued < total && t1 + static_cast<time_ns>(issued) * interval <= now) {
      const stamp st{sent, t1 + static_cast<time_ns>(issued) * interval};
      std::memcpy(body, &st, sizeof st);
      if (!app.sess->send(wire::frame_type::put, body)) break;
      ++sent;
      ++issued;
    }
    if (client.poll() == 0) {
      const time_ns next = t1 + static_cast<time_ns>(issued) * interval - clk.now_ns();
      if (next > 60 * k_ns_per_us) client.port().wait(next - 50 * k_ns_per_us);
    }
  }
  const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::printf("  latency: %llu frames at %llu msg/s, round trip p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
              static_cast<unsigned long long>(app.lat.count()), static_cast<unsigned long long>(rate),
              us(app.lat.quantile(0.50)), us(app.lat.quantile(0.99)), us(app.lat.quantile(0.999)),
              us(app.lat.max()));

  app.sess->close();
  const time_ns close_deadline = clk.now_ns() + 2 * k_ns_per_s;
  while (!app.closed && clk.now_ns() < close_deadline) poll_client();
  stop = true;
  server_thread.join();
  const bool ok = app.out_of_order == 0 && app.received == sent && echo.refused == 0;
  std::printf("  checked: %llu sent, %llu echoed, %llu out of order, session closed: %s -> %s\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(app.received),
              static_cast<unsigned long long>(app.out_of_order), app.closed ? "yes" : "no",
              ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  CLI::App cli{"sluice-session-demo: echo frames through the Sluice session layer over loopback UDP"};
  std::uint64_t count = 500'000;
  std::uint64_t rate = 20'000;
  double seconds = 2.0;
  std::uint32_t inflight = 512;
  cli.add_option("--count", count, "frames for the throughput phase")->check(CLI::Range(1ULL, 100'000'000ULL));
  cli.add_option("--rate", rate, "frames/s for the latency phase")->check(CLI::Range(1ULL, 1'000'000ULL));
  cli.add_option("--seconds", seconds, "length of the latency phase")->check(CLI::Range(0.1, 600.0));
  cli.add_option("--inflight", inflight, "frames in flight in the throughput phase")->check(CLI::Range(1u, 1000u));
  CLI11_PARSE(cli, argc, argv);
  return sluice::run(count, rate, seconds, inflight);
}
