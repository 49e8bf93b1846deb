#include "datapath/transport/udp_port.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace sluice::transport {

std::unique_ptr<udp_port> udp_port::open(const udp_port_config& cfg, std::string& err) {
  if (cfg.bind.family != AF_INET && cfg.bind.family != AF_INET6) {
    err = "udp port: bind address is not IPv4 or IPv6";
    return nullptr;
  }
  const int fd = ::socket(cfg.bind.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = "udp port: socket(): " + std::string(std::strerror(errno));
    return nullptr;
  }
  // Ask for big buffers; as root, *FORCE lifts the sysctl ceiling.
  const int bytes = cfg.socket_buffer_bytes;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
  if (cfg.report_unreachable) {
    const int on = 1;
    const bool v6 = cfg.bind.family == AF_INET6;
    ::setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &on, sizeof on);
  }
  sockaddr_storage ss{};
  const socklen_t len = cfg.bind.to_sockaddr(ss);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    err = "udp port: cannot bind " + cfg.bind.to_string() + ": " + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  auto port = std::unique_ptr<udp_port>(
      new udp_port(fd, cfg, net_addr::from_sockaddr(reinterpret_cast<const sockaddr*>(&bound))));
  // The kernel reports twice what was set and charges each datagram its
  // buffer's true size, about twice the payload of a full 1,472-byte
  // datagram on loopback and veth: half the reported size is what it holds.
  int rcvbuf = 0;
  socklen_t rcvbuf_len = sizeof rcvbuf;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rcvbuf_len) == 0 && rcvbuf > 0) {
    port->_rcvbuf_payload = static_cast<std::uint64_t>(rcvbuf) / 2;
  }
  return port;
}

std::size_t udp_port::path_datagram_sz(const net_addr& to) noexcept {
  if (to.family != AF_INET && to.family != AF_INET6) return 0;
  const int fd = ::socket(to.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_storage ss{};
  const socklen_t len = to.to_sockaddr(ss);
  int mtu = 0;
  socklen_t mtu_len = sizeof mtu;
  const bool v6 = to.family == AF_INET6;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) == 0 &&  // picks the route, sends nothing
                  ::getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &mtu_len) == 0;
  ::close(fd);
  const int headers = v6 ? 40 + 8 : 20 + 8;
  if (!ok || mtu <= headers) return 0;
  return std::min<std::size_t>(static_cast<std::size_t>(mtu - headers), 65507);
}

udp_port::udp_port(int fd, const udp_port_config& cfg, const net_addr& local)
    : _fd(fd),
      _cfg(cfg),
      _local(local),
      _rx_buf(std::make_unique<std::byte[]>(cfg.max_datagram_sz * cfg.burst)),
      _rx_msgs(cfg.burst),
      _rx_iov(cfg.burst),
      _rx_addr(cfg.burst),
      _tx_msgs(cfg.burst),
      _tx_iov(cfg.burst),
      _tx_addr(cfg.burst) {
  for (std::uint32_t i = 0; i < cfg.burst; ++i) {
    _rx_iov[i] = ::iovec{_rx_buf.get() + std::size_t{i} * cfg.max_datagram_sz, cfg.max_datagram_sz};
  }
}

udp_port::~udp_port() { ::close(_fd); }

std::size_t udp_port::receive(std::span<rx_datagram> out) noexcept {
  const std::size_t want = std::min<std::size_t>(out.size(), _cfg.burst);
  for (std::size_t i = 0; i < want; ++i) {
    ::msghdr& h = _rx_msgs[i].msg_hdr;
    h = ::msghdr{};
    h.msg_name = &_rx_addr[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &_rx_iov[i];
    h.msg_iovlen = 1;
  }
  ++_ctr.rx_syscalls;
  const int n = ::recvmmsg(_fd, _rx_msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
  if (n < 0 && _cfg.report_unreachable && errno != EAGAIN && errno != EWOULDBLOCK) {
    drain_errors();  // the pending error (ECONNREFUSED ...) was reported instead of data: read why
    return 0;
  }
  if (n <= 0) return 0;
  std::size_t kept = 0;
  for (int i = 0; i < n; ++i) {
    const auto idx = static_cast<std::size_t>(i);
    const ::mmsghdr& m = _rx_msgs[idx];
    if (m.msg_hdr.msg_flags & MSG_TRUNC) {
      ++_ctr.rx_truncated;
      continue;
    }
    out[kept].peer = net_addr::from_sockaddr(reinterpret_cast<const sockaddr*>(&_rx_addr[idx]));
    out[kept].data = {static_cast<const std::byte*>(_rx_iov[idx].iov_base), m.msg_len};
    ++kept;
  }
  _ctr.rx_datagrams += kept;
  return kept;
}

std::size_t udp_port::send(std::span<const tx_datagram> in) noexcept {
  std::size_t done = 0;
  std::size_t sent = 0;
  bool retried = false;  // the datagram at `done` already met a pending error once
  while (done < in.size()) {
    const std::size_t cnt = std::min<std::size_t>(in.size() - done, _cfg.burst);
    for (std::size_t i = 0; i < cnt; ++i) {
      const tx_datagram& d = in[done + i];
      _tx_iov[i] = ::iovec{const_cast<std::byte*>(d.data.data()), d.data.size()};
      ::msghdr& h = _tx_msgs[i].msg_hdr;
      h = ::msghdr{};
      h.msg_namelen = d.peer.to_sockaddr(_tx_addr[i]);
      h.msg_name = &_tx_addr[i];
      h.msg_iov = &_tx_iov[i];
      h.msg_iovlen = 1;
    }
    ++_ctr.tx_syscalls;
    const int n = ::sendmmsg(_fd, _tx_msgs.data(), static_cast<unsigned>(cnt), MSG_DONTWAIT);
    if (n > 0) {
      // A batch cut short may have met a pending ICMP error, reported to
      // the datagram after the last one sent and lost: look at the queue.
      if (_cfg.report_unreachable && static_cast<std::size_t>(n) < cnt) _errors_pending = true;
      retried = false;
      done += static_cast<std::size_t>(n);
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      _ctr.tx_dropped += in.size() - done;  // buffer full: the rest would fail too
      break;
    }
    // An error for this one datagram (for example an unreachable address):
    // drop it and go on with the rest. A pending ICMP error (from an
    // earlier datagram) is reported here instead of sending this one: read
    // why (and empty the error queue, or poll() would keep waking on
    // POLLERR), then send this one again, once.
    if (n < 0 && _cfg.report_unreachable && !retried) {
      drain_errors();
      retried = true;
      continue;
    }
    retried = false;
    ++_ctr.tx_dropped;
    ++done;
  }
  _ctr.tx_datagrams += sent;
  return sent;
}

void udp_port::drain_errors() noexcept {
  _errors_pending = false;
  for (int guard = 0; guard < 64; ++guard) {
    ::sockaddr_storage offender_to{};  // where the datagram that drew the error was going
    std::array<std::byte, 512> control{};
    std::byte data[64];
    ::iovec iov{data, sizeof data};
    ::msghdr h{};
    h.msg_name = &offender_to;
    h.msg_namelen = sizeof offender_to;
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = control.data();
    h.msg_controllen = control.size();
    if (::recvmsg(_fd, &h, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    for (::cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      ::sock_extended_err e;
      std::memcpy(&e, CMSG_DATA(c), sizeof e);
      // ICMP destination unreachable / port unreachable (ICMPv6: type 1, code 4).
      const bool port_unreachable = (e.ee_origin == SO_EE_ORIGIN_ICMP && e.ee_type == 3 && e.ee_code == 3) ||
                                    (e.ee_origin == SO_EE_ORIGIN_ICMP6 && e.ee_type == 1 && e.ee_code == 4);
      if (!port_unreachable) continue;
      ++_ctr.unreachable;
      if (_unreachable_cnt < k_unreachable_max) {
        _unreachable[_unreachable_cnt++] = net_addr::from_sockaddr(reinterpret_cast<const sockaddr*>(&offender_to));
      }
    }
  }
}

std::size_t udp_port::take_unreachable(std::span<net_addr> out) noexcept {
  if (_errors_pending) drain_errors();
  const std::size_t n = std::min(out.size(), _unreachable_cnt);
  std::copy_n(_unreachable.begin(), n, out.begin());
  _unreachable_cnt = 0;
  return n;
}

void udp_port::wait(time_ns timeout) noexcept {
  if (timeout <= 0) return;
  std::array<::pollfd, 2> p{::pollfd{_fd, POLLIN, 0}, ::pollfd{_wake_fd, POLLIN, 0}};
  const ::timespec ts{static_cast<time_t>(timeout / k_ns_per_s), static_cast<long>(timeout % k_ns_per_s)};
  ::ppoll(p.data(), _wake_fd >= 0 ? 2 : 1, &ts, nullptr);
  // An ICMP report waiting in the error queue keeps POLLERR up: read it, or
  // every later wait returns at once.
  if (_cfg.report_unreachable && (p[0].revents & POLLERR) != 0) drain_errors();
}

}  // namespace sluice::transport
