#include "common/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice {

namespace {

bool make_addr(const std::string& path, sockaddr_un& a, std::string& err) {
  a = sockaddr_un{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path) {
    err = "socket path \"" + path + "\" is empty or longer than " + std::to_string(sizeof a.sun_path - 1);
    return false;
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return true;
}

void make_parent(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  const std::string dir = path.substr(0, slash);
  for (std::size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0755);
  }
}

}  // namespace

int listen_unix(const std::string& path, std::string& err, mode_t mode) {
  sockaddr_un a;
  if (!make_addr(path, a, err)) return -1;
  make_parent(path);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EADDRINUSE) {
      err = "cannot bind " + path + ": " + std::strerror(errno);
      ::close(fd);
      return -1;
    }
    std::string ignored;
    const int probe = connect_unix(path, ignored);
    if (probe >= 0) {
      ::close(probe);
      ::close(fd);
      err = path + " is in use by another running process";
      return -1;
    }
    ::unlink(path.c_str());  // stale: its process is gone
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      err = "cannot bind " + path + ": " + std::strerror(errno);
      ::close(fd);
      return -1;
    }
  }
  if (::chmod(path.c_str(), mode) != 0 || ::listen(fd, 16) != 0) {
    err = "cannot listen on " + path + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

int connect_unix(const std::string& path, std::string& err) {
  sockaddr_un a;
  if (!make_addr(path, a, err)) return -1;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    err = "cannot connect to " + path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool read_line(int fd, std::string& buf, std::string& line, int timeout_ms, std::size_t max) {
  for (;;) {
    if (const auto nl = buf.find('\n'); nl != std::string::npos) {
      line.assign(buf, 0, nl);
      buf.erase(0, nl + 1);
      return true;
    }
    if (buf.size() > max) return false;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

bool peer_credentials(int fd, uid_t& uid, gid_t& gid) {
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) != 0) return false;
  uid = c.uid;
  gid = c.gid;
  return true;
}

}  // namespace sluice
