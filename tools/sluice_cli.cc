// tools/sluice_cli.cc — `sluice`: the command-line client for a Sluice broker.
//
//   sluice pub  URI [MESSAGE...]   publish (arguments, --file, or stdin lines); report ACKs
//   sluice sub  URI                consume and confirm; print payloads (or --json)
//   sluice peek URI                show up to --count messages and hand them back
//
// This file parses the arguments (CLI11) and hands over to run_pub / run_sub
// (sluice_cli_pub.cc, sluice_cli_sub.cc). One thread; see README.md for
// examples and the exit codes.
#include <CLI/CLI.hpp>

#include "tools/cli_suggest.h"
#include "tools/sluice_cli_common.h"

namespace {

using namespace sluice::cli;

void add_broker(CLI::App* cmd, std::string& broker) {
  cmd->add_option("--broker", broker, "address of any broker shard, IP:PORT")->capture_default_str();
}

CLI::App* add_pub(CLI::App& app, pub_options& o) {
  auto* cmd = app.add_subcommand("pub", "Publish messages to a queue and report their ACKs.");
  cmd->add_option("uri", o.uri, "queue URI domain/name, e.g. prio/orders")->required();
  cmd->add_option("message", o.messages,
                  "messages to publish, one per argument; with none (and no --file) stdin lines are read. "
                  "If any message starts with '-', put -- before the first message")
      // Takes every message after `--`. (CLI11 2.1 ends the subcommand at a
      // `--` that comes after some messages, hence "before the first".)
      ->allow_extra_args(true);
  cmd->add_flag("--stdin", o.from_stdin, "also publish stdin, one message per line (after arguments and files)");
  cmd->add_option("--file", o.files, "publish the whole content of PATH as one message (repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->add_option("--count", o.count,
                  "publish N messages in all, cycling through the message set (0 = each message once; "
                  "stdin is then read to EOF first)");
  cmd->add_option("--rate", o.rate,
                  "messages per second, paced by intended send time (0 = as fast as the send window allows)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--property", o.properties, "string property key=value on every message (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--property-int", o.int_properties, "64-bit integer property key=N (repeatable)")
      ->allow_extra_args(false);
  add_broker(cmd, o.broker);
  cmd->add_option("--timeout", o.timeout_s, "seconds to wait for outstanding ACKs at the end")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_flag("--json", o.json,
                "one JSON object per ACK {corr_id, status, guid}, then a summary object {summary: \"pub\", ...}");
  return cmd;
}

CLI::App* add_sub(CLI::App& app, sub_options& o) {
  auto* cmd = app.add_subcommand(
      "sub", "Consume messages from a queue: print each payload, then confirm it. Ends after --count messages, "
             "on SIGINT/SIGTERM, or (status 3) after --timeout seconds without a message.");
  cmd->add_option("uri", o.uri, "queue URI domain/name, e.g. prio/orders")->required();
  cmd->add_option("--app-id", o.app_id, "the app id to consume as (fanout domains only)");
  cmd->add_option("--count", o.count, "exit after N messages (0 = until SIGINT/SIGTERM)");
  cmd->add_option("--priority", o.priority, "consumer priority: higher ones get messages first")
      ->capture_default_str();
  cmd->add_option("--credit", o.credit, "messages held unconfirmed at most (the broker's push window)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 20));
  cmd->add_flag("--no-confirm", o.no_confirm,
                "never confirm: messages stay held and return to the queue (delivery count +1) when sub exits; "
                "at most --credit messages arrive");
  cmd->add_option("--output", o.output, "write to PATH (truncated) instead of stdout");
  cmd->add_option("--timeout", o.timeout_s, "exit with status 3 after S seconds without a message (0 = wait forever)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_flag("--json", o.json,
                "one JSON object per message: queue, guid, delivery_cnt, payload (a string; invalid UTF-8 "
                "becomes U+FFFD), properties (binary values as hex)");
  cmd->add_flag("-v,--verbose", o.verbose, "prefix each payload with its guid, delivery count and properties");
  add_broker(cmd, o.broker);
  return cmd;
}

CLI::App* add_peek(CLI::App& app, sub_options& o) {
  o.peek = true;
  o.count = 10;
  o.timeout_s = 1;
  auto* cmd = app.add_subcommand(
      "peek",
      "Show up to --count messages without consuming them. peek opens the queue for reading with credit N, "
      "never confirms, and closes it when done, which hands the messages back to the queue: the broker counts "
      "that as a delivery, so their delivery count rises by one, and other consumers of the queue cannot get "
      "them while peek holds them. On a broadcast queue only messages arriving while peek runs are shown.");
  cmd->add_option("uri", o.uri, "queue URI domain/name, e.g. prio/orders")->required();
  cmd->add_option("--count", o.count, "show at most N messages")->capture_default_str()->check(CLI::Range(1u, 65536u));
  cmd->add_option("--timeout", o.timeout_s, "stop after S seconds without a further message")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 86400.0));
  cmd->add_option("--app-id", o.app_id, "the app id to look as (fanout domains only)");
  cmd->add_flag("--json", o.json, "one JSON object per message, as for sub --json");
  cmd->add_flag("-v,--verbose", o.verbose, "prefix each payload with its guid, delivery count and properties");
  add_broker(cmd, o.broker);
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice: publish, consume and peek at messages on a Sluice broker"};
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 ok; 1 broker unreachable, request refused, a failed or missing ACK, or an I/O error; "
      "2 bad arguments; 3 sub --timeout passed without a message; 130 interrupted before finishing.");
  pub_options pub_o;
  sub_options sub_o;
  sub_options peek_o;
  auto* pub = add_pub(app, pub_o);
  auto* sub = add_sub(app, sub_o);
  auto* peek = add_peek(app, peek_o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && report_unknown_command("sluice", app, argc, argv, {})) return k_exit_usage;
    return app.exit(e) == 0 ? k_exit_ok : k_exit_usage;
  }
  install_signal_handlers();
  if (pub->parsed()) return run_pub(pub_o);
  if (sub->parsed()) return run_sub(sub_o);
  if (peek->parsed()) return run_sub(peek_o);
  return k_exit_usage;
}
