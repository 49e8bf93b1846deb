// bench/sluice_bench.cc — sluice-bench's command line.
//
//   sluice-bench smoke ...     1 -> 1 against a broker you started (smoke.h)
//   sluice-bench run ...       named scenarios against a broker it starts itself
//   sluice-bench run --smoke   the CI check: every scenario for about a second, no peers
//   sluice-bench compare ...   every scenario against Sluice (several modes), a raw
//                              UDP forwarder, NATS and Redis; writes a report
//   sluice-bench udp-forwarder the forwarder process (started by compare)
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "bench/runner.h"
#include "bench/smoke.h"
#include "bench/udp_floor.h"

namespace {

extern "C" void on_runner_signal(int) { sluice::bench::request_stop(); }

std::string default_broker_bin() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "sluice-broker";
  return (self.parent_path().parent_path() / "datapath" / "broker" / "sluice-broker").string();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice-bench: end-to-end scenarios for sluice-broker, its baselines and peers"};
  app.require_subcommand(1);

  sluice::smoke_options so;
  auto* smoke = app.add_subcommand(
      "smoke", "1 producer -> 1 consumer, 64-byte messages, closed loop with an in-flight window, against a broker "
               "you started; two threads of this process, each with its own client. Fails (exit 1) on any loss, "
               "duplicate or failed ACK.");
  smoke->add_option("--broker", so.broker, "address of any broker shard, IP:PORT")->capture_default_str();
  smoke->add_option("--uri", so.uri, "queue to use (a priority domain)")->capture_default_str();
  smoke->add_option("--window", so.window, "messages sent and not yet received, at most")
      ->capture_default_str()
      ->check(CLI::Range(1u, 8192u));
  smoke->add_option("--seconds", so.seconds, "measured duration")->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  smoke->add_option("--warmup", so.warmup, "seconds run first and excluded from the figures")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  smoke->add_flag("--json", so.json, "print the summary as one JSON object on stdout");

  sluice::bench::runner_options ro;
  ro.broker_bin = default_broker_bin();
  ro.self_bin = std::filesystem::read_symlink("/proc/self/exe").string();
  const auto add_common = [&](CLI::App* sub) {
    sub->add_option("--scenario", ro.scenarios, "scenario names to run (default: all)");
    sub->add_option("--seconds", ro.seconds, "measured seconds per scenario (default 5)");
    sub->add_option("--warmup", ro.warmup, "warm-up seconds per scenario, excluded (default 1)");
    sub->add_option("--broker-bin", ro.broker_bin, "the sluice-broker binary")->capture_default_str();
    sub->add_option("--out", ro.out_dir, "write report.md, results.jsonl and plots here");
  };
  auto* run = app.add_subcommand("run", "run scenarios against Sluice only (a broker it starts and stops)");
  add_common(run);
  run->add_option("--mode", ro.modes, "udp-adaptive (default), udp-busy, veth-udp, veth-af_xdp");
  run->add_flag("--smoke", ro.smoke, "about a second per scenario, rates capped, correctness only (CI)");
  run->add_option("--shards", ro.shards, "broker shards in the loopback modes")->capture_default_str();
  run->add_option("--client-linger-us", ro.client_linger_us,
                  "the Sluice clients' coalescing bound (client_config::linger_ns); default: the library's, 20");
  auto* compare = app.add_subcommand(
      "compare", "every scenario against Sluice (udp adaptive, udp busy, veth udp, veth af_xdp), the raw UDP "
                 "forwarder, NATS core, NATS JetStream and Redis Streams; writes the report and plots");
  add_common(compare);
  compare->add_option("--mode", ro.modes, "Sluice modes (default: all four)");
  compare->add_option("--peer", ro.peers, "peers (default: udp-floor nats-core nats-jetstream redis-streams)");
  compare->add_option("--shards", ro.shards, "broker shards in the loopback modes")->capture_default_str();
  compare->add_option("--client-linger-us", ro.client_linger_us,
                      "the Sluice clients' coalescing bound (client_config::linger_ns); default: the library's, 20");
  std::uint16_t fwd_port = 0;
  auto* fwd = app.add_subcommand("udp-forwarder", "the raw UDP forwarder process (started by compare)");
  fwd->add_option("--port", fwd_port, "UDP port on 127.0.0.1")->required();
  CLI11_PARSE(app, argc, argv);

  if (smoke->parsed()) return sluice::run_smoke(so);
  if (fwd->parsed()) return sluice::bench::run_udp_forwarder(fwd_port);
  struct sigaction sa {};
  sa.sa_handler = on_runner_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  ro.compare = compare->parsed();
  return sluice::bench::run_runner(ro);
}
