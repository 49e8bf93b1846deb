// tools/sluicectl.cc — sluicectl: the operator's command line for a Sluice
// node. Talks to sluice-control over its operator socket (one JSON request
// per line; docs/control.md) and renders the replies as tables, or prints
// them as JSON with --json. Also inspects journals offline
// (`sluicectl journal verify|dump PATH`).
//
// Exit status: 0 ok; 1 the request was refused or failed (the reason is on
// stderr); 2 bad arguments; 3 sluice-control not reachable.
#include "tools/sluicectl.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "common/unix_socket.h"
#include "datapath/broker/config.h"
#include "tools/cli_suggest.h"

namespace sluicectl {

json request(const std::string& socket, const json& req) {
  std::string err;
  const int fd = sluice::connect_unix(socket, err);
  if (fd < 0) return json{{"ok", false}, {"unreachable", true}, {"error", "sluice-control not reachable: " + err}};
  json reply;
  std::string buf, line;
  // A refusal (say, uid not allowed) may arrive before the request is sent:
  // read the reply whether or not the send succeeded.
  const bool sent = sluice::send_all(fd, req.dump() + "\n");
  if (!sluice::read_line(fd, buf, line, sent ? 10000 : 1000)) {
    reply = json{{"ok", false}, {"error", "no reply from sluice-control on " + socket}};
  } else {
    try {
      reply = json::parse(line);
    } catch (const json::exception& e) {
      reply = json{{"ok", false}, {"error", std::string("malformed reply: ") + e.what()}};
    }
  }
  ::close(fd);
  return reply;
}

}  // namespace sluicectl

namespace {

using sluicectl::json;

int finish(const std::string& cmd, const json& reply, bool as_json) {
  if (as_json) {
    std::cout << reply.dump(2) << "\n";
  } else if (reply.value("ok", false)) {
    sluicectl::print_human(cmd, reply);
  }
  if (!reply.value("ok", false)) {
    std::fprintf(stderr, "sluicectl: %s\n", reply.value("error", std::string("request failed")).c_str());
    return reply.value("unreachable", false) ? 3 : 1;
  }
  return 0;
}

std::string socket_from(const std::string& socket, const std::string& config) {
  if (!socket.empty()) return socket;
  if (const char* env = std::getenv("SLUICE_CONTROL_SOCKET")) return env;
  if (!config.empty()) {
    std::string err;
    if (const auto cfg = sluice::broker::load_config_file(config, err)) return cfg->control.operator_socket;
    std::fprintf(stderr, "sluicectl: %s\n", err.c_str());
    std::exit(2);
  }
  return sluice::broker::control_config{}.operator_socket;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluicectl: operate a Sluice node through sluice-control"};
  app.require_subcommand(1);
  std::string socket, config, uri, level;
  bool as_json = false;
  std::uint64_t session = 0;
  double timeout_s = 60, interval_s = 1;
  int iterations = 0;
  bool cancel = false;
  app.add_option("--socket", socket, "operator socket (default: control.operator_socket of --config, "
                                     "$SLUICE_CONTROL_SOCKET, or /run/sluice/control.sock)");
  app.add_option("-c,--config", config, "node config file to take the operator socket path from");
  app.add_flag("--json", as_json, "print the reply as JSON");

  auto* status = app.add_subcommand("status", "node, uptime, version, broker, shards with load");
  auto* members = app.add_subcommand("members", "cluster members");
  auto* partitions = app.add_subcommand("partitions", "the partition map");
  auto* domains = app.add_subcommand("domains", "domains in effect");
  auto* queues = app.add_subcommand("queues", "queues: list (default), info, purge, delete");
  auto* q_list = queues->add_subcommand("list", "every queue with depth, bytes, consumers, producers, rates");
  auto* q_info = queues->add_subcommand("info", "one queue");
  auto* q_purge = queues->add_subcommand("purge", "discard a queue's undelivered messages");
  auto* q_delete = queues->add_subcommand("delete", "delete a queue nobody has open");
  for (auto* c : {q_info, q_purge, q_delete}) c->add_option("URI", uri, "domain/queue")->required();
  auto* sessions = app.add_subcommand("sessions", "client sessions: list (default), close");
  sessions->add_subcommand("list", "every open session");
  auto* s_close = sessions->add_subcommand("close", "close a session");
  s_close->add_option("ID", session, "session id (from `sessions`)")->required();
  auto* stats = app.add_subcommand("stats", "broker counters per shard (and XDP counters)");
  auto* loglevel = app.add_subcommand("log-level", "set sluice-control's log level");
  loglevel->add_option("LEVEL", level, "trace, debug, info, warn, error, critical, off")->required();
  auto* reload = app.add_subcommand("reload", "re-read the config file; domains change live, a bad file is refused");
  auto* drain = app.add_subcommand("drain", "stop accepting sessions and wait until the queues are empty");
  drain->add_option("--timeout", timeout_s, "seconds to wait for the queues to empty (0 = do not wait)");
  drain->add_flag("--cancel", cancel, "accept sessions again");
  auto* top = app.add_subcommand("top", "live view of rates, depths and shard load");
  top->add_option("--interval", interval_s, "seconds between refreshes")->check(CLI::Range(0.1, 60.0));
  top->add_option("--iterations", iterations, "stop after N refreshes (0 = until interrupted)");
  auto* journal = app.add_subcommand("journal", "inspect a shard's journal directory offline");
  journal->require_subcommand(1);
  std::string path;
  bool jdetails = false;
  auto* verify_cmd = journal->add_subcommand("verify", "check every record; counts, live messages, first bad offset");
  auto* dump_cmd = journal->add_subcommand("dump", "verify, plus every segment and live message");
  for (auto* c : {verify_cmd, dump_cmd}) {
    c->add_option("PATH", path, "journal directory")->required();
    c->add_flag("--json", as_json, "print JSON");
  }
  dump_cmd->callback([&] { jdetails = true; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && sluice::cli::report_unknown_command("sluicectl", app, argc, argv,
                                                                       {"--socket", "-c", "--config"})) {
      return 2;
    }
    // --help is a "parse error" that exits 0; everything else is exit 2.
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (*journal) return sluicectl::run_journal_command(path, jdetails, as_json);
  const std::string sock = socket_from(socket, config);
  if (*top) return sluicectl::run_top(sock, interval_s, iterations);
  const auto ask = [&](const std::string& cmd, json req) {
    req["cmd"] = cmd;
    return finish(cmd, sluicectl::request(sock, req), as_json);
  };
  if (*status) return ask("status", json::object());
  if (*members) return ask("members", json::object());
  if (*partitions) return ask("partitions", json::object());
  if (*domains) return ask("domains", json::object());
  if (*queues) {
    if (*q_info) return ask("queue_info", json{{"uri", uri}});
    if (*q_purge) return ask("queue_purge", json{{"uri", uri}});
    if (*q_delete) return ask("queue_delete", json{{"uri", uri}});
    (void)q_list;
    return ask("queues", json::object());
  }
  if (*sessions) {
    if (*s_close) return ask("session_close", json{{"session", session}});
    return ask("sessions", json::object());
  }
  if (*stats) return ask("stats", json::object());
  if (*loglevel) return ask("log_level", json{{"level", level}});
  if (*reload) return ask("reload", json::object());
  if (*drain) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      const json r = sluicectl::request(sock, json{{"cmd", "drain"}, {"on", !cancel}});
      if (!r.value("ok", false) || cancel || r.value("done", false) || timeout_s <= 0 ||
          std::chrono::steady_clock::now() > deadline) {
        const int rc = finish("drain", r, as_json);
        if (rc == 0 && !cancel && !r.value("done", false) && timeout_s > 0) {
          std::fprintf(stderr, "sluicectl: drain: %llu messages still queued after %.0f s\n",
                       static_cast<unsigned long long>(r.value("messages_left", std::uint64_t{0})), timeout_s);
          return 1;
        }
        return rc;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  return 2;
}
