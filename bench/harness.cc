#include "bench/harness.h"

#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

namespace sluice::bench {

namespace {

volatile std::sig_atomic_t g_stop = 0;

struct timeline {
  std::uint64_t run_id;
  time_ns t0;             // the first message is due
  time_ns measure_start;  // warm-up ends
  time_ns measure_end;    // producers stop
  bool in_window(time_ns t) const { return t >= measure_start && t < measure_end; }
};

struct shared_flags {
  std::atomic<bool> abort{false};           // a port broke: everyone stops
  std::atomic<bool> consumers_stop{false};  // main: drain over
};

// Written by its producer thread; `sent`, `acked` and `received` (written by
// consumer threads) are read by others for progress and the window, relaxed
// except `received`, whose release/acquire keeps the window from opening
// before the count is visible (no data rides on it).
struct producer_ctx {
  std::unique_ptr<producer_port> port;
  std::uint32_t idx = 0;
  std::uint32_t queue = 0;
  std::vector<time_ns> intended;        // by seq
  std::vector<std::uint8_t> ack_state;  // by seq: 0 none, 1 ok, 2 failed
  histogram ack_lat;
  std::uint64_t acks = 0;
  std::uint64_t sent_in_window = 0;
  std::uint64_t acked_in_window = 0;
  time_ns stopped_ns = 0;
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> received{0};  // copies, by all consumers
  std::atomic<bool> done{false};
};

struct consumer_ctx {
  std::unique_ptr<consumer_port> port;
  std::uint32_t queue = 0;
  std::vector<std::vector<std::uint8_t>> seen;  // [producer within the queue][seq]: copies (saturating)
  histogram e2e_lat;
  std::uint64_t received_in_window = 0;
  std::uint64_t delivered = 0;
  std::uint64_t stale = 0;
};

void precise_timers() {
  // The default 50 µs timer slack would add up to 50 µs to every timed wait.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

void producer_loop(producer_ctx& p, const scenario& s, const timeline& t, shared_flags& sh) {
  precise_timers();
  const double rate = s.rate_total / static_cast<double>(s.producers());
  const double interval_ns = rate > 0 ? 1e9 / rate : 0;
  const bool acks = p.port->has_acks();
  std::vector<std::byte> payload(s.payload_sz, std::byte{0x5a});
  p.intended.reserve(1u << 20);
  p.ack_state.reserve(1u << 20);
  p.port->on_ack = [&](std::uint64_t seq, bool ok) {
    const time_ns now = monotonic_now_ns();
    if (seq >= p.ack_state.size() || p.ack_state[seq] != 0) return;  // not ours, or twice
    ++p.acks;
    p.ack_state[seq] = ok ? 1 : 2;
    if (!ok) return;
    p.acked.fetch_add(1, std::memory_order_relaxed);
    const time_ns it = p.intended[seq];
    if (t.in_window(it)) p.ack_lat.record(static_cast<std::uint64_t>(std::max<time_ns>(0, now - it)));
    if (t.in_window(now)) ++p.acked_in_window;
  };
  std::uint64_t seq = 0;
  const std::uint32_t copies = s.copies();
  while (!sh.abort.load(std::memory_order_relaxed) && g_stop == 0) {
    const time_ns now = monotonic_now_ns();
    if (now >= t.measure_end) break;
    time_ns due = now;
    bool can_send = now >= t.t0;
    bool ack_bound = false;  // the window waits for ACKs, which arrive on this producer's socket
    if (interval_ns > 0) {
      due = t.t0 + static_cast<time_ns>(static_cast<double>(seq) * interval_ns);
      can_send = due <= now;
    } else if (can_send) {
      const std::uint64_t recv = p.received.load(std::memory_order_acquire) / copies;
      const std::uint64_t acked = acks ? std::min(seq, p.acked.load(std::memory_order_relaxed)) : seq;
      const std::uint64_t done = std::min({seq, recv, acked});
      can_send = seq - done < s.window;
      ack_bound = seq - acked >= s.window;
    }
    bool blocked = false;
    if (can_send) {
      const stamp st{t.run_id, p.idx, p.queue, seq, due};
      std::memcpy(payload.data(), &st, sizeof st);
      p.intended.push_back(due);
      p.ack_state.push_back(0);
      if (p.port->send(seq, payload)) {
        if (t.in_window(due)) ++p.sent_in_window;
        ++seq;
        p.sent.store(seq, std::memory_order_relaxed);
        if (!acks) p.port->on_ack(seq - 1, true);
        if (seq % s.posts_per_poll == 0) p.port->poll(0);
        continue;
      }
      p.intended.pop_back();
      p.ack_state.pop_back();
      if (!p.port->error.empty()) {
        std::fprintf(stderr, "sluice-bench: producer %u: %s\n", p.idx, p.port->error.c_str());
        sh.abort.store(true, std::memory_order_relaxed);
        break;
      }
      blocked = true;
    }
    // Blocked on ACKs: sleep until one arrives (it wakes the wait), at most
    // 1 ms. Blocked on the consumers' receipts, which arrive on other
    // threads' sockets: look again soon. (A 20 µs wake-up for every blocked
    // producer kept ten of them spinning on two cores in the 10-queue rows.)
    time_ns wait = ack_bound ? k_ns_per_ms : 20 * k_ns_per_us;
    if (!blocked) {
      if (interval_ns > 0) {
        wait = std::clamp<time_ns>(due - now, 0, k_ns_per_ms);
      } else if (now < t.t0) {
        wait = t.t0 - now;
      }
    }
    p.port->poll(wait);
    if (!p.port->error.empty()) {
      std::fprintf(stderr, "sluice-bench: producer %u: %s\n", p.idx, p.port->error.c_str());
      sh.abort.store(true, std::memory_order_relaxed);
      break;
    }
  }
  p.stopped_ns = std::min(monotonic_now_ns(), t.measure_end);
  const time_ns deadline = monotonic_now_ns() + 5 * k_ns_per_s;
  while (monotonic_now_ns() < deadline && p.port->error.empty() && !sh.abort.load(std::memory_order_relaxed)) {
    if ((!acks || p.acks >= seq) && p.port->flushed()) break;
    p.port->poll(k_ns_per_ms);
  }
  p.done.store(true, std::memory_order_release);
}

void consumer_loop(consumer_ctx& c, const scenario& s, const timeline& t, shared_flags& sh,
                   std::vector<std::unique_ptr<producer_ctx>>& producers) {
  precise_timers();
  const std::uint32_t first = c.queue * s.producers_per_queue;
  c.seen.resize(s.producers_per_queue);
  for (auto& v : c.seen) v.reserve(1u << 20);
  c.port->on_message = [&](std::span<const std::byte> m) {
    const time_ns now = monotonic_now_ns();
    stamp st{};
    if (m.size() < sizeof st) {
      ++c.stale;
      return;
    }
    std::memcpy(&st, m.data(), sizeof st);
    if (st.run_id != t.run_id || st.queue != c.queue || st.producer < first ||
        st.producer >= first + s.producers_per_queue) {
      ++c.stale;
      return;
    }
    ++c.delivered;
    auto& v = c.seen[st.producer - first];
    if (st.seq >= v.size()) v.resize(std::max<std::size_t>(st.seq + 1, v.size() * 2), 0);
    if (v[st.seq] < 255) ++v[st.seq];
    if (t.in_window(st.intended_ns)) c.e2e_lat.record(static_cast<std::uint64_t>(std::max<time_ns>(0, now - st.intended_ns)));
    if (t.in_window(now)) ++c.received_in_window;
    producers[st.producer]->received.fetch_add(1, std::memory_order_release);
  };
  while (!sh.consumers_stop.load(std::memory_order_acquire) && !sh.abort.load(std::memory_order_relaxed)) {
    c.port->poll(k_ns_per_ms);
    if (!c.port->error.empty()) {
      std::fprintf(stderr, "sluice-bench: consumer on queue %u: %s\n", c.queue, c.port->error.c_str());
      sh.abort.store(true, std::memory_order_relaxed);
      return;
    }
  }
  // Late duplicates would show here; also sends the last confirms.
  for (const time_ns end = monotonic_now_ns() + 100 * k_ns_per_ms; monotonic_now_ns() < end;) c.port->poll(k_ns_per_ms);
}

}  // namespace

const char* mode_name(queue_mode m) {
  switch (m) {
    case queue_mode::priority: return "priority";
    case queue_mode::fanout: return "fanout";
    case queue_mode::broadcast: return "broadcast";
  }
  return "?";
}

void request_stop() noexcept { g_stop = 1; }
bool stop_requested() noexcept { return g_stop != 0; }

run_result run_scenario(system_under_test& sys, const scenario& s) {
  run_result r;
  r.system = sys.name();
  r.sc = s;
  r.skipped = sys.skip_reason(s);
  if (!r.skipped.empty()) {
    std::fprintf(stderr, "[%s | %s] skipped: %s\n", r.system.c_str(), s.id().c_str(), r.skipped.c_str());
    return r;
  }
  if (std::string err = sys.reset(); !err.empty()) {
    r.failure = "restart: " + err;
    std::fprintf(stderr, "[%s | %s] %s\n", r.system.c_str(), s.id().c_str(), r.failure.c_str());
    return r;
  }
  const std::uint64_t run_id = static_cast<std::uint64_t>(monotonic_now_ns()) * 0x9E3779B97F4A7C15ull;
  if (std::string err = sys.prepare(s, run_id); !err.empty()) {
    r.failure = "setup: " + err;
    std::fprintf(stderr, "[%s | %s] %s\n", r.system.c_str(), s.id().c_str(), r.failure.c_str());
    return r;
  }
  std::vector<std::unique_ptr<producer_ctx>> producers;
  std::vector<std::unique_ptr<consumer_ctx>> consumers;
  for (std::uint32_t q = 0; q < s.queues; ++q) {
    for (std::uint32_t i = 0; i < s.consumers_per_queue; ++i) {
      auto c = std::make_unique<consumer_ctx>();
      c->queue = q;
      std::string err;
      c->port = sys.consumer(s, q, i, err);
      if (!c->port) {
        r.failure = "consumer: " + err;
        std::fprintf(stderr, "[%s | %s] %s\n", r.system.c_str(), s.id().c_str(), r.failure.c_str());
        return r;
      }
      consumers.push_back(std::move(c));
    }
  }
  for (std::uint32_t q = 0; q < s.queues; ++q) {
    for (std::uint32_t i = 0; i < s.producers_per_queue; ++i) {
      auto p = std::make_unique<producer_ctx>();
      p->queue = q;
      p->idx = static_cast<std::uint32_t>(producers.size());
      std::string err;
      p->port = sys.producer(s, q, i, err);
      if (!p->port) {
        r.failure = "producer: " + err;
        std::fprintf(stderr, "[%s | %s] %s\n", r.system.c_str(), s.id().c_str(), r.failure.c_str());
        return r;
      }
      producers.push_back(std::move(p));
    }
  }
  r.has_acks = producers.front()->port->has_acks();

  const time_ns t0 = monotonic_now_ns() + 20 * k_ns_per_ms;
  const timeline t{run_id, t0, t0 + static_cast<time_ns>(s.warmup * 1e9),
                   t0 + static_cast<time_ns>((s.warmup + s.seconds) * 1e9)};
  shared_flags sh;
  std::vector<std::thread> threads;
  for (auto& c : consumers) threads.emplace_back([&, cp = c.get()] { consumer_loop(*cp, s, t, sh, producers); });
  for (auto& p : producers) threads.emplace_back([&, pp = p.get()] { producer_loop(*pp, s, t, sh); });

  const auto sum = [&](auto field) {
    std::uint64_t n = 0;
    for (auto& p : producers) n += ((*p).*field).load(std::memory_order_relaxed);
    return n;
  };
  const auto all_done = [&] {
    return std::all_of(producers.begin(), producers.end(),
                       [](auto& p) { return p->done.load(std::memory_order_acquire); });
  };
  time_ns next = t0 + k_ns_per_s;
  std::uint64_t last_recv = 0;
  while (!all_done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const time_ns now = monotonic_now_ns();
    if (now < next) continue;
    const std::uint64_t recv = sum(&producer_ctx::received);
    std::fprintf(stderr, "[%s | %s] %3.0f s %s  sent %9" PRIu64 "  acked %9" PRIu64 "  delivered %9" PRIu64
                 "  %8.0f msg/s\n", r.system.c_str(), s.id().c_str(), static_cast<double>(now - t0) / 1e9,
                 next <= t.measure_start ? "warm-up" : now <= t.measure_end ? "measure" : "drain  ",
                 sum(&producer_ctx::sent), sum(&producer_ctx::acked), recv,
                 static_cast<double>(recv - last_recv) * 1e9 / static_cast<double>(now - next + k_ns_per_s));
    last_recv = recv;
    next += k_ns_per_s;
  }
  // Everything ACKed should arrive: wait for it, bounded.
  const std::uint64_t want = sum(&producer_ctx::acked) * s.copies();
  for (const time_ns end = monotonic_now_ns() + 5 * k_ns_per_s;
       monotonic_now_ns() < end && !sh.abort.load() && sum(&producer_ctx::received) < want;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  sh.consumers_stop.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();

  // Count.
  time_ns stopped = t.measure_end;
  std::uint64_t sent_w = 0, acked_w = 0, recv_w = 0;
  for (auto& p : producers) {
    stopped = std::min(stopped, p->stopped_ns);
    sent_w += p->sent_in_window;
    acked_w += p->acked_in_window;
    r.ack.merge(p->ack_lat);
    if (r.failure.empty() && !p->port->error.empty()) r.failure = "producer: " + p->port->error;
  }
  for (auto& c : consumers) {
    recv_w += c->received_in_window;
    r.e2e.merge(c->e2e_lat);
    r.delivered += c->delivered;
    r.stale += c->stale;
    if (r.failure.empty() && !c->port->error.empty()) r.failure = "consumer: " + c->port->error;
  }
  for (auto& p : producers) {
    const std::uint64_t n = p->sent.load();
    r.sent += n;
    const std::uint32_t local = p->idx - p->queue * s.producers_per_queue;
    std::vector<consumer_ctx*> mine;
    for (auto& c : consumers) {
      if (c->queue == p->queue) mine.push_back(c.get());
    }
    for (std::uint64_t seq = 0; seq < n; ++seq) {
      const std::uint8_t a = p->ack_state[seq];
      r.acked_ok += a == 1;
      r.ack_failed += a == 2;
      r.unacked += a == 0;
      std::uint32_t total = 0;
      for (consumer_ctx* c : mine) {
        const auto& v = c->seen[local];
        const std::uint32_t k = seq < v.size() ? v[seq] : 0;
        total += k;
        if (s.mode != queue_mode::priority) {
          if (k == 0 && a == 1) ++r.lost;
          if (k > 1) r.duplicates += k - 1;
        }
      }
      if (s.mode == queue_mode::priority) {
        if (total == 0 && a == 1) ++r.lost;
        if (total > 1) r.duplicates += total - 1;
      }
    }
    if (r.failure.empty() && !p->port->failure.empty()) r.failure = "ACK failed: " + p->port->failure;
  }
  r.measured_s = std::max(0.0, static_cast<double>(stopped - t.measure_start) / 1e9);
  if (r.measured_s > 0) {
    r.sent_per_s = static_cast<double>(sent_w) / r.measured_s;
    r.acked_per_s = static_cast<double>(acked_w) / r.measured_s;
    r.delivered_per_s = static_cast<double>(recv_w) / r.measured_s;
  }
  char why[160] = "";
  if (r.failure.empty()) {
    r.may_drop = sys.may_drop(s);
    if ((r.lost != 0 && !r.may_drop) || r.duplicates != 0 || r.ack_failed != 0 || r.unacked != 0) {
      std::snprintf(why, sizeof why, "%" PRIu64 " lost, %" PRIu64 " duplicates, %" PRIu64 " ACKs failed, %" PRIu64
                    " unACKed", r.lost, r.duplicates, r.ack_failed, r.unacked);
      r.failure = why;
    } else if (r.measured_s > 0 && recv_w == 0 && acked_w == 0) {
      r.failure = "stalled: nothing delivered or ACKed in the measured window";
    } else if (g_stop != 0) {
      r.failure = "interrupted";
    } else if (sh.abort.load()) {
      r.failure = "aborted";
    }
  }
  const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::fprintf(stderr, "[%s | %s] %.0f msg/s delivered, %.0f acked; e2e us p50 %.1f p99 %.1f p99.9 %.1f; "
               "sent %" PRIu64 " lost %" PRIu64 " dup %" PRIu64 " -> %s\n", r.system.c_str(), s.id().c_str(),
               r.delivered_per_s, r.acked_per_s, us(r.e2e.quantile(0.5)), us(r.e2e.quantile(0.99)),
               us(r.e2e.quantile(0.999)), r.sent, r.lost, r.duplicates, r.failure.empty() ? "OK" : r.failure.c_str());
  return r;
}

}  // namespace sluice::bench
