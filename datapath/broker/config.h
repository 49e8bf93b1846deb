// datapath/broker/config.h — sluice-broker's configuration.
//
// One TOML file per node (DESIGN.md §7). Every setting has a safe default;
// without a file the broker runs the embedded default (k_default_config):
// one node on 127.0.0.1, two shards, an in-memory `priority` domain, a
// `fanout` domain with two app ids and a `broadcast` domain. Any error is
// reported as "FILE:LINE: setting: reason" and the broker refuses to start.
// Unknown keys are errors too (a typo must not silently become a default).
// Parsed once on the main thread; shards get read-only copies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/alloc_guard.h"
#include "common/clock.h"
#include "datapath/transport/session_config.h"

namespace sluice::broker {

enum class domain_mode : std::uint8_t { priority, fanout, broadcast };
enum class storage_kind : std::uint8_t { memory, disk };
enum class idle_policy : std::uint8_t { adaptive, busy };
enum class datapath_mode : std::uint8_t { udp, af_xdp };
enum class xdp_attach : std::uint8_t { link, dispatcher };
enum class xdp_attach_mode : std::uint8_t { auto_select, native, skb };

// [datapath]: kernel UDP sockets (portable) or AF_XDP (kernel bypass).
struct datapath_config {
  datapath_mode mode = datapath_mode::udp;
  std::string interface;                 // af_xdp: the NIC (node.listen must be one of its addresses)
  std::vector<int> queues;               // af_xdp: NIC queue per shard; empty = 0..count-1
  xdp_attach_mode xdp_mode = xdp_attach_mode::auto_select;
  xdp_attach attach = xdp_attach::link;
  std::uint32_t dispatcher_priority = 50;
  bool zero_copy = true;
  bool busy_poll = false;
  std::uint32_t busy_poll_budget = 64;
  std::uint32_t ring_size = 2048;
  bool hugepages = true;
};

inline constexpr std::size_t k_app_ids_max = 16;

struct domain_config {
  std::string name;
  domain_mode mode = domain_mode::priority;
  storage_kind storage = storage_kind::memory;
  std::vector<std::string> app_ids;           // fanout: 1..k_app_ids_max
  std::uint64_t max_messages = 1'000'000;     // per queue
  std::uint64_t max_bytes = 1ull << 30;       // per queue (payload + properties)
  time_ns message_ttl_ns = 0;                 // 0 = messages never expire
};

// [control]: the broker ↔ sluice-control channel and sluice-control itself.
struct control_config {
  std::string broker_socket = "/run/sluice/broker.sock";     // the broker listens, sluice-control connects
  std::string operator_socket = "/run/sluice/control.sock";  // sluicectl → sluice-control
  std::vector<int> allowed_uids = {0};                       // peers allowed on the operator socket
  std::vector<int> allowed_gids;
  std::string metrics_listen = "127.0.0.1:9464";             // Prometheus /metrics; "" = off
};

enum class journal_sync : std::uint8_t { dsync, fdatasync };

// [storage]: the per-shard journal of `disk` domains (storage/, DESIGN.md §5).
// Only read when at least one domain has storage = "disk".
struct storage_config {
  std::string dir = "/var/lib/sluice";    // shard n journals in DIR/shard-<n>/
  std::uint64_t segment_sz = 64ull << 20;
  std::uint32_t group_commit_sz = 256u << 10;  // a batch this big is written at once
  std::uint64_t buffer_sz = 16ull << 20;  // per shard: records waiting for the disk, in 1 MiB batches
  time_ns group_commit_ns = 0;            // hold a batch up to this long; 0 = once per loop iteration
  // fdatasync by default: on the project's VMs under CPU load, RWF_DSYNC
  // commits took 4-8 ms at p50 where write + linked fdatasync took ~0.1 ms (storage/README.md,
  // "Durable path").
  journal_sync sync = journal_sync::fdatasync;
  bool salvage = false;                   // start past corrupt middle records (they are lost)
  std::uint32_t unacked_puts_max = 65536; // per shard: PUTs waiting for their record to be durable
  // Retention: past this many segments, the oldest one's live records are
  // copied forward (compaction) when at most compact_live_pct % of it is live.
  std::uint32_t compact_after_segments = 4;
  std::uint32_t compact_live_pct = 50;
};

enum class membership_kind : std::uint8_t { static_single, etcd };

// [cluster]: membership and the partition map.
struct cluster_config {
  membership_kind membership = membership_kind::static_single;
  std::string name = "sluice";
  std::vector<std::string> etcd_endpoints = {"http://127.0.0.1:2379"};
  std::uint32_t lease_ttl_ms = 3000;
  std::uint32_t partitions = 0;  // 0 = one per shard
  std::string advertise;         // address other nodes and clients use for this node; "" = node.listen
};

struct broker_config {
  std::string source = "embedded default";  // file the config came from

  // [node]
  std::uint16_t node_id = 1;
  std::string listen = "127.0.0.1";
  std::uint16_t base_port = 7600;

  // [shards]
  std::uint32_t shard_cnt = 2;
  std::vector<int> cores;                   // OS cpu ids; empty = spread over all
  idle_policy idle = idle_policy::adaptive;
  time_ns spin_ns = 50 * k_ns_per_us;       // adaptive: spin before blocking

  // [limits] (per shard)
  std::uint32_t max_sessions = 4096;
  std::uint32_t chunk_cnt = 16384;          // session-layer frame buffers
  std::uint64_t message_memory_bytes = 256ull << 20;
  std::uint32_t max_queues = 1024;
  std::uint32_t max_consumers = 4096;
  std::uint32_t max_message_slots = 1u << 18;  // a fanout message takes one per app id

  // [session]
  transport::session_config session;

  // [datapath]
  datapath_config datapath;

  // [control], [cluster] (read by sluice-control; the broker uses broker_socket)
  control_config control;
  cluster_config cluster;

  // [storage]
  storage_config storage;

  // [debug]
  alloc_guard::mode alloc_guard = alloc_guard::mode::off;

  // [[domain]]
  std::vector<domain_config> domains;

  const domain_config* find_domain(std::string_view name) const noexcept;
  // True when some domain is `disk`: the shards then own journals.
  bool has_disk_domains() const noexcept;
};

extern const char* const k_default_config;

// Parses TOML text; on failure returns nullopt and sets `err`.
std::optional<broker_config> parse_config(std::string_view text, std::string_view source, std::string& err);
std::optional<broker_config> load_config_file(const std::string& path, std::string& err);
// Every setting with its default and meaning, for --help.
std::string config_help();
// Creates storage.dir and one shard-<n> directory per shard and checks that
// files can be created there (a probe file, written with O_DIRECT as the
// journal does). Call before starting the shards; false with a message
// naming the directory and the system error.
bool prepare_storage_dirs(const broker_config& cfg, std::string& err);

const char* to_string(domain_mode m) noexcept;
const char* to_string(idle_policy p) noexcept;
const char* to_string(datapath_mode m) noexcept;

}  // namespace sluice::broker
