#include "control/etcd_client.h"

#include <httplib.h>

#include <charconv>

#include "common/assert.h"

namespace sluice::control {

using json = nlohmann::json;

namespace {

constexpr char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// proto3 JSON: 64-bit integers are strings, zero values are omitted.
std::int64_t int_field(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return 0;
  const std::string& s = it->get_ref<const std::string&>();
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::optional<etcd_kv> kv_of(const json& j) {
  etcd_kv kv;
  const auto key = base64_decode(j.value("key", std::string()));
  const auto value = base64_decode(j.value("value", std::string()));
  if (!key || !value) return std::nullopt;
  kv.key = *key;
  kv.value = *value;
  kv.create_revision = int_field(j, "create_revision");
  kv.mod_revision = int_field(j, "mod_revision");
  kv.version = int_field(j, "version");
  kv.lease = int_field(j, "lease");
  return kv;
}

std::int64_t header_revision(const json& j) {
  const auto h = j.find("header");
  return h == j.end() ? 0 : int_field(*h, "revision");
}

std::string describe(httplib::Error e, std::chrono::milliseconds timeout) {
  switch (e) {
    case httplib::Error::Connection: return "cannot connect (refused or no route)";
    case httplib::Error::ConnectionTimeout: return "no connection within " + std::to_string(timeout.count()) + " ms";
    case httplib::Error::Read: return "no answer within " + std::to_string(timeout.count()) + " ms";
    case httplib::Error::Write: return "connection lost while sending";
    default: return httplib::to_string(e);
  }
}

std::string etcd_error_text(const json& j) {
  if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  if (j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return j.dump();
}

}  // namespace

bool parse_etcd_endpoint(std::string_view url, std::string& host, int& port, std::string& err) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, 8) == "https://") {
    err = "\"" + std::string(url) + "\": https is not supported (the etcd JSON gateway is reached over plain http)";
    return false;
  }
  if (url.substr(0, scheme.size()) != scheme) {
    err = "\"" + std::string(url) + "\" is not http://HOST:PORT";
    return false;
  }
  std::string_view rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    err = "\"" + std::string(url) + "\": no path allowed, just http://HOST:PORT";
    return false;
  }
  std::size_t colon;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      err = "\"" + std::string(url) + "\" is not http://[IPV6]:PORT";
      return false;
    }
    host = std::string(rest.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      err = "\"" + std::string(url) + "\" has no port (http://HOST:PORT, etcd listens on 2379 by default)";
      return false;
    }
    host = std::string(rest.substr(0, colon));
  }
  const std::string_view p = rest.substr(colon + 1);
  int v = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (host.empty() || ec != std::errc() || end != p.data() + p.size() || v < 1 || v > 65535) {
    err = "\"" + std::string(url) + "\" is not http://HOST:PORT with a port from 1 to 65535";
    return false;
  }
  port = v;
  return true;
}

std::string base64_encode(std::string_view raw) {
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i]) << 16 |
                                              static_cast<unsigned char>(raw[i + 1]) << 8 |
                                              static_cast<unsigned char>(raw[i + 2]));
    out += k_b64[n >> 18 & 63];
    out += k_b64[n >> 12 & 63];
    out += k_b64[n >> 6 & 63];
    out += k_b64[n & 63];
  }
  if (i < raw.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i]) << 16);
    if (i + 1 < raw.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i + 1]) << 8);
    out += k_b64[n >> 18 & 63];
    out += k_b64[n >> 12 & 63];
    out += i + 1 < raw.size() ? k_b64[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t n = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      std::uint32_t v = 0;
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
      } else if (pad != 0) {
        return std::nullopt;  // data after padding
      } else if (c >= 'A' && c <= 'Z') {
        v = static_cast<std::uint32_t>(c - 'A');
      } else if (c >= 'a' && c <= 'z') {
        v = static_cast<std::uint32_t>(c - 'a' + 26);
      } else if (c >= '0' && c <= '9') {
        v = static_cast<std::uint32_t>(c - '0' + 52);
      } else if (c == '+') {
        v = 62;
      } else if (c == '/') {
        v = 63;
      } else {
        return std::nullopt;
      }
      n = n << 6 | v;
    }
    out += static_cast<char>(n >> 16 & 255);
    if (pad < 2) out += static_cast<char>(n >> 8 & 255);
    if (pad < 1) out += static_cast<char>(n & 255);
  }
  return out;
}

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // etcd: "\0" as range_end means every key >= key
}

etcd_client::etcd_client(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : _endpoints(std::move(endpoints)), _timeout(timeout) {
  SLUICE_ASSERT(!_endpoints.empty(), "etcd_client needs at least one endpoint");
  for (const auto& e : _endpoints) {
    std::string host, err;
    int port = 0;
    SLUICE_ASSERT(parse_etcd_endpoint(e, host, port, err), "endpoints are validated with the config");
  }
}

etcd_result<json> etcd_client::post(const char* path, const json& body) {
  std::string tried;
  const std::string text = body.dump();
  for (std::size_t k = 0; k < _endpoints.size(); ++k) {
    const std::size_t idx = (_current + k) % _endpoints.size();
    std::string host, err;
    int port = 0;
    parse_etcd_endpoint(_endpoints[idx], host, port, err);
    httplib::Client cli(host, port);
    cli.set_connection_timeout(_timeout);
    cli.set_read_timeout(_timeout);
    cli.set_write_timeout(_timeout);
    const auto res = cli.Post(path, text, "application/json");
    if (!res) {
      tried += (tried.empty() ? "" : "; ") + _endpoints[idx] + ": " + describe(res.error(), _timeout);
      continue;
    }
    _current = idx;
    json reply;
    try {
      reply = json::parse(res->body);
    } catch (const json::exception&) {
      return etcd_result<json>::fail(_endpoints[idx] + path + ": HTTP " + std::to_string(res->status) +
                                     ", not JSON (is this an etcd v3.4+ client URL?)");
    }
    if (reply.is_object() && reply.contains("result") && reply["result"].is_object()) {
      reply = reply["result"];  // streaming RPCs (lease keepalive) wrap each message
    }
    if (res->status != 200 || !reply.is_object() || reply.contains("error")) {
      return etcd_result<json>::fail(_endpoints[idx] + path + ": HTTP " + std::to_string(res->status) + ": " +
                                     etcd_error_text(reply));
    }
    etcd_result<json> r;
    r.value = std::move(reply);
    return r;
  }
  return etcd_result<json>::fail("etcd unreachable (" + tried + ")", true);
}

etcd_result<etcd_range> etcd_client::range(std::string_view key, std::string_view range_end) {
  json body = {{"key", base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = base64_encode(range_end);
  auto r = post("/v3/kv/range", body);
  if (!r.ok()) return etcd_result<etcd_range>::fail(r.error, r.unreachable);
  etcd_range out;
  out.revision = header_revision(*r.value);
  for (const json& kv : r.value->value("kvs", json::array())) {
    auto parsed = kv_of(kv);
    if (!parsed) return etcd_result<etcd_range>::fail("etcd sent a key or value that is not base64");
    out.kvs.push_back(std::move(*parsed));
  }
  etcd_result<etcd_range> ok;
  ok.value = std::move(out);
  return ok;
}

etcd_result<std::int64_t> etcd_client::put(std::string_view key, std::string_view value, std::int64_t lease) {
  json body = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  auto r = post("/v3/kv/put", body);
  if (!r.ok()) return etcd_result<std::int64_t>::fail(r.error, r.unreachable);
  etcd_result<std::int64_t> ok;
  ok.value = header_revision(*r.value);
  return ok;
}

etcd_result<std::int64_t> etcd_client::remove(std::string_view key) {
  auto r = post("/v3/kv/deleterange", json{{"key", base64_encode(key)}});
  if (!r.ok()) return etcd_result<std::int64_t>::fail(r.error, r.unreachable);
  etcd_result<std::int64_t> ok;
  ok.value = header_revision(*r.value);
  return ok;
}

etcd_result<etcd_cas> etcd_client::txn(const json& compare, std::string_view key, std::string_view value,
                                       std::int64_t lease) {
  json put = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  const json body = {{"compare", json::array({compare})},
                     {"success", json::array({json{{"request_put", put}}})},
                     {"failure", json::array({json{{"request_range", json{{"key", base64_encode(key)}}}}})}};
  auto r = post("/v3/kv/txn", body);
  if (!r.ok()) return etcd_result<etcd_cas>::fail(r.error, r.unreachable);
  etcd_cas out;
  out.succeeded = r.value->value("succeeded", false);
  out.revision = header_revision(*r.value);
  if (!out.succeeded) {
    const json& resp = r.value->value("responses", json::array());
    if (!resp.empty() && resp[0].contains("response_range")) {
      const json kvs = resp[0]["response_range"].value("kvs", json::array());
      if (!kvs.empty()) {
        out.current = kv_of(kvs[0]);
        if (!out.current) return etcd_result<etcd_cas>::fail("etcd sent a key or value that is not base64");
      }
    }
  }
  etcd_result<etcd_cas> ok;
  ok.value = std::move(out);
  return ok;
}

etcd_result<etcd_cas> etcd_client::cas_mod_revision(std::string_view key, std::int64_t expected_mod_revision,
                                                    std::string_view value, std::int64_t lease) {
  const json cmp = {{"key", base64_encode(key)},
                    {"target", "MOD"},
                    {"result", "EQUAL"},
                    {"mod_revision", std::to_string(expected_mod_revision)}};
  return txn(cmp, key, value, lease);
}

etcd_result<etcd_cas> etcd_client::cas_value(std::string_view key, std::string_view expected_value,
                                             std::string_view value) {
  const json cmp = {
      {"key", base64_encode(key)}, {"target", "VALUE"}, {"result", "EQUAL"}, {"value", base64_encode(expected_value)}};
  return txn(cmp, key, value, 0);
}

etcd_result<std::pair<std::int64_t, std::int64_t>> etcd_client::lease_grant(std::int64_t ttl_s) {
  using out_t = std::pair<std::int64_t, std::int64_t>;
  auto r = post("/v3/lease/grant", json{{"TTL", std::to_string(ttl_s)}});
  if (!r.ok()) return etcd_result<out_t>::fail(r.error, r.unreachable);
  const std::int64_t id = int_field(*r.value, "ID");
  if (id == 0) return etcd_result<out_t>::fail("etcd granted no lease: " + etcd_error_text(*r.value));
  etcd_result<out_t> ok;
  ok.value = out_t{id, int_field(*r.value, "TTL")};
  return ok;
}

etcd_result<std::int64_t> etcd_client::lease_keepalive(std::int64_t id) {
  auto r = post("/v3/lease/keepalive", json{{"ID", std::to_string(id)}});
  if (!r.ok()) return etcd_result<std::int64_t>::fail(r.error, r.unreachable);
  etcd_result<std::int64_t> ok;
  ok.value = int_field(*r.value, "TTL");  // absent (0) when the lease is gone
  return ok;
}

etcd_result<bool> etcd_client::lease_revoke(std::int64_t id) {
  auto r = post("/v3/lease/revoke", json{{"ID", std::to_string(id)}});
  etcd_result<bool> out;
  if (r.ok()) {
    out.value = true;
  } else if (!r.unreachable && r.error.find("lease not found") != std::string::npos) {
    out.value = false;  // already gone: what revoking wanted
  } else {
    out.error = r.error;
    out.unreachable = r.unreachable;
  }
  return out;
}

watch_end etcd_client::watch(std::string_view key, std::string_view range_end, std::int64_t start_revision,
                             const std::function<bool(std::int64_t, const std::vector<etcd_event>&)>& on_events,
                             const std::atomic<bool>& stop, std::string& err) {
  json create = {{"key", base64_encode(key)}, {"start_revision", std::to_string(start_revision)}};
  if (!range_end.empty()) create["range_end"] = base64_encode(range_end);
  const std::string body = json{{"create_request", create}}.dump();

  const std::string& endpoint = _endpoints[_current % _endpoints.size()];
  std::string host;
  int port = 0;
  parse_etcd_endpoint(endpoint, host, port, err);
  httplib::Client cli(host, port);
  cli.set_connection_timeout(_timeout);
  cli.set_read_timeout(_timeout);
  cli.set_write_timeout(_timeout);

  bool created = false;
  watch_end end = watch_end::failed;
  std::string buf;
  // One JSON message per line; a message may span chunks.
  const auto on_line = [&](const std::string& line) -> bool {
    json m;
    try {
      m = json::parse(line);
    } catch (const json::exception&) {
      err = "watch: a message that is not JSON";
      return false;
    }
    if (m.contains("error")) {
      err = "watch: " + etcd_error_text(m.contains("error") && m["error"].is_object() ? m["error"] : m);
      return false;
    }
    const json& res = m.contains("result") ? m["result"] : m;
    if (res.value("created", false)) created = true;
    if (int_field(res, "compact_revision") != 0) {
      end = watch_end::compacted;
      err = "watch: revision " + std::to_string(start_revision) + " was compacted (now " +
            std::to_string(int_field(res, "compact_revision")) + ")";
      return false;
    }
    if (res.value("canceled", false)) {
      err = "watch canceled by etcd: " + res.value("cancel_reason", std::string("no reason given"));
      return false;
    }
    std::vector<etcd_event> events;
    for (const json& e : res.value("events", json::array())) {
      etcd_event ev;
      ev.is_delete = e.value("type", std::string()) == "DELETE";
      auto kv = kv_of(e.value("kv", json::object()));
      if (!kv) {
        err = "watch: a key or value that is not base64";
        return false;
      }
      ev.kv = std::move(*kv);
      events.push_back(std::move(ev));
    }
    if (!events.empty() && !on_events(header_revision(res), events)) {
      end = watch_end::stopped;
      return false;
    }
    return !stop.load(std::memory_order_relaxed);
  };

  httplib::Request req;
  req.method = "POST";
  req.path = "/v3/watch";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    buf.append(data, n);
    for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
      const std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (!line.empty() && !on_line(line)) return false;
    }
    return !stop.load(std::memory_order_relaxed);
  };
  httplib::Response res;
  httplib::Error e = httplib::Error::Success;
  cli.send(req, res, e);
  if (stop.load(std::memory_order_relaxed)) return watch_end::stopped;
  if (end != watch_end::failed) return end;
  if (!err.empty()) return watch_end::failed;
  if (e == httplib::Error::Read && created) return watch_end::idle;
  err = "watch on " + endpoint + ": " + (e == httplib::Error::Success ? "the stream ended" : describe(e, _timeout));
  // Next time try the next endpoint.
  _current = (_current + 1) % _endpoints.size();
  return watch_end::failed;
}

}  // namespace sluice::control
