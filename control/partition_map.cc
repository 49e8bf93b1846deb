#include "control/partition_map.h"

#include <algorithm>
#include <map>

#include "common/assert.h"

namespace sluice::control {

using json = nlohmann::json;

std::vector<std::uint32_t> partition_map::primaries_of(node_id n) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t p = 0; p < partitions.size(); ++p) {
    if (partitions[p].primary == n) out.push_back(p);
  }
  return out;
}

std::string encode(const partition_map& m) {
  json parts = json::array();
  for (std::uint32_t p = 0; p < m.partitions.size(); ++p) {
    parts.push_back({{"partition", p}, {"primary", m.partitions[p].primary}, {"replicas", m.partitions[p].replicas}});
  }
  return json{{"epoch", m.epoch}, {"partitions", parts}, {"written_by", m.written_by}, {"reason", m.reason}}.dump();
}

std::optional<partition_map> decode(std::string_view text, std::string& err) {
  const auto fail = [&](std::string why) -> std::optional<partition_map> {
    err = "partition map: " + std::move(why);
    return std::nullopt;
  };
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return fail(std::string("not JSON: ") + e.what());
  }
  if (!j.is_object()) return fail("not a JSON object");
  if (!j.contains("epoch") || !j["epoch"].is_number_unsigned() || j["epoch"].get<std::uint64_t>() == 0) {
    return fail("\"epoch\" must be a number >= 1");
  }
  if (!j.contains("partitions") || !j["partitions"].is_array() || j["partitions"].empty() ||
      j["partitions"].size() > k_partitions_max) {
    return fail("\"partitions\" must be an array of 1 to " + std::to_string(k_partitions_max) + " entries");
  }
  const auto node_ok = [](const json& n, bool zero_ok) {
    return n.is_number_unsigned() && n.get<std::uint64_t>() <= 65535 && (zero_ok || n.get<std::uint64_t>() != 0);
  };
  partition_map m;
  m.epoch = j["epoch"].get<std::uint64_t>();
  for (std::size_t i = 0; i < j["partitions"].size(); ++i) {
    const json& e = j["partitions"][i];
    const std::string at = "partition " + std::to_string(i) + ": ";
    if (!e.is_object() || e.value("partition", json()) != json(i)) {
      return fail(at + "entries must be objects in partition order (\"partition\": " + std::to_string(i) + ")");
    }
    if (!e.contains("primary") || !node_ok(e["primary"], true)) return fail(at + "\"primary\" must be a node id");
    if (!e.contains("replicas") || !e["replicas"].is_array()) return fail(at + "\"replicas\" must be an array");
    partition_entry pe;
    pe.primary = e["primary"].get<node_id>();
    for (const json& r : e["replicas"]) {
      if (!node_ok(r, false)) return fail(at + "replicas must be node ids 1-65535");
      const auto n = r.get<node_id>();
      if (n == pe.primary) return fail(at + "the primary is also listed as a replica");
      if (std::find(pe.replicas.begin(), pe.replicas.end(), n) != pe.replicas.end()) {
        return fail(at + "replica " + std::to_string(n) + " is listed twice");
      }
      pe.replicas.push_back(n);
    }
    m.partitions.push_back(std::move(pe));
  }
  if (j.contains("written_by") && node_ok(j["written_by"], true)) m.written_by = j["written_by"].get<node_id>();
  if (j.contains("reason") && j["reason"].is_string()) m.reason = j["reason"].get<std::string>();
  return m;
}

partition_map assign(const partition_map& cur, std::vector<node_id> live, std::uint32_t partition_cnt,
                     std::uint32_t replicas_max) {
  std::sort(live.begin(), live.end());
  live.erase(std::unique(live.begin(), live.end()), live.end());
  live.erase(std::remove(live.begin(), live.end(), k_no_node), live.end());
  if (live.empty()) return cur;
  const auto is_live = [&](node_id n) { return std::binary_search(live.begin(), live.end(), n); };

  partition_map next = cur;
  if (next.partitions.empty()) {
    SLUICE_ASSERT(partition_cnt >= 1 && partition_cnt <= k_partitions_max, "partition count out of range");
    next.partitions.resize(partition_cnt);
  }
  auto& parts = next.partitions;

  // Primaries held per live node (ordered by id, so ties go to the lowest).
  std::map<node_id, std::uint32_t> load;
  for (const node_id n : live) load[n] = 0;
  for (const auto& e : parts) {
    if (is_live(e.primary)) ++load[e.primary];
  }
  const auto least_loaded = [&] {
    return std::min_element(load.begin(), load.end(), [](const auto& a, const auto& b) { return a.second < b.second; })
        ->first;
  };

  // 1. Orphans: the first live replica, else the least loaded node.
  for (auto& e : parts) {
    if (is_live(e.primary)) continue;
    node_id heir = k_no_node;
    for (const node_id r : e.replicas) {
      if (is_live(r)) {
        heir = r;
        break;
      }
    }
    if (heir == k_no_node) heir = least_loaded();
    e.primary = heir;
    ++load[heir];
  }

  // 2. Even out: at most parts.size() moves, each narrowing the spread.
  for (std::size_t moves = 0; moves < parts.size(); ++moves) {
    const auto busiest = std::max_element(load.begin(), load.end(),
                                          [](const auto& a, const auto& b) { return a.second < b.second; });
    const node_id idle = least_loaded();
    if (busiest->second < load[idle] + 2) break;
    const node_id from = busiest->first;
    std::size_t pick = parts.size();
    for (std::size_t p = parts.size(); p-- > 0;) {  // highest partition first: the low ones stay put
      if (parts[p].primary != from) continue;
      if (pick == parts.size()) pick = p;
      const auto& r = parts[p].replicas;
      if (std::find(r.begin(), r.end(), idle) != r.end()) {
        pick = p;
        break;
      }
    }
    SLUICE_ASSERT(pick < parts.size(), "the busiest node holds no partition");
    parts[pick].primary = idle;
    --load[from];
    ++load[idle];
  }

  // 3. Replicas: surviving ones in order, then the ring after the primary.
  const std::size_t want = std::min<std::size_t>(replicas_max, live.size() - 1);
  for (auto& e : parts) {
    std::vector<node_id> reps;
    for (const node_id r : e.replicas) {
      if (reps.size() < want && r != e.primary && is_live(r)) reps.push_back(r);
    }
    const auto start = std::upper_bound(live.begin(), live.end(), e.primary) - live.begin();
    for (std::size_t k = 0; k < live.size() && reps.size() < want; ++k) {
      const node_id n = live[(static_cast<std::size_t>(start) + k) % live.size()];
      if (n != e.primary && std::find(reps.begin(), reps.end(), n) == reps.end()) reps.push_back(n);
    }
    e.replicas = std::move(reps);
  }
  return next;
}

std::vector<bool> serving_shards(const partition_map& m, node_id self, std::uint32_t shard_cnt) {
  SLUICE_ASSERT(shard_cnt >= 1, "a node has at least one shard");
  std::vector<bool> v(shard_cnt, false);
  for (std::uint32_t p = 0; p < m.partitions.size(); ++p) {
    if (m.partitions[p].primary == self) v[p % shard_cnt] = true;
  }
  return v;
}

json to_json(const partition_map& m, node_id self, const std::vector<bool>& serving) {
  SLUICE_ASSERT(!serving.empty(), "a node has at least one shard");
  const auto shard_cnt = static_cast<std::uint32_t>(serving.size());
  json parts = json::array();
  for (std::uint32_t p = 0; p < m.partitions.size(); ++p) {
    const auto& e = m.partitions[p];
    parts.push_back({{"partition", p},
                     {"primary", e.primary},
                     {"replicas", e.replicas},
                     {"shard", p % shard_cnt},
                     {"serving", e.primary == self && serving[p % shard_cnt]}});
  }
  return parts;
}

}  // namespace sluice::control
