// datapath/transport/sim_link.h — a deterministic lossy network for tests.
//
// sim_network joins any number of sim_ports. Each datagram sent is, by a
// seeded PRNG, dropped (loss), delivered twice (dup), delayed by
// delay + jitter, and sometimes held back further (reorder). A port may
// also be a slow receiver (set_receiver): a socket buffer of a fixed number
// of bytes, drained at a set rate or not at all, that drops what arrives
// when it is full (drop-tail: the kernel's RcvbufErrors). Time is a
// manual_clock the test advances, so a run is a pure function of its seed:
// a failure replays exactly. Test and benchmark code only; single-threaded.
#pragma once

#include <cstdint>
#include <memory>
#include <queue>
#include <vector>

#include "common/clock.h"
#include "common/rng.h"
#include "datapath/transport/datagram_port.h"

namespace sluice::transport {

struct sim_link_config {
  double loss = 0.0;     // probability a datagram is dropped
  double dup = 0.0;      // probability it is delivered twice
  double reorder = 0.0;  // probability it is held back by up to 4 × delay
  time_ns delay_ns = 50 * k_ns_per_us;
  time_ns jitter_ns = 10 * k_ns_per_us;
  std::uint64_t seed = 1;
};

struct sim_counters {
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t delivered = 0;
  std::uint64_t overrun = 0;  // dropped at a full receiver (part of `dropped`)
};

class sim_port;

class sim_network {
 public:
  sim_network(manual_clock& clk, const sim_link_config& cfg) : _clock(clk), _cfg(cfg), _rng(cfg.seed) {}
  // A port with address 127.0.0.1:`port` (anything unique will do).
  std::unique_ptr<sim_port> make_port(std::uint16_t port);
  // Earliest pending delivery time, or -1 when nothing is in flight.
  time_ns next_delivery_ns() const noexcept;
  const sim_counters& counters() const noexcept { return _ctr; }
  void set_loss(double loss) noexcept { _cfg.loss = loss; }
  // Extra loss for datagrams addressed to `to` only (one direction of a
  // link); 0 clears it.
  void set_loss_to(const net_addr& to, double loss) noexcept {
    _loss_to = to;
    _loss_to_p = loss;
  }
  // The port at `at` takes at most `per_second` datagrams a second from a
  // buffer of `buffer_bytes` (datagrams in flight to it count): a datagram
  // that does not fit is dropped. per_second 0 = the receiver stopped
  // (SIGSTOP); buffer_bytes 0 = no limit again. The port reports the buffer
  // as its receive_buffer_bytes().
  void set_receiver(const net_addr& at, std::uint64_t per_second, std::size_t buffer_bytes) noexcept;

 private:
  friend class sim_port;
  struct in_flight {
    time_ns at;
    std::uint64_t order;  // FIFO among equal times: determinism
    net_addr from;
    std::vector<std::byte> data;
    bool operator>(const in_flight& o) const noexcept {
      return at != o.at ? at > o.at : order > o.order;
    }
  };
  using inbox = std::priority_queue<in_flight, std::vector<in_flight>, std::greater<>>;
  void transmit(const net_addr& from, const tx_datagram& d);
  inbox* find_inbox(const net_addr& a) noexcept;
  struct receiver_limit {
    net_addr at{};
    std::uint64_t per_second = 0;
    std::size_t buffer = 0;  // bytes; 0 = no limit
    std::size_t queued = 0;  // bytes in flight to it or waiting in it
    double credit = 0.0;     // datagrams it may take now
    time_ns credit_ns = 0;   // when credit was last topped up
  };
  receiver_limit* find_limit(const net_addr& a) noexcept;
  // How many datagrams the port at `a` may take now (SIZE_MAX = any).
  std::size_t receive_allowance(const net_addr& a) noexcept;
  void received(const net_addr& a, std::span<const rx_datagram> got) noexcept;
  std::uint64_t buffer_of(const net_addr& a) const noexcept;

  manual_clock& _clock;
  sim_link_config _cfg;
  splitmix64 _rng;
  std::uint64_t _order = 0;
  std::vector<std::pair<net_addr, std::unique_ptr<inbox>>> _inboxes;
  sim_counters _ctr;
  net_addr _loss_to{};
  double _loss_to_p = 0.0;
  std::vector<receiver_limit> _limits;
};

class sim_port final : public datagram_port {
 public:
  sim_port(sim_network& net, const net_addr& addr, sim_network::inbox& in) : _net(net), _addr(addr), _in(in) {}
  std::size_t receive(std::span<rx_datagram> out) noexcept override;
  std::size_t send(std::span<const tx_datagram> in) noexcept override;
  void wait(time_ns) noexcept override {}
  net_addr local_addr() const noexcept override { return _addr; }
  std::uint64_t receive_buffer_bytes() const noexcept override { return _net.buffer_of(_addr); }

 private:
  sim_network& _net;
  net_addr _addr;
  sim_network::inbox& _in;
  std::vector<std::vector<std::byte>> _held;  // data of the last receive()
};

}  // namespace sluice::transport
