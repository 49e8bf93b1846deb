// datapath/xdp/xdp_steering.h — loads the XDP program and attaches it.
//
// The broker's main thread builds one xdp_steering before the shards bind
// their AF_XDP sockets, and destroys it after they exit. It sets the
// program's read-only config (the broker's UDP port range, the wire magic and
// version), loads it, and attaches it to the interface:
//
//   attach = link (default): a bpf_link owned by this process, so the program
//     detaches by itself when the broker exits or is killed — no stale
//     program can black-hole traffic afterwards. A program already on the
//     interface is never replaced: the broker refuses, naming it.
//   attach = dispatcher: libxdp's multi-program dispatcher, so the program
//     runs beside others at `dispatcher_priority` (chain-calling the next on
//     XDP_PASS). Where the dispatcher cannot load (its freplace program is
//     refused on some kernels) or libxdp would fall back to a legacy netlink
//     attach (which outlives the process), the dispatcher attempt is undone
//     and the bpf_link is used, with the reason in the log.
//
//   xdp_mode = auto: native (driver) mode, else SKB (generic) mode with the
//     driver's refusal logged; native or skb force one.
//
// counters() sums the program's per-CPU counters (bpf/sluice_xdp.h), also
// readable with `bpftool map dump name sluice_xdp_ctr`. Main thread only,
// except counters() (any thread: a map lookup syscall).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpf/sluice_xdp.h"

namespace sluice::xdp {

enum class attach_kind : std::uint8_t { link, dispatcher };
enum class xdp_mode : std::uint8_t { auto_select, native, skb };

struct xdp_steering_config {
  std::string ifname;
  std::uint16_t port_lo = 0;
  std::uint16_t port_hi = 0;
  xdp_mode mode = xdp_mode::auto_select;
  attach_kind attach = attach_kind::link;
  unsigned dispatcher_priority = 50;
};

using xdp_counters = std::array<std::uint64_t, SLUICE_XDP_COUNTER_CNT>;

class xdp_steering {
 public:
  // Loads and attaches; on failure nullptr with `err`. Decisions worth an
  // operator's attention (fallbacks and their reasons) are appended to `log`.
  static std::unique_ptr<xdp_steering> attach(const xdp_steering_config& cfg, std::string& err,
                                              std::vector<std::string>& log);
  ~xdp_steering();
  xdp_steering(const xdp_steering&) = delete;
  xdp_steering& operator=(const xdp_steering&) = delete;

  int xsks_map_fd() const noexcept;
  bool skb_mode() const noexcept { return _skb; }
  int ifindex() const noexcept { return _ifindex; }
  // "native mode via bpf_link, program id 42" and the like.
  const std::string& description() const noexcept { return _desc; }
  xdp_counters counters() const noexcept;

 private:
  struct impl;
  explicit xdp_steering(std::unique_ptr<impl> p);
  std::unique_ptr<impl> _p;
  bool _skb = false;
  int _ifindex = 0;
  std::string _desc;
};

// Human description of the XDP program attached to `ifindex` ("" if none).
std::string attached_program(int ifindex);

}  // namespace sluice::xdp
