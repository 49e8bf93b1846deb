// datapath/wire/codec.h — encode and decode every v1 packet and frame.
//
// Decoders validate everything (magic, version, kinds, lengths, limits,
// reserved fields) and return views whose spans point into the caller's
// buffer: no allocation, no exceptions, any thread. Once a frame decodes, the
// rest of the broker may trust it. Encoders write into a caller buffer and
// fail with errc::no_space rather than overrun it, or with the errc a decoder
// would give for the same values, so nothing invalid is ever sent.
//
//   datagram = packet_header | payload
//   DATA payload = frame | frame | ...      frame = frame_header | body
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "common/result.h"
#include "datapath/wire/constants.h"
#include "datapath/wire/layouts.h"

namespace sluice::wire {

using bytes = std::span<const std::byte>;
using mut_bytes = std::span<std::byte>;

template <class T>
using wresult = result<T, errc>;
using wstatus = sluice::status<errc>;  // not wire::status, the on-wire enum

inline bytes as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string(bytes b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline bool equal_bytes(bytes a, bytes b) noexcept {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// ---- packets -------------------------------------------------------------------
// Checks magic, version, kind, flags, that payload_sz matches the datagram,
// and the per-kind rules (handshake bodies exact size, frame_cnt only in DATA).
wresult<packet_header> decode_packet_header(bytes datagram) noexcept;
// Fills magic and version; `h.payload_sz` must already say what follows.
void encode_packet_header(mut_bytes out, packet_header h) noexcept;

wresult<connect_body> decode_connect(bytes payload) noexcept;
wresult<challenge_body> decode_challenge(bytes payload) noexcept;
wresult<accept_body> decode_accept(bytes payload) noexcept;
wresult<reset_body> decode_reset(bytes payload) noexcept;
wresult<refuse_body> decode_refuse(bytes payload) noexcept;

// A whole handshake/reset datagram: header + body. Returns bytes written.
wresult<std::size_t> encode_connect(mut_bytes out, const connect_body& b) noexcept;
wresult<std::size_t> encode_challenge(mut_bytes out, const challenge_body& b) noexcept;
wresult<std::size_t> encode_accept(mut_bytes out, std::uint64_t session_id,
                                   const accept_body& b) noexcept;
wresult<std::size_t> encode_reset(mut_bytes out, std::uint64_t session_id,
                                  const reset_body& b) noexcept;
wresult<std::size_t> encode_refuse(mut_bytes out, const refuse_body& b) noexcept;

// ---- frames ----------------------------------------------------------------------
struct frame_view {
  frame_header hdr;
  bytes body;
  frame_type type() const noexcept { return static_cast<frame_type>(hdr.type); }
};

// Walks the frames of a DATA payload. Validates each frame header (known
// type, flags allowed for the type, seq 0 on unsequenced frames, body within
// the payload) and, at the end, that exactly frame_cnt frames filled it.
class frame_reader {
 public:
  frame_reader(bytes payload, std::uint16_t frame_cnt) noexcept
      : _rest(payload), _left(frame_cnt) {}
  bool done() const noexcept { return _left == 0; }
  // Precondition: !done().
  wresult<frame_view> next() noexcept;
  // After done(): any bytes left over are an error.
  bool trailing_garbage() const noexcept { return !_rest.empty(); }

 private:
  bytes _rest;
  std::uint16_t _left;
};

// Writes a frame header + body into `out`; returns total bytes.
wresult<std::size_t> encode_frame(mut_bytes out, frame_type t, std::uint8_t flags,
                                  std::uint32_t seq, bytes body) noexcept;

// ---- frame bodies ---------------------------------------------------------------
// A list of fixed-size entries inside a body; no allocation.
template <class T>
class entry_list {
 public:
  entry_list() noexcept = default;
  explicit entry_list(bytes raw) noexcept : _raw(raw) {}
  std::size_t size() const noexcept { return _raw.size() / sizeof(T); }
  T operator[](std::size_t i) const noexcept {
    T v;
    std::memcpy(&v, _raw.data() + i * sizeof(T), sizeof(T));
    return v;
  }
  bytes raw() const noexcept { return _raw; }

 private:
  bytes _raw;
};

struct ranges_view {  // SACK and NAK
  entry_list<seq_range> ranges;
};
struct ping_view {
  std::uint64_t nonce;
  bool reply;
};
struct close_view {
  status reason;
  std::string_view text;
};
struct fragment_view {
  fragment_fixed f;
  bytes chunk;
};
struct open_queue_view {
  open_queue_fixed f;  // f.uri_sz / f.app_id_sz describe the strings below
  std::string_view uri;
  std::string_view app_id;
};
struct put_view {
  put_fixed f;
  bytes properties;  // a properties block (see properties.h); empty = none
  bytes payload;
};
struct push_view {
  push_fixed f;
  bytes properties;
  bytes payload;
};
struct error_view {
  error_fixed f;
  std::string_view text;
};

wresult<ranges_view> decode_ranges(bytes body) noexcept;
wresult<ping_view> decode_ping(std::uint8_t flags, bytes body) noexcept;
wresult<std::uint32_t> decode_window(bytes body) noexcept;
wresult<close_view> decode_close(bytes body) noexcept;
wresult<fragment_view> decode_fragment(bytes body) noexcept;
wresult<open_queue_view> decode_open_queue(bytes body) noexcept;
wresult<queue_opened_fixed> decode_queue_opened(bytes body) noexcept;
wresult<redirect_fixed> decode_redirect(bytes body) noexcept;
wresult<configure_queue_fixed> decode_configure_queue(bytes body) noexcept;
wresult<close_queue_fixed> decode_close_queue(bytes body) noexcept;
wresult<queue_result_fixed> decode_queue_result(bytes body) noexcept;
wresult<put_view> decode_put(bytes body) noexcept;
wresult<entry_list<ack_entry>> decode_ack(bytes body) noexcept;
wresult<push_view> decode_push(bytes body) noexcept;
wresult<entry_list<confirm_entry>> decode_confirm(bytes body) noexcept;
wresult<error_view> decode_error(bytes body) noexcept;

// Body encoders: write the body only (no frame header); return its size.
// Lengths inside fixed parts (uri_sz, props_sz, ...) are derived from the
// spans, so callers need not fill them.
wresult<std::size_t> encode_ranges(mut_bytes out, std::span<const seq_range> ranges) noexcept;
wresult<std::size_t> encode_ping(mut_bytes out, std::uint64_t nonce) noexcept;
wresult<std::size_t> encode_window(mut_bytes out, std::uint32_t window_bytes) noexcept;
wresult<std::size_t> encode_close(mut_bytes out, status reason, std::string_view text) noexcept;
wresult<std::size_t> encode_fragment(mut_bytes out, frame_type inner, std::uint32_t total_sz,
                                     std::uint32_t offset, bytes chunk) noexcept;
wresult<std::size_t> encode_open_queue(mut_bytes out, const open_queue_view& v) noexcept;
wresult<std::size_t> encode_queue_opened(mut_bytes out, const queue_opened_fixed& v) noexcept;
wresult<std::size_t> encode_redirect(mut_bytes out, const redirect_fixed& v) noexcept;
wresult<std::size_t> encode_configure_queue(mut_bytes out, const configure_queue_fixed& v) noexcept;
wresult<std::size_t> encode_close_queue(mut_bytes out, const close_queue_fixed& v) noexcept;
wresult<std::size_t> encode_queue_result(mut_bytes out, const queue_result_fixed& v) noexcept;
wresult<std::size_t> encode_put(mut_bytes out, const put_view& v) noexcept;
wresult<std::size_t> encode_ack(mut_bytes out, std::span<const ack_entry> entries) noexcept;
wresult<std::size_t> encode_push(mut_bytes out, const push_view& v) noexcept;
wresult<std::size_t> encode_confirm(mut_bytes out, std::span<const confirm_entry> entries) noexcept;
wresult<std::size_t> encode_error(mut_bytes out, const error_view& v) noexcept;

// Largest entry counts that fit a body of `body_sz_max` bytes.
constexpr std::size_t ack_entries_fit(std::size_t body_sz_max) noexcept {
  return body_sz_max < sizeof(batch_fixed) ? 0 : (body_sz_max - sizeof(batch_fixed)) / sizeof(ack_entry);
}
constexpr std::size_t confirm_entries_fit(std::size_t body_sz_max) noexcept {
  return body_sz_max < sizeof(batch_fixed) ? 0
                                           : (body_sz_max - sizeof(batch_fixed)) / sizeof(confirm_entry);
}

}  // namespace sluice::wire
