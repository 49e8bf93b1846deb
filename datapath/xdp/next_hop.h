// datapath/xdp/next_hop.h — where to send a datagram when the broker builds
// the Ethernet frame itself.
//
// The AF_XDP port asks the kernel, over rtnetlink, the same two questions
// its IP stack would: which route reaches the peer (interface, gateway), and
// which MAC the kernel's neighbour table holds for that next hop. ARP and
// neighbour discovery stay the kernel's job: when the route leaves through
// another interface, the destination is local, or the neighbour is not
// resolved yet, lookup() says "let the kernel send it" — the port then sends
// through its kernel UDP socket, which also makes the kernel resolve the
// neighbour for the next time.
//
// Answers are cached per peer address (positive for 1 s, negative for
// 20 ms), in a fixed direct-mapped table: a netlink round trip (a few
// microseconds) happens only on a miss. Owned by one thread (the shard's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net_addr.h"
#include "datapath/xdp/frame.h"

namespace sluice::xdp {

struct next_hop_counters {
  std::uint64_t queries = 0;        // netlink round trips
  std::uint64_t via_kernel = 0;     // lookups answered "send through the kernel"
  std::uint64_t errors = 0;         // netlink failures
};

class next_hop_table {
 public:
  // Opens the netlink socket; `ifindex` is the interface the port owns.
  static std::unique_ptr<next_hop_table> open(int ifindex, std::string& err);
  ~next_hop_table();
  next_hop_table(const next_hop_table&) = delete;
  next_hop_table& operator=(const next_hop_table&) = delete;

  // The MAC of the next hop toward `dst` through our interface, or nullptr
  // when the kernel must send it. The pointer is valid until the next call.
  const mac_addr* lookup(const net_addr& dst, time_ns now) noexcept;

  const next_hop_counters& counters() const noexcept { return _ctr; }

 private:
  struct entry {
    net_addr addr;  // port ignored (0)
    time_ns expires_ns = 0;
    bool direct = false;
    mac_addr mac{};
  };
  next_hop_table(int fd, int ifindex);
  // One netlink request/reply; false on error or no answer.
  bool resolve(const net_addr& dst, entry& e) noexcept;
  bool request(const void* req, std::size_t len, int expect_type, std::vector<std::byte>& reply) noexcept;

  int _fd;
  int _ifindex;
  std::uint32_t _seq = 1;
  std::vector<entry> _cache;
  std::vector<std::byte> _buf;
  next_hop_counters _ctr;
};

}  // namespace sluice::xdp
