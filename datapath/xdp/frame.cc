#include "datapath/xdp/frame.h"

#include <cstring>

namespace sluice::xdp {

namespace {

constexpr std::uint16_t k_eth_ipv4 = 0x0800;
constexpr std::uint16_t k_eth_ipv6 = 0x86DD;
constexpr std::uint16_t k_eth_vlan = 0x8100;
constexpr std::uint16_t k_eth_qinq = 0x88A8;
constexpr std::uint8_t k_proto_udp = 17;

std::uint16_t be16(const std::byte* p) noexcept {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}
void put_be16(std::byte* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v & 0xFF);
}

// Sum of the pseudo header's address, protocol and length words.
std::uint32_t pseudo_sum(const std::byte* src_ip, const std::byte* dst_ip, std::size_t ip_sz,
                         std::size_t udp_len) noexcept {
  std::uint32_t sum = csum_partial({src_ip, ip_sz}, 0);
  sum = csum_partial({dst_ip, ip_sz}, sum);
  sum += k_proto_udp;
  sum += static_cast<std::uint32_t>(udp_len & 0xFFFF) + static_cast<std::uint32_t>(udp_len >> 16);
  return sum;
}

void set_addr(net_addr& a, std::uint16_t family, const std::byte* ip, std::size_t ip_sz, std::uint16_t port) noexcept {
  a.family = family;
  a.port = port;
  a.ip = {};
  std::memcpy(a.ip.data(), ip, ip_sz);
}

}  // namespace

std::uint32_t csum_partial(std::span<const std::byte> data, std::uint32_t sum) noexcept {
  std::uint64_t acc = sum;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) acc += be16(data.data() + i);
  if (i < data.size()) acc += std::to_integer<std::uint64_t>(data[i]) << 8;
  while (acc >> 32) acc = (acc & 0xFFFFFFFF) + (acc >> 32);
  return static_cast<std::uint32_t>(acc);
}

std::uint16_t csum_fold(std::uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xFFFF);
}

parse_error parse_udp_frame(std::span<const std::byte> frame, parsed_udp& out) noexcept {
  const std::byte* p = frame.data();
  std::size_t left = frame.size();
  if (left < k_eth_hdr_sz) return parse_error::truncated;
  std::uint16_t type = be16(p + 12);
  std::size_t off = k_eth_hdr_sz;
  if (type == k_eth_vlan || type == k_eth_qinq) {
    if (left < off + 4) return parse_error::truncated;
    type = be16(p + off + 2);
    off += 4;
  }
  const std::byte* ip = p + off;
  std::size_t udp_off = 0;
  std::size_t ip_end = 0;  // end of the IP packet within the frame
  std::uint16_t family = 0;
  const std::byte* src_ip = nullptr;
  const std::byte* dst_ip = nullptr;
  std::size_t ip_sz = 0;
  if (type == k_eth_ipv4) {
    if (left < off + k_ipv4_hdr_sz) return parse_error::truncated;
    const unsigned ver_ihl = std::to_integer<unsigned>(ip[0]);
    const std::size_t ihl = (ver_ihl & 0xF) * 4u;
    if ((ver_ihl >> 4) != 4 || ihl < k_ipv4_hdr_sz) return parse_error::bad_ip_header;
    if (left < off + ihl) return parse_error::truncated;
    if (std::to_integer<unsigned>(ip[9]) != k_proto_udp) return parse_error::not_udp;
    if ((be16(ip + 6) & 0x3FFF) != 0) return parse_error::bad_ip_header;  // MF or offset: a fragment
    const std::size_t total = be16(ip + 2);
    if (total < ihl + k_udp_hdr_sz) return parse_error::bad_udp_length;
    if (left < off + total) return parse_error::truncated;
    if (csum_fold(csum_partial({ip, ihl}, 0)) != 0) return parse_error::bad_ip_checksum;
    family = AF_INET;
    src_ip = ip + 12;
    dst_ip = ip + 16;
    ip_sz = 4;
    udp_off = off + ihl;
    ip_end = off + total;
  } else if (type == k_eth_ipv6) {
    if (left < off + k_ipv6_hdr_sz) return parse_error::truncated;
    if ((std::to_integer<unsigned>(ip[0]) >> 4) != 6) return parse_error::bad_ip_header;
    if (std::to_integer<unsigned>(ip[6]) != k_proto_udp) return parse_error::not_udp;
    const std::size_t plen = be16(ip + 4);
    if (left < off + k_ipv6_hdr_sz + plen) return parse_error::truncated;
    family = AF_INET6;
    src_ip = ip + 8;
    dst_ip = ip + 24;
    ip_sz = 16;
    udp_off = off + k_ipv6_hdr_sz;
    ip_end = udp_off + plen;
  } else {
    return parse_error::not_udp;
  }
  if (ip_end < udp_off + k_udp_hdr_sz) return parse_error::bad_udp_length;
  const std::byte* udp = p + udp_off;
  const std::size_t udp_len = be16(udp + 4);
  if (udp_len < k_udp_hdr_sz || udp_len != ip_end - udp_off) return parse_error::bad_udp_length;
  const std::uint16_t wire_csum = be16(udp + 6);
  if (wire_csum == 0) {
    if (family == AF_INET6) return parse_error::bad_udp_checksum;
  } else {
    const std::uint32_t sum = csum_partial({udp, udp_len}, pseudo_sum(src_ip, dst_ip, ip_sz, udp_len));
    if (csum_fold(sum) != 0) return parse_error::bad_udp_checksum;
  }
  set_addr(out.src, family, src_ip, ip_sz, be16(udp));
  set_addr(out.dst, family, dst_ip, ip_sz, be16(udp + 2));
  out.payload = {udp + k_udp_hdr_sz, udp_len - k_udp_hdr_sz};
  return parse_error::none;
}

std::size_t build_udp_frame(std::span<std::byte> frame, const mac_addr& src_mac, const mac_addr& dst_mac,
                            const net_addr& src, const net_addr& dst, std::size_t payload_sz,
                            std::uint16_t ip_id) noexcept {
  const bool v6 = src.family == AF_INET6;
  const std::size_t hdr = headers_size(src.family);
  const std::size_t udp_len = k_udp_hdr_sz + payload_sz;
  if (src.family != dst.family || frame.size() < hdr + payload_sz || udp_len > 0xFFFF) return 0;
  std::byte* p = frame.data();
  std::memcpy(p, dst_mac.data(), 6);
  std::memcpy(p + 6, src_mac.data(), 6);
  put_be16(p + 12, v6 ? k_eth_ipv6 : k_eth_ipv4);
  std::byte* ip = p + k_eth_hdr_sz;
  std::byte* udp = nullptr;
  const std::byte* src_ip = nullptr;
  const std::byte* dst_ip = nullptr;
  std::size_t ip_sz = 0;
  if (v6) {
    put_be16(ip, 0x6000);  // version 6, traffic class 0, flow label 0
    put_be16(ip + 2, 0);
    put_be16(ip + 4, static_cast<std::uint16_t>(udp_len));
    ip[6] = static_cast<std::byte>(k_proto_udp);
    ip[7] = static_cast<std::byte>(64);  // hop limit
    std::memcpy(ip + 8, src.ip.data(), 16);
    std::memcpy(ip + 24, dst.ip.data(), 16);
    src_ip = ip + 8;
    dst_ip = ip + 24;
    ip_sz = 16;
    udp = ip + k_ipv6_hdr_sz;
  } else {
    ip[0] = static_cast<std::byte>(0x45);
    ip[1] = std::byte{0};
    put_be16(ip + 2, static_cast<std::uint16_t>(k_ipv4_hdr_sz + udp_len));
    put_be16(ip + 4, ip_id);
    put_be16(ip + 6, 0x4000);  // don't fragment
    ip[8] = static_cast<std::byte>(64);
    ip[9] = static_cast<std::byte>(k_proto_udp);
    put_be16(ip + 10, 0);
    std::memcpy(ip + 12, src.ip.data(), 4);
    std::memcpy(ip + 16, dst.ip.data(), 4);
    put_be16(ip + 10, csum_fold(csum_partial({ip, k_ipv4_hdr_sz}, 0)));
    src_ip = ip + 12;
    dst_ip = ip + 16;
    ip_sz = 4;
    udp = ip + k_ipv4_hdr_sz;
  }
  put_be16(udp, src.port);
  put_be16(udp + 2, dst.port);
  put_be16(udp + 4, static_cast<std::uint16_t>(udp_len));
  put_be16(udp + 6, 0);
  std::uint16_t c = csum_fold(csum_partial({udp, udp_len}, pseudo_sum(src_ip, dst_ip, ip_sz, udp_len)));
  if (c == 0) c = 0xFFFF;  // RFC 768: a computed zero is sent as all ones
  put_be16(udp + 6, c);
  return hdr + payload_sz;
}

const char* to_string(parse_error e) noexcept {
  switch (e) {
    case parse_error::none: return "ok";
    case parse_error::not_udp: return "not UDP";
    case parse_error::truncated: return "truncated";
    case parse_error::bad_ip_header: return "bad IP header";
    case parse_error::bad_ip_checksum: return "bad IPv4 header checksum";
    case parse_error::bad_udp_checksum: return "bad UDP checksum";
    case parse_error::bad_udp_length: return "bad UDP length";
  }
  return "unknown";
}

}  // namespace sluice::xdp
