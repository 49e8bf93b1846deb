#include "datapath/xdp/frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::xdp {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (const int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

const mac_addr k_src_mac{0x02, 0, 0, 0, 0, 1};
const mac_addr k_dst_mac{0x02, 0, 0, 0, 0, 2};

std::vector<std::byte> make_frame(const net_addr& src, const net_addr& dst, std::size_t payload_sz) {
  std::vector<std::byte> f(2048);
  const std::size_t hdr = headers_size(src.family);
  for (std::size_t i = 0; i < payload_sz; ++i) f[hdr + i] = static_cast<std::byte>(i * 7 + 1);
  const std::size_t len = build_udp_frame(f, k_src_mac, k_dst_mac, src, dst, payload_sz, 77);
  f.resize(len);
  return f;
}

TEST(Checksum, KnownIpv4HeaderVector) {
  // The classic example header (192.168.0.1 → 192.168.0.199): checksum 0xB861.
  auto h = bytes({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
                  0xc0, 0xa8, 0x00, 0xc7});
  EXPECT_EQ(csum_fold(csum_partial(h, 0)), 0xB861);
  h[10] = std::byte{0xB8};
  h[11] = std::byte{0x61};
  EXPECT_EQ(csum_fold(csum_partial(h, 0)), 0);
}

TEST(Checksum, OddLengthPadsWithZero) {
  EXPECT_EQ(csum_partial(bytes({0x12, 0x34, 0x56}), 0), 0x1234u + 0x5600u);
}

class FrameRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(FrameRoundTrip, BuildThenParse) {
  const bool v6 = GetParam();
  const auto src = *net_addr::parse(v6 ? "[2001:db8::1]:7600" : "198.18.0.1:7600");
  const auto dst = *net_addr::parse(v6 ? "[2001:db8::2]:40000" : "198.18.0.2:40000");
  for (const std::size_t sz : {0u, 1u, 24u, 1472u}) {
    auto f = make_frame(src, dst, sz);
    ASSERT_EQ(f.size(), headers_size(src.family) + sz);
    parsed_udp p;
    ASSERT_EQ(parse_udp_frame(f, p), parse_error::none) << sz;
    EXPECT_EQ(p.src, src);
    EXPECT_EQ(p.dst, dst);
    ASSERT_EQ(p.payload.size(), sz);
    for (std::size_t i = 0; i < sz; ++i) ASSERT_EQ(p.payload[i], static_cast<std::byte>(i * 7 + 1));
    // Every single-bit flip in the IP/UDP headers or payload is caught (or
    // changes what the frame says in a way parse reports).
    const std::size_t ip_off = k_eth_hdr_sz;
    for (std::size_t i = ip_off; i < f.size(); i += 5) {
      auto g = f;
      g[i] ^= std::byte{0x10};
      parsed_udp q;
      const auto e = parse_udp_frame(g, q);
      EXPECT_TRUE(e != parse_error::none || !(q.src == src) || !(q.dst == dst)) << "undetected flip at " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FrameRoundTrip, ::testing::Values(false, true));

TEST(FrameParse, VlanTagAccepted) {
  const auto src = *net_addr::parse("198.18.0.1:7600");
  const auto dst = *net_addr::parse("198.18.0.2:9");
  auto f = make_frame(src, dst, 10);
  // Insert an 802.1Q tag after the MACs.
  auto tagged = f;
  const auto tag = bytes({0x81, 0x00, 0x00, 0x05});
  tagged.insert(tagged.begin() + 12, tag.begin(), tag.end());
  parsed_udp p;
  ASSERT_EQ(parse_udp_frame(tagged, p), parse_error::none);
  EXPECT_EQ(p.payload.size(), 10u);
}

TEST(FrameParse, RejectsWhatTheKernelWould) {
  const auto src = *net_addr::parse("198.18.0.1:7600");
  const auto dst = *net_addr::parse("198.18.0.2:9");
  const auto f = make_frame(src, dst, 32);
  parsed_udp p;
  // Cut short anywhere.
  for (std::size_t n = 0; n < f.size(); ++n) {
    EXPECT_NE(parse_udp_frame(std::span(f).first(n), p), parse_error::none) << n;
  }
  // Bad IPv4 header checksum.
  auto g = f;
  g[k_eth_hdr_sz + 10] ^= std::byte{1};
  EXPECT_EQ(parse_udp_frame(g, p), parse_error::bad_ip_checksum);
  // Bad UDP checksum (a payload byte changed).
  g = f;
  g.back() ^= std::byte{0xFF};
  EXPECT_EQ(parse_udp_frame(g, p), parse_error::bad_udp_checksum);
  // A zero UDP checksum means "none" over IPv4...
  g = f;
  g[k_eth_hdr_sz + k_ipv4_hdr_sz + 6] = std::byte{0};
  g[k_eth_hdr_sz + k_ipv4_hdr_sz + 7] = std::byte{0};
  EXPECT_EQ(parse_udp_frame(g, p), parse_error::none);
  // ...but is forbidden over IPv6.
  const auto f6 = make_frame(*net_addr::parse("[2001:db8::1]:1"), *net_addr::parse("[2001:db8::2]:2"), 8);
  auto g6 = f6;
  g6[k_eth_hdr_sz + k_ipv6_hdr_sz + 6] = std::byte{0};
  g6[k_eth_hdr_sz + k_ipv6_hdr_sz + 7] = std::byte{0};
  EXPECT_EQ(parse_udp_frame(g6, p), parse_error::bad_udp_checksum);
  // A fragment.
  g = f;
  g[k_eth_hdr_sz + 6] = std::byte{0x20};  // MF
  EXPECT_EQ(parse_udp_frame(g, p), parse_error::bad_ip_header);
  // ARP.
  g = f;
  g[12] = std::byte{0x08};
  g[13] = std::byte{0x06};
  EXPECT_EQ(parse_udp_frame(g, p), parse_error::not_udp);
  // Trailing Ethernet padding beyond the IP length is fine.
  g = f;
  g.resize(g.size() + 6);
  EXPECT_EQ(parse_udp_frame(g, p), parse_error::none);
  EXPECT_EQ(p.payload.size(), 32u);
}

TEST(FrameBuild, RefusesTooSmallBufferAndMixedFamilies) {
  std::vector<std::byte> f(50);
  const auto v4 = *net_addr::parse("198.18.0.1:1");
  const auto v6 = *net_addr::parse("[2001:db8::2]:2");
  EXPECT_EQ(build_udp_frame(f, k_src_mac, k_dst_mac, v4, v4, 100, 1), 0u);
  EXPECT_EQ(build_udp_frame(f, k_src_mac, k_dst_mac, v4, v6, 0, 1), 0u);
}

}  // namespace
}  // namespace sluice::xdp
