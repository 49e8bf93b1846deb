#include "bench/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>

#include "bench/process.h"

namespace sluice::bench {

namespace {

constexpr const char* k_ref = "sluice udp adaptive";  // the mode the targets are measured in
constexpr const char* k_peer_names[] = {"nats core", "nats jetstream", "redis streams", "redis streams fsync"};

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string lat(const histogram& h, double q) {
  if (h.count() == 0) return "–";
  const double v = us(q >= 1 ? h.max() : h.quantile(q));
  return v < 100 ? fmt("%.1f", v) : fmt("%.0f", v);
}

std::string rate(double r) { return r <= 0 ? "–" : fmt("%.0f", r); }

// An open-loop run that could not send at its rate is correct but did not
// do what the scenario asks: say so next to "ok" (a report note, never a
// failure: timings are not asserted).
std::string behind(const run_result& r) {
  if (r.sc.rate_total <= 0 || r.sent_per_s >= 0.9 * r.sc.rate_total) return "";
  return fmt(", fell behind: %.0f %% of the messages due in the measured window (%.0f msg/s) were sent",
             100.0 * r.sent_per_s / r.sc.rate_total, r.sc.rate_total);
}

std::string ratio(double a, double b) { return a > 0 && b > 0 ? fmt("%.2f", a / b) : "–"; }

std::string slug(const std::string& s) {
  std::string r;
  for (const char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      r += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!r.empty() && r.back() != '-') {
      r += '-';
    }
  }
  while (!r.empty() && r.back() == '-') r.pop_back();
  return r;
}

const run_result* find(const report_data& rep, std::string_view sys, const std::string& id) {
  for (const auto& r : rep.results) {
    if (r.system == sys && r.sc.id() == id && r.skipped.empty()) return &r;
  }
  return nullptr;
}

bool measured(const run_result* r) { return r != nullptr && r->skipped.empty() && r->e2e.count() > 0; }

std::string shape(const scenario& s) {
  std::string d = fmt("%u queue%s × %u producer → %u consumer%s, %u B, %s%s, ", s.queues, s.queues > 1 ? "s" : "",
                      s.producers_per_queue, s.consumers_per_queue, s.consumers_per_queue > 1 ? "s" : "",
                      s.payload_sz, mode_name(s.mode), s.durable ? " (durable)" : "");
  d += s.rate_total > 0 ? fmt("open loop at %.0f msg/s in total", s.rate_total)
                        : fmt("closed loop, window %u per producer", s.window);
  return d + fmt("; %.1f s measured after %.1f s warm-up", s.seconds, s.warmup);
}

std::vector<std::string> scenario_ids(const report_data& rep) {
  std::vector<std::string> ids;
  for (const auto& r : rep.results) {
    if (std::find(ids.begin(), ids.end(), r.sc.id()) == ids.end()) ids.push_back(r.sc.id());
  }
  return ids;
}

std::string machine() {
  std::string m;
  utsname u{};
  ::uname(&u);
  std::string cpu = command_line1("lscpu | sed -n 's/^Model name: *//p'");
  m += fmt("- CPU: %s, %ld online cores (`nproc`)\n", cpu.c_str(), ::sysconf(_SC_NPROCESSORS_ONLN));
  m += fmt("- Kernel: %s %s (%s)\n", u.sysname, u.release, u.machine);
  m += "- OS: " + command_line1("sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '\"'") + "\n";
  m += "- Compiler: " + std::string(__VERSION__) + "\n";
  m += fmt("- Memory: %s\n", command_line1("free -h | awk '/^Mem:/ {print $2}'").c_str());
  return m;
}

struct target_row {
  std::string what, measured, verdict;
};

// "met" / "missed by X" for value `v` against limit `lim` (le: v must be ≤ lim).
std::string verdict(double v, double lim, bool le) {
  if (v <= 0 || lim <= 0) return "not measured";
  if (le ? v <= lim : v >= lim) return fmt("**met** (%.0f %% of the limit)", 100.0 * v / lim);
  return le ? fmt("**missed** by %.2f× (%.1f over the limit %.1f)", v / lim, v - lim, lim)
            : fmt("**missed** by %.2f× (%.0f short of %.0f)", lim / v, lim - v, lim);
}

const run_result* best_peer_p99(const report_data& rep, const std::string& id, double& p99) {
  const run_result* best = nullptr;
  for (const char* p : k_peer_names) {
    const run_result* r = find(rep, p, id);
    if (!measured(r)) continue;
    const double v = us(r->e2e.quantile(0.99));
    if (best == nullptr || v < p99) {
      best = r;
      p99 = v;
    }
  }
  return best;
}

std::vector<target_row> targets(const report_data& rep) {
  std::vector<target_row> t;
  {
    const std::string id = "w1-latency 10k/s";
    const run_result* s = find(rep, k_ref, id);
    const run_result* u = find(rep, "udp floor", id);
    if (measured(s) && measured(u)) {
      const double sp = us(s->e2e.quantile(0.5));
      const double up = us(u->e2e.quantile(0.5));
      t.push_back({"w1 @10k: p50 ≤ 1.2 × UDP floor's p50", fmt("%.1f µs vs floor %.1f µs (limit %.1f)", sp, up, 1.2 * up),
                   verdict(sp, 1.2 * up, true)});
    } else {
      t.push_back({"w1 @10k: p50 ≤ 1.2 × UDP floor's p50", "–", "not measured"});
    }
    double bp = 0;
    const run_result* b = best_peer_p99(rep, id, bp);
    if (measured(s) && b != nullptr) {
      const double v = us(s->e2e.quantile(0.99));
      t.push_back({"w1 @10k: p99 ≤ ½ best peer's p99",
                   fmt("%.1f µs vs %s %.1f µs (limit %.1f)", v, b->system.c_str(), bp, bp / 2), verdict(v, bp / 2, true)});
    } else {
      t.push_back({"w1 @10k: p99 ≤ ½ best peer's p99", "–", "not measured"});
    }
  }
  {
    const std::string id = "w2-throughput window 1024";
    const run_result* s = find(rep, k_ref, id);
    const run_result* n = find(rep, "nats core", id);
    const run_result* r = find(rep, "redis streams", id);
    const double sv = s ? s->delivered_per_s : 0;
    t.push_back({"w2: ≥ NATS core's msg/s", fmt("%.0f vs %.0f msg/s", sv, n ? n->delivered_per_s : 0.0),
                 verdict(sv, n ? n->delivered_per_s : 0, false)});
    t.push_back({"w2: ≥ 3 × Redis Streams' msg/s", fmt("%.0f vs 3 × %.0f msg/s", sv, r ? r->delivered_per_s : 0.0),
                 verdict(sv, r ? 3 * r->delivered_per_s : 0, false)});
  }
  for (const char* id : {"w3-fanout5 fanout 20k/s", "w3-fanout5 broadcast 20k/s"}) {
    const run_result* s = find(rep, k_ref, id);
    double bp = 0;
    const run_result* b = best_peer_p99(rep, id, bp);
    const double v = measured(s) ? us(s->e2e.quantile(0.99)) : 0;
    t.push_back({fmt("%s: p99 ≤ ½ best peer's p99", id),
                 b ? fmt("%.1f µs vs %s %.1f µs (limit %.1f)", v, b->system.c_str(), bp, bp / 2) : "–",
                 b ? verdict(v, bp / 2, true) : "not measured"});
  }
  {
    const std::string id = "w4-durable 1Q 64B";
    const run_result* s = find(rep, k_ref, id);
    const run_result* j = find(rep, "nats jetstream", id);
    const run_result* r = find(rep, "redis streams fsync", id);
    const std::string why = s ? "" : "Sluice skipped: " + (rep.disk_refusal.empty() ? "not run" : rep.disk_refusal);
    const double sv = s ? s->acked_per_s : 0;
    t.push_back({"w4 (1Q 64B): ACKed msg/s ≥ 1.5 × JetStream's",
                 s ? fmt("%.0f vs 1.5 × %.0f", sv, j ? j->acked_per_s : 0.0) : why,
                 s ? verdict(sv, j ? 1.5 * j->acked_per_s : 0, false) : "not measured"});
    t.push_back({"w4 (1Q 64B): ACKed msg/s ≥ 2 × Redis Streams fsync always",
                 s ? fmt("%.0f vs 2 × %.0f", sv, r ? r->acked_per_s : 0.0) : why,
                 s ? verdict(sv, r ? 2 * r->acked_per_s : 0, false) : "not measured"});
    const double sa = s ? us(s->ack.quantile(0.99)) : 0;
    const double ra = r ? us(r->ack.quantile(0.99)) : 0;
    t.push_back({"w4 (1Q 64B): publish→ACK p99 ≤ ½ Redis fsync's", s ? fmt("%.1f vs ½ × %.1f µs", sa, ra) : why,
                 s ? verdict(sa, ra / 2, true) : "not measured"});
  }
  {
    const std::string id = "w2-throughput window 1024";
    const run_result* x = find(rep, "sluice veth af_xdp", id);
    const run_result* u = find(rep, "sluice veth udp", id);
    const double xv = x ? x->delivered_per_s : 0;
    const double uv = u ? u->delivered_per_s : 0;
    t.push_back({"AF_XDP ≥ 1.3 × kernel UDP msg/s (w2, same veth)", fmt("%.0f vs 1.3 × %.0f", xv, uv),
                 verdict(xv, 1.3 * uv, false)});
  }
  return t;
}

struct bmq_row {
  const char* variant;
  double p50_ms, p99_ms;
};
constexpr bmq_row k_bmq[] = {
    {"priority 1Q,1P,1C 60k/s", 1.5, 4.9},
    {"priority 10Q,10P,10C 120k/s", 1.1, 35.7},
    {"fan-out 1Q,1P,5C 30k/s", 1.4, 15.1},
    {"broadcast 1Q,1P,5C 110k/s", 1.7, 4.0},
};

void write_plots(const report_data& rep, const std::string& dir, std::string& md) {
  std::ofstream gp(dir + "/plots.gp");
  gp << "set terminal pngcairo size 960,540 font ',10' noenhanced\nset logscale xy\nset grid\n"
        "set xlabel 'percentile'\nset ylabel 'latency, µs (send → receive)'\nset key top left\n"
        "set xtics ('50' 2, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000, 'max' 100000)\n";
  const double qs[] = {0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999};
  md += "\n## Plots\n\n";
  for (const auto& id : scenario_ids(rep)) {
    std::vector<std::pair<std::string, std::string>> series;  // file, title
    for (const auto& r : rep.results) {
      if (r.sc.id() != id || !measured(&r)) continue;
      const std::string f = "lat-" + slug(id) + "--" + slug(r.system) + ".dat";
      std::ofstream d(dir + "/" + f);
      for (const double q : qs) d << 1.0 / (1.0 - q) << " " << us(r.e2e.quantile(q)) << "\n";
      d << 100000 << " " << us(r.e2e.max()) << "\n";
      series.emplace_back(f, r.system);
    }
    if (series.empty()) continue;
    const std::string png = "latency-" + slug(id) + ".png";
    gp << "set output '" << png << "'\nset title '" << id << ": end-to-end latency by percentile'\nplot ";
    for (std::size_t i = 0; i < series.size(); ++i) {
      gp << (i ? ", " : "") << "'" << series[i].first << "' using 1:2 with linespoints title '" << series[i].second << "'";
    }
    gp << "\n";
    md += "![" + id + "](" + png + ")\n\n";
  }
  // Throughput bars: w2 delivered msg/s, w4 ACKed msg/s.
  gp << "unset logscale\nset logscale y\nset style fill solid 0.6\nset boxwidth 0.6\nset xtics rotate by -30\n"
        "set key off\nset xlabel ''\nset yrange [100:*]\n";
  for (const auto& [id, acked] : {std::pair<std::string, bool>{"w2-throughput window 1024", false},
                                  std::pair<std::string, bool>{"w4-durable 1Q 64B", true}}) {
    const std::string f = "tput-" + slug(id) + ".dat";
    std::ofstream d(dir + "/" + f);
    int n = 0;
    for (const auto& r : rep.results) {
      if (r.sc.id() != id || !r.skipped.empty()) continue;
      const double v = acked ? r.acked_per_s : r.delivered_per_s;
      if (v <= 0) continue;
      d << "\"" << r.system << "\" " << v << "\n";
      ++n;
    }
    if (n == 0) continue;
    const std::string png = "throughput-" + slug(id) + ".png";
    gp << "set output '" << png << "'\nset title '" << id << ": " << (acked ? "ACKed" : "delivered")
       << " msg/s'\nset ylabel 'msg/s (log)'\nplot '" << f << "' using 0:2:xtic(1) with boxes\n";
    md += "![" + id + " throughput](" + png + ")\n\n";
  }
  gp.close();
  std::string out;
  if (run_command("cd '" + dir + "' && gnuplot plots.gp", &out) != 0) {
    md += "(gnuplot failed: " + out + "; `apt-get install gnuplot-nox`, then `gnuplot plots.gp` in this folder)\n";
  }
}

void write_jsonl(const report_data& rep, const std::string& dir) {
  std::ofstream j(dir + "/results.jsonl");
  const auto h = [](const histogram& x) {
    return fmt("{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"count\":%" PRIu64 "}",
               us(x.quantile(0.5)), us(x.quantile(0.9)), us(x.quantile(0.99)), us(x.quantile(0.999)), us(x.max()),
               x.count());
  };
  for (const auto& r : rep.results) {
    std::string esc_skip, esc_fail;
    for (const char c : r.skipped) esc_skip += c == '"' || c == '\\' ? std::string("\\") + c : c == '\n' ? " " : std::string(1, c);
    for (const char c : r.failure) esc_fail += c == '"' || c == '\\' ? std::string("\\") + c : c == '\n' ? " " : std::string(1, c);
    j << fmt("{\"time\":\"%s\",\"system\":\"%s\",\"scenario\":\"%s\",\"variant\":\"%s\",\"mode\":\"%s\","
             "\"durable\":%s,\"queues\":%u,\"producers_per_queue\":%u,\"consumers_per_queue\":%u,"
             "\"rate_total\":%.0f,\"window\":%u,\"payload_sz\":%u,\"seconds\":%.2f,",
             rep.started_utc.c_str(), r.system.c_str(), r.sc.name.c_str(), r.sc.variant.c_str(), mode_name(r.sc.mode),
             r.sc.durable ? "true" : "false", r.sc.queues, r.sc.producers_per_queue, r.sc.consumers_per_queue,
             r.sc.rate_total, r.sc.window, r.sc.payload_sz, r.measured_s)
      << "\"skipped\":\"" << esc_skip << "\",\"failure\":\"" << esc_fail << "\","
      << fmt("\"sent\":%" PRIu64 ",\"acked_ok\":%" PRIu64 ",\"ack_failed\":%" PRIu64 ",\"unacked\":%" PRIu64
             ",\"delivered\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"stale\":%" PRIu64
             ",\"sent_per_s\":%.0f,\"delivered_per_s\":%.0f,\"acked_per_s\":%.0f,",
             r.sent, r.acked_ok, r.ack_failed, r.unacked, r.delivered, r.lost, r.duplicates, r.stale, r.sent_per_s,
             r.delivered_per_s, r.acked_per_s)
      << "\"e2e_us\":" << h(r.e2e) << ",\"ack_us\":" << h(r.ack) << "}\n";
  }
}

}  // namespace

std::string utc_now() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_report(const report_data& rep, const std::string& dir) {
  std::string md;
  md += "# sluice-bench report\n\n";
  md += "Run " + rep.started_utc + " → " + rep.finished_utc + (rep.smoke ? " (**smoke mode**: short, rates capped; "
                                                                          "correctness only, figures meaningless)" : "") + ".\n";
  md += "Every system ran on this one machine, one after another; clients and servers share its cores. "
        "Latency is end to end (the intended send time in the payload → the consumer's callback, one clock), "
        "open-loop runs stamp the time each message was *due*, so stalls count against the system "
        "(no coordinated omission). Ratios are the row's figure ÷ Sluice's (" + std::string(k_ref) + ").\n\n";
  md += "## Machine\n\n" + machine();
  md += "\n## Systems\n\n| system | what ran |\n|---|---|\n";
  for (const auto& s : rep.systems) md += "| " + s.name + " | " + s.description + " |\n";
  if (!rep.af_xdp_note.empty()) md += "\nAF_XDP: " + rep.af_xdp_note + "\n";

  md += "\n## Targets (issue 7; Sluice in kernel-UDP adaptive mode)\n\n| target | measured | verdict |\n|---|---|---|\n";
  for (const auto& t : targets(rep)) md += "| " + t.what + " | " + t.measured + " | " + t.verdict + " |\n";

  md += "\n## Scenarios\n\nLatencies in µs. `e2e ÷` and `msg/s ÷`: this row ÷ Sluice " + std::string(k_ref) +
        " (for latency above 1 Sluice is faster; for msg/s below 1). msg/s is delivered msg/s for open and "
        "closed loops, ACKed msg/s for durable scenarios.\n";
  for (const auto& id : scenario_ids(rep)) {
    const run_result* ref = find(rep, k_ref, id);
    const run_result* any = nullptr;
    for (const auto& r : rep.results) {
      if (r.sc.id() == id) any = &r;
    }
    md += "\n### " + id + "\n\n" + shape(any->sc) + ".\n\n";
    md += "| system | sent msg/s | delivered msg/s | ACKed msg/s | e2e p50 | p90 | p99 | p99.9 | max | ACK p50 | ACK p99 | "
          "ACK p99.9 | lost | dup | e2e p50 ÷ | e2e p99 ÷ | msg/s ÷ | result |\n";
    md += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rep.results) {
      if (r.sc.id() != id) continue;
      if (!r.skipped.empty()) {
        md += "| " + r.system + " | | | | | | | | | | | | | | | | | skipped: " + r.skipped + " |\n";
        continue;
      }
      const bool ack = r.has_acks;
      const double tp = r.sc.durable ? r.acked_per_s : r.delivered_per_s;
      const double rtp = ref ? (r.sc.durable ? ref->acked_per_s : ref->delivered_per_s) : 0;
      md += "| " + r.system + " | " + rate(r.sent_per_s) + " | " + rate(r.delivered_per_s) + " | " +
            (ack ? rate(r.acked_per_s) : "no ACKs") + " | " + lat(r.e2e, 0.5) + " | " + lat(r.e2e, 0.9) + " | " +
            lat(r.e2e, 0.99) + " | " + lat(r.e2e, 0.999) + " | " + lat(r.e2e, 1) + " | " +
            (ack ? lat(r.ack, 0.5) : "–") + " | " + (ack ? lat(r.ack, 0.99) : "–") + " | " +
            (ack ? lat(r.ack, 0.999) : "–") + " | " + fmt("%" PRIu64, r.lost) + " | " + fmt("%" PRIu64, r.duplicates) +
            " | " + (measured(ref) && measured(&r) ? ratio(us(r.e2e.quantile(0.5)), us(ref->e2e.quantile(0.5))) : "–") +
            " | " + (measured(ref) && measured(&r) ? ratio(us(r.e2e.quantile(0.99)), us(ref->e2e.quantile(0.99))) : "–") +
            " | " + ratio(tp, rtp) + " | " +
            (!r.failure.empty() ? "**" + r.failure + "**"
             : r.lost > 0 ? fmt("ok (%" PRIu64 " dropped: at-most-once delivery)", r.lost) + behind(r)
                          : "ok" + behind(r)) + " |\n";
    }
  }

  md += "\n## BlazingMQ's published table, side by side\n\n"
        "BlazingMQ's figures are from its documentation (\"friendly\" setup: 3-node cluster, primary waits for one "
        "replica, TCP; hardware not published). **The hardware and setup differ**: Sluice here is one node on one "
        "2-core machine with producers and consumers on the same cores, and stores in memory. Milliseconds.\n\n"
        "| scenario | BlazingMQ p50 | BlazingMQ p99 | Sluice p50 | Sluice p99 | Sluice p99.9 | Sluice delivered msg/s |"
        " NATS core p50 / p99 | JetStream p50 / p99 | Redis Streams p50 / p99 | Sluice result |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& b : k_bmq) {
    const std::string id = std::string("blazingmq-table ") + b.variant;
    const run_result* s = find(rep, k_ref, id);
    const auto ms = [](const run_result* r, double q) {
      return measured(r) ? fmt("%.3f", us(r->e2e.quantile(q)) / 1000) : std::string("–");
    };
    const auto pair = [&](const char* sys) {
      const run_result* r = find(rep, sys, id);
      return measured(r) ? ms(r, 0.5) + " / " + ms(r, 0.99) : std::string("–");
    };
    md += fmt("| %s | %.1f | %.1f | ", b.variant, b.p50_ms, b.p99_ms) + ms(s, 0.5) + " | " + ms(s, 0.99) + " | " +
          ms(s, 0.999) + " | " + (s ? rate(s->delivered_per_s) : "–") + " | " + pair("nats core") + " | " +
          pair("nats jetstream") + " | " + pair("redis streams") + " | " +
          (s == nullptr ? "not run" : s->failure.empty() ? "ok" + behind(*s) : "**" + s->failure + "**") + " |\n";
  }

  md += "\n## AF_XDP against kernel UDP on the same veth pair\n\n"
        "Broker in one namespace, clients in the other, one shard, adaptive idle.\n\n"
        "| scenario | UDP msg/s | AF_XDP msg/s | ratio | UDP p50 / p99 µs | AF_XDP p50 / p99 µs |\n|---|---|---|---|---|---|\n";
  for (const auto& id : scenario_ids(rep)) {
    const run_result* u = find(rep, "sluice veth udp", id);
    const run_result* x = find(rep, "sluice veth af_xdp", id);
    if (!u && !x) continue;
    const auto pl = [](const run_result* r) {
      return measured(r) ? lat(r->e2e, 0.5) + " / " + lat(r->e2e, 0.99) : std::string("–");
    };
    md += "| " + id + " | " + (u ? rate(u->delivered_per_s) : "–") + " | " + (x ? rate(x->delivered_per_s) : "–") +
          " | " + (u && x ? ratio(x->delivered_per_s, u->delivered_per_s) : "–") + " | " + pl(u) + " | " + pl(x) + " |\n";
  }
  if (rep.disk_floor.write_sync.count() > 0 || !rep.disk_floor.error.empty()) {
    const histogram& f = rep.disk_floor.write_sync;
    md += "\n## The disk's floor (w4-durable)\n\nOne 4 KiB O_DIRECT write followed by fdatasync, on the file system "
          "the brokers' journals used, in this run after the Sluice modes: ";
    md += rep.disk_floor.error.empty()
              ? fmt("%" PRIu64 " samples, p50 %s µs, p99 %s µs, p99.9 %s µs, max %s µs. A durable ACK cannot come "
                    "sooner than this; Sluice's group commit shares one such write among every PUT of a loop "
                    "iteration.\n",
                    f.count(), lat(f, 0.5).c_str(), lat(f, 0.99).c_str(), lat(f, 0.999).c_str(), lat(f, 1).c_str())
              : "not measured: " + rep.disk_floor.error + "\n";
  }
  if (!rep.disk_refusal.empty()) {
    md += "\n## w4-durable\n\nSluice skipped w4: the broker refuses disk domains in this build: `" + rep.disk_refusal +
          "`. The peers' durable figures are in the table above for when it lands.\n";
  }
  write_plots(rep, dir, md);
  std::ofstream(dir + "/report.md") << md;
  write_jsonl(rep, dir);
}

void print_summary(const report_data& rep) {
  std::printf("%-22s %-44s %10s %10s %9s %9s %9s %6s %5s  %s\n", "system", "scenario", "deliv/s", "acked/s", "p50 us",
              "p99 us", "p99.9 us", "lost", "dup", "result");
  for (const auto& r : rep.results) {
    if (!r.skipped.empty()) {
      std::printf("%-22s %-44s skipped: %s\n", r.system.c_str(), r.sc.id().c_str(), r.skipped.c_str());
      continue;
    }
    std::printf("%-22s %-44s %10.0f %10.0f %9.1f %9.1f %9.1f %6" PRIu64 " %5" PRIu64 "  %s\n", r.system.c_str(),
                r.sc.id().c_str(), r.delivered_per_s, r.acked_per_s, us(r.e2e.quantile(0.5)), us(r.e2e.quantile(0.99)),
                us(r.e2e.quantile(0.999)), r.lost, r.duplicates,
                r.failure.empty() ? ("ok" + behind(r)).c_str() : r.failure.c_str());
  }
}

}  // namespace sluice::bench
