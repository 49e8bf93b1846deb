// Validation of the session layer's settings: one sentence per problem,
// naming the setting, so a config error is actionable.
#include <bit>
#include <string>

#include "datapath/transport/endpoint.h"
#include "datapath/transport/session_config.h"

namespace sluice::transport {

std::string session_config::validate() const {
  const auto pow2 = [](std::uint32_t v) { return v != 0 && std::has_single_bit(v); };
  if (!pow2(send_window) || send_window > wire::k_window_max) {
    return "send_window must be a power of two between 1 and " + std::to_string(wire::k_window_max);
  }
  if (!pow2(recv_window) || recv_window > wire::k_window_max) {
    return "recv_window must be a power of two between 1 and " + std::to_string(wire::k_window_max);
  }
  if (max_datagram_sz < wire::k_datagram_sz_min || max_datagram_sz > wire::k_datagram_sz_max) {
    return "max_datagram_sz must be between " + std::to_string(wire::k_datagram_sz_min) + " and " +
           std::to_string(wire::k_datagram_sz_max);
  }
  if (max_message_sz == 0 || max_message_sz > wire::k_message_sz_max) {
    return "max_message_sz must be between 1 and " + std::to_string(wire::k_message_sz_max);
  }
  const std::size_t chunk = wire::frame_unit_sz(max_datagram_sz) - wire::k_packet_header_sz -
                            wire::k_frame_header_sz - sizeof(wire::fragment_fixed);
  const std::size_t frags = (max_message_sz + chunk - 1) / chunk;
  if (frags > send_window || frags > recv_window) {
    return "max_message_sz needs " + std::to_string(frags) +
           " fragments at this max_datagram_sz; send_window and recv_window must be at least that";
  }
  if (linger_ns < 0 || linger_ns > 10 * k_ns_per_ms) return "linger must be between 0 and 10 ms";
  if (rto_min_ns <= 0 || rto_max_ns < rto_min_ns || rto_initial_ns < rto_min_ns ||
      rto_initial_ns > rto_max_ns) {
    return "retransmission timeouts must satisfy 0 < rto_min <= rto_initial <= rto_max";
  }
  if (retransmit_max == 0) return "retransmit_max must be at least 1";
  if (keepalive_ns <= 0 || idle_timeout_ns <= keepalive_ns) {
    return "idle_timeout must be longer than keepalive (both > 0)";
  }
  if (connect_interval_ns <= 0 || connect_timeout_ns < connect_interval_ns) {
    return "connect_timeout must be at least connect_interval (both > 0)";
  }
  if (cookie_lifetime_ns < k_ns_per_s) return "cookie_lifetime must be at least 1 s";
  return {};
}

std::string endpoint_config::validate() const {
  if (auto err = session.validate(); !err.empty()) return err;
  if (max_sessions == 0 || max_sessions > (1u << 20)) return "max_sessions must be between 1 and 1048576";
  if (chunk_cnt < session.send_window) return "chunk_cnt must be at least send_window";
  if (rx_burst == 0 || rx_burst > 1024 || tx_burst == 0 || tx_burst > 1024) {
    return "rx_burst and tx_burst must be between 1 and 1024";
  }
  if (timer_tick_ns <= 0) return "timer_tick must be > 0";
  return {};
}

}  // namespace sluice::transport
