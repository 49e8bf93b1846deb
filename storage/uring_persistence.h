// storage/uring_persistence.h — persistence on a directory, through io_uring.
//
// Segment files are opened with O_DIRECT: commits bypass the page cache and
// go straight to the device, so a completed datasync write is on the disk.
// Runtime operations are SQEs on one ring owned by the shard thread:
//
//   submit_write   write (+ RWF_DSYNC)            or  write ─link─► fdatasync
//   submit_create  openat (sync, µs) → fallocate → zero-fill in chunks
//                  → fsync(file) ─link─► fsync(directory)
//   submit_remove  close → unlinkat ─link─► fsync(directory)
//   submit_read    read
//
// Pre-zeroing matters: writes into fallocated-but-unwritten extents make each
// datasync convert extents (journal metadata); a zero-filled segment roughly
// halves commit latency (shared/KERNEL-NOTES.md). Which sync is used is a
// setting, so the benchmark can compare both on the same disk.
//
// Operations in flight are bounded by ring_depth / 2 (an op has at most two
// SQEs in flight); a submit beyond that returns errc::busy.
//
// Thread: one owner, the shard thread (or the start-up thread before it).
// Setup errors (ring, directory) throw std::runtime_error with the path and
// the system error: they happen at start-up, where failing fast is right.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "storage/aligned_buffer.h"
#include "storage/persistence.h"

namespace sluice::storage {

struct uring_settings {
  std::string dir;                 // created if missing (one level)
  unsigned ring_depth = 64;        // SQ entries; CQ is twice that
  sync_mode sync = sync_mode::rwf_dsync;
  std::size_t zero_chunk_sz = 1u << 20;  // one zero-fill write while creating a segment
  unsigned zero_writes_in_flight = 2;    // keeps pre-zeroing from crowding out commits
};

class uring_persistence final : public persistence {
 public:
  explicit uring_persistence(uring_settings settings);
  ~uring_persistence() override;
  uring_persistence(const uring_persistence&) = delete;
  uring_persistence& operator=(const uring_persistence&) = delete;

  const uring_settings& settings() const noexcept { return _settings; }

  status<errc> list_segments(std::vector<segment_id>& out) override;
  result<std::uint64_t, errc> open_segment(segment_id s) override;
  status<errc> read_blocking(segment_id s, std::uint64_t off, mut_bytes out) override;
  status<errc> write_blocking(segment_id s, std::uint64_t off, bytes data) override;
  status<errc> submit_create(segment_id s, std::uint64_t size, std::uint64_t token) override;
  status<errc> submit_write(segment_id s, std::uint64_t off, bytes data, bool datasync,
                            std::uint64_t token) override;
  status<errc> submit_read(segment_id s, std::uint64_t off, mut_bytes out, std::uint64_t token) override;
  status<errc> submit_remove(segment_id s, std::uint64_t token) override;
  std::size_t poll(std::span<io_completion> out) noexcept override;
  std::size_t wait(std::span<io_completion> out) override;
  std::size_t in_flight() const noexcept override { return _ops_in_flight; }
  int completion_fd() const noexcept override { return _ring.ring_fd; }

 private:
  enum class op_kind : std::uint8_t { free, write, read, create, remove };
  struct op {
    op_kind kind = op_kind::free;
    std::uint8_t stage = 0;
    std::uint32_t pending = 0;  // CQEs still to come
    std::int32_t err = 0;       // first failure (-errno)
    std::uint64_t token = 0;
    std::uint64_t segment = 0;
    int fd = -1;
    std::uint32_t expect_sz = 0;  // bytes the write/read must transfer
    std::uint64_t size = 0;       // create: file size
    std::uint64_t next_off = 0;   // create: next zero-fill offset
    char name[24] = {};
  };

  int fd_of(segment_id s) const noexcept;
  std::uint32_t alloc_op() noexcept;
  io_uring_sqe* sqe_for(std::uint32_t slot, std::uint8_t sub) noexcept;
  // Handles one CQE; true when its op finished (out filled).
  bool on_cqe(std::uint64_t user_data, std::int32_t res, io_completion& out) noexcept;
  void create_next_stage(std::uint32_t slot) noexcept;

  uring_settings _settings;
  io_uring _ring{};
  int _dirfd = -1;
  std::map<std::uint64_t, int> _fds;  // segment → fd; changes only on create/open/remove
  std::vector<op> _ops;
  std::vector<std::uint32_t> _free;
  std::size_t _ops_in_flight = 0;
  aligned_buffer _zeros;
};

}  // namespace sluice::storage
