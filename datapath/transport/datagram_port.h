// datapath/transport/datagram_port.h — the narrow interface to the network.
//
// The session layer reaches the world only through a datagram_port: the
// kernel UDP port (udp_port.h), the AF_XDP port (later), or the simulated
// lossy link of the tests (sim_link.h). A port is owned and used by one
// thread (its shard or client thread).
#pragma once

#include <cstddef>
#include <span>

#include "common/clock.h"
#include "common/net_addr.h"

namespace sluice::transport {

struct rx_datagram {
  net_addr peer;
  std::span<const std::byte> data;
};

struct tx_datagram {
  net_addr peer;
  std::span<const std::byte> data;
};

class datagram_port {
 public:
  virtual ~datagram_port() = default;

  // Fills up to out.size() datagrams without blocking; returns how many. The
  // spans point into port-owned buffers that stay valid until the next call.
  virtual std::size_t receive(std::span<rx_datagram> out) noexcept = 0;

  // Queues the datagrams for transmission without blocking; returns how many
  // were accepted. The rest are dropped (counted by the port): UDP may drop
  // anyway, and the session layer retransmits. Data is copied before return.
  virtual std::size_t send(std::span<const tx_datagram> in) noexcept = 0;

  // Blocks until a datagram may be readable, the wake fd (if set) polls
  // readable, or `timeout` passes (adaptive idle). May return early. A port
  // that cannot block returns at once.
  virtual void wait(time_ns timeout) noexcept = 0;

  virtual net_addr local_addr() const noexcept = 0;

  // Frame bytes the port holds for the application before it drops what
  // arrives (its socket buffer, its RX ring); 0 = cannot say. The endpoint
  // shares it among the peers that send as their byte windows.
  virtual std::uint64_t receive_buffer_bytes() const noexcept { return 0; }
  // Addresses the network reported as not listening (an ICMP port
  // unreachable for a datagram sent there) since the last call, up to
  // out.size(); returns how many. Only ports asked to watch for them say
  // any (a client's: nothing listens at the broker's address).
  virtual std::size_t take_unreachable(std::span<net_addr> /*out*/) noexcept { return 0; }

  // One more descriptor whose readability ends wait(): the shard's journal
  // ring, so a disk completion wakes a sleeping shard. -1 clears it.
  void set_wake_fd(int fd) noexcept { _wake_fd = fd; }

 protected:
  int _wake_fd = -1;
};

}  // namespace sluice::transport
