// etcd_membership: the partition map — storing it by CAS, adopting what etcd
// holds, and the writer's reconcile step (keeper thread).
#include "control/etcd_membership.h"

#include <spdlog/spdlog.h>

#include "common/assert.h"

namespace sluice::control {

using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

std::string ids_text(const std::vector<node_id>& ids) {
  std::string s;
  for (const node_id n : ids) s += (s.empty() ? "" : ",") + std::to_string(n);
  return s.empty() ? "none" : s;
}

}  // namespace

etcd_result<stored_map> read_partition_map(etcd_client& etcd, const std::string& key) {
  auto r = etcd.range(key);
  if (!r.ok()) return etcd_result<stored_map>::fail(r.error, r.unreachable);
  etcd_result<stored_map> out;
  out.value.emplace();
  if (r.value->kvs.empty()) return out;
  std::string err;
  auto m = decode(r.value->kvs[0].value, err);
  if (!m) return etcd_result<stored_map>::fail(key + ": " + err + " (fix or delete the key)");
  out.value->map = std::move(*m);
  out.value->revision = r.value->kvs[0].mod_revision;
  return out;
}

etcd_result<map_write> write_partition_map(etcd_client& etcd, const std::string& key, const partition_map& next,
                                           std::int64_t expected_revision) {
  SLUICE_ASSERT(next.epoch >= 1 && !next.partitions.empty(), "a stored map has an epoch and partitions");
  const std::string text = encode(next);
  auto r = etcd.cas_mod_revision(key, expected_revision, text);
  if (!r.ok()) return etcd_result<map_write>::fail(r.error, r.unreachable);
  etcd_result<map_write> out;
  out.value.emplace();
  if (r.value->succeeded) {
    out.value->won = true;
    out.value->current.map = next;
    out.value->current.revision = r.value->revision;  // the put's revision is the key's mod_revision
    return out;
  }
  if (r.value->current) {
    std::string err;
    auto m = decode(r.value->current->value, err);
    if (!m) return etcd_result<map_write>::fail(key + ": " + err + " (fix or delete the key)");
    out.value->current.map = std::move(*m);
    out.value->current.revision = r.value->current->mod_revision;
  }
  return out;
}

void etcd_membership::adopt_map_locked(const etcd_kv& kv) {
  if (kv.mod_revision <= _map.revision) return;
  std::string err;
  auto m = decode(kv.value, err);
  if (!m) {
    if (!_map_invalid) spdlog::error("membership: {}: {} (fix or delete the key)", _map_key, err);
    _map_invalid = true;
    _map_error = _map_key + ": " + err + " (fix or delete the key); serving nothing meanwhile";
    _map.revision = kv.mod_revision;
    return;
  }
  adopt_locked(stored_map{std::move(*m), kv.mod_revision});
}

void etcd_membership::adopt_locked(stored_map s) {
  if (s.revision <= _map.revision) return;
  _map_invalid = false;
  if (_map.map.epoch != 0 && s.map.epoch <= _map.map.epoch) {
    // Not written by the CAS rule (a person, or a buggy writer): keep what we
    // serve by, and let the writer replace it with a higher epoch.
    spdlog::error("membership: {} at revision {} has epoch {}, not above {}: ignored, to be overwritten", _map_key,
                  s.revision, s.map.epoch, _map.map.epoch);
    _map.revision = s.revision;
    return;
  }
  if (s.map.partitions.size() != _partition_cnt && _map.map.epoch == 0) {
    spdlog::warn("membership: the stored map has {} partitions, cluster.partitions says {}: the map wins",
                 s.map.partitions.size(), _partition_cnt);
  }
  _map = std::move(s);
  std::string mine;
  for (const auto p : _map.map.primaries_of(_self.id)) mine += (mine.empty() ? "" : ",") + std::to_string(p);
  spdlog::info("membership: partition map epoch {} (revision {}, by node {}: {}); primary here for [{}]",
               _map.map.epoch, _map.revision, _map.map.written_by, _map.map.reason, mine);
}

void etcd_membership::reconcile(etcd_client& etcd) {
  partition_map next;
  std::int64_t expected = 0;
  {
    std::lock_guard lk(_mu);
    // Only a node in good standing writes (the first map too, so no epoch check).
    if (!_registered || _leaving || clock::now() >= _lease_deadline || !_map_fresh || _map_invalid) return;
    if (!_listed || _members.empty() || _members.begin()->first != _self.id) return;  // not the writer
    std::vector<node_id> live;
    for (const auto& [id, m] : _members) live.push_back(id);
    next = assign(_map.map, live, _partition_cnt);
    // Unchanged and stored: nothing to write. (Revision 0 with a known map:
    // the key was deleted, so it is written back with a higher epoch.)
    if (_map.map.epoch != 0 && _map.revision != 0 && next.same_assignment(_map.map)) return;
    next.epoch = _map.map.epoch + 1;
    next.written_by = _self.id;
    next.reason = "live members " + ids_text(live);
    expected = _map.revision;
  }
  auto w = write_partition_map(etcd, _map_key, next, expected);
  if (!w.ok()) {
    spdlog::warn("membership: writing the partition map: {}", w.error);
    std::lock_guard lk(_mu);
    _detail = "writing the partition map: " + w.error;
    return;
  }
  {
    std::lock_guard lk(_mu);
    record_write_locked(next, expected, std::move(*w.value));
  }
  notify();  // the map changed, or the inputs did: look again, push the new vector
}

void etcd_membership::record_write_locked(const partition_map& next, std::int64_t expected, map_write w) {
  if (w.won) {
    spdlog::info("membership: wrote partition map epoch {} at revision {} ({})", next.epoch, w.current.revision,
                 next.reason);
  } else {
    spdlog::info("membership: partition map CAS lost (expected revision {}, etcd has {} epoch {}): adopting it",
                 expected, w.current.revision, w.current.map.epoch);
  }
  if (w.current.revision == 0) {
    _map.revision = 0;  // the key was deleted: the next write creates it, epoch still rising
  } else {
    adopt_locked(std::move(w.current));
  }
}

}  // namespace sluice::control
