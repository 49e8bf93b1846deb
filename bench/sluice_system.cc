#include "bench/sluice_system.h"

#include <bit>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "client/client.h"

namespace sluice::bench {

namespace {

// Maps the client's corr_id back to the runner's seq through a ring as large
// as the client's pending-post ring, so live posts never collide.
class sluice_producer final : public producer_port {
 public:
  sluice_producer(std::unique_ptr<client::client> c, client::queue_handle q) : _c(std::move(c)), _q(q) {
    const std::uint32_t cap = std::bit_ceil(client::client_config{}.max_unacked_posts);
    _ring.resize(cap);
    _mask = cap - 1;
    _c->on_ack([this](const client::ack& a) {
      const slot& s = _ring[a.corr_id & _mask];
      if (s.corr_id != a.corr_id) return;
      const bool ok = a.status == wire::status::ok;
      if (!ok && failure.empty()) failure = wire::status_name(a.status);
      on_ack(s.seq, ok);
    });
  }
  bool has_acks() const override { return true; }
  bool send(std::uint64_t seq, std::span<const std::byte> payload) override {
    const auto r = _c->post(_q, payload);
    if (r) {
      _ring[*r & _mask] = {*r, seq};
      return true;
    }
    if (r.error().code != client::errc::would_block) error = client::describe(r.error());
    return false;
  }
  void poll(time_ns timeout_ns) override {
    _c->poll(timeout_ns);
    if (!_c->connected() && error.empty()) {
      error = std::string("the session to the broker ended (") + wire::status_name(_c->end_reason()) + ")";
    }
  }

 private:
  struct slot {
    std::uint32_t corr_id = 0;
    std::uint64_t seq = 0;
  };
  std::unique_ptr<client::client> _c;
  client::queue_handle _q;
  std::vector<slot> _ring;
  std::uint32_t _mask = 0;
};

class sluice_consumer final : public consumer_port {
 public:
  sluice_consumer(std::unique_ptr<client::client> c, bool confirm) : _c(std::move(c)), _confirm(confirm) {
    _c->on_message([this](const client::message& m) {
      if (_confirm && !_c->confirm(m.queue, m.guid)) _later.push_back({m.queue, m.guid});
      on_message(m.payload);
    });
  }
  std::string open(const std::string& uri, const std::string& app_id) {
    client::queue_options o;
    o.read = true;
    o.max_unconfirmed_msgs = 8192;
    o.app_id = app_id;
    auto h = _c->open_queue(uri, o);
    if (!h) return "cannot open " + uri + ": " + client::describe(h.error());
    return "";
  }
  void poll(time_ns timeout_ns) override {
    _c->poll(timeout_ns);
    while (!_later.empty() && _c->confirm(_later.back().first, _later.back().second)) _later.pop_back();
    if (!_c->connected() && error.empty()) {
      error = std::string("the session to the broker ended (") + wire::status_name(_c->end_reason()) + ")";
    }
  }

 private:
  std::unique_ptr<client::client> _c;
  bool _confirm;
  std::vector<std::pair<client::queue_handle, wire::guid>> _later;  // confirm() would_block in the handler
};

const char* domain_of(const scenario& s) {
  if (s.durable) return "disk";
  switch (s.mode) {
    case queue_mode::priority: return "prio";
    case queue_mode::fanout: return "fan";
    case queue_mode::broadcast: return "bcast";
  }
  return "prio";
}

// A client whose sockets live in the client namespace of the veth modes.
std::unique_ptr<client::client> connect_in(const std::string& ns, const std::string& addr, time_ns linger_ns,
                                           std::string& err) {
  client::client_config cfg;
  cfg.broker = addr;
  if (linger_ns >= 0) cfg.linger_ns = linger_ns;
  if (!ns.empty()) enter_netns(ns);
  auto c = client::client::connect(cfg);
  if (!ns.empty()) enter_netns("");
  if (!c) {
    err = "cannot connect to " + addr + ": " + client::describe(c.error());
    return nullptr;
  }
  return std::move(*c);
}

}  // namespace

sluice_system::sluice_system(std::string broker_bin, sluice_mode mode) : _bin(std::move(broker_bin)), _mode(std::move(mode)) {
  _dir = make_tmpdir("sluice-bench");
  _log = _dir + "/broker.log";
}

sluice_system::~sluice_system() {
  stop();
  if (std::getenv("SLUICE_BENCH_KEEP") != nullptr) {
    std::fprintf(stderr, "sluice-bench: broker config and log kept in %s\n", _dir.c_str());
  } else {
    remove_tree(_dir);
  }
}

std::string sluice_system::config(bool with_disk) const {
  const std::string ip = _mode.veth ? _mode.veth->broker_ip : "127.0.0.1";
  std::string c = "[node]\nlisten = \"" + ip + "\"\nbase_port = " + std::to_string(_base_port) +
                  "\n\n[shards]\ncount = " + std::to_string(_mode.shards) + "\nidle = \"" + _mode.idle +
                  "\"\n\n[control]\nbroker_socket = \"" + _dir + "/broker.sock\"\noperator_socket = \"" + _dir +
                  "/control.sock\"\nmetrics_listen = \"\"\n\n";
  if (_mode.af_xdp) {
    c += "[datapath]\nmode = \"af_xdp\"\ninterface = \"" + _mode.veth->broker_if + "\"\nxdp_mode = \"native\"\n\n";
  }
  c += "[[domain]]\nname = \"prio\"\nmode = \"priority\"\n\n"
       "[[domain]]\nname = \"fan\"\nmode = \"fanout\"\napp_ids = [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\"]\n\n"
       "[[domain]]\nname = \"bcast\"\nmode = \"broadcast\"\n";
  if (with_disk) {
    // A journal of its own, emptied at every start: a fresh broker per
    // scenario, never the host's /var/lib/sluice.
    c = "[storage]\ndir = \"" + _dir + "/journal\"\n\n" + c;
    c += "\n[[domain]]\nname = \"disk\"\nmode = \"priority\"\nstorage = \"disk\"\n";
  }
  return c;
}

std::string sluice_system::start() {
  if (_dir.empty()) return "cannot make a temporary directory";
  _base_port = _mode.veth ? 7600 : free_udp_ports(_mode.shards);
  if (_base_port == 0) return "no free UDP port range on 127.0.0.1";
  // Disk domains: ask the broker itself whether it takes one.
  const std::string probe = _dir + "/disk-probe.toml";
  std::ofstream(probe) << config(true);
  std::string out;
  if (run_command(_bin + " --check --config " + probe, &out) != 0) {
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    if (const auto at = out.find(probe); at != std::string::npos) out.replace(at, probe.size(), "config");
    _disk_refusal = out.empty() ? "the broker refused a disk domain" : out;
  }
  const std::string cfg = _dir + "/sluice.toml";
  remove_tree(_dir + "/journal");
  std::ofstream(cfg) << config(_disk_refusal.empty());
  _pid = spawn({_bin, "--config", cfg}, _log, _mode.veth ? _mode.veth->broker_ns : "");
  if (_pid < 0) return "fork failed";
  if (!wait_for_log(_pid, _log, "sluice-broker: ready", 10)) {
    const std::string why = read_text(_log);
    stop();
    return "the broker did not become ready: " + why;
  }
  const std::string ip = _mode.veth ? _mode.veth->broker_ip : "127.0.0.1";
  _address = ip + ":" + std::to_string(_base_port);
  return "";
}

std::string sluice_system::reset() {
  if (_starts++ == 0) return _pid > 0 ? "" : "the broker is not running";
  stop();
  std::rename(_log.c_str(), (_log + "." + std::to_string(_starts - 1)).c_str());  // kept for SLUICE_BENCH_KEEP
  _pid = spawn({_bin, "--config", _dir + "/sluice.toml"}, _log, _mode.veth ? _mode.veth->broker_ns : "");
  if (_pid < 0) return "fork failed";
  if (!wait_for_log(_pid, _log, "sluice-broker: ready", 10)) {
    stop();
    return "the broker did not become ready again: " + read_text(_log);
  }
  return "";
}

void sluice_system::stop() {
  if (_pid > 0) {
    stop_pid(_pid, 5);
    _pid = -1;
  }
}

std::string sluice_system::datapath_log() const {
  const std::string log = read_text(_log);
  std::string r;
  std::size_t at = 0;
  while (at < log.size()) {
    const auto eol = std::min(log.find('\n', at), log.size());
    const std::string_view line(log.data() + at, eol - at);
    if (line.find("shard 0: ") != std::string_view::npos || line.find("XDP") != std::string_view::npos) {
      r += (r.empty() ? "" : "; ") + std::string(line);
    }
    at = eol + 1;
  }
  return r;
}

std::string sluice_system::describe() const {
  std::string d = "sluice-broker, " + std::to_string(_mode.shards) + " shard(s), idle " + _mode.idle + ", ";
  if (_mode.veth == nullptr) return d + "kernel UDP on 127.0.0.1";
  return d + (_mode.af_xdp ? "AF_XDP (native XDP on veth, copy mode)" : "kernel UDP") + " over a veth pair between namespaces";
}

std::string sluice_system::skip_reason(const scenario& s) const {
  if (s.durable && !_disk_refusal.empty()) return "the broker refuses disk domains: " + _disk_refusal;
  return "";
}

std::string sluice_system::prepare(const scenario&, std::uint64_t run_id) {
  if (_pid <= 0) return "the broker is not running";
  _run_id = run_id;
  return "";
}

std::string sluice_system::uri(const scenario& s, std::uint32_t q) const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s/%s-%08" PRIx64 "-%u", domain_of(s), s.name.c_str(), _run_id >> 32, q);
  return buf;
}

std::unique_ptr<consumer_port> sluice_system::consumer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                                       std::string& err) {
  const std::string ns = _mode.veth ? _mode.veth->client_ns : "";
  auto c = connect_in(ns, _address, _mode.client_linger_ns, err);
  if (!c) return nullptr;
  auto port = std::make_unique<sluice_consumer>(std::move(c), s.mode != queue_mode::broadcast);
  const std::string app = s.mode == queue_mode::fanout ? "a" + std::to_string(idx + 1) : "";
  err = port->open(uri(s, q), app);
  if (!err.empty()) return nullptr;
  return port;
}

std::unique_ptr<producer_port> sluice_system::producer(const scenario& s, std::uint32_t q, std::uint32_t,
                                                       std::string& err) {
  const std::string ns = _mode.veth ? _mode.veth->client_ns : "";
  auto c = connect_in(ns, _address, _mode.client_linger_ns, err);
  if (!c) return nullptr;
  auto h = c->open_queue(uri(s, q), {.write = true});
  if (!h) {
    err = "cannot open " + uri(s, q) + ": " + client::describe(h.error());
    return nullptr;
  }
  return std::make_unique<sluice_producer>(std::move(c), *h);
}

}  // namespace sluice::bench
