// datapath/wire/fuzz_wire_decode.cc — libFuzzer target for the whole wire codec.
//
// Input: one datagram, as the receive path would see it. Property: anything
// a decoder accepts re-encodes with the matching encoder to the very same
// bytes and decodes again to equal values. The decoders reject non-zero
// reserved fields and derive no defaults, so decode → encode must be the
// identity on accepted input. A violation, or an encoder refusing a value
// its decoder accepted, traps. No allocation: static buffers only.
//
// Each input runs twice: as-is (which fuzzes header validation), then with
// its header made valid (magic, version, payload_sz, frame_cnt, reserved
// fields, session id; handshake bodies cut or zero-padded to size), so that
// mutations of the payload reach the body decoders instead of dying on a
// header the fuzzer would otherwise have to keep consistent by itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "datapath/wire/codec.h"
#include "datapath/wire/properties.h"

namespace sluice::wire {
namespace {

constexpr std::size_t k_buf_sz = 128 * 1024;
std::byte g_body[k_buf_sz];
std::byte g_frame[k_buf_sz];
std::byte g_datagram[k_buf_sz];
std::byte g_fixed[k_buf_sz];
std::byte g_props[k_properties_sz_max];
// Entries copied out of a body: the input has no alignment, spans of structs need it.
seq_range g_ranges[k_ranges_max];
ack_entry g_acks[UINT16_MAX / sizeof(ack_entry) + 1];
confirm_entry g_confirms[UINT16_MAX / sizeof(confirm_entry) + 1];

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// ---- equality of decoded values ------------------------------------------------------

template <class T>
bool eq(const T& a, const T& b) {  // fixed layouts: no padding (static_asserts in layouts.h)
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}
template <class T>
bool eq(const entry_list<T>& a, const entry_list<T>& b) {
  return equal_bytes(a.raw(), b.raw());
}
bool eq(const ranges_view& a, const ranges_view& b) { return eq(a.ranges, b.ranges); }
bool eq(const ping_view& a, const ping_view& b) { return a.nonce == b.nonce && a.reply == b.reply; }
bool eq(const close_view& a, const close_view& b) { return a.reason == b.reason && a.text == b.text; }
bool eq(const fragment_view& a, const fragment_view& b) {
  return eq(a.f, b.f) && equal_bytes(a.chunk, b.chunk);
}
bool eq(const open_queue_view& a, const open_queue_view& b) {
  return eq(a.f, b.f) && a.uri == b.uri && a.app_id == b.app_id;
}
bool eq(const put_view& a, const put_view& b) {
  return eq(a.f, b.f) && equal_bytes(a.properties, b.properties) && equal_bytes(a.payload, b.payload);
}
bool eq(const push_view& a, const push_view& b) {
  return eq(a.f, b.f) && equal_bytes(a.properties, b.properties) && equal_bytes(a.payload, b.payload);
}
bool eq(const error_view& a, const error_view& b) { return eq(a.f, b.f) && a.text == b.text; }

template <class T, std::size_t N>
std::span<const T> copy_entries(const entry_list<T>& list, T (&out)[N]) {
  check(list.size() <= N);
  for (std::size_t i = 0; i < list.size(); ++i) out[i] = list[i];
  return {out, list.size()};
}

// ---- properties ---------------------------------------------------------------------------

// A block accepted by decode_put/decode_push: it validates, every property
// reads back within the limits, and property_writer rebuilds an equal block.
void check_properties(bytes block) {
  check(validate_properties(block).ok());
  property_reader r(block);
  property_writer w(mut_bytes{g_props});
  std::size_t cnt = 0;
  while (!r.done()) {
    const property p = r.next();
    ++cnt;
    check(!p.key.empty() && p.key.size() <= k_property_key_sz_max);
    wstatus added;
    switch (p.type) {
      case property_type::boolean:
        check(p.value.size() == 1);
        added = w.add_bool(p.key, p.as_bool());
        break;
      case property_type::int32:
        check(p.value.size() == 4);
        added = w.add_int32(p.key, static_cast<std::int32_t>(p.as_int()));
        break;
      case property_type::int64:
        check(p.value.size() == 8);
        added = w.add_int64(p.key, p.as_int());
        break;
      case property_type::string: added = w.add_string(p.key, p.as_string()); break;
      case property_type::binary: added = w.add_binary(p.key, p.value); break;
      default: check(false);
    }
    check(added.ok());
  }
  check(cnt <= k_properties_cnt_max);
  // Booleans are 0 or 1 on the wire, so the rebuilt block is byte-identical.
  check(equal_bytes(w.finish(), block));
}

// ---- frames ----------------------------------------------------------------------------------

// decode(v) → encode → same body bytes → encode_frame → frame_reader → same
// header and body → decode again → equal value.
template <class Decode, class Encode>
void round_trip_frame(const frame_view& v, Decode decode, Encode encode) {
  const auto d1 = decode(v);
  if (!d1.ok()) return;  // rejected input: nothing to compare
  const auto body_sz = encode(mut_bytes{g_body}, d1.value());
  check(body_sz.ok());
  const bytes body{g_body, body_sz.value()};
  check(equal_bytes(body, v.body));
  const auto frame_sz = encode_frame(mut_bytes{g_frame}, v.type(), v.hdr.flags, v.hdr.seq, body);
  check(frame_sz.ok() && frame_sz.value() == k_frame_header_sz + body.size());
  frame_reader r(bytes{g_frame, frame_sz.value()}, 1);
  const auto v2 = r.next();
  check(v2.ok() && r.done() && !r.trailing_garbage());
  check(eq(v2->hdr, v.hdr) && equal_bytes(v2->body, v.body));
  const auto d2 = decode(v2.value());
  check(d2.ok() && eq(d1.value(), d2.value()));
}

// Adapts a body-only decoder to the frame_view signature round_trip_frame uses.
template <auto Decode>
auto body_only(const frame_view& v) {
  return Decode(v.body);
}

void fuzz_frame(const frame_view& v) {
  switch (v.type()) {
    case frame_type::sack:
    case frame_type::nak:
      round_trip_frame(v, body_only<decode_ranges>, [](mut_bytes o, const ranges_view& d) {
        return encode_ranges(o, copy_entries(d.ranges, g_ranges));
      });
      break;
    case frame_type::window:
      round_trip_frame(v, body_only<decode_window>, [](mut_bytes o, std::uint32_t d) { return encode_window(o, d); });
      break;
    case frame_type::ping:
      round_trip_frame(
          v, [](const frame_view& f) { return decode_ping(f.hdr.flags, f.body); },
          [](mut_bytes o, const ping_view& d) { return encode_ping(o, d.nonce); });
      break;
    case frame_type::close:
      round_trip_frame(v, body_only<decode_close>,
                       [](mut_bytes o, const close_view& d) { return encode_close(o, d.reason, d.text); });
      break;
    case frame_type::fragment:
      round_trip_frame(v, body_only<decode_fragment>, [](mut_bytes o, const fragment_view& d) {
        return encode_fragment(o, static_cast<frame_type>(d.f.inner_type), d.f.total_sz, d.f.offset, d.chunk);
      });
      break;
    case frame_type::open_queue: round_trip_frame(v, body_only<decode_open_queue>, encode_open_queue); break;
    case frame_type::queue_opened:
      round_trip_frame(v, body_only<decode_queue_opened>, encode_queue_opened);
      break;
    case frame_type::redirect: round_trip_frame(v, body_only<decode_redirect>, encode_redirect); break;
    case frame_type::configure_queue:
      round_trip_frame(v, body_only<decode_configure_queue>, encode_configure_queue);
      break;
    case frame_type::close_queue: round_trip_frame(v, body_only<decode_close_queue>, encode_close_queue); break;
    case frame_type::queue_result:
      round_trip_frame(v, body_only<decode_queue_result>, encode_queue_result);
      break;
    case frame_type::put:
      round_trip_frame(v, body_only<decode_put>, [](mut_bytes o, const put_view& d) {
        check_properties(d.properties);
        return encode_put(o, d);
      });
      break;
    case frame_type::ack:
      round_trip_frame(v, body_only<decode_ack>, [](mut_bytes o, const entry_list<ack_entry>& d) {
        return encode_ack(o, copy_entries(d, g_acks));
      });
      break;
    case frame_type::push:
      round_trip_frame(v, body_only<decode_push>, [](mut_bytes o, const push_view& d) {
        check_properties(d.properties);
        return encode_push(o, d);
      });
      break;
    case frame_type::confirm:
      round_trip_frame(v, body_only<decode_confirm>, [](mut_bytes o, const entry_list<confirm_entry>& d) {
        return encode_confirm(o, copy_entries(d, g_confirms));
      });
      break;
    case frame_type::error: round_trip_frame(v, body_only<decode_error>, encode_error); break;
  }
}

// ---- packets ---------------------------------------------------------------------------------

// A handshake datagram: decode the body, re-encode the whole datagram, and
// require the same bytes, an equal header and an equal body.
template <class Body, class Encode>
void round_trip_handshake(const packet_header& h, bytes datagram, wresult<Body> (*decode)(bytes) noexcept,
                          Encode encode) {
  const auto b1 = decode(datagram.subspan(k_packet_header_sz));
  if (!b1.ok()) return;
  const auto n = encode(mut_bytes{g_datagram}, h.session_id, b1.value());
  check(n.ok());
  const bytes again{g_datagram, n.value()};
  check(equal_bytes(again, datagram));
  const auto h2 = decode_packet_header(again);
  check(h2.ok() && eq(h2.value(), h));
  const auto b2 = decode(again.subspan(k_packet_header_sz));
  check(b2.ok() && eq(b2.value(), b1.value()));
}

void fuzz_datagram(bytes datagram) {
  const auto h = decode_packet_header(datagram);
  if (!h.ok()) return;
  switch (static_cast<packet_kind>(h->kind)) {
    case packet_kind::connect:
      round_trip_handshake(*h, datagram, decode_connect, [](mut_bytes o, std::uint64_t, const connect_body& b) {
        return encode_connect(o, b);
      });
      return;
    case packet_kind::challenge:
      round_trip_handshake(*h, datagram, decode_challenge,
                           [](mut_bytes o, std::uint64_t, const challenge_body& b) {
                             return encode_challenge(o, b);
                           });
      return;
    case packet_kind::accept: round_trip_handshake(*h, datagram, decode_accept, encode_accept); return;
    case packet_kind::reset: round_trip_handshake(*h, datagram, decode_reset, encode_reset); return;
    case packet_kind::refuse:
      round_trip_handshake(*h, datagram, decode_refuse, [](mut_bytes o, std::uint64_t, const refuse_body& b) {
        return encode_refuse(o, b);
      });
      return;
    case packet_kind::data: break;
  }
  check(h->kind == static_cast<std::uint8_t>(packet_kind::data));  // decode_packet_header knows no other kind
  encode_packet_header(mut_bytes{g_datagram}, *h);
  check(std::memcmp(g_datagram, datagram.data(), k_packet_header_sz) == 0);
  frame_reader r(datagram.subspan(k_packet_header_sz), h->frame_cnt);
  while (!r.done()) {
    const auto v = r.next();
    if (!v.ok()) return;
    const std::byte* end = datagram.data() + datagram.size();
    check(v->body.data() >= datagram.data() && v->body.data() + v->body.size() <= end);  // views the input
    fuzz_frame(v.value());
  }
  (void)r.trailing_garbage();
}

// How many whole frames the payload starts with (what frame_cnt should say).
std::uint16_t count_frames(bytes payload) {
  std::uint16_t cnt = 0;
  while (cnt < UINT16_MAX && payload.size() >= k_frame_header_sz) {
    frame_header fh;
    std::memcpy(&fh, payload.data(), sizeof fh);
    if (fh.body_sz > payload.size() - k_frame_header_sz) break;
    payload = payload.subspan(k_frame_header_sz + fh.body_sz);
    ++cnt;
  }
  return cnt;
}

// The input with a header decode_packet_header accepts, in g_fixed; its size,
// or 0 when the input cannot be made into a datagram.
std::size_t with_valid_header(bytes in) {
  if (in.size() < k_packet_header_sz || in.size() - k_packet_header_sz > UINT16_MAX) return 0;
  packet_header h;
  std::memcpy(&h, in.data(), sizeof h);
  h.magic = k_magic;
  h.version = k_version;
  h.kind = static_cast<std::uint8_t>(1 + h.kind % 6);
  bytes payload = in.subspan(k_packet_header_sz);
  std::size_t payload_sz = payload.size();
  const auto kind = static_cast<packet_kind>(h.kind);
  if (kind == packet_kind::data) {
    h.flags &= k_pflags_known;
    if ((h.flags & k_pflag_ack_valid) == 0) h.ack_seq = 0;
    if (h.session_id == 0) h.session_id = 1;
    h.frame_cnt = count_frames(payload);
    if (h.frame_cnt == 0) payload_sz = 0;
  } else {
    h.flags = 0;
    h.ack_seq = 0;
    h.frame_cnt = 0;
    const bool wants_session = kind == packet_kind::accept || kind == packet_kind::reset;
    if (!wants_session) h.session_id = 0;
    if (wants_session && h.session_id == 0) h.session_id = 1;
    payload_sz = kind == packet_kind::connect     ? sizeof(connect_body)
                 : kind == packet_kind::challenge ? sizeof(challenge_body)
                 : kind == packet_kind::accept    ? sizeof(accept_body)
                 : kind == packet_kind::refuse    ? sizeof(refuse_body)
                                                  : sizeof(reset_body);
  }
  h.payload_sz = static_cast<std::uint16_t>(payload_sz);
  std::memcpy(g_fixed, &h, sizeof h);
  std::memset(g_fixed + k_packet_header_sz, 0, payload_sz);
  std::memcpy(g_fixed + k_packet_header_sz, payload.data(), std::min(payload_sz, payload.size()));
  return k_packet_header_sz + payload_sz;
}

}  // namespace
}  // namespace sluice::wire

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::wire;
  const bytes input{reinterpret_cast<const std::byte*>(data), size};
  fuzz_datagram(input);
  if (const std::size_t n = with_valid_header(input); n != 0) {
    const bytes fixed{g_fixed, n};
    check(decode_packet_header(fixed).ok());
    fuzz_datagram(fixed);
  }
  return 0;
}
