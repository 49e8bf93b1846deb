// Packet header and handshake bodies. Layouts: layouts.h; rules: docs/protocol.md §2–3.
#include "datapath/wire/codec.h"
#include "datapath/wire/codec_util.h"

namespace sluice::wire {
using namespace detail;

wresult<packet_header> decode_packet_header(bytes datagram) noexcept {
  if (datagram.size() < k_packet_header_sz) return fail(errc::truncated);
  const auto h = load<packet_header>(datagram);
  if (h.magic != k_magic) return fail(errc::bad_magic);
  if (h.version != k_version) return fail(errc::bad_version);
  if ((h.flags & ~k_pflags_known) != 0) return fail(errc::bad_flags);
  if (h.payload_sz != datagram.size() - k_packet_header_sz) return fail(errc::bad_length);
  std::size_t body_sz = 0;
  switch (static_cast<packet_kind>(h.kind)) {
    case packet_kind::data:
      if (h.session_id == 0) return fail(errc::bad_field);
      if ((h.flags & k_pflag_ack_valid) == 0 && h.ack_seq != 0) return fail(errc::bad_field);
      if (h.frame_cnt == 0 && h.payload_sz != 0) return fail(errc::bad_length);
      if (h.frame_cnt > h.payload_sz / k_frame_header_sz) return fail(errc::bad_length);
      return h;
    case packet_kind::connect: body_sz = sizeof(connect_body); break;
    case packet_kind::challenge: body_sz = sizeof(challenge_body); break;
    case packet_kind::accept: body_sz = sizeof(accept_body); break;
    case packet_kind::reset: body_sz = sizeof(reset_body); break;
    case packet_kind::refuse: body_sz = sizeof(refuse_body); break;
    default: return fail(errc::bad_kind);
  }
  if (h.payload_sz != body_sz) return fail(errc::bad_length);
  if (h.frame_cnt != 0 || h.ack_seq != 0 || h.flags != 0) return fail(errc::bad_field);
  const auto kind = static_cast<packet_kind>(h.kind);
  const bool wants_session = kind == packet_kind::accept || kind == packet_kind::reset;
  if (wants_session != (h.session_id != 0)) return fail(errc::bad_field);
  return h;
}

void encode_packet_header(mut_bytes out, packet_header h) noexcept {
  SLUICE_ASSERT(out.size() >= k_packet_header_sz, "packet header needs 24 bytes");
  h.magic = k_magic;
  h.version = k_version;
  store(out, h);
}

namespace {

bool window_ok(std::uint32_t w) noexcept { return w >= 1 && w <= k_window_max; }
bool datagram_ok(std::uint16_t sz) noexcept { return sz >= k_datagram_sz_min && sz <= k_datagram_sz_max; }
bool message_ok(std::uint32_t sz) noexcept { return sz >= 1 && sz <= k_message_sz_max; }

template <class Body>
wresult<std::size_t> encode_handshake(mut_bytes out, packet_kind kind, std::uint64_t session_id,
                                      const Body& b) noexcept {
  constexpr std::size_t total = k_packet_header_sz + sizeof(Body);
  if (out.size() < total) return fail(errc::no_space);
  packet_header h{};
  h.kind = static_cast<std::uint8_t>(kind);
  h.session_id = session_id;
  h.payload_sz = sizeof(Body);
  encode_packet_header(out, h);
  store(out.subspan(k_packet_header_sz), b);
  return total;
}

}  // namespace

wresult<connect_body> decode_connect(bytes payload) noexcept {
  if (payload.size() != sizeof(connect_body)) return fail(errc::bad_length);
  const auto b = load<connect_body>(payload);
  if (b.reserved0 != 0 || b.client_nonce == 0) return fail(errc::bad_field);
  for (auto p : b.padding) {
    if (p != 0) return fail(errc::bad_field);
  }
  if (!datagram_ok(b.max_datagram_sz) || !window_ok(b.recv_window) ||
      !message_ok(b.max_message_sz)) {
    return fail(errc::bad_field);
  }
  if ((b.cookie_mac == 0) != (b.cookie_ts == 0)) return fail(errc::bad_field);
  return b;
}

wresult<challenge_body> decode_challenge(bytes payload) noexcept {
  if (payload.size() != sizeof(challenge_body)) return fail(errc::bad_length);
  const auto b = load<challenge_body>(payload);
  if (b.reserved0 != 0 || b.cookie_ts == 0 || b.cookie_mac == 0 || b.client_nonce == 0) {
    return fail(errc::bad_field);
  }
  return b;
}

wresult<accept_body> decode_accept(bytes payload) noexcept {
  if (payload.size() != sizeof(accept_body)) return fail(errc::bad_length);
  const auto b = load<accept_body>(payload);
  if (b.reserved0 != 0 || b.reserved1 != 0 || b.client_nonce == 0) return fail(errc::bad_field);
  if (!datagram_ok(b.max_datagram_sz) || !window_ok(b.recv_window) ||
      !message_ok(b.max_message_sz)) {
    return fail(errc::bad_field);
  }
  return b;
}

wresult<reset_body> decode_reset(bytes payload) noexcept {
  if (payload.size() != sizeof(reset_body)) return fail(errc::bad_length);
  const auto b = load<reset_body>(payload);
  if (b.reserved0 != 0 || b.reserved1 != 0 || b.reason > k_status_max) return fail(errc::bad_field);
  return b;
}

wresult<refuse_body> decode_refuse(bytes payload) noexcept {
  if (payload.size() != sizeof(refuse_body)) return fail(errc::bad_length);
  const auto b = load<refuse_body>(payload);
  if (b.client_nonce == 0 || b.reserved0 != 0 || b.reserved1 != 0 || b.reason == 0 || b.reason > k_status_max) {
    return fail(errc::bad_field);
  }
  return b;
}

wresult<std::size_t> encode_connect(mut_bytes out, const connect_body& b) noexcept {
  connect_body c = b;
  c.reserved0 = 0;
  std::memset(c.padding, 0, sizeof c.padding);
  if (c.client_nonce == 0 || !datagram_ok(c.max_datagram_sz) || !window_ok(c.recv_window) ||
      !message_ok(c.max_message_sz) || ((c.cookie_mac == 0) != (c.cookie_ts == 0))) {
    return fail(errc::bad_field);
  }
  return encode_handshake(out, packet_kind::connect, 0, c);
}

wresult<std::size_t> encode_challenge(mut_bytes out, const challenge_body& b) noexcept {
  challenge_body c = b;
  c.reserved0 = 0;
  if (c.cookie_ts == 0 || c.cookie_mac == 0 || c.client_nonce == 0) return fail(errc::bad_field);
  return encode_handshake(out, packet_kind::challenge, 0, c);
}

wresult<std::size_t> encode_accept(mut_bytes out, std::uint64_t session_id,
                                   const accept_body& b) noexcept {
  accept_body a = b;
  a.reserved0 = 0;
  a.reserved1 = 0;
  if (session_id == 0 || a.client_nonce == 0 || !datagram_ok(a.max_datagram_sz) || !window_ok(a.recv_window) ||
      !message_ok(a.max_message_sz)) {
    return fail(errc::bad_field);
  }
  return encode_handshake(out, packet_kind::accept, session_id, a);
}

wresult<std::size_t> encode_reset(mut_bytes out, std::uint64_t session_id,
                                  const reset_body& b) noexcept {
  reset_body r = b;
  r.reserved0 = 0;
  r.reserved1 = 0;
  if (session_id == 0 || r.reason > k_status_max) return fail(errc::bad_field);
  return encode_handshake(out, packet_kind::reset, session_id, r);
}

wresult<std::size_t> encode_refuse(mut_bytes out, const refuse_body& b) noexcept {
  refuse_body r = b;
  r.reserved0 = 0;
  r.reserved1 = 0;
  if (r.client_nonce == 0 || r.reason == 0 || r.reason > k_status_max) return fail(errc::bad_field);
  return encode_handshake(out, packet_kind::refuse, 0, r);
}

}  // namespace sluice::wire
