#include "bench/scenarios.h"

#include <algorithm>

namespace sluice::bench {

namespace {

scenario open_loop(std::string name, std::string variant, queue_mode m, std::uint32_t queues,
                   std::uint32_t consumers_per_queue, double rate_total, std::uint32_t payload_sz) {
  scenario s;
  s.name = std::move(name);
  s.variant = std::move(variant);
  s.mode = m;
  s.queues = queues;
  s.consumers_per_queue = consumers_per_queue;
  s.rate_total = rate_total;
  s.payload_sz = payload_sz;
  return s;
}

scenario closed_loop(std::string name, std::string variant, std::uint32_t queues, std::uint32_t window,
                     std::uint32_t payload_sz, bool durable) {
  scenario s;
  s.name = std::move(name);
  s.variant = std::move(variant);
  s.queues = queues;
  s.window = window;
  s.payload_sz = payload_sz;
  s.durable = durable;
  return s;
}

}  // namespace

std::vector<scenario> all_scenarios(bool smoke) {
  constexpr auto prio = queue_mode::priority;
  std::vector<scenario> v = {
      open_loop("w1-latency", "10k/s", prio, 1, 1, 10'000, 64),
      open_loop("w1-latency", "50k/s", prio, 1, 1, 50'000, 64),
      closed_loop("w2-throughput", "window 1024", 1, 1024, 64, false),
      [] {
        scenario s = closed_loop("w2-throughput", "window 1024, poll per 64 posts", 1, 1024, 64, false);
        s.posts_per_poll = 64;
        return s;
      }(),
      open_loop("w3-fanout5", "fanout 20k/s", queue_mode::fanout, 1, 5, 20'000, 64),
      open_loop("w3-fanout5", "broadcast 20k/s", queue_mode::broadcast, 1, 5, 20'000, 64),
      closed_loop("w4-durable", "1Q 64B", 1, 64, 64, true),
      closed_loop("w4-durable", "1Q 1KiB", 1, 64, 1024, true),
      closed_loop("w4-durable", "10Q 64B", 10, 64, 64, true),
      closed_loop("w4-durable", "10Q 1KiB", 10, 64, 1024, true),
      open_loop("blazingmq-table", "priority 1Q,1P,1C 60k/s", prio, 1, 1, 60'000, 1024),
      open_loop("blazingmq-table", "priority 10Q,10P,10C 120k/s", prio, 10, 1, 120'000, 1024),
      open_loop("blazingmq-table", "fan-out 1Q,1P,5C 30k/s", queue_mode::fanout, 1, 5, 30'000, 1024),
      open_loop("blazingmq-table", "broadcast 1Q,1P,5C 110k/s", queue_mode::broadcast, 1, 5, 110'000, 1024),
  };
  if (smoke) {
    // Every scenario runs, the 10-queue durable ones included: they once
    // stalled for seconds (shards spun on the CPU the dio completion worker
    // needed; storage/README.md) and this check is what catches it again.
    for (auto& s : v) {
      s.seconds = 0.7;
      s.warmup = 0.2;
      s.rate_total = std::min(s.rate_total, 5'000.0);
    }
  }
  return v;
}

std::vector<std::string> scenario_names() {
  return {"w1-latency", "w2-throughput", "w3-fanout5", "w4-durable", "blazingmq-table"};
}

}  // namespace sluice::bench
