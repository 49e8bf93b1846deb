// sluice-control: the control plane process of one Sluice node.
//
// Reads the node's TOML config (the same file as sluice-broker's), keeps a
// channel to the local broker (either may start first, either may restart:
// it reconnects and pushes the domains and the partition map again), serves
// the operator socket for sluicectl, and exposes Prometheus metrics.
// Stops on SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "control/control_node.h"
#include "control/metrics_server.h"
#include "control/operator_server.h"
#include "datapath/broker/config.h"

int main(int argc, char** argv) {
  using namespace sluice;
  CLI::App cli{"sluice-control: the control plane of a Sluice node (operator socket, membership, metrics)"};
  std::string config_path;
  std::string level = "info";
  cli.add_option("-c,--config", config_path, "the node's TOML config (default: the embedded default config)");
  cli.add_option("--log-level", level, "trace, debug, info, warn, error, critical, off");
  CLI11_PARSE(cli, argc, argv);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ sluice-control: %v");
  spdlog::set_level(spdlog::level::from_str(level));

  std::string text = broker::k_default_config;
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (!in) {
      spdlog::critical("{}: cannot open the config file", config_path);
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::string err;
  auto cfg = broker::parse_config(text, config_path.empty() ? "embedded default" : config_path, err);
  if (!cfg) {
    spdlog::critical("bad config: {}", err);
    return 2;
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  control::control_node node(config_path, text, *cfg);
  control::operator_server ops(cfg->control.operator_socket, cfg->control.allowed_uids, cfg->control.allowed_gids,
                               [&node](const nlohmann::json& req) { return node.handle(req); });
  if (!ops.start(err)) {
    spdlog::critical("{}", err);
    return 1;
  }
  std::unique_ptr<control::metrics_server> metrics;
  if (!cfg->control.metrics_listen.empty()) {
    metrics = std::make_unique<control::metrics_server>(node, cfg->control.metrics_listen);
    if (!metrics->start(err)) {
      spdlog::critical("{}", err);
      return 1;
    }
  }
  node.start();
  spdlog::info("node {}: operator socket {}, broker channel {}, metrics {}", cfg->node_id,
               cfg->control.operator_socket, cfg->control.broker_socket,
               cfg->control.metrics_listen.empty() ? std::string("off") : "http://" + cfg->control.metrics_listen + "/metrics");
  if (cfg->cluster.membership == broker::membership_kind::etcd) {
    std::string eps;
    for (const auto& e : cfg->cluster.etcd_endpoints) eps += (eps.empty() ? "" : ", ") + e;
    spdlog::info("membership: etcd ({}), cluster \"{}\", lease TTL {} ms", eps, cfg->cluster.name,
                 cfg->cluster.lease_ttl_ms);
  } else {
    spdlog::info("membership: static (single node)");
  }
  std::printf("sluice-control: ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("{}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (metrics) metrics->stop();
  ops.stop();
  node.stop();
  std::printf("sluice-control: stopped\n");
  return 0;
}
