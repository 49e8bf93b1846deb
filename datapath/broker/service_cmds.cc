// The broker channel's commands (service.h; docs/control.md). Service thread.
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "datapath/broker/service.h"
#include "datapath/broker/shard_protocol.h"
#include "datapath/xdp/xdp_steering.h"

namespace sluice::broker {

using json = nlohmann::json;

namespace {

json ok_reply() { return json{{"ok", true}}; }
json error_reply(const std::string& why) { return json{{"ok", false}, {"error", why}}; }

std::uint64_t ld(const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); }

json counters_json(const queue::queue_counters& c) {
  return json{{"puts", c.puts},
              {"rejected_full", c.rejected_full},
              {"rejected_too_large", c.rejected_too_large},
              {"pushes", c.pushes},
              {"redeliveries", c.redeliveries},
              {"confirms", c.confirms},
              {"confirms_unknown", c.confirms_unknown},
              {"expired", c.expired},
              {"purged", c.purged}};
}

json latency_json(const latency_buckets& b) { return json{{"counts", b.counts}, {"sum_ns", b.sum_ns}}; }

std::string required_uri(const json& req) {
  if (!req.contains("uri") || !req["uri"].is_string()) throw std::runtime_error("\"uri\" (a string) is required");
  return req["uri"];
}

// Settings a reload cannot change in a running broker.
std::vector<std::string> restart_only_changes(const broker_config& a, const broker_config& b) {
  std::vector<std::string> out;
  if (a.listen != b.listen) out.emplace_back("node.listen");
  if (a.base_port != b.base_port) out.emplace_back("node.base_port");
  if (a.node_id != b.node_id) out.emplace_back("node.id");
  if (a.shard_cnt != b.shard_cnt) out.emplace_back("shards.count");
  if (a.cores != b.cores) out.emplace_back("shards.cores");
  if (a.idle != b.idle) out.emplace_back("shards.idle");
  if (a.datapath.mode != b.datapath.mode || a.datapath.interface != b.datapath.interface) out.emplace_back("datapath");
  if (a.session.max_datagram_sz != b.session.max_datagram_sz || a.session.max_message_sz != b.session.max_message_sz ||
      a.session.send_window != b.session.send_window) {
    out.emplace_back("session");
  }
  if (a.max_sessions != b.max_sessions || a.max_queues != b.max_queues ||
      a.message_memory_bytes != b.message_memory_bytes) {
    out.emplace_back("limits");
  }
  return out;
}

}  // namespace

json broker_service::hello() const {
  json shards = json::array();
  for (const auto& s : _shards) {
    const auto& st = s->stats();
    shards.push_back({{"index", s->index()},
                      {"port", s->port()},
                      {"cpu", st.cpu.load()},
                      {"numa_node", st.numa_node.load()},
                      {"running", st.running.load()},
                      {"serving", _serving[s->index()] ? true : false},
                      {"port_mode", s->port_description().empty() ? "kernel UDP" : s->port_description()}});
  }
  json r = ok_reply();
  r["node_id"] = _cfg.node_id;
  r["version"] = "0.1.0";
  r["pid"] = ::getpid();
  r["started_unix"] = _started_unix;
  r["uptime_s"] = static_cast<std::int64_t>(std::time(nullptr)) - _started_unix;
  r["listen"] = _cfg.listen;
  r["base_port"] = _cfg.base_port;
  r["datapath"] = to_string(_cfg.datapath.mode);
  r["xdp"] = _steering != nullptr ? _steering->description() : "";
  r["config"] = _current->source;
  r["reloads"] = _reloads;
  r["draining"] = _draining;
  r["shards"] = shards;
  json domains = json::array();
  for (const auto& d : _current->domains) {
    domains.push_back({{"name", d.name},
                       {"mode", to_string(d.mode)},
                       {"storage", d.storage == storage_kind::disk ? "disk" : "memory"},
                       {"app_ids", d.app_ids},
                       {"max_messages", d.max_messages},
                       {"max_bytes", d.max_bytes},
                       {"message_ttl_ms", d.message_ttl_ns / k_ns_per_ms}});
  }
  r["domains"] = domains;
  return r;
}

json broker_service::stats() const {
  json shards = json::array();
  for (const auto& s : _shards) {
    const auto& st = s->stats();
    json j = {{"index", s->index()},     {"sessions", ld(st.sessions)},   {"queues", ld(st.queues)},
              {"sessions_refused", ld(st.sessions_refused)},
              {"sessions_refused_draining", ld(st.sessions_refused_draining)},
              {"puts", ld(st.puts)},     {"acks", ld(st.acks)},           {"pushes", ld(st.pushes)},
              {"confirms", ld(st.confirms)}, {"redirects", ld(st.redirects)}, {"errors", ld(st.errors)},
              {"bad_datagrams", ld(st.bad_datagrams)}, {"loops", ld(st.loops)},
              {"loop_gap_max_ns", ld(st.loop_gap_max_ever_ns)},
              {"loop_gaps_over_10ms", ld(st.loop_gaps_over_10ms)},
              {"query_wait_max_ever_ns", ld(st.query_wait_max_ever_ns)},
              {"busy_loops", ld(st.busy_loops)}, {"memory_bytes", ld(st.memory_bytes)}};
    j["journal"] = {{"commits", ld(st.journal_commits)},           {"bytes", ld(st.journal_bytes)},
                    {"backpressure", ld(st.journal_backpressure)}, {"deferred", ld(st.journal_deferred)},
                    {"dropped", ld(st.journal_dropped)},           {"segments", ld(st.journal_segments)},
                    {"acks_pending", ld(st.acks_pending)}};
    json lat = json::array();
    for (const auto& c : st.journal_commit_latency) lat.push_back(ld(c));
    j["journal"]["commit_latency"] = {{"bounds_ns", latency_buckets::k_bounds_ns},
                                      {"counts", lat},
                                      {"sum_ns", ld(st.journal_commit_latency_sum_ns)}};
    if (_steering != nullptr) {
      j["af_xdp"] = {{"rx_xsk", ld(st.rx_xsk)},           {"rx_kernel", ld(st.rx_kernel)},
                     {"rx_invalid", ld(st.rx_invalid)},   {"forwarded_out", ld(st.forwarded_out)},
                     {"forwarded_in", ld(st.forwarded_in)}, {"forward_dropped", ld(st.forward_dropped)},
                     {"tx_xsk", ld(st.tx_xsk)},           {"tx_kernel", ld(st.tx_kernel)},
                     {"tx_dropped", ld(st.tx_dropped)}};
    }
    shards.push_back(j);
  }
  json r = ok_reply();
  r["shards"] = shards;
  if (_steering != nullptr) {
    json x = json::object();
    const auto c = _steering->counters();
    for (unsigned i = 0; i < c.size(); ++i) x[sluice_xdp_counter_name(i)] = c[i];
    r["xdp"] = x;
  }
  return r;
}

json broker_service::queues() {
  json list = json::array();
  const auto qs = ask(query_kind::list_queues, nullptr);
  for (std::size_t i = 0; i < qs.size(); ++i) {
    for (const auto& q : qs[i]->queues) {
      list.push_back({{"uri", q.uri},
                      {"domain", q.domain},
                      {"mode", to_string(q.mode)},
                      {"shard", i},
                      {"messages", q.messages},
                      {"bytes", q.bytes},
                      {"consumers", q.consumers},
                      {"unconfirmed", q.unconfirmed},
                      {"producers", q.producers},
                      {"counters", counters_json(q.ctr)},
                      {"latency", {{"bounds_ns", latency_buckets::k_bounds_ns},
                                   {"ack", latency_json(q.ctr.ack_latency)},
                                   {"e2e", latency_json(q.ctr.e2e_latency)}}}});
    }
  }
  json r = ok_reply();
  r["queues"] = list;
  return r;
}

json broker_service::sessions() {
  json list = json::array();
  const auto qs = ask(query_kind::list_sessions, nullptr);
  for (std::size_t i = 0; i < qs.size(); ++i) {
    for (const auto& s : qs[i]->sessions) {
      list.push_back({{"shard", i},
                      {"id", s.id},
                      {"peer", s.peer.to_string()},
                      {"queues", s.queues},
                      {"in_flight", s.in_flight},
                      {"srtt_us", static_cast<double>(s.srtt_ns) / 1e3},
                      {"frames_sent", s.ctr.frames_sent},
                      {"frames_delivered", s.ctr.frames_delivered},
                      {"retransmits", s.ctr.retransmits_timer + s.ctr.retransmits_nak}});
    }
  }
  json r = ok_reply();
  r["sessions"] = list;
  return r;
}

json broker_service::purge_or_delete(const json& req, bool remove) {
  const std::string uri = required_uri(req);
  const auto owner = static_cast<int>(shard_protocol::owner_of(uri, static_cast<std::uint32_t>(_shards.size())));
  const auto qs = ask(remove ? query_kind::delete_queue : query_kind::purge_queue,
                      [&](shard_query& q) { q.uri = uri; }, owner);
  if (!qs[0]->found) return error_reply("no queue " + uri + " (queues exist once opened)");
  json r = ok_reply();
  r["uri"] = uri;
  r[remove ? "deleted_messages" : "purged"] = qs[0]->count;
  return r;
}

json broker_service::close_session(const json& req) {
  if (!req.contains("session") || !req["session"].is_number_unsigned()) {
    throw std::runtime_error("\"session\" (the session id, a number) is required");
  }
  const std::uint64_t id = req["session"];
  const auto qs = ask(query_kind::close_session, [&](shard_query& q) { q.session_id = id; });
  for (const auto& q : qs) {
    if (q->found) return ok_reply();
  }
  return error_reply("no open session " + std::to_string(id));
}

json broker_service::reload(const json& req) {
  if (!req.contains("config") || !req["config"].is_string()) {
    throw std::runtime_error("\"config\" (the TOML text) is required");
  }
  const std::string source = req.value("source", std::string("reload"));
  std::string err;
  auto parsed = parse_config(req["config"].get<std::string>(), source, err);
  if (!parsed) return error_reply("config refused, the running one is kept: " + err);
  // Only the domains change in a running broker; everything else stays as
  // started (and is reported, so nobody believes a restart-only change took).
  auto snap = std::make_unique<broker_config>(*_current);
  snap->domains = parsed->domains;
  snap->source = source;
  json added = json::array(), changed = json::array(), removed = json::array();
  for (const auto& d : snap->domains) {
    const auto* old = _current->find_domain(d.name);
    if (old == nullptr) {
      added.push_back(d.name);
    } else if (old->mode != d.mode || old->app_ids != d.app_ids || old->max_messages != d.max_messages ||
               old->max_bytes != d.max_bytes || old->message_ttl_ns != d.message_ttl_ns || old->storage != d.storage) {
      changed.push_back(d.name);
    }
  }
  for (const auto& d : _current->domains) {
    if (snap->find_domain(d.name) == nullptr) removed.push_back(d.name);
  }
  std::shared_ptr<const broker_config> next = std::move(snap);
  const auto qs = submit(query_kind::set_config, [&](shard_query& q) { q.config = next; }, -1);
  // Every shard has it now and applies it before any later request: it is
  // the broker's config from here on, whether or not each shard answers in
  // time. A shard that answers late holds its own reference (the query's).
  _current = std::move(next);
  ++_reloads;
  const auto late = await(qs);
  std::uint64_t kept = 0;
  for (const auto& q : qs) {
    if (q->done.load(std::memory_order_acquire)) kept += q->count;
  }
  json r = ok_reply();
  r["added"] = added;
  r["changed"] = changed;
  r["removed"] = removed;
  r["queues_keeping_old_definition"] = kept;
  r["restart_needed_for"] = restart_only_changes(_cfg, *parsed);
  r["pending_shards"] = late;
  if (!late.empty()) {
    std::string which;
    for (const auto i : late) which += (which.empty() ? "" : ", ") + std::to_string(i);
    r["warning"] = "shard(s) " + which + " did not answer within " + std::to_string(k_answer_wait.count()) +
                   " ms (busy or not running): they hold the new config and apply it before anything else they do";
  }
  return r;
}

json broker_service::partitions(const json& req) {
  if (!req.contains("serving") || !req["serving"].is_array() || req["serving"].size() != _shards.size()) {
    throw std::runtime_error("\"serving\": one boolean per shard (" + std::to_string(_shards.size()) + ")");
  }
  // A change counts once handed over (the shard applies it in ring order,
  // however late), so _serving is the state each shard is heading for and a
  // later request compares against that, never against a stale answer.
  std::vector<std::shared_ptr<shard_query>> qs;
  for (std::size_t i = 0; i < _shards.size(); ++i) {
    const bool on = req["serving"][i].get<bool>();
    if (on == _serving[i]) continue;
    auto q = submit(query_kind::set_serving, [&](shard_query& sq) { sq.flag = on; }, static_cast<int>(i));
    _serving[i] = on;
    qs.push_back(std::move(q.front()));
  }
  const auto late = await(qs);
  json r = ok_reply();
  r["pending_shards"] = late;
  return r;
}

json broker_service::drain(const json& req) {
  const bool on = req.value("on", true);
  const auto qs = submit(query_kind::set_draining, [&](shard_query& q) { q.flag = on; }, -1);
  _draining = on;  // handed over: every shard applies it, however late
  const auto late = await(qs);
  std::uint64_t sessions = 0;
  for (const auto& s : _shards) sessions += ld(s->stats().sessions);
  json r = ok_reply();
  r["draining"] = on;
  r["sessions"] = sessions;
  r["pending_shards"] = late;
  return r;
}

}  // namespace sluice::broker
