// etcd_membership: the watcher thread (list, then watch the cluster prefix).
#include "control/etcd_membership.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace sluice::control {

using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

// The node id at the end of a member key, or k_no_node.
node_id member_id_of(std::string_view key, std::string_view members_prefix) {
  if (key.substr(0, members_prefix.size()) != members_prefix) return k_no_node;
  const std::string_view tail = key.substr(members_prefix.size());
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), v);
  if (ec != std::errc() || end != tail.data() + tail.size() || v == 0 || v > 65535) return k_no_node;
  return static_cast<node_id>(v);
}

std::optional<member_info> parse_member(const etcd_kv& kv, node_id id) {
  member_info m;
  m.id = id;
  m.lease = kv.lease;
  try {
    const json j = json::parse(kv.value);
    m.advertise = j.value("advertise", std::string());
    m.base_port = j.value("base_port", std::uint16_t{0});
    m.shard_cnt = j.value("shards", std::uint32_t{0});
    m.control_pid = j.value("control_pid", std::int64_t{0});
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return m;
}

}  // namespace

void etcd_membership::apply_event_locked(const etcd_event& ev) {
  const std::string members_prefix = _prefix + "members/";
  if (ev.kv.key == _map_key) {
    if (ev.is_delete) {
      spdlog::error("membership: {} was deleted: keeping epoch {} until the writer puts it back", _map_key,
                    _map.map.epoch);
      _map.revision = 0;
      _map_invalid = false;
      return;
    }
    adopt_map_locked(ev.kv);
    return;
  }
  const node_id id = member_id_of(ev.kv.key, members_prefix);
  if (id == k_no_node) return;
  if (ev.is_delete) {
    if (_members.erase(id) != 0) spdlog::info("membership: node {} left", id);
    return;
  }
  auto m = parse_member(ev.kv, id);
  if (!m) {
    spdlog::warn("membership: {} holds a record that is not JSON: ignored", ev.kv.key);
    return;
  }
  if (_members.count(id) == 0) spdlog::info("membership: node {} joined ({}:{})", id, m->advertise, m->base_port);
  _members[id] = std::move(*m);
}

void etcd_membership::watcher() {
  etcd_client etcd(_endpoints, milliseconds(1000));
  const std::string end = prefix_range_end(_prefix);
  milliseconds backoff(100);
  while (!_stop.load()) {
    auto listed = etcd.range(_prefix, end);
    if (!listed.ok()) {
      {
        std::lock_guard lk(_mu);
        if (!_registered) _detail = listed.error;
      }
      if (wait_for(backoff)) break;
      backoff = std::min(backoff * 2, milliseconds(5000));
      continue;
    }
    backoff = milliseconds(100);
    std::int64_t rev = listed.value->revision;
    {
      std::lock_guard lk(_mu);
      // Members that vanished while we were not watching left; the rest are
      // (re)applied, so only real joins are logged as joins.
      std::set<node_id> present;
      const std::string members_prefix = _prefix + "members/";
      for (const auto& kv : listed.value->kvs) present.insert(member_id_of(kv.key, members_prefix));
      for (auto it = _members.begin(); it != _members.end();) {
        if (present.count(it->first) == 0) {
          spdlog::info("membership: node {} left", it->first);
          it = _members.erase(it);
        } else {
          ++it;
        }
      }
      if (std::none_of(listed.value->kvs.begin(), listed.value->kvs.end(),
                       [&](const etcd_kv& kv) { return kv.key == _map_key; }) &&
          _map.revision != 0) {
        _map.revision = 0;  // deleted while we were not watching
      }
      for (const auto& kv : listed.value->kvs) apply_event_locked(etcd_event{false, kv});
      _listed = true;
    }
    notify();
    for (;;) {
      std::string err;
      const watch_end why = etcd.watch(
          _prefix, end, rev + 1,
          [&](std::int64_t header_rev, const std::vector<etcd_event>& events) {
            {
              std::lock_guard lk(_mu);
              for (const auto& ev : events) {
                apply_event_locked(ev);
                rev = std::max(rev, ev.kv.mod_revision);
              }
              rev = std::max(rev, header_rev);
            }
            notify();
            return !_stop.load();
          },
          _stop, err);
      if (why == watch_end::stopped || _stop.load()) return;
      if (why == watch_end::idle) continue;
      if (why == watch_end::compacted) {
        spdlog::info("membership: {}; listing again", err);
      } else {
        spdlog::debug("membership: {}; listing again", err);
        if (wait_for(milliseconds(100))) return;
      }
      break;
    }
  }
}

}  // namespace sluice::control
