// The crash loop: producers and a consumer run against a `disk` domain while
// the broker is killed with SIGKILL at random moments and restarted on the
// same journal. Afterwards every message whose ACK a producer received must
// have been delivered at least once after that PUT, and no message may be
// invented: payloads carry "producer id:sequence", and every delivered one
// must name a PUT that was really sent.
//
// Seeded: the seed is printed; SLUICE_CRASH_SEED=N replays one run.
// SLUICE_LONG=1 runs 200 iterations instead of 20.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/journal_dir.h"

namespace sluice::testing {
namespace {

struct msg_key {
  std::uint32_t producer;
  std::uint32_t seq;
  auto operator<=>(const msg_key&) const = default;
};

std::string body_of(msg_key k) { return "p" + std::to_string(k.producer) + ":" + std::to_string(k.seq) + ":payload"; }

bool parse(const std::string& s, msg_key& k) {
  unsigned p = 0;
  unsigned q = 0;
  char tail[16] = {};
  if (std::sscanf(s.c_str(), "p%u:%u:%15s", &p, &q, tail) != 3 || std::string(tail) != "payload") return false;
  k = {p, q};
  return true;
}

// Clients notice the dead broker quickly, so their destructors do not wait.
client::client_config fast_client(const std::string& addr) {
  client::client_config cfg;
  cfg.broker = addr;
  cfg.session.idle_timeout_ns = 200 * k_ns_per_ms;
  cfg.session.keepalive_ns = 40 * k_ns_per_ms;
  cfg.request_timeout_ns = 2 * k_ns_per_s;
  return cfg;
}

TEST(broker_crash_loop, acked_messages_survive_sigkill_at_random_moments) {
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("SLUICE_CRASH_SEED")) seed = std::strtoull(s, nullptr, 10);
  const bool long_mode = std::getenv("SLUICE_LONG") != nullptr && std::string(std::getenv("SLUICE_LONG")) == "1";
  const int iterations = long_mode ? 200 : 20;
  std::printf("crash loop: seed %llu (replay with SLUICE_CRASH_SEED=%llu), %d iterations\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), iterations);
  std::fflush(stdout);
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);                // the schedule: when to kill, how much to confirm
  std::mt19937_64 confirm_rng(seed ^ 0x9e3779b97f4a7c15ULL);  // per-message choices, which depend on timing

  journal_dir dir;
  auto opts = disk_broker(dir.path());
  // Small segments: every restart preallocates the next ones before "ready".
  opts.extra.replace(opts.extra.find("segment_mb = 8"), 14, "segment_mb = 4");
  const bool verbose = std::getenv("SLUICE_CRASH_VERBOSE") != nullptr;
  // Recovery grows with the live set; under ASan on a loaded 2-core box it
  // can pass 10 s.
  opts.start_timeout_s = 60;
  if (verbose) opts.stats_interval_s = 0.05;
  broker_process broker(opts);
  std::map<std::uint32_t, std::uint32_t> sent;  // producer → PUTs posted (seq 0..n-1)
  std::set<msg_key> acked;
  std::set<msg_key> delivered;
  std::uint64_t invented = 0;
  std::uint32_t next_producer = 1;
  const std::string uri = "dq/crash";

  const auto on_delivery = [&](const std::string& payload) {
    msg_key k{};
    const auto it = parse(payload, k) ? sent.find(k.producer) : sent.end();
    if (it == sent.end() || k.seq >= it->second) {
      ++invented;
      ADD_FAILURE() << "invented message: " << payload << " (seed " << seed << ")";
      return;
    }
    delivered.insert(k);
  };

  for (int it = 0; it < iterations; ++it) {
    const time_ns t_start = monotonic_now_ns();
    ASSERT_TRUE(broker.start()) << "iteration " << it << " seed " << seed << ": " << broker.error();
    const std::string addr = broker.address();
    const auto run_ns = static_cast<time_ns>(std::uniform_int_distribution<int>(50, 400)(rng)) * k_ns_per_ms;
    const int producer_cnt = 2;
    std::vector<std::unique_ptr<client::client>> producers;
    std::vector<client::queue_handle> handles;
    std::vector<std::uint32_t> ids;
    for (int i = 0; i < producer_cnt; ++i) {
      auto c = client::client::connect(fast_client(addr));
      ASSERT_TRUE(c.ok()) << "iteration " << it << " seed " << seed << ": " << client::describe(c.error()) << "\n"
                          << broker.output();
      auto h = (*c)->open_queue(uri, writer());
      ASSERT_TRUE(h.ok()) << "seed " << seed;
      handles.push_back(*h);
      ids.push_back(next_producer);
      sent[next_producer] = 0;
      ++next_producer;
      producers.push_back(std::move(*c));
    }
    auto cons = client::client::connect(fast_client(addr));
    ASSERT_TRUE(cons.ok()) << "seed " << seed;
    auto consumer = std::move(*cons);
    // Confirm a random share: unconfirmed ones come back after the crash.
    const double confirm_share = std::uniform_real_distribution<double>(0.3, 1.0)(rng);
    consumer->on_message([&](const client::message& m) {
      on_delivery(text(m.payload));
      if (std::uniform_real_distribution<double>(0, 1)(confirm_rng) < confirm_share) {
        (void)consumer->confirm(m.queue, m.guid);
      }
    });
    auto rq = consumer->open_queue(uri, reader(256));  // after the handler: PUSHes may come during the open
    ASSERT_TRUE(rq.ok()) << "seed " << seed;
    std::vector<std::uint32_t> in_flight(producer_cnt, 0);
    const time_ns kill_at = monotonic_now_ns() + run_ns;
    while (monotonic_now_ns() < kill_at) {
      for (int i = 0; i < producer_cnt; ++i) {
        const std::uint32_t pid = ids[static_cast<std::size_t>(i)];
        // Up to 64 PUTs in flight per producer (the benchmark's window).
        while (in_flight[static_cast<std::size_t>(i)] < 64) {
          const msg_key k{pid, sent[pid]};
          const auto r = producers[static_cast<std::size_t>(i)]->post(
              handles[static_cast<std::size_t>(i)], wire::as_bytes(body_of(k)), {},
              [&, k, i](const client::ack& a) {
                --in_flight[static_cast<std::size_t>(i)];
                if (a.status == wire::status::ok) acked.insert(k);
              });
          if (!r.ok()) break;
          ++sent[pid];
          ++in_flight[static_cast<std::size_t>(i)];
        }
        producers[static_cast<std::size_t>(i)]->poll(0);
      }
      consumer->poll(0);
    }
    const time_ns t_kill = monotonic_now_ns();
    broker.kill9();
    // Let the clients see the end (ACK callbacks of lost PUTs fire with an
    // error status), then drop them.
    const time_ns settle = monotonic_now_ns() + 300 * k_ns_per_ms;
    while (monotonic_now_ns() < settle) {
      for (auto& p : producers) p->poll(0);
      consumer->poll(1 * k_ns_per_ms);
    }
    producers.clear();
    consumer.reset();
    if (verbose) {
      std::printf("%s", broker.output().c_str());
      std::printf("iteration %d: %.0f ms up, killed after %.0f ms of traffic, %.0f ms to reap clients; %zu ACKed so far\n",
                  it, static_cast<double>(kill_at - run_ns - t_start) / 1e6, static_cast<double>(run_ns) / 1e6,
                  static_cast<double>(monotonic_now_ns() - t_kill) / 1e6, acked.size());
    }
  }

  // Final run: drain the queue.
  ASSERT_TRUE(broker.start()) << broker.error();
  {
    auto c = connect_client(broker.address());
    ASSERT_TRUE(c);
    std::size_t n = 0;
    c->on_message([&](const client::message& m) {
      ++n;
      on_delivery(text(m.payload));
      EXPECT_TRUE(c->confirm(m.queue, m.guid).ok());
    });
    auto r = c->open_queue(uri, reader(4096));
    ASSERT_TRUE(r.ok());
    std::size_t seen = SIZE_MAX;
    while (seen != n) {
      seen = n;
      poll_for({c.get()}, 1.0);
    }
  }
  EXPECT_EQ(broker.stop(), 0);

  std::uint64_t lost = 0;
  for (const auto& k : acked) {
    if (delivered.count(k) == 0) {
      if (++lost <= 10) ADD_FAILURE() << "ACKed message never delivered: " << body_of(k) << " (seed " << seed << ")";
    }
  }
  std::uint64_t sent_total = 0;
  for (const auto& [p, n] : sent) sent_total += n;
  std::printf("crash loop: seed %llu: %llu PUTs sent, %zu ACKed, %zu delivered, %llu lost, %llu invented\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(sent_total), acked.size(),
              delivered.size(), static_cast<unsigned long long>(lost), static_cast<unsigned long long>(invented));
  EXPECT_EQ(lost, 0u) << "seed " << seed;
  EXPECT_EQ(invented, 0u) << "seed " << seed;
  EXPECT_GT(acked.size(), 100u) << "the loop must have produced something to check (seed " << seed << ")";
}

}  // namespace
}  // namespace sluice::testing
