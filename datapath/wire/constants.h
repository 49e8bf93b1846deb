// datapath/wire/constants.h — numbers of wire protocol v1.
//
// docs/protocol.md is the normative spec; this header mirrors it. Shared by
// the broker, the client library, the XDP program's user-space loader and
// tools. Everything on the wire is little-endian; the codec copies fixed
// layouts with memcpy, which is only correct on a little-endian host.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace sluice::wire {

static_assert(std::endian::native == std::endian::little,
              "the codec copies little-endian layouts directly; port it before using a BE host");

inline constexpr std::uint32_t k_magic = 0x45434C53;  // bytes 'S' 'L' 'C' 'E'
inline constexpr std::uint8_t k_version = 1;

// ---- sizes and limits -------------------------------------------------------
inline constexpr std::size_t k_packet_header_sz = 24;
inline constexpr std::size_t k_frame_header_sz = 8;
// Smallest and largest datagram (UDP payload) a v1 endpoint may use.
inline constexpr std::size_t k_datagram_sz_min = 512;
inline constexpr std::size_t k_datagram_sz_max = 65507;
// Default: as large as a datagram is worth on loopback (16 KiB: more made
// the overload shapes no faster and their tails longer); a client lowers
// it to its route's MTU (Ethernet 1500 - IPv4 20 - UDP 8 = 1472).
inline constexpr std::size_t k_datagram_sz_default = 16384;
// The frame unit: a frame, with the packet header, never exceeds
// min(datagram size, 1472) bytes. Larger datagrams carry more frames, not
// larger ones, so a receiver's out-of-order buffers stay this size whatever
// the datagram size (protocol §3.10, §4.12).
inline constexpr std::size_t k_frame_unit_sz_max = 1472;
constexpr std::size_t frame_unit_sz(std::size_t datagram_sz) noexcept {
  return datagram_sz < k_frame_unit_sz_max ? datagram_sz : k_frame_unit_sz_max;
}
inline constexpr std::uint32_t k_message_sz_default = 1u << 20;  // 1 MiB
inline constexpr std::uint32_t k_message_sz_max = 64u << 20;     // hard cap
inline constexpr std::size_t k_uri_sz_max = 255;
inline constexpr std::size_t k_app_id_sz_max = 64;
inline constexpr std::size_t k_error_text_sz_max = 255;
inline constexpr std::size_t k_ranges_max = 32;  // SACK / NAK ranges per frame
inline constexpr std::size_t k_properties_cnt_max = 32;
inline constexpr std::size_t k_properties_sz_max = 4096;
inline constexpr std::size_t k_property_key_sz_max = 64;
inline constexpr std::uint32_t k_window_max = 1u << 16;  // frames in flight

// ---- packet kinds (byte 5 of the packet header) -----------------------------
enum class packet_kind : std::uint8_t {
  connect = 1,    // initiator → responder: hello, later with the echoed cookie
  challenge = 2,  // responder → initiator: stateless cookie
  accept = 3,     // responder → initiator: session established
  data = 4,       // either way: frames of an established session
  reset = 5,      // either way: "no such session", stateless
  refuse = 6,     // responder → initiator: a verified CONNECT it cannot take (session limit, draining)
};

// Packet header flags.
inline constexpr std::uint16_t k_pflag_ack_valid = 1u << 0;  // ack_seq is meaningful
inline constexpr std::uint16_t k_pflags_known = k_pflag_ack_valid;

// ---- frame types (byte 0 of each frame) -------------------------------------
// 0x01–0x07: unsequenced transport frames (seq field must be 0).
// 0x08–0x0F: sequenced transport frames. 0x10–0x3F: sequenced application frames.
enum class frame_type : std::uint8_t {
  sack = 0x01,
  nak = 0x02,
  window = 0x03,  // the receiver's byte window (§4.13)
  ping = 0x08,
  close = 0x09,
  fragment = 0x0A,
  open_queue = 0x10,
  queue_opened = 0x11,
  redirect = 0x12,
  configure_queue = 0x13,
  close_queue = 0x14,
  queue_result = 0x15,
  put = 0x20,
  ack = 0x21,
  push = 0x22,
  confirm = 0x23,
  error = 0x30,
};

constexpr bool is_known_frame_type(std::uint8_t t) noexcept {
  switch (static_cast<frame_type>(t)) {
    case frame_type::sack:
    case frame_type::nak:
    case frame_type::window:
    case frame_type::ping:
    case frame_type::close:
    case frame_type::fragment:
    case frame_type::open_queue:
    case frame_type::queue_opened:
    case frame_type::redirect:
    case frame_type::configure_queue:
    case frame_type::close_queue:
    case frame_type::queue_result:
    case frame_type::put:
    case frame_type::ack:
    case frame_type::push:
    case frame_type::confirm:
    case frame_type::error:
      return true;
  }
  return false;
}
constexpr bool is_sequenced(frame_type t) noexcept { return static_cast<std::uint8_t>(t) >= 0x08; }
// Frames an application may hand to the session layer (everything it does not own).
constexpr bool is_application(frame_type t) noexcept { return static_cast<std::uint8_t>(t) >= 0x10; }
const char* frame_type_name(frame_type t) noexcept;

// ---- status codes (ACK, QUEUE_OPENED, QUEUE_RESULT, ERROR, CLOSE) -----------
enum class status : std::uint16_t {
  ok = 0,
  unknown = 1,             // unspecified failure
  malformed = 2,           // a frame failed validation
  unsupported_version = 3,
  unknown_frame = 4,
  too_large = 5,           // message or field over a limit
  unknown_domain = 6,
  unknown_queue = 7,
  queue_full = 8,          // queue's message or byte limit reached
  not_authorised = 9,
  not_primary = 10,
  queue_not_open = 11,     // frame names a queue id this session did not open
  invalid_argument = 12,
  timeout = 13,
  shutting_down = 14,
  limit_reached = 15,      // too many sessions / queues / consumers
  expired = 16,            // message TTL passed
  idle_timeout = 17,       // CLOSE reason: nothing heard from the peer
  retransmit_limit = 18,   // CLOSE reason: peer stopped acknowledging
  reset = 19,              // CLOSE reason: peer answered RESET
  internal = 20,
  unreachable = 21,        // local only, never on the wire: the network said nothing listens at the peer's address
};
// The largest status that travels on the wire (decoders refuse more);
// `unreachable` lies past it, local only.
inline constexpr std::uint16_t k_status_max = 20;
const char* status_name(status s) noexcept;

// ---- decode/encode failures (never on the wire) -----------------------------
enum class errc : std::uint8_t {
  truncated = 1,     // fewer bytes than the layout needs
  bad_magic,
  bad_version,
  bad_kind,
  bad_flags,         // unknown flag bit set
  bad_length,        // a length field disagrees with the bytes present
  unknown_frame,
  too_large,         // a field over its protocol limit
  bad_field,         // reserved field non-zero or value out of range
  no_space,          // encoder: output buffer too small
};
const char* errc_name(errc e) noexcept;

}  // namespace sluice::wire
