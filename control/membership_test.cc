// Static membership, the [cluster] settings membership reads, and the etcd
// client's encodings (base64, endpoints, prefix ranges). No etcd needed: the
// tests against a real etcd are tests/integration/control_etcd_test.cc.
#include <gtest/gtest.h>

#include <random>

#include "control/etcd_client.h"
#include "control/membership.h"
#include "datapath/broker/config.h"

namespace sluice::control {
namespace {

broker::broker_config parse_ok(const std::string& extra) {
  std::string err;
  const std::string text = std::string(broker::k_default_config) + extra;
  auto cfg = broker::parse_config(text, "test.toml", err);
  EXPECT_TRUE(cfg.has_value()) << err;
  return cfg ? *cfg : broker::broker_config{};
}

std::string parse_err(const std::string& cluster) {
  std::string err;
  const std::string text = std::string(broker::k_default_config) + "\n[cluster]\n" + cluster + "\n";
  EXPECT_FALSE(broker::parse_config(text, "test.toml", err).has_value()) << cluster;
  return err;
}

TEST(cluster_config, bad_settings_are_refused_with_the_reason) {
  EXPECT_NE(parse_err("membership = \"zookeeper\"").find("cluster.membership"), std::string::npos);
  EXPECT_NE(parse_err("membership = \"etcd\"\netcd_endpoints = []").find("at least one endpoint"),
            std::string::npos);
  EXPECT_NE(parse_err("membership = \"etcd\"\netcd_endpoints = [\"127.0.0.1:2379\"]").find("http://HOST:PORT"),
            std::string::npos);
  EXPECT_NE(parse_err("etcd_endpoints = [\"https://10.0.0.1:2379\"]").find("https is not supported"),
            std::string::npos);
  EXPECT_NE(parse_err("etcd_endpoints = [\"http://10.0.0.1\"]").find("http://HOST:PORT"), std::string::npos);
  EXPECT_NE(parse_err("etcd_endpoints = [\"http://10.0.0.1:99999\"]").find("http://HOST:PORT"), std::string::npos);
  EXPECT_NE(parse_err("etcd_endpoints = [\"http://:2379\"]").find("http://HOST:PORT"), std::string::npos);
  EXPECT_NE(parse_err("etcd_endpoints = [\"http://h:2379/v3\"]").find("http://HOST:PORT"), std::string::npos);
  EXPECT_NE(parse_err("name = \"a/b\"").find("cluster.name"), std::string::npos);
  EXPECT_NE(parse_err("name = \"\"").find("cluster.name"), std::string::npos);
  EXPECT_NE(parse_err("advertise = \"node-1\"").find("cluster.advertise"), std::string::npos);
  EXPECT_NE(parse_err("advertise = \"0.0.0.0\"").find("wildcard"), std::string::npos);
  EXPECT_NE(parse_err("lease_ttl_ms = 100").find("cluster.lease_ttl_ms"), std::string::npos);
  EXPECT_NE(parse_err("node_name = \"x\"").find("unknown setting"), std::string::npos);
}

TEST(cluster_config, good_settings_are_read) {
  const auto cfg = parse_ok(
      "\n[cluster]\nmembership = \"etcd\"\nname = \"prod-1\"\n"
      "etcd_endpoints = [\"http://127.0.0.1:2379\", \"http://[::1]:2379\", \"http://etcd-a:2379\"]\n"
      "lease_ttl_ms = 1500\npartitions = 12\nadvertise = \"10.1.2.3\"\n");
  EXPECT_EQ(cfg.cluster.membership, broker::membership_kind::etcd);
  EXPECT_EQ(cfg.cluster.name, "prod-1");
  EXPECT_EQ(cfg.cluster.etcd_endpoints.size(), 3u);
  EXPECT_EQ(cfg.cluster.lease_ttl_ms, 1500u);
  EXPECT_EQ(cfg.cluster.advertise, "10.1.2.3");
  EXPECT_EQ(partition_count(cfg), 12u);
  EXPECT_EQ(self_member(cfg).advertise, "10.1.2.3");
  EXPECT_NE(broker::config_help().find("advertise"), std::string::npos);
}

TEST(static_membership, one_node_primary_for_one_partition_per_shard) {
  const auto cfg = parse_ok("");
  const auto m = make_membership(cfg);
  int changes = 0;
  m->start([&] { ++changes; });
  EXPECT_EQ(changes, 1) << "start() announces the initial view";
  const auto v = m->view();
  EXPECT_STREQ(v.mode, "static");
  EXPECT_EQ(v.state, "up");
  EXPECT_TRUE(v.registered);
  ASSERT_EQ(v.members.size(), 1u);
  EXPECT_EQ(v.members[0].id, cfg.node_id);
  EXPECT_EQ(v.members[0].advertise, cfg.listen);
  EXPECT_EQ(v.map.epoch, 1u);
  ASSERT_EQ(v.map.partitions.size(), cfg.shard_cnt);
  for (const auto& e : v.map.partitions) {
    EXPECT_EQ(e.primary, cfg.node_id);
    EXPECT_TRUE(e.replicas.empty());
  }
  EXPECT_EQ(m->serving(), std::vector<bool>(cfg.shard_cnt, true));
  EXPECT_EQ(m->next_deadline(), std::chrono::steady_clock::time_point::max());
  m->stop();
  m->stop();  // idempotent
}

TEST(static_membership, partitions_map_onto_shards_modulo) {
  const auto cfg = parse_ok("\n[cluster]\npartitions = 1\n");  // 2 shards, 1 partition: shard 1 idle
  const auto m = make_membership(cfg);
  EXPECT_EQ(m->serving(), (std::vector<bool>{true, false}));
  const auto cfg5 = parse_ok("\n[cluster]\npartitions = 5\n");
  EXPECT_EQ(make_membership(cfg5)->view().map.partitions.size(), 5u);
  EXPECT_EQ(make_membership(cfg5)->serving(), (std::vector<bool>{true, true}));
}

TEST(etcd_encoding, base64_known_vectors_and_bad_input) {
  // RFC 4648 section 10.
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [raw, enc] : vectors) {
    EXPECT_EQ(base64_encode(raw), enc);
    EXPECT_EQ(base64_decode(enc), std::optional<std::string>(raw));
  }
  EXPECT_EQ(base64_encode("/sluice/c/members/1"), "L3NsdWljZS9jL21lbWJlcnMvMQ==");
  EXPECT_FALSE(base64_decode("Zm9").has_value());       // not a multiple of 4
  EXPECT_FALSE(base64_decode("Zm9v!A==").has_value());  // outside the alphabet
  EXPECT_FALSE(base64_decode("Z===").has_value());      // too much padding
  EXPECT_FALSE(base64_decode("Zg==Zm9v").has_value());  // data after padding
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string raw(rng() % 40, '\0');
    for (auto& c : raw) c = static_cast<char>(rng());
    EXPECT_EQ(base64_decode(base64_encode(raw)), std::optional<std::string>(raw));
  }
}

TEST(etcd_encoding, endpoints) {
  std::string host, err;
  int port = 0;
  EXPECT_TRUE(parse_etcd_endpoint("http://127.0.0.1:2379", host, port, err));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 2379);
  EXPECT_TRUE(parse_etcd_endpoint("http://[::1]:23790/", host, port, err));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 23790);
  EXPECT_FALSE(parse_etcd_endpoint("https://127.0.0.1:2379", host, port, err));
  EXPECT_NE(err.find("https"), std::string::npos);
  EXPECT_FALSE(parse_etcd_endpoint("127.0.0.1:2379", host, port, err));
  EXPECT_FALSE(parse_etcd_endpoint("http://127.0.0.1", host, port, err));
  EXPECT_FALSE(parse_etcd_endpoint("http://127.0.0.1:0", host, port, err));
  EXPECT_FALSE(parse_etcd_endpoint("http://127.0.0.1:2379/v3", host, port, err));
  EXPECT_FALSE(parse_etcd_endpoint("http://[::1:2379", host, port, err));
}

TEST(etcd_encoding, prefix_range_end) {
  EXPECT_EQ(prefix_range_end("/sluice/c/"), "/sluice/c0");
  EXPECT_EQ(prefix_range_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_range_end(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST(etcd_client, unreachable_endpoints_are_reported_as_such) {
  // A port nobody listens on (bound, never listening).
  etcd_client c({"http://127.0.0.1:1", "http://127.0.0.1:9"}, std::chrono::milliseconds(300));
  const auto r = c.range("/x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.unreachable);
  EXPECT_NE(r.error.find("etcd unreachable"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("127.0.0.1:9"), std::string::npos) << "every endpoint tried is named: " << r.error;
}

}  // namespace
}  // namespace sluice::control
