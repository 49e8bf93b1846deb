/* bpf/sluice_xdp.h — what the XDP program (sluice_xdp.bpf.c) and user space
 * agree on: map names and sizes, the counter indices, the read-only config
 * layout, and the few wire-protocol constants the program checks.
 *
 * Plain C, included by the BPF program (clang -target bpf) and by C++ user
 * space; it uses only <linux/types.h> because glibc's <stdint.h> does not
 * build for the BPF target without gcc-multilib. Every layout is pinned by a
 * static assertion here, and xdp_prog_test.cc asserts that the wire constants
 * match datapath/wire/{constants,layouts}.h, so a protocol change that forgets
 * the program fails to compile.
 *
 * Ownership: the loader (the broker's service thread) sets the config before
 * the program is loaded and may read the counters at any time; the program
 * itself only increments its CPU's slot of the counter map.
 */
#pragma once

#include <linux/types.h>

#ifdef __cplusplus
#define SLUICE_XDP_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define SLUICE_XDP_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ---- maps -------------------------------------------------------------------
 * Names as bpftool and libbpf see them (bpf_object__find_map_by_name,
 * `bpftool map dump name sluice_xdp_ctr`); the kernel keeps 15 characters. */
#define SLUICE_XDP_MAP_XSKS "xsks_map"
#define SLUICE_XDP_MAP_COUNTERS "sluice_xdp_ctr"
#define SLUICE_XDP_PROG_NAME "sluice_steer"

/* XSKMAP slots, keyed by the receiving NIC queue (xdp_md.rx_queue_index). A
 * datagram that arrives on a queue >= this, or whose slot holds no socket,
 * passes to the kernel. The loader may raise it before load with
 * bpf_map__set_max_entries(). */
#define SLUICE_XDP_QUEUES_MAX 256

/* ---- counters ---------------------------------------------------------------
 * One __u64 per CPU per index in the BPF_MAP_TYPE_PERCPU_ARRAY
 * SLUICE_XDP_MAP_COUNTERS; a reader sums over libbpf_num_possible_cpus().
 * Every frame the program sees raises exactly one counter. Indices are part
 * of the user-space contract: append, never renumber. */
enum sluice_xdp_counter {
  /* Broker datagram handed to the AF_XDP socket of its queue
   * (bpf_redirect_map returned XDP_REDIRECT). Delivery can still fail after
   * the program returns (socket bound to another queue, RX ring full); that
   * shows only in the socket's and the driver's statistics. */
  SLUICE_XDP_REDIRECTED = 0,
  /* Valid broker datagram, but no socket in its queue's XSKMAP slot: passed
   * to the kernel (XDP_PASS), where a kernel UDP socket may take it. */
  SLUICE_XDP_PASSED_NO_SOCKET = 1,
  /* Not IPv4/IPv6: ARP, LLDP, a second VLAN tag, ... → XDP_PASS. */
  SLUICE_XDP_PASSED_NOT_IP = 2,
  /* IPv4/IPv6 that is not UDP (TCP, ICMP, an IPv6 extension header) → XDP_PASS. */
  SLUICE_XDP_PASSED_NOT_UDP = 3,
  /* IPv4 fragment (MF set or non-zero offset): the kernel reassembles → XDP_PASS. */
  SLUICE_XDP_PASSED_FRAGMENT = 4,
  /* UDP to a port outside [port_lo, port_hi] → XDP_PASS. */
  SLUICE_XDP_PASSED_OTHER_PORT = 5,
  /* The frame ends inside the Ethernet, VLAN, IP or UDP header, or the IP
   * header is invalid (version field, IHL < 5): we cannot tell whether it is
   * ours, so the kernel's stack judges (and drops) it → XDP_PASS. */
  SLUICE_XDP_PASSED_MALFORMED = 6,
  /* Broker port: the frame holds fewer bytes than the UDP length says, or the
   * UDP payload is shorter than the 24-byte packet header → XDP_DROP. */
  SLUICE_XDP_DROPPED_TRUNCATED = 7,
  /* Broker port: packet header magic is not config.magic → XDP_DROP. */
  SLUICE_XDP_DROPPED_BAD_MAGIC = 8,
  /* Broker port: packet header version is not config.version → XDP_DROP. */
  SLUICE_XDP_DROPPED_BAD_VERSION = 9,
  /* Broker port: UDP length < 8, UDP length != the IP header's payload
   * length, or header payload_sz + 24 != UDP length - 8 → XDP_DROP. */
  SLUICE_XDP_DROPPED_BAD_LENGTH = 10,
  SLUICE_XDP_COUNTER_CNT = 11
};

/* ---- config -----------------------------------------------------------------
 * Lives in the program's .rodata as `const volatile struct sluice_xdp_config
 * sluice_cfg`; set it through the skeleton (skel->rodata->sluice_cfg) between
 * open and load. The kernel freezes .rodata at load, so the verifier treats
 * the fields as constants. Ports are in host byte order; magic and version
 * are compared with the little-endian wire values. The program's default
 * (port_lo > port_hi, an empty range) steers nothing. */
struct sluice_xdp_config {
  __u16 port_lo;   /* first broker UDP port (inclusive) */
  __u16 port_hi;   /* last broker UDP port (inclusive) */
  __u32 magic;     /* packet header magic, SLUICE_XDP_WIRE_MAGIC */
  __u8 version;    /* packet header version, SLUICE_XDP_WIRE_VERSION */
  __u8 reserved[3];
};
SLUICE_XDP_STATIC_ASSERT(sizeof(struct sluice_xdp_config) == 12, "config layout is ABI");

/* ---- wire protocol v1, as far as the program looks ----------------------------
 * Mirrors the start of sluice::wire::packet_header (datapath/wire/layouts.h),
 * little-endian; xdp_prog_test.cc asserts sizes and offsets match. */
#define SLUICE_XDP_WIRE_MAGIC 0x45434C53u /* bytes 'S' 'L' 'C' 'E' */
#define SLUICE_XDP_WIRE_VERSION 1
#define SLUICE_XDP_WIRE_HEADER_SZ 24

struct sluice_xdp_wire_header {
  __u32 magic;
  __u8 version;
  __u8 kind;
  __u16 flags;
  __u64 session_id;
  __u32 ack_seq;
  __u16 payload_sz; /* bytes after this header */
  __u16 frame_cnt;
};
SLUICE_XDP_STATIC_ASSERT(sizeof(struct sluice_xdp_wire_header) == SLUICE_XDP_WIRE_HEADER_SZ,
                         "packet header is 24 bytes");

#if !defined(__bpf__)
/* Stable short name of a counter for logs and stats ("redirected", ...), or
 * "unknown" for an index >= SLUICE_XDP_COUNTER_CNT. Any thread. */
static inline const char *sluice_xdp_counter_name(unsigned idx) {
  switch (idx) {
    case SLUICE_XDP_REDIRECTED: return "redirected";
    case SLUICE_XDP_PASSED_NO_SOCKET: return "passed_no_socket";
    case SLUICE_XDP_PASSED_NOT_IP: return "passed_not_ip";
    case SLUICE_XDP_PASSED_NOT_UDP: return "passed_not_udp";
    case SLUICE_XDP_PASSED_FRAGMENT: return "passed_fragment";
    case SLUICE_XDP_PASSED_OTHER_PORT: return "passed_other_port";
    case SLUICE_XDP_PASSED_MALFORMED: return "passed_malformed";
    case SLUICE_XDP_DROPPED_TRUNCATED: return "dropped_truncated";
    case SLUICE_XDP_DROPPED_BAD_MAGIC: return "dropped_bad_magic";
    case SLUICE_XDP_DROPPED_BAD_VERSION: return "dropped_bad_version";
    case SLUICE_XDP_DROPPED_BAD_LENGTH: return "dropped_bad_length";
    default: return "unknown";
  }
}
#endif
