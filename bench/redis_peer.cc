#include "bench/redis_peer.h"

#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <vector>

#include "bench/process.h"
#include "bench/tcp_conn.h"

namespace sluice::bench {

namespace {

// A parsed RESP reply; views point into the connection's input buffer and
// are valid until the next pump().
struct resp {
  char type = 0;  // + - : $ *
  std::string_view str;
  std::int64_t num = 0;  // integer, or length (-1 = nil)
  std::vector<resp> items;
};

// Parses one reply at `in`; returns the bytes it took, 0 when incomplete.
std::size_t parse_resp(std::string_view in, resp& r) {
  const auto eol = in.find("\r\n");
  if (eol == std::string_view::npos || eol == 0) return 0;
  r.type = in[0];
  const std::string_view line = in.substr(1, eol - 1);
  std::size_t used = eol + 2;
  switch (r.type) {
    case '+':
    case '-':
      r.str = line;
      return used;
    case ':':
      std::from_chars(line.data(), line.data() + line.size(), r.num);
      return used;
    case '$': {
      std::from_chars(line.data(), line.data() + line.size(), r.num);
      if (r.num < 0) return used;
      const auto n = static_cast<std::size_t>(r.num);
      if (in.size() < used + n + 2) return 0;
      r.str = in.substr(used, n);
      return used + n + 2;
    }
    case '*': {
      std::from_chars(line.data(), line.data() + line.size(), r.num);
      if (r.num < 0) return used;
      r.items.resize(static_cast<std::size_t>(r.num));
      for (auto& item : r.items) {
        const std::size_t n = parse_resp(in.substr(used), item);
        if (n == 0) return 0;
        used += n;
      }
      return used;
    }
    default:
      return 0;
  }
}

void append_bulk(std::string& out, std::string_view s) {
  char len[24];
  const auto r = std::to_chars(len, len + sizeof len, s.size());
  out.append("$").append(len, r.ptr).append("\r\n").append(s).append("\r\n");
}

void append_cmd(std::string& out, std::initializer_list<std::string_view> args) {
  char len[24];
  const auto r = std::to_chars(len, len + sizeof len, args.size());
  out.append("*").append(len, r.ptr).append("\r\n");
  for (const auto a : args) append_bulk(out, a);
}

// Blocking command in setup; "" or the error reply.
std::string command(tcp_conn& c, std::initializer_list<std::string_view> args, bool busy_ok = false) {
  append_cmd(c.out, args);
  for (const time_ns end = monotonic_now_ns() + 5 * k_ns_per_s; monotonic_now_ns() < end;) {
    if (!c.pump(k_ns_per_ms)) return c.error();
    resp r;
    const std::size_t n = parse_resp(c.input(), r);
    if (n == 0) continue;
    std::string err = r.type == '-' ? std::string(r.str) : "";
    c.consume(n);
    if (busy_ok && err.starts_with("BUSYGROUP")) err.clear();
    return err;
  }
  return "no reply from redis-server";
}

constexpr std::size_t k_inflight_max = 65536;

class redis_producer final : public producer_port {
 public:
  redis_producer(std::unique_ptr<tcp_conn> c, std::string stream) : _c(std::move(c)), _stream(std::move(stream)) {}
  bool has_acks() const override { return true; }
  bool send(std::uint64_t seq, std::span<const std::byte> payload) override {
    if (_inflight.size() >= k_inflight_max) return false;
    // Trimmed so a long run cannot fill memory; far above what consumers lag.
    append_cmd(_c->out, {"XADD", _stream, "MAXLEN", "~", "500000", "*", "d",
                         std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size())});
    _inflight.push_back(seq);
    return true;
  }
  void poll(time_ns timeout_ns) override {
    if (!_c->pump(_inflight.empty() ? timeout_ns : std::min<time_ns>(timeout_ns, 100 * k_ns_per_us))) {
      if (error.empty()) error = _c->error();
      return;
    }
    for (;;) {
      resp r;
      const std::size_t n = parse_resp(_c->input(), r);
      if (n == 0 || _inflight.empty()) break;
      const bool ok = r.type == '$';
      if (!ok && failure.empty()) failure = std::string(r.str);
      const std::uint64_t seq = _inflight.front();
      _inflight.pop_front();
      _c->consume(n);
      on_ack(seq, ok);
    }
  }
  bool flushed() const override { return _c->out.empty(); }

 private:
  std::unique_ptr<tcp_conn> _c;
  std::string _stream;
  std::deque<std::uint64_t> _inflight;
};

class redis_consumer final : public consumer_port {
 public:
  redis_consumer(std::unique_ptr<tcp_conn> c, std::string stream, std::string group)
      : _c(std::move(c)), _stream(std::move(stream)), _group(std::move(group)) {}
  void poll(time_ns timeout_ns) override {
    if (!_read_outstanding) {
      append_cmd(_c->out, {"XREADGROUP", "GROUP", _group, "c", "COUNT", "1000", "BLOCK", "50", "STREAMS", _stream, ">"});
      _replies.push_back(true);
      _read_outstanding = true;
    }
    if (!_c->pump(timeout_ns)) {
      if (error.empty()) error = _c->error();
      return;
    }
    for (;;) {
      resp r;
      const std::size_t n = parse_resp(_c->input(), r);
      if (n == 0 || _replies.empty()) break;
      const bool is_read = _replies.front();
      _replies.pop_front();
      if (r.type == '-' && error.empty()) error = std::string(r.str);
      if (is_read) {
        _read_outstanding = false;
        // *1 [ *2 [ stream, *N [ *2 [ id, *2 [ field, value ] ] ] ] ]
        _ids.clear();
        if (r.type == '*' && !r.items.empty() && r.items[0].items.size() == 2) {
          for (const resp& e : r.items[0].items[1].items) {
            if (e.items.size() != 2 || e.items[1].items.size() < 2) continue;
            const std::string_view v = e.items[1].items[1].str;
            on_message(std::span<const std::byte>(reinterpret_cast<const std::byte*>(v.data()), v.size()));
            _ids.push_back(e.items[0].str);
          }
        }
        if (!_ids.empty()) {
          char len[24];
          const auto lr = std::to_chars(len, len + sizeof len, _ids.size() + 3);
          _c->out.append("*").append(len, lr.ptr).append("\r\n");
          append_bulk(_c->out, "XACK");
          append_bulk(_c->out, _stream);
          append_bulk(_c->out, _group);
          for (const auto id : _ids) append_bulk(_c->out, id);
          _replies.push_back(false);
        }
        append_cmd(_c->out, {"XREADGROUP", "GROUP", _group, "c", "COUNT", "1000", "BLOCK", "50", "STREAMS", _stream, ">"});
        _replies.push_back(true);
        _read_outstanding = true;
      }
      _c->consume(n);
    }
    _c->flush();
  }

 private:
  std::unique_ptr<tcp_conn> _c;
  std::string _stream, _group;
  std::deque<bool> _replies;  // true: XREADGROUP, false: XACK
  std::vector<std::string_view> _ids;
  bool _read_outstanding = false;
};

}  // namespace

redis_system::~redis_system() {
  if (_pid > 0) stop_pid(_pid, 5);
  remove_tree(_dir);
}

std::string redis_system::start() {
  _dir = make_tmpdir("sluice-bench-redis");
  _port = free_tcp_port();
  if (_dir.empty() || _port == 0) return "no temporary directory or free port";
  const std::string log = _dir + "/redis.log";
  std::vector<std::string> args = {"redis-server", "--port", std::to_string(_port), "--bind", "127.0.0.1",
                                   "--dir", _dir, "--save", "", "--protected-mode", "no", "--daemonize", "no"};
  if (_durable) {
    args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    args.insert(args.end(), {"--appendonly", "no"});
  }
  _pid = spawn(args, log);
  if (_pid < 0 || !wait_for_tcp(_pid, _port, 10)) {
    return "redis-server did not start (apt-get install redis-server?): " + read_text(log);
  }
  return "";
}

std::string redis_system::describe() const {
  return command_line1("redis-server --version") +
         (_durable ? ", Streams, appendonly yes, appendfsync always" : ", Streams, no persistence");
}

std::string redis_system::skip_reason(const scenario& s) const {
  if (s.durable != _durable) return _durable ? "runs the durable scenarios only" : "durable scenarios run with fsync";
  return "";
}

std::string redis_system::prepare(const scenario& s, std::uint64_t run_id) {
  char tag[32];
  std::snprintf(tag, sizeof tag, "b%016" PRIx64, run_id);
  _tag = tag;
  // Drop the previous scenario's streams so memory stays flat.
  if (!_last_tag.empty()) {
    tcp_conn c;
    if (std::string e = c.connect(_port); !e.empty()) return e;
    for (std::uint32_t q = 0; q < _last_queues; ++q) command(c, {"DEL", _last_tag + "." + std::to_string(q)});
  }
  _last_tag = _tag;
  _last_queues = s.queues;
  return "";
}

std::unique_ptr<consumer_port> redis_system::consumer(const scenario& s, std::uint32_t q, std::uint32_t idx,
                                                      std::string& err) {
  auto c = std::make_unique<tcp_conn>();
  if (err = c->connect(_port); !err.empty()) return nullptr;
  const std::string stream = _tag + "." + std::to_string(q);
  const std::string group = s.mode == queue_mode::priority ? "g" : "g" + std::to_string(idx);
  if (err = command(*c, {"XGROUP", "CREATE", stream, group, "$", "MKSTREAM"}, true); !err.empty()) return nullptr;
  return std::make_unique<redis_consumer>(std::move(c), stream, group);
}

std::unique_ptr<producer_port> redis_system::producer(const scenario&, std::uint32_t q, std::uint32_t,
                                                      std::string& err) {
  auto c = std::make_unique<tcp_conn>();
  if (err = c->connect(_port); !err.empty()) return nullptr;
  return std::make_unique<redis_producer>(std::move(c), _tag + "." + std::to_string(q));
}

}  // namespace sluice::bench
