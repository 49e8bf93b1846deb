#include "control/membership.h"

#include <unistd.h>

#include "control/etcd_membership.h"

namespace sluice::control {

member_info self_member(const broker::broker_config& cfg) {
  member_info m;
  m.id = cfg.node_id;
  m.advertise = cfg.cluster.advertise.empty() ? cfg.listen : cfg.cluster.advertise;
  m.base_port = cfg.base_port;
  m.shard_cnt = cfg.shard_cnt;
  m.control_pid = ::getpid();
  return m;
}

std::uint32_t partition_count(const broker::broker_config& cfg) {
  return cfg.cluster.partitions != 0 ? cfg.cluster.partitions : cfg.shard_cnt;
}

std::unique_ptr<membership> make_membership(const broker::broker_config& cfg) {
  if (cfg.cluster.membership == broker::membership_kind::etcd) return std::make_unique<etcd_membership>(cfg);
  return std::make_unique<static_membership>(cfg);
}

static_membership::static_membership(const broker::broker_config& cfg) : _self(self_member(cfg)) {
  _map = assign(partition_map{}, {_self.id}, partition_count(cfg));
  _map.epoch = 1;
  _map.written_by = _self.id;
  _map.reason = "static membership";
}

void static_membership::start(std::function<void()> on_change) {
  if (on_change) on_change();
}

membership_view static_membership::view() const {
  membership_view v;
  v.mode = "static";
  v.state = "up";
  v.detail = "single node, static membership";
  v.registered = true;
  v.lease_valid = true;
  v.members = {_self};
  v.map = _map;
  v.serving = serving();
  return v;
}

std::vector<bool> static_membership::serving() const { return serving_shards(_map, _self.id, _self.shard_cnt); }

}  // namespace sluice::control
