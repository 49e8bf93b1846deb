// datapath/transport/test_traffic.h — a checked frame stream for tests and benches.
//
// traffic_app is a session_handler that sends numbered frames and checks
// the ones it receives: every frame must arrive exactly once, in order, with
// intact content. Frame n carries n (8 bytes) and a filler whose length and
// bytes are a function of n, so loss, duplication, reordering or corruption
// all show up as a mismatch. Test/bench code only.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "datapath/transport/session.h"

namespace sluice::transport::testing {

struct traffic_plan {
  std::uint64_t frames = 1000;       // frames to send
  std::uint32_t small_sz = 24;       // body size of most frames (>= 8)
  std::uint32_t large_every = 0;     // every Nth frame is large (0 = never)
  std::uint32_t large_sz = 16384;    // body size of large frames
  std::uint64_t filler_seed = 0;     // mixes into the filler bytes

  std::uint32_t size_of(std::uint64_t n) const noexcept {
    return (large_every != 0 && n % large_every == large_every - 1) ? large_sz : small_sz;
  }
  std::byte filler(std::uint64_t n, std::size_t i) const noexcept {
    return static_cast<std::byte>((n * 31 + i * 7 + filler_seed) & 0xff);
  }
};

class traffic_app : public session_handler {
 public:
  explicit traffic_app(traffic_plan send_plan, traffic_plan expect_plan)
      : _send(send_plan), _expect(expect_plan), _buf(std::max(send_plan.large_sz, send_plan.small_sz)) {}

  // Sends as many frames as the session takes now, `at_most` at most.
  // Returns frames sent.
  std::uint64_t pump(std::uint64_t at_most = UINT64_MAX) noexcept {
    if (_s == nullptr || _s->state() != session_state::open) return 0;
    std::uint64_t n = 0;
    while (sent < _send.frames && n < at_most) {
      const std::uint32_t sz = _send.size_of(sent);
      std::memcpy(_buf.data(), &sent, 8);
      for (std::size_t i = 8; i < sz; ++i) _buf[i] = _send.filler(sent, i);
      const auto st = _s->send(wire::frame_type::put, {_buf.data(), sz});
      if (!st) {
        if (st.error() == errc::would_block) ++would_block;
        else error = std::string("send failed: ") + errc_name(st.error());
        break;
      }
      ++sent;
      ++n;
    }
    return n;
  }

  void on_open(session& s) noexcept override {
    _s = &s;
    ++opened;
  }
  void on_frame(session&, wire::frame_type type, wire::bytes body) noexcept override {
    if (!error.empty()) return;
    if (type != wire::frame_type::put || body.size() < 8) {
      error = "unexpected frame type or size";
      return;
    }
    std::uint64_t n = 0;
    std::memcpy(&n, body.data(), 8);
    if (n != received) {
      error = "frame " + std::to_string(n) + " arrived when " + std::to_string(received) + " was due";
      return;
    }
    if (body.size() != _expect.size_of(n)) {
      error = "frame " + std::to_string(n) + " has the wrong size";
      return;
    }
    for (std::size_t i = 8; i < body.size(); ++i) {
      if (body[i] != _expect.filler(n, i)) {
        error = "frame " + std::to_string(n) + " is corrupt at byte " + std::to_string(i);
        return;
      }
    }
    ++received;
  }
  void on_writable(session&) noexcept override { ++writable; }
  void on_close(session&, wire::status reason) noexcept override {
    _s = nullptr;
    ++closed;
    close_reason = reason;
  }

  session* current() const noexcept { return _s; }

  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t would_block = 0;
  std::uint64_t writable = 0;
  int opened = 0;
  int closed = 0;
  wire::status close_reason = wire::status::ok;
  std::string error;

 private:
  traffic_plan _send;
  traffic_plan _expect;
  session* _s = nullptr;
  std::vector<std::byte> _buf;
};

}  // namespace sluice::transport::testing
