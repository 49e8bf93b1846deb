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
#include <cstring>
#include <string>

#include "datapath/transport/endpoint.h"
#include "datapath/transport/sim_link.h"
#include "datapath/transport/sim_pair.h"

namespace sluice::transport {
namespace {

using testing::traffic_app;
using testing::traffic_plan;
using testing::sim_pair;

std::uint64_t env_u64(const char* name, std::uint64_t dflt) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : dflt;
}

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

}  // namespace
}  // namespace sluice::transport
