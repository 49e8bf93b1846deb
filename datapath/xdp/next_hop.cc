#include "datapath/xdp/next_hop.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/siphash.h"

namespace sluice::xdp {

namespace {

constexpr std::size_t k_cache_slots = 512;  // power of two
constexpr time_ns k_positive_ns = 1 * k_ns_per_s;
constexpr time_ns k_negative_ns = 20 * k_ns_per_ms;
constexpr std::uint16_t k_reachable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;

std::size_t ip_size(const net_addr& a) noexcept { return a.family == AF_INET6 ? 16 : 4; }

void add_attr(nlmsghdr* h, std::uint16_t type, const void* data, std::size_t len) noexcept {
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(h) + NLMSG_ALIGN(h->nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(rta), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + static_cast<std::uint32_t>(RTA_ALIGN(rta->rta_len));
}

// Walks the attributes that follow a fixed header of `hdr_sz` bytes in `h`,
// calling f(type, data, len) for each (the rtnetlink TLV layout, without the
// C macros' casts).
template <class F>
void for_each_attr(const nlmsghdr* h, std::size_t hdr_sz, F&& f) {
  const auto* base = reinterpret_cast<const std::byte*>(h);
  std::size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(hdr_sz);
  while (off + sizeof(rtattr) <= h->nlmsg_len) {
    rtattr a;
    std::memcpy(&a, base + off, sizeof a);
    if (a.rta_len < sizeof(rtattr) || off + a.rta_len > h->nlmsg_len) return;
    f(a.rta_type, base + off + RTA_LENGTH(0), a.rta_len - RTA_LENGTH(0));
    off += RTA_ALIGN(a.rta_len);
  }
}

template <class T>
const T* payload_of(const nlmsghdr* h) {
  return reinterpret_cast<const T*>(reinterpret_cast<const std::byte*>(h) + NLMSG_HDRLEN);
}

}  // namespace

std::unique_ptr<next_hop_table> next_hop_table::open(int ifindex, std::string& err) {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    err = "netlink socket: " + std::string(std::strerror(errno));
    return nullptr;
  }
  // The kernel answers a get request synchronously; the timeout only guards
  // against a reply that never comes.
  timeval tv{0, 100'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    err = "netlink bind: " + std::string(std::strerror(errno));
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<next_hop_table>(new next_hop_table(fd, ifindex));
}

next_hop_table::next_hop_table(int fd, int ifindex)
    : _fd(fd), _ifindex(ifindex), _cache(k_cache_slots), _buf(16384) {}

next_hop_table::~next_hop_table() { ::close(_fd); }

const mac_addr* next_hop_table::lookup(const net_addr& dst, time_ns now) noexcept {
  net_addr key = dst;
  key.port = 0;
  const std::uint64_t h = siphash24({}, std::as_bytes(std::span(key.ip))) ^ key.family;
  entry& e = _cache[h & (k_cache_slots - 1)];
  if (!(e.addr == key) || now >= e.expires_ns) {
    e.addr = key;
    e.direct = resolve(key, e);
    e.expires_ns = now + (e.direct ? k_positive_ns : k_negative_ns);
  }
  if (!e.direct) {
    ++_ctr.via_kernel;
    return nullptr;
  }
  return &e.mac;
}

bool next_hop_table::request(const void* req, std::size_t len, int expect_type, std::vector<std::byte>& reply) noexcept {
  ++_ctr.queries;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(_fd, req, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    ++_ctr.errors;
    return false;
  }
  const std::uint32_t seq = static_cast<const nlmsghdr*>(req)->nlmsg_seq;
  for (int tries = 0; tries < 8; ++tries) {
    const ssize_t n = ::recv(_fd, reply.data(), reply.size(), 0);
    if (n < 0) {
      ++_ctr.errors;
      return false;
    }
    auto* h = reinterpret_cast<nlmsghdr*>(reply.data());
    auto left = static_cast<unsigned>(n);
    for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;  // a late reply to an earlier request
      if (h->nlmsg_type == NLMSG_ERROR) return false;  // no route / no neighbour (ENOENT) or refused
      if (h->nlmsg_type == expect_type) {
        std::memmove(reply.data(), h, h->nlmsg_len);
        return true;
      }
    }
  }
  return false;
}

bool next_hop_table::resolve(const net_addr& dst, entry& e) noexcept {
  const std::size_t isz = ip_size(dst);
  // 1. The route: which interface, and which gateway if any.
  struct {
    nlmsghdr h;
    rtmsg r;
    char attrs[64];
  } rq{};
  rq.h.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  rq.h.nlmsg_type = RTM_GETROUTE;
  rq.h.nlmsg_flags = NLM_F_REQUEST;
  rq.h.nlmsg_seq = ++_seq;
  rq.r.rtm_family = static_cast<unsigned char>(dst.family);
  rq.r.rtm_dst_len = static_cast<unsigned char>(isz * 8);
  add_attr(&rq.h, RTA_DST, dst.ip.data(), isz);
  if (!request(&rq, rq.h.nlmsg_len, RTM_NEWROUTE, _buf)) return false;
  const auto* rh = reinterpret_cast<const nlmsghdr*>(_buf.data());
  if (rh->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return false;
  if (payload_of<rtmsg>(rh)->rtm_type != RTN_UNICAST) return false;  // local, broadcast, unreachable: the kernel's
  int oif = -1;
  net_addr hop = dst;
  for_each_attr(rh, sizeof(rtmsg), [&](unsigned type, const std::byte* data, std::size_t len) {
    if (type == RTA_OIF && len >= 4) std::memcpy(&oif, data, 4);
    if (type == RTA_GATEWAY && len == isz) std::memcpy(hop.ip.data(), data, isz);
  });
  if (oif != _ifindex) return false;
  // 2. The neighbour entry for the next hop.
  struct {
    nlmsghdr h;
    ndmsg n;
    char attrs[64];
  } nq{};
  nq.h.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  nq.h.nlmsg_type = RTM_GETNEIGH;
  nq.h.nlmsg_flags = NLM_F_REQUEST;
  nq.h.nlmsg_seq = ++_seq;
  nq.n.ndm_family = static_cast<unsigned char>(dst.family);
  nq.n.ndm_ifindex = _ifindex;
  add_attr(&nq.h, NDA_DST, hop.ip.data(), isz);
  if (!request(&nq, nq.h.nlmsg_len, RTM_NEWNEIGH, _buf)) return false;
  const auto* nh = reinterpret_cast<const nlmsghdr*>(_buf.data());
  if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return false;
  if ((payload_of<ndmsg>(nh)->ndm_state & k_reachable) == 0) return false;
  bool found = false;
  for_each_attr(nh, sizeof(ndmsg), [&](unsigned type, const std::byte* data, std::size_t len) {
    if (type == NDA_LLADDR && len == 6) {
      std::memcpy(e.mac.data(), data, 6);
      found = true;
    }
  });
  return found;
}

}  // namespace sluice::xdp
