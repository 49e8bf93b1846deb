// bench/journal_bench.cc — sluice-journal-bench: group commit on the real disk.
//
// For each sync mode (RWF_DSYNC write, write + linked fdatasync) and each
// batch size, runs a storage::journal over uring_persistence in a fresh
// directory: append `records` messages, commit, spin on poll() until they
// are durable; repeat. Reports per-commit latency (first append → durable)
// p50/p99/p99.9 and records/s. Also the raw floor: one 4 KiB write + sync
// through the persistence alone. One commit in flight, as in a shard loop.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/histogram.h"
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

const char* name(sync_mode m) { return m == sync_mode::rwf_dsync ? "rwf_dsync" : "linked_fdatasync"; }

void raw_floor(const std::string& dir, sync_mode m, int n) {
  uring_persistence p(uring_settings{dir, 64, m});
  io_completion c[4];
  (void)p.submit_create(segment_id{1}, 64u << 20, 1);
  p.wait(c);
  aligned_buffer buf(k_block_sz);
  histogram h;
  for (int i = 0; i < n; ++i) {
    const time_ns t0 = monotonic_now_ns();
    (void)p.submit_write(segment_id{1}, static_cast<std::uint64_t>(i) * k_block_sz, buf.span(), true, 2);
    while (p.poll(c) == 0) {
    }
    h.record(static_cast<std::uint64_t>(monotonic_now_ns() - t0));
  }
  std::printf("%-17s raw 4 KiB write+sync      p50 %6.1f µs  p99 %6.1f µs  p99.9 %6.1f µs\n", name(m),
              static_cast<double>(h.quantile(0.5)) / 1e3, static_cast<double>(h.quantile(0.99)) / 1e3,
              static_cast<double>(h.quantile(0.999)) / 1e3);
}

void run(const std::string& dir, sync_mode m, int records, std::size_t payload_sz, int commits) {
  uring_persistence p(uring_settings{dir, 64, m});
  listener l;
  journal_config cfg;  // 64 MiB segments, 1 MiB batches
  journal j(p, cfg, l, journal_state(1u << 16));
  (void)j.start(segment_id{0}, 0);
  while (p.in_flight() > 0) j.poll();  // segments created and zeroed before timing
  (void)j.append_queue_created(queue_id{1}, 1, {}, {});
  std::vector<std::byte> body(payload_sz, std::byte{0x42});
  histogram h;
  std::uint64_t id = 0;
  const time_ns start = monotonic_now_ns();
  for (int c = 0; c < commits; ++c) {
    const time_ns t0 = monotonic_now_ns();
    seq_no last;
    for (int r = 0; r < records; ++r) {
      message_id mid;
      ++id;
      std::memcpy(mid.bytes.data(), &id, sizeof id);
      last = *j.append_message(queue_id{1}, mid, {}, body);
      (void)j.append_delete(queue_id{1}, mid, 0);  // keep the index small; a delete is 56 bytes
    }
    j.commit();
    while (l.durable < last && !l.failed) j.poll();
    h.record(static_cast<std::uint64_t>(monotonic_now_ns() - t0));
  }
  const double secs = static_cast<double>(monotonic_now_ns() - start) / 1e9;
  std::printf("%-17s %3d × %4zu B msgs/commit p50 %6.1f µs  p99 %6.1f µs  p99.9 %6.1f µs  %9.0f msgs/s  (%llu B/commit)\n",
              name(m), records, payload_sz, static_cast<double>(h.quantile(0.5)) / 1e3,
              static_cast<double>(h.quantile(0.99)) / 1e3, static_cast<double>(h.quantile(0.999)) / 1e3,
              static_cast<double>(records) * commits / secs,
              static_cast<unsigned long long>(j.stats().commit_bytes / j.stats().commits));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice-journal-bench: journal group commit on the real disk"};
  std::string dir = "/tmp/sluice-journal-bench";
  int commits = 2000;
  std::size_t payload_sz = 64;
  std::vector<int> batches{1, 16, 64, 256};
  app.add_option("--dir", dir, "scratch directory (removed and recreated; O_DIRECT must work there)");
  app.add_option("--commits", commits, "commits per run");
  app.add_option("--payload", payload_sz, "message payload bytes");
  app.add_option("--batch", batches, "messages per commit (several allowed)");
  CLI11_PARSE(app, argc, argv);
  for (sync_mode m : {sync_mode::rwf_dsync, sync_mode::linked_fdatasync}) {
    std::filesystem::remove_all(dir);
    raw_floor(dir, m, commits);
    for (int b : batches) {
      std::filesystem::remove_all(dir);
      run(dir, m, b, payload_sz, commits);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
