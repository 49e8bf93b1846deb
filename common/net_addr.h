// common/net_addr.h — an IPv4/IPv6 address and UDP port as a plain value.
//
// Fixed size, trivially copyable and comparable, so it can sit in hash tables
// and datagram descriptors without allocation. Any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

struct net_addr {
  std::uint16_t family = 0;  // AF_INET or AF_INET6; 0 = unset
  std::uint16_t port = 0;    // host byte order
  std::array<std::uint8_t, 16> ip{};  // IPv4 uses the first 4 bytes

  bool operator==(const net_addr&) const = default;

  static net_addr from_sockaddr(const sockaddr* sa) noexcept;
  // Fills `out`; returns its length (sizeof sockaddr_in or sockaddr_in6).
  socklen_t to_sockaddr(sockaddr_storage& out) const noexcept;

  // "127.0.0.1:7000" or "[::1]:7000"; nullopt with no port or a bad address.
  static std::optional<net_addr> parse(std::string_view text);
  static std::optional<net_addr> from_ip_port(std::string_view ip, std::uint16_t port);
  std::string to_string() const;
};

}  // namespace sluice
