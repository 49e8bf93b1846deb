// control/membership.h — who is in the cluster and what this node serves.
//
// Two implementations behind one interface:
//
//   static_membership   one node, no external service (the embedded default):
//                       the node is primary for every partition, epoch 1.
//   etcd_membership     nodes register in etcd under a lease they keep alive;
//                       the partition map lives at one etcd key and changes
//                       only by compare-and-swap (etcd_membership.h).
//
// control_node asks view() for the operator commands and serving() for the
// per-shard vector it pushes to the broker; it is told of changes through
// the callback given to start(). view() and serving() may be called from any
// thread and never block on the network: they read the last state the
// implementation's own threads saw, judged against the monotonic clock now.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "control/partition_map.h"
#include "datapath/broker/config.h"

namespace sluice::control {

struct member_info {
  node_id id = k_no_node;
  std::string advertise;  // the address clients reach this node's shards on
  std::uint16_t base_port = 0;
  std::uint32_t shard_cnt = 0;
  std::int64_t control_pid = 0;
  std::int64_t lease = 0;  // etcd lease id (0 in static mode)
};

struct membership_view {
  const char* mode = "static";   // "static" or "etcd"
  // "up", "joining", "fenced", "connecting", "conflict", "map_invalid", "leaving", "stopped"
  std::string state;
  std::string detail;            // what is going on, for a person (last error, retry time)
  bool registered = false;       // our member record exists under a live lease
  bool lease_valid = false;      // by our own clock: the lease cannot have expired yet
  std::int64_t lease_left_ms = 0;
  std::vector<member_info> members;  // ordered by node id
  partition_map map;                 // epoch 0: not known yet
  std::int64_t map_revision = 0;     // etcd mod_revision of the map key
  std::vector<bool> serving;         // per shard, as pushed to the broker
};

class membership {
 public:
  virtual ~membership() = default;

  // Starts the implementation's threads; `on_change` runs (on one of them)
  // whenever the view may have changed. It must not block.
  virtual void start(std::function<void()> on_change) = 0;
  // The node is shutting down: from now on serving() is all false and no
  // map is written, while the lease still holds (so the broker can be told
  // to stop before the others take over). Any thread.
  virtual void leave() {}
  // Stops the threads; etcd mode also revokes the lease, so the others see
  // this node leave at once instead of after the TTL. Idempotent.
  virtual void stop() = 0;

  virtual membership_view view() const = 0;
  // Per shard: serve or not. All false while fenced or before the map is known.
  virtual std::vector<bool> serving() const = 0;
  // The earliest time serving() may change by itself (a lease deadline), or
  // time_point::max() when only an event can change it.
  virtual std::chrono::steady_clock::time_point next_deadline() const = 0;
};

// The implementation the config asks for.
std::unique_ptr<membership> make_membership(const broker::broker_config& cfg);

// Static mode: one node, primary for every partition (cluster.partitions, or
// one per shard), epoch 1, always serving.
class static_membership final : public membership {
 public:
  explicit static_membership(const broker::broker_config& cfg);
  void start(std::function<void()> on_change) override;
  void stop() override {}
  membership_view view() const override;
  std::vector<bool> serving() const override;
  std::chrono::steady_clock::time_point next_deadline() const override {
    return std::chrono::steady_clock::time_point::max();
  }

 private:
  member_info _self;
  partition_map _map;
};

// This node as the config describes it.
member_info self_member(const broker::broker_config& cfg);
// cluster.partitions, or one per shard when it is 0.
std::uint32_t partition_count(const broker::broker_config& cfg);

}  // namespace sluice::control
