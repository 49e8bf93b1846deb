// bench/journal_fill.cc — sluice-journal-fill: writes a shard journal the
// broker can recover, to measure start-up (recovery) time on a big journal.
//
// Writes DIR/shard-0/ through the storage library (uring_persistence,
// journal): one disk queue QUEUE (default "dq/recovery"), then messages of
// --payload bytes until the journal holds --size-mb MiB. Every message
// except one in --live-every is confirmed right after it is appended, so
// the journal keeps its size (each segment stays pinned by live messages)
// while the live set is a share of it. GUIDs are those a broker with node id
// 1 would give on shard 0. Start a one-shard broker with a disk domain
// named like the queue's domain on DIR (see recovery_time.sh).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "datapath/wire/layouts.h"
#include "storage/journal.h"
#include "storage/uring_persistence.h"

namespace {

using namespace sluice;
using namespace sluice::storage;

struct listener final : journal_listener {
  seq_no durable{0};
  bool failed = false;
  void on_durable(seq_no s) noexcept override { durable = s; }
  void on_failed(seq_no, seq_no, errc) noexcept override { failed = true; }
};

message_id id_of(std::uint64_t seq) {
  const wire::guid g{seq, 0, 1, 0};
  message_id m;
  std::memcpy(m.bytes.data(), &g, sizeof g);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"sluice-journal-fill: write a broker-recoverable shard journal of a given size"};
  std::string dir;
  std::string queue = "dq/recovery";
  std::uint64_t size_mb = 1024;
  std::size_t payload_sz = 1024;
  std::uint32_t live_every = 1;
  std::uint64_t segment_mb = 64;
  cli.add_option("dir", dir, "journal directory (the broker's storage.dir); DIR/shard-0 must not exist")->required();
  cli.add_option("--queue", queue, "queue URI (domain/name)");
  cli.add_option("--size-mb", size_mb, "journal size to write, MiB")->check(CLI::Range(1, 1 << 20));
  cli.add_option("--payload", payload_sz, "payload bytes per message")->check(CLI::Range(1, 1 << 19));
  cli.add_option("--live-every", live_every, "leave one message in N unconfirmed (1 = all live)")
      ->check(CLI::Range(1, 1 << 20));
  cli.add_option("--segment-mb", segment_mb, "segment size, MiB (the broker's storage.segment_mb)")
      ->check(CLI::Range(4, 16384));
  CLI11_PARSE(cli, argc, argv);

  const std::string shard_dir = dir + "/shard-0";
  if (std::filesystem::exists(shard_dir)) {
    std::fprintf(stderr, "sluice-journal-fill: %s exists; remove it first\n", shard_dir.c_str());
    return 2;
  }
  std::filesystem::create_directories(shard_dir);
  uring_persistence p(uring_settings{shard_dir, 64, sync_mode::rwf_dsync});
  listener l;
  journal_config cfg;
  cfg.segment_sz = segment_mb << 20;
  cfg.live_messages_max = 1u << 24;
  cfg.segments_soft_max = UINT32_MAX;  // keep every segment: the point is a big journal
  journal j(p, cfg, l, journal_state(cfg.live_messages_max));
  if (!j.start(segment_id{0}, 0)) {
    std::fprintf(stderr, "sluice-journal-fill: cannot start the journal in %s\n", shard_dir.c_str());
    return 1;
  }
  const auto retry = [&](auto&& append) {
    for (;;) {
      const auto r = append();
      if (r) return true;
      if (r.error() != errc::backpressure) {
        std::fprintf(stderr, "sluice-journal-fill: append failed: %s\n", to_string(r.error()));
        return false;
      }
      j.commit();
      j.poll();
    }
  };
  const queue_id q{1};
  if (!retry([&] {
        return j.append_queue_created(q, 1, {reinterpret_cast<const std::byte*>(queue.data()), queue.size()}, {});
      })) {
    return 1;
  }
  std::vector<std::byte> payload(payload_sz, std::byte{'x'});
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t target = size_mb << 20;
  std::uint64_t seq = 1;
  std::uint64_t live = 0;
  while (j.stats().commit_bytes + (cfg.segment_sz / 64) < target) {
    const message_id id = id_of(seq);
    std::snprintf(reinterpret_cast<char*>(payload.data()), payload.size(), "fill-%llu",
                  static_cast<unsigned long long>(seq));
    if (!retry([&] { return j.append_message(q, id, {}, payload); })) return 1;
    if (seq % live_every == 0) {
      ++live;
    } else if (!retry([&] { return j.append_confirm(q, id, 0); })) {
      return 1;
    }
    ++seq;
    j.commit();
    j.poll();
  }
  while (!j.idle() && !j.failed()) {
    j.commit();
    j.poll();
  }
  while (p.in_flight() > 0) j.poll();
  if (j.failed() || l.failed) {
    std::fprintf(stderr, "sluice-journal-fill: a write failed\n");
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("sluice-journal-fill: %s: %llu messages (%llu live) of %zu B, %llu records, %.1f MiB committed in %zu "
              "segment(s), %.1f s\n",
              shard_dir.c_str(), static_cast<unsigned long long>(seq - 1), static_cast<unsigned long long>(live),
              payload_sz, static_cast<unsigned long long>(j.stats().records),
              static_cast<double>(j.stats().commit_bytes) / (1 << 20), j.segment_cnt(), s);
  return 0;
}
