#include "control/control_node.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace sluice::control {

using json = nlohmann::json;

namespace {

json ok_reply() { return json{{"ok", true}}; }
json error_reply(const std::string& why) { return json{{"ok", false}, {"error", why}}; }

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

control_node::control_node(std::string config_path, std::string config_text, broker::broker_config cfg)
    : _config_path(std::move(config_path)),
      _config_text(std::move(config_text)),
      _cfg(std::move(cfg)),
      _link(_cfg.control.broker_socket),
      _started(std::chrono::steady_clock::now()),
      _membership(make_membership(_cfg)) {}

control_node::~control_node() { stop(); }

void control_node::start() {
  _membership->start([this] { wake_pusher(); });
  _link.start([this](const json& hello) { return resync(hello); });
  _sampler = std::thread([this] { sampler(); });
  _pusher = std::thread([this] { pusher(); });
}

void control_node::stop() {
  _stop.store(true);
  _membership->leave();  // serving() is all false from here on
  wake_pusher();
  if (_sampler.joinable()) _sampler.join();
  if (_pusher.joinable()) {
    _pusher.join();
    // Leaving the cluster: the broker stops serving before the lease is
    // revoked (after which the others take over at once). Static mode has
    // nothing to hand over and keeps serving.
    if (_link.connected() && !push_serving()) spdlog::warn("stopping: the broker did not take the serving shards");
  }
  _membership->stop();
  _link.stop();
}

void control_node::wake_pusher() {
  {
    std::lock_guard lk(_push_mu);
    _push_wake = true;
  }
  _push_cv.notify_all();
}

bool control_node::push_serving() {
  std::lock_guard call_lk(_push_call_mu);  // resync and the pusher: the later push carries the later vector
  const std::vector<bool> want = _membership->serving();
  {
    std::lock_guard lk(_push_mu);
    if (want == _pushed) return true;
  }
  const json r = _link.call(json{{"cmd", "partitions"}, {"serving", want}});
  std::lock_guard lk(_push_mu);
  if (!r.value("ok", false)) {
    _pushed.clear();
    if (_link.connected()) spdlog::warn("pushing the serving shards: {}", r.value("error", std::string("?")));
    return false;
  }
  std::string on;
  for (std::size_t i = 0; i < want.size(); ++i) on += want[i] ? std::to_string(i) + " " : "";
  spdlog::info("broker now serves shards [{}]", on.empty() ? "none" : on.substr(0, on.size() - 1));
  _pushed = want;
  return true;
}

void control_node::pusher() {
  while (!_stop.load()) {
    const bool ok = !_link.connected() || push_serving();
    // Wake on a membership change, at the lease deadline (fencing), or to retry.
    auto until = std::min(_membership->next_deadline(),
                          std::chrono::steady_clock::now() + std::chrono::milliseconds(ok ? 1000 : 300));
    std::unique_lock lk(_push_mu);
    _push_cv.wait_until(lk, until, [this] { return _push_wake || _stop.load(); });
    _push_wake = false;
  }
}

bool control_node::resync(const json& hello) {
  std::string text;
  {
    std::lock_guard lk(_mu);
    text = _config_text;
  }
  spdlog::info("broker pid {} connected: pushing domains and partition map", hello.value("pid", -1));
  const json r = _link.call(json{{"cmd", "reload"}, {"config", text}, {"source", _config_path.empty() ? std::string("embedded default") : _config_path}});
  if (!r.value("ok", false)) {
    spdlog::warn("resync: broker refused the domains: {}", r.value("error", std::string("?")));
    return false;
  }
  {
    std::lock_guard lk(_push_mu);
    _pushed.clear();  // a new broker (or connection): it must hear the vector again
  }
  if (!push_serving()) {
    spdlog::warn("resync: broker refused the serving shards");
    return false;
  }
  return true;
}

void control_node::sampler() {
  while (!_stop.load()) {
    sample s;
    s.stats = _link.call(json{{"cmd", "stats"}});
    s.queues = s.stats.value("ok", false) ? _link.call(json{{"cmd", "queues"}}) : json::object();
    s.at = std::chrono::steady_clock::now();
    s.valid = s.stats.value("ok", false) && s.queues.value("ok", false);
    {
      std::lock_guard lk(_mu);
      if (s.valid) {
        _prev = std::move(_last);
        _last = std::move(s);
      } else {
        _last.valid = false;  // stale figures must not pass for live ones
      }
    }
    for (int i = 0; i < 10 && !_stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

json control_node::handle(const json& req) {
  const std::string cmd = req["cmd"];
  if (cmd == "status") return status();
  if (cmd == "members") return members();
  if (cmd == "partitions") return partitions();
  if (cmd == "domains") {
    json hello = _link.call(json{{"cmd", "hello"}});
    if (!hello.value("ok", false)) return hello;
    json r = ok_reply();
    r["domains"] = hello["domains"];
    r["config"] = hello["config"];
    return r;
  }
  if (cmd == "queues" || cmd == "queue_info") return queues(req);
  if (cmd == "queue_purge" || cmd == "queue_delete") {
    if (!req.contains("uri") || !req["uri"].is_string()) return error_reply("\"uri\" (a string) is required");
    return _link.call(json{{"cmd", cmd}, {"uri", req["uri"]}});
  }
  if (cmd == "sessions") return _link.call(json{{"cmd", "sessions"}});
  if (cmd == "session_close") {
    if (!req.contains("session") || !req["session"].is_number_unsigned()) {
      return error_reply("\"session\" (the session id, a number) is required");
    }
    return _link.call(json{{"cmd", "session_close"}, {"session", req["session"]}});
  }
  if (cmd == "stats") {
    json r = _link.call(json{{"cmd", "stats"}});
    if (r.value("ok", false)) {
      std::lock_guard lk(_mu);
      r["control"] = {{"reloads_ok", _reloads_ok}, {"reloads_refused", _reloads_refused}, {"reloads_unknown", _reloads_unknown},
                      {"broker_resyncs", _link.resyncs()}};
    }
    return r;
  }
  if (cmd == "log_level") return log_level(req);
  if (cmd == "reload") return reload();
  if (cmd == "drain") return drain(req);
  return error_reply("unknown command \"" + cmd +
                     "\"; commands: status, members, partitions, domains, queues, queue_info, queue_purge, "
                     "queue_delete, sessions, session_close, stats, log_level, reload, drain");
}

json control_node::status() {
  json r = ok_reply();
  r["node_id"] = _cfg.node_id;
  r["version"] = "0.1.0";
  r["control_pid"] = ::getpid();
  r["control_uptime_s"] = static_cast<std::int64_t>(seconds_between(_started, std::chrono::steady_clock::now()));
  const membership_view mv = _membership->view();
  r["membership"] = mv.mode;
  r["membership_state"] = mv.state;
  r["membership_detail"] = mv.detail;
  r["epoch"] = mv.map.epoch;
  r["members"] = mv.members.size();
  r["lease_left_ms"] = mv.lease_left_ms;
  r["serving"] = mv.serving;
  const json hello = _link.call(json{{"cmd", "hello"}});
  r["broker_connected"] = hello.value("ok", false);
  if (!hello.value("ok", false)) {
    r["broker_error"] = hello.value("error", std::string("?"));
    return r;
  }
  json broker = hello;
  broker.erase("ok");
  broker.erase("id");
  broker.erase("domains");
  // Shard load: the share of loop iterations that did work, over the last
  // sampling interval when there is one.
  std::lock_guard lk(_mu);
  if (_last.valid && _prev.valid) {
    for (auto& sh : broker["shards"]) {
      const std::size_t i = sh["index"];
      const auto& a = _prev.stats["shards"][i];
      const auto& b = _last.stats["shards"][i];
      const double loops = b["loops"].get<double>() - a["loops"].get<double>();
      const double busy = b["busy_loops"].get<double>() - a["busy_loops"].get<double>();
      sh["load_pct"] = loops > 0 ? 100.0 * busy / loops : 0.0;
      sh["sessions"] = b["sessions"];
      sh["queues"] = b["queues"];
    }
  }
  r["broker"] = broker;
  return r;
}

json control_node::members() const {
  const membership_view mv = _membership->view();
  json list = json::array();
  for (const auto& m : mv.members) {
    list.push_back({{"node_id", m.id}, {"self", m.id == _cfg.node_id}, {"listen", m.advertise},
                    {"base_port", m.base_port}, {"shards", m.shard_cnt}, {"control_pid", m.control_pid}});
  }
  json r = ok_reply();
  r["membership"] = mv.mode;
  r["state"] = mv.state;
  r["detail"] = mv.detail;
  r["epoch"] = mv.map.epoch;
  r["members"] = list;
  return r;
}

json control_node::partitions() const {
  const membership_view mv = _membership->view();
  json r = ok_reply();
  r["membership"] = mv.mode;
  r["state"] = mv.state;
  r["epoch"] = mv.map.epoch;
  r["revision"] = mv.map_revision;
  r["written_by"] = mv.map.written_by;
  r["reason"] = mv.map.reason;
  r["lease_valid"] = mv.lease_valid;
  r["serving_shards"] = mv.serving;
  r["partitions"] = to_json(mv.map, _cfg.node_id, mv.serving);
  return r;
}

namespace {

// The upper bound (µs) of the bucket holding quantile `q` of the counts
// that arrived between two samples; null when nothing arrived.
json interval_quantile_us(const json& now, const json& before, const json& bounds, double q) {
  if (!now.is_object() || !now.contains("counts")) return nullptr;
  std::vector<double> d(now["counts"].size());
  double total = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const double b = before.is_object() && before.contains("counts") ? before["counts"][i].get<double>() : 0.0;
    d[i] = now["counts"][i].get<double>() - b;
    total += d[i];
  }
  if (total <= 0) return nullptr;
  double seen = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    seen += d[i];
    if (seen >= q * total) return i < bounds.size() ? json(bounds[i].get<double>() / 1e3) : json("> 1 s");
  }
  return nullptr;
}

}  // namespace

json control_node::queue_rows() {
  json rows = json::array();
  if (!_last.valid) return rows;
  const double dt = _prev.valid ? seconds_between(_prev.at, _last.at) : 0;
  for (const auto& q : _last.queues["queues"]) {
    json row = q;
    double in = 0, out = 0;
    json before = json::object();
    if (dt > 0) {
      for (const auto& p : _prev.queues["queues"]) {
        if (p["uri"] != q["uri"]) continue;
        in = (q["counters"]["puts"].get<double>() - p["counters"]["puts"].get<double>()) / dt;
        out = (q["counters"]["pushes"].get<double>() - p["counters"]["pushes"].get<double>()) / dt;
        before = p.value("latency", json::object());
      }
    }
    row["in_per_s"] = in;
    row["out_per_s"] = out;
    // Latency over the last interval (bucket upper bounds: 1-2-5 steps).
    const json lat = q.value("latency", json::object());
    if (lat.contains("bounds_ns")) {
      row["ack_p99_us"] = interval_quantile_us(lat["ack"], before.value("ack", json()), lat["bounds_ns"], 0.99);
      row["e2e_p50_us"] = interval_quantile_us(lat["e2e"], before.value("e2e", json()), lat["bounds_ns"], 0.50);
      row["e2e_p99_us"] = interval_quantile_us(lat["e2e"], before.value("e2e", json()), lat["bounds_ns"], 0.99);
    }
    rows.push_back(row);
  }
  return rows;
}

json control_node::queues(const json& req) {
  const bool info = req["cmd"] == "queue_info";
  if (info && (!req.contains("uri") || !req["uri"].is_string())) return error_reply("\"uri\" (a string) is required");
  // Figures of a broker that has gone are not served as current ones.
  if (!_link.connected()) return error_reply("the broker is not connected (" + _link.socket_path() + ")");
  std::lock_guard lk(_mu);
  if (!_last.valid) return error_reply("no figures from the broker yet (is it running? " + _link.socket_path() + ")");
  json rows = queue_rows();
  if (info) {
    for (const auto& r : rows) {
      if (r["uri"] == req["uri"]) return json{{"ok", true}, {"queue", r}};
    }
    return error_reply("no queue " + req["uri"].get<std::string>() + " (queues exist once opened)");
  }
  json r = ok_reply();
  r["queues"] = rows;
  r["sampled_s_ago"] = seconds_between(_last.at, std::chrono::steady_clock::now());
  return r;
}

json control_node::reload() {
  std::ifstream in(_config_path);
  if (_config_path.empty() || !in) {
    std::lock_guard lk(_mu);
    ++_reloads_refused;
    return error_reply("cannot read " + (_config_path.empty() ? std::string("(no config file: started with the "
                                                                            "embedded default)")
                                                              : _config_path) +
                       "; the running config is kept");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string err;
  const auto parsed = broker::parse_config(ss.str(), _config_path, err);
  if (!parsed) {
    std::lock_guard lk(_mu);
    ++_reloads_refused;
    spdlog::warn("reload refused: {}", err);
    return error_reply("config refused, the running one is kept: " + err);
  }
  json r = _link.call(json{{"cmd", "reload"}, {"config", ss.str()}, {"source", _config_path.empty() ? std::string("embedded default") : _config_path}});
  std::lock_guard lk(_mu);
  if (r.value("ok", false)) {
    _config_text = ss.str();
    _cfg.domains = parsed->domains;
    ++_reloads_ok;
    spdlog::info("reloaded {}: {}", _config_path, r.dump());
    if (r.contains("warning")) spdlog::warn("reload: {}", r["warning"].get<std::string>());
  } else if (r.value("outcome_unknown", false)) {
    // The broker may have taken it. The file parsed, so the broker will not
    // refuse it: adopt it and push it again at the next probe, so broker and
    // control plane end on the same config whichever way this went.
    _config_text = ss.str();
    _cfg.domains = parsed->domains;
    ++_reloads_unknown;
    _link.resync_soon();
    spdlog::warn("reload of {}: {}; the new config is pushed to the broker again", _config_path,
                 r.value("error", std::string("?")));
    r["error"] = r.value("error", std::string("?")) +
                 ": the outcome is unknown; the new config is kept and pushed to the broker again when it answers "
                 "(see `sluicectl status`)";
  } else {
    ++_reloads_refused;
  }
  return r;
}

json control_node::drain(const json& req) {
  const bool on = req.value("on", true);
  json r = _link.call(json{{"cmd", "drain"}, {"on", on}});
  if (!r.value("ok", false)) return r;
  const json q = _link.call(json{{"cmd", "queues"}});
  std::uint64_t left = 0;
  if (q.value("ok", false)) {
    for (const auto& row : q["queues"]) left += row["messages"].get<std::uint64_t>();
  }
  r["messages_left"] = left;
  // Without replication there is nobody to hand queues to: the node is
  // drained when its queues are empty.
  r["done"] = on && q.value("ok", false) && left == 0;
  return r;
}

json control_node::log_level(const json& req) {
  if (!req.contains("level") || !req["level"].is_string()) {
    return error_reply("\"level\" is required: trace, debug, info, warn, error, critical or off");
  }
  const std::string name = req["level"];
  const auto level = spdlog::level::from_str(name);
  if (level == spdlog::level::off && name != "off") {
    return error_reply("unknown level \"" + name + "\": trace, debug, info, warn, error, critical or off");
  }
  const auto old = spdlog::get_level();
  spdlog::set_level(level);
  json r = ok_reply();
  r["old"] = std::string(spdlog::level::to_string_view(old).data(), spdlog::level::to_string_view(old).size());
  r["level"] = name;
  return r;
}

}  // namespace sluice::control
