// control/etcd_client.h — a small client for etcd's v3 API over its JSON
// gateway (HTTP/1.1, POST /v3/...).
//
// Only what membership needs: range, put, delete, a compare-and-swap
// transaction on one key, lease grant/keepalive/revoke, and a streaming
// watch. Keys and values are raw bytes here; the client base64-encodes them
// for the wire, and 64-bit numbers travel as JSON strings (the proto3 JSON
// mapping etcd uses). Endpoints are tried in order, starting from the last
// one that answered; an etcd-level error (a JSON body with "error") is not
// retried on another endpoint.
//
// Every call blocks for at most the connect + read timeouts per endpoint.
// An etcd_client is used by one thread at a time (each membership thread
// has its own).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::control {

// "http://HOST:PORT" (HOST a name, an IPv4 address or [IPv6]). False with a
// reason for anything else (https, a path, no port, a bad port).
bool parse_etcd_endpoint(std::string_view url, std::string& host, int& port, std::string& err);

std::string base64_encode(std::string_view raw);
// nullopt on a character outside the alphabet or bad padding.
std::optional<std::string> base64_decode(std::string_view text);
// The range_end that selects every key starting with `prefix`.
std::string prefix_range_end(std::string_view prefix);

// A value or the reason there is none.
template <class T>
struct etcd_result {
  std::optional<T> value;
  std::string error;  // empty when value is set
  bool unreachable = false;  // no endpoint answered at all (vs. etcd said no)

  bool ok() const noexcept { return value.has_value(); }
  static etcd_result fail(std::string why, bool unreachable_ = false) {
    etcd_result r;
    r.error = std::move(why);
    r.unreachable = unreachable_;
    return r;
  }
};

struct etcd_kv {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct etcd_range {
  std::int64_t revision = 0;  // the store's revision when it answered
  std::vector<etcd_kv> kvs;
};

struct etcd_cas {
  bool succeeded = false;
  std::int64_t revision = 0;     // the store's revision after the txn
  std::optional<etcd_kv> current;  // when it failed: the key as it is now (nullopt if absent)
};

struct etcd_event {
  bool is_delete = false;
  etcd_kv kv;  // for a delete: key and mod_revision only
};

// What ended a watch.
enum class watch_end : std::uint8_t {
  stopped,    // on_events returned false or `stop` became true
  idle,       // no event within the read timeout: re-watch from the next revision
  compacted,  // the start revision was compacted away: re-list
  failed,     // connection or protocol error: re-list after a pause
};

class etcd_client {
 public:
  using json = nlohmann::json;

  // Endpoints must have passed parse_etcd_endpoint (asserted).
  explicit etcd_client(std::vector<std::string> endpoints,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

  etcd_result<etcd_range> range(std::string_view key, std::string_view range_end = {});
  // Returns the revision of the put.
  etcd_result<std::int64_t> put(std::string_view key, std::string_view value, std::int64_t lease = 0);
  etcd_result<std::int64_t> remove(std::string_view key);
  // Writes `value` (with `lease` if not 0) at `key` only if the key's
  // mod_revision is `expected_mod_revision` (0 = the key must not exist).
  etcd_result<etcd_cas> cas_mod_revision(std::string_view key, std::int64_t expected_mod_revision,
                                         std::string_view value, std::int64_t lease = 0);
  // The same, but compares the key's current value with `expected_value`.
  etcd_result<etcd_cas> cas_value(std::string_view key, std::string_view expected_value, std::string_view value);

  // Lease id and granted TTL in seconds (etcd may raise a TTL to its minimum).
  etcd_result<std::pair<std::int64_t, std::int64_t>> lease_grant(std::int64_t ttl_s);
  // Remaining TTL in seconds; 0 = the lease no longer exists (expired or revoked).
  etcd_result<std::int64_t> lease_keepalive(std::int64_t id);
  etcd_result<bool> lease_revoke(std::int64_t id);

  // Watches [key, range_end) from `start_revision`, calling on_events(revision,
  // events) per batch until it returns false, `stop` is set, or the stream ends.
  // Returns why it ended and, through `err`, any error text. The read timeout
  // bounds how long `stop` can go unnoticed.
  watch_end watch(std::string_view key, std::string_view range_end, std::int64_t start_revision,
                  const std::function<bool(std::int64_t, const std::vector<etcd_event>&)>& on_events,
                  const std::atomic<bool>& stop, std::string& err);

  const std::vector<std::string>& endpoints() const noexcept { return _endpoints; }

 private:
  // POSTs `body` to `path` on each endpoint in turn until one answers.
  etcd_result<json> post(const char* path, const json& body);
  etcd_result<etcd_cas> txn(const json& compare, std::string_view key, std::string_view value, std::int64_t lease);

  std::vector<std::string> _endpoints;
  std::chrono::milliseconds _timeout;
  std::size_t _current = 0;  // the endpoint that answered last
};

}  // namespace sluice::control
