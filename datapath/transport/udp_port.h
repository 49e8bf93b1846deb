// datapath/transport/udp_port.h — the kernel UDP datagram port.
//
// The portable fallback to AF_XDP: one non-blocking UDP socket, bursts in
// with recvmmsg(2) and out with sendmmsg(2), so one system call moves up to
// a burst of datagrams each way. Receive buffers are allocated once. A
// datagram longer than max_datagram_sz is truncated by the kernel; it is
// dropped and counted. Owned by one thread.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datapath/transport/datagram_port.h"
#include "datapath/wire/constants.h"

struct mmsghdr;

namespace sluice::transport {

struct udp_port_config {
  net_addr bind;                       // port 0 picks a free port
  std::size_t max_datagram_sz = wire::k_datagram_sz_default;  // receive buffer per datagram
  std::uint32_t burst = 64;            // datagrams per recvmmsg / sendmmsg
  int socket_buffer_bytes = 4 << 20;   // SO_RCVBUF / SO_SNDBUF
  // Ask the kernel for the ICMP errors our datagrams draw (IP_RECVERR) and
  // report port-unreachable ones through take_unreachable(). A client sets
  // it: on loopback and most LANs "nothing listens there" is known at once.
  bool report_unreachable = false;
};

struct udp_port_counters {
  std::uint64_t rx_datagrams = 0;
  std::uint64_t rx_truncated = 0;   // over max_datagram_sz, dropped
  std::uint64_t tx_datagrams = 0;
  std::uint64_t tx_dropped = 0;     // socket buffer full or send error
  std::uint64_t rx_syscalls = 0;
  std::uint64_t tx_syscalls = 0;
  std::uint64_t unreachable = 0;    // ICMP port unreachable reports (report_unreachable)
};

class udp_port final : public datagram_port {
 public:
  // Opens and binds the socket. On failure returns nullptr and sets `err`
  // to a sentence naming the address and the system error.
  static std::unique_ptr<udp_port> open(const udp_port_config& cfg, std::string& err);
  // The largest datagram the route to `to` carries unfragmented: the MTU
  // the kernel knows for it (IP_MTU on a connected socket: the interface's,
  // or a smaller one path MTU discovery learnt) less the IP and UDP
  // headers. Loopback: 65,507 (its MTU is 65,536). 0 when unknown (no route).
  static std::size_t path_datagram_sz(const net_addr& to) noexcept;
  ~udp_port() override;

  std::size_t receive(std::span<rx_datagram> out) noexcept override;
  std::size_t send(std::span<const tx_datagram> in) noexcept override;
  void wait(time_ns timeout) noexcept override;
  net_addr local_addr() const noexcept override { return _local; }
  std::uint64_t receive_buffer_bytes() const noexcept override { return _rcvbuf_payload; }
  std::size_t take_unreachable(std::span<net_addr> out) noexcept override;

  int fd() const noexcept { return _fd; }
  const udp_port_counters& counters() const noexcept { return _ctr; }

 private:
  udp_port(int fd, const udp_port_config& cfg, const net_addr& local);

  int _fd;
  udp_port_config _cfg;
  net_addr _local;
  std::unique_ptr<std::byte[]> _rx_buf;
  std::vector<::mmsghdr> _rx_msgs;
  std::vector<::iovec> _rx_iov;
  std::vector<::sockaddr_storage> _rx_addr;
  std::vector<::mmsghdr> _tx_msgs;
  std::vector<::iovec> _tx_iov;
  std::vector<::sockaddr_storage> _tx_addr;
  // Reads the socket's error queue: port-unreachable reports go to
  // _unreachable (at most k_unreachable_max kept), the rest are dropped.
  void drain_errors() noexcept;
  static constexpr std::size_t k_unreachable_max = 8;

  udp_port_counters _ctr;
  std::uint64_t _rcvbuf_payload = 0;  // see open()
  std::array<net_addr, k_unreachable_max> _unreachable{};
  std::size_t _unreachable_cnt = 0;
  bool _errors_pending = false;  // a send may have met an ICMP error it could not report
};

}  // namespace sluice::transport
