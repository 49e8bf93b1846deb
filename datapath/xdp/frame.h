// datapath/xdp/frame.h — Ethernet/IPv4/IPv6/UDP framing for the AF_XDP port.
//
// With AF_XDP the broker sees whole Ethernet frames: it must check what the
// kernel would have checked (IPv4 header checksum, UDP checksum, lengths)
// and build what the kernel would have built (headers and checksums) for
// what it sends. Pure functions over byte spans: no state, no allocation,
// any thread. One 802.1Q/802.1ad tag is accepted on receive; frames are sent
// untagged (the port serves the interface it is bound to).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/net_addr.h"

namespace sluice::xdp {

using mac_addr = std::array<std::uint8_t, 6>;

inline constexpr std::size_t k_eth_hdr_sz = 14;
inline constexpr std::size_t k_ipv4_hdr_sz = 20;
inline constexpr std::size_t k_ipv6_hdr_sz = 40;
inline constexpr std::size_t k_udp_hdr_sz = 8;

enum class parse_error : std::uint8_t {
  none,
  not_udp,        // not IPv4/IPv6 UDP (the XDP program should not have sent it)
  truncated,      // frame shorter than its headers or than the lengths they state
  bad_ip_header,  // IPv4 version/IHL/fragment, or IPv6 version
  bad_ip_checksum,
  bad_udp_checksum,  // includes a zero checksum over IPv6, which is forbidden
  bad_udp_length,
};

struct parsed_udp {
  net_addr src;   // peer address and port
  net_addr dst;   // our address and the port it was sent to
  std::span<const std::byte> payload;
};

// Parses and fully validates a received frame. On success fills `out`
// (payload points into `frame`).
parse_error parse_udp_frame(std::span<const std::byte> frame, parsed_udp& out) noexcept;

// Writes Ethernet + IP + UDP headers for `payload_sz` bytes of payload that
// already sit at `frame[headers_size(src.family)]`, with both checksums.
// `src` and `dst` must be the same family. Returns the frame length, or 0 if
// `frame` is too small.
std::size_t build_udp_frame(std::span<std::byte> frame, const mac_addr& src_mac, const mac_addr& dst_mac,
                            const net_addr& src, const net_addr& dst, std::size_t payload_sz,
                            std::uint16_t ip_id) noexcept;

constexpr std::size_t headers_size(std::uint16_t family) noexcept {
  return k_eth_hdr_sz + (family == AF_INET6 ? k_ipv6_hdr_sz : k_ipv4_hdr_sz) + k_udp_hdr_sz;
}

// Internet checksum (RFC 1071) helpers, exposed for tests.
std::uint32_t csum_partial(std::span<const std::byte> data, std::uint32_t sum) noexcept;
std::uint16_t csum_fold(std::uint32_t sum) noexcept;

const char* to_string(parse_error e) noexcept;

}  // namespace sluice::xdp
