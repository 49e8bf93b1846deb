// Prometheus text exposition (version 0.0.4) of the latest broker sample,
// served by metrics_server (metrics_server.cc) at /metrics. Names follow
// Prometheus conventions: sluice_ prefix, base units, _total for counters.
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdint>
#include <iomanip>
#include <sstream>

#include "bpf/sluice_xdp.h"
#include "control/control_node.h"

namespace sluice::control {

namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    _out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void value(const char* name, const std::string& labels, double v) {
    _out << name;
    if (!labels.empty()) _out << '{' << labels << '}';
    // Counters must not lose digits to the stream's default precision.
    if (v == std::floor(v) && std::fabs(v) < 9.0e15) {
      _out << ' ' << static_cast<std::int64_t>(v) << '\n';
    } else {
      _out << ' ' << std::setprecision(17) << v << '\n';
    }
  }
  std::string str() const { return _out.str(); }

 private:
  std::ostringstream _out;
};

std::string queue_labels(const nlohmann::json& q) {
  return "queue=\"" + escape(q["uri"]) + "\",domain=\"" + escape(q["domain"]) + "\",shard=\"" +
         std::to_string(q["shard"].get<int>()) + "\"";
}

// One label set of a histogram from per-bucket (not cumulative) counts in
// nanosecond buckets: cumulative _bucket series with `le` in seconds, then
// _sum and _count.
void histogram_series(writer& w, const std::string& name, const std::string& labels, const nlohmann::json& counts,
                      const nlohmann::json& bounds_ns, const nlohmann::json& sum_ns) {
  double cum = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cum += counts[i].get<double>();
    std::ostringstream le;
    if (i < bounds_ns.size()) {
      le << bounds_ns[i].get<double>() / 1e9;
    } else {
      le << "+Inf";
    }
    w.value((name + "_bucket").c_str(), labels + ",le=\"" + le.str() + "\"", cum);
  }
  w.value((name + "_sum").c_str(), labels, sum_ns.get<double>() / 1e9);
  w.value((name + "_count").c_str(), labels, cum);
}

}  // namespace

std::string control_node::render_metrics() {
  std::lock_guard lk(_mu);
  writer w;
  w.family("sluice_up", "gauge", "1 when sluice-control has current figures from the broker.");
  w.value("sluice_up", "", _last.valid ? 1 : 0);
  {
    const membership_view mv = _membership->view();
    w.family("sluice_membership_epoch", "gauge", "Epoch of the partition map this node follows (0: none yet).");
    w.value("sluice_membership_epoch", "", static_cast<double>(mv.map.epoch));
    w.family("sluice_membership_lease_valid", "gauge",
             "1 while this node's membership lease is valid by its own clock (0: fenced or not registered).");
    w.value("sluice_membership_lease_valid", "", mv.lease_valid ? 1 : 0);
    w.family("sluice_membership_members", "gauge", "Live cluster members as this node last saw them.");
    w.value("sluice_membership_members", "", static_cast<double>(mv.members.size()));
    w.family("sluice_shard_serving", "gauge", "1 when membership wants the shard to serve its partitions.");
    for (std::size_t i = 0; i < mv.serving.size(); ++i) {
      w.value("sluice_shard_serving", "shard=\"" + std::to_string(i) + "\"", mv.serving[i] ? 1 : 0);
    }
  }
  w.family("sluice_control_reloads_total", "counter", "Config reloads by result.");
  w.value("sluice_control_reloads_total", "result=\"ok\"", static_cast<double>(_reloads_ok));
  w.value("sluice_control_reloads_total", "result=\"refused\"", static_cast<double>(_reloads_refused));
  w.value("sluice_control_reloads_total", "result=\"unknown\"", static_cast<double>(_reloads_unknown));
  if (!_last.valid) return w.str();

  const auto& qs = _last.queues["queues"];
  const auto per_queue = [&](const char* name, const char* type, const char* help, auto get) {
    w.family(name, type, help);
    for (const auto& q : qs) w.value(name, queue_labels(q), get(q));
  };
  per_queue("sluice_queue_messages_in_total", "counter", "Messages accepted by PUT.",
            [](const auto& q) { return q["counters"]["puts"].template get<double>(); });
  per_queue("sluice_queue_messages_out_total", "counter", "Messages pushed to consumers (redeliveries included).",
            [](const auto& q) { return q["counters"]["pushes"].template get<double>(); });
  per_queue("sluice_queue_confirms_total", "counter", "Messages confirmed by consumers.",
            [](const auto& q) { return q["counters"]["confirms"].template get<double>(); });
  per_queue("sluice_queue_redeliveries_total", "counter", "Messages delivered again after a consumer left.",
            [](const auto& q) { return q["counters"]["redeliveries"].template get<double>(); });
  per_queue("sluice_queue_depth_messages", "gauge", "Messages stored (ready and unconfirmed).",
            [](const auto& q) { return q["messages"].template get<double>(); });
  per_queue("sluice_queue_depth_bytes", "gauge", "Payload and property bytes stored.",
            [](const auto& q) { return q["bytes"].template get<double>(); });
  per_queue("sluice_queue_consumers", "gauge", "Consumers attached.",
            [](const auto& q) { return q["consumers"].template get<double>(); });
  per_queue("sluice_queue_producers", "gauge", "Sessions holding the queue open for writing.",
            [](const auto& q) { return q["producers"].template get<double>(); });
  per_queue("sluice_queue_unconfirmed_messages", "gauge", "Deliveries awaiting CONFIRM (per app id for fan-out).",
            [](const auto& q) { return q.value("unconfirmed", 0.0); });
  // Broker-side latency histograms (common/latency_buckets.h), in seconds.
  const auto histogram = [&](const char* name, const char* help, const char* which) {
    w.family(name, "histogram", help);
    const std::string base = name;
    for (const auto& q : qs) {
      if (!q.contains("latency")) continue;
      const auto& lat = q["latency"];
      histogram_series(w, base, queue_labels(q), lat[which]["counts"], lat["bounds_ns"], lat[which]["sum_ns"]);
    }
  };
  histogram("sluice_queue_publish_ack_latency_seconds",
            "Broker-side publish to ACK latency: PUT received to ACK sent (disk queues: includes the journal write).",
            "ack");
  histogram("sluice_queue_end_to_end_latency_seconds",
            "Broker-side end-to-end latency: PUT received to its CONFIRM received.", "e2e");
  w.family("sluice_queue_nacks_total", "counter", "PUTs refused or messages dropped, by reason.");
  for (const auto& q : qs) {
    const auto& c = q["counters"];
    const std::string l = queue_labels(q);
    w.value("sluice_queue_nacks_total", l + ",reason=\"queue_full\"", c["rejected_full"].get<double>());
    w.value("sluice_queue_nacks_total", l + ",reason=\"too_large\"", c["rejected_too_large"].get<double>());
    w.value("sluice_queue_nacks_total", l + ",reason=\"expired\"", c["expired"].get<double>());
    w.value("sluice_queue_nacks_total", l + ",reason=\"purged\"", c["purged"].get<double>());
  }

  const auto& shards = _last.stats["shards"];
  const auto per_shard = [&](const char* name, const char* type, const char* help, const char* key) {
    w.family(name, type, help);
    for (const auto& s : shards) {
      w.value(name, "shard=\"" + std::to_string(s["index"].get<int>()) + "\"", s[key].get<double>());
    }
  };
  per_shard("sluice_shard_sessions", "gauge", "Open client sessions.", "sessions");
  w.family("sluice_sessions_refused_total", "counter",
           "New sessions refused (REFUSE sent): limit = every session slot in use, draining = the node drains.");
  for (const auto& s : shards) {
    const std::string l = "shard=\"" + std::to_string(s["index"].get<int>()) + "\"";
    w.value("sluice_sessions_refused_total", l + ",reason=\"limit\"", s.value("sessions_refused", 0.0));
    w.value("sluice_sessions_refused_total", l + ",reason=\"draining\"", s.value("sessions_refused_draining", 0.0));
  }
  const auto per_journal = [&](const char* name, const char* type, const char* help, const char* key) {
    w.family(name, type, help);
    for (const auto& s : shards) {
      if (!s.contains("journal")) continue;
      w.value(name, "shard=\"" + std::to_string(s["index"].get<int>()) + "\"", s["journal"][key].get<double>());
    }
  };
  per_journal("sluice_journal_commits_total", "counter", "Journal group commits (one write + sync each).", "commits");
  per_journal("sluice_journal_written_bytes_total", "counter", "Bytes written to the journal.", "bytes");
  per_journal("sluice_journal_backpressure_total", "counter",
              "Records refused because the journal's buffers were full (the PUT got queue_full).", "backpressure");
  per_journal("sluice_journal_deferred_total", "counter",
              "Confirms, deletes and the like that waited for a free journal buffer (none dropped).", "deferred");
  per_journal("sluice_journal_dropped_total", "counter",
              "Confirms and the like never journaled (deferral ring full, journal failed): a restart redelivers.",
              "dropped");
  per_journal("sluice_journal_segments", "gauge", "Journal segment files in use.", "segments");
  w.family("sluice_journal_commit_latency_seconds", "histogram",
           "Journal group commit latency: write + sync submitted to completed (the fsync latency).");
  for (const auto& s : shards) {
    if (!s.contains("journal") || !s["journal"].contains("commit_latency")) continue;
    const auto& lat = s["journal"]["commit_latency"];
    histogram_series(w, "sluice_journal_commit_latency_seconds",
                     "shard=\"" + std::to_string(s["index"].get<int>()) + "\"", lat["counts"], lat["bounds_ns"],
                     lat["sum_ns"]);
  }
  per_journal("sluice_journal_pending_acks", "gauge", "Disk PUTs waiting for their record to be durable.",
              "acks_pending");
  per_shard("sluice_shard_loop_iterations_total", "counter", "Shard loop iterations.", "loops");
  per_shard("sluice_shard_busy_iterations_total", "counter", "Shard loop iterations that did work.", "busy_loops");
  per_shard("sluice_shard_memory_bytes", "gauge", "Message memory in use.", "memory_bytes");
  per_shard("sluice_shard_bad_datagrams_total", "counter", "Datagrams failing header validation.", "bad_datagrams");
  per_shard("sluice_shard_loop_stalls_total", "counter",
            "Shard loop iterations that began more than 10 ms after the previous one (descheduled or blocked).",
            "loop_gaps_over_10ms");
  const auto per_shard_s = [&](const char* name, const char* help, const char* key_ns) {
    w.family(name, "gauge", help);
    for (const auto& s : shards) {
      w.value(name, "shard=\"" + std::to_string(s["index"].get<int>()) + "\"", s.value(key_ns, 0.0) / 1e9);
    }
  };
  per_shard_s("sluice_shard_loop_gap_max_seconds", "Longest time between two shard loop iterations since start.",
              "loop_gap_max_ns");
  per_shard_s("sluice_shard_query_wait_max_seconds",
              "Longest time a control request waited for its shard to pick it up, since start.",
              "query_wait_max_ever_ns");
  w.family("sluice_shard_busy_ratio", "gauge", "Share of loop iterations that did work over the last second.");
  for (const auto& s : shards) {
    const std::size_t i = s["index"];
    double ratio = 0;
    if (_prev.valid && i < _prev.stats["shards"].size()) {
      const auto& p = _prev.stats["shards"][i];
      const double loops = s["loops"].get<double>() - p["loops"].get<double>();
      ratio = loops > 0 ? (s["busy_loops"].get<double>() - p["busy_loops"].get<double>()) / loops : 0;
    }
    w.value("sluice_shard_busy_ratio", "shard=\"" + std::to_string(i) + "\"", ratio);
  }
  if (_last.stats.contains("xdp")) {
    w.family("sluice_xdp_packets_total", "counter", "XDP program verdicts by reason (bpf/sluice_xdp.h).");
    for (const auto& [k, v] : _last.stats["xdp"].items()) {
      w.value("sluice_xdp_packets_total", "reason=\"" + escape(k) + "\"", v.get<double>());
    }
    w.family("sluice_af_xdp_datagrams_total", "counter", "AF_XDP port datagrams by shard and path.");
    for (const auto& s : shards) {
      for (const auto& [k, v] : s["af_xdp"].items()) {
        w.value("sluice_af_xdp_datagrams_total",
                "shard=\"" + std::to_string(s["index"].get<int>()) + "\",path=\"" + escape(k) + "\"",
                v.get<double>());
      }
    }
  }
  return w.str();
}

}  // namespace sluice::control
