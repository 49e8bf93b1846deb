// `sluice sub` and `sluice peek`: consume, or look at messages and hand them back.
//
// Both open the queue for reading and print each message as it arrives
// (inside poll(), from the message callback). `sub` confirms a message only
// after its output has been flushed, from the main loop rather than the
// callback, so that:
//   - with --count N it never lets the broker push more than N: confirms are
//     held back once confirmed + credit would exceed N (the broker pushes at
//     most confirmed + credit), and at the end the consumer is paused
//     (credit 0) before the last confirms go out;
//   - on SIGINT/SIGTERM the same pause-confirm-close order hands nothing
//     unprinted to this consumer and leaves nothing it printed unconfirmed.
// `peek` opens with credit N, never confirms, and closes the queue, which
// returns the messages (the broker raises their delivery count).
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>

#include "tools/sluice_cli_common.h"

namespace sluice::cli {

namespace {

struct sub_state {
  std::deque<wire::guid> to_confirm;  // printed and flushed or about to be; not confirmed yet
  std::uint64_t handled = 0;
  std::uint64_t redelivered = 0;  // delivery_cnt > 1
  std::uint64_t ignored = 0;      // arrived after --count was reached (left unconfirmed)
  std::uint64_t confirmed = 0;
  time_ns last_msg_ns = 0;
  bool lost = false;              // confirm() found the session gone
};

void write_message(std::FILE* out, const sub_options& o, const client::message& m) {
  if (o.json) {
    nlohmann::ordered_json j;
    j["queue"] = o.uri;
    j["guid"] = guid_text(m.guid);
    j["delivery_cnt"] = m.delivery_cnt;
    j["payload"] = std::string(wire::as_string(m.payload));
    j["properties"] = properties_json(m.properties);
    const std::string line = json_line(j);
    std::fprintf(out, "%s\n", line.c_str());
    return;
  }
  if (o.verbose) {
    const std::string props = properties_text(m.properties);
    std::fprintf(out, "[guid %s, delivery %u%s%s%s] ", guid_text(m.guid).c_str(),
                 static_cast<unsigned>(m.delivery_cnt), props.empty() ? "" : ", {", props.c_str(),
                 props.empty() ? "" : "}");
  }
  std::fwrite(m.payload.data(), 1, m.payload.size(), out);
  std::fputc('\n', out);
}

// True when `out` is a pipe whose reader has gone (`sub | head -n 3`), so
// an idle consumer ends now rather than at its next message.
bool output_closed(std::FILE* out) {
  pollfd p{::fileno(out), 0, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

// Confirms held messages while fewer than `confirmed_max` are confirmed.
// Stops early on would_block (the next poll() makes room).
void confirm_some(client::client& c, client::queue_handle q, sub_state& st, std::uint64_t confirmed_max,
                  const char* cmd) {
  while (!st.to_confirm.empty() && st.confirmed < confirmed_max && !st.lost) {
    const auto r = c.confirm(q, st.to_confirm.front());
    if (!r) {
      if (r.error().code == client::errc::would_block) return;
      std::fprintf(stderr, "%s: cannot confirm: %s\n", cmd, client::describe(r.error()).c_str());
      st.lost = true;
      return;
    }
    st.to_confirm.pop_front();
    ++st.confirmed;
  }
}

}  // namespace

int run_sub(const sub_options& o) {
  const char* cmd = o.peek ? "sluice peek" : "sluice sub";
  std::FILE* out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "%s: cannot open --output '%s': %s\n", cmd, o.output.c_str(), std::strerror(errno));
      return k_exit_failed;
    }
  }
  struct closer {
    std::FILE* f;
    ~closer() {
      if (f != stdout) std::fclose(f);
    }
  } close_out{out};

  auto c = connect_or_report(cmd, o.broker);
  if (!c) return k_exit_failed;

  const std::uint64_t limit = o.count;
  const bool confirming = !o.peek && !o.no_confirm;
  const std::uint32_t credit =
      limit > 0 ? static_cast<std::uint32_t>(std::min<std::uint64_t>(o.credit, limit)) : o.credit;
  // The broker pushes at most confirmed + credit messages: hold confirms back
  // beyond this so that --count N never draws an (N+1)th message.
  const std::uint64_t confirm_budget = limit > 0 ? limit - credit : UINT64_MAX;

  if (o.no_confirm && limit > o.credit) {
    std::fprintf(stderr, "%s: with --no-confirm at most --credit (%" PRIu32 ") messages arrive; --count %" PRIu64
                 " waits for more than that\n", cmd, o.credit, limit);
  }

  sub_state st;
  c->on_message([&](const client::message& m) {
    if (limit > 0 && st.handled >= limit) {
      ++st.ignored;
      return;
    }
    ++st.handled;
    if (m.delivery_cnt > 1) ++st.redelivered;
    st.last_msg_ns = monotonic_now_ns();
    write_message(out, o, m);
    if (confirming) st.to_confirm.push_back(m.guid);
  });

  client::queue_options qo;
  qo.read = true;
  qo.priority = o.priority;
  qo.max_unconfirmed_msgs = credit;
  qo.app_id = o.app_id;
  const auto q = c->open_queue(o.uri, qo);
  if (!q) {
    report_open_failure(cmd, o.uri, o.broker, q.error());
    return k_exit_failed;
  }

  const time_ns start_ns = monotonic_now_ns();
  const time_ns timeout_ns = static_cast<time_ns>(o.timeout_s * 1e9);
  st.last_msg_ns = start_ns;
  bool timed_out = false;
  bool write_failed = false;
  int write_errno = 0;
  time_ns next_output_check_ns = start_ns;
  while (signals_received() == 0) {
    c->poll(1 * k_ns_per_ms);
    if (const time_ns now = monotonic_now_ns(); now >= next_output_check_ns) {
      next_output_check_ns = now + 100 * k_ns_per_ms;
      if (output_closed(out)) {
        write_failed = true;
        write_errno = EPIPE;
        break;
      }
    }
    // Confirm only what has reached the output.
    if (std::fflush(out) != 0 || std::ferror(out)) {
      write_failed = true;
      write_errno = errno;
      break;
    }
    if (confirming) confirm_some(*c, *q, st, confirm_budget, cmd);
    if (st.lost) break;
    if (limit > 0 && st.handled >= limit) break;
    if (timeout_ns > 0 && monotonic_now_ns() - st.last_msg_ns >= timeout_ns) {
      timed_out = true;
      break;
    }
    if (!c->connected()) {
      std::fprintf(stderr, "%s: the session to broker %s ended\n", cmd, o.broker.c_str());
      st.lost = true;
      break;
    }
  }
  const bool interrupted = signals_received() > 0;

  // Pause, then confirm what was printed, then close: nothing more is pushed
  // to us meanwhile, and what we hold unconfirmed goes back to the queue.
  if (!st.lost && !write_failed) {
    if (confirming && !st.to_confirm.empty()) {
      (void)c->configure_queue(*q, o.priority, 0, qo.max_unconfirmed_bytes);  // best effort
      std::fflush(out);
      const time_ns deadline = monotonic_now_ns() + 2 * k_ns_per_s;
      while (!st.to_confirm.empty() && !st.lost && monotonic_now_ns() < deadline) {
        confirm_some(*c, *q, st, UINT64_MAX, cmd);
        c->poll(st.to_confirm.empty() ? 0 : 1 * k_ns_per_ms);
      }
    }
    if (auto r = c->close_queue(*q); !r && r.error().code != client::errc::disconnected) {
      std::fprintf(stderr, "%s: closing the queue: %s\n", cmd, client::describe(r.error()).c_str());
    }
  }
  std::fflush(out);

  const double secs = static_cast<double>(monotonic_now_ns() - start_ns) / 1e9;
  if (write_failed && write_errno != EPIPE) {
    std::fprintf(stderr, "%s: writing %s: %s\n", cmd, o.output.empty() ? "stdout" : o.output.c_str(),
                 std::strerror(write_errno));
  }
  const char* plural = st.handled == 1 ? "" : "s";
  if (o.peek && st.handled == 0) {
    std::fprintf(stderr, "%s: no message in %s within %.1f s\n", cmd, o.uri.c_str(), o.timeout_s);
  } else if (o.peek) {
    std::fprintf(stderr,
                 "%s: showed %" PRIu64 " message%s from %s; closing the queue returned them (delivery count +1)\n",
                 cmd, st.handled, plural, o.uri.c_str());
  } else {
    std::fprintf(stderr, "%s: %" PRIu64 " message%s from %s (%" PRIu64 " redelivered), %" PRIu64 " confirmed%s in %.2f s\n",
                 cmd, st.handled, plural, o.uri.c_str(), st.redelivered, st.confirmed,
                 o.no_confirm ? " (--no-confirm: returned to the queue on close)" : "", secs);
  }
  if (st.ignored > 0) {
    // Possible on broadcast queues, where credit only pauses (0) or not.
    std::fprintf(stderr, "%s: %" PRIu64 " more message%s arrived after --count was reached: not shown, not confirmed\n",
                 cmd, st.ignored, st.ignored == 1 ? "" : "s");
  }
  if (timed_out && !o.peek) {
    std::fprintf(stderr, "%s: no message for %.1f s (--timeout)\n", cmd, o.timeout_s);
    return k_exit_timeout;
  }
  if (st.lost || (write_failed && write_errno != EPIPE)) return k_exit_failed;
  if (interrupted && limit > 0 && st.handled < limit) return k_exit_interrupted;
  return k_exit_ok;
}

}  // namespace sluice::cli
