// bpf/xdp_test_frames.h — hand-built Ethernet frames for the XDP program's
// tests: a Sluice datagram over IPv4 or IPv6, optionally VLAN-tagged, with
// knobs that break one field at a time, plus ARP. Test-only; single thread.
//
// Frames are built field by field in network byte order (the packet header
// in little-endian, as on the wire) rather than from kernel structs, so a
// test states exactly which byte is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <vector>

#include "datapath/wire/constants.h"
#include "datapath/wire/layouts.h"

namespace sluice::bpf::testing {

using frame = std::vector<std::uint8_t>;

inline constexpr std::uint16_t k_ethertype_ipv4 = 0x0800;
inline constexpr std::uint16_t k_ethertype_ipv6 = 0x86DD;
inline constexpr std::uint16_t k_ethertype_arp = 0x0806;
inline constexpr std::uint16_t k_tpid_8021q = 0x8100;
inline constexpr std::uint16_t k_tpid_8021ad = 0x88A8;
inline constexpr std::uint8_t k_proto_tcp = 6;
inline constexpr std::uint8_t k_proto_udp = 17;
inline constexpr std::uint8_t k_proto_ipv6_hop_by_hop = 0;
inline constexpr std::size_t k_eth_sz = 14;
inline constexpr std::size_t k_vlan_sz = 4;
inline constexpr std::size_t k_ipv4_sz = 20;
inline constexpr std::size_t k_ipv6_sz = 40;
inline constexpr std::size_t k_udp_sz = 8;

// One datagram; the defaults make a valid broker datagram to `dst_port`.
struct frame_spec {
  int ip_version = 4;
  std::uint16_t vlan_tpid = 0;          // 0: untagged
  bool second_vlan_tag = false;         // QinQ: a 802.1Q tag inside the first
  std::uint8_t l4_proto = k_proto_udp;  // k_proto_tcp builds a 20-byte TCP header
  bool ipv6_hop_by_hop = false;         // an 8-byte extension header before UDP
  std::uint16_t dst_port = 0;
  std::uint32_t magic = wire::k_magic;
  std::uint8_t version = wire::k_version;
  std::size_t body_sz = 40;             // bytes after the 24-byte packet header
  std::optional<std::size_t> udp_payload_sz;  // cut the UDP payload to this many bytes
  int payload_sz_delta = 0;             // added to the header's payload_sz field
  int udp_len_delta = 0;                // added to the UDP length field
  int ip_len_delta = 0;                 // added to IPv4 total / IPv6 payload length
  std::uint8_t ipv4_ihl = 5;            // > 5 adds NOP options
  std::uint8_t ip_version_field = 0;    // 0: same as ip_version
  std::uint16_t ipv4_frag = 0;          // flags + fragment offset, host order
  std::size_t trailer_sz = 0;           // bytes after the IP packet (padding)
};

namespace detail {

inline void put8(frame& f, std::size_t v) { f.push_back(static_cast<std::uint8_t>(v)); }
inline void put16(frame& f, std::size_t v) {
  put8(f, (v >> 8) & 0xFF);
  put8(f, v & 0xFF);
}
inline void put_bytes(frame& f, std::initializer_list<std::uint8_t> bytes) {
  f.insert(f.end(), bytes);
}
inline void set16(frame& f, std::size_t at, std::size_t v) {
  f[at] = static_cast<std::uint8_t>((v >> 8) & 0xFF);
  f[at + 1] = static_cast<std::uint8_t>(v & 0xFF);
}
inline std::size_t with_delta(std::size_t v, int d) {
  return static_cast<std::size_t>(static_cast<long>(v) + d) & 0xFFFF;
}
// Ones' complement sum of big-endian 16-bit words (RFC 1071), not folded.
inline std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) {
    acc += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  }
  if (n % 2 == 1) acc += static_cast<std::uint32_t>(p[n - 1] << 8);
  return acc;
}
inline std::uint16_t fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc & 0xFFFF);
}
inline void put_macs(frame& f) {
  put_bytes(f, {0x02, 0x00, 0x00, 0x00, 0x00, 0x02});  // dst
  put_bytes(f, {0x02, 0x00, 0x00, 0x00, 0x00, 0x01});  // src
}

}  // namespace detail

// The frame `s` describes. Addresses come from the benchmarking ranges
// (198.18.0.0/15, 2001:2::/48); checksums are correct unless a length knob
// makes them meaningless.
inline frame build_frame(const frame_spec& s) {
  using namespace detail;
  // L4 payload: packet header + body, optionally cut.
  frame payload(wire::k_packet_header_sz + s.body_sz, 0xAB);
  wire::packet_header h{};
  h.magic = s.magic;
  h.version = s.version;
  h.kind = static_cast<std::uint8_t>(wire::packet_kind::data);
  h.session_id = 0x0102030405060708;
  h.payload_sz = static_cast<std::uint16_t>(with_delta(s.body_sz, s.payload_sz_delta));
  std::memcpy(payload.data(), &h, sizeof h);
  if (s.udp_payload_sz) payload.resize(*s.udp_payload_sz);

  frame l4;
  if (s.l4_proto == k_proto_tcp) {
    put16(l4, 40000);
    put16(l4, s.dst_port);
    for (int i = 0; i < 8; ++i) put8(l4, 0);  // seq, ack
    put8(l4, 5 << 4);                          // data offset
    put8(l4, 0x02);                            // SYN
    put16(l4, 65535);                          // window
    put16(l4, 0);                              // checksum (not checked by anyone here)
    put16(l4, 0);                              // urgent
  } else {
    put16(l4, 40000);
    put16(l4, s.dst_port);
    put16(l4, with_delta(k_udp_sz + payload.size(), s.udp_len_delta));
    put16(l4, 0);  // checksum, filled below
  }
  l4.insert(l4.end(), payload.begin(), payload.end());

  frame f;
  put_macs(f);
  if (s.vlan_tpid != 0) {
    put16(f, s.vlan_tpid);
    put16(f, 42);  // VID 42
    if (s.second_vlan_tag) {
      put16(f, k_tpid_8021q);
      put16(f, 7);
    }
  }
  const std::size_t l3_at = f.size() + 2;
  if (s.ip_version == 4) {
    put16(f, k_ethertype_ipv4);
    const std::size_t hdr_sz = std::size_t{s.ipv4_ihl} * 4;
    const std::uint8_t ver = s.ip_version_field != 0 ? s.ip_version_field : 4;
    put8(f, static_cast<std::size_t>(ver << 4 | (s.ipv4_ihl & 0x0F)));
    put8(f, 0);                                                  // DSCP/ECN
    put16(f, with_delta(hdr_sz + l4.size(), s.ip_len_delta));  // total length
    put16(f, 0x1234);                                            // id
    put16(f, s.ipv4_frag);
    put8(f, 64);  // TTL
    put8(f, s.l4_proto);
    put16(f, 0);  // header checksum, filled below
    put_bytes(f, {198, 18, 0, 1, 198, 18, 0, 2});
    for (std::size_t i = k_ipv4_sz; i < hdr_sz; ++i) put8(f, 1);  // NOP options
    set16(f, l3_at + 10, fold(sum16(f.data() + l3_at, hdr_sz)));
    if (s.l4_proto == k_proto_udp) {
      std::uint32_t acc = sum16(f.data() + l3_at + 12, 8);  // pseudo header: addresses
      acc += k_proto_udp + static_cast<std::uint32_t>(l4.size());
      std::uint16_t c = fold(sum16(l4.data(), l4.size(), acc));
      set16(l4, 6, c == 0 ? 0xFFFF : c);
    }
  } else {
    put16(f, k_ethertype_ipv6);
    const std::uint8_t ver = s.ip_version_field != 0 ? s.ip_version_field : 6;
    put8(f, static_cast<std::size_t>(ver << 4));
    for (int i = 0; i < 3; ++i) put8(f, 0);  // traffic class, flow label
    const std::size_t ext_sz = s.ipv6_hop_by_hop ? 8 : 0;
    put16(f, with_delta(ext_sz + l4.size(), s.ip_len_delta));
    put8(f, s.ipv6_hop_by_hop ? k_proto_ipv6_hop_by_hop : s.l4_proto);
    put8(f, 64);  // hop limit
    for (int a = 1; a <= 2; ++a) {
      put_bytes(f, {0x20, 0x01, 0x00, 0x02});
      for (int i = 0; i < 11; ++i) put8(f, 0);
      put8(f, static_cast<std::size_t>(a));
    }
    if (s.l4_proto == k_proto_udp) {
      std::uint32_t acc = sum16(f.data() + l3_at + 8, 32);  // pseudo header: addresses
      acc += k_proto_udp + static_cast<std::uint32_t>(l4.size());
      std::uint16_t c = fold(sum16(l4.data(), l4.size(), acc));
      set16(l4, 6, c == 0 ? 0xFFFF : c);
    }
    if (s.ipv6_hop_by_hop) {
      put_bytes(f, {s.l4_proto, 0, 1, 4, 0, 0, 0, 0});  // next, length 0, PadN(4)
    }
  }
  f.insert(f.end(), l4.begin(), l4.end());
  f.resize(f.size() + s.trailer_sz, 0);
  return f;
}

// An ARP request for 198.18.0.2 from 198.18.0.1.
inline frame build_arp() {
  using namespace detail;
  frame f;
  put_macs(f);
  put16(f, k_ethertype_arp);
  put16(f, 1);       // hardware: Ethernet
  put16(f, 0x0800);  // protocol: IPv4
  put8(f, 6);
  put8(f, 4);
  put16(f, 1);  // request
  put_bytes(f, {0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 198, 18, 0, 1});  // sender
  put_bytes(f, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198, 18, 0, 2});  // target
  return f;
}

// `f` cut to its first `n` bytes.
inline frame cut(frame f, std::size_t n) {
  f.resize(n);
  return f;
}

}  // namespace sluice::bpf::testing
