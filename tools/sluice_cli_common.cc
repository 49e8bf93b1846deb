// Shared pieces of the `sluice` tool: signals, connecting, rendering.
#include "tools/sluice_cli_common.h"

#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "datapath/wire/properties.h"

namespace sluice::cli {

namespace {

volatile std::sig_atomic_t g_signals = 0;

extern "C" void on_stop_signal(int) {
  if (g_signals < 100) g_signals = g_signals + 1;
}

std::string hex(wire::bytes b) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (const std::byte x : b) {
    const auto v = std::to_integer<unsigned>(x);
    s += k_digits[v >> 4];
    s += k_digits[v & 0xf];
  }
  return s;
}

// The part of the URI before the first '/', for messages about domains.
std::string_view domain_of(std::string_view uri) { return uri.substr(0, uri.find('/')); }

}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read() returns EINTR and the loop sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, nullptr);
}

int signals_received() noexcept { return g_signals; }

std::unique_ptr<client::client> connect_or_report(const char* cmd, const std::string& broker) {
  client::client_config cfg;
  cfg.broker = broker;
  // The handshake may take up to request_timeout (5 s) when nothing
  // answers: say so after a second rather than wait in silence.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread notice([&] {
    std::unique_lock lk(mu);
    if (!cv.wait_for(lk, std::chrono::seconds(1), [&] { return done; })) {
      std::fprintf(stderr, "%s: no answer yet from %s; still trying (up to %.0f s) ...\n", cmd, broker.c_str(),
                   static_cast<double>(cfg.request_timeout_ns) / static_cast<double>(k_ns_per_s));
    }
  });
  auto c = client::client::connect(cfg);
  {
    std::lock_guard lk(mu);
    done = true;
  }
  cv.notify_one();
  notice.join();
  if (c) return std::move(*c);
  const client::error e = c.error();
  std::fprintf(stderr, "%s: cannot connect to broker %s: %s\n", cmd, broker.c_str(),
               client::describe_connect(e).c_str());
  if (e.code == client::errc::invalid_argument) {
    std::fprintf(stderr, "%s: --broker takes IP:PORT, e.g. 127.0.0.1:7600 (host names are not resolved)\n", cmd);
  } else if (e.code == client::errc::unreachable) {
    std::fprintf(stderr, "%s: set the address with --broker IP:PORT (shard 0's port, node.base_port)\n", cmd);
  } else if (e.code == client::errc::connect_failed || e.code == client::errc::timeout) {
    std::fprintf(stderr, "%s: is sluice-broker running and listening there? Set the address with --broker IP:PORT\n",
                 cmd);
  }
  return nullptr;
}

void report_open_failure(const char* cmd, const std::string& uri, const std::string& broker,
                         const client::error& e) {
  std::fprintf(stderr, "%s: cannot open queue '%s' on %s: %s\n", cmd, uri.c_str(), broker.c_str(),
               client::describe(e).c_str());
  const char* hint = nullptr;
  std::string buf;
  if (e.code == client::errc::broker_refused) {
    switch (e.status) {
      case wire::status::unknown_domain:
        buf = "the broker has no domain '" + std::string(domain_of(uri)) +
              "' (the part of the URI before '/'); domains come from the broker's [[domain]] config";
        hint = buf.c_str();
        break;
      case wire::status::invalid_argument:
        hint = "bad URI (domain/name), --app-id on a queue that is not fanout, a fanout reader without a "
               "configured --app-id, or the queue already open on this session";
        break;
      case wire::status::limit_reached: hint = "the broker's queue, consumer or handle limit is reached"; break;
      default: break;
    }
  } else if (e.code == client::errc::invalid_argument) {
    hint = "the URI must be domain/name (at most 255 bytes) and --app-id at most 64 bytes";
  }
  if (hint != nullptr) std::fprintf(stderr, "%s: %s\n", cmd, hint);
}

std::string guid_text(const wire::guid& g) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%u:%" PRIu32 ":%" PRIu64, static_cast<unsigned>(g.node), g.partition, g.seq);
  return buf;
}

nlohmann::ordered_json properties_json(wire::bytes block) {
  auto j = nlohmann::ordered_json::object();
  for (wire::property_reader r(block); !r.done();) {
    const wire::property p = r.next();
    const std::string key(p.key);
    switch (p.type) {
      case wire::property_type::boolean: j[key] = p.as_bool(); break;
      case wire::property_type::int32:
      case wire::property_type::int64: j[key] = p.as_int(); break;
      case wire::property_type::string: j[key] = std::string(p.as_string()); break;
      case wire::property_type::binary: j[key] = hex(p.value); break;
    }
  }
  return j;
}

std::string properties_text(wire::bytes block) {
  std::string s;
  for (wire::property_reader r(block); !r.done();) {
    const wire::property p = r.next();
    if (!s.empty()) s += ", ";
    s += p.key;
    s += '=';
    switch (p.type) {
      case wire::property_type::boolean: s += p.as_bool() ? "true" : "false"; break;
      case wire::property_type::int32:
      case wire::property_type::int64: s += std::to_string(p.as_int()); break;
      case wire::property_type::string: s += json_line(std::string(p.as_string())); break;  // quoted, escaped
      case wire::property_type::binary: s += "0x" + hex(p.value); break;
    }
  }
  return s;
}

std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace sluice::cli
