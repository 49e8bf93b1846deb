// control/partition_map.h — which node serves which partition, and the rule
// that changes it.
//
// The map records, per partition, its primary node and its replica nodes,
// plus one `epoch` for the whole map that rises by one on every change. In
// etcd mode it is one JSON value at one key (docs/cluster.md) and changes
// only by compare-and-swap (etcd_membership.h); in static mode it is built
// once (one node, primary for everything, epoch 1).
//
// assign() is the deterministic rule every node would compute alike from
// the same inputs (current map, live node ids):
//
//   1. a partition whose primary is gone goes to its first live replica (the
//      copy most likely to be in sync), else to the live node with the fewest
//      primaries;
//   2. primaries are evened out: while one node has two or more primaries
//      more than another, the busiest hands one to the idlest (preferring a
//      partition the idlest already replicates);
//   3. replicas: the live replicas kept in order, then the live nodes that
//      follow the primary in id order, up to `replicas_max`.
//
// Plain values, no threads: any thread may use them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::control {

using node_id = std::uint16_t;  // [node] id; 0 = nobody
inline constexpr node_id k_no_node = 0;
inline constexpr std::uint32_t k_partitions_max = 4096;  // as cluster.partitions allows
inline constexpr std::uint32_t k_replicas_max = 2;       // replication factor 3

struct partition_entry {
  node_id primary = k_no_node;
  std::vector<node_id> replicas;  // never holds the primary, no duplicates

  bool operator==(const partition_entry&) const = default;
};

struct partition_map {
  std::uint64_t epoch = 0;  // 0 = no map yet
  std::vector<partition_entry> partitions;
  node_id written_by = k_no_node;  // informational: who won the last CAS
  std::string reason;               // informational: why it changed

  // Same assignment (epoch, writer and reason aside).
  bool same_assignment(const partition_map& o) const noexcept { return partitions == o.partitions; }
  // Partitions whose primary is `n`.
  std::vector<std::uint32_t> primaries_of(node_id n) const;
};

// The JSON text stored in etcd. Round trip: decode(encode(m)) == m.
std::string encode(const partition_map& m);
// Parses and validates (epoch >= 1, 1..k_partitions_max partitions, node ids
// 1..65535 or 0 for an unassigned primary, no primary among its replicas, no
// duplicate replica). nullopt with `err` naming the first problem.
std::optional<partition_map> decode(std::string_view text, std::string& err);

// The map `cur` should become with `live` (any order, duplicates ignored) as
// the live nodes: the rule in the header comment. `partition_cnt` is used only
// when `cur` has no partitions yet (the first map); afterwards the stored
// count wins. Epoch, writer and reason are copied from `cur`: the caller
// raises the epoch when the assignment differs. With no live node the result
// equals `cur`.
partition_map assign(const partition_map& cur, std::vector<node_id> live, std::uint32_t partition_cnt,
                     std::uint32_t replicas_max = k_replicas_max);

// Per shard of a node with `shard_cnt` shards: true when it is primary for
// at least one partition p with p % shard_cnt == shard.
std::vector<bool> serving_shards(const partition_map& m, node_id self, std::uint32_t shard_cnt);

// The operator's view: one object per partition with "serving" true where
// `self` is primary and its shard (p % serving.size()) is serving.
nlohmann::json to_json(const partition_map& m, node_id self, const std::vector<bool>& serving);

}  // namespace sluice::control
