#include "bench/disk_floor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bench/process.h"
#include "common/clock.h"

namespace sluice::bench {

disk_floor_result measure_disk_floor(int count) {
  disk_floor_result r;
  r.dir = make_tmpdir("sluice-bench-disk");  // the file system the benchmark journals use
  if (r.dir.empty()) {
    r.error = "cannot make a scratch directory";
    return r;
  }
  const std::string path = r.dir + "/floor";
  constexpr std::size_t k_sz = 4096;
  constexpr int k_slots = 64;  // cycle over a few blocks, as a journal moves forward
  void* buf = nullptr;
  int fd = -1;
  if (::posix_memalign(&buf, k_sz, k_sz) != 0) {
    r.error = "out of memory";
  } else if ((fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644)) < 0) {
    r.error = "open " + path + " with O_DIRECT: " + std::strerror(errno);
  } else {
    std::memset(buf, 0x5a, k_sz);
    const auto write_block = [&](int slot) {
      return ::pwrite(fd, buf, k_sz, static_cast<off_t>(slot) * static_cast<off_t>(k_sz)) ==
             static_cast<ssize_t>(k_sz);
    };
    bool ok = true;
    for (int i = 0; i < k_slots && ok; ++i) ok = write_block(i);
    ok = ok && ::fdatasync(fd) == 0;
    for (int i = 0; i < count && ok; ++i) {
      const time_ns t0 = monotonic_now_ns();
      ok = write_block(i % k_slots) && ::fdatasync(fd) == 0;
      r.write_sync.record(static_cast<std::uint64_t>(monotonic_now_ns() - t0));
    }
    if (!ok) r.error = std::string("write + fdatasync failed: ") + std::strerror(errno);
  }
  if (fd >= 0) ::close(fd);
  std::free(buf);
  remove_tree(r.dir);
  return r;
}

}  // namespace sluice::bench
