#include "bench/udp_floor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <vector>

#include "bench/process.h"

namespace sluice::bench {

namespace {

constexpr std::size_t k_queue_offset = offsetof(stamp, queue);

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void big_buffers(int fd) {
  const int sz = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz);
}

int connected_socket(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  big_buffers(fd);
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void sleep_ns(time_ns ns) {
  if (ns <= 0) return;
  const timespec ts{static_cast<time_t>(ns / k_ns_per_s), static_cast<long>(ns % k_ns_per_s)};
  ::nanosleep(&ts, nullptr);
}

class udp_producer final : public producer_port {
 public:
  explicit udp_producer(int fd) : _fd(fd) {}
  ~udp_producer() override { ::close(_fd); }
  bool has_acks() const override { return false; }
  bool send(std::uint64_t, std::span<const std::byte> payload) override {
    if (::send(_fd, payload.data(), payload.size(), MSG_DONTWAIT) >= 0) return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != ECONNREFUSED) {
      error = std::string("send: ") + std::strerror(errno);
    }
    return false;
  }
  void poll(time_ns timeout_ns) override { sleep_ns(timeout_ns); }

 private:
  int _fd;
};

class udp_consumer final : public consumer_port {
 public:
  udp_consumer(int fd, std::uint32_t queue) : _fd(fd), _queue(queue) {}
  ~udp_consumer() override {
    char m[8] = {'U', 'N', 'S', '!'};
    std::memcpy(m + 4, &_queue, 4);
    ::send(_fd, m, sizeof m, MSG_DONTWAIT);
    ::close(_fd);
  }
  std::string subscribe() {
    char m[8] = {'S', 'U', 'B', '!'};
    std::memcpy(m + 4, &_queue, 4);
    for (int attempt = 0; attempt < 10; ++attempt) {
      ::send(_fd, m, sizeof m, 0);
      pollfd p{_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) == 1) {
        char r[16];
        if (::recv(_fd, r, sizeof r, 0) == 4 && std::memcmp(r, "OK!!", 4) == 0) return "";
      }
    }
    return "the forwarder did not answer SUB!";
  }
  void poll(time_ns timeout_ns) override {
    if (drain() > 0 || timeout_ns <= 0) return;
    pollfd p{_fd, POLLIN, 0};
    const timespec ts{static_cast<time_t>(timeout_ns / k_ns_per_s), static_cast<long>(timeout_ns % k_ns_per_s)};
    if (::ppoll(&p, 1, &ts, nullptr) == 1) drain();
  }

 private:
  int drain() {
    int n = 0;
    alignas(8) std::byte buf[2048];
    for (;;) {
      const ssize_t r = ::recv(_fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r < 0) break;
      on_message(std::span<const std::byte>(buf, static_cast<std::size_t>(r)));
      ++n;
    }
    return n;
  }
  int _fd;
  std::uint32_t _queue;
};

}  // namespace

int run_udp_forwarder(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  big_buffers(fd);
  sockaddr_in a = loopback(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("udp-forwarder: bind");
    return 1;
  }
  struct subscriber {
    sockaddr_in addr;
    std::uint32_t queue;
  };
  std::vector<subscriber> subs;
  std::printf("udp-forwarder: ready on 127.0.0.1:%u\n", port);
  std::fflush(stdout);
  alignas(8) char buf[2048];
  for (;;) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) continue;
    const auto len = static_cast<std::size_t>(n);
    if (len == 8 && (std::memcmp(buf, "SUB!", 4) == 0 || std::memcmp(buf, "UNS!", 4) == 0)) {
      std::uint32_t q = 0;
      std::memcpy(&q, buf + 4, 4);
      std::erase_if(subs, [&](const subscriber& s) {
        return s.addr.sin_port == from.sin_port && s.addr.sin_addr.s_addr == from.sin_addr.s_addr;
      });
      if (buf[0] == 'S') {
        subs.push_back({from, q});
        ::sendto(fd, "OK!!", 4, 0, reinterpret_cast<sockaddr*>(&from), from_len);
      }
      continue;
    }
    if (len < sizeof(stamp)) continue;
    std::uint32_t q = 0;
    std::memcpy(&q, buf + k_queue_offset, 4);
    for (const auto& s : subs) {
      if (s.queue == q) ::sendto(fd, buf, len, 0, reinterpret_cast<const sockaddr*>(&s.addr), sizeof s.addr);
    }
  }
}

udp_floor_system::~udp_floor_system() {
  if (_pid > 0) stop_pid(_pid, 2);
  remove_tree(_dir);
}

std::string udp_floor_system::start() {
  _dir = make_tmpdir("sluice-bench-udp");
  _port = free_udp_ports(1);
  if (_port == 0) return "no free UDP port";
  const std::string log = _dir + "/forwarder.log";
  _pid = spawn({_self, "udp-forwarder", "--port", std::to_string(_port)}, log);
  if (_pid < 0 || !wait_for_log(_pid, log, "ready", 5)) return "the forwarder did not start: " + read_text(log);
  return "";
}

std::string udp_floor_system::skip_reason(const scenario& s) const {
  if (s.durable) return "stores nothing";
  if (s.payload_sz > 1400) return "one datagram per message";
  return "";
}

std::unique_ptr<consumer_port> udp_floor_system::consumer(const scenario&, std::uint32_t q, std::uint32_t,
                                                          std::string& err) {
  const int fd = connected_socket(_port);
  if (fd < 0) {
    err = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  auto c = std::make_unique<udp_consumer>(fd, q);
  err = c->subscribe();
  if (!err.empty()) return nullptr;
  return c;
}

std::unique_ptr<producer_port> udp_floor_system::producer(const scenario&, std::uint32_t, std::uint32_t,
                                                          std::string& err) {
  const int fd = connected_socket(_port);
  if (fd < 0) {
    err = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  return std::make_unique<udp_producer>(fd);
}

}  // namespace sluice::bench
