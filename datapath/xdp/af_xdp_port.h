// datapath/xdp/af_xdp_port.h — the AF_XDP datagram port.
//
// The kernel-bypass implementation of transport::datagram_port: one AF_XDP
// socket bound to one NIC queue, with its own UMEM, owned by one shard.
//
//   UMEM (frame_cnt × 2 KiB, on the shard's NUMA node, hugepages if any)
//     RX half:  fill ring → kernel → RX ring → receive() → held until the
//               next receive() (the spans it returned point into them) → fill
//     TX half:  free list → send() builds Eth/IP/UDP + checksums → TX ring →
//               kernel → completion ring → free list
//
// The XDP program (bpf/) redirects datagrams for the broker's port range that
// arrive on this queue. receive() validates them as the kernel would (IPv4
// header and UDP checksums, lengths, our destination address); a datagram for
// another shard's port goes to that shard over the shard mesh; datagrams
// forwarded to us by other shards come back out of receive() too.
//
// Beside the socket the port keeps a kernel UDP socket bound to the same
// address and port, the path for everything the XDP program passes to the
// kernel (no AF_XDP socket on the arriving queue) and for clients on this
// host (loopback never crosses XDP). send() builds frames itself for peers
// the next-hop table resolves through the port's interface and hands the
// rest to the kernel socket, which also makes the kernel resolve neighbours.
//
// Bind order: zero-copy if asked and possible, else copy mode; SKB (generic)
// mode is chosen by the program's attach (xdp_steering) and forces copy. The
// mode obtained is read back (XDP_OPTIONS) and reported. Shard thread only
// after open().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datapath/transport/datagram_port.h"
#include "datapath/transport/udp_port.h"
#include "datapath/xdp/frame.h"
#include "datapath/xdp/next_hop.h"
#include "datapath/xdp/shard_mesh.h"

struct xsk_umem;
struct xsk_socket;

namespace sluice::xdp {

struct af_xdp_port_config {
  std::string ifname;
  std::uint32_t queue_id = 0;
  net_addr local;                   // our address and this shard's port
  std::uint16_t base_port = 0;      // shard i owns base_port + i (forwarding)
  std::size_t max_datagram_sz = 1472;
  std::uint32_t ring_sz = 2048;     // RX, TX, fill and completion rings
  std::uint32_t frame_cnt = 8192;   // UMEM chunks: half RX, half TX
  bool zero_copy = true;            // try XDP_ZEROCOPY first
  bool skb_mode = false;            // the program is attached in SKB mode: copy only
  bool busy_poll = false;
  std::uint32_t busy_poll_budget = 64;
  bool hugepages = true;
  int numa_node = -1;
  int xsks_map_fd = -1;             // the XSKMAP the socket registers in
  time_ns busy_wait_ns = 5 * k_ns_per_s;  // how long open() waits for a queue another socket still holds
};

struct af_xdp_port_counters {
  std::uint64_t rx_xsk = 0;            // valid datagrams received on the AF_XDP socket (incl. forwarded out)
  std::uint64_t rx_kernel = 0;         // through the kernel UDP socket
  std::uint64_t rx_bad = 0;            // failed validation (checksum, lengths), dropped
  std::uint64_t rx_not_ours = 0;       // other destination address or port, dropped
  std::uint64_t forwarded_out = 0;     // sent to the shard that owns the port
  std::uint64_t forwarded_in = 0;      // received from another shard
  std::uint64_t forward_dropped = 0;   // mesh ring full
  std::uint64_t tx_xsk = 0;            // frames built and queued on the TX ring
  std::uint64_t tx_kernel = 0;         // handed to the kernel UDP socket
  std::uint64_t tx_dropped = 0;        // no free frame or TX ring full
  std::uint64_t tx_kicks = 0;          // sendto() wake-ups
  std::uint64_t tx_kick_errors = 0;    // fatal kick errors (ENXIO, EINVAL, ...)
};

enum class bind_mode : std::uint8_t { zero_copy, copy, skb };
const char* to_string(bind_mode m) noexcept;

class af_xdp_port final : public transport::datagram_port {
 public:
  // Sets up UMEM, socket, XSKMAP slot and the kernel fallback socket. On
  // failure returns nullptr with `err` saying what and why.
  static std::unique_ptr<af_xdp_port> open(const af_xdp_port_config& cfg, shard_mesh* mesh, std::uint32_t shard,
                                           std::string& err);
  ~af_xdp_port() override;

  std::size_t receive(std::span<transport::rx_datagram> out) noexcept override;
  std::size_t send(std::span<const transport::tx_datagram> in) noexcept override;
  void wait(time_ns timeout) noexcept override;
  net_addr local_addr() const noexcept override { return _cfg.local; }

  bind_mode mode() const noexcept { return _mode; }
  bool hugepages() const noexcept { return _huge; }
  const af_xdp_port_counters& counters() const noexcept { return _ctr; }
  const next_hop_counters& next_hop() const noexcept { return _hops->counters(); }
  // Human summary of how the port came up ("queue 0, copy mode, ...").
  const std::string& description() const noexcept { return _desc; }

 private:
  struct rings;  // the four libxdp rings, kept out of this header
  af_xdp_port(const af_xdp_port_config& cfg, shard_mesh* mesh, std::uint32_t shard);
  bool setup(std::string& err);
  void refill() noexcept;
  void reap_completions() noexcept;
  void kick_tx() noexcept;
  std::size_t receive_xsk(std::span<transport::rx_datagram> out) noexcept;

  af_xdp_port_config _cfg;
  std::unique_ptr<rings> _r;
  std::unique_ptr<transport::udp_port> _kernel;
  std::unique_ptr<next_hop_table> _hops;
  std::unique_ptr<shard_link> _link;
  void* _area = nullptr;
  std::size_t _area_sz = 0;
  bool _huge = false;
  xsk_umem* _umem = nullptr;
  xsk_socket* _xsk = nullptr;
  int _fd = -1;
  int _ifindex = 0;
  mac_addr _mac{};
  bind_mode _mode = bind_mode::copy;
  std::string _desc;
  std::vector<std::uint64_t> _rx_held;    // chunks whose data receive() handed out
  std::vector<std::uint64_t> _tx_free;    // TX chunks ready to fill
  std::uint32_t _tx_outstanding = 0;      // on the TX or completion ring
  std::vector<forwarded_datagram> _fwd_in;
  std::vector<std::uint8_t> _fwd_wake;    // per destination shard: wake after this burst
  std::vector<transport::tx_datagram> _via_kernel;
  std::uint16_t _ip_id = 0;
  monotonic_clock _clock;
  af_xdp_port_counters _ctr;
};

}  // namespace sluice::xdp
