#include "datapath/xdp/af_xdp_port.h"

#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <numa.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace sluice::xdp {

namespace {

constexpr std::uint32_t k_frame_sz = 2048;
constexpr std::size_t k_huge_page_sz = 2u << 20;
constexpr std::size_t k_kernel_batch = 64;
constexpr std::size_t k_forward_burst = 32;

std::string errno_text(int e) { return std::strerror(e); }

std::string privilege_hint(int e) {
  if (e == EPERM || e == EACCES) return " (AF_XDP needs root, or CAP_NET_RAW + CAP_NET_ADMIN + CAP_BPF)";
  if (e == ENOBUFS || e == ENOMEM) return " (UMEM counts against RLIMIT_MEMLOCK: raise it, or run with CAP_IPC_LOCK)";
  return "";
}

}  // namespace

struct af_xdp_port::rings {
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
};

const char* to_string(bind_mode m) noexcept {
  switch (m) {
    case bind_mode::zero_copy: return "zero-copy";
    case bind_mode::copy: return "copy";
    case bind_mode::skb: return "skb";
  }
  return "unknown";
}

std::unique_ptr<af_xdp_port> af_xdp_port::open(const af_xdp_port_config& cfg, shard_mesh* mesh, std::uint32_t shard,
                                               std::string& err) {
  std::unique_ptr<af_xdp_port> p(new af_xdp_port(cfg, mesh, shard));
  if (!p->setup(err)) return nullptr;
  return p;
}

af_xdp_port::af_xdp_port(const af_xdp_port_config& cfg, shard_mesh* mesh, std::uint32_t shard)
    : _cfg(cfg), _r(std::make_unique<rings>()) {
  if (mesh != nullptr && mesh->shard_cnt() > 1) {
    _link = std::make_unique<shard_link>(*mesh, shard);
    _fwd_in.resize(k_forward_burst);
    _fwd_wake.resize(mesh->shard_cnt());
  }
  _via_kernel.reserve(k_kernel_batch);
}

af_xdp_port::~af_xdp_port() {
  if (_xsk != nullptr) xsk_socket__delete(_xsk);
  if (_umem != nullptr) xsk_umem__delete(_umem);
  if (_area != nullptr) ::munmap(_area, _area_sz);
}

bool af_xdp_port::setup(std::string& err) {
  const std::string where = _cfg.ifname + " queue " + std::to_string(_cfg.queue_id);
  _ifindex = static_cast<int>(::if_nametoindex(_cfg.ifname.c_str()));
  if (_ifindex == 0) {
    err = "datapath.interface: no interface \"" + _cfg.ifname + "\" on this host (see `ip link`)";
    return false;
  }
  {  // our MAC, the source of every frame we build
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, _cfg.ifname.c_str(), IFNAMSIZ - 1);
    const bool ok = s >= 0 && ::ioctl(s, SIOCGIFHWADDR, &ifr) == 0;
    if (s >= 0) ::close(s);
    if (!ok) {
      err = where + ": cannot read the interface's MAC address: " + errno_text(errno);
      return false;
    }
    std::memcpy(_mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  }
  if (_cfg.ring_sz < 64 || (_cfg.ring_sz & (_cfg.ring_sz - 1)) != 0) {
    err = where + ": ring size " + std::to_string(_cfg.ring_sz) + " is not a power of two >= 64";
    return false;
  }
  // UMEM: two rings' worth of RX chunks (fill + RX), one ring's worth of TX
  // chunks, so the TX side can never overflow the completion ring.
  const std::uint32_t rx_frames = 2 * _cfg.ring_sz;
  const std::uint32_t tx_frames = _cfg.ring_sz;
  _area_sz = std::size_t{rx_frames + tx_frames} * k_frame_sz;
  if (_cfg.hugepages) {
    const std::size_t huge_sz = (_area_sz + k_huge_page_sz - 1) / k_huge_page_sz * k_huge_page_sz;
    void* a = ::mmap(nullptr, huge_sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (a != MAP_FAILED) {
      _area = a;
      _area_sz = huge_sz;
      _huge = true;
    }
  }
  if (_area == nullptr) {
    void* a = ::mmap(nullptr, _area_sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) {
      err = where + ": cannot map " + std::to_string(_area_sz) + " bytes of UMEM: " + errno_text(errno);
      return false;
    }
    _area = a;
  }
  if (_cfg.numa_node >= 0 && numa_available() >= 0) numa_tonode_memory(_area, _area_sz, _cfg.numa_node);

  // Zero-copy first (if asked and not SKB mode), then copy mode.
  std::vector<std::uint16_t> attempts;
  if (_cfg.zero_copy && !_cfg.skb_mode) attempts.push_back(XDP_ZEROCOPY);
  attempts.push_back(XDP_COPY);
  std::string zc_refusal;
  int last_err = 0;
  // A socket closed a moment ago (a broker restarted at once) keeps its
  // queue until the kernel has released it, asynchronously: bind answers
  // EBUSY meanwhile. Wait for the queue, bounded, and say so.
  const auto busy_until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(_cfg.busy_wait_ns);
  const auto busy_since = std::chrono::steady_clock::now();
  bool said_busy = false;
  for (;;) {
    for (const std::uint16_t flag : attempts) {
      xsk_umem_config uc{};
      uc.fill_size = _cfg.ring_sz;
      uc.comp_size = _cfg.ring_sz;
      uc.frame_size = k_frame_sz;
      uc.frame_headroom = 0;
      int rc = xsk_umem__create(&_umem, _area, _area_sz, &_r->fill, &_r->comp, &uc);
      if (rc != 0) {
        _umem = nullptr;
        err = where + ": cannot register the UMEM: " + errno_text(-rc) + privilege_hint(-rc);
        return false;
      }
      xsk_socket_config sc{};
      sc.rx_size = _cfg.ring_sz;
      sc.tx_size = _cfg.ring_sz;
      sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
      sc.xdp_flags = _cfg.skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
      sc.bind_flags = static_cast<std::uint16_t>(XDP_USE_NEED_WAKEUP | flag);
      rc = xsk_socket__create(&_xsk, _cfg.ifname.c_str(), _cfg.queue_id, _umem, &_r->rx, &_r->tx, &sc);
      if (rc == 0) break;
      _xsk = nullptr;
      last_err = -rc;
      xsk_umem__delete(_umem);
      _umem = nullptr;
      if (flag == XDP_ZEROCOPY) zc_refusal = errno_text(last_err);
    }
    if (_xsk != nullptr || last_err != EBUSY || std::chrono::steady_clock::now() >= busy_until) break;
    if (!said_busy) {
      std::fprintf(stderr,
                   "sluice-broker: %s: the queue is busy (an AF_XDP socket closed a moment ago is still being "
                   "released by the kernel); waiting up to %lld ms\n",
                   where.c_str(), static_cast<long long>(_cfg.busy_wait_ns / k_ns_per_ms));
      said_busy = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (said_busy && _xsk != nullptr) {
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - busy_since);
    std::fprintf(stderr, "sluice-broker: %s: the queue came free after %lld ms\n", where.c_str(),
                 static_cast<long long>(waited.count()));
  }
  if (_xsk == nullptr) {
    err = where + ": cannot bind an AF_XDP socket: " + errno_text(last_err) + privilege_hint(last_err);
    if (last_err == EBUSY) {
      err += " (still busy after " + std::to_string(_cfg.busy_wait_ns / k_ns_per_ms) +
             " ms: another process has an AF_XDP socket on this queue)";
    }
    if (last_err == EINVAL) err += " (does the interface have queue " + std::to_string(_cfg.queue_id) + "?)";
    return false;
  }
  _fd = xsk_socket__fd(_xsk);
  xdp_options opts{};
  socklen_t optlen = sizeof opts;
  const bool zc = ::getsockopt(_fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen) == 0 &&
                  (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  _mode = zc ? bind_mode::zero_copy : (_cfg.skb_mode ? bind_mode::skb : bind_mode::copy);
  if (const int rc = xsk_socket__update_xskmap(_xsk, _cfg.xsks_map_fd); rc != 0) {
    err = where + ": cannot put the socket in the XSKMAP: " + errno_text(-rc);
    return false;
  }
  if (_cfg.busy_poll) {
    const int one = 1;
    const int usecs = 20;
    const int budget = static_cast<int>(_cfg.busy_poll_budget);
    if (::setsockopt(_fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof one) != 0 ||
        ::setsockopt(_fd, SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof usecs) != 0 ||
        ::setsockopt(_fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof budget) != 0) {
      err = where + ": datapath.busy_poll: setsockopt failed: " + errno_text(errno) + privilege_hint(errno);
      return false;
    }
  }
  // Chunks: [0, rx_frames) start on the fill ring, the rest on the TX free list.
  _rx_held.reserve(rx_frames);
  for (std::uint32_t i = 0; i < rx_frames; ++i) _rx_held.push_back(std::uint64_t{i} * k_frame_sz);
  _tx_free.reserve(tx_frames);
  for (std::uint32_t i = 0; i < tx_frames; ++i) _tx_free.push_back(std::uint64_t{rx_frames + i} * k_frame_sz);
  refill();

  transport::udp_port_config kc;
  kc.bind = _cfg.local;
  kc.max_datagram_sz = _cfg.max_datagram_sz;
  _kernel = transport::udp_port::open(kc, err);
  if (!_kernel) return false;
  _hops = next_hop_table::open(_ifindex, err);
  if (!_hops) return false;

  _desc = where + ", " + to_string(_mode) + " mode";
  if (_cfg.zero_copy && !zc && !_cfg.skb_mode) {
    _desc += " (zero-copy refused: " + (zc_refusal.empty() ? std::string("driver has no zero-copy") : zc_refusal) + ")";
  }
  _desc += ", " + std::to_string(rx_frames + tx_frames) + " chunks of 2 KiB on " +
           (_huge ? std::string("hugepages") : std::string("normal pages (no hugepages reserved)"));
  if (_cfg.busy_poll) _desc += ", busy polling";
  return true;
}

void af_xdp_port::refill() noexcept {
  if (_rx_held.empty()) return;
  const auto want = static_cast<std::uint32_t>(_rx_held.size());
  const std::uint32_t n = std::min(want, xsk_prod_nb_free(&_r->fill, want));
  if (n == 0) return;
  std::uint32_t idx = 0;
  if (xsk_ring_prod__reserve(&_r->fill, n, &idx) != n) return;
  for (std::uint32_t i = 0; i < n; ++i) {
    *xsk_ring_prod__fill_addr(&_r->fill, idx + i) = _rx_held.back();
    _rx_held.pop_back();
  }
  xsk_ring_prod__submit(&_r->fill, n);
}

void af_xdp_port::reap_completions() noexcept {
  std::uint32_t idx = 0;
  const std::uint32_t n = xsk_ring_cons__peek(&_r->comp, _cfg.ring_sz, &idx);
  for (std::uint32_t i = 0; i < n; ++i) _tx_free.push_back(*xsk_ring_cons__comp_addr(&_r->comp, idx + i));
  if (n != 0) {
    xsk_ring_cons__release(&_r->comp, n);
    _tx_outstanding -= n;
  }
}

void af_xdp_port::kick_tx() noexcept {
  // Copy mode transmits at most 32 descriptors per sendto(): kick until the
  // ring drains (bounded), and again from receive()/wait() if it did not.
  const std::uint32_t tries = _cfg.ring_sz / 32 + 2;
  for (std::uint32_t t = 0; t < tries; ++t) {
    if (xsk_prod_nb_free(&_r->tx, _cfg.ring_sz) >= _cfg.ring_sz) return;  // drained
    if (!xsk_ring_prod__needs_wakeup(&_r->tx)) return;
    ++_ctr.tx_kicks;
    if (::sendto(_fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0) {
      const int e = errno;
      if (e != EAGAIN && e != EBUSY && e != ENOBUFS && e != ENETDOWN) {
        ++_ctr.tx_kick_errors;
        return;
      }
      if (e != EAGAIN) return;  // the driver is busy: next iteration
    }
  }
}

std::size_t af_xdp_port::receive_xsk(std::span<transport::rx_datagram> out) noexcept {
  std::uint32_t idx = 0;
  const std::uint32_t n = xsk_ring_cons__peek(&_r->rx, static_cast<std::uint32_t>(out.size()), &idx);
  std::size_t got = 0;
  auto* area = static_cast<std::byte*>(_area);
  for (std::uint32_t i = 0; i < n; ++i) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&_r->rx, idx + i);
    _rx_held.push_back(d->addr & ~std::uint64_t{k_frame_sz - 1});
    parsed_udp pkt;
    if (parse_udp_frame({area + d->addr, d->len}, pkt) != parse_error::none) {
      ++_ctr.rx_bad;
      continue;
    }
    if (pkt.dst.family != _cfg.local.family || pkt.dst.ip != _cfg.local.ip) {
      ++_ctr.rx_not_ours;
      continue;
    }
    ++_ctr.rx_xsk;
    if (pkt.dst.port == _cfg.local.port) {
      out[got++] = transport::rx_datagram{pkt.src, pkt.payload};
      continue;
    }
    const auto owner = static_cast<std::uint32_t>(pkt.dst.port - _cfg.base_port);
    if (_link && pkt.dst.port >= _cfg.base_port && owner < _link->shard_cnt()) {
      if (_link->forward(owner, pkt.src, pkt.payload)) {
        ++_ctr.forwarded_out;
        _fwd_wake[owner] = 1;
      } else {
        ++_ctr.forward_dropped;
      }
    } else {
      ++_ctr.rx_not_ours;
    }
  }
  if (n != 0) xsk_ring_cons__release(&_r->rx, n);
  return got;
}

std::size_t af_xdp_port::receive(std::span<transport::rx_datagram> out) noexcept {
  refill();  // the previous burst's chunks are free again
  std::size_t n = 0;
  if (_link) {
    const std::size_t k = _link->drain(std::span(_fwd_in).first(std::min(out.size(), _fwd_in.size())));
    for (std::size_t i = 0; i < k; ++i) out[n++] = transport::rx_datagram{_fwd_in[i].peer, {_fwd_in[i].data.data(), _fwd_in[i].len}};
    _ctr.forwarded_in += k;
  }
  if (n < out.size()) n += receive_xsk(out.subspan(n));
  if (_cfg.busy_poll || xsk_ring_prod__needs_wakeup(&_r->fill)) {
    ::recvfrom(_fd, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);  // drive NAPI / refill
  }
  if (n < out.size()) {
    const std::size_t k = _kernel->receive(out.subspan(n));
    _ctr.rx_kernel += k;
    n += k;
  }
  if (_link) {
    for (std::uint32_t s = 0; s < _fwd_wake.size(); ++s) {
      if (_fwd_wake[s] != 0) {
        _fwd_wake[s] = 0;
        _link->wake(s);
      }
    }
  }
  if (_tx_outstanding != 0) {
    reap_completions();
    kick_tx();
  }
  return n;
}

std::size_t af_xdp_port::send(std::span<const transport::tx_datagram> in) noexcept {
  reap_completions();
  const time_ns now = _clock.now_ns();
  std::size_t accepted = 0;
  std::uint32_t queued = 0;
  auto* area = static_cast<std::byte*>(_area);
  const std::size_t hdr = headers_size(_cfg.local.family);
  for (const auto& d : in) {
    const mac_addr* mac = d.peer.family == _cfg.local.family ? _hops->lookup(d.peer, now) : nullptr;
    if (mac == nullptr) {
      if (_via_kernel.size() == k_kernel_batch) {
        const std::size_t k = _kernel->send(_via_kernel);
        accepted += k;
        _ctr.tx_kernel += k;
        _via_kernel.clear();
      }
      _via_kernel.push_back(d);
      continue;
    }
    std::uint32_t idx = 0;
    if (_tx_free.empty() || hdr + d.data.size() > k_frame_sz || xsk_ring_prod__reserve(&_r->tx, 1, &idx) != 1) {
      ++_ctr.tx_dropped;
      continue;
    }
    const std::uint64_t addr = _tx_free.back();
    _tx_free.pop_back();
    std::byte* frame = area + addr;
    std::memcpy(frame + hdr, d.data.data(), d.data.size());
    const std::size_t len = build_udp_frame({frame, k_frame_sz}, _mac, *mac, _cfg.local, d.peer, d.data.size(), ++_ip_id);
    xdp_desc* td = xsk_ring_prod__tx_desc(&_r->tx, idx);
    td->addr = addr;
    td->len = static_cast<std::uint32_t>(len);
    td->options = 0;
    xsk_ring_prod__submit(&_r->tx, 1);
    ++queued;
    ++accepted;
  }
  if (queued != 0) {
    _tx_outstanding += queued;
    _ctr.tx_xsk += queued;
    kick_tx();
  }
  if (!_via_kernel.empty()) {
    const std::size_t k = _kernel->send(_via_kernel);
    accepted += k;
    _ctr.tx_kernel += k;
    _via_kernel.clear();
  }
  return accepted;
}

void af_xdp_port::wait(time_ns timeout) noexcept {
  if (_tx_outstanding != 0) {
    reap_completions();
    kick_tx();
  }
  std::array<pollfd, 4> fds{};
  nfds_t cnt = 0;
  fds[cnt++] = pollfd{_fd, POLLIN, 0};
  fds[cnt++] = pollfd{_kernel->fd(), POLLIN, 0};
  if (_wake_fd >= 0) fds[cnt++] = pollfd{_wake_fd, POLLIN, 0};
  if (_link) {
    _link->clear_wake();
    // A datagram forwarded before the clear left no wake-up behind: look.
    for (std::uint32_t s = 0; s < _link->shard_cnt(); ++s) {
      if (s != _link->self() && _link->pending_from(s)) return;
    }
    fds[cnt++] = pollfd{_link->event_fd(), POLLIN, 0};
  }
  if (timeout <= 0) return;
  const ::timespec ts{static_cast<time_t>(timeout / k_ns_per_s), static_cast<long>(timeout % k_ns_per_s)};
  ::ppoll(fds.data(), cnt, &ts, nullptr);
}

}  // namespace sluice::xdp
