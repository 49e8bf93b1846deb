// partition_map: decode refuses bad input, encode/decode round trips, and
// assign() follows its rule (orphans to replicas, even spread, replicas
// filled from the ring) deterministically, checked over random inputs too.
#include "control/partition_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

namespace sluice::control {
namespace {

std::string bad(std::string_view text) {
  std::string err;
  EXPECT_FALSE(decode(text, err).has_value()) << text;
  return err;
}

TEST(partition_map_decode, refuses_bad_input) {
  EXPECT_NE(bad("").find("not JSON"), std::string::npos);
  EXPECT_NE(bad("{\"epoch\": 1").find("not JSON"), std::string::npos);
  EXPECT_NE(bad("[1]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(bad(R"({"partitions": [{"partition":0,"primary":1,"replicas":[]}]})").find("epoch"), std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 0, "partitions": [{"partition":0,"primary":1,"replicas":[]}]})").find("epoch"),
            std::string::npos);
  EXPECT_NE(bad(R"({"epoch": -3, "partitions": []})").find("epoch"), std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": []})").find("partitions"), std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": {}})").find("partitions"), std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": [{"partition":1,"primary":1,"replicas":[]}]})").find("partition order"),
            std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": [{"partition":0,"primary":70000,"replicas":[]}]})").find("primary"),
            std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": [{"partition":0,"primary":"1","replicas":[]}]})").find("primary"),
            std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": [{"partition":0,"primary":1}]})").find("replicas"), std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": [{"partition":0,"primary":1,"replicas":[0]}]})").find("replicas"),
            std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": [{"partition":0,"primary":1,"replicas":[1]}]})").find("primary is also"),
            std::string::npos);
  EXPECT_NE(bad(R"({"epoch": 2, "partitions": [{"partition":0,"primary":1,"replicas":[2,2]}]})").find("twice"),
            std::string::npos);
  std::string many = R"({"epoch": 2, "partitions": [)";
  for (std::uint32_t p = 0; p <= k_partitions_max; ++p) {
    many += (p ? "," : "") + std::string(R"({"partition":)") + std::to_string(p) + R"(,"primary":1,"replicas":[]})";
  }
  EXPECT_NE(bad(many + "]}").find("partitions"), std::string::npos);
}

TEST(partition_map_decode, round_trips) {
  partition_map m;
  m.epoch = 42;
  m.written_by = 3;
  m.reason = "live members 1,3";
  m.partitions = {{1, {3}}, {3, {1}}, {k_no_node, {}}};
  std::string err;
  const auto back = decode(encode(m), err);
  ASSERT_TRUE(back.has_value()) << err;
  EXPECT_EQ(back->epoch, 42u);
  EXPECT_EQ(back->written_by, 3);
  EXPECT_EQ(back->reason, m.reason);
  EXPECT_TRUE(back->same_assignment(m));
  EXPECT_EQ(encode(*back), encode(m));
}

// The invariants every assign() result must hold.
void check_invariants(const partition_map& m, const std::vector<node_id>& live_in, std::uint32_t replicas_max) {
  std::vector<node_id> live = live_in;
  std::sort(live.begin(), live.end());
  live.erase(std::unique(live.begin(), live.end()), live.end());
  std::map<node_id, std::uint32_t> load;
  for (const node_id n : live) load[n] = 0;
  for (const auto& e : m.partitions) {
    ASSERT_TRUE(std::binary_search(live.begin(), live.end(), e.primary)) << "primary " << e.primary << " not live";
    ++load[e.primary];
    EXPECT_EQ(e.replicas.size(), std::min<std::size_t>(replicas_max, live.size() - 1));
    std::set<node_id> seen;
    for (const node_id r : e.replicas) {
      EXPECT_NE(r, e.primary);
      EXPECT_TRUE(seen.insert(r).second) << "duplicate replica";
      EXPECT_TRUE(std::binary_search(live.begin(), live.end(), r)) << "replica " << r << " not live";
    }
  }
  std::uint32_t lo = UINT32_MAX, hi = 0;
  for (const auto& [n, c] : load) {
    lo = std::min(lo, c);
    hi = std::max(hi, c);
  }
  EXPECT_LE(hi - lo, 1u) << "primaries not spread evenly";
}

TEST(partition_map_assign, no_live_node_changes_nothing) {
  partition_map m;
  m.epoch = 5;
  m.partitions = {{1, {2}}, {2, {1}}};
  const auto next = assign(m, {}, 2);
  EXPECT_TRUE(next.same_assignment(m));
  EXPECT_EQ(next.epoch, 5u);
}

TEST(partition_map_assign, first_map_spreads_over_the_live_nodes) {
  const auto m = assign(partition_map{}, {3, 1, 2, 2}, 6);
  ASSERT_EQ(m.partitions.size(), 6u);
  EXPECT_EQ(m.epoch, 0u) << "the caller sets the epoch";
  check_invariants(m, {1, 2, 3}, k_replicas_max);
  // Deterministic: same inputs in another order, same result.
  EXPECT_TRUE(assign(partition_map{}, {2, 3, 1}, 6).same_assignment(m));
}

TEST(partition_map_assign, single_node_is_primary_for_everything) {
  const auto m = assign(partition_map{}, {7}, 4);
  for (const auto& e : m.partitions) {
    EXPECT_EQ(e.primary, 7);
    EXPECT_TRUE(e.replicas.empty());
  }
  EXPECT_EQ(m.primaries_of(7).size(), 4u);
  EXPECT_EQ(serving_shards(m, 7, 2), (std::vector<bool>{true, true}));
  EXPECT_EQ(serving_shards(m, 8, 2), (std::vector<bool>{false, false}));
}

TEST(partition_map_assign, a_departed_primary_is_replaced_by_its_first_live_replica) {
  partition_map m;
  m.epoch = 3;
  m.partitions = {{1, {2, 3}}, {2, {3, 1}}, {3, {1, 2}}};
  const auto next = assign(m, {1, 3}, 3);
  EXPECT_EQ(next.partitions[0].primary, 1);  // untouched
  EXPECT_EQ(next.partitions[1].primary, 3);  // node 2's first live replica
  EXPECT_EQ(next.partitions[2].primary, 3);  // untouched
  check_invariants(next, {1, 3}, k_replicas_max);
  // Survivors stay where they were: only what node 2 held moved.
  EXPECT_EQ(next.partitions[0].replicas, (std::vector<node_id>{3}));
}

TEST(partition_map_assign, a_joining_node_takes_a_fair_share) {
  const auto one = assign(partition_map{}, {1}, 4);
  const auto two = assign(one, {1, 2}, 4);
  check_invariants(two, {1, 2}, k_replicas_max);
  EXPECT_EQ(two.primaries_of(1).size(), 2u);
  EXPECT_EQ(two.primaries_of(2).size(), 2u);
  // The low partitions stay with their primary: the highest ones move.
  EXPECT_EQ(two.partitions[0].primary, 1);
  EXPECT_EQ(two.partitions[1].primary, 1);
  // A stable input gives a stable output (no churn without a change).
  EXPECT_TRUE(assign(two, {1, 2}, 4).same_assignment(two));
}

TEST(partition_map_assign, the_stored_partition_count_wins) {
  const auto m = assign(partition_map{}, {1}, 4);
  EXPECT_EQ(assign(m, {1, 2}, 9).partitions.size(), 4u);
}

TEST(partition_map_assign, more_nodes_than_partitions) {
  const auto m = assign(partition_map{}, {1, 2, 3, 4, 5}, 2);
  check_invariants(m, {1, 2, 3, 4, 5}, k_replicas_max);
  EXPECT_EQ(m.primaries_of(1).size() + m.primaries_of(2).size() + m.primaries_of(3).size() +
                m.primaries_of(4).size() + m.primaries_of(5).size(),
            2u);
}

// Random histories of joins and departures: the invariants hold after each
// step, and a repeated assign() never changes a settled map. Seeded, printed.
TEST(partition_map_assign, random_histories_keep_the_invariants) {
  const char* env = std::getenv("SLUICE_SEED");
  const unsigned seed = env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : std::random_device{}();
  std::printf("seed %u (replay: SLUICE_SEED=%u)\n", seed, seed);
  std::mt19937 rng(seed);
  for (int round = 0; round < 200; ++round) {
    const auto parts = static_cast<std::uint32_t>(1 + rng() % 40);
    const auto reps = static_cast<std::uint32_t>(rng() % 4);
    partition_map m;
    std::set<node_id> live;
    for (int step = 0; step < 20; ++step) {
      if (live.empty() || rng() % 3 != 0) {
        live.insert(static_cast<node_id>(1 + rng() % 12));
      } else {
        auto it = live.begin();
        std::advance(it, static_cast<long>(rng() % live.size()));
        live.erase(it);
        if (live.empty()) continue;
      }
      const std::vector<node_id> v(live.begin(), live.end());
      const auto next = assign(m, v, parts, reps);
      ASSERT_EQ(next.partitions.size(), m.partitions.empty() ? parts : m.partitions.size());
      check_invariants(next, v, reps);
      ASSERT_TRUE(assign(next, v, parts, reps).same_assignment(next)) << "seed " << seed << " round " << round;
      if (::testing::Test::HasFailure()) FAIL() << "seed " << seed << " round " << round << " step " << step;
      m = next;
    }
  }
}

TEST(partition_map_json, serving_follows_the_shard_of_each_partition) {
  const auto m = assign(partition_map{}, {1, 2}, 4);  // first map: orphans dealt round-robin
  EXPECT_EQ(m.primaries_of(1), (std::vector<std::uint32_t>{0, 2}));
  EXPECT_EQ(m.primaries_of(2), (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(serving_shards(m, 1, 2), (std::vector<bool>{true, false}));
  EXPECT_EQ(serving_shards(m, 2, 2), (std::vector<bool>{false, true}));
  const auto j = to_json(m, 1, {true, false});
  ASSERT_EQ(j.size(), 4u);
  for (std::uint32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(j[p]["partition"], p);
    EXPECT_EQ(j[p]["shard"], p % 2);
    EXPECT_EQ(j[p]["serving"], p % 2 == 0) << p;  // node 1's partitions, all on shard 0
  }
  // Fenced (nothing serving): no partition is served here, whatever the map says.
  for (const auto& e : to_json(m, 1, {false, false})) EXPECT_EQ(e["serving"], false);
}

}  // namespace
}  // namespace sluice::control
