#include "bench/nats_peer.h"

#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <functional>

#include "bench/process.h"
#include "bench/tcp_conn.h"

namespace sluice::bench {

namespace {

// One NATS connection: parses what the server sends, queues what we send.
class nats_conn {
 public:
  using msg_fn = std::function<void(std::string_view subject, std::string_view reply, std::span<const std::byte>)>;

  std::string connect(std::uint16_t port) {
    if (std::string e = _tcp.connect(port); !e.empty()) return e;
    _tcp.out += "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"sluice-bench\",\"lang\":\"c++\","
                "\"version\":\"0\",\"protocol\":1}\r\n";
    return sync(5 * k_ns_per_s);
  }
  // PING and wait for its PONG: everything before it has been processed.
  std::string sync(time_ns timeout_ns) {
    _tcp.out += "PING\r\n";
    const std::uint64_t want = _pongs + 1;
    for (const time_ns end = monotonic_now_ns() + timeout_ns; monotonic_now_ns() < end;) {
      if (!pump(k_ns_per_ms)) return _tcp.error();
      if (!_err.empty()) return _err;
      if (_pongs >= want) return "";
    }
    return "no PONG from nats-server";
  }
  void sub(std::string_view subject, int sid) {
    _tcp.out.append("SUB ").append(subject).append(" ").append(std::to_string(sid)).append("\r\n");
  }
  void pub(std::string_view subject, std::string_view reply, std::span<const std::byte> payload) {
    char len[24];
    const auto r = std::to_chars(len, len + sizeof len, payload.size());
    _tcp.out.append("PUB ").append(subject).append(" ");
    if (!reply.empty()) _tcp.out.append(reply).append(" ");
    _tcp.out.append(len, r.ptr).append("\r\n");
    _tcp.out.append(reinterpret_cast<const char*>(payload.data()), payload.size()).append("\r\n");
  }
  // A request in setup: publish with a reply inbox and wait for the answer.
  std::string request(const std::string& subject, const std::string& body, std::string& answer) {
    const std::string inbox = "_INBOX.setup." + std::to_string(++_req);
    sub(inbox, 999);
    bool got = false;
    on_msg = [&](std::string_view, std::string_view, std::span<const std::byte> p) {
      answer.assign(reinterpret_cast<const char*>(p.data()), p.size());
      got = true;
    };
    pub(subject, inbox, std::as_bytes(std::span(body.data(), body.size())));
    for (const time_ns end = monotonic_now_ns() + 5 * k_ns_per_s; monotonic_now_ns() < end && !got;) {
      if (!pump(k_ns_per_ms)) return _tcp.error();
    }
    _tcp.out += "UNSUB 999\r\n";
    on_msg = nullptr;
    if (!got) return "no answer to " + subject;
    if (answer.find("\"error\"") != std::string::npos) return subject + ": " + answer;
    return "";
  }
  // Flushes, reads, handles every complete operation. false: broken.
  bool pump(time_ns timeout_ns) {
    if (!_tcp.pump(timeout_ns)) return false;
    for (;;) {
      const std::string_view in = _tcp.input();
      const auto eol = in.find("\r\n");
      if (eol == std::string_view::npos) break;
      const std::string_view line = in.substr(0, eol);
      if (line.starts_with("MSG ")) {
        // MSG <subject> <sid> [reply-to] <#bytes>
        std::string_view parts[4];
        int n = 0;
        std::size_t at = 4;
        while (at < line.size() && n < 4) {
          const auto sp = line.find(' ', at);
          const auto end = sp == std::string_view::npos ? line.size() : sp;
          parts[n++] = line.substr(at, end - at);
          at = end + 1;
        }
        std::size_t len = 0;
        std::from_chars(parts[n - 1].data(), parts[n - 1].data() + parts[n - 1].size(), len);
        if (in.size() < eol + 2 + len + 2) break;  // payload not complete yet
        const auto* p = reinterpret_cast<const std::byte*>(in.data() + eol + 2);
        if (on_msg) on_msg(parts[0], n == 4 ? parts[2] : std::string_view(), std::span<const std::byte>(p, len));
        _tcp.consume(eol + 2 + len + 2);
        continue;
      }
      if (line == "PING") {
        _tcp.out += "PONG\r\n";
      } else if (line == "PONG") {
        ++_pongs;
      } else if (line.starts_with("-ERR")) {
        if (_err.empty()) _err = std::string(line);
      }
      _tcp.consume(eol + 2);
    }
    return _err.empty();
  }
  std::size_t queued() const { return _tcp.out.size(); }
  std::string error() const { return _err.empty() ? _tcp.error() : _err; }
  msg_fn on_msg;

 private:
  tcp_conn _tcp;
  std::uint64_t _pongs = 0;
  std::uint64_t _req = 0;
  std::string _err;
};

constexpr std::size_t k_out_max = 4u << 20;

class nats_producer final : public producer_port {
 public:
  nats_producer(std::unique_ptr<nats_conn> c, std::string subject, std::string inbox, bool js)
      : _c(std::move(c)), _subject(std::move(subject)), _inbox(std::move(inbox)), _js(js) {
    _c->on_msg = [this](std::string_view subj, std::string_view, std::span<const std::byte> p) {
      const auto dot = subj.rfind('.');
      std::uint64_t seq = 0;
      std::from_chars(subj.data() + dot + 1, subj.data() + subj.size(), seq);
      const std::string_view body(reinterpret_cast<const char*>(p.data()), p.size());
      const bool ok = body.find("\"error\"") == std::string_view::npos;
      if (!ok && failure.empty()) failure = std::string(body);
      on_ack(seq, ok);
    };
  }
  bool has_acks() const override { return _js; }
  bool send(std::uint64_t seq, std::span<const std::byte> payload) override {
    if (_c->queued() > k_out_max) return false;
    if (_js) {
      char reply[96];
      std::snprintf(reply, sizeof reply, "%s.%" PRIu64, _inbox.c_str(), seq);
      _c->pub(_subject, reply, payload);
    } else {
      _c->pub(_subject, {}, payload);
    }
    return true;
  }
  void poll(time_ns timeout_ns) override {
    if (!_c->pump(timeout_ns) && error.empty()) error = _c->error();
  }
  bool flushed() const override { return _c->queued() == 0; }

 private:
  std::unique_ptr<nats_conn> _c;
  std::string _subject, _inbox;
  bool _js;
};

class nats_consumer final : public consumer_port {
 public:
  nats_consumer(std::unique_ptr<nats_conn> c, bool js) : _c(std::move(c)) {
    _c->on_msg = [this, js](std::string_view, std::string_view reply, std::span<const std::byte> p) {
      if (js && !reply.empty()) _c->pub(reply, {}, {});  // explicit ack
      on_message(p);
    };
  }
  void poll(time_ns timeout_ns) override {
    if (!_c->pump(timeout_ns) && error.empty()) error = _c->error();
  }

 private:
  std::unique_ptr<nats_conn> _c;
};

}  // namespace

nats_server::~nats_server() {
  if (_pid > 0) stop_pid(_pid, 5);
  remove_tree(_dir);
}

std::string nats_server::start() {
  _dir = make_tmpdir("sluice-bench-nats");
  _port = free_tcp_port();
  if (_dir.empty() || _port == 0) return "no temporary directory or free port";
  const std::string log = _dir + "/nats.log";
  _pid = spawn({"nats-server", "-a", "127.0.0.1", "-p", std::to_string(_port), "-js", "-sd", _dir + "/js"}, log);
  if (_pid < 0 || !wait_for_log(_pid, log, "Server is ready", 10)) {
    return "nats-server did not start (apt-get install nats-server?): " + read_text(log);
  }
  return "";
}

std::string nats_server::version() const { return command_line1("nats-server --version"); }

std::string nats_system::skip_reason(const scenario& s) const {
  if (s.durable && !_js) return "core NATS stores nothing";
  return "";
}

std::string nats_system::describe() const {
  return _js ? _server.version() + ", JetStream file stream per run, push consumers with explicit acks"
             : _server.version() + ", core pub/sub (no ACK, nothing stored)";
}

std::string nats_system::prepare(const scenario& s, std::uint64_t run_id) {
  char tag[32];
  std::snprintf(tag, sizeof tag, "b%016" PRIx64, run_id);
  _tag = tag;
  _producers = 0;
  if (!_js) return "";
  nats_conn c;
  if (std::string e = c.connect(_server.port()); !e.empty()) return e;
  std::string answer;
  const std::string body = "{\"name\":\"" + _tag + "\",\"subjects\":[\"" + _tag + ".>\"],\"storage\":\"file\","
                           "\"retention\":\"limits\",\"num_replicas\":1,\"max_msgs\":-1,\"max_bytes\":-1}";
  (void)s;
  return c.request("$JS.API.STREAM.CREATE." + _tag, body, answer);
}

std::unique_ptr<consumer_port> nats_system::consumer(const scenario&, std::uint32_t q, std::uint32_t idx,
                                                     std::string& err) {
  auto c = std::make_unique<nats_conn>();
  if (err = c->connect(_server.port()); !err.empty()) return nullptr;
  const std::string subject = _tag + "." + std::to_string(q);
  if (_js) {
    const std::string deliver = "dlv." + _tag + "." + std::to_string(q) + "." + std::to_string(idx);
    c->sub(deliver, 1);
    std::string answer;
    const std::string body = "{\"stream_name\":\"" + _tag + "\",\"config\":{\"deliver_subject\":\"" + deliver +
                             "\",\"ack_policy\":\"explicit\",\"max_ack_pending\":100000,\"filter_subject\":\"" +
                             subject + "\",\"deliver_policy\":\"all\",\"ack_wait\":30000000000}}";
    if (err = c->request("$JS.API.CONSUMER.CREATE." + _tag, body, answer); !err.empty()) return nullptr;
  } else {
    c->sub(subject, 1);
    if (err = c->sync(5 * k_ns_per_s); !err.empty()) return nullptr;
  }
  return std::make_unique<nats_consumer>(std::move(c), _js);
}

std::unique_ptr<producer_port> nats_system::producer(const scenario&, std::uint32_t q, std::uint32_t,
                                                     std::string& err) {
  auto c = std::make_unique<nats_conn>();
  if (err = c->connect(_server.port()); !err.empty()) return nullptr;
  const std::string inbox = "_INBOX." + _tag + ".p" + std::to_string(_producers++);
  if (_js) {
    c->sub(inbox + ".*", 1);
    if (err = c->sync(5 * k_ns_per_s); !err.empty()) return nullptr;
  }
  return std::make_unique<nats_producer>(std::move(c), _tag + "." + std::to_string(q), inbox, _js);
}

}  // namespace sluice::bench
