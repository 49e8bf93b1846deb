// bench/tcp_conn.h — a non-blocking TCP connection to 127.0.0.1 with an
// output buffer and an input buffer: the transport under the minimal NATS and
// Redis clients. One thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace sluice::bench {

class tcp_conn {
 public:
  tcp_conn() = default;
  ~tcp_conn();
  tcp_conn(const tcp_conn&) = delete;
  tcp_conn& operator=(const tcp_conn&) = delete;

  // Blocking connect, then non-blocking with TCP_NODELAY; "" or the reason.
  std::string connect(std::uint16_t port);
  // Writes what it can of `out`; false when the connection broke.
  bool flush();
  // Flushes, then reads what is available; when nothing was read or
  // written, waits up to `timeout_ns` for input (or for room to write).
  // false when the connection broke (`error()` says why).
  bool pump(time_ns timeout_ns);
  // Unparsed input.
  std::string_view input() const { return std::string_view(_in).substr(_in_pos); }
  void consume(std::size_t n) { _in_pos += n; }
  const std::string& error() const { return _error; }

  std::string out;  // queued for sending

 private:
  int _fd = -1;
  std::string _in;
  std::size_t _in_pos = 0;
  std::size_t _out_pos = 0;
  std::string _error;
};

}  // namespace sluice::bench
