#include "datapath/xdp/xdp_steering.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstring>

#include "datapath/wire/constants.h"
#include "sluice_xdp.skel.h"

namespace sluice::xdp {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

const char* mode_name(std::uint8_t attach_mode) {
  switch (attach_mode) {
    case XDP_ATTACHED_DRV: return "native";
    case XDP_ATTACHED_SKB: return "SKB (generic)";
    case XDP_ATTACHED_HW: return "offloaded";
    case XDP_ATTACHED_MULTI: return "several";
    default: return "unknown";
  }
}

}  // namespace

struct xdp_steering::impl {
  sluice_xdp* skel = nullptr;
  int link_fd = -1;
  xdp_program* prog = nullptr;  // through libxdp's dispatcher
  xdp_attach_mode prog_mode = XDP_MODE_UNSPEC;
  int ifindex = 0;

  ~impl() {
    if (prog != nullptr) {
      xdp_program__detach(prog, ifindex, prog_mode, 0);
      xdp_program__close(prog);
    }
    if (link_fd >= 0) ::close(link_fd);
    if (skel != nullptr) sluice_xdp__destroy(skel);
  }

  bool open(const xdp_steering_config& cfg, std::string& err) {
    skel = sluice_xdp__open();
    if (skel == nullptr) {
      err = "cannot open the XDP program: " + errno_text(errno);
      return false;
    }
    skel->rodata->sluice_cfg.port_lo = cfg.port_lo;
    skel->rodata->sluice_cfg.port_hi = cfg.port_hi;
    skel->rodata->sluice_cfg.magic = wire::k_magic;
    skel->rodata->sluice_cfg.version = wire::k_version;
    return true;
  }
};

std::string attached_program(int ifindex) {
  bpf_xdp_query_opts q{};
  q.sz = sizeof q;
  if (bpf_xdp_query(ifindex, 0, &q) != 0 || q.attach_mode == XDP_ATTACHED_NONE) return "";
  const __u32 id = q.prog_id != 0 ? q.prog_id : (q.drv_prog_id != 0 ? q.drv_prog_id : q.skb_prog_id);
  std::string name = "?";
  const int fd = bpf_prog_get_fd_by_id(id);
  if (fd >= 0) {
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) name = info.name;
    ::close(fd);
  }
  return "program id " + std::to_string(id) + " \"" + name + "\" attached in " + mode_name(q.attach_mode) + " mode";
}

xdp_steering::xdp_steering(std::unique_ptr<impl> p) : _p(std::move(p)) {}
xdp_steering::~xdp_steering() = default;

int xdp_steering::xsks_map_fd() const noexcept { return bpf_map__fd(_p->skel->maps.xsks_map); }

std::unique_ptr<xdp_steering> xdp_steering::attach(const xdp_steering_config& cfg, std::string& err,
                                                   std::vector<std::string>& log) {
  const int ifindex = static_cast<int>(::if_nametoindex(cfg.ifname.c_str()));
  if (ifindex == 0) {
    err = "datapath.interface: no interface \"" + cfg.ifname + "\" on this host (see `ip link`)";
    return nullptr;
  }
  const std::vector<bool> skb_order = cfg.mode == xdp_mode::native ? std::vector<bool>{false}
                                      : cfg.mode == xdp_mode::skb  ? std::vector<bool>{true}
                                                                   : std::vector<bool>{false, true};
  const std::string there = "interface " + cfg.ifname;

  if (cfg.attach == attach_kind::dispatcher) {
    auto p = std::make_unique<impl>();
    p->ifindex = ifindex;
    if (!p->open(cfg, err)) return nullptr;
    p->prog = xdp_program__from_bpf_obj(p->skel->obj, nullptr);
    std::string reason;
    if (libxdp_get_error(p->prog) != 0) {
      reason = "libxdp cannot use the program: " + errno_text(static_cast<int>(-libxdp_get_error(p->prog)));
      p->prog = nullptr;
    } else {
      xdp_program__set_run_prio(p->prog, cfg.dispatcher_priority);
      xdp_program__set_chain_call_enabled(p->prog, XDP_PASS, true);
      for (const bool skb : skb_order) {
        p->prog_mode = skb ? XDP_MODE_SKB : XDP_MODE_NATIVE;
        const int rc = xdp_program__attach(p->prog, ifindex, p->prog_mode, 0);
        if (rc == 0) {
          reason.clear();
          break;
        }
        char buf[256];
        libxdp_strerror(rc, buf, sizeof buf);
        reason = std::string("libxdp attach failed: ") + buf;
      }
      if (reason.empty()) {
        xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
        const bool legacy = libxdp_get_error(mp) != 0 || xdp_multiprog__is_legacy(mp);
        if (libxdp_get_error(mp) == 0) xdp_multiprog__close(mp);
        if (!legacy) {
          auto s = std::unique_ptr<xdp_steering>(new xdp_steering(std::move(p)));
          s->_ifindex = ifindex;
          s->_skb = s->_p->prog_mode == XDP_MODE_SKB;
          s->_desc = std::string(s->_skb ? "SKB (generic)" : "native") + " mode through libxdp's dispatcher, priority " +
                     std::to_string(cfg.dispatcher_priority);
          return s;
        }
        reason = "libxdp could not load its dispatcher and attached the program alone through netlink, which "
                 "would outlive the broker";
      } else {
        xdp_program__close(p->prog);
        p->prog = nullptr;
      }
    }
    log.push_back("datapath.attach = \"dispatcher\": " + reason + "; using a bpf_link instead");
    p.reset();  // detaches whatever libxdp attached
  }

  if (const std::string other = attached_program(ifindex); !other.empty()) {
    err = there + " already has an XDP program (" + other + "); the broker does not replace it. Remove it (ip link set dev " +
          cfg.ifname + " xdp off)" +
          (cfg.attach == attach_kind::dispatcher
               ? std::string(", or attach that program through libxdp's dispatcher too so both can share the interface")
               : std::string(", or, to run beside it, set datapath.attach = \"dispatcher\" (needs libxdp's dispatcher)"));
    return nullptr;
  }
  auto p = std::make_unique<impl>();
  p->ifindex = ifindex;
  if (!p->open(cfg, err)) return nullptr;
  if (const int rc = sluice_xdp__load(p->skel); rc != 0) {
    err = "cannot load the XDP program: " + errno_text(-rc);
    if (rc == -EPERM) err += " (needs root, or CAP_BPF + CAP_NET_ADMIN)";
    return nullptr;
  }
  std::string refusal;
  for (const bool skb : skb_order) {
    bpf_link_create_opts o{};
    o.sz = sizeof o;
    o.flags = skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    const int fd = bpf_link_create(bpf_program__fd(p->skel->progs.sluice_steer), ifindex, BPF_XDP, &o);
    if (fd >= 0) {
      p->link_fd = fd;
      if (skb && cfg.mode == xdp_mode::auto_select) {
        log.push_back(there + ": native XDP refused (" + refusal + "); attached in SKB (generic) mode instead, "
                      "which copies every frame");
      }
      auto s = std::unique_ptr<xdp_steering>(new xdp_steering(std::move(p)));
      s->_ifindex = ifindex;
      s->_skb = skb;
      s->_desc = std::string(skb ? "SKB (generic)" : "native") + " mode via bpf_link";
      return s;
    }
    refusal = errno_text(errno);
    if (errno == EPERM) refusal += ": needs root, or CAP_BPF + CAP_NET_ADMIN";
    if (errno == EBUSY || errno == EEXIST) {
      err = there + ": another XDP program was attached meanwhile (" + attached_program(ifindex) + ")";
      return nullptr;
    }
  }
  err = there + ": cannot attach the XDP program in " +
        (cfg.mode == xdp_mode::native ? "native" : cfg.mode == xdp_mode::skb ? "SKB" : "native or SKB") +
        " mode: " + refusal;
  return nullptr;
}

xdp_counters xdp_steering::counters() const noexcept {
  xdp_counters out{};
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0 || cpus > 4096) return out;
  std::uint64_t vals[4096];
  for (__u32 k = 0; k < SLUICE_XDP_COUNTER_CNT; ++k) {
    if (bpf_map__lookup_elem(_p->skel->maps.sluice_xdp_ctr, &k, sizeof k, vals,
                             sizeof(std::uint64_t) * static_cast<std::size_t>(cpus), 0) != 0) {
      continue;
    }
    for (int c = 0; c < cpus; ++c) out[k] += vals[c];
  }
  return out;
}

}  // namespace sluice::xdp
