// datapath/broker/shard.h — one shard: a pinned thread and what it owns.
//
// A shard owns its UDP port (base_port + index), its endpoint and sessions,
// its queue engine and its timers, and runs them in one loop on one core:
//
//   loop: endpoint.poll() (receive burst → sessions → queue protocol → ACKs
//         → flush) → commands from the main thread (SPSC ring) → TTL expiry
//         and stats every few ms → idle policy (busy: spin; adaptive: spin
//         `spin_us`, then block on the socket)
//
// The thread pins itself to its core with hwloc, prefers memory from that
// core's NUMA node (libnuma), and builds its engine and pools there. With
// debug.alloc_guard set, it arms the allocation guard once running.
// With disk domains the thread first recovers its journal (shard_journal.h)
// into the engine, reports the outcome, and enters its loop only once the
// main thread says go(): the broker is "ready" only when every shard has
// recovered, and refuses to start if one cannot.
// Everything here except start()/wait_recovered()/go()/stop()/stats()
// belongs to the shard thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/latency_buckets.h"
#include "common/spsc_ring.h"
#include "datapath/broker/config.h"
#include "datapath/broker/shard_query.h"
#include "datapath/transport/datagram_port.h"

namespace sluice::xdp {
class af_xdp_port;
class shard_mesh;
}  // namespace sluice::xdp

namespace sluice::broker {

// Published by the shard thread every few milliseconds (relaxed stores: they
// are statistics, read by the main thread without ordering needs).
struct shard_stats {
  std::atomic<std::uint64_t> sessions{0};
  std::atomic<std::uint64_t> sessions_refused{0};           // every session slot in use
  std::atomic<std::uint64_t> sessions_refused_draining{0};  // the shard was draining
  std::atomic<std::uint64_t> queues{0};
  std::atomic<std::uint64_t> puts{0};
  std::atomic<std::uint64_t> acks{0};
  std::atomic<std::uint64_t> pushes{0};
  std::atomic<std::uint64_t> confirms{0};
  std::atomic<std::uint64_t> redirects{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> bad_datagrams{0};
  std::atomic<std::uint64_t> loops{0};
  // Stalls: the longest time between two loop iterations since start (an
  // idle wait is at most 500 µs, so more is time the thread did not run or
  // spent in one step), how many gaps passed 10 ms, and the longest a
  // control query waited in the ring.
  std::atomic<std::uint64_t> loop_gap_max_ever_ns{0};
  std::atomic<std::uint64_t> query_wait_max_ever_ns{0};
  std::atomic<std::uint64_t> loop_gaps_over_10ms{0};  // iterations that started more than 10 ms after the last
  std::atomic<std::uint64_t> busy_loops{0};   // iterations that did work
  std::atomic<std::uint64_t> memory_bytes{0}; // message bodies in use
  // af_xdp mode (datapath/xdp/af_xdp_port.h counters)
  std::atomic<std::uint64_t> rx_xsk{0};
  std::atomic<std::uint64_t> rx_kernel{0};
  std::atomic<std::uint64_t> rx_invalid{0};
  std::atomic<std::uint64_t> forwarded_out{0};
  std::atomic<std::uint64_t> forwarded_in{0};
  std::atomic<std::uint64_t> forward_dropped{0};
  std::atomic<std::uint64_t> tx_xsk{0};
  std::atomic<std::uint64_t> tx_kernel{0};
  std::atomic<std::uint64_t> tx_dropped{0};
  // disk domains (0 without a journal)
  std::atomic<std::uint64_t> journal_commits{0};
  std::atomic<std::uint64_t> journal_bytes{0};
  std::atomic<std::uint64_t> journal_backpressure{0};
  std::atomic<std::uint64_t> journal_segments{0};
  std::atomic<std::uint64_t> journal_deferred{0};  // records that waited out backpressure
  std::atomic<std::uint64_t> journal_dropped{0};   // confirms etc. never journaled (ring full, failed)
  std::atomic<std::uint64_t> acks_pending{0};
  // journal commit (write + sync) latency: common/latency_buckets.h counts
  std::array<std::atomic<std::uint64_t>, latency_buckets::k_bounds_ns.size() + 1> journal_commit_latency{};
  std::atomic<std::uint64_t> journal_commit_latency_sum_ns{0};
  std::atomic<std::int32_t> cpu{-1};
  std::atomic<std::int32_t> numa_node{-1};
  std::atomic<bool> running{false};
};

// What an af_xdp shard needs from the main thread's XDP setup.
struct xdp_binding {
  int xsks_map_fd = -1;
  bool skb_mode = false;
  xdp::shard_mesh* mesh = nullptr;
};

enum class shard_command : std::uint8_t { none, stop };

class shard {
 public:
  shard(const broker_config& cfg, std::uint32_t index, int cpu);
  ~shard();

  // Opens the shard's port (main thread, before start()): kernel UDP, or with
  // `xdp` an AF_XDP socket on the shard's NIC queue. A busy port, a bad
  // address or an AF_XDP failure is reported here, with the reason.
  bool bind(std::string& err, const xdp_binding* xdp = nullptr);
  // How the port came up (af_xdp: queue, bind mode, UMEM pages).
  const std::string& port_description() const noexcept { return _port_desc; }
  void start();
  // Main thread, after start(): blocks until the shard has built its engine
  // and recovered its journal. False with the reason if it could not; the
  // shard then waits for stop().
  bool wait_recovered(std::string& err);
  // Main thread: every shard recovered; enter the loop.
  void go() noexcept { _go.store(1, std::memory_order_release); }
  // Asks the thread to close its sessions gracefully and exit; join()s it.
  void stop();

  // Hands a control request to the shard (service thread only: the query
  // ring's single producer). False if the ring is full.
  bool submit(std::shared_ptr<shard_query> q) noexcept { return _queries.push(std::move(q)); }
  // How many submit() calls will succeed from now on, at the least (service
  // thread only).
  std::size_t query_room() noexcept { return _queries.free_slots(); }

  const shard_stats& stats() const noexcept { return _stats; }
  std::uint32_t index() const noexcept { return _index; }
  std::uint16_t port() const noexcept;

 private:
  void run() noexcept;

  const broker_config& _cfg;
  std::uint32_t _index;
  int _cpu;
  std::unique_ptr<transport::datagram_port> _port;
  xdp::af_xdp_port* _xdp_port = nullptr;  // _port, when in af_xdp mode
  std::string _port_desc;
  spsc_ring<shard_command> _commands{16};  // main thread → shard
  spsc_ring<std::shared_ptr<shard_query>> _queries{k_query_ring_sz};  // service thread → shard
  shard_stats _stats;
  std::thread _thread;
  // Start-up handshake. _phase: 0 starting, 1 recovered, 2 failed (then
  // _start_error is set; release/acquire publishes it). _go: 0 wait, 1 run,
  // 2 abort.
  std::atomic<int> _phase{0};
  std::atomic<int> _go{0};
  std::string _start_error;
};

// OS cpu id per shard: cfg.cores; else the isolated cpus (isolcpus) this
// process may use, round robin; else -1 for each: not pinned.
std::vector<int> shard_cpus(const broker_config& cfg);

}  // namespace sluice::broker
