// sluice-broker: the single-node broker process.
//
// Loads the config (or the embedded default), binds one port per shard (a
// kernel UDP socket, or in af_xdp mode an AF_XDP socket on the shard's NIC
// queue after loading and attaching the XDP program), starts the shard threads, and waits for SIGINT/SIGTERM; then every shard
// closes its sessions gracefully and the process exits 0. With
// --stats-interval it prints per-shard counters periodically.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <vector>

#include "common/alloc_guard.h"
#include "datapath/broker/config.h"
#include "datapath/broker/service.h"
#include "datapath/broker/shard.h"
#include "datapath/xdp/shard_mesh.h"
#include "datapath/xdp/xdp_steering.h"

namespace sluice::broker {
namespace {

void print_banner(const broker_config& cfg, const std::vector<std::unique_ptr<shard>>& shards,
                  const std::vector<int>& cpus) {
  std::printf("sluice-broker 0.1.0: node %u, config: %s\n", cfg.node_id, cfg.source.c_str());
  std::printf("  %u shard(s) on %s ports %u-%u, idle %s, datapath %s\n", cfg.shard_cnt, cfg.listen.c_str(),
              cfg.base_port, cfg.base_port + cfg.shard_cnt - 1, to_string(cfg.idle), to_string(cfg.datapath.mode));
  if (!cpus.empty() && cpus[0] < 0) {
    std::printf("  shards not pinned (no shards.cores, no isolated cpus): the scheduler places them\n");
  } else {
    std::printf("  shards pinned to cpus");
    for (std::size_t i = 0; i < cpus.size(); ++i) std::printf("%s%d", i == 0 ? " " : ",", cpus[i]);
    std::printf("%s\n", cfg.cores.empty() ? " (isolated)" : " (shards.cores)");
  }
  for (const auto& s : shards) {
    if (!s->port_description().empty()) std::printf("  shard %u: %s\n", s->index(), s->port_description().c_str());
  }
  for (const auto& d : cfg.domains) {
    std::printf("  domain %-12s %-9s %-6s", d.name.c_str(), to_string(d.mode),
                d.storage == storage_kind::disk ? "disk" : "memory");
    for (std::size_t i = 0; i < d.app_ids.size(); ++i) {
      std::printf("%s%s", i == 0 ? " app ids: " : ", ", d.app_ids[i].c_str());
    }
    std::printf("\n");
  }
  if (cfg.has_disk_domains()) {
    std::printf("  journal %s/shard-N, segments %llu MiB, sync %s\n", cfg.storage.dir.c_str(),
                static_cast<unsigned long long>(cfg.storage.segment_sz >> 20),
                cfg.storage.sync == journal_sync::dsync ? "dsync" : "fdatasync");
  }
}

void print_stats(const std::vector<std::unique_ptr<shard>>& shards, const xdp::xdp_steering* steering) {
  for (const auto& s : shards) {
    const auto& st = s->stats();
    const auto ld = [](const std::atomic<std::uint64_t>& a) {
      return static_cast<unsigned long long>(a.load(std::memory_order_relaxed));
    };
    std::printf("shard %u cpu %d: sessions %llu refused %llu queues %llu puts %llu acks %llu pushes %llu confirms %llu "
                "redirects %llu errors %llu bad_datagrams %llu mem %llu B busy %.1f%%\n",
                s->index(), st.cpu.load(std::memory_order_relaxed), ld(st.sessions),
                ld(st.sessions_refused) + ld(st.sessions_refused_draining), ld(st.queues), ld(st.puts),
                ld(st.acks), ld(st.pushes), ld(st.confirms), ld(st.redirects), ld(st.errors),
                ld(st.bad_datagrams), ld(st.memory_bytes),
                st.loops.load() ? 100.0 * static_cast<double>(st.busy_loops.load()) / static_cast<double>(st.loops.load())
                                : 0.0);
    if (st.journal_commits.load(std::memory_order_relaxed) != 0) {
      std::printf("shard %u journal: commits %llu bytes %llu backpressure %llu deferred %llu dropped %llu segments "
                  "%llu acks_pending %llu\n",
                  s->index(), ld(st.journal_commits), ld(st.journal_bytes), ld(st.journal_backpressure),
                  ld(st.journal_deferred), ld(st.journal_dropped), ld(st.journal_segments), ld(st.acks_pending));
    }
    if (steering != nullptr) {
      std::printf("shard %u af_xdp: rx_xsk %llu rx_kernel %llu rx_invalid %llu forwarded_out %llu forwarded_in %llu "
                  "forward_dropped %llu tx_xsk %llu tx_kernel %llu tx_dropped %llu\n",
                  s->index(), ld(st.rx_xsk), ld(st.rx_kernel), ld(st.rx_invalid), ld(st.forwarded_out),
                  ld(st.forwarded_in), ld(st.forward_dropped), ld(st.tx_xsk), ld(st.tx_kernel), ld(st.tx_dropped));
    }
  }
  if (steering != nullptr) {
    const auto c = steering->counters();
    std::printf("xdp:");
    for (unsigned i = 0; i < c.size(); ++i) {
      std::printf(" %s %llu", sluice_xdp_counter_name(i), static_cast<unsigned long long>(c[i]));
    }
    std::printf("\n");
  }
  std::fflush(stdout);
}

int run(const broker_config& cfg, double stats_interval_s) {
  alloc_guard::set_mode(cfg.alloc_guard);
  if (cfg.alloc_guard != alloc_guard::mode::off && !alloc_guard::linked()) {
    std::fprintf(stderr, "sluice-broker: debug.alloc_guard is set but this binary lacks the guard\n");
    return 2;
  }
  // Signals go to this thread only: block them before the shards start.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  // af_xdp: the program first (sockets register in its XSKMAP), then the
  // shards. Declared before `shards` so it is destroyed (detached) after them.
  std::unique_ptr<xdp::xdp_steering> steering;
  std::unique_ptr<xdp::shard_mesh> mesh;
  xdp_binding binding;
  if (cfg.datapath.mode == datapath_mode::af_xdp) {
    const auto& d = cfg.datapath;
    xdp::xdp_steering_config xc;
    xc.ifname = d.interface;
    xc.port_lo = cfg.base_port;
    xc.port_hi = static_cast<std::uint16_t>(cfg.base_port + cfg.shard_cnt - 1);
    xc.mode = d.xdp_mode == xdp_attach_mode::native ? xdp::xdp_mode::native
              : d.xdp_mode == xdp_attach_mode::skb  ? xdp::xdp_mode::skb
                                                    : xdp::xdp_mode::auto_select;
    xc.attach = d.attach == xdp_attach::dispatcher ? xdp::attach_kind::dispatcher : xdp::attach_kind::link;
    xc.dispatcher_priority = d.dispatcher_priority;
    std::string err;
    std::vector<std::string> log;
    steering = xdp::xdp_steering::attach(xc, err, log);
    for (const auto& line : log) std::fprintf(stderr, "sluice-broker: %s\n", line.c_str());
    if (!steering) {
      std::fprintf(stderr, "sluice-broker: %s\n", err.c_str());
      return 1;
    }
    std::printf("sluice-broker: XDP program on %s, %s\n", d.interface.c_str(), steering->description().c_str());
    mesh = std::make_unique<xdp::shard_mesh>(cfg.shard_cnt);
    binding = xdp_binding{steering->xsks_map_fd(), steering->skb_mode(), mesh.get()};
  }
  if (std::string err; !prepare_storage_dirs(cfg, err)) {
    std::fprintf(stderr, "sluice-broker: bad config: %s: %s\n", cfg.source.c_str(), err.c_str());
    return 2;
  }
  const std::vector<int> cpus = shard_cpus(cfg);
  std::vector<std::unique_ptr<shard>> shards;
  for (std::uint32_t i = 0; i < cfg.shard_cnt; ++i) {
    auto s = std::make_unique<shard>(cfg, i, cpus[i]);
    std::string err;
    if (!s->bind(err, steering ? &binding : nullptr)) {
      std::fprintf(stderr, "sluice-broker: %s\n", err.c_str());
      return 1;
    }
    shards.push_back(std::move(s));
  }
  print_banner(cfg, shards, cpus);
  // Every shard builds its engine and, with disk domains, recovers its
  // journal (in parallel); the loops start only when all have.
  for (auto& s : shards) s->start();
  bool recovered = true;
  for (auto& s : shards) {
    if (std::string err; !s->wait_recovered(err)) {
      std::fprintf(stderr, "sluice-broker: %s\n", err.c_str());
      recovered = false;
    }
  }
  if (!recovered) {
    std::fprintf(stderr, "sluice-broker: refusing to start: a journal could not be recovered\n");
    for (auto& s : shards) s->stop();
    return 3;
  }
  for (auto& s : shards) s->go();
  broker_service service(cfg, shards, steering.get());
  if (std::string err; !service.start(err)) {
    std::fprintf(stderr, "sluice-broker: %s\n", err.c_str());
    for (auto& s : shards) s->stop();
    return 1;
  }
  std::printf("sluice-broker: control channel on %s\n", cfg.control.broker_socket.c_str());
  std::printf("sluice-broker: ready\n");
  std::fflush(stdout);

  for (;;) {
    timespec ts{};
    const double wait_s = stats_interval_s > 0 ? stats_interval_s : 3600.0;
    ts.tv_sec = static_cast<time_t>(wait_s);
    ts.tv_nsec = static_cast<long>((wait_s - static_cast<double>(ts.tv_sec)) * 1e9);
    const int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      std::printf("sluice-broker: %s, closing sessions\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (stats_interval_s > 0) print_stats(shards, steering.get());
  }
  service.stop();
  for (auto& s : shards) s->stop();
  print_stats(shards, steering.get());
  if (cfg.alloc_guard != alloc_guard::mode::off) {
    std::printf("sluice-broker: allocation guard: %llu allocation(s) on shard loops\n",
                static_cast<unsigned long long>(alloc_guard::violations()));
  }
  std::printf("sluice-broker: stopped\n");
  return 0;
}

}  // namespace
}  // namespace sluice::broker

// LeakSanitizer (asan builds): libnuma caches cpu masks for the life of the
// process (numa_node_of_cpu); that is not a leak of ours.
extern "C" const char* __lsan_default_suppressions() { return "leak:libnuma.so\n"; }

int main(int argc, char** argv) {
  using namespace sluice::broker;
  CLI::App cli{"sluice-broker: the Sluice message broker (single node; kernel UDP or AF_XDP)"};
  std::string config_path;
  bool print_default = false;
  bool check_only = false;
  double stats_interval = 0;
  cli.add_option("-c,--config", config_path, "TOML config file (default: the embedded default config)");
  cli.add_flag("--print-default-config", print_default, "print the embedded default config and exit");
  cli.add_flag("--check", check_only, "validate the config and exit");
  cli.add_option("--stats-interval", stats_interval, "print shard counters every N seconds (0 = never)")
      ->check(CLI::Range(0.0, 3600.0));
  cli.footer(config_help());
  CLI11_PARSE(cli, argc, argv);
  if (print_default) {
    std::fputs(k_default_config, stdout);
    return 0;
  }
  std::string err;
  auto cfg = config_path.empty() ? parse_config(k_default_config, "embedded default", err)
                                 : load_config_file(config_path, err);
  if (!cfg) {
    std::fprintf(stderr, "sluice-broker: bad config: %s\n", err.c_str());
    return 2;
  }
  if (check_only) {
    std::printf("%s: ok\n", cfg->source.c_str());
    return 0;
  }
  return run(*cfg, stats_interval);
}
