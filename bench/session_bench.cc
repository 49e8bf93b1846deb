// bench/session_bench.cc — CPU cost of the session layer per frame.
//
// Two endpoints on one thread talk over sim_network (sim_link.h) driven by a
// manual_clock. A opens a session to B, then streams 64-byte PUT frames one
// way (window 1024 both sides) while the link drops 0, 1 or 5 % of the
// datagrams in both directions (data and acks). Each benchmark iteration
// moves a batch of 10,000 frames end to end and checks that every one
// arrived, once and in order.
//
//   stream_app A ─► endpoint A ─► sim_port ─┐ loss, delay 50 µs ± 10 µs
//                                           ▼
//   stream_app B ◄─ endpoint B ◄─ sim_port ◄┘ (acks, SACK, NAK flow back)
//
// Simulated time is not wall time. The link's delay costs nothing here (the
// clock is advanced by hand, and jumps while both sides are idle), so the
// figures are the CPU cost of the protocol logic for both ends together:
// send(), the tx ring and chunk pool, building DATA datagrams, packet and
// frame decode, cumulative acks, SACK/NAK, retransmission timers, in-order
// delivery. They also include the simulator's own work (a heap copy and a
// priority-queue push per datagram). They are not a network throughput.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>

#include "datapath/transport/endpoint.h"
#include "datapath/transport/sim_link.h"

namespace sluice::transport {
namespace {

constexpr std::uint64_t k_batch_frames = 10'000;
constexpr std::size_t k_frame_sz = 64;
constexpr std::uint32_t k_window = 1024;
// Simulated time per step while datagrams flow (a little under half an RTT).
constexpr time_ns k_step_ns = 20 * k_ns_per_us;
// A batch that needs more simulated time than this has stalled.
constexpr time_ns k_batch_sim_ns_max = 60 * k_ns_per_s;

// CPU time of this thread: what Google Benchmark's "CPU" column measures.
time_ns thread_cpu_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<time_ns>(ts.tv_sec) * k_ns_per_s + ts.tv_nsec;
}

// Sends numbered frames up to a limit that the benchmark raises once per
// iteration, and checks that each frame received is the next one due. Not
// testing::traffic_app: its send plan is fixed at construction, and it checks
// every filler byte, which would put the checker in the profile.
class stream_app final : public session_handler {
 public:
  void on_open(session& s) noexcept override { _s = &s; }
  void on_frame(session&, wire::frame_type type, wire::bytes body) noexcept override {
    std::uint64_t n = 0;
    if (type != wire::frame_type::put || body.size() != k_frame_sz) {
      bad = true;
      return;
    }
    std::memcpy(&n, body.data(), sizeof n);
    if (n != received) {
      bad = true;
      return;
    }
    ++received;
  }
  void on_close(session&, wire::status) noexcept override {
    _s = nullptr;
    closed = true;
  }

  // Sends until the limit or until the session pushes back (would_block:
  // the next step's pump carries on once acks have opened the window).
  void pump() noexcept {
    if (_s == nullptr) return;
    while (sent < send_limit) {
      std::memcpy(_frame.data(), &sent, sizeof sent);
      if (!_s->send(wire::frame_type::put, _frame)) return;
      ++sent;
    }
  }
  session* current() const noexcept { return _s; }

  std::uint64_t send_limit = 0;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  bool bad = false;     // a frame arrived out of order, twice, or mangled
  bool closed = false;

 private:
  session* _s = nullptr;
  std::array<std::byte, k_frame_sz> _frame{};
};

endpoint_config make_config(bool responder) {
  endpoint_config c;
  c.accept_inbound = responder;
  c.max_sessions = 2;
  c.session.send_window = k_window;
  c.session.recv_window = k_window;
  return c;
}

struct sim_pair {
  explicit sim_pair(const sim_link_config& link)
      : net(clk, link),
        port_a(net.make_port(1000)),
        port_b(net.make_port(2000)),
        a(*port_a, clk, make_config(false), app_a),
        b(*port_b, clk, make_config(true), app_b) {}

  // One turn of both loops. While datagrams flow, time moves one step per
  // turn; when both sides are idle it jumps to the next delivery, but never
  // more than one timer tick, so retransmission timers fire as they would.
  // Turning the loops while nothing can happen would only measure the harness.
  void step() noexcept {
    app_a.pump();
    const std::size_t work = a.poll() + b.poll();
    const time_ns now = clk.now_ns();
    if (work != 0) {
      clk.advance(k_step_ns);
      return;
    }
    time_ns next = now + a.config().timer_tick_ns;
    const time_ns due = net.next_delivery_ns();
    if (due >= 0 && due < next) next = std::max(due, now + 1);
    clk.set(next);
  }

  // Runs the handshake; false if it did not complete.
  bool open() noexcept {
    if (!a.connect(port_b->local_addr()).ok()) return false;
    for (int i = 0; i < 100'000 && (app_a.current() == nullptr || app_b.current() == nullptr); ++i) step();
    return app_a.current() != nullptr && app_b.current() != nullptr;
  }
  bool failed() const noexcept { return app_b.bad || app_a.closed || app_b.closed; }

  manual_clock clk;
  sim_network net;
  std::unique_ptr<sim_port> port_a;
  std::unique_ptr<sim_port> port_b;
  stream_app app_a;  // sender
  stream_app app_b;  // receiver
  endpoint a;
  endpoint b;
};

// Arg: datagram loss in percent (each direction).
// Items: frames delivered. ns_per_frame: CPU time per delivered frame, both
// ends and the simulator included. dgrams_per_frame: datagrams put on the
// link (both directions) per frame. rtx_pct: retransmitted frames per 100
// new ones.
void bm_session_one_way(benchmark::State& state) {
  sim_link_config link;
  link.loss = static_cast<double>(state.range(0)) / 100.0;
  link.seed = 42;
  sim_pair p(link);
  if (!p.open()) {
    state.SkipWithError("handshake did not complete");
    return;
  }
  const session_counters tx_before = p.app_a.current()->counters();
  const std::uint64_t dgrams_before = p.net.counters().sent;

  std::uint64_t delivered = 0;
  const time_ns cpu_start_ns = thread_cpu_ns();
  for (auto _ : state) {
    p.app_a.send_limit += k_batch_frames;
    const std::uint64_t want = p.app_a.send_limit;
    const time_ns deadline = p.clk.now_ns() + k_batch_sim_ns_max;
    while (p.app_b.received < want && !p.failed() && p.clk.now_ns() < deadline) p.step();
    if (p.app_b.received != want) {
      state.SkipWithError(p.app_b.bad    ? "a frame arrived out of order, twice or mangled"
                          : p.failed() ? "the session closed during the batch"
                                       : "the batch stalled: not every frame arrived");
      break;
    }
    delivered += k_batch_frames;
  }
  const time_ns cpu_ns = thread_cpu_ns() - cpu_start_ns;
  if (delivered == 0 || p.app_a.current() == nullptr) return;

  const session_counters& tx = p.app_a.current()->counters();
  const auto frames = static_cast<double>(delivered);
  const auto new_frames = static_cast<double>(tx.frames_sent - tx_before.frames_sent);
  const auto rtx = static_cast<double>((tx.retransmits_timer - tx_before.retransmits_timer) +
                                       (tx.retransmits_nak - tx_before.retransmits_nak));
  state.SetItemsProcessed(static_cast<std::int64_t>(delivered));
  // Computed here rather than as a kIsRate|kInvert counter, which the
  // console would print in seconds whatever the name says.
  state.counters["ns_per_frame"] = static_cast<double>(cpu_ns) / frames;
  state.counters["dgrams_per_frame"] = static_cast<double>(p.net.counters().sent - dgrams_before) / frames;
  state.counters["rtx_pct"] = new_frames > 0 ? 100.0 * rtx / new_frames : 0.0;
}
BENCHMARK(bm_session_one_way)->ArgName("loss_pct")->Arg(0)->Arg(1)->Arg(5)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::transport

BENCHMARK_MAIN();
