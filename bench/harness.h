// bench/harness.h — the scenario runner's core: what a scenario is, what a
// system under test must provide (producer and consumer ports), and the
// measurement loop that drives them.
//
//   main thread: system.consumer() × C, system.producer() × P, then threads
//   ┌ producer thread p ─ port.send({run, p, seq, intended_ns}) ─► system ─► consumer thread c ┐
//   │   open loop: message seq is due at t0 + seq/rate, stamped with that     on_message:       │
//   │   intended time even when sent late (no coordinated omission);          e2e = now - stamp │
//   │   closed loop: at most `window` sent and not yet ACKed or received.     seen[p][seq]++    │
//   └ on_ack(seq, ok): publish→ACK = now - intended ◄───────────────────────────────────────────┘
//   main thread: a progress line each second; after the producers stop and
//   everything ACKed arrived (or 5 s passed), counts loss and duplicates.
//
// Every thread owns its port and its histograms; they meet only in relaxed
// atomic counters (progress, window) and after join().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/histogram.h"

namespace sluice::bench {

enum class queue_mode : std::uint8_t { priority, fanout, broadcast };
const char* mode_name(queue_mode m);

struct scenario {
  std::string name;     // stable: "w1-latency"
  std::string variant;  // "10k/s": id() = "w1-latency 10k/s"
  queue_mode mode = queue_mode::priority;
  bool durable = false;
  std::uint32_t queues = 1;
  std::uint32_t producers_per_queue = 1;
  std::uint32_t consumers_per_queue = 1;
  double rate_total = 0;     // msg/s over all producers; 0 = closed loop
  std::uint32_t window = 0;  // closed loop: per producer
  std::uint32_t payload_sz = 64;
  // The producer polls (0) after this many posts: 1 is a caller that polls
  // after every post, 64 one that batches by hand (issue 14: both must run
  // at the broker's speed).
  std::uint32_t posts_per_poll = 1;
  double seconds = 5;
  double warmup = 1;
  std::string id() const { return variant.empty() ? name : name + " " + variant; }
  std::uint32_t producers() const { return queues * producers_per_queue; }
  std::uint32_t consumers() const { return queues * consumers_per_queue; }
  // Copies of each message the consumers of its queue receive in total.
  std::uint32_t copies() const { return mode == queue_mode::priority ? 1 : consumers_per_queue; }
};

// The head of every payload (the rest is filler up to payload_sz).
struct stamp {
  std::uint64_t run_id;
  std::uint32_t producer;  // global producer index
  std::uint32_t queue;
  std::uint64_t seq;       // per producer, from 0
  time_ns intended_ns;     // when the message was due (open loop) or posted (closed loop)
};
static_assert(sizeof(stamp) == 32);

// One producer's connection. Owned and used by one thread after creation.
class producer_port {
 public:
  virtual ~producer_port() = default;
  // false: sending is all there is (no ACKs; a sent message counts as ACKed).
  virtual bool has_acks() const = 0;
  // Queues one message. false = would block (poll and retry) or broken
  // (error() is then non-empty).
  virtual bool send(std::uint64_t seq, std::span<const std::byte> payload) = 0;
  // Sends what is queued, handles replies (calls on_ack); waits up to
  // `timeout_ns` when there is nothing to do.
  virtual void poll(time_ns timeout_ns) = 0;
  std::function<void(std::uint64_t seq, bool ok)> on_ack;
  std::string error;   // set when the connection broke
  std::string failure; // the first non-ok ACK's reason
  // Everything queued has left (ports that buffer writes override it).
  virtual bool flushed() const { return true; }
};

// One consumer's connection. Owned and used by one thread after creation.
class consumer_port {
 public:
  virtual ~consumer_port() = default;
  // Receives (calls on_message), sends confirms/acks; waits up to
  // `timeout_ns` when idle.
  virtual void poll(time_ns timeout_ns) = 0;
  std::function<void(std::span<const std::byte> payload)> on_message;
  std::string error;
};

// A system under test (Sluice in some mode, or a peer). Main thread only.
class system_under_test {
 public:
  virtual ~system_under_test() = default;
  virtual std::string name() const = 0;  // "sluice udp adaptive", "nats core", ...
  // Non-empty: this system cannot run the scenario, and why.
  virtual std::string skip_reason(const scenario& s) const = 0;
  // Called before each scenario: a system that can restart its server does,
  // so what one scenario leaves behind (a full queue, a broken session)
  // cannot change the next one's figures. "" or why it could not.
  virtual std::string reset() { return ""; }
  // Called before the ports of one scenario run are made (queues, streams).
  virtual std::string prepare(const scenario& s, std::uint64_t run_id) = 0;
  // Consumer `idx` (0 .. consumers_per_queue-1) of queue `q`; created before
  // any producer. nullptr with `err` set on failure.
  virtual std::unique_ptr<consumer_port> consumer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                                  std::string& err) = 0;
  virtual std::unique_ptr<producer_port> producer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                                  std::string& err) = 0;
  // true: the system promises at most once delivery for this scenario
  // (Sluice broadcast drops for a reader whose session window is full,
  // protocol §11.3; core NATS; UDP), so a loss is reported, not a failure.
  virtual bool may_drop(const scenario&) const { return false; }
  // Short description for the report (version, mode, settings).
  virtual std::string describe() const = 0;
};

struct run_result {
  std::string system;
  scenario sc;
  std::string skipped;  // non-empty: not run, and why
  std::string failure;  // non-empty: ran but is not correct, and why
  double measured_s = 0;
  std::uint64_t sent = 0, acked_ok = 0, ack_failed = 0, unacked = 0;
  std::uint64_t delivered = 0;  // copies, duplicates included
  std::uint64_t lost = 0, duplicates = 0, stale = 0;
  bool may_drop = false;  // losses allowed by the system's delivery promise
  double sent_per_s = 0, delivered_per_s = 0, acked_per_s = 0;
  bool has_acks = false;
  histogram e2e, ack;
  bool ok() const { return skipped.empty() && failure.empty(); }
};

// Runs one scenario against `sys`, printing a progress line each second on
// stderr with `label`. Bounded: warm-up + measured time + at most ~6 s of drain.
run_result run_scenario(system_under_test& sys, const scenario& s);

// SIGINT/SIGTERM: stop the current scenario early (async-signal-safe) and
// skip the rest.
void request_stop() noexcept;
bool stop_requested() noexcept;

}  // namespace sluice::bench
