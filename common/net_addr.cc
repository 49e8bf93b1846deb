#include "common/net_addr.h"

#include <arpa/inet.h>

#include <cstring>

namespace sluice {

net_addr net_addr::from_sockaddr(const sockaddr* sa) noexcept {
  net_addr a;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    a.family = AF_INET;
    a.port = ntohs(in.sin_port);
    std::memcpy(a.ip.data(), &in.sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    a.family = AF_INET6;
    a.port = ntohs(in6.sin6_port);
    std::memcpy(a.ip.data(), &in6.sin6_addr, 16);
  }
  return a;
}

socklen_t net_addr::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  if (family == AF_INET6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    std::memcpy(&in6.sin6_addr, ip.data(), 16);
    std::memcpy(&out, &in6, sizeof in6);
    return sizeof in6;
  }
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  std::memcpy(&in.sin_addr, ip.data(), 4);
  std::memcpy(&out, &in, sizeof in);
  return sizeof in;
}

std::optional<net_addr> net_addr::from_ip_port(std::string_view ip, std::uint16_t port) {
  const std::string s(ip);
  net_addr a;
  a.port = port;
  if (::inet_pton(AF_INET, s.c_str(), a.ip.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.ip.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

std::optional<net_addr> net_addr::parse(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return from_ip_port(host, static_cast<std::uint16_t>(port));
}

std::string net_addr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET6) {
    ::inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port);
  }
  if (family == AF_INET) {
    ::inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port);
  }
  return "unset";
}

}  // namespace sluice
