#include "storage/uring_persistence.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "storage/segment.h"

namespace sluice::storage {
namespace {

// Sub-operation of an op, in the low byte of an SQE's user_data.
enum : std::uint8_t { k_sub_main, k_sub_datasync, k_sub_zero, k_sub_fsync_file, k_sub_fsync_dir, k_sub_unlink };

std::runtime_error setup_error(const std::string& what, const std::string& path, int err) {
  return std::runtime_error("uring_persistence: " + what + " '" + path + "': " + std::strerror(err));
}

errc errc_of(int err) noexcept { return err == ENOSPC ? errc::no_space : err == ENOENT ? errc::not_found : errc::io_error; }

}  // namespace

uring_persistence::uring_persistence(uring_settings settings) : _settings(std::move(settings)) {
  SLUICE_ASSERT(_settings.ring_depth >= 8, "ring_depth of at least 8");
  SLUICE_ASSERT(_settings.zero_writes_in_flight >= 1 && _settings.zero_writes_in_flight <= 2,
                "zero_writes_in_flight is 1 or 2: an op has at most two SQEs in flight");
  if (::mkdir(_settings.dir.c_str(), 0755) != 0 && errno != EEXIST) throw setup_error("mkdir", _settings.dir, errno);
  _dirfd = ::open(_settings.dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (_dirfd < 0) throw setup_error("open directory", _settings.dir, errno);
  const int rc = io_uring_queue_init(_settings.ring_depth, &_ring, 0);
  if (rc < 0) {
    ::close(_dirfd);
    throw setup_error("io_uring_queue_init (is io_uring disabled? check kernel.io_uring_disabled)",
                      _settings.dir, -rc);
  }
  _ops.resize(_settings.ring_depth / 2);
  for (std::uint32_t i = static_cast<std::uint32_t>(_ops.size()); i > 0; --i) _free.push_back(i - 1);
  _zeros = aligned_buffer(_settings.zero_chunk_sz);
}

uring_persistence::~uring_persistence() {
  io_completion sink[16];
  while (in_flight() > 0) wait(sink);  // the kernel may still be using buffers and names
  io_uring_queue_exit(&_ring);
  for (const auto& [id, fd] : _fds) ::close(fd);
  ::close(_dirfd);
}

int uring_persistence::fd_of(segment_id s) const noexcept {
  auto it = _fds.find(s.value());
  return it == _fds.end() ? -1 : it->second;
}

std::uint32_t uring_persistence::alloc_op() noexcept {
  if (_free.empty()) return UINT32_MAX;
  const std::uint32_t slot = _free.back();
  _free.pop_back();
  _ops[slot] = op{};
  ++_ops_in_flight;
  return slot;
}

io_uring_sqe* uring_persistence::sqe_for(std::uint32_t slot, std::uint8_t sub) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&_ring);
  SLUICE_ASSERT(sqe != nullptr, "SQ full: ops are bounded to ring_depth / 2 with two SQEs each");
  io_uring_sqe_set_data64(sqe, static_cast<std::uint64_t>(slot) << 8 | sub);
  ++_ops[slot].pending;
  return sqe;
}

status<errc> uring_persistence::list_segments(std::vector<segment_id>& out) {
  out.clear();
  DIR* d = ::opendir(_settings.dir.c_str());
  if (d == nullptr) return unexpected{errc::io_error};
  while (const dirent* e = ::readdir(d)) {
    if (auto id = parse_segment_file_name(e->d_name)) out.push_back(*id);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return {};
}

result<std::uint64_t, errc> uring_persistence::open_segment(segment_id s) {
  char name[24];
  segment_file_name(s, name);
  int fd = fd_of(s);
  if (fd < 0) {
    fd = ::openat(_dirfd, name, O_RDWR | O_DIRECT | O_CLOEXEC);
    if (fd < 0) return unexpected{errc_of(errno)};
    _fds[s.value()] = fd;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) return unexpected{errc::io_error};
  return static_cast<std::uint64_t>(st.st_size);
}

status<errc> uring_persistence::read_blocking(segment_id s, std::uint64_t off, mut_bytes out) {
  assert_direct_io(off, out.data(), out.size());
  const int fd = fd_of(s);
  if (fd < 0) return unexpected{errc::not_found};
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unexpected{errc_of(errno)};
    if (n == 0) break;  // end of file: the rest reads as zeros
    done += static_cast<std::size_t>(n);
  }
  std::memset(out.data() + done, 0, out.size() - done);
  return {};
}

status<errc> uring_persistence::write_blocking(segment_id s, std::uint64_t off, bytes data) {
  assert_direct_io(off, data.data(), data.size());
  const int fd = fd_of(s);
  if (fd < 0) return unexpected{errc::not_found};
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return unexpected{errc_of(n < 0 ? errno : EIO)};
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd) != 0) return unexpected{errc_of(errno)};
  return {};
}

status<errc> uring_persistence::submit_write(segment_id s, std::uint64_t off, bytes data, bool datasync,
                                             std::uint64_t token) {
  assert_direct_io(off, data.data(), data.size());
  const int fd = fd_of(s);
  if (fd < 0) return unexpected{errc::not_found};
  const std::uint32_t slot = alloc_op();
  if (slot == UINT32_MAX) return unexpected{errc::busy};
  op& o = _ops[slot];
  o.kind = op_kind::write;
  o.token = token;
  o.expect_sz = static_cast<std::uint32_t>(data.size());
  io_uring_sqe* w = sqe_for(slot, k_sub_main);
  io_uring_prep_write(w, fd, data.data(), o.expect_sz, off);
  if (datasync && _settings.sync == sync_mode::rwf_dsync) {
    w->rw_flags = RWF_DSYNC;
  } else if (datasync) {
    w->flags |= IOSQE_IO_LINK;
    io_uring_prep_fsync(sqe_for(slot, k_sub_datasync), fd, IORING_FSYNC_DATASYNC);
  }
  io_uring_submit(&_ring);
  return {};
}

status<errc> uring_persistence::submit_read(segment_id s, std::uint64_t off, mut_bytes out, std::uint64_t token) {
  assert_direct_io(off, out.data(), out.size());
  const int fd = fd_of(s);
  if (fd < 0) return unexpected{errc::not_found};
  const std::uint32_t slot = alloc_op();
  if (slot == UINT32_MAX) return unexpected{errc::busy};
  _ops[slot].kind = op_kind::read;
  _ops[slot].token = token;
  _ops[slot].expect_sz = static_cast<std::uint32_t>(out.size());
  io_uring_prep_read(sqe_for(slot, k_sub_main), fd, out.data(), _ops[slot].expect_sz, off);
  io_uring_submit(&_ring);
  return {};
}

status<errc> uring_persistence::submit_create(segment_id s, std::uint64_t size, std::uint64_t token) {
  SLUICE_ASSERT(size % k_block_sz == 0 && size > 0, "segment size must be whole blocks");
  if (fd_of(s) >= 0) return unexpected{errc::duplicate};
  if (_free.empty()) return unexpected{errc::busy};
  char name[24];
  segment_file_name(s, name);
  // openat is a metadata syscall of a few µs, done once per segment ahead of need.
  const int fd = ::openat(_dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0) return unexpected{errno == EEXIST ? errc::duplicate : errc_of(errno)};
  _fds[s.value()] = fd;
  const std::uint32_t slot = alloc_op();
  op& o = _ops[slot];
  o.kind = op_kind::create;
  o.token = token;
  o.segment = s.value();
  o.fd = fd;
  o.size = size;
  std::memcpy(o.name, name, sizeof name);
  io_uring_prep_fallocate(sqe_for(slot, k_sub_main), fd, 0, 0, static_cast<off_t>(size));
  io_uring_submit(&_ring);
  return {};
}

status<errc> uring_persistence::submit_remove(segment_id s, std::uint64_t token) {
  auto it = _fds.find(s.value());
  if (it == _fds.end()) return unexpected{errc::not_found};
  const std::uint32_t slot = alloc_op();
  if (slot == UINT32_MAX) return unexpected{errc::busy};
  ::close(it->second);  // no I/O of ours is in flight on it: the journal removes only idle segments
  _fds.erase(it);
  op& o = _ops[slot];
  o.kind = op_kind::remove;
  o.token = token;
  segment_file_name(s, o.name);
  io_uring_sqe* u = sqe_for(slot, k_sub_unlink);
  io_uring_prep_unlinkat(u, _dirfd, o.name, 0);
  u->flags |= IOSQE_IO_LINK;
  io_uring_prep_fsync(sqe_for(slot, k_sub_fsync_dir), _dirfd, 0);
  io_uring_submit(&_ring);
  return {};
}

// create: fallocate → zero-fill (bounded in flight) → fsync(file) ─link─► fsync(dir).
void uring_persistence::create_next_stage(std::uint32_t slot) noexcept {
  op& o = _ops[slot];
  if (o.stage == 0 && o.pending == 0) o.stage = 1;
  if (o.stage == 1) {
    while (o.pending < _settings.zero_writes_in_flight && o.next_off < o.size) {
      const std::size_t n = std::min<std::uint64_t>(_zeros.size(), o.size - o.next_off);
      io_uring_prep_write(sqe_for(slot, k_sub_zero), o.fd, _zeros.data(), static_cast<unsigned>(n), o.next_off);
      o.next_off += n;
    }
    if (o.pending == 0) {
      o.stage = 2;
      io_uring_sqe* f = sqe_for(slot, k_sub_fsync_file);
      io_uring_prep_fsync(f, o.fd, 0);
      f->flags |= IOSQE_IO_LINK;
      io_uring_prep_fsync(sqe_for(slot, k_sub_fsync_dir), _dirfd, 0);
    }
    io_uring_submit(&_ring);
  } else if (o.stage == 2 && o.pending == 0) {
    o.stage = 3;
  }
}

bool uring_persistence::on_cqe(std::uint64_t user_data, std::int32_t res, io_completion& out) noexcept {
  const auto slot = static_cast<std::uint32_t>(user_data >> 8);
  const auto sub = static_cast<std::uint8_t>(user_data & 0xFF);
  SLUICE_ASSERT(slot < _ops.size() && _ops[slot].kind != op_kind::free && _ops[slot].pending > 0,
                "CQE for an op not in flight");
  op& o = _ops[slot];
  --o.pending;
  if (res >= 0 && sub == k_sub_main && (o.kind == op_kind::write || o.kind == op_kind::read) &&
      static_cast<std::uint32_t>(res) != o.expect_sz)
    res = -EIO;  // a short O_DIRECT transfer: treat as failed
  if (res >= 0 && sub == k_sub_zero && (res == 0 || res % static_cast<std::int32_t>(k_block_sz) != 0)) res = -EIO;
  if (res < 0 && (o.err == 0 || o.err == -ECANCELED)) o.err = res;  // keep the cause, not the cancelled link
  if (o.kind == op_kind::create && o.err == 0) create_next_stage(slot);
  if (o.pending > 0) return false;
  if (o.kind == op_kind::create && o.err == 0 && o.stage != 3) return false;

  out.token = o.token;
  out.res = o.err < 0 ? o.err : static_cast<std::int32_t>(o.expect_sz);
  if (o.kind == op_kind::create && o.err < 0) {  // leave nothing half-made behind
    ::close(o.fd);
    _fds.erase(o.segment);
    ::unlinkat(_dirfd, o.name, 0);
  }
  o.kind = op_kind::free;
  _free.push_back(slot);
  --_ops_in_flight;
  return true;
}

std::size_t uring_persistence::poll(std::span<io_completion> out) noexcept {
  std::size_t n = 0;
  io_uring_cqe* cqe = nullptr;
  while (n < out.size() && io_uring_peek_cqe(&_ring, &cqe) == 0) {
    const std::uint64_t ud = io_uring_cqe_get_data64(cqe);
    const std::int32_t res = cqe->res;
    io_uring_cqe_seen(&_ring, cqe);
    if (on_cqe(ud, res, out[n])) ++n;
  }
  return n;
}

std::size_t uring_persistence::wait(std::span<io_completion> out) {
  while (in_flight() > 0) {
    const std::size_t n = poll(out);
    if (n > 0) return n;
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_wait_cqe(&_ring, &cqe);
    SLUICE_ASSERT(rc == 0 || rc == -EINTR, "io_uring_wait_cqe failed");
  }
  return 0;
}

}  // namespace sluice::storage
