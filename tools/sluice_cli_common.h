// tools/sluice_cli_common.h — shared pieces of the `sluice` command-line tool.
//
// The tool is single-threaded (but for a notice printed while a connect
// waits for an answer): main() parses the arguments (sluice_cli.cc)
// and runs one subcommand (run_pub in sluice_cli_pub.cc, run_sub for both
// `sub` and `peek` in sluice_cli_sub.cc), which drives its client with
// poll() in a loop. This header holds what they share: the option structs,
// exit codes, SIGINT/SIGTERM handling, connecting with a message a person can
// act on, and rendering GUIDs, properties and payloads as text or JSON.
#pragma once

#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/client.h"

namespace sluice::cli {

// Exit codes shared by every subcommand (README.md lists them).
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;       // broker unreachable, refused, failed ACKs, I/O error
inline constexpr int k_exit_usage = 2;        // bad arguments
inline constexpr int k_exit_timeout = 3;      // sub: nothing arrived within --timeout
inline constexpr int k_exit_interrupted = 130;

struct pub_options {
  std::string broker = "127.0.0.1:7600";
  std::string uri;
  std::vector<std::string> messages;  // positional MESSAGE arguments
  std::vector<std::string> files;     // --file: one message per file
  bool from_stdin = false;            // --stdin (also implied when no message is given)
  std::uint64_t count = 0;            // 0 = the message set once
  double rate = 0;                    // msgs/s; 0 = as fast as the window allows
  std::vector<std::string> properties;      // key=value, string
  std::vector<std::string> int_properties;  // key=N, int64
  double timeout_s = 10;              // wait for outstanding ACKs at the end
  bool json = false;
};

struct sub_options {
  bool peek = false;  // `sluice peek`: never confirm, close to hand messages back
  std::string broker = "127.0.0.1:7600";
  std::string uri;
  std::string app_id;
  std::uint64_t count = 0;  // sub: 0 = until SIGINT/SIGTERM; peek: at least 1
  std::int32_t priority = 0;
  std::uint32_t credit = 256;
  bool no_confirm = false;
  std::string output;       // empty = stdout
  double timeout_s = 0;     // sub: exit 3 after this long without a message (0 = never);
                            // peek: stop (exit 0) after this long without a message
  bool json = false;
  bool verbose = false;
};

int run_pub(const pub_options& o);
int run_sub(const sub_options& o);

// ---- signals ---------------------------------------------------------------------
// Installs SIGINT/SIGTERM handlers that count signals (no SA_RESTART, so a
// blocking read returns EINTR) and ignores SIGPIPE (a closed output pipe is
// seen as a write error instead). Call once from main().
void install_signal_handlers();
// Signals received so far: 1 = stop gracefully, 2 or more = stop waiting too.
int signals_received() noexcept;

// ---- connecting ------------------------------------------------------------------
// Connects to `broker`; on failure prints "<cmd>: cannot connect to broker
// ADDR: <reason>" plus a hint to stderr and returns null.
std::unique_ptr<client::client> connect_or_report(const char* cmd, const std::string& broker);
// Prints "<cmd>: cannot open queue 'URI' on ADDR: <reason>" plus a hint for
// the broker's status (unknown_domain, invalid_argument, ...) to stderr.
void report_open_failure(const char* cmd, const std::string& uri, const std::string& broker,
                         const client::error& e);

// ---- rendering -------------------------------------------------------------------
// "<node>:<partition>:<seq>", the GUID's text form in every output.
std::string guid_text(const wire::guid& g);
// {key: value}: integers as numbers, booleans as booleans, strings as
// strings, binary values as lowercase hex strings. `block` must be valid.
nlohmann::ordered_json properties_json(wire::bytes block);
// `k="v", n=3, b=true, raw=0x00ff` for --verbose; empty when there are none.
std::string properties_text(wire::bytes block);
// One JSON line without a trailing newline. Invalid UTF-8 in strings (binary
// payloads) becomes U+FFFD rather than an exception.
std::string json_line(const nlohmann::ordered_json& j);

}  // namespace sluice::cli
