// One million frames each way through the session layer over kernel UDP on
// 127.0.0.1: two endpoints, each on its own thread, none lost, duplicated or
// reordered. SLUICE_LOOPBACK_FRAMES overrides the count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "datapath/transport/endpoint.h"
#include "datapath/transport/test_traffic.h"
#include "datapath/transport/udp_port.h"

namespace sluice::transport {
namespace {

using testing::traffic_app;
using testing::traffic_plan;

std::uint64_t frames_each_way() {
  const char* v = std::getenv("SLUICE_LOOPBACK_FRAMES");
  return v ? std::strtoull(v, nullptr, 10) : 1'000'000;
}

std::unique_ptr<udp_port> open_loopback() {
  udp_port_config pc;
  pc.bind = *net_addr::from_ip_port("127.0.0.1", 0);
  std::string err;
  auto port = udp_port::open(pc, err);
  EXPECT_NE(port, nullptr) << err;
  return port;
}

TEST(udp_loopback, million_frames_each_way_none_lost_duplicated_or_reordered) {
  const std::uint64_t frames = frames_each_way();
  const traffic_plan a_to_b{frames, 16, 0, 0, 11};
  const traffic_plan b_to_a{frames, 16, 0, 0, 12};
  auto port_a = open_loopback();
  auto port_b = open_loopback();
  ASSERT_TRUE(port_a && port_b);

  monotonic_clock clk;
  endpoint_config cfg;
  cfg.max_sessions = 2;
  endpoint_config cfg_b = cfg;
  cfg_b.accept_inbound = true;
  traffic_app app_a(a_to_b, b_to_a);
  traffic_app app_b(b_to_a, a_to_b);
  endpoint a(*port_a, clk, cfg, app_a);
  endpoint b(*port_b, clk, cfg_b, app_b);
  ASSERT_TRUE(a.connect(port_b->local_addr()).ok());

  std::atomic<bool> a_done{false};
  std::atomic<bool> b_done{false};
  const time_ns deadline = clk.now_ns() + 240 * k_ns_per_s;
  // Each side runs until it received everything and its peer did too, then
  // lingers briefly so its last acks go out.
  const auto run = [&](endpoint& ep, traffic_app& app, std::uint64_t expect, std::atomic<bool>& mine,
                       std::atomic<bool>& theirs) {
    while (clk.now_ns() < deadline) {
      app.pump();
      const std::size_t work = ep.poll();
      if (!app.error.empty() || app.closed) break;
      if (app.received == expect) mine.store(true, std::memory_order_release);
      if (mine.load(std::memory_order_relaxed) && theirs.load(std::memory_order_acquire)) break;
      if (work == 0) ep.port().wait(50 * k_ns_per_us);  // adaptive: don't starve 2 cores
    }
  };
  const time_ns start = clk.now_ns();
  std::thread tb([&] { run(b, app_b, frames, b_done, a_done); });
  run(a, app_a, frames, a_done, b_done);
  tb.join();
  const double secs = static_cast<double>(clk.now_ns() - start) / 1e9;

  EXPECT_TRUE(app_a.error.empty()) << app_a.error;
  EXPECT_TRUE(app_b.error.empty()) << app_b.error;
  EXPECT_EQ(app_a.received, frames);
  EXPECT_EQ(app_b.received, frames);
  EXPECT_EQ(app_a.sent, frames);
  EXPECT_EQ(app_b.sent, frames);
  std::printf("udp_loopback: %llu frames each way in %.2f s (%.0f frames/s per direction)\n",
              static_cast<unsigned long long>(frames), secs, static_cast<double>(frames) / secs);
}

// Clients size their datagrams to the route (client::connect): loopback's
// MTU is 65,536, so the whole UDP maximum; no route, 0.
TEST(udp_loopback, path_datagram_size_is_the_routes_mtu_less_the_headers) {
  EXPECT_EQ(udp_port::path_datagram_sz(*net_addr::from_ip_port("127.0.0.1", 7000)), 65507u);
  const std::size_t v6 = udp_port::path_datagram_sz(*net_addr::from_ip_port("::1", 7000));
  if (v6 != 0) {  // 0: IPv6 is off on this host
    EXPECT_EQ(v6, 65536u - 40 - 8);
  }
  EXPECT_EQ(udp_port::path_datagram_sz(net_addr{}), 0u);
}

}  // namespace
}  // namespace sluice::transport
