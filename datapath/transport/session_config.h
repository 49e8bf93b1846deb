// datapath/transport/session_config.h — tunables of the session layer.
//
// Defaults suit a LAN or loopback; every value is bounded and validated by
// validate(). Read-only once an endpoint is built from it.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "datapath/wire/constants.h"

namespace sluice::transport {

struct session_config {
  std::uint32_t send_window = 1024;   // frames unacknowledged at most (power of 2)
  std::uint32_t recv_window = 1024;   // out-of-order frames buffered (power of 2)
  std::uint16_t max_datagram_sz = wire::k_datagram_sz_default;
  std::uint32_t max_message_sz = wire::k_message_sz_default;  // largest frame body accepted
  time_ns rto_initial_ns = 20 * k_ns_per_ms;
  time_ns rto_min_ns = 1 * k_ns_per_ms;
  time_ns rto_max_ns = 1 * k_ns_per_s;
  std::uint16_t retransmit_max = 40;  // retransmission timeouts in a row with no frame acknowledged: the session fails
  time_ns keepalive_ns = 1 * k_ns_per_s;   // PING after this long with nothing sent
  time_ns idle_timeout_ns = 10 * k_ns_per_s; // close after this long with nothing heard
  time_ns connect_interval_ns = 100 * k_ns_per_ms;  // first CONNECT retransmission
  time_ns connect_timeout_ns = 5 * k_ns_per_s;
  time_ns cookie_lifetime_ns = 10 * k_ns_per_s;
  // Coalescing: while frames are sent faster than one per linger_ns, a new
  // frame waits at most linger_ns for others to fill its datagram (it goes
  // at once when the datagram is full or anything else is owed: an ack, a
  // NAK, a retransmission). A frame after a pause goes at once. 0: every
  // flush sends what is queued (the broker, whose loop batches by itself).
  time_ns linger_ns = 0;

  // Empty when valid, else a sentence naming the setting.
  std::string validate() const;
  // Body bytes of the largest unfragmented frame (the frame unit, §4.12).
  std::size_t frame_body_max() const noexcept {
    return wire::frame_unit_sz(max_datagram_sz) - wire::k_packet_header_sz - wire::k_frame_header_sz;
  }
};

}  // namespace sluice::transport
