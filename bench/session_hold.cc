// bench/session_hold.cc — sluice-session-hold: opens many sessions to one
// broker shard and holds them, to measure what a session costs the broker
// (session_cost.sh reads the broker's RSS before and after).
//
// One kernel UDP port, one session-layer endpoint, N handshakes to the same
// address (each with its own nonce, so the broker sees N sessions). Prints
// "open N refused R" once every attempt has ended or opened, keeps the
// sessions alive with keepalives for --seconds, then closes them. Exit 0 when
// every session opened, 1 otherwise.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "datapath/transport/endpoint.h"
#include "datapath/transport/udp_port.h"

namespace sluice {
namespace {

struct hold_app final : transport::session_handler {
  void on_open(transport::session&) noexcept override { ++open; }
  void on_frame(transport::session&, wire::frame_type, wire::bytes) noexcept override {}
  void on_close(transport::session&, wire::status reason) noexcept override {
    ++closed;
    if (reason == wire::status::limit_reached) ++refused;
  }
  std::uint64_t open = 0;
  std::uint64_t closed = 0;
  std::uint64_t refused = 0;
};

int run(int argc, char** argv) {
  std::string broker = "127.0.0.1:7600";
  std::uint32_t sessions = 1000;
  double seconds = 10;
  CLI::App app{"sluice-session-hold: open N sessions to one broker shard and hold them"};
  app.add_option("--broker", broker, "IP:PORT of the shard")->capture_default_str();
  app.add_option("--sessions", sessions, "sessions to open")->check(CLI::Range(1u, 1u << 20))->capture_default_str();
  app.add_option("--seconds", seconds, "how long to hold them once open")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const auto peer = net_addr::parse(broker);
  if (!peer) {
    std::fprintf(stderr, "sluice-session-hold: --broker takes IP:PORT\n");
    return 2;
  }
  transport::udp_port_config pc;
  pc.bind = *net_addr::from_ip_port(peer->family == AF_INET6 ? "::1" : "127.0.0.1", 0);
  std::string err;
  auto port = transport::udp_port::open(pc, err);
  if (!port) {
    std::fprintf(stderr, "sluice-session-hold: %s\n", err.c_str());
    return 1;
  }
  transport::endpoint_config ec;
  ec.max_sessions = sessions;
  ec.session.send_window = 16;  // the holder's own memory; the broker's rings are its config's
  ec.session.recv_window = 16;
  ec.session.max_message_sz = 16 << 10;
  ec.chunk_cnt = std::max<std::uint32_t>(4 * sessions, 1024);
  if (const auto bad = ec.validate(); !bad.empty()) {
    std::fprintf(stderr, "sluice-session-hold: %s\n", bad.c_str());
    return 2;
  }
  monotonic_clock clk;
  hold_app happ;
  transport::endpoint ep(*port, clk, ec, happ);
  const time_ns start = clk.now_ns();
  std::uint32_t started = 0;
  // Not all at once: a burst of thousands of CONNECTs overflows socket
  // buffers and costs retransmissions, not what is measured here.
  while (happ.open + happ.closed < sessions) {
    for (int i = 0; i < 64 && started < sessions && started - happ.open - happ.closed < 256; ++i, ++started) {
      if (!ep.connect(*peer)) break;
    }
    if (ep.poll() == 0) port->wait(200 * k_ns_per_us);
    if (clk.now_ns() - start > 60 * k_ns_per_s) break;
  }
  std::printf("open %llu refused %llu failed %llu in %.1f s\n", static_cast<unsigned long long>(happ.open),
              static_cast<unsigned long long>(happ.refused),
              static_cast<unsigned long long>(happ.closed - happ.refused),
              static_cast<double>(clk.now_ns() - start) / 1e9);
  std::fflush(stdout);
  const time_ns until = clk.now_ns() + static_cast<time_ns>(seconds * 1e9);
  while (clk.now_ns() < until) {
    if (ep.poll() == 0) port->wait(1 * k_ns_per_ms);
  }
  ep.close_all(wire::status::ok);
  const time_ns close_until = clk.now_ns() + 2 * k_ns_per_s;
  while (ep.sessions() != 0 && clk.now_ns() < close_until) {
    if (ep.poll() == 0) port->wait(1 * k_ns_per_ms);
  }
  return happ.open == sessions ? 0 : 1;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) { return sluice::run(argc, argv); }
