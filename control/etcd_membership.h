// control/etcd_membership.h — cluster membership and the partition map in
// etcd (cluster.membership = "etcd"). Key layout and rules: docs/cluster.md.
//
//        etcd  /sluice/<cluster>/members/<node id>   (value: member JSON, under the node's lease)
//              /sluice/<cluster>/partition_map       (value: partition_map JSON, CAS only)
//                   ▲            ▲        │ watch (prefix)
//      grant,       │            │ CAS    ▼
//      keepalive ───┘    ┌───────┴──────────────┐      ┌────────────────┐
//                        │ keeper thread        │◄─────┤ watcher thread │
//                        │ lease, registration, │notify│ list + watch,  │
//                        │ map writes (lowest   │      │ members + map  │
//                        │ live id only)        │      └────────────────┘
//                        └──────────┬───────────┘
//                                   ▼ shared state (_mu)
//              view() / serving(): any thread, no I/O, judged against now
//
// Fencing: the keeper records, before each keepalive it sends, the time
// after which the lease may be gone (send time + TTL, by the monotonic
// clock). etcd measures the TTL from when it handles the keepalive, which is
// later, so this node's deadline always comes first: past it serving() is
// all false, whatever the network is doing, and the other nodes (which can
// only reassign after etcd expires the lease) never overlap with it.
//
// Writers: only the live member with the lowest node id computes assign()
// and writes the map; every write compares the key's mod_revision with the
// revision it read (a stale writer's CAS fails, it adopts the map etcd
// returns and tries again from there) and raises the epoch by one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "control/etcd_client.h"
#include "control/membership.h"

namespace sluice::control {

// The map stored at `key`; epoch 0 and revision 0 when there is none.
struct stored_map {
  partition_map map;
  std::int64_t revision = 0;  // the key's mod_revision
};
etcd_result<stored_map> read_partition_map(etcd_client& etcd, const std::string& key);

struct map_write {
  bool won = false;
  stored_map current;  // won: what was written; lost: what etcd holds now
};
// Writes `next` if the key's mod_revision is still `expected_revision` (0: the
// key must not exist). `next.epoch` must exceed the epoch that revision held:
// callers derive it from the map they read. A stored value that does not
// decode is an error (a person must look), never overwritten.
etcd_result<map_write> write_partition_map(etcd_client& etcd, const std::string& key, const partition_map& next,
                                           std::int64_t expected_revision);

class etcd_membership final : public membership {
 public:
  explicit etcd_membership(const broker::broker_config& cfg);
  ~etcd_membership() override;

  void start(std::function<void()> on_change) override;
  void leave() override;
  void stop() override;
  membership_view view() const override;
  std::vector<bool> serving() const override;
  std::chrono::steady_clock::time_point next_deadline() const override;

  const std::string& member_key() const noexcept { return _member_key; }
  const std::string& map_key() const noexcept { return _map_key; }

 private:
  using clock = std::chrono::steady_clock;

  void keeper();
  void watcher();
  // keeper: grant a lease and create our member key; false when not done.
  bool register_self(etcd_client& etcd);
  enum class renewal : std::uint8_t { renewed, failed, gone };
  // keeper: one keepalive. failed: etcd did not answer (the deadline decides);
  // gone: etcd no longer has the lease (fenced; register again).
  renewal keepalive(etcd_client& etcd);
  // keeper: the lowest live node writes the map assign() wants.
  void reconcile(etcd_client& etcd);
  // Under _mu: adopt a map read from etcd if it is newer than ours (a
  // higher revision and a higher epoch; a lower epoch is logged and only its
  // revision kept, so the writer overwrites it).
  void adopt_map_locked(const etcd_kv& kv);
  void adopt_locked(stored_map s);
  // Under _mu: the outcome of a map CAS (won: ours; lost: etcd's current map).
  void record_write_locked(const partition_map& next, std::int64_t expected, map_write w);
  void apply_event_locked(const etcd_event& ev);
  bool serving_ok_locked(clock::time_point now) const;
  void set_problem(const char* state, std::string detail);
  void notify();
  // Waits up to `d` or until stop()/notify(); true when stopping.
  bool wait_for(std::chrono::milliseconds d);

  const member_info _self;
  const std::vector<std::string> _endpoints;
  const std::uint32_t _ttl_ms;
  const std::uint32_t _partition_cnt;
  const std::string _prefix;      // /sluice/<cluster>/
  const std::string _member_key;  // <prefix>members/<id>
  const std::string _map_key;     // <prefix>partition_map
  std::function<void()> _on_change;

  mutable std::mutex _mu;  // guards everything below up to _cv
  std::map<node_id, member_info> _members;
  bool _listed = false;           // the watcher has listed the prefix at least once
  stored_map _map;
  bool _map_invalid = false;      // the stored map does not decode: nobody writes, nobody serves
  std::string _map_error;         // why, while _map_invalid
  bool _map_fresh = false;        // read after our last (re)registration
  std::int64_t _lease = 0;
  clock::time_point _lease_deadline{};  // fencing deadline (our clock)
  bool _registered = false;
  bool _leaving = false;
  std::string _state = "connecting";
  std::string _detail = "starting";
  bool _wake = false;
  std::condition_variable _cv;

  std::atomic<bool> _stop{false};
  std::thread _keeper;
  std::thread _watcher;
};

}  // namespace sluice::control
