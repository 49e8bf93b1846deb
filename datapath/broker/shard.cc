#include "datapath/broker/shard.h"

#include <hwloc.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdio>

#include "common/alloc_guard.h"
#include "datapath/broker/shard_control.h"
#include "datapath/broker/shard_journal.h"
#include "datapath/broker/shard_protocol.h"
#include "datapath/transport/endpoint.h"
#include "datapath/transport/udp_port.h"
#include "datapath/xdp/af_xdp_port.h"

namespace sluice::broker {

namespace {

// Pins the calling thread to `cpu`; returns false (and says why) on failure.
bool pin_to_cpu(int cpu, std::string& why) {
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) {
    why = "hwloc cannot load the topology";
    return false;
  }
  bool ok = false;
  hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, static_cast<unsigned>(cpu));
  if (pu == nullptr) {
    why = "no cpu " + std::to_string(cpu) + " on this machine";
  } else if (hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_THREAD) != 0) {
    why = "hwloc_set_cpubind failed for cpu " + std::to_string(cpu);
  } else {
    ok = true;
  }
  hwloc_topology_destroy(topo);
  return ok;
}

// /sys/devices/system/cpu/isolated as cpu ids (empty: none, or unreadable).
std::vector<int> isolated_cpus() {
  std::vector<int> out;
  std::FILE* f = std::fopen("/sys/devices/system/cpu/isolated", "r");
  if (f == nullptr) return out;
  char line[4096] = {};
  const bool got = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  if (!got) return out;
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (set != nullptr && hwloc_bitmap_list_sscanf(set, line) == 0) {
    for (int i = hwloc_bitmap_first(set); i >= 0; i = hwloc_bitmap_next(set, i)) out.push_back(i);
  }
  hwloc_bitmap_free(set);
  return out;
}

}  // namespace

std::vector<int> shard_cpus(const broker_config& cfg) {
  if (!cfg.cores.empty()) return cfg.cores;
  // Not configured: pin only onto cpus the kernel keeps for us (isolcpus),
  // among those this process may use. Otherwise the scheduler places shard
  // threads: pinned to a core that other work also uses, a shard could not
  // move off it, and its tails grew to hundreds of milliseconds next to a
  // CPU hog (issue 14).
  const std::vector<int> isolated = isolated_cpus();
  std::vector<int> usable;
  hwloc_topology_t topo;
  if (!isolated.empty() && hwloc_topology_init(&topo) == 0) {
    if (hwloc_topology_load(topo) == 0) {  // lists the allowed cpus only
      for (const int cpu : isolated)
        if (hwloc_get_pu_obj_by_os_index(topo, static_cast<unsigned>(cpu)) != nullptr) usable.push_back(cpu);
    }
    hwloc_topology_destroy(topo);
  }
  std::vector<int> out;
  for (std::uint32_t i = 0; i < cfg.shard_cnt; ++i) out.push_back(usable.empty() ? -1 : usable[i % usable.size()]);
  return out;
}

shard::shard(const broker_config& cfg, std::uint32_t index, int cpu) : _cfg(cfg), _index(index), _cpu(cpu) {}

shard::~shard() { stop(); }

std::uint16_t shard::port() const noexcept { return _port ? _port->local_addr().port : 0; }

namespace {
void publish_xdp(shard_stats& st, const xdp::af_xdp_port& p) {
  const auto& c = p.counters();
  st.rx_xsk.store(c.rx_xsk, std::memory_order_relaxed);
  st.rx_kernel.store(c.rx_kernel, std::memory_order_relaxed);
  st.rx_invalid.store(c.rx_bad + c.rx_not_ours, std::memory_order_relaxed);
  st.forwarded_out.store(c.forwarded_out, std::memory_order_relaxed);
  st.forwarded_in.store(c.forwarded_in, std::memory_order_relaxed);
  st.forward_dropped.store(c.forward_dropped, std::memory_order_relaxed);
  st.tx_xsk.store(c.tx_xsk, std::memory_order_relaxed);
  st.tx_kernel.store(c.tx_kernel, std::memory_order_relaxed);
  st.tx_dropped.store(c.tx_dropped, std::memory_order_relaxed);
}
}  // namespace

bool shard::bind(std::string& err, const xdp_binding* xdp) {
  transport::udp_port_config pc;
  const auto addr = net_addr::from_ip_port(_cfg.listen, static_cast<std::uint16_t>(_cfg.base_port + _index));
  if (!addr) {
    err = "node.listen: \"" + _cfg.listen + "\" is not an address";
    return false;
  }
  if (xdp != nullptr) {
    const auto& d = _cfg.datapath;
    xdp::af_xdp_port_config xc;
    xc.ifname = d.interface;
    xc.queue_id = d.queues.empty() ? _index : static_cast<std::uint32_t>(d.queues[_index]);
    xc.local = *addr;
    xc.base_port = _cfg.base_port;
    xc.max_datagram_sz = _cfg.session.max_datagram_sz;
    xc.ring_sz = d.ring_size;
    xc.zero_copy = d.zero_copy;
    xc.skb_mode = xdp->skb_mode;
    xc.busy_poll = d.busy_poll;
    xc.busy_poll_budget = d.busy_poll_budget;
    xc.hugepages = d.hugepages;
    xc.numa_node = numa_available() >= 0 ? numa_node_of_cpu(_cpu) : -1;
    xc.xsks_map_fd = xdp->xsks_map_fd;
    auto p = xdp::af_xdp_port::open(xc, xdp->mesh, _index, err);
    if (!p) {
      err = "shard " + std::to_string(_index) + ": " + err;
      return false;
    }
    _port_desc = p->description();
    _xdp_port = p.get();
    _port = std::move(p);
    return true;
  }
  pc.bind = *addr;
  pc.max_datagram_sz = _cfg.session.max_datagram_sz;
  _port = transport::udp_port::open(pc, err);
  if (!_port) err = "shard " + std::to_string(_index) + ": " + err;
  return _port != nullptr;
}

void shard::start() {
  SLUICE_ASSERT(_port != nullptr, "bind() before start()");
  _thread = std::thread([this] { run(); });
}

bool shard::wait_recovered(std::string& err) {
  int ph = 0;
  while ((ph = _phase.load(std::memory_order_acquire)) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (ph == 2) err = _start_error;
  return ph == 1;
}

void shard::stop() {
  if (!_thread.joinable()) return;
  if (_go.load(std::memory_order_acquire) == 0) {
    _go.store(2, std::memory_order_release);  // never started its loop
    _thread.join();
    return;
  }
  while (!_commands.push(shard_command::stop)) std::this_thread::yield();
  _thread.join();
}

void shard::run() noexcept {
  // "sluice-shard-N" in top -H, perf and /proc/PID/task/*/comm (15 bytes
  // at most: longer names are refused, and the thread keeps the process's).
  char name[16];
  std::snprintf(name, sizeof name, "sluice-shard-%u", _index % 100);
  ::pthread_setname_np(::pthread_self(), name);
  std::string why;
  if (_cpu < 0) {
    // Not pinned (shard_cpus): the stats show cpu -1.
  } else if (!pin_to_cpu(_cpu, why)) {
    std::fprintf(stderr, "sluice-broker: shard %u not pinned: %s\n", _index, why.c_str());
  } else {
    _stats.cpu.store(_cpu, std::memory_order_relaxed);
  }
  int node = -1;
  if (numa_available() >= 0) {
    // Unpinned, the node this thread starts on (it may move later).
    node = numa_node_of_cpu(_cpu >= 0 ? _cpu : ::sched_getcpu());
    numa_set_localalloc();  // pools below are first touched here, on this node
  }
  _stats.numa_node.store(node, std::memory_order_relaxed);

  queue::engine_limits limits;
  limits.node_id = _cfg.node_id;
  limits.partition = _index;
  limits.max_queues = _cfg.max_queues;
  limits.max_consumers = _cfg.max_consumers;
  limits.max_message_slots = _cfg.max_message_slots;
  limits.message_memory_bytes = _cfg.message_memory_bytes;
  limits.numa_node = node;
  auto proto = std::make_unique<shard_protocol>(_cfg, _index, limits);
  transport::endpoint_config ec;
  ec.session = _cfg.session;
  ec.max_sessions = _cfg.max_sessions;
  ec.chunk_cnt = _cfg.chunk_cnt;
  ec.accept_inbound = true;
  monotonic_clock clk;
  auto ep = std::make_unique<transport::endpoint>(*_port, clk, ec, *proto);
  std::unique_ptr<shard_journal> jr;
  if (_cfg.has_disk_domains()) {
    jr = std::make_unique<shard_journal>(_cfg, _index, *proto);
    std::string err;
    if (!jr->recover(proto->engine(), err)) {
      _start_error = err;
      _phase.store(2, std::memory_order_release);
      while (_go.load(std::memory_order_acquire) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return;
    }
    proto->engine().set_durability(jr.get());
    proto->set_journal(jr.get());
    _port->set_wake_fd(jr->completion_fd());  // a disk completion ends an idle wait
  }
  _phase.store(1, std::memory_order_release);
  int go = 0;
  while ((go = _go.load(std::memory_order_acquire)) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (go == 2) return;

  const bool guard = _cfg.alloc_guard != alloc_guard::mode::off;
  if (guard) alloc_guard::arm_this_thread(true);
  _stats.running.store(true, std::memory_order_relaxed);

  std::uint64_t loops = 0;
  std::uint64_t busy = 0;
  time_ns gap_max_ever = 0;
  time_ns query_wait_max = 0;
  std::uint64_t gaps_over_10ms = 0;
  const auto publish_stats = [&] {
    const auto& c = proto->counters();
    _stats.sessions.store(ep->sessions(), std::memory_order_relaxed);
    _stats.sessions_refused.store(ep->counters().sessions_refused, std::memory_order_relaxed);
    _stats.sessions_refused_draining.store(ep->counters().refused_draining, std::memory_order_relaxed);
    _stats.queues.store(proto->engine().queue_cnt(), std::memory_order_relaxed);
    _stats.puts.store(c.puts, std::memory_order_relaxed);
    _stats.acks.store(c.acks, std::memory_order_relaxed);
    _stats.pushes.store(c.pushes, std::memory_order_relaxed);
    _stats.confirms.store(c.confirms, std::memory_order_relaxed);
    _stats.redirects.store(c.redirects, std::memory_order_relaxed);
    _stats.errors.store(c.errors_sent, std::memory_order_relaxed);
    _stats.bad_datagrams.store(ep->counters().bad_header, std::memory_order_relaxed);
    _stats.memory_bytes.store(proto->engine().memory_in_use(), std::memory_order_relaxed);
    if (jr && jr->stats() != nullptr) {
      const auto& js = *jr->stats();
      _stats.journal_commits.store(js.commits, std::memory_order_relaxed);
      _stats.journal_bytes.store(js.commit_bytes, std::memory_order_relaxed);
      _stats.journal_backpressure.store(js.backpressure, std::memory_order_relaxed);
      _stats.journal_segments.store(jr->segment_cnt(), std::memory_order_relaxed);
      _stats.journal_deferred.store(js.deferred, std::memory_order_relaxed);
      _stats.journal_dropped.store(jr->counters().done_dropped, std::memory_order_relaxed);
      _stats.acks_pending.store(proto->acks_pending(), std::memory_order_relaxed);
      for (std::size_t i = 0; i < js.commit_latency.counts.size(); ++i) {
        _stats.journal_commit_latency[i].store(js.commit_latency.counts[i], std::memory_order_relaxed);
      }
      _stats.journal_commit_latency_sum_ns.store(js.commit_latency.sum_ns, std::memory_order_relaxed);
    }
    _stats.loops.store(loops, std::memory_order_relaxed);
    _stats.loop_gap_max_ever_ns.store(static_cast<std::uint64_t>(gap_max_ever), std::memory_order_relaxed);
    _stats.query_wait_max_ever_ns.store(static_cast<std::uint64_t>(query_wait_max), std::memory_order_relaxed);
    _stats.loop_gaps_over_10ms.store(gaps_over_10ms, std::memory_order_relaxed);
    _stats.busy_loops.store(busy, std::memory_order_relaxed);
    if (_xdp_port != nullptr) publish_xdp(_stats, *_xdp_port);
  };
  constexpr time_ns housekeeping_ns = 5 * k_ns_per_ms;
  constexpr time_ns k_io_spin_ns = 250 * k_ns_per_us;
  time_ns next_housekeeping = 0;
  time_ns last_work = clk.now_ns();
  time_ns last_iteration = last_work;
  bool stopping = false;
  time_ns stop_deadline = 0;
  for (;;) {
    std::size_t work = ep->poll();
    ++loops;
    const time_ns now = clk.now_ns();
    gap_max_ever = std::max(gap_max_ever, now - last_iteration);
    if (now - last_iteration > 10 * k_ns_per_ms) ++gaps_over_10ms;
    last_iteration = now;
    if (work != 0) {
      ++busy;
      last_work = now;
    }
    if (jr) {
      // Group commit: this iteration's records go out in one write; the
      // completions of earlier writes release their PUTs' ACKs.
      if (jr->tick(now) != 0) work = 1;
      // Records wait for this loop's commit: keep going. A write in flight
      // earns a short spin only (a fast disk answers within it); past that
      // the shard sleeps on the ring's descriptor and leaves its CPU to the
      // kernel workers that finish the write.
      if (jr->commit_pending() || jr->write_younger_than(now, k_io_spin_ns)) last_work = now;
    }
    if (auto cmd = _commands.pop(); cmd && *cmd == shard_command::stop && !stopping) {
      stopping = true;
      stop_deadline = now + 1 * k_ns_per_s;
      if (jr) {
        jr->drain(1 * k_ns_per_s);  // the last PUTs' records, and so their ACKs
        ep->poll();
      }
      ep->close_all(wire::status::shutting_down);
    }
    while (auto q = _queries.pop()) {
      query_wait_max = std::max(query_wait_max, now - (*q)->submitted_ns);
      handle_query(**q, *proto, *ep);
      q->reset();  // the last reference may be ours: free it with the guard lifted
      work = 1;
    }
    if (stopping && (ep->sessions() == 0 || now >= stop_deadline)) break;
    if (now >= next_housekeeping) {
      next_housekeeping = now + housekeeping_ns;
      proto->engine().expire(now);
      publish_stats();
    }
    if (work == 0 && _cfg.idle == idle_policy::adaptive && now - last_work >= _cfg.spin_ns) {
      _port->wait(500 * k_ns_per_us);  // bounded: timers keep running
    }
  }
  publish_stats();
  if (guard) alloc_guard::arm_this_thread(false);
  _stats.running.store(false, std::memory_order_relaxed);
  if (jr) {
    // The last records, then no more ACKs: the sessions go next.
    jr->drain(1 * k_ns_per_s);
    jr->detach();
  }
  ep.reset();
  _port->set_wake_fd(-1);
  jr.reset();
  proto.reset();
}

}  // namespace sluice::broker
