// sluicectl's human output: one table (or a few lines) per command, and the
// `top` loop.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "tools/sluicectl.h"

namespace sluicectl {

namespace {

std::string str(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v.get<double>());
    return b;
  }
  if (v.is_null()) return "-";
  return v.dump();
}

std::string num(const json& obj, const char* key) { return obj.contains(key) ? str(obj[key]) : "-"; }

std::string uptime(std::int64_t s) {
  char b[48];
  std::snprintf(b, sizeof b, "%lldd %02lld:%02lld:%02lld", static_cast<long long>(s / 86400),
                static_cast<long long>(s / 3600 % 24), static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60));
  return b;
}

void queues_table(const json& rows) {
  std::vector<std::vector<std::string>> out;
  for (const auto& q : rows) {
    out.push_back({str(q["uri"]), str(q["mode"]), str(q["shard"]), str(q["messages"]), str(q["bytes"]),
                   str(q["consumers"]), str(q["producers"]), num(q, "in_per_s"), num(q, "out_per_s"),
                   str(q["counters"]["redeliveries"]), num(q, "ack_p99_us"), num(q, "e2e_p50_us"),
                   num(q, "e2e_p99_us")});
  }
  // Latencies: broker-side, over the last sampling second, as the upper
  // bound of their bucket ("≤ 5 µs" shows as 5.0).
  print_table({"QUEUE", "MODE", "SHARD", "DEPTH", "BYTES", "CONSUMERS", "PRODUCERS", "IN/s", "OUT/s", "REDELIVERED",
               "ACK p99 µs", "E2E p50 µs", "E2E p99 µs"},
              out);
}

std::atomic<bool> g_interrupted{false};

}  // namespace

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  const auto line = [&](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      std::printf("%-*s%s", static_cast<int>(w[i]), i < r.size() ? r[i].c_str() : "", i + 1 < w.size() ? "  " : "\n");
    }
  };
  line(header);
  for (const auto& r : rows) line(r);
  if (rows.empty()) std::printf("(none)\n");
}

void print_human(const std::string& cmd, const json& r) {
  if (cmd == "status") {
    std::printf("node %s  sluice-control %s  up %s  membership %s\n", str(r["node_id"]).c_str(),
                str(r["version"]).c_str(), uptime(r["control_uptime_s"]).c_str(), str(r["membership"]).c_str());
    if (!r.value("broker_connected", false)) {
      std::printf("broker: NOT CONNECTED (%s)\n", str(r["broker_error"]).c_str());
      return;
    }
    const auto& b = r["broker"];
    std::printf("broker pid %s  version %s  up %s  %s:%s  datapath %s%s%s  config %s (reloads %s)\n",
                str(b["pid"]).c_str(), str(b["version"]).c_str(), uptime(b["uptime_s"]).c_str(),
                str(b["listen"]).c_str(), str(b["base_port"]).c_str(), str(b["datapath"]).c_str(),
                b.value("xdp", std::string()).empty() ? "" : ", XDP ", b.value("xdp", std::string()).c_str(),
                str(b["config"]).c_str(), str(b["reloads"]).c_str());
    if (b.value("draining", false)) std::printf("DRAINING: new sessions are refused\n");
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : b["shards"]) {
      const bool pinned = s.value("cpu", -1) >= 0;  // -1: not pinned (the scheduler places it)
      rows.push_back({str(s["index"]), str(s["port"]), pinned ? str(s["cpu"]) : "any", num(s, "load_pct"),
                      num(s, "sessions"),
                      num(s, "queues"), s.value("serving", true) ? "yes" : "FENCED", str(s["port_mode"])});
    }
    print_table({"SHARD", "PORT", "CPU", "LOAD%", "SESSIONS", "QUEUES", "SERVING", "PORT MODE"}, rows);
  } else if (cmd == "members") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : r["members"]) {
      rows.push_back({str(m["node_id"]), m.value("self", false) ? "yes" : "", num(m, "listen"), num(m, "base_port"),
                      num(m, "shards")});
    }
    print_table({"NODE", "SELF", "LISTEN", "BASE PORT", "SHARDS"}, rows);
  } else if (cmd == "partitions") {
    std::printf("epoch %s\n", str(r["epoch"]).c_str());
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : r["partitions"]) {
      rows.push_back({str(p["partition"]), str(p["primary"]), str(p["replicas"]), num(p, "shard"),
                      p.value("serving", false) ? "yes" : "no"});
    }
    print_table({"PARTITION", "PRIMARY", "REPLICAS", "SHARD", "SERVING HERE"}, rows);
  } else if (cmd == "domains") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : r["domains"]) {
      rows.push_back({str(d["name"]), str(d["mode"]), str(d["storage"]), str(d["app_ids"]), str(d["max_messages"]),
                      str(d["max_bytes"]), str(d["message_ttl_ms"])});
    }
    print_table({"DOMAIN", "MODE", "STORAGE", "APP IDS", "MAX MSGS", "MAX BYTES", "TTL ms"}, rows);
  } else if (cmd == "queues") {
    queues_table(r["queues"]);
  } else if (cmd == "queue_info") {
    for (const auto& [k, v] : r["queue"].items()) std::printf("%-12s %s\n", k.c_str(), str(v).c_str());
  } else if (cmd == "queue_purge") {
    std::printf("purged %s messages from %s\n", str(r["purged"]).c_str(), str(r["uri"]).c_str());
  } else if (cmd == "queue_delete") {
    std::printf("deleted %s\n", str(r["uri"]).c_str());
  } else if (cmd == "sessions") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : r["sessions"]) {
      rows.push_back({str(s["id"]), str(s["shard"]), str(s["peer"]), str(s["queues"]), str(s["in_flight"]),
                      str(s["srtt_us"]), str(s["frames_sent"]), str(s["frames_delivered"]), str(s["retransmits"])});
    }
    print_table({"SESSION", "SHARD", "PEER", "QUEUES", "IN FLIGHT", "SRTT us", "SENT", "RECEIVED", "RETRANSMITS"},
                rows);
  } else if (cmd == "stats") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : r["shards"]) {
      rows.push_back({str(s["index"]), str(s["sessions"]), str(s["queues"]), str(s["puts"]), str(s["acks"]),
                      str(s["pushes"]), str(s["confirms"]), str(s["redirects"]), str(s["errors"]),
                      str(s["bad_datagrams"]), str(s["memory_bytes"])});
    }
    print_table({"SHARD", "SESSIONS", "QUEUES", "PUTS", "ACKS", "PUSHES", "CONFIRMS", "REDIRECTS", "ERRORS",
                 "BAD DGRAMS", "MEMORY"},
                rows);
    if (r.contains("xdp")) {
      std::printf("xdp:");
      for (const auto& [k, v] : r["xdp"].items()) std::printf(" %s %s", k.c_str(), str(v).c_str());
      std::printf("\n");
    }
  } else if (cmd == "log_level") {
    std::printf("log level %s (was %s)\n", str(r["level"]).c_str(), str(r["old"]).c_str());
  } else if (cmd == "reload") {
    std::printf("reloaded: added %s, changed %s, removed %s; %s queue(s) keep their old definition\n",
                str(r["added"]).c_str(), str(r["changed"]).c_str(), str(r["removed"]).c_str(),
                str(r["queues_keeping_old_definition"]).c_str());
    if (!r["restart_needed_for"].empty()) {
      std::printf("not applied until a restart: %s\n", str(r["restart_needed_for"]).c_str());
    }
    if (r.contains("warning")) std::printf("warning: %s\n", str(r["warning"]).c_str());
  } else if (cmd == "drain") {
    if (!r.value("draining", false)) {
      std::printf("accepting sessions again\n");
    } else {
      std::printf("%s: %s messages left, %s sessions open\n", r.value("done", false) ? "drained" : "draining",
                  str(r["messages_left"]).c_str(), str(r["sessions"]).c_str());
    }
  } else {
    std::printf("%s\n", r.dump(2).c_str());
  }
}

int run_top(const std::string& socket, double interval_s, int iterations) {
  ::signal(SIGINT, [](int) { g_interrupted.store(true); });
  for (int i = 0; (iterations == 0 || i < iterations) && !g_interrupted.load(); ++i) {
    const json st = request(socket, json{{"cmd", "status"}});
    const json qs = request(socket, json{{"cmd", "queues"}});
    if (!st.value("ok", false)) {
      std::fprintf(stderr, "sluicectl: %s\n", st.value("error", std::string("?")).c_str());
      return st.value("unreachable", false) ? 3 : 1;
    }
    std::printf("\033[H\033[2J");  // home, clear
    print_human("status", st);
    std::printf("\n");
    if (qs.value("ok", false)) {
      json rows = qs["queues"];
      std::sort(rows.begin(), rows.end(), [](const json& a, const json& b) {
        return a.value("in_per_s", 0.0) + a.value("out_per_s", 0.0) > b.value("in_per_s", 0.0) + b.value("out_per_s", 0.0);
      });
      queues_table(rows);
    } else {
      std::printf("queues: %s\n", qs.value("error", std::string("?")).c_str());
    }
    std::fflush(stdout);
    if (iterations == 0 || i + 1 < iterations) {
      std::this_thread::sleep_for(std::chrono::duration<double>(interval_s));
    }
  }
  return 0;
}

}  // namespace sluicectl
