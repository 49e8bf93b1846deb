// net_addr: parsing, printing and sockaddr conversion.
#include "common/net_addr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace sluice {
namespace {

// ---- failure cases -------------------------------------------------------------

TEST(net_addr, parse_rejects_missing_port) {
  for (const char* text : {"127.0.0.1", "127.0.0.1:", "[::1]", "[::1]:", "[::1]x80", "localhost", "7000"}) {
    EXPECT_FALSE(net_addr::parse(text).has_value()) << text;
  }
}

TEST(net_addr, parse_rejects_bad_ports) {
  for (const char* text : {"1.2.3.4:65536", "1.2.3.4:99999", "1.2.3.4:123456", "1.2.3.4:-1", "1.2.3.4:+80",
                           "1.2.3.4:8o", "1.2.3.4: 80", "[::1]:65536", "[::1]:0x50"}) {
    EXPECT_FALSE(net_addr::parse(text).has_value()) << text;
  }
}

TEST(net_addr, parse_rejects_garbage_hosts) {
  for (const char* text : {"", ":", ":80", "[]:80", "example.com:80", "256.0.0.1:80", "1.2.3:80",
                           "1.2.3.4.5:80", "[1::2::3]:80", "[::1:80", "::1]:80", "[gg::1]:80", " 1.2.3.4:80"}) {
    EXPECT_FALSE(net_addr::parse(text).has_value()) << '"' << text << '"';
  }
}

// ---- round trips ------------------------------------------------------------------

TEST(net_addr, parses_and_prints_ipv4) {
  const auto a = net_addr::parse("192.168.1.20:7000");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->family, AF_INET);
  EXPECT_EQ(a->port, 7000);
  EXPECT_EQ(a->ip[0], 192);
  EXPECT_EQ(a->ip[3], 20);
  for (std::size_t i = 4; i < a->ip.size(); ++i) EXPECT_EQ(a->ip[i], 0) << i;
  EXPECT_EQ(a->to_string(), "192.168.1.20:7000");
}

TEST(net_addr, parses_and_prints_bracketed_ipv6) {
  const auto a = net_addr::parse("[2001:db8::7]:65535");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->family, AF_INET6);
  EXPECT_EQ(a->port, 65535);
  EXPECT_EQ(a->ip[0], 0x20);
  EXPECT_EQ(a->ip[15], 0x07);
  EXPECT_EQ(a->to_string(), "[2001:db8::7]:65535");
}

TEST(net_addr, to_string_then_parse_is_identity) {
  for (const char* text : {"0.0.0.0:0", "127.0.0.1:1", "255.255.255.255:65535", "[::]:0", "[::1]:7000",
                           "[fe80::1:2:3:4]:9", "[::ffff:10.0.0.1]:443"}) {
    const auto a = net_addr::parse(text);
    ASSERT_TRUE(a.has_value()) << text;
    EXPECT_EQ(a->to_string(), text);
    const auto b = net_addr::parse(a->to_string());
    ASSERT_TRUE(b.has_value()) << text;
    EXPECT_EQ(*a, *b) << text;
  }
}

TEST(net_addr, from_ip_port_matches_parse) {
  EXPECT_EQ(net_addr::from_ip_port("10.1.2.3", 80), net_addr::parse("10.1.2.3:80"));
  EXPECT_EQ(net_addr::from_ip_port("::1", 80), net_addr::parse("[::1]:80"));
  EXPECT_FALSE(net_addr::from_ip_port("not-an-ip", 80).has_value());
}

TEST(net_addr, unset_prints_as_unset) { EXPECT_EQ(net_addr{}.to_string(), "unset"); }

TEST(net_addr, sockaddr_round_trip_ipv4) {
  const auto a = net_addr::parse("10.20.30.40:5555");
  ASSERT_TRUE(a.has_value());
  sockaddr_storage ss{};
  ASSERT_EQ(a->to_sockaddr(ss), sizeof(sockaddr_in));
  sockaddr_in in{};
  std::memcpy(&in, &ss, sizeof in);
  EXPECT_EQ(in.sin_family, AF_INET);
  EXPECT_EQ(ntohs(in.sin_port), 5555);
  EXPECT_EQ(ntohl(in.sin_addr.s_addr), 0x0A141E28u);
  EXPECT_EQ(net_addr::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss)), *a);
}

TEST(net_addr, sockaddr_round_trip_ipv6) {
  const auto a = net_addr::parse("[2001:db8::dead:beef]:443");
  ASSERT_TRUE(a.has_value());
  sockaddr_storage ss{};
  ASSERT_EQ(a->to_sockaddr(ss), sizeof(sockaddr_in6));
  sockaddr_in6 in6{};
  std::memcpy(&in6, &ss, sizeof in6);
  EXPECT_EQ(in6.sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(in6.sin6_port), 443);
  EXPECT_EQ(std::memcmp(&in6.sin6_addr, a->ip.data(), 16), 0);
  EXPECT_EQ(net_addr::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss)), *a);
}

TEST(net_addr, from_sockaddr_of_an_unknown_family_is_unset) {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  EXPECT_EQ(net_addr::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss)), net_addr{});
}

}  // namespace
}  // namespace sluice
