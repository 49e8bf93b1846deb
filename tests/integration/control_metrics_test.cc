// The Prometheus endpoint of sluice-control against a real broker: the text
// format checked line by line, counters against the traffic that made them,
// and scrapes while idle and slow clients hold connections.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/control_fixture.h"
#include "tests/support/journal_dir.h"
#include "tests/support/traffic.h"

namespace sluice::testing {
namespace {

// --- metrics ---------------------------------------------------------------

// A hand-written scanner for the Prometheus text format (std::regex trips
// GCC 12's -Wmaybe-uninitialized under ASan).
bool name_start(char c, bool colon) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (colon && c == ':'); }
bool name_char(char c, bool colon) { return name_start(c, colon) || std::isdigit(static_cast<unsigned char>(c)); }

// Reads a metric (colon = true) or label name at `at`; "" if none.
std::string scan_name(const std::string& l, std::size_t& at, bool colon) {
  const std::size_t from = at;
  if (at >= l.size() || !name_start(l[at], colon)) return {};
  while (at < l.size() && name_char(l[at], colon)) ++at;
  return l.substr(from, at - from);
}

// Reads `{name="value",...}` at `at` (if there); false when malformed.
// `le` gets the value of an `le` label; `rest` the other labels as written.
bool scan_labels(const std::string& l, std::size_t& at, std::string& le, std::string& rest) {
  if (at >= l.size() || l[at] != '{') return true;
  ++at;
  while (true) {
    const std::string name = scan_name(l, at, false);
    if (name.empty() || at + 1 >= l.size() || l[at] != '=' || l[at + 1] != '"') return false;
    at += 2;
    std::string value;
    while (at < l.size() && l[at] != '"') {
      if (l[at] == '\n') return false;
      if (l[at] == '\\') {
        if (at + 1 >= l.size() || (l[at + 1] != '\\' && l[at + 1] != '"' && l[at + 1] != 'n')) return false;
        value += l[at];
        ++at;
      }
      value += l[at++];
    }
    if (at >= l.size()) return false;
    ++at;  // closing quote
    if (name == "le") {
      le = value;
    } else {
      rest += (rest.empty() ? "" : ",") + name + "=\"" + value + "\"";
    }
    if (at < l.size() && l[at] == ',') {
      ++at;
      continue;
    }
    if (at < l.size() && l[at] == '}') {
      ++at;
      return true;
    }
    return false;
  }
}

bool parse_value(const std::string& t, double& v) {
  if (t == "+Inf" || t == "-Inf" || t == "NaN") {
    v = t == "NaN" ? NAN : (t[0] == '+' ? INFINITY : -INFINITY);
    return true;
  }
  if (t.empty()) return false;
  char* end = nullptr;
  v = std::strtod(t.c_str(), &end);
  return *end == '\0';
}

// Checks `text` against the Prometheus text exposition format (0.0.4):
// comment lines, sample lines with well-formed names, labels and values,
// one TYPE per family before its samples, counters named *_total, and
// histograms with cumulative buckets ending in +Inf equal to _count.
// Returns "" or the first problem; fills `samples` (name{labels} → value).
std::string prometheus_problem(const std::string& text, std::map<std::string, double>& samples) {
  static const std::set<std::string> k_types = {"counter", "gauge", "histogram", "summary", "untyped"};
  samples.clear();
  if (text.empty() || text.back() != '\n') return "the exposition does not end with a newline";
  std::map<std::string, std::string> types;
  // histogram family → labels without le → (le, cumulative count)
  std::map<std::string, std::map<std::string, std::vector<std::pair<double, double>>>> buckets;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string where = "line " + std::to_string(n) + " \"" + line + "\": ";
    if (line.empty()) continue;
    if (line[0] == '#') {
      const bool is_type = line.rfind("# TYPE ", 0) == 0;
      if (!is_type && line.rfind("# HELP ", 0) != 0) return where + "comment is neither HELP nor TYPE";
      std::size_t at = 7;
      const std::string name = scan_name(line, at, true);
      if (name.empty() || at >= line.size() || line[at] != ' ') return where + "bad metric name";
      if (is_type) {
        const std::string t = line.substr(at + 1);
        if (!k_types.count(t)) return where + "unknown type";
        if (types.count(name)) return where + "second TYPE for a family";
        types[name] = t;
        if (t == "counter" && !name.ends_with("_total")) return where + "counter not named *_total";
      }
      continue;
    }
    std::size_t at = 0;
    const std::string name = scan_name(line, at, true);
    if (name.empty()) return where + "bad metric name";
    const std::size_t labels_from = at;
    std::string le, rest;
    if (!scan_labels(line, at, le, rest)) return where + "malformed labels";
    const std::string key = name + line.substr(labels_from, at - labels_from);
    if (at >= line.size() || line[at] != ' ') return where + "no value";
    std::istringstream fields(line.substr(at + 1));
    std::string value, stamp, extra;
    fields >> value >> stamp >> extra;
    double v = 0;
    if (!parse_value(value, v)) return where + "bad value";
    if (!stamp.empty() && stamp.find_first_not_of("-0123456789") != std::string::npos) return where + "bad timestamp";
    if (!extra.empty()) return where + "junk after the value";
    std::string family = name;
    for (const char* suf : {"_bucket", "_sum", "_count"}) {
      if (name.ends_with(suf) && !types.count(name)) family = name.substr(0, name.size() - std::strlen(suf));
    }
    if (!types.count(family)) return where + "sample before its family's TYPE";
    if (samples.count(key)) return where + "duplicate sample";
    samples[key] = v;
    if (types[family] == "histogram" && name == family + "_bucket") {
      double bound = 0;
      if (!parse_value(le, bound)) return where + "bucket without a numeric le";
      buckets[family][rest].push_back({bound, v});
    }
  }
  for (const auto& [family, per_labels] : buckets) {
    for (auto bs : per_labels) {
      const std::string& labels = bs.first;
      std::sort(bs.second.begin(), bs.second.end());
      for (std::size_t i = 1; i < bs.second.size(); ++i) {
        if (bs.second[i].second < bs.second[i - 1].second) return family + "{" + labels + "}: buckets not cumulative";
      }
      if (!std::isinf(bs.second.back().first)) return family + "{" + labels + "}: no +Inf bucket";
      const std::string count_key = family + "_count" + (labels.empty() ? std::string() : "{" + labels + "}");
      const auto it = samples.find(count_key);
      if (it == samples.end()) return family + "{" + labels + "}: no _count (" + count_key + ")";
      if (it->second != bs.second.back().second) return family + "{" + labels + "}: +Inf bucket differs from _count";
    }
  }
  return {};
}

// A per-queue sample of prio/metrics (whatever its shard label); -1 if none.
double queue_sample(const std::map<std::string, double>& samples, const std::string& name) {
  const std::string prefix = name + "{queue=\"prio/metrics\",domain=\"prio\",shard=";
  for (const auto& [k, v] : samples) {
    if (k.rfind(prefix, 0) == 0 && k.find("le=") == std::string::npos) return v;
  }
  return -1;
}
double in_total(const std::map<std::string, double>& samples) {
  return queue_sample(samples, "sluice_queue_messages_in_total");
}

// Made before the broker (a base listed first): its journal directory.
struct with_journal_dir {
  journal_dir jdir;
};

class control_metrics : private with_journal_dir, public control_plane {
 protected:
  static broker_options opts(const std::string& jdir) {
    broker_options o;
    o.metrics_listen = "127.0.0.1:" + std::to_string(free_tcp_port());
    o.extra = "[storage]\ndir = \"" + jdir + "\"\n";
    o.domains = "[[domain]]\nname = \"prio\"\nmode = \"priority\"\n\n"
                "[[domain]]\nname = \"dq\"\nmode = \"priority\"\nstorage = \"disk\"\n";
    return o;
  }
  control_metrics() : control_plane(opts(jdir.path())) {}
};

// The sum over shards of a per-shard sample, -1 if there is none.
double shard_sum(const std::map<std::string, double>& samples, const std::string& name) {
  double sum = -1;
  for (const auto& [k, v] : samples) {
    if (k.rfind(name + "{shard=", 0) == 0 && k.find("le=") == std::string::npos) sum = (sum < 0 ? 0 : sum) + v;
  }
  return sum;
}

TEST_F(control_metrics, metrics_endpoint_serves_valid_prometheus_text) {
  {
    traffic d(broker.address(), "dq/metrics");  // a disk queue: journal commits
    ASSERT_TRUE(eventually([&] { return d.acks() > 500 || d.failed(); })) << d.error();
    d.stop();
    EXPECT_FALSE(d.failed()) << d.error();
  }
  traffic t(broker.address(), "prio/metrics");
  ASSERT_TRUE(eventually([&] { return t.acks() > 2000 || t.failed(); })) << t.error();
  t.stop();
  std::ifstream cfg(broker.config_path());
  std::string listen;
  for (std::string l; std::getline(cfg, l);) {
    if (l.rfind("metrics_listen = \"", 0) == 0) listen = l.substr(18, l.size() - 19);
  }
  const auto colon = listen.rfind(':');
  httplib::Client http(listen.substr(0, colon), std::stoi(listen.substr(colon + 1)));
  http.set_read_timeout(5, 0);
  std::string body;
  std::map<std::string, double> samples;
  // Wait for a sample taken after the traffic stopped.
  ASSERT_TRUE(eventually([&] {
    const auto res = http.Get("/metrics");
    if (!res || res->status != 200) return false;
    body = res->body;
    samples.clear();
    if (!prometheus_problem(body, samples).empty()) return true;  // reported below
    return in_total(samples) >= static_cast<double>(t.acks());
  })) << body;
  EXPECT_EQ(prometheus_problem(body, samples), "") << body;
  EXPECT_EQ(samples["sluice_up"], 1);
  // Every ACKed PUT is counted; PUTs in flight when the traffic stopped
  // (at most 64) are counted without their ACK having been seen.
  EXPECT_GE(in_total(samples), static_cast<double>(t.acks()));
  EXPECT_LE(in_total(samples), static_cast<double>(t.acks() + 64));
  EXPECT_GT(samples["sluice_shard_loop_iterations_total{shard=\"0\"}"], 0);
  // Latency histograms: one observation per ACKed PUT and per CONFIRM.
  EXPECT_EQ(queue_sample(samples, "sluice_queue_publish_ack_latency_seconds_count"), in_total(samples));
  EXPECT_EQ(queue_sample(samples, "sluice_queue_end_to_end_latency_seconds_count"),
            queue_sample(samples, "sluice_queue_confirms_total"));
  EXPECT_GT(queue_sample(samples, "sluice_queue_end_to_end_latency_seconds_sum"), 0);
  EXPECT_GE(queue_sample(samples, "sluice_queue_unconfirmed_messages"), 0);
  // The journal: commits, and one latency observation per commit.
  EXPECT_GT(shard_sum(samples, "sluice_journal_commits_total"), 0);
  // (a commit is counted when issued, its latency when it completes)
  EXPECT_LE(shard_sum(samples, "sluice_journal_commit_latency_seconds_count"),
            shard_sum(samples, "sluice_journal_commits_total"));
  EXPECT_GE(shard_sum(samples, "sluice_journal_commit_latency_seconds_count"),
            shard_sum(samples, "sluice_journal_commits_total") - 2);
  EXPECT_GT(shard_sum(samples, "sluice_journal_commit_latency_seconds_sum"), 0);
  EXPECT_GT(shard_sum(samples, "sluice_journal_written_bytes_total"), 0);
  const auto res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
  const auto nf = http.Get("/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
}

// Idle keep-alive connections and clients that send their headers slowly
// must not hold up a scrape (issue 13.4: with a worker per connection, 8 idle
// connections delayed it by 4.8 s and 64 made it time out).
TEST_F(control_metrics, scrapes_are_served_while_idle_and_slow_clients_hold_connections) {
  std::ifstream cfg(broker.config_path());
  std::string listen;
  for (std::string l; std::getline(cfg, l);) {
    if (l.rfind("metrics_listen = \"", 0) == 0) listen = l.substr(18, l.size() - 19);
  }
  const auto colon = listen.rfind(':');
  const auto port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
  const auto open_conn = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    return fd;
  };
  std::vector<int> held;
  for (int i = 0; i < 64; ++i) held.push_back(open_conn());  // idle: connected, nothing sent
  for (int i = 0; i < 16; ++i) {                               // slow: half a request line
    const int fd = open_conn();
    const std::string part = "GET /metr";
    EXPECT_EQ(::send(fd, part.data(), part.size(), MSG_NOSIGNAL), static_cast<ssize_t>(part.size()));
    held.push_back(fd);
  }
  httplib::Client http(listen.substr(0, colon), port);
  http.set_connection_timeout(10, 0);
  http.set_read_timeout(10, 0);
  for (int i = 0; i < 3; ++i) {
    const auto res = http.Get("/metrics");
    ASSERT_TRUE(res) << "scrape " << i << " failed with " << held.size() << " connections held: "
                     << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_NE(res->body.find("sluice_up"), std::string::npos);
  }
  // The slow clients finish their requests and are answered too.
  for (std::size_t i = 64; i < held.size(); ++i) {
    const std::string rest = "ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(held[i], rest.data(), rest.size(), MSG_NOSIGNAL), static_cast<ssize_t>(rest.size()));
    char head[16] = {};
    timeval tv{10, 0};
    ::setsockopt(held[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_GT(::recv(held[i], head, sizeof head - 1, MSG_WAITALL), 12);
    EXPECT_EQ(std::string(head).substr(0, 12), "HTTP/1.1 200") << head;
  }
  for (const int fd : held) ::close(fd);
  const auto put = http.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
}

TEST(prometheus_checker, rejects_what_is_not_the_text_format) {
  std::map<std::string, double> s;
  EXPECT_EQ(prometheus_problem("# HELP a_total x\n# TYPE a_total counter\na_total{q=\"x\"} 3\n", s), "");
  EXPECT_NE(prometheus_problem("a_total 3\n", s), "");                                  // no TYPE
  EXPECT_NE(prometheus_problem("# TYPE a counter\na 3\n", s), "");                      // counter name
  EXPECT_NE(prometheus_problem("# TYPE a gauge\na{q=x} 3\n", s), "");                   // unquoted label
  EXPECT_NE(prometheus_problem("# TYPE a gauge\na 3 4 5\n", s), "");                    // junk
  EXPECT_NE(prometheus_problem("# TYPE a gauge\na 3", s), "");                          // no newline
  EXPECT_NE(prometheus_problem("# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", s),
            "");  // not cumulative
  EXPECT_EQ(prometheus_problem("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
                               s),
            "");
}

}  // namespace
}  // namespace sluice::testing
