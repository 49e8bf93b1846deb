// Deterministic lossy-link property test of the session layer, plus the
// handshake's and the endpoint's failure cases.
//
// Property: for every seed, with loss up to 20 %, duplication, reordering and
// delay, every frame arrives exactly once and in order in both directions,
// the send window bound holds at every step, the session never stalls, and
// a graceful close completes on both sides.
//
// SLUICE_SEEDS=N runs N seeds (default 200; the long mode uses thousands);
// SLUICE_SEED=S replays one seed. A failure prints its seed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "datapath/transport/endpoint.h"
#include "datapath/transport/sim_link.h"
#include "datapath/transport/test_traffic.h"

namespace sluice::transport {
namespace {

using testing::traffic_app;
using testing::traffic_plan;

std::uint64_t env_u64(const char* name, std::uint64_t dflt) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : dflt;
}

struct sim_pair {
  sim_pair(const sim_link_config& link, const endpoint_config& cfg_a, const endpoint_config& cfg_b,
           traffic_plan a_to_b, traffic_plan b_to_a)
      : net(clk, link),
        port_a(net.make_port(1000)),
        port_b(net.make_port(2000)),
        app_a(a_to_b, b_to_a),
        app_b(b_to_a, a_to_b),
        a(*port_a, clk, cfg_a, app_a),
        b(*port_b, clk, cfg_b, app_b) {}

  // One step: both sides send what they may, poll, then time moves on.
  void step(time_ns dt) {
    app_a.pump();
    app_b.pump();
    a.poll();
    b.poll();
    clk.advance(dt);
  }

  manual_clock clk;
  sim_network net;
  std::unique_ptr<sim_port> port_a;
  std::unique_ptr<sim_port> port_b;
  traffic_app app_a;
  traffic_app app_b;
  endpoint a;
  endpoint b;
};

// The whole property for one seed; returns "" or what went wrong.
std::string run_seed(std::uint64_t seed) {
  splitmix64 rng(seed);
  sim_link_config link;
  link.seed = seed;
  link.loss = static_cast<double>(rng.below(201)) / 1000.0;  // 0 .. 20 %
  link.dup = static_cast<double>(rng.below(51)) / 1000.0;    // 0 .. 5 %
  link.reorder = static_cast<double>(rng.below(101)) / 1000.0;
  link.delay_ns = static_cast<time_ns>(10 + rng.below(300)) * k_ns_per_us;
  link.jitter_ns = static_cast<time_ns>(rng.below(100)) * k_ns_per_us;

  endpoint_config cfg;
  const std::uint32_t windows[] = {64, 256, 1024};
  const std::uint16_t datagrams[] = {512, 1472, 9000};
  cfg.session.send_window = windows[rng.below(3)];
  cfg.session.recv_window = windows[rng.below(3)];
  cfg.session.max_datagram_sz = datagrams[rng.below(3)];
  cfg.session.max_message_sz = 16384;
  cfg.max_sessions = 4;
  cfg.chunk_cnt = 4096;
  endpoint_config cfg_b = cfg;
  cfg_b.accept_inbound = true;
  cfg_b.session.recv_window = windows[rng.below(3)];
  if (auto err = cfg.validate(); !err.empty()) return "config: " + err;
  if (auto err = cfg_b.validate(); !err.empty()) return "config: " + err;

  traffic_plan a_to_b{1000 + rng.below(2000), 8 + static_cast<std::uint32_t>(rng.below(120)),
                      static_cast<std::uint32_t>(rng.below(2) ? 97 : 0), 1 + static_cast<std::uint32_t>(rng.below(16384)), seed};
  traffic_plan b_to_a{1000 + rng.below(2000), 8 + static_cast<std::uint32_t>(rng.below(120)),
                      static_cast<std::uint32_t>(rng.below(2) ? 89 : 0), 1 + static_cast<std::uint32_t>(rng.below(16384)), seed + 1};
  a_to_b.large_sz = std::max<std::uint32_t>(a_to_b.large_sz, 8);
  b_to_a.large_sz = std::max<std::uint32_t>(b_to_a.large_sz, 8);

  sim_pair p(link, cfg, cfg_b, a_to_b, b_to_a);
  if (!p.a.connect(p.port_b->local_addr()).ok()) return "connect refused";

  const time_ns step = 20 * k_ns_per_us;
  const time_ns stall_limit = 8 * k_ns_per_s;  // above connect_timeout: a failed handshake reports itself
  time_ns last_progress = p.clk.now_ns();
  std::uint64_t last_total = 0;
  for (std::uint64_t i = 0;; ++i) {
    p.step(step);
    for (auto* app : {&p.app_a, &p.app_b}) {
      if (!app->error.empty()) return app->error;
      if (session* s = app->current()) {
        if (s->in_flight() > s->window()) return "window bound broken: " + std::to_string(s->in_flight());
      }
    }
    const std::uint64_t total = p.app_a.received + p.app_b.received;
    if (total != last_total) {
      last_total = total;
      last_progress = p.clk.now_ns();
    }
    if (p.app_a.received == b_to_a.frames && p.app_b.received == a_to_b.frames) break;
    if (p.clk.now_ns() - last_progress > stall_limit) {
      return "stalled: a got " + std::to_string(p.app_a.received) + "/" + std::to_string(b_to_a.frames) +
             ", b got " + std::to_string(p.app_b.received) + "/" + std::to_string(a_to_b.frames);
    }
    if (p.app_a.closed || p.app_b.closed) {
      return std::string("session closed early: ") +
             wire::status_name(p.app_a.closed ? p.app_a.close_reason : p.app_b.close_reason);
    }
  }
  if (p.app_a.opened != 1 || p.app_b.opened != 1) return "expected exactly one session per side";

  // Graceful close from A: both sides must finish with status ok.
  p.app_a.current()->close(wire::status::ok);
  for (int i = 0; i < 500'000 && (p.a.sessions() != 0 || p.b.sessions() != 0); ++i) p.step(step);
  if (p.a.sessions() != 0 || p.b.sessions() != 0) return "close did not complete";
  if (p.app_a.close_reason != wire::status::ok || p.app_b.close_reason != wire::status::ok) {
    return std::string("close reasons: ") + wire::status_name(p.app_a.close_reason) + " / " +
           wire::status_name(p.app_b.close_reason);
  }
  if (p.app_a.received != b_to_a.frames || p.app_b.received != a_to_b.frames) return "frames after close";
  return {};
}

TEST(session_lossy, every_frame_once_in_order_for_every_seed) {
  const std::uint64_t replay = env_u64("SLUICE_SEED", 0);
  const std::uint64_t seeds = replay ? 1 : env_u64("SLUICE_SEEDS", 200);
  const std::uint64_t base = replay ? replay : env_u64("SLUICE_SEED_BASE", 1);
  std::uint64_t failures = 0;
  for (std::uint64_t seed = base; seed < base + seeds; ++seed) {
    const std::string err = run_seed(seed);
    if (!err.empty()) {
      ++failures;
      ADD_FAILURE() << "seed " << seed << ": " << err << "  (replay: SLUICE_SEED=" << seed << ")";
      if (failures >= 5) break;
    }
  }
  std::printf("session_lossy: %llu seeds from %llu, %llu failed\n", static_cast<unsigned long long>(seeds),
              static_cast<unsigned long long>(base), static_cast<unsigned long long>(failures));
}

// ---- failure cases ------------------------------------------------------------------

endpoint_config responder_cfg() {
  endpoint_config c;
  c.accept_inbound = true;
  c.max_sessions = 4;
  return c;
}

struct raw_fixture : ::testing::Test {
  manual_clock clk;
  sim_network net{clk, sim_link_config{}};
  std::unique_ptr<sim_port> raw = net.make_port(1000);     // the test's hand-made peer
  std::unique_ptr<sim_port> port_b = net.make_port(2000);
  traffic_app app{traffic_plan{}, traffic_plan{}};
  endpoint b{*port_b, clk, responder_cfg(), app};

  void send_raw(std::span<const std::byte> d) {
    const tx_datagram t{port_b->local_addr(), d};
    raw->send({&t, 1});
  }
  // Delivers everything in flight to b and returns what b sent back.
  std::vector<std::vector<std::byte>> exchange() {
    std::vector<std::vector<std::byte>> replies;
    for (int i = 0; i < 10; ++i) {
      clk.advance(100 * k_ns_per_us);
      b.poll();
      rx_datagram rx[16];
      const std::size_t n = raw->receive(rx);
      for (std::size_t k = 0; k < n; ++k) replies.emplace_back(rx[k].data.begin(), rx[k].data.end());
    }
    return replies;
  }
  wire::connect_body hello() const {
    wire::connect_body c{};
    c.client_nonce = 42;
    c.max_datagram_sz = 1472;
    c.recv_window = 64;
    c.max_message_sz = 4096;
    return c;
  }
};

TEST_F(raw_fixture, garbage_datagrams_are_dropped_and_counted) {
  splitmix64 rng(7);
  std::vector<std::byte> junk(200);
  for (int i = 0; i < 100; ++i) {
    for (auto& x : junk) x = static_cast<std::byte>(rng.next());
    send_raw({junk.data(), 1 + rng.below(junk.size())});
  }
  EXPECT_TRUE(exchange().empty());
  EXPECT_EQ(b.counters().bad_header, 100u);
  EXPECT_EQ(b.sessions(), 0u);
}

TEST_F(raw_fixture, responder_keeps_no_state_before_the_cookie) {
  std::byte buf[128];
  for (std::uint64_t i = 0; i < 50; ++i) {
    auto c = hello();
    c.client_nonce = 1000 + i;
    send_raw({buf, *wire::encode_connect(buf, c)});
  }
  const auto replies = exchange();
  EXPECT_EQ(replies.size(), 50u);
  EXPECT_EQ(b.counters().challenges_sent, 50u);
  EXPECT_EQ(b.sessions(), 0u);  // fifty hellos, no state
  for (const auto& r : replies) {
    const auto h = wire::decode_packet_header(r);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->kind, static_cast<std::uint8_t>(wire::packet_kind::challenge));
    EXPECT_LT(r.size(), sizeof(wire::connect_body) + wire::k_packet_header_sz);  // no amplification
  }
}

TEST_F(raw_fixture, forged_or_stale_cookie_is_refused) {
  std::byte buf[128];
  send_raw({buf, *wire::encode_connect(buf, hello())});
  const auto replies = exchange();
  ASSERT_EQ(replies.size(), 1u);
  const auto ch = *wire::decode_challenge(wire::bytes(replies[0]).subspan(wire::k_packet_header_sz));

  auto forged = hello();
  forged.cookie_ts = ch.cookie_ts;
  forged.cookie_mac = ch.cookie_mac ^ 1;
  send_raw({buf, *wire::encode_connect(buf, forged)});
  EXPECT_TRUE(exchange().empty());
  EXPECT_EQ(b.counters().bad_cookie, 1u);

  auto stale = hello();
  stale.cookie_ts = ch.cookie_ts;
  stale.cookie_mac = ch.cookie_mac;
  clk.advance(30 * k_ns_per_s);  // past the cookie lifetime
  send_raw({buf, *wire::encode_connect(buf, stale)});
  EXPECT_TRUE(exchange().empty());
  EXPECT_EQ(b.counters().bad_cookie, 2u);
  EXPECT_EQ(b.sessions(), 0u);
}

TEST_F(raw_fixture, valid_cookie_opens_once_and_lost_accept_is_repeated) {
  std::byte buf[128];
  send_raw({buf, *wire::encode_connect(buf, hello())});
  auto replies = exchange();
  const auto ch = *wire::decode_challenge(wire::bytes(replies.at(0)).subspan(wire::k_packet_header_sz));
  auto c = hello();
  c.cookie_ts = ch.cookie_ts;
  c.cookie_mac = ch.cookie_mac;
  send_raw({buf, *wire::encode_connect(buf, c)});
  send_raw({buf, *wire::encode_connect(buf, c)});  // as if the first ACCEPT was lost
  replies = exchange();
  ASSERT_EQ(replies.size(), 2u);
  const auto h1 = *wire::decode_packet_header(replies[0]);
  const auto h2 = *wire::decode_packet_header(replies[1]);
  EXPECT_EQ(h1.kind, static_cast<std::uint8_t>(wire::packet_kind::accept));
  EXPECT_EQ(h1.session_id, h2.session_id);
  EXPECT_EQ(b.sessions(), 1u);
  EXPECT_EQ(app.opened, 1);
}

TEST_F(raw_fixture, data_for_unknown_session_gets_a_reset) {
  std::byte buf[64];
  wire::packet_header h{};
  h.kind = static_cast<std::uint8_t>(wire::packet_kind::data);
  h.session_id = 0x1234;
  wire::encode_packet_header(buf, h);
  send_raw({buf, wire::k_packet_header_sz});
  const auto replies = exchange();
  ASSERT_EQ(replies.size(), 1u);
  const auto r = *wire::decode_packet_header(replies[0]);
  EXPECT_EQ(r.kind, static_cast<std::uint8_t>(wire::packet_kind::reset));
  EXPECT_EQ(r.session_id, 0x1234u);
  EXPECT_EQ(b.counters().unknown_session, 1u);
}

TEST_F(raw_fixture, connect_to_nobody_times_out) {
  traffic_app lonely{traffic_plan{}, traffic_plan{}};
  endpoint_config cfg;
  cfg.max_sessions = 1;
  auto port = net.make_port(3000);
  endpoint a{*port, clk, cfg, lonely};
  ASSERT_TRUE(a.connect(*net_addr::from_ip_port("127.0.0.1", 9)).ok());
  EXPECT_EQ(a.connect(*net_addr::from_ip_port("127.0.0.1", 9)).error(), errc::limit_reached);
  for (int i = 0; i < 7000 && a.sessions() != 0; ++i) {
    clk.advance(1 * k_ns_per_ms);
    a.poll();
  }
  EXPECT_EQ(a.sessions(), 0u);
  EXPECT_EQ(lonely.closed, 1);
  EXPECT_EQ(lonely.close_reason, wire::status::timeout);
  EXPECT_EQ(a.counters().connect_timeouts, 1u);
}

endpoint_config small_window_cfg(bool inbound) {
  endpoint_config c;
  c.accept_inbound = inbound;
  c.max_sessions = 2;
  c.session.send_window = 16;
  c.session.recv_window = 16;
  c.session.max_message_sz = 8192;
  return c;
}

TEST(session_backpressure, full_window_pushes_back_then_resumes) {
  traffic_plan plan{5000, 32, 0, 0, 3};
  sim_pair p(sim_link_config{}, small_window_cfg(false), small_window_cfg(true), plan, traffic_plan{0, 8, 0, 0, 0});
  ASSERT_TRUE(p.a.connect(p.port_b->local_addr()).ok());
  for (int i = 0; i < 100 && p.app_a.opened == 0; ++i) p.step(20 * k_ns_per_us);
  ASSERT_EQ(p.app_a.opened, 1);
  session* s = p.app_a.current();
  p.app_a.pump();
  EXPECT_EQ(s->in_flight(), 16u);  // exactly the window, not more
  EXPECT_EQ(p.app_a.sent, 16u);
  EXPECT_GT(p.app_a.would_block, 0u);
  EXPECT_EQ(s->send_capacity(), 0u);
  for (int i = 0; i < 200'000 && p.app_b.received < plan.frames; ++i) p.step(20 * k_ns_per_us);
  EXPECT_EQ(p.app_b.received, plan.frames);
  EXPECT_GT(p.app_a.writable, 0u);
  EXPECT_TRUE(p.app_b.error.empty()) << p.app_b.error;
}

TEST(session_limits, oversized_and_non_application_frames_are_refused) {
  sim_pair p(sim_link_config{}, small_window_cfg(false), small_window_cfg(true), traffic_plan{0, 8, 0, 0, 0},
             traffic_plan{0, 8, 0, 0, 0});
  ASSERT_TRUE(p.a.connect(p.port_b->local_addr()).ok());
  for (int i = 0; i < 100 && p.app_a.opened == 0; ++i) p.step(20 * k_ns_per_us);
  session* s = p.app_a.current();
  ASSERT_NE(s, nullptr);
  std::vector<std::byte> big(8193);
  EXPECT_EQ(s->send(wire::frame_type::put, big).error(), errc::too_large);
  EXPECT_EQ(s->send(wire::frame_type::sack, {}).error(), errc::invalid);
  EXPECT_EQ(s->send(wire::frame_type::close, {}).error(), errc::invalid);
  s->close();
  EXPECT_EQ(s->send(wire::frame_type::put, std::span(big).first(10)).error(), errc::closed);
}

TEST(session_liveness, dead_link_ends_the_session) {
  sim_pair p(sim_link_config{}, endpoint_config{}, responder_cfg(), traffic_plan{100, 16, 0, 0, 0},
             traffic_plan{0, 8, 0, 0, 0});
  ASSERT_TRUE(p.a.connect(p.port_b->local_addr()).ok());
  for (int i = 0; i < 100 && p.app_a.opened == 0; ++i) p.step(20 * k_ns_per_us);
  ASSERT_EQ(p.app_a.opened, 1);
  p.net.set_loss(1.0);  // the cable is cut
  for (int i = 0; i < 20'000 && (p.a.sessions() || p.b.sessions()); ++i) p.step(1 * k_ns_per_ms);
  EXPECT_EQ(p.a.sessions(), 0u);
  EXPECT_EQ(p.b.sessions(), 0u);
  EXPECT_TRUE(p.app_a.close_reason == wire::status::retransmit_limit ||
              p.app_a.close_reason == wire::status::idle_timeout)
      << wire::status_name(p.app_a.close_reason);
  EXPECT_EQ(p.app_b.close_reason, wire::status::idle_timeout);
}

TEST(session_liveness, idle_session_stays_up_on_keepalives) {
  sim_pair p(sim_link_config{}, endpoint_config{}, responder_cfg(), traffic_plan{0, 8, 0, 0, 0},
             traffic_plan{0, 8, 0, 0, 0});
  ASSERT_TRUE(p.a.connect(p.port_b->local_addr()).ok());
  for (int i = 0; i < 30'000; ++i) p.step(1 * k_ns_per_ms);  // 30 s, three idle timeouts
  EXPECT_EQ(p.a.sessions(), 1u);
  EXPECT_EQ(p.b.sessions(), 1u);
  EXPECT_EQ(p.app_a.closed + p.app_b.closed, 0);
}

}  // namespace
}  // namespace sluice::transport
