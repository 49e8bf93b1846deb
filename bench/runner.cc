#include "bench/runner.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

#include "bench/harness.h"
#include "bench/nats_peer.h"
#include "bench/process.h"
#include "bench/redis_peer.h"
#include "bench/report.h"
#include "bench/scenarios.h"
#include "bench/sluice_system.h"
#include "bench/udp_floor.h"

namespace sluice::bench {

namespace {

const std::vector<std::string> k_modes = {"udp-adaptive", "udp-busy", "veth-udp", "veth-af_xdp"};
const std::vector<std::string> k_peers = {"udp-floor", "nats-core", "nats-jetstream", "redis-streams"};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Runs every scenario against `sys` (or records why it could not start).
void run_all(system_under_test& sys, const std::string& start_error, const std::vector<scenario>& scenarios,
             report_data& rep, const std::vector<std::string>& only) {
  rep.systems.push_back({sys.name(), start_error.empty() ? sys.describe() : "not started: " + start_error});
  for (const auto& s : scenarios) {
    if (stop_requested()) break;
    if (!start_error.empty() || (!only.empty() && !contains(only, s.name))) {
      run_result r;
      r.system = sys.name();
      r.sc = s;
      r.skipped = !start_error.empty() ? "did not start: " + start_error : "not run in this mode";
      rep.results.push_back(std::move(r));
      continue;
    }
    rep.results.push_back(run_scenario(sys, s));
  }
}

std::string today() {
  char buf[16];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace

int run_runner(const runner_options& o) {
  for (const auto& m : o.modes) {
    if (!contains(k_modes, m)) {
      std::fprintf(stderr, "sluice-bench: unknown mode '%s' (udp-adaptive, udp-busy, veth-udp, veth-af_xdp)\n", m.c_str());
      return 2;
    }
  }
  for (const auto& p : o.peers) {
    if (!contains(k_peers, p)) {
      std::fprintf(stderr, "sluice-bench: unknown peer '%s' (udp-floor, nats-core, nats-jetstream, redis-streams)\n",
                   p.c_str());
      return 2;
    }
  }
  const auto names = scenario_names();
  for (const auto& s : o.scenarios) {
    if (!contains(names, s)) {
      std::fprintf(stderr, "sluice-bench: unknown scenario '%s' (w1-latency, w2-throughput, w3-fanout5, w4-durable, "
                   "blazingmq-table)\n", s.c_str());
      return 2;
    }
  }
  if (!std::filesystem::exists(o.broker_bin)) {
    std::fprintf(stderr, "sluice-bench: %s not found (build sluice-broker, or --broker-bin)\n", o.broker_bin.c_str());
    return 2;
  }
  std::vector<scenario> scenarios;
  for (auto s : all_scenarios(o.smoke)) {
    if (!o.scenarios.empty() && !contains(o.scenarios, s.name)) continue;
    if (o.seconds > 0) s.seconds = o.seconds;
    if (o.warmup >= 0) s.warmup = o.warmup;
    scenarios.push_back(s);
  }
  const std::vector<std::string> modes =
      !o.modes.empty() ? o.modes : o.compare ? k_modes : std::vector<std::string>{"udp-adaptive"};
  const std::vector<std::string> peers = o.compare ? (o.peers.empty() ? k_peers : o.peers) : std::vector<std::string>{};

  report_data rep;
  rep.started_utc = utc_now();
  rep.smoke = o.smoke;
  std::unique_ptr<veth_pair> veth;
  for (const auto& m : modes) {
    if (stop_requested()) break;
    sluice_mode sm;
    sm.shards = o.shards;
    if (o.client_linger_us >= 0) sm.client_linger_ns = static_cast<time_ns>(o.client_linger_us * 1e3);
    // Only kernel UDP in adaptive mode runs everything: it is the mode the
    // targets are measured in; the others run the scenarios that compare modes.
    std::vector<std::string> only;
    if (m == "udp-busy") {
      sm.label = "udp busy";
      sm.idle = "busy";
      sm.shards = 1;  // two spinning shards on two cores would leave the clients no CPU
      only = {"w1-latency", "w2-throughput", "w3-fanout5"};
    } else if (m.starts_with("veth")) {
      if (!veth) veth = std::make_unique<veth_pair>();
      sm.veth = veth.get();
      sm.shards = 1;  // veth has no ntuple steering (bench/README.md)
      sm.af_xdp = m == "veth-af_xdp";
      sm.label = sm.af_xdp ? "veth af_xdp" : "veth udp";
      only = {"w1-latency", "w2-throughput", "w3-fanout5"};
    }
    sluice_system sys(o.broker_bin, sm);
    std::string err = sm.veth && !veth->ok() ? "network namespaces: " + veth->error() : sys.start();
    if (err.empty()) rep.disk_refusal = sys.disk_refusal();
    if (err.empty() && sm.af_xdp) rep.af_xdp_note = "broker log: " + sys.datapath_log();
    run_all(sys, err, scenarios, rep, only);
    sys.stop();
  }
  veth.reset();
  const bool any_durable = std::any_of(scenarios.begin(), scenarios.end(), [](const scenario& s) { return s.durable; });
  if (any_durable && !o.smoke && !stop_requested()) {
    std::fprintf(stderr, "sluice-bench: disk floor: 4 KiB O_DIRECT write + fdatasync, 500 times\n");
    rep.disk_floor = measure_disk_floor(500);
  }
  for (const auto& p : peers) {
    if (stop_requested()) break;
    if (p == "udp-floor") {
      udp_floor_system sys(o.self_bin);
      run_all(sys, sys.start(), scenarios, rep, {});
    } else if (p == "nats-core" || p == "nats-jetstream") {
      nats_server server;
      const std::string err = server.start();
      nats_system sys(server, p == "nats-jetstream");
      run_all(sys, err, scenarios, rep, {});
    } else if (p == "redis-streams") {
      for (const bool durable : {false, true}) {
        redis_system sys(durable);
        run_all(sys, sys.start(), scenarios, rep, {});
      }
    }
  }
  rep.finished_utc = utc_now();

  std::string out = o.out_dir;
  if (out.empty() && o.compare) {
    // A second compare on the same day gets a folder of its own: the
    // default must never overwrite a report (perhaps a committed one).
    const std::string base =
        (std::filesystem::exists("bench/results") ? "bench/results/" : "sluice-bench-results/") + today();
    out = base;
    for (int n = 2; std::filesystem::exists(out + "/report.md"); ++n) out = base + "-" + std::to_string(n);
  }
  if (!out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) {
      std::fprintf(stderr, "sluice-bench: cannot create %s: %s\n", out.c_str(), ec.message().c_str());
      return 2;
    }
    write_report(rep, out);
    std::fprintf(stderr, "sluice-bench: report in %s/report.md\n", out.c_str());
  }
  print_summary(rep);
  bool ok = !stop_requested();
  for (const auto& r : rep.results) {
    if (r.system.starts_with("sluice") && r.skipped.empty() && !r.failure.empty()) ok = false;
  }
  return ok ? 0 : 1;
}

}  // namespace sluice::bench
