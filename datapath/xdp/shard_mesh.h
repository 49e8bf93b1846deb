// datapath/xdp/shard_mesh.h — datagrams forwarded between shards.
//
// Correctness must not depend on NIC steering: a datagram for shard j's UDP
// port may land on shard i's NIC queue (no ntuple rule, veth steering by the
// sender's CPU, SKB mode putting everything on queue 0). Shard i then copies
// it into the SPSC ring i→j and wakes shard j through j's eventfd; shard j
// takes it from its rings as if it had arrived on its own queue. One ring per
// ordered pair of shards keeps every ring single-producer/single-consumer.
// A full ring drops the datagram (counted): the session layer retransmits.
//
// Built by the main thread before the shards start; each shard then uses
// only its own `shard_link` (producer side of i→*, consumer side of *→i).
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "common/net_addr.h"
#include "common/spsc_ring.h"

namespace sluice::xdp {

inline constexpr std::size_t k_forward_data_max = 1792;  // a 2 KiB UMEM chunk minus XDP headroom

struct forwarded_datagram {
  net_addr peer;
  std::uint16_t len = 0;
  std::array<std::byte, k_forward_data_max> data;
};

class shard_mesh {
 public:
  explicit shard_mesh(std::uint32_t shard_cnt, std::size_t ring_capacity = 256) : _n(shard_cnt) {
    for (std::uint32_t i = 0; i < _n * _n; ++i) {
      _rings.push_back(std::make_unique<spsc_ring<forwarded_datagram>>(ring_capacity));
    }
    for (std::uint32_t i = 0; i < _n; ++i) _events.push_back(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  }
  ~shard_mesh() {
    for (const int fd : _events) {
      if (fd >= 0) ::close(fd);
    }
  }
  shard_mesh(const shard_mesh&) = delete;
  shard_mesh& operator=(const shard_mesh&) = delete;

  std::uint32_t shard_cnt() const noexcept { return _n; }
  spsc_ring<forwarded_datagram>& ring(std::uint32_t from, std::uint32_t to) noexcept { return *_rings[from * _n + to]; }
  int event_fd(std::uint32_t shard) const noexcept { return _events[shard]; }

 private:
  std::uint32_t _n;
  std::vector<std::unique_ptr<spsc_ring<forwarded_datagram>>> _rings;
  std::vector<int> _events;
};

// One shard's end of the mesh. Shard thread only.
class shard_link {
 public:
  shard_link(shard_mesh& mesh, std::uint32_t self) noexcept : _mesh(mesh), _self(self) {}

  std::uint32_t self() const noexcept { return _self; }
  std::uint32_t shard_cnt() const noexcept { return _mesh.shard_cnt(); }
  int event_fd() const noexcept { return _mesh.event_fd(_self); }

  // Copies the datagram into the ring toward `to`; false if the ring is full
  // or the datagram too big. Call wake(to) once after a burst.
  bool forward(std::uint32_t to, const net_addr& peer, std::span<const std::byte> data) noexcept {
    if (data.size() > k_forward_data_max) return false;
    forwarded_datagram d;
    d.peer = peer;
    d.len = static_cast<std::uint16_t>(data.size());
    std::memcpy(d.data.data(), data.data(), data.size());
    return _mesh.ring(_self, to).push(std::move(d));
  }
  void wake(std::uint32_t to) noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(_mesh.event_fd(to), &one, sizeof one);
  }
  // Moves up to out.size() forwarded datagrams into `out`; returns how many.
  std::size_t drain(std::span<forwarded_datagram> out) noexcept {
    std::size_t n = 0;
    for (std::uint32_t from = 0; from < _mesh.shard_cnt() && n < out.size(); ++from) {
      if (from == _self) continue;
      auto& r = _mesh.ring(from, _self);
      while (n < out.size()) {
        auto d = r.pop();
        if (!d) break;
        out[n++] = std::move(*d);
      }
    }
    return n;
  }
  bool pending_from(std::uint32_t from) noexcept { return _mesh.ring(from, _self).size_approx() != 0; }
  // Clears the eventfd before the shard blocks (a wake-up after this is kept).
  void clear_wake() noexcept {
    std::uint64_t v;
    [[maybe_unused]] const ssize_t n = ::read(event_fd(), &v, sizeof v);
  }

 private:
  shard_mesh& _mesh;
  std::uint32_t _self;
};

}  // namespace sluice::xdp
