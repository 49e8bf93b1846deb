// `sluice pub`: publish messages and report their ACKs.
//
// Messages come from the MESSAGE arguments, then each --file, then stdin
// lines (stdin is read when asked with --stdin or when nothing else is
// given). Without --count each message goes once and stdin is streamed, so
// `tail -f log | sluice pub q` works; with --count the whole set is loaded
// first (stdin up to EOF, before connecting) and cycled. Posts are paced by
// their intended send time (start + i / rate), so a stall is caught up
// rather than stretching the run. One thread; callbacks run inside poll().
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <span>
#include <sstream>

#include "datapath/wire/properties.h"
#include "tools/sluice_cli_common.h"

namespace sluice::cli {

namespace {

constexpr const char* k_cmd = "sluice pub";
constexpr std::uint64_t k_failures_shown = 20;  // failed ACKs printed one by one (human output)

// The messages to publish, in order; stdin is read without blocking the
// caller for longer than it asks.
class message_source {
 public:
  enum class state : std::uint8_t { ready, waiting, end };

  // Loads the arguments and files (and stdin, when it must be cycled).
  // Returns an error text, empty on success.
  std::string load(const pub_options& o) {
    _limit = o.count;
    _set = o.messages;
    for (const auto& path : o.files) {
      std::ifstream f(path, std::ios::binary);
      if (!f) return "cannot read --file '" + path + "': " + std::strerror(errno);
      std::ostringstream ss;
      ss << f.rdbuf();
      _set.push_back(std::move(ss).str());
    }
    const bool use_stdin = o.from_stdin || (o.messages.empty() && o.files.empty());
    _streaming = use_stdin && _limit == 0;
    if (use_stdin && _limit > 0) {
      while (!_eof) {
        if (signals_received() > 0) return "interrupted while reading stdin";
        fill(-1);
      }
      while (!_lines.empty()) {
        _set.push_back(std::move(_lines.front()));
        _lines.pop_front();
      }
    }
    if (_limit > 0 && _set.empty()) return "--count needs at least one message (arguments, --file or stdin)";
    return {};
  }

  // The next message in `msg` (valid until advance()), or waiting (stdin
  // has no complete line yet), or end.
  state peek(std::string_view& msg) const {
    if (_limit > 0) {
      if (_next >= _limit) return state::end;
      msg = _set[static_cast<std::size_t>(_next % _set.size())];
      return state::ready;
    }
    if (_next < _set.size()) {
      msg = _set[static_cast<std::size_t>(_next)];
      return state::ready;
    }
    if (!_lines.empty()) {
      msg = _lines.front();
      return state::ready;
    }
    return _streaming && !_eof ? state::waiting : state::end;
  }

  void advance() {
    if (_limit == 0 && _next >= _set.size()) {
      _lines.pop_front();
    } else {
      ++_next;
    }
  }

  // Waits up to `wait_ms` (-1 = forever) for stdin and reads what is there.
  void fill(int wait_ms) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return;  // nothing yet, or EINTR
    char buf[64 * 1024];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return;
      std::fprintf(stderr, "%s: reading stdin: %s\n", k_cmd, std::strerror(errno));
      mark_eof();
      return;
    }
    if (n == 0) return mark_eof();
    _partial.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = _partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      _lines.emplace_back(_partial, start, nl - start);
    }
    _partial.erase(0, start);
  }

 private:
  void mark_eof() {
    _eof = true;
    if (!_partial.empty()) _lines.push_back(std::move(_partial));  // a last line without '\n'
    _partial.clear();
  }

  std::vector<std::string> _set;
  std::deque<std::string> _lines;  // stdin lines read and not yet published
  std::string _partial;            // stdin bytes after the last '\n'
  std::uint64_t _limit = 0;        // --count; 0 = each message once
  std::uint64_t _next = 0;         // index into the (cycled) set
  bool _streaming = false;
  bool _eof = false;
};

// Builds the properties block from --property / --property-int. Returns an
// error text, empty on success.
std::string build_properties(const pub_options& o, std::span<std::byte> buf, wire::bytes& out) {
  wire::property_writer w(buf);
  const auto split = [](const std::string& kv, std::string_view& k, std::string_view& v) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    k = std::string_view(kv).substr(0, eq);
    v = std::string_view(kv).substr(eq + 1);
    return true;
  };
  const auto why = [](wire::errc e) -> std::string {
    if (e == wire::errc::bad_field) return "duplicate key";
    if (e == wire::errc::too_large || e == wire::errc::no_space) {
      return "over a limit (key 1..64 bytes, at most 32 properties, 4096 bytes in all)";
    }
    return wire::errc_name(e);
  };
  std::string_view k;
  std::string_view v;
  for (const auto& kv : o.properties) {
    if (!split(kv, k, v)) return "--property '" + kv + "': expected key=value";
    if (auto st = w.add_string(k, v); !st) return "--property '" + kv + "': " + why(st.error());
  }
  for (const auto& kv : o.int_properties) {
    std::int64_t n = 0;
    if (!split(kv, k, v)) return "--property-int '" + kv + "': expected key=N";
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size()) {
      return "--property-int '" + kv + "': '" + std::string(v) + "' is not a 64-bit integer";
    }
    if (auto st = w.add_int64(k, n); !st) return "--property-int '" + kv + "': " + why(st.error());
  }
  out = w.finish();
  return {};
}

struct pub_stats {
  std::uint64_t posted = 0;    // accepted by post()
  std::uint64_t rejected = 0;  // refused locally (too large), never sent
  std::uint64_t acked_ok = 0;
  std::uint64_t ack_failed = 0;
  std::map<wire::status, std::uint64_t> failed_by;  // ACK failures and local rejections
  time_ns first_post_ns = 0;
  time_ns last_ack_ns = 0;

  std::uint64_t acks() const { return acked_ok + ack_failed; }
};

void print_summary(const pub_options& o, const pub_stats& s, std::uint64_t unacked) {
  const double secs = static_cast<double>(s.last_ack_ns - s.first_post_ns) / 1e9;
  const double rate = secs > 0 ? static_cast<double>(s.acked_ok) / secs : 0.0;
  const std::uint64_t failed = s.ack_failed + s.rejected;
  if (o.json) {
    nlohmann::ordered_json j;
    j["summary"] = "pub";
    j["queue"] = o.uri;
    j["published"] = s.posted + s.rejected;
    j["acked_ok"] = s.acked_ok;
    j["failed"] = failed;
    auto by = nlohmann::ordered_json::object();
    for (const auto& [st, n] : s.failed_by) by[wire::status_name(st)] = n;
    j["failed_by_status"] = by;
    j["unacked"] = unacked;
    j["msgs_per_s"] = std::llround(rate);
    std::printf("%s\n", json_line(j).c_str());
    return;
  }
  std::string by;
  for (const auto& [st, n] : s.failed_by) {
    by += by.empty() ? " (" : ", ";
    by += std::string(wire::status_name(st)) + ": " + std::to_string(n);
  }
  if (!by.empty()) by += ")";
  std::string unacked_text;
  if (unacked > 0) unacked_text = ", " + std::to_string(unacked) + " unacknowledged";
  const std::uint64_t published = s.posted + s.rejected;
  std::printf("published %" PRIu64 " message%s, %" PRIu64 " acked ok, %" PRIu64 " failed%s%s, %.0f msg/s\n",
              published, published == 1 ? "" : "s", s.acked_ok, failed, by.c_str(), unacked_text.c_str(), rate);
}

}  // namespace

int run_pub(const pub_options& o) {
  std::array<std::byte, wire::k_properties_sz_max> prop_buf{};
  wire::bytes props;
  if (auto err = build_properties(o, prop_buf, props); !err.empty()) {
    std::fprintf(stderr, "%s: %s\n", k_cmd, err.c_str());
    return k_exit_usage;
  }
  message_source src;
  if (auto err = src.load(o); !err.empty()) {
    std::fprintf(stderr, "%s: %s\n", k_cmd, err.c_str());
    return signals_received() > 0 ? k_exit_interrupted : k_exit_usage;
  }

  auto c = connect_or_report(k_cmd, o.broker);
  if (!c) return k_exit_failed;
  const auto q = c->open_queue(o.uri, {.write = true});
  if (!q) {
    report_open_failure(k_cmd, o.uri, o.broker, q.error());
    return k_exit_failed;
  }

  pub_stats s;
  c->on_ack([&](const client::ack& a) {
    s.last_ack_ns = monotonic_now_ns();
    if (a.status == wire::status::ok) {
      ++s.acked_ok;
    } else {
      ++s.ack_failed;
      ++s.failed_by[a.status];
      if (!o.json && s.ack_failed <= k_failures_shown) {
        std::fprintf(stderr, "%s: message corr_id %" PRIu32 " failed: %s%s\n", k_cmd, a.corr_id,
                     wire::status_name(a.status),
                     s.ack_failed == k_failures_shown ? " (further failures are only counted in the summary)" : "");
      }
    }
    if (o.json) {
      nlohmann::ordered_json j;
      j["corr_id"] = a.corr_id;
      j["status"] = wire::status_name(a.status);
      j["guid"] = guid_text(a.guid);
      std::printf("%s\n", json_line(j).c_str());
    }
  });

  // Below one message an hour is treated as one an hour (keeps the schedule in range).
  const time_ns interval_ns = o.rate > 0 ? static_cast<time_ns>(std::min(1e9 / o.rate, 3600e9)) : 0;
  std::uint64_t attempt = 0;  // messages taken from the source: posted or rejected
  bool lost = false;
  while (signals_received() == 0) {
    std::string_view msg;
    const auto st = src.peek(msg);
    if (st == message_source::state::end) break;
    if (st == message_source::state::waiting) {
      c->poll(0);
      src.fill(1);
      continue;
    }
    const time_ns now = monotonic_now_ns();
    if (s.first_post_ns == 0) s.first_post_ns = now;
    if (interval_ns > 0) {
      const time_ns intended = s.first_post_ns + static_cast<time_ns>(attempt) * interval_ns;
      if (now < intended) {
        c->poll(std::min(intended - now, 1 * k_ns_per_ms));
        continue;
      }
    }
    const auto r = c->post(*q, wire::as_bytes(msg), props);
    if (r) {
      ++s.posted;
      ++attempt;
      src.advance();
      if (s.posted % 64 == 0) c->poll(0);  // let ACK callbacks run while the window is open
      continue;
    }
    const client::error e = r.error();
    if (e.code == client::errc::would_block) {
      c->poll(1 * k_ns_per_ms);
      continue;
    }
    if (e.code == client::errc::too_large) {
      ++s.rejected;
      ++s.failed_by[wire::status::too_large];
      if (o.json) {
        nlohmann::ordered_json j;
        j["corr_id"] = nullptr;
        j["status"] = "too_large";
        j["guid"] = nullptr;
        j["error"] = "not sent: " + client::describe(e) + " (" + std::to_string(msg.size()) + " bytes)";
        std::printf("%s\n", json_line(j).c_str());
      } else {
        std::fprintf(stderr, "%s: message %" PRIu64 " (%zu bytes) not sent: %s\n", k_cmd, attempt + 1, msg.size(),
                     client::describe(e).c_str());
      }
      ++attempt;
      src.advance();
      continue;
    }
    std::fprintf(stderr, "%s: cannot publish to '%s': %s\n", k_cmd, o.uri.c_str(), client::describe(e).c_str());
    lost = true;
    break;
  }
  const bool interrupted = signals_received() > 0;

  // Wait for the outstanding ACKs; a second signal stops waiting. When the
  // session ends every outstanding post completes with its end reason.
  const time_ns deadline = monotonic_now_ns() + static_cast<time_ns>(o.timeout_s * 1e9);
  while (s.acks() < s.posted && monotonic_now_ns() < deadline && signals_received() < 2) {
    c->poll(1 * k_ns_per_ms);
  }
  const std::uint64_t unacked = s.posted - s.acks();
  if (unacked > 0) {
    std::fprintf(stderr, "%s: %" PRIu64 " messages not acknowledged after waiting %.1f s (--timeout)\n", k_cmd,
                 unacked, o.timeout_s);
  }
  if (!c->connected()) std::fprintf(stderr, "%s: the session to broker %s ended\n", k_cmd, o.broker.c_str());
  if (interrupted) std::fprintf(stderr, "%s: interrupted\n", k_cmd);
  print_summary(o, s, unacked);
  std::fflush(stdout);
  if (lost || s.ack_failed + s.rejected > 0 || unacked > 0) return k_exit_failed;
  return interrupted ? k_exit_interrupted : k_exit_ok;
}

}  // namespace sluice::cli
