// Config parsing: the embedded default, every kind of bad input (with file,
// line and setting in the message), unknown keys.
#include <gtest/gtest.h>

#include "datapath/broker/config.h"

namespace sluice::broker {
namespace {

std::string error_of(std::string_view text) {
  std::string err;
  const auto cfg = parse_config(text, "test.toml", err);
  EXPECT_FALSE(cfg.has_value()) << text;
  return err;
}

TEST(broker_config, embedded_default_has_three_modes) {
  std::string err;
  const auto cfg = parse_config(k_default_config, "embedded default", err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_EQ(cfg->listen, "127.0.0.1");
  EXPECT_GE(cfg->shard_cnt, 2u);
  ASSERT_NE(cfg->find_domain("prio"), nullptr);
  EXPECT_EQ(cfg->find_domain("prio")->mode, domain_mode::priority);
  ASSERT_NE(cfg->find_domain("fan"), nullptr);
  EXPECT_EQ(cfg->find_domain("fan")->app_ids.size(), 2u);
  ASSERT_NE(cfg->find_domain("bcast"), nullptr);
  EXPECT_EQ(cfg->find_domain("bcast")->mode, domain_mode::broadcast);
  EXPECT_EQ(cfg->idle, idle_policy::adaptive);
}

TEST(broker_config, syntax_error_names_file_and_line) {
  const auto err = error_of("[node]\nid = 1\nlisten = \n");
  EXPECT_EQ(err.rfind("test.toml:3:", 0), 0u) << err;
}

TEST(broker_config, wrong_types_and_ranges_name_the_setting) {
  EXPECT_NE(error_of("[node]\nid = \"one\"\n[[domain]]\nname=\"a\"\n").find("test.toml:2: node.id: must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of("[shards]\ncount = 0\n[[domain]]\nname=\"a\"\n").find("shards.count: must be between 1 and 64"),
            std::string::npos);
  EXPECT_NE(error_of("[shards]\nidle = \"lazy\"\n[[domain]]\nname=\"a\"\n").find("shards.idle: \"lazy\" is not known; must be \"adaptive\" or \"busy\""),
            std::string::npos);
  EXPECT_NE(error_of("[session]\nsend_window = 1000\n[[domain]]\nname=\"a\"\n").find("send_window must be a power of two"),
            std::string::npos);
}

TEST(broker_config, unknown_keys_and_sections_are_errors) {
  EXPECT_NE(error_of("[node]\nidd = 1\n[[domain]]\nname=\"a\"\n").find("test.toml:2: node.idd: unknown setting"),
            std::string::npos);
  EXPECT_NE(error_of("[nodes]\nid = 1\n[[domain]]\nname=\"a\"\n").find("nodes: unknown section"), std::string::npos);
  EXPECT_NE(error_of("[[domain]]\nname=\"a\"\ncolour=\"red\"\n").find("domain[0].colour: unknown setting"),
            std::string::npos);
}

TEST(broker_config, domain_rules) {
  EXPECT_NE(error_of("[node]\nid=1\n").find("at least one [[domain]]"), std::string::npos);
  EXPECT_NE(error_of("[[domain]]\nname=\"a\"\n[[domain]]\nname=\"a\"\n").find("defined twice"), std::string::npos);
  EXPECT_NE(error_of("[[domain]]\nname=\"a b\"\n").find("domain[0].name"), std::string::npos);
  EXPECT_NE(error_of("[[domain]]\nname=\"f\"\nmode=\"fanout\"\n").find("fanout domain needs 1 to 16 app ids"),
            std::string::npos);
  EXPECT_NE(error_of("[[domain]]\nname=\"p\"\napp_ids=[\"x\"]\n").find("only fanout domains have app ids"),
            std::string::npos);
  EXPECT_NE(error_of("[[domain]]\nname=\"d\"\nmode=\"broadcast\"\nstorage=\"disk\"\n").find("broadcast domains store nothing"),
            std::string::npos);
  EXPECT_NE(error_of("[[domain]]\nname=\"f\"\nmode=\"fanout\"\napp_ids=[\"x\",\"x\"]\n").find("appears twice"),
            std::string::npos);
}

TEST(broker_config, storage_section) {
  EXPECT_NE(error_of("[storage]\nsegment_mb=1\n[[domain]]\nname=\"a\"\n").find("storage.segment_mb"), std::string::npos);
  EXPECT_NE(error_of("[storage]\nsync=\"never\"\n[[domain]]\nname=\"a\"\n").find("storage.sync"), std::string::npos);
  EXPECT_NE(error_of("[storage]\nsalvge=true\n[[domain]]\nname=\"a\"\n").find("unknown setting"), std::string::npos);
  EXPECT_NE(error_of("[storage]\ncompact_live_pct=101\n[[domain]]\nname=\"a\"\n").find("storage.compact_live_pct"),
            std::string::npos);
  EXPECT_NE(error_of("[storage]\ncompact_after_segments=1\n[[domain]]\nname=\"a\"\n").find("storage.compact_after"),
            std::string::npos);
  EXPECT_NE(error_of("[storage]\ndir=\"\"\n[[domain]]\nname=\"d\"\nstorage=\"disk\"\n").find("storage.dir"),
            std::string::npos);
  std::string err;
  const auto cfg = parse_config("[storage]\ndir=\"/x/j\"\nsegment_mb=8\ngroup_commit_us=200\nsync=\"fdatasync\"\n"
                                "salvage=true\ncompact_after_segments=6\ncompact_live_pct=30\n"
                                "[[domain]]\nname=\"d\"\nstorage=\"disk\"\n",
                                "t", err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_TRUE(cfg->has_disk_domains());
  EXPECT_EQ(cfg->storage.dir, "/x/j");
  EXPECT_EQ(cfg->storage.segment_sz, 8ull << 20);
  EXPECT_EQ(cfg->storage.group_commit_ns, 200 * k_ns_per_us);
  EXPECT_EQ(cfg->storage.sync, journal_sync::fdatasync);
  EXPECT_TRUE(cfg->storage.salvage);
  EXPECT_EQ(cfg->storage.compact_after_segments, 6u);
  EXPECT_EQ(cfg->storage.compact_live_pct, 30u);
  // A directory below a regular file can never be created.
  broker_config bad = *cfg;
  bad.storage.dir = "/proc/self/status/journal";
  EXPECT_FALSE(prepare_storage_dirs(bad, err));
  EXPECT_NE(err.find("storage.dir: /proc/self/status"), std::string::npos) << err;
}

TEST(broker_config, cross_field_checks) {
  EXPECT_NE(error_of("[node]\nlisten=\"localhost\"\n[[domain]]\nname=\"a\"\n").find("not an IPv4 or IPv6 address"),
            std::string::npos);
  EXPECT_NE(error_of("[node]\nbase_port=65535\n[shards]\ncount=2\n[[domain]]\nname=\"a\"\n").find("base_port"),
            std::string::npos);
  EXPECT_NE(error_of("[shards]\ncount=2\ncores=[0]\n[[domain]]\nname=\"a\"\n").find("one per shard"),
            std::string::npos);
}

TEST(broker_config, full_file_round_trip) {
  std::string err;
  const auto cfg = parse_config(R"(
[node]
id = 7
listen = "::1"
base_port = 9000
[shards]
count = 3
cores = [0, 1, 0]
idle = "busy"
spin_us = 10
[limits]
max_sessions = 32
message_memory_mb = 64
[session]
send_window = 256
recv_window = 256
max_message_sz = 262144
[debug]
alloc_guard = "abort"
[[domain]]
name = "orders"
mode = "fanout"
app_ids = ["a", "b", "c"]
max_messages = 10
max_bytes = 1000
message_ttl_ms = 1500
)",
                                "full.toml", err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_EQ(cfg->node_id, 7);
  EXPECT_EQ(cfg->listen, "::1");
  EXPECT_EQ(cfg->shard_cnt, 3u);
  EXPECT_EQ(cfg->idle, idle_policy::busy);
  EXPECT_EQ(cfg->spin_ns, 10 * k_ns_per_us);
  EXPECT_EQ(cfg->message_memory_bytes, 64u << 20);
  EXPECT_EQ(cfg->alloc_guard, alloc_guard::mode::abort);
  const auto* d = cfg->find_domain("orders");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->max_messages, 10u);
  EXPECT_EQ(d->message_ttl_ns, 1500 * k_ns_per_ms);
}

TEST(broker_config, missing_file_is_reported) {
  std::string err;
  EXPECT_FALSE(load_config_file("/nonexistent/sluice.toml", err));
  EXPECT_NE(err.find("/nonexistent/sluice.toml: cannot open"), std::string::npos);
}

}  // namespace
}  // namespace sluice::broker
