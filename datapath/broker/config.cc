#include "datapath/broker/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

#include "common/net_addr.h"

namespace sluice::broker {

const char* const k_default_config = R"(# sluice-broker embedded default: one node on loopback
[node]
id = 1
listen = "127.0.0.1"
base_port = 7600

[shards]
count = 2
idle = "adaptive"

[[domain]]
name = "prio"
mode = "priority"

[[domain]]
name = "fan"
mode = "fanout"
app_ids = ["audit", "billing"]

[[domain]]
name = "bcast"
mode = "broadcast"
)";

const char* to_string(domain_mode m) noexcept {
  switch (m) {
    case domain_mode::priority: return "priority";
    case domain_mode::fanout: return "fanout";
    case domain_mode::broadcast: return "broadcast";
  }
  return "?";
}

const char* to_string(idle_policy p) noexcept { return p == idle_policy::busy ? "busy" : "adaptive"; }
const char* to_string(datapath_mode m) noexcept { return m == datapath_mode::af_xdp ? "af_xdp" : "udp"; }

const domain_config* broker_config::find_domain(std::string_view name) const noexcept {
  for (const auto& d : domains) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

bool broker_config::has_disk_domains() const noexcept {
  for (const auto& d : domains) {
    if (d.storage == storage_kind::disk) return true;
  }
  return false;
}

namespace {

// One table of the file: typed getters that range-check and remember which
// keys were used, so finish() can reject the unknown ones.
class section {
 public:
  section(std::string_view source, const toml::table* t, std::string prefix, std::string& err)
      : _source(source), _t(t), _prefix(std::move(prefix)), _err(err) {}

  template <class T>
  void integer(const char* key, T& out, std::int64_t lo, std::int64_t hi) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    const auto v = n->value<std::int64_t>();
    if (!v || !n->is_integer()) return fail(n, key, "must be an integer");
    if (*v < lo || *v > hi) {
      return fail(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    out = static_cast<T>(*v);
  }
  void string(const char* key, std::string& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (!n->is_string()) return fail(n, key, "must be a string");
    out = *n->value<std::string>();
  }
  template <class E, std::size_t N>
  void choice(const char* key, E& out, const std::pair<const char*, E> (&options)[N]) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    const auto v = n->value<std::string>();
    std::string allowed;
    for (const auto& [name, value] : options) {
      if (v && *v == name) {
        out = value;
        return;
      }
      allowed += std::string(allowed.empty() ? "" : " or ") + "\"" + name + "\"";
    }
    fail(n, key, (v ? "\"" + *v + "\" is not known; " : std::string()) + "must be " + allowed);
  }
  void strings(const char* key, std::vector<std::string>& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    const toml::array* a = n->as_array();
    if (a == nullptr) return fail(n, key, "must be an array of strings");
    out.clear();
    for (const auto& e : *a) {
      if (!e.is_string()) return fail(&e, key, "must be an array of strings");
      out.push_back(*e.value<std::string>());
    }
  }
  void boolean(const char* key, bool& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (!n->is_boolean()) return fail(n, key, "must be true or false");
    out = *n->value<bool>();
  }
  void integers(const char* key, std::vector<int>& out, int lo, int hi) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    const toml::array* a = n->as_array();
    if (a == nullptr) return fail(n, key, "must be an array of integers");
    out.clear();
    for (const auto& e : *a) {
      const auto v = e.value<std::int64_t>();
      if (!e.is_integer() || !v || *v < lo || *v > hi) {
        return fail(&e, key, "must hold integers between " + std::to_string(lo) + " and " + std::to_string(hi));
      }
      out.push_back(static_cast<int>(*v));
    }
  }
  // Rejects keys nobody asked for.
  void finish() {
    if (_t == nullptr) return;
    for (const auto& [k, v] : *_t) {
      if (_used.count(std::string(k.str())) == 0) fail(&v, std::string(k.str()).c_str(), "unknown setting");
    }
  }
  void fail(const toml::node* n, const char* key, const std::string& why) {
    if (!_err.empty()) return;  // first error wins
    const auto line = n ? n->source().begin.line : 0;
    _err = std::string(_source) + ":" + std::to_string(line) + ": " + _prefix + key + ": " + why;
  }

 private:
  const toml::node* get(const char* key) {
    _used.insert(key);
    return _t ? _t->get(key) : nullptr;
  }
  std::string_view _source;
  const toml::table* _t;
  std::string _prefix;
  std::string& _err;
  std::set<std::string> _used;
};

bool name_ok(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
             std::string::npos;
}

// "" when every endpoint is http://HOST:PORT, else what is wrong with the first bad one.
std::string endpoint_problem(const std::vector<std::string>& endpoints) {
  for (const auto& e : endpoints) {
    const std::string_view v = e;
    const bool http = v.substr(0, 7) == "http://";
    const std::string_view hp = http ? v.substr(7) : v;
    const std::size_t colon = hp.rfind(':');
    const std::string_view port = colon == std::string_view::npos ? std::string_view() : hp.substr(colon + 1);
    const bool digits = !port.empty() && port.size() <= 5 &&
                        port.find_first_not_of("0123456789") == std::string_view::npos;
    const bool port_ok = digits && std::stoi(std::string(port)) >= 1 && std::stoi(std::string(port)) <= 65535;
    if (v.substr(0, 8) == "https://") return "\"" + e + "\": https is not supported; use http://HOST:PORT";
    if (!http || colon == 0 || !port_ok || hp.find('/') != std::string_view::npos) {
      return "\"" + e + "\" is not http://HOST:PORT (etcd's client URL, e.g. http://127.0.0.1:2379)";
    }
  }
  return {};
}

void read_domain(std::string_view source, const toml::table& t, std::size_t idx, broker_config& cfg,
                 std::string& err) {
  domain_config d;
  section s(source, &t, "domain[" + std::to_string(idx) + "].", err);
  s.string("name", d.name);
  s.choice("mode", d.mode,
           {std::pair{"priority", domain_mode::priority}, std::pair{"fanout", domain_mode::fanout},
            std::pair{"broadcast", domain_mode::broadcast}});
  s.choice("storage", d.storage, {std::pair{"memory", storage_kind::memory}, std::pair{"disk", storage_kind::disk}});
  s.strings("app_ids", d.app_ids);
  s.integer("max_messages", d.max_messages, 1, 1'000'000'000);
  s.integer("max_bytes", d.max_bytes, 1, std::int64_t{1} << 50);
  std::int64_t ttl_ms = 0;
  s.integer("message_ttl_ms", ttl_ms, 0, std::int64_t{365} * 24 * 3600 * 1000);
  d.message_ttl_ns = ttl_ms * k_ns_per_ms;
  s.finish();
  if (!err.empty()) return;
  const auto line = t.source().begin.line;
  const auto here = std::string(source) + ":" + std::to_string(line) + ": domain[" + std::to_string(idx) + "]";
  if (!name_ok(d.name)) {
    err = here + ".name: required; 1-64 characters of [A-Za-z0-9_.-]";
  } else if (cfg.find_domain(d.name) != nullptr) {
    err = here + ".name: domain \"" + d.name + "\" is defined twice";
  } else if (d.storage == storage_kind::disk && d.mode == domain_mode::broadcast) {
    err = here + ".storage: broadcast domains store nothing; \"disk\" needs a priority or fanout domain";
  } else if (d.mode == domain_mode::fanout && (d.app_ids.empty() || d.app_ids.size() > k_app_ids_max)) {
    err = here + ".app_ids: a fanout domain needs 1 to " + std::to_string(k_app_ids_max) + " app ids";
  } else if (d.mode != domain_mode::fanout && !d.app_ids.empty()) {
    err = here + ".app_ids: only fanout domains have app ids";
  } else {
    for (std::size_t i = 0; i < d.app_ids.size() && err.empty(); ++i) {
      const auto& a = d.app_ids[i];
      if (a.empty() || a.size() > wire::k_app_id_sz_max) {
        err = here + ".app_ids: each app id is 1 to 64 bytes";
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (d.app_ids[j] == a) err = here + ".app_ids: \"" + a + "\" appears twice";
      }
    }
  }
  if (err.empty()) cfg.domains.push_back(std::move(d));
}

}  // namespace

std::optional<broker_config> parse_config(std::string_view text, std::string_view source, std::string& err) {
  err.clear();
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    err = std::string(source) + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description());
    return std::nullopt;
  }
  broker_config cfg;
  cfg.source = std::string(source);

  section top(source, &root, "", err);
  const auto table_of = [&](const char* key) -> const toml::table* {
    const toml::node* n = root.get(key);
    if (n != nullptr && !n->is_table()) top.fail(n, key, "must be a table ([" + std::string(key) + "])");
    return n ? n->as_table() : nullptr;
  };

  section node(source, table_of("node"), "node.", err);
  node.integer("id", cfg.node_id, 1, 65535);
  node.string("listen", cfg.listen);
  node.integer("base_port", cfg.base_port, 1, 65535);
  node.finish();

  section shards(source, table_of("shards"), "shards.", err);
  shards.integer("count", cfg.shard_cnt, 1, 64);
  shards.integers("cores", cfg.cores, 0, 4095);
  shards.choice("idle", cfg.idle, {std::pair{"adaptive", idle_policy::adaptive}, std::pair{"busy", idle_policy::busy}});
  std::int64_t spin_us = cfg.spin_ns / k_ns_per_us;
  shards.integer("spin_us", spin_us, 0, 1'000'000);
  cfg.spin_ns = spin_us * k_ns_per_us;
  shards.finish();

  section limits(source, table_of("limits"), "limits.", err);
  limits.integer("max_sessions", cfg.max_sessions, 1, 65536);
  limits.integer("chunk_cnt", cfg.chunk_cnt, 1024, 1 << 24);
  std::int64_t mem_mb = static_cast<std::int64_t>(cfg.message_memory_bytes >> 20);
  limits.integer("message_memory_mb", mem_mb, 16, 1 << 20);
  cfg.message_memory_bytes = static_cast<std::uint64_t>(mem_mb) << 20;
  limits.integer("max_queues", cfg.max_queues, 1, 1 << 20);
  limits.integer("max_consumers", cfg.max_consumers, 1, 1 << 22);
  limits.integer("max_message_slots", cfg.max_message_slots, 1024, 1 << 28);
  limits.finish();

  section sess(source, table_of("session"), "session.", err);
  auto& sc = cfg.session;
  sess.integer("send_window", sc.send_window, 1, wire::k_window_max);
  sess.integer("recv_window", sc.recv_window, 1, wire::k_window_max);
  std::int64_t datagram_sz = 0;  // 0: not set (the default depends on the datapath mode)
  sess.integer("max_datagram_sz", datagram_sz, wire::k_datagram_sz_min, wire::k_datagram_sz_max);
  if (datagram_sz != 0) sc.max_datagram_sz = static_cast<std::uint16_t>(datagram_sz);
  sess.integer("max_message_sz", sc.max_message_sz, 1, wire::k_message_sz_max);
  std::int64_t idle_ms = sc.idle_timeout_ns / k_ns_per_ms;
  std::int64_t keepalive_ms = sc.keepalive_ns / k_ns_per_ms;
  sess.integer("idle_timeout_ms", idle_ms, 10, 3'600'000);
  sess.integer("keepalive_ms", keepalive_ms, 1, 3'600'000);
  sc.idle_timeout_ns = idle_ms * k_ns_per_ms;
  sc.keepalive_ns = keepalive_ms * k_ns_per_ms;
  sess.finish();

  section dp(source, table_of("datapath"), "datapath.", err);
  auto& dc = cfg.datapath;
  dp.choice("mode", dc.mode, {std::pair{"udp", datapath_mode::udp}, std::pair{"af_xdp", datapath_mode::af_xdp}});
  dp.string("interface", dc.interface);
  dp.integers("queues", dc.queues, 0, 4095);
  dp.choice("xdp_mode", dc.xdp_mode,
            {std::pair{"auto", xdp_attach_mode::auto_select}, std::pair{"native", xdp_attach_mode::native},
             std::pair{"skb", xdp_attach_mode::skb}});
  dp.choice("attach", dc.attach, {std::pair{"link", xdp_attach::link}, std::pair{"dispatcher", xdp_attach::dispatcher}});
  dp.integer("dispatcher_priority", dc.dispatcher_priority, 1, 1000);
  dp.boolean("zero_copy", dc.zero_copy);
  dp.boolean("busy_poll", dc.busy_poll);
  dp.integer("busy_poll_budget", dc.busy_poll_budget, 1, 1024);
  dp.integer("ring_size", dc.ring_size, 64, 16384);
  dp.boolean("hugepages", dc.hugepages);
  dp.finish();

  section ctl(source, table_of("control"), "control.", err);
  ctl.string("broker_socket", cfg.control.broker_socket);
  ctl.string("operator_socket", cfg.control.operator_socket);
  ctl.integers("allowed_uids", cfg.control.allowed_uids, 0, 1 << 30);
  ctl.integers("allowed_gids", cfg.control.allowed_gids, 0, 1 << 30);
  ctl.string("metrics_listen", cfg.control.metrics_listen);
  ctl.finish();

  section cl(source, table_of("cluster"), "cluster.", err);
  cl.choice("membership", cfg.cluster.membership,
            {std::pair{"static", membership_kind::static_single}, std::pair{"etcd", membership_kind::etcd}});
  cl.string("name", cfg.cluster.name);
  cl.strings("etcd_endpoints", cfg.cluster.etcd_endpoints);
  cl.integer("lease_ttl_ms", cfg.cluster.lease_ttl_ms, 500, 600'000);
  cl.integer("partitions", cfg.cluster.partitions, 0, 4096);
  cl.string("advertise", cfg.cluster.advertise);
  cl.finish();

  section stor(source, table_of("storage"), "storage.", err);
  auto& sg = cfg.storage;
  stor.string("dir", sg.dir);
  std::int64_t segment_mb = static_cast<std::int64_t>(sg.segment_sz >> 20);
  stor.integer("segment_mb", segment_mb, 4, 16384);
  sg.segment_sz = static_cast<std::uint64_t>(segment_mb) << 20;
  std::int64_t commit_kb = sg.group_commit_sz >> 10;
  stor.integer("group_commit_kb", commit_kb, 4, 1024);
  sg.group_commit_sz = static_cast<std::uint32_t>(commit_kb << 10);
  std::int64_t buffer_mb = static_cast<std::int64_t>(sg.buffer_sz >> 20);
  stor.integer("buffer_mb", buffer_mb, 4, 4096);
  sg.buffer_sz = static_cast<std::uint64_t>(buffer_mb) << 20;
  std::int64_t commit_us = sg.group_commit_ns / k_ns_per_us;
  stor.integer("group_commit_us", commit_us, 0, 100'000);
  sg.group_commit_ns = commit_us * k_ns_per_us;
  stor.choice("sync", sg.sync, {std::pair{"dsync", journal_sync::dsync}, std::pair{"fdatasync", journal_sync::fdatasync}});
  stor.boolean("salvage", sg.salvage);
  stor.integer("unacked_puts_max", sg.unacked_puts_max, 64, 1 << 22);
  stor.integer("compact_after_segments", sg.compact_after_segments, 2, 1 << 20);
  stor.integer("compact_live_pct", sg.compact_live_pct, 0, 100);
  stor.finish();

  section debug(source, table_of("debug"), "debug.", err);
  debug.choice("alloc_guard", cfg.alloc_guard,
               {std::pair{"off", alloc_guard::mode::off}, std::pair{"count", alloc_guard::mode::count},
                std::pair{"abort", alloc_guard::mode::abort}});
  debug.finish();

  if (const toml::node* doms = root.get("domain"); doms != nullptr && err.empty()) {
    const toml::array* arr = doms->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      top.fail(doms, "domain", "must be an array of tables ([[domain]])");
    } else {
      for (std::size_t i = 0; i < arr->size() && err.empty(); ++i) {
        read_domain(source, *arr->get(i)->as_table(), i, cfg, err);
      }
    }
  }
  // Unknown top-level tables.
  for (const auto& [k, v] : root) {
    const std::string key(k.str());
    if (key != "node" && key != "shards" && key != "limits" && key != "session" && key != "debug" &&
        key != "domain" && key != "datapath" && key != "control" && key != "cluster" && key != "storage") {
      top.fail(&v, key.c_str(), "unknown section");
    }
  }
  if (!err.empty()) return std::nullopt;

  const std::string at = std::string(source) + ": ";
  if (!net_addr::from_ip_port(cfg.listen, 1)) {
    err = at + "node.listen: \"" + cfg.listen + "\" is not an IPv4 or IPv6 address";
  } else if (std::uint32_t{cfg.base_port} + cfg.shard_cnt - 1 > 65535) {
    err = at + "node.base_port: base_port + shards.count - 1 must be a valid port";
  } else if (!cfg.cores.empty() && cfg.cores.size() < cfg.shard_cnt) {
    err = at + "shards.cores: lists " + std::to_string(cfg.cores.size()) + " cores for " +
          std::to_string(cfg.shard_cnt) + " shards (one per shard, or leave it empty)";
  } else if (cfg.domains.empty()) {
    err = at + "domain: at least one [[domain]] is needed";
  } else if (auto e = cfg.session.validate(); !e.empty()) {
    err = at + "session: " + e;
  } else if (cfg.chunk_cnt < cfg.session.send_window) {
    err = at + "limits.chunk_cnt: must be at least session.send_window";
  } else if (cfg.control.broker_socket.empty() || cfg.control.broker_socket.size() > 100) {
    err = at + "control.broker_socket: a Unix socket path of 1 to 100 characters";
  } else if (cfg.control.operator_socket.empty() || cfg.control.operator_socket.size() > 100) {
    err = at + "control.operator_socket: a Unix socket path of 1 to 100 characters";
  } else if (!cfg.control.metrics_listen.empty() && !net_addr::parse(cfg.control.metrics_listen)) {
    err = at + "control.metrics_listen: \"" + cfg.control.metrics_listen + "\" is not IP:PORT (or \"\" for off)";
  } else if (cfg.has_disk_domains() && cfg.storage.dir.empty()) {
    err = at + "storage.dir: disk domains need a journal directory";
  } else if (cfg.cluster.membership == membership_kind::etcd && cfg.cluster.etcd_endpoints.empty()) {
    err = at + "cluster.etcd_endpoints: etcd membership needs at least one endpoint";
  } else if (!name_ok(cfg.cluster.name)) {
    err = at + "cluster.name: \"" + cfg.cluster.name +
          "\": 1-64 characters of [A-Za-z0-9_.-] (it is part of etcd keys)";
  } else if (auto ep = endpoint_problem(cfg.cluster.etcd_endpoints); !ep.empty()) {
    err = at + "cluster.etcd_endpoints: " + ep;
  } else if (!cfg.cluster.advertise.empty() && !net_addr::from_ip_port(cfg.cluster.advertise, 1)) {
    err = at + "cluster.advertise: \"" + cfg.cluster.advertise +
          "\" is not an IPv4 or IPv6 address (or \"\" for node.listen)";
  } else if (!cfg.cluster.advertise.empty() && net_addr::from_ip_port(cfg.cluster.advertise, 1)->ip == net_addr{}.ip) {
    err = at + "cluster.advertise: a wildcard address cannot be reached; give this node's own address";
  } else if (cfg.datapath.mode == datapath_mode::af_xdp) {
    const auto& d = cfg.datapath;
    const auto a = net_addr::from_ip_port(cfg.listen, 1);
    if (d.interface.empty()) {
      err = at + "datapath.interface: af_xdp mode needs the interface to attach to";
    } else if (a->ip == net_addr{}.ip) {
      err = at + "node.listen: af_xdp mode needs a concrete address of " + d.interface + ", not \"" + cfg.listen + "\"";
    } else if (!d.queues.empty() && d.queues.size() != cfg.shard_cnt) {
      err = at + "datapath.queues: lists " + std::to_string(d.queues.size()) + " NIC queues for " +
            std::to_string(cfg.shard_cnt) + " shards (one per shard, or leave it empty for 0..count-1)";
    } else if ((d.ring_size & (d.ring_size - 1)) != 0) {
      err = at + "datapath.ring_size: must be a power of two";
    } else if (cfg.session.max_datagram_sz > 1472 && datagram_sz != 0) {
      err = at + "session.max_datagram_sz: af_xdp mode sends one 2 KiB frame per datagram: at most 1472";
    } else if (cfg.session.max_datagram_sz > 1472) {
      cfg.session.max_datagram_sz = 1472;  // the default, lowered to what one UMEM frame holds
    }
  }
  if (!err.empty()) return std::nullopt;
  return cfg;
}

std::optional<broker_config> load_config_file(const std::string& path, std::string& err) {
  std::ifstream in(path);
  if (!in) {
    err = path + ": cannot open the config file";
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, err);
}

std::string config_help() {
  return R"(Settings (TOML; every one optional, defaults shown):
  [node]
    id = 1                      node id in message GUIDs (1-65535)
    listen = "127.0.0.1"        address every shard binds (IPv4 or IPv6)
    base_port = 7600            shard i listens on UDP base_port + i
  [shards]
    count = 2                   shard threads (1-64)
    cores = []                  OS cpu id per shard; empty = pinned to isolated cpus if any, else not pinned
    idle = "adaptive"           "adaptive" (spin spin_us, then block) or "busy" (always spin)
    spin_us = 50                adaptive: how long to spin before blocking
  [limits]                      per shard
    max_sessions = 4096         client sessions (a slot costs ~0.4 KiB idle, ~33 KiB once used)
    chunk_cnt = 16384           session-layer frame buffers (>= session.send_window)
    message_memory_mb = 256     memory for message payloads and properties
    max_queues = 1024           queues
    max_consumers = 4096        open consumer handles
    max_message_slots = 262144  stored messages (a fanout message takes one per app id)
  [session]
    send_window = 1024          frames in flight per session (power of two)
    recv_window = 1024          out-of-order frames buffered per session (power of two)
    max_datagram_sz = 16384     largest UDP payload (512-65507); each session uses the smaller of
                                this and the client's (its route's MTU: 1472 over Ethernet);
                                af_xdp mode: at most 1472 (its default)
    max_message_sz = 1048576    largest frame body (PUT: 16 + properties + payload)
    idle_timeout_ms = 10000     end a session after this long without a datagram
    keepalive_ms = 1000         PING after this long without sending
  [datapath]
    mode = "udp"                "udp" (kernel sockets) or "af_xdp" (XDP program + AF_XDP sockets)
    interface = ""              af_xdp: the NIC; node.listen must be one of its addresses
    queues = []                 af_xdp: NIC queue per shard; empty = 0..count-1
    xdp_mode = "auto"           "auto" (native, else SKB with the reason logged), "native" or "skb"
    attach = "link"             "link" (bpf_link: detaches when the broker dies) or "dispatcher"
                                (libxdp's multi-program dispatcher, beside other XDP programs)
    dispatcher_priority = 50    dispatcher: run priority (lower runs first)
    zero_copy = true            try zero-copy first; falls back to copy mode (logged)
    busy_poll = false           SO_PREFER_BUSY_POLL + SO_BUSY_POLL_BUDGET on the AF_XDP sockets
    busy_poll_budget = 64       packets per busy-poll round
    ring_size = 2048            AF_XDP fill/completion/RX/TX ring entries (power of two)
    hugepages = true            UMEM on hugepages when reserved, else normal pages (logged)
  [control]                     read by sluice-control (the broker only listens on broker_socket)
    broker_socket = "/run/sluice/broker.sock"     broker <-> sluice-control channel (Unix socket)
    operator_socket = "/run/sluice/control.sock"  sluicectl -> sluice-control (Unix socket, mode 0660)
    allowed_uids = [0]          peer uids allowed on the operator socket
    allowed_gids = []           peer gids allowed on the operator socket
    metrics_listen = "127.0.0.1:9464"  Prometheus text at http://ADDR/metrics; "" = off
  [cluster]
    membership = "static"       "static" (single node, no external service) or "etcd"
    name = "sluice"             cluster name: the etcd key prefix /sluice/NAME/
    etcd_endpoints = ["http://127.0.0.1:2379"]  etcd client URLs (http://HOST:PORT), tried in order
    lease_ttl_ms = 3000         member lease (500-600000; etcd rounds up to whole seconds, at least its
                                minimum); a node that cannot renew it within this time stops serving (fencing)
    partitions = 0              partitions in the map; 0 = one per shard (partition p is served by shard
                                p % shards.count on its primary; the first map written fixes the count)
    advertise = ""              this node's address as other nodes and clients see it; "" = node.listen
                                (node.id is the member id: unique in the cluster)
  [storage]                     the per-shard journal; used only when a domain is "disk"
    dir = "/var/lib/sluice"     shard n journals in DIR/shard-<n>/ (created; must allow O_DIRECT files)
    segment_mb = 64             journal segment file size (4-16384)
    group_commit_kb = 256       a batch this big is written at once (4-1024)
    group_commit_us = 0         hold a batch up to this long to write more at once; 0 = every loop iteration
    buffer_mb = 16              per shard: records waiting for the disk (absorbs slow syncs; when
                                full, disk PUTs get queue_full until a write completes)
    sync = "fdatasync"          "fdatasync" (write, linked fdatasync) or "dsync" (write with RWF_DSYNC)
    salvage = false             start even if recovery finds corrupt records in the middle of the journal
                                (they are reported and lost); false: refuse to start (exit code 3)
    unacked_puts_max = 65536    per shard: disk PUTs waiting for durability; more get queue_full
    compact_after_segments = 4  retention: past this many segments per shard, the oldest one's live
                                messages are copied forward (2-1048576) ...
    compact_live_pct = 50       ... when at most this % of it is live (0-100; 0 = only empty segments go)
  [debug]
    alloc_guard = "off"         "off", "count" or "abort" on heap allocation in the shard loop
  [[domain]]                    one table per domain; queues "NAME/queue" are created on first open
    name = "..."                required; [A-Za-z0-9_.-], 1-64 characters
    mode = "priority"           "priority", "fanout" or "broadcast"
    storage = "memory"          "memory", or "disk": every message journaled, ACKed once durable
                                (priority and fanout domains; see [storage])
    app_ids = []                fanout: the app ids (1-16), each gets every message
    max_messages = 1000000      per queue; more PUTs get queue_full
    max_bytes = 1073741824      per queue (payload + properties)
    message_ttl_ms = 0          discard undelivered messages older than this; 0 = never
)";
}

}  // namespace sluice::broker

// ---- storage directories (start-up, main thread) ------------------------------------------

namespace sluice::broker {

namespace {
bool make_dir(const std::string& path, std::string& err) {
  if (::mkdir(path.c_str(), 0750) == 0 || errno == EEXIST) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
    err = path + ": exists and is not a directory";
    return false;
  }
  err = path + ": cannot create the directory: " + std::strerror(errno);
  return false;
}
}  // namespace

bool prepare_storage_dirs(const broker_config& cfg, std::string& err) {
  if (!cfg.has_disk_domains()) return true;
  const std::string& dir = cfg.storage.dir;
  const std::string what = "storage.dir: ";
  // mkdir -p: every missing parent, then the directory itself.
  for (std::size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos);
    const std::string part = dir.substr(0, pos);
    if (pos != std::string::npos) ++pos;
    if (part.empty() || part == "/") continue;
    if (!make_dir(part, err)) {
      err = what + err + " (disk domains need a writable journal directory)";
      return false;
    }
  }
  for (std::uint32_t i = 0; i < cfg.shard_cnt; ++i) {
    const std::string sd = dir + "/shard-" + std::to_string(i);
    if (!make_dir(sd, err)) {
      err = what + err;
      return false;
    }
    // The journal opens its segments with O_DIRECT: a file system that
    // refuses it (tmpfs) or a read-only mount must fail here, not later.
    const std::string probe = sd + "/.probe";
    const int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0640);
    if (fd < 0) {
      err = what + sd + ": cannot create a file with O_DIRECT there: " + std::strerror(errno) +
            " (the journal needs a writable local file system that supports direct I/O)";
      return false;
    }
    ::close(fd);
    ::unlink(probe.c_str());
  }
  return true;
}

}  // namespace sluice::broker
