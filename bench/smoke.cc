// bench/smoke.cc — `sluice-bench smoke`: 1 -> 1 against a broker the user started.
//
// Unlike the Google Benchmark binaries here, this drives a real broker (a
// separate process the user starts) through the client library over UDP.
//
// Scenario `smoke`: 1 producer -> 1 consumer on a priority queue, 64-byte
// payloads, closed loop: at most --window messages sent and not yet received
// by the consumer. Producer and consumer are two threads of this process,
// each owning its own client (driven by its own poll() loop), so a single
// monotonic clock stamps send and receive:
//
//   producer thread ──PUT{run, seq, send_ns}──► broker ──PUSH──► consumer thread
//        ▲   ◄──ACK (publish→ACK latency)──┘                        │
//        └──────────── received (atomic; closes the window) ────────┘
//                      (end-to-end latency: now - send_ns)
//
// Every message carries this run's id and a sequence number; the consumer
// counts duplicates, and after the run every sequence ACKed ok but never
// received is a loss. Messages from another run (left in the queue by an
// earlier, aborted run) are confirmed and counted as stale. The main thread
// prints a progress line each second and the summary.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <thread>
#include <vector>

#include "bench/smoke.h"
#include "client/client.h"
#include "common/histogram.h"

namespace sluice {
namespace {

constexpr const char* k_scenario = "smoke";
constexpr std::size_t k_payload_sz = 64;



struct stamp {  // the head of each 64-byte payload
  std::uint64_t run_id;
  std::uint64_t seq;
  time_ns send_ns;
};
static_assert(sizeof(stamp) <= k_payload_sz);

// Counters the threads publish to each other and to the progress line.
// Relaxed except `received`, which the producer reads to open its window
// (acquire/release only so the count never runs ahead; no data rides on it).
struct shared_counters {
  std::atomic<std::uint64_t> sent{0};      // producer
  std::atomic<std::uint64_t> acked_ok{0};  // producer
  std::atomic<std::uint64_t> received{0};  // consumer: this run's messages, duplicates included
  std::atomic<bool> producer_done{false};  // producer: stopped and all ACKs in (or drain timed out)
  std::atomic<bool> consumer_done{false};
  std::atomic<bool> stop_early{false};     // main saw SIGINT/SIGTERM: stop sending, then drain as usual
  std::atomic<bool> abort{false};          // a thread lost its session: stop at once
};

struct phase_times {
  time_ns measure_start;
  time_ns measure_end;  // the producer stops posting here
};

// Producer thread state. The ring maps a corr_id to its seq and post time;
// sized like the client's pending-post ring, so live posts never collide.
struct producer_state {
  struct slot {
    std::uint32_t corr_id = 0;
    std::uint64_t seq = 0;
    time_ns post_ns = 0;
  };
  std::vector<slot> ring;
  std::uint32_t mask = 0;
  std::vector<std::uint8_t> ack_by_seq;  // 0 none, 1 ok, 2 failed
  std::uint64_t acks = 0;
  std::uint64_t acked_in_window = 0;
  std::map<wire::status, std::uint64_t> failed_by;
  histogram ack_lat;
  time_ns stopped_ns = 0;  // when posting stopped (measure_end, or earlier when interrupted)
  bool lost = false;
};

struct consumer_state {
  std::vector<std::uint8_t> seen;  // by seq
  std::vector<wire::guid> confirm_later;  // confirm() would_block inside the callback
  std::uint64_t duplicates = 0;
  std::uint64_t stale = 0;
  std::uint64_t redelivered = 0;
  std::uint64_t received_in_window = 0;
  histogram e2e_lat;
  bool lost = false;
};

void run_producer(client::client& c, client::queue_handle q, const smoke_options& o, std::uint64_t run_id,
                  phase_times ph, shared_counters& sh, producer_state& ps) {
  const std::uint32_t cap = std::bit_ceil(client::client_config{}.max_unacked_posts);
  ps.ring.resize(cap);
  ps.mask = cap - 1;
  ps.ack_by_seq.reserve(1 << 22);
  c.on_ack([&](const client::ack& a) {
    const time_ns now = monotonic_now_ns();
    const auto& s = ps.ring[a.corr_id & ps.mask];
    if (s.corr_id != a.corr_id) return;  // cannot happen: the ring is as large as the client's
    ++ps.acks;
    if (a.status == wire::status::ok) {
      ps.ack_by_seq[s.seq] = 1;
      sh.acked_ok.fetch_add(1, std::memory_order_relaxed);
      if (s.post_ns >= ph.measure_start && s.post_ns < ph.measure_end) {
        ps.ack_lat.record(static_cast<std::uint64_t>(now - s.post_ns));
      }
      if (now >= ph.measure_start && now < ph.measure_end) ++ps.acked_in_window;
    } else {
      ps.ack_by_seq[s.seq] = 2;
      if (ps.failed_by[a.status]++ == 0) {
        std::fprintf(stderr, "sluice-bench: ACK failed: %s\n", wire::status_name(a.status));
      }
    }
  });
  std::byte payload[k_payload_sz] = {};
  std::uint64_t seq = 0;
  while (!sh.abort.load(std::memory_order_relaxed) && !sh.stop_early.load(std::memory_order_relaxed)) {
    const time_ns now = monotonic_now_ns();
    if (now >= ph.measure_end) break;
    const std::uint64_t received = sh.received.load(std::memory_order_acquire);  // duplicates may push it past seq
    bool blocked = seq > received && seq - received >= o.window;
    if (!blocked) {
      const stamp st{run_id, seq, monotonic_now_ns()};
      std::memcpy(payload, &st, sizeof st);
      const auto r = c.post(q, payload);
      if (r) {
        ps.ring[*r & ps.mask] = {*r, seq, st.send_ns};
        ps.ack_by_seq.push_back(0);
        ++seq;
        sh.sent.store(seq, std::memory_order_relaxed);
      } else if (r.error().code == client::errc::would_block) {
        blocked = true;
      } else {
        std::fprintf(stderr, "sluice-bench: producer: %s\n", client::describe(r.error()).c_str());
        ps.lost = true;
        sh.abort.store(true, std::memory_order_relaxed);
        break;
      }
    }
    // Short waits: what unblocks the window usually arrives at the consumer, not here.
    if (c.poll(0) == 0 && blocked) c.poll(20 * k_ns_per_us);
  }
  ps.stopped_ns = std::min(monotonic_now_ns(), ph.measure_end);
  const time_ns deadline = monotonic_now_ns() + 5 * k_ns_per_s;
  while (ps.acks < seq && monotonic_now_ns() < deadline && !ps.lost) c.poll(1 * k_ns_per_ms);
  sh.producer_done.store(true, std::memory_order_release);
}

void run_consumer(client::client& c, client::queue_handle q, std::uint32_t credit, std::uint64_t run_id,
                  phase_times ph, shared_counters& sh, consumer_state& cs) {
  cs.seen.reserve(1 << 22);
  c.on_message([&](const client::message& m) {
    const time_ns now = monotonic_now_ns();
    if (!c.confirm(m.queue, m.guid)) cs.confirm_later.push_back(m.guid);
    stamp st{};
    if (m.payload.size() != k_payload_sz) {
      ++cs.stale;
      return;
    }
    std::memcpy(&st, m.payload.data(), sizeof st);
    if (st.run_id != run_id) {
      ++cs.stale;
      return;
    }
    if (m.delivery_cnt > 1) ++cs.redelivered;
    if (st.seq >= cs.seen.size()) cs.seen.resize(st.seq + 1, 0);
    if (cs.seen[st.seq] != 0) {
      ++cs.duplicates;
    } else {
      cs.seen[st.seq] = 1;
    }
    if (st.send_ns >= ph.measure_start && st.send_ns < ph.measure_end) {
      cs.e2e_lat.record(static_cast<std::uint64_t>(now - st.send_ns));
    }
    if (now >= ph.measure_start && now < ph.measure_end) ++cs.received_in_window;
    sh.received.fetch_add(1, std::memory_order_release);
  });
  // The reader was opened paused; credit now that the handler is set (a PUSH
  // with no handler would be dropped by the library and held at the broker).
  if (auto r = c.configure_queue(q, 0, credit, client::queue_options{}.max_unconfirmed_bytes); !r) {
    std::fprintf(stderr, "sluice-bench: consumer: cannot start consuming: %s\n", client::describe(r.error()).c_str());
    cs.lost = true;
    sh.abort.store(true, std::memory_order_relaxed);
  }
  time_ns drain_deadline = 0;
  while (!sh.abort.load(std::memory_order_relaxed)) {
    c.poll(1 * k_ns_per_ms);
    while (!cs.confirm_later.empty()) {
      if (!c.confirm(q, cs.confirm_later.back())) break;
      cs.confirm_later.pop_back();
    }
    if (!c.connected()) {
      std::fprintf(stderr, "sluice-bench: consumer: the session to the broker ended (%s)\n",
                   wire::status_name(c.end_reason()));
      cs.lost = true;
      sh.abort.store(true, std::memory_order_relaxed);
      break;
    }
    if (sh.producer_done.load(std::memory_order_acquire)) {
      // Everything ACKed ok should arrive; give stragglers a bounded time.
      if (drain_deadline == 0) drain_deadline = monotonic_now_ns() + 5 * k_ns_per_s;
      if (sh.received.load(std::memory_order_relaxed) >= sh.acked_ok.load(std::memory_order_relaxed) ||
          monotonic_now_ns() >= drain_deadline) {
        break;
      }
    }
  }
  for (time_ns end = monotonic_now_ns() + 200 * k_ns_per_ms; monotonic_now_ns() < end;) {
    c.poll(1 * k_ns_per_ms);  // late duplicates would show here; also flushes CONFIRMs
  }
  sh.consumer_done.store(true, std::memory_order_release);
}

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

std::unique_ptr<client::client> connect_open(const smoke_options& o, const client::queue_options& qo,
                                             client::queue_handle& q, const char* who) {
  client::client_config cfg;
  cfg.broker = o.broker;
  auto c = client::client::connect(cfg);
  if (!c) {
    std::fprintf(stderr, "sluice-bench: %s: cannot connect to broker %s: %s (is sluice-broker running? --broker)\n",
                 who, o.broker.c_str(), client::describe(c.error()).c_str());
    return nullptr;
  }
  auto h = (*c)->open_queue(o.uri, qo);
  if (!h) {
    std::fprintf(stderr, "sluice-bench: %s: cannot open queue '%s': %s\n", who, o.uri.c_str(),
                 client::describe(h.error()).c_str());
    return nullptr;
  }
  q = *h;
  return std::move(*c);
}

// Enough JSON string escaping for addresses, URIs and host names.
std::string json_str(std::string_view s) {
  std::string r;
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      r += '\\';
      r += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(ch)));
      r += buf;
    } else {
      r += ch;
    }
  }
  return r;
}

std::string utc_now() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int run_smoke(const smoke_options& o) {
  client::queue_options cq;
  cq.read = true;
  cq.max_unconfirmed_msgs = 0;  // paused until the consumer thread has set its handler
  const std::uint32_t credit = o.window * 2;  // credit never the limit: the window is
  client::queue_handle cq_h;
  client::queue_handle pq_h;
  auto consumer = connect_open(o, cq, cq_h, "consumer");
  if (!consumer) return 1;
  auto producer = connect_open(o, {.write = true}, pq_h, "producer");
  if (!producer) return 1;

  const std::uint64_t run_id = static_cast<std::uint64_t>(monotonic_now_ns()) ^
                               (static_cast<std::uint64_t>(::getpid()) << 40);
  const time_ns t0 = monotonic_now_ns();
  const phase_times ph{t0 + static_cast<time_ns>(o.warmup * 1e9),
                       t0 + static_cast<time_ns>((o.warmup + o.seconds) * 1e9)};
  std::fprintf(stderr, "sluice-bench %s: %s via %s, %zu-byte payloads, window %" PRIu32 ", %.1f s + %.1f s warmup\n",
               k_scenario, o.uri.c_str(), o.broker.c_str(), k_payload_sz, o.window, o.seconds, o.warmup);

  shared_counters sh;
  producer_state ps;
  consumer_state cs;
  std::thread ct([&] { run_consumer(*consumer, cq_h, credit, run_id, ph, sh, cs); });
  std::thread pt([&] { run_producer(*producer, pq_h, o, run_id, ph, sh, ps); });

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::uint64_t last_recv = 0;
  time_ns next = t0 + k_ns_per_s;
  while (!sh.consumer_done.load(std::memory_order_acquire)) {
    if (g_stop != 0) sh.stop_early.store(true, std::memory_order_relaxed);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const time_ns now = monotonic_now_ns();
    if (now < next || sh.producer_done.load(std::memory_order_relaxed)) continue;
    const std::uint64_t recv = sh.received.load(std::memory_order_relaxed);
    std::fprintf(stderr, "[%s] %4.0f s %s  sent %10" PRIu64 "  acked %10" PRIu64 "  delivered %10" PRIu64
                 "  %9.0f msg/s\n", k_scenario, static_cast<double>(now - t0) / 1e9,
                 next <= ph.measure_start ? "warmup " : "measure", sh.sent.load(std::memory_order_relaxed),
                 sh.acked_ok.load(std::memory_order_relaxed), recv,
                 static_cast<double>(recv - last_recv) * 1e9 / static_cast<double>(now - next + k_ns_per_s));
    last_recv = recv;
    next += k_ns_per_s;
  }
  pt.join();
  ct.join();

  const std::uint64_t sent = sh.sent.load();
  std::uint64_t acked_ok = 0;
  std::uint64_t ack_failed = 0;
  std::uint64_t lost = 0;
  for (std::uint64_t s = 0; s < sent; ++s) {
    const std::uint8_t a = ps.ack_by_seq[s];
    acked_ok += a == 1;
    ack_failed += a == 2;
    if (a == 1 && (s >= cs.seen.size() || cs.seen[s] == 0)) ++lost;
  }
  const std::uint64_t unacked = sent - acked_ok - ack_failed;
  // Shorter than --seconds when interrupted.
  const double measured_s = std::max(0.0, static_cast<double>(ps.stopped_ns - ph.measure_start) / 1e9);
  const double delivered_rate = measured_s > 0 ? static_cast<double>(cs.received_in_window) / measured_s : 0.0;
  const double acked_rate = measured_s > 0 ? static_cast<double>(ps.acked_in_window) / measured_s : 0.0;
  const bool ok = lost == 0 && cs.duplicates == 0 && ack_failed == 0 && unacked == 0 && !ps.lost && !cs.lost &&
                  g_stop == 0;
  const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  const histogram& a = ps.ack_lat;
  const histogram& e = cs.e2e_lat;
  if (o.json) {
    char host[256] = "?";
    ::gethostname(host, sizeof host - 1);
    std::printf("{\"scenario\":\"%s\",\"time\":\"%s\",\"host\":\"%s\",\"broker\":\"%s\",\"uri\":\"%s\","
                "\"payload_sz\":%zu,\"window\":%" PRIu32 ",\"seconds\":%.3f,\"warmup_s\":%g,"
                "\"sent\":%" PRIu64 ",\"acked_ok\":%" PRIu64 ",\"ack_failed\":%" PRIu64 ",\"unacked\":%" PRIu64
                ",\"delivered_msgs_per_s\":%.0f,\"acked_msgs_per_s\":%.0f,"
                "\"ack_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"count\":%" PRIu64 "},"
                "\"e2e_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"count\":%" PRIu64 "},"
                "\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"redelivered\":%" PRIu64 ",\"stale\":%" PRIu64
                ",\"result\":\"%s\"}\n",
                k_scenario, utc_now().c_str(), json_str(host).c_str(), json_str(o.broker).c_str(),
                json_str(o.uri).c_str(), k_payload_sz, o.window,
                measured_s, o.warmup, sent, acked_ok, ack_failed, unacked, delivered_rate, acked_rate,
                us(a.quantile(0.5)), us(a.quantile(0.99)), us(a.quantile(0.999)), us(a.max()), a.count(),
                us(e.quantile(0.5)), us(e.quantile(0.99)), us(e.quantile(0.999)), us(e.max()), e.count(), lost,
                cs.duplicates, cs.redelivered, cs.stale, ok ? "ok" : g_stop != 0 ? "interrupted" : "FAILED");
  } else {
    std::printf("sluice-bench %s (%s, 1 producer -> 1 consumer, %zu B, window %" PRIu32 ", %.1f s measured)\n",
                k_scenario, o.uri.c_str(), k_payload_sz, o.window, measured_s);
    std::printf("  throughput:  %.0f msg/s delivered, %.0f msg/s acked\n", delivered_rate, acked_rate);
    std::printf("  publish->ACK us:    p50 %8.1f  p99 %8.1f  p99.9 %8.1f  max %8.1f  (%" PRIu64 " samples)\n",
                us(a.quantile(0.5)), us(a.quantile(0.99)), us(a.quantile(0.999)), us(a.max()), a.count());
    std::printf("  end-to-end us:      p50 %8.1f  p99 %8.1f  p99.9 %8.1f  max %8.1f  (%" PRIu64 " samples)\n",
                us(e.quantile(0.5)), us(e.quantile(0.99)), us(e.quantile(0.999)), us(e.max()), e.count());
    std::printf("  checked: %" PRIu64 " sent, %" PRIu64 " acked ok, %" PRIu64 " ack failed, %" PRIu64
                " unacked, %" PRIu64 " lost, %" PRIu64 " duplicates, %" PRIu64 " redelivered, %" PRIu64
                " stale -> %s\n",
                sent, acked_ok, ack_failed, unacked, lost, cs.duplicates, cs.redelivered, cs.stale,
                ok ? "OK" : g_stop != 0 ? "INTERRUPTED" : "FAILED");
  }
  for (const auto& [st, n] : ps.failed_by) {
    std::fprintf(stderr, "sluice-bench: %" PRIu64 " ACKs failed with %s\n", n, wire::status_name(st));
  }
  if (g_stop != 0) std::fprintf(stderr, "sluice-bench: interrupted\n");
  return ok ? 0 : 1;
}

}  // namespace sluice
