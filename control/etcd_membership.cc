// etcd_membership: state, view, and the keeper thread (lease, registration).
#include "control/etcd_membership.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/assert.h"

namespace sluice::control {

using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

std::string member_value(const member_info& m) {
  return json{{"node_id", m.id},
              {"advertise", m.advertise},
              {"base_port", m.base_port},
              {"shards", m.shard_cnt},
              {"control_pid", m.control_pid}}
      .dump();
}

}  // namespace

etcd_membership::etcd_membership(const broker::broker_config& cfg)
    : _self(self_member(cfg)),
      _endpoints(cfg.cluster.etcd_endpoints),
      _ttl_ms(cfg.cluster.lease_ttl_ms),
      _partition_cnt(partition_count(cfg)),
      _prefix("/sluice/" + cfg.cluster.name + "/"),
      _member_key(_prefix + "members/" + std::to_string(cfg.node_id)),
      _map_key(_prefix + "partition_map") {
  SLUICE_ASSERT(!_endpoints.empty(), "the config requires an etcd endpoint in etcd mode");
}

etcd_membership::~etcd_membership() { stop(); }

void etcd_membership::start(std::function<void()> on_change) {
  _on_change = std::move(on_change);
  _keeper = std::thread([this] { keeper(); });
  _watcher = std::thread([this] { watcher(); });
}

void etcd_membership::leave() {
  {
    std::lock_guard lk(_mu);
    _leaving = true;
  }
  notify();
}

void etcd_membership::stop() {
  {
    std::lock_guard lk(_mu);
    _stop.store(true);
    _wake = true;
  }
  _cv.notify_all();
  if (_keeper.joinable()) _keeper.join();
  if (_watcher.joinable()) _watcher.join();
}

void etcd_membership::notify() {
  {
    std::lock_guard lk(_mu);
    _wake = true;
  }
  _cv.notify_all();
  if (_on_change) _on_change();
}

bool etcd_membership::wait_for(milliseconds d) {
  std::unique_lock lk(_mu);
  _cv.wait_for(lk, d, [this] { return _wake || _stop.load(); });
  _wake = false;
  return _stop.load();
}

void etcd_membership::set_problem(const char* state, std::string detail) {
  bool changed = false;
  {
    std::lock_guard lk(_mu);
    changed = _state != state || _detail != detail;
    _state = state;
    _detail = std::move(detail);
  }
  if (changed) notify();
}

bool etcd_membership::serving_ok_locked(clock::time_point now) const {
  return _registered && !_leaving && now < _lease_deadline && _map_fresh && !_map_invalid && _map.map.epoch != 0;
}

std::vector<bool> etcd_membership::serving() const {
  std::lock_guard lk(_mu);
  if (!serving_ok_locked(clock::now())) return std::vector<bool>(_self.shard_cnt, false);
  return serving_shards(_map.map, _self.id, _self.shard_cnt);
}

std::chrono::steady_clock::time_point etcd_membership::next_deadline() const {
  std::lock_guard lk(_mu);
  return _registered && clock::now() < _lease_deadline ? _lease_deadline : clock::time_point::max();
}

membership_view etcd_membership::view() const {
  const auto now = clock::now();
  std::lock_guard lk(_mu);
  membership_view v;
  v.mode = "etcd";
  v.registered = _registered;
  v.lease_valid = _registered && now < _lease_deadline;
  v.lease_left_ms =
      v.lease_valid ? std::chrono::duration_cast<milliseconds>(_lease_deadline - now).count() : 0;
  for (const auto& [id, m] : _members) v.members.push_back(m);
  v.map = _map.map;
  v.map_revision = _map.revision;
  const bool ok = serving_ok_locked(now);
  v.serving = ok ? serving_shards(_map.map, _self.id, _self.shard_cnt) : std::vector<bool>(_self.shard_cnt, false);
  if (_registered && _leaving) {
    v.state = "leaving";
    v.detail = "sluice-control is stopping: serving nothing, the lease is revoked next";
  } else if (_registered && !v.lease_valid) {
    v.state = "fenced";
    v.detail = "lease not renewed within " + std::to_string(_ttl_ms) +
               " ms: serving nothing until etcd confirms the lease (or a new one) — " + _detail;
  } else if (_registered && _map_invalid) {
    v.state = "map_invalid";
    v.detail = _map_error;
  } else if (_registered && !ok) {
    v.state = "joining";
    v.detail = "registered; waiting for the partition map";
  } else if (_registered) {
    v.state = "up";
    v.detail = "member " + std::to_string(_self.id) + " of " + _prefix;
  } else {
    v.state = _state;
    v.detail = _detail;
  }
  return v;
}

// ---- keeper thread ----------------------------------------------------------

bool etcd_membership::register_self(etcd_client& etcd) {
  const std::int64_t ttl_s = (std::int64_t{_ttl_ms} + 999) / 1000;
  const auto t0 = clock::now();
  auto g = etcd.lease_grant(ttl_s);
  if (!g.ok()) {
    set_problem("connecting", g.error);
    return false;
  }
  const auto [lease, granted_s] = *g.value;
  auto c = etcd.cas_mod_revision(_member_key, 0, member_value(_self), lease);
  if (!c.ok() || !c.value->succeeded) {
    if (!c.ok()) {
      set_problem("connecting", "registering " + _member_key + ": " + c.error);
    } else {
      std::string holder = "a live lease";
      if (c.value->current) {
        holder = "lease " + std::to_string(c.value->current->lease) + ", " + c.value->current->value;
      }
      set_problem("conflict", "node id " + std::to_string(_self.id) + " is registered already (" + holder +
                                  "): another sluice-control has this node.id, or this node's previous run "
                                  "has not expired yet; retrying");
    }
    (void)etcd.lease_revoke(lease);
    return false;
  }
  const std::int64_t ttl_ms = std::min<std::int64_t>(_ttl_ms, granted_s * 1000);
  {
    std::lock_guard lk(_mu);
    _lease = lease;
    _lease_deadline = t0 + milliseconds(ttl_ms);
    _registered = true;
    _map_fresh = false;
    _state = "up";
    _detail.clear();
  }
  spdlog::info("membership: registered {} (lease {:x}, TTL {} ms, etcd granted {} s)", _member_key, lease, _ttl_ms,
               granted_s);
  notify();
  return true;
}

etcd_membership::renewal etcd_membership::keepalive(etcd_client& etcd) {
  std::int64_t lease = 0;
  {
    std::lock_guard lk(_mu);
    lease = _lease;
  }
  const auto t0 = clock::now();
  auto r = etcd.lease_keepalive(lease);
  if (!r.ok()) {
    bool lapsed = false;
    {
      std::lock_guard lk(_mu);
      lapsed = clock::now() >= _lease_deadline;
      _detail = "keepalive: " + r.error;
    }
    if (lapsed) notify();
    return renewal::failed;  // still ours as far as we know; the deadline decides serving
  }
  if (*r.value <= 0) {
    spdlog::warn("membership: etcd says lease {:x} is gone (expired): fenced, registering again", lease);
    {
      std::lock_guard lk(_mu);
      _lease = 0;
      _registered = false;
      _lease_deadline = clock::now();
      _state = "connecting";
      _detail = "the lease expired in etcd; registering again";
    }
    notify();
    return renewal::gone;
  }
  bool was_lapsed = false;
  {
    std::lock_guard lk(_mu);
    was_lapsed = t0 >= _lease_deadline;
    _lease_deadline = t0 + milliseconds(std::min<std::int64_t>(_ttl_ms, *r.value * 1000));
    if (was_lapsed) _map_fresh = false;  // events may have been missed while cut off
    _detail.clear();
  }
  if (was_lapsed) {
    spdlog::info("membership: lease {:x} renewed after a lapse; re-reading the map before serving", lease);
    notify();
  }
  return renewal::renewed;
}

void etcd_membership::keeper() {
  etcd_client etcd(_endpoints, milliseconds(std::clamp<std::uint32_t>(_ttl_ms / 4, 100, 1000)));
  const milliseconds keepalive_every(_ttl_ms / 3);
  milliseconds backoff(100);
  auto next_keepalive = clock::now();
  auto last_complaint = clock::time_point{};
  while (!_stop.load()) {
    bool registered = false;
    bool fresh = false;
    {
      std::lock_guard lk(_mu);
      registered = _registered;
      fresh = _map_fresh;
    }
    if (!registered) {
      if (!register_self(etcd)) {
        if (clock::now() - last_complaint > std::chrono::seconds(10)) {
          std::lock_guard lk(_mu);
          spdlog::warn("membership: not registered in etcd ({}): {}; retrying with backoff up to 5 s", _state,
                       _detail);
          last_complaint = clock::now();
        }
        if (wait_for(backoff)) break;
        backoff = std::min(backoff * 2, milliseconds(5000));
        continue;
      }
      backoff = milliseconds(100);
      last_complaint = {};
      next_keepalive = clock::now() + keepalive_every;
      continue;
    }
    if (!fresh) {
      auto m = read_partition_map(etcd, _map_key);
      {
        std::lock_guard lk(_mu);
        if (m.ok()) {
          if (m.value->revision == 0) {  // no map stored (yet, or deleted): the writer puts one
            _map.revision = 0;
            _map_invalid = false;
          } else {
            adopt_locked(std::move(*m.value));
          }
          _map_fresh = true;
        } else {
          _detail = "reading the partition map: " + m.error;
          if (!m.unreachable) {
            _map_invalid = true;
            _map_error = m.error + "; serving nothing meanwhile";
          }
        }
      }
      if (m.ok()) {
        notify();
      } else if (wait_for(backoff)) {
        break;
      }
    }
    if (clock::now() >= next_keepalive) {
      const auto t0 = clock::now();
      const renewal r = keepalive(etcd);
      if (r == renewal::gone) continue;
      // Renewed: next in a third of the TTL; failing: retry soon.
      next_keepalive =
          t0 + (r == renewal::renewed ? keepalive_every : milliseconds(std::min<std::uint32_t>(_ttl_ms / 10, 200)));
    }
    reconcile(etcd);
    const auto left = std::chrono::duration_cast<milliseconds>(next_keepalive - clock::now());
    if (wait_for(std::max(left, milliseconds(1)))) break;
  }
  std::int64_t lease = 0;
  {
    std::lock_guard lk(_mu);
    lease = _lease;
    _lease = 0;
    _registered = false;
    _lease_deadline = clock::now();
    _state = "stopped";
    _detail = "sluice-control is stopping";
  }
  if (lease != 0) {
    auto r = etcd.lease_revoke(lease);
    if (r.ok()) {
      spdlog::info("membership: revoked lease {:x}: {} is gone", lease, _member_key);
    } else {
      spdlog::warn("membership: revoking lease {:x}: {} (the key goes when the lease expires)", lease, r.error);
    }
  }
}

}  // namespace sluice::control
