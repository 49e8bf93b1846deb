#include "bench/tcp_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace sluice::bench {

tcp_conn::~tcp_conn() {
  if (_fd >= 0) ::close(_fd);
}

std::string tcp_conn::connect(std::uint16_t port) {
  _fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (_fd < 0) return std::string("socket: ") + std::strerror(errno);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return "connect 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
  }
  const int one = 1;
  ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(_fd, F_SETFL, ::fcntl(_fd, F_GETFL) | O_NONBLOCK);
  return "";
}

bool tcp_conn::flush() {
  while (_out_pos < out.size()) {
    const ssize_t n = ::send(_fd, out.data() + _out_pos, out.size() - _out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      _out_pos += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    _error = std::string("send: ") + std::strerror(errno);
    return false;
  }
  if (_out_pos == out.size()) {
    out.clear();
    _out_pos = 0;
  } else if (_out_pos > (1u << 20)) {
    out.erase(0, _out_pos);
    _out_pos = 0;
  }
  return true;
}

bool tcp_conn::pump(time_ns timeout_ns) {
  const std::size_t before_out = out.size() - _out_pos;
  if (!flush()) return false;
  bool progress = out.size() - _out_pos != before_out;
  if (_in_pos == _in.size()) {
    _in.clear();
    _in_pos = 0;
  } else if (_in_pos > (1u << 20)) {
    _in.erase(0, _in_pos);
    _in_pos = 0;
  }
  for (int round = 0; round < 2; ++round) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(_fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        _in.append(buf, static_cast<std::size_t>(n));
        progress = true;
        if (static_cast<std::size_t>(n) < sizeof buf) break;
        continue;
      }
      if (n == 0) {
        _error = "connection closed by the server";
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      _error = std::string("recv: ") + std::strerror(errno);
      return false;
    }
    if (progress || timeout_ns <= 0 || round == 1) break;
    pollfd p{_fd, static_cast<short>(POLLIN | (_out_pos < out.size() ? POLLOUT : 0)), 0};
    const timespec ts{static_cast<time_t>(timeout_ns / k_ns_per_s), static_cast<long>(timeout_ns % k_ns_per_s)};
    ::ppoll(&p, 1, &ts, nullptr);
    if (!flush()) return false;
  }
  return true;
}

}  // namespace sluice::bench
