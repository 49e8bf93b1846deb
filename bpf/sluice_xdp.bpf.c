// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bpf/sluice_xdp.bpf.c — the XDP program that steers broker datagrams into
 * AF_XDP sockets and leaves everything else to the kernel.
 *
 *   frame ─► Ethernet [+ one 802.1Q / 802.1ad tag]
 *              ├─ not IPv4/IPv6 ─────────────────────────────► PASS  (ARP, ...)
 *              └─ IPv4 (IHL, no fragments) | IPv6 (no ext hdr)
 *                   ├─ not UDP / fragment ───────────────────► PASS
 *                   └─ UDP
 *                        ├─ dst port ∉ [port_lo, port_hi] ───► PASS
 *                        └─ broker port: lengths, magic, version
 *                             ├─ any check fails ────────────► DROP (by reason)
 *                             └─ XSKMAP[rx_queue_index]
 *                                  ├─ socket bound ──────────► REDIRECT
 *                                  └─ empty slot ────────────► PASS
 *
 * A frame cut short before the UDP destination port is known is not provably
 * ours, so it passes and the kernel stack drops it. Checksums (IPv4 header,
 * UDP) are not verified here: the kernel does it for what passes; the
 * AF_XDP port must do it for what it receives. Every outcome raises exactly
 * one per-CPU counter (bpf/sluice_xdp.h). Configuration is read-only data set
 * by the loader before load.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/sluice_xdp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader between open and load; the default steers nothing. */
const volatile struct sluice_xdp_config sluice_cfg = {
    .port_lo = 1,
    .port_hi = 0,
    .magic = SLUICE_XDP_WIRE_MAGIC,
    .version = SLUICE_XDP_WIRE_VERSION,
};

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, SLUICE_XDP_QUEUES_MAX);
  __type(key, __u32);
  __type(value, __u32);
} xsks_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SLUICE_XDP_COUNTER_CNT);
  __type(key, __u32);
  __type(value, __u64);
} sluice_xdp_ctr SEC(".maps");

/* 802.1Q / 802.1ad tag after the MAC addresses (linux/if_vlan.h is kernel-only). */
struct vlan_tag {
  __be16 tci;
  __be16 inner_proto;
};

#define IPV4_MF 0x2000
#define IPV4_OFFSET 0x1fff

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define wire_le32(x) (x)
#define wire_le16(x) (x)
#else
#define wire_le32(x) __builtin_bswap32(x)
#define wire_le16(x) __builtin_bswap16(x)
#endif

/* Raises this CPU's counter `idx` and returns `verdict`. Per-CPU slots are
 * only touched by their own CPU with preemption off, so a plain add is exact. */
static __always_inline int count(__u32 idx, int verdict) {
  __u64 *v = bpf_map_lookup_elem(&sluice_xdp_ctr, &idx);
  if (v) *v += 1;
  return verdict;
}

SEC("xdp")
int sluice_steer(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;

  /* ---- L2: Ethernet, at most one VLAN tag ---- */
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return count(SLUICE_XDP_PASSED_MALFORMED, XDP_PASS);
  __be16 proto = eth->h_proto;
  void *l3 = eth + 1;
  if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
    struct vlan_tag *tag = l3;
    if ((void *)(tag + 1) > data_end) return count(SLUICE_XDP_PASSED_MALFORMED, XDP_PASS);
    proto = tag->inner_proto;
    l3 = tag + 1;
  }

  /* ---- L3: find the UDP header and the length the IP header gives it ---- */
  struct udphdr *udp;
  __u32 l4_len; /* bytes after the IP header(s), per the IP header */
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end) return count(SLUICE_XDP_PASSED_MALFORMED, XDP_PASS);
    if (ip->version != 4 || ip->ihl < 5) return count(SLUICE_XDP_PASSED_MALFORMED, XDP_PASS);
    if (ip->protocol != IPPROTO_UDP) return count(SLUICE_XDP_PASSED_NOT_UDP, XDP_PASS);
    if (ip->frag_off & bpf_htons(IPV4_MF | IPV4_OFFSET))
      return count(SLUICE_XDP_PASSED_FRAGMENT, XDP_PASS);
    __u32 ihl_sz = (__u32)ip->ihl * 4; /* 20..60: the verifier knows the bound */
    udp = (void *)ip + ihl_sz;
    if ((void *)(udp + 1) > data_end) return count(SLUICE_XDP_PASSED_MALFORMED, XDP_PASS);
    __u32 tot_len = bpf_ntohs(ip->tot_len);
    /* A total length below the header size makes l4_len 0: a bad length below. */
    l4_len = tot_len > ihl_sz ? tot_len - ihl_sz : 0;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = l3;
    if ((void *)(ip6 + 1) > data_end) return count(SLUICE_XDP_PASSED_MALFORMED, XDP_PASS);
    if (ip6->version != 6) return count(SLUICE_XDP_PASSED_MALFORMED, XDP_PASS);
    /* Extension headers (hop-by-hop, fragment, ...) are never on broker
     * traffic; the kernel handles whatever carries them. */
    if (ip6->nexthdr != IPPROTO_UDP) return count(SLUICE_XDP_PASSED_NOT_UDP, XDP_PASS);
    udp = (void *)(ip6 + 1);
    if ((void *)(udp + 1) > data_end) return count(SLUICE_XDP_PASSED_MALFORMED, XDP_PASS);
    l4_len = bpf_ntohs(ip6->payload_len);
  } else {
    return count(SLUICE_XDP_PASSED_NOT_IP, XDP_PASS);
  }

  /* ---- L4: is it ours? ---- */
  __u16 dport = bpf_ntohs(udp->dest);
  if (dport < sluice_cfg.port_lo || dport > sluice_cfg.port_hi)
    return count(SLUICE_XDP_PASSED_OTHER_PORT, XDP_PASS);

  /* From here on the datagram is addressed to the broker: anything wrong with
   * it is dropped, not passed, so no kernel socket ever sees bad broker input. */
  __u32 udp_len = bpf_ntohs(udp->len);
  if (udp_len < sizeof(*udp) || udp_len != l4_len)
    return count(SLUICE_XDP_DROPPED_BAD_LENGTH, XDP_DROP);
  /* Bytes past the UDP length (Ethernet padding, trailers) are allowed. */
  if ((void *)udp + udp_len > data_end) return count(SLUICE_XDP_DROPPED_TRUNCATED, XDP_DROP);
  __u32 payload_len = udp_len - (__u32)sizeof(*udp);
  if (payload_len < SLUICE_XDP_WIRE_HEADER_SZ)
    return count(SLUICE_XDP_DROPPED_TRUNCATED, XDP_DROP);
  struct sluice_xdp_wire_header *hdr = (void *)(udp + 1);
  if ((void *)(hdr + 1) > data_end) /* implied by the checks above; the verifier needs it */
    return count(SLUICE_XDP_DROPPED_TRUNCATED, XDP_DROP);

  if (wire_le32(hdr->magic) != sluice_cfg.magic)
    return count(SLUICE_XDP_DROPPED_BAD_MAGIC, XDP_DROP);
  if (hdr->version != sluice_cfg.version)
    return count(SLUICE_XDP_DROPPED_BAD_VERSION, XDP_DROP);
  if ((__u32)wire_le16(hdr->payload_sz) + SLUICE_XDP_WIRE_HEADER_SZ != payload_len)
    return count(SLUICE_XDP_DROPPED_BAD_LENGTH, XDP_DROP);

  /* The helper returns XDP_REDIRECT if the slot holds a socket and the
   * fallback action (XDP_PASS) if it is empty, so the outcome is known here. */
  int verdict = (int)bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
  return count(verdict == XDP_REDIRECT ? SLUICE_XDP_REDIRECTED : SLUICE_XDP_PASSED_NO_SOCKET,
               verdict);
}
