// Tests for the packet header and the handshake bodies (packet.cc).
#include <gtest/gtest.h>

#include "datapath/wire/codec.h"
#include "datapath/wire/wire_test_util.h"

namespace sluice::wire {
namespace {
using namespace test;

constexpr std::uint64_t k_session = 0xABCDEF0123456789;

// A header as a peer might send it: magic and version right, nothing checked.
packet_header header(packet_kind kind, std::uint64_t session_id, std::size_t payload_sz) {
  packet_header h{};
  h.magic = k_magic;
  h.version = k_version;
  h.kind = static_cast<std::uint8_t>(kind);
  h.session_id = session_id;
  h.payload_sz = static_cast<std::uint16_t>(payload_sz);
  return h;
}

buf raw_datagram(const packet_header& h, bytes payload = {}) { return body_of(h, payload); }

errc header_err(const packet_header& h, bytes payload = {}) {
  return err_of(decode_packet_header(raw_datagram(h, payload)));
}

connect_body valid_connect() {
  connect_body c{};
  c.client_nonce = 0x1122334455667788;
  c.max_datagram_sz = static_cast<std::uint16_t>(k_datagram_sz_default);
  c.recv_window = 256;
  c.max_message_sz = k_message_sz_default;
  return c;
}

challenge_body valid_challenge() {
  challenge_body c{};
  c.client_nonce = 0x1122334455667788;
  c.cookie_mac = 0xFEEDFACECAFEBEEF;
  c.cookie_ts = 1'700'000'000;
  return c;
}

accept_body valid_accept() {
  accept_body a{};
  a.client_nonce = 0x1122334455667788;
  a.max_datagram_sz = 1452;
  a.recv_window = k_window_max;
  a.max_message_sz = k_message_sz_max;
  return a;
}

reset_body valid_reset() {
  reset_body r{};
  r.reason = static_cast<std::uint16_t>(status::shutting_down);
  return r;
}

refuse_body valid_refuse() {
  refuse_body r{};
  r.client_nonce = 0x1122334455667788ull;
  r.reason = static_cast<std::uint16_t>(status::limit_reached);
  return r;
}

struct handshake_case {
  packet_kind kind;
  std::size_t body_sz;
  bool wants_session;
};
constexpr handshake_case k_handshakes[] = {
    {packet_kind::connect, sizeof(connect_body), false},
    {packet_kind::challenge, sizeof(challenge_body), false},
    {packet_kind::accept, sizeof(accept_body), true},
    {packet_kind::reset, sizeof(reset_body), true},
    {packet_kind::refuse, sizeof(refuse_body), false},
};

// ---- packet header: failure cases ---------------------------------------------

TEST(packet_header, rejects_every_length_shorter_than_a_header) {
  const buf d = raw_datagram(header(packet_kind::data, k_session, 0));
  for (std::size_t n = 0; n < k_packet_header_sz; ++n) {
    EXPECT_EQ(err_of(decode_packet_header(bytes{d.data(), n})), errc::truncated) << n;
  }
}

TEST(packet_header, rejects_every_truncated_handshake_datagram) {
  const buf d = encoded([](mut_bytes o) { return encode_connect(o, valid_connect()); });
  for (std::size_t n = 0; n < d.size(); ++n) {
    const errc want = n < k_packet_header_sz ? errc::truncated : errc::bad_length;
    EXPECT_EQ(err_of(decode_packet_header(bytes{d.data(), n})), want) << n;
  }
}

TEST(packet_header, rejects_bad_magic) {
  for (std::uint32_t magic : {0u, k_magic ^ 1u, 0x534C4345u /* byte-swapped */, 0xFFFFFFFFu}) {
    auto h = header(packet_kind::data, k_session, 0);
    h.magic = magic;
    EXPECT_EQ(header_err(h), errc::bad_magic) << magic;
  }
}

TEST(packet_header, rejects_bad_version) {
  for (int v : {0, 2, 255}) {
    auto h = header(packet_kind::data, k_session, 0);
    h.version = static_cast<std::uint8_t>(v);
    EXPECT_EQ(header_err(h), errc::bad_version) << v;
  }
}

TEST(packet_header, rejects_bad_kind) {
  for (int k : {0, 7, 0x80, 255}) {
    auto h = header(packet_kind::data, k_session, 0);
    h.kind = static_cast<std::uint8_t>(k);
    EXPECT_EQ(header_err(h), errc::bad_kind) << k;
  }
}

TEST(packet_header, rejects_unknown_flag_bits) {
  for (unsigned bit = 1; bit < 16; ++bit) {
    auto h = header(packet_kind::data, k_session, 0);
    h.flags = static_cast<std::uint16_t>(k_pflag_ack_valid | (1u << bit));
    EXPECT_EQ(header_err(h), errc::bad_flags) << bit;
  }
}

TEST(packet_header, rejects_payload_sz_disagreeing_with_datagram) {
  auto h = header(packet_kind::data, k_session, 16);
  h.frame_cnt = 1;
  EXPECT_EQ(header_err(h, filled(15, 0)), errc::bad_length);
  EXPECT_EQ(header_err(h, filled(17, 0)), errc::bad_length);
  EXPECT_EQ(header_err(h), errc::bad_length);
  for (const auto& c : k_handshakes) {
    const auto hs = header(c.kind, c.wants_session ? k_session : 0, c.body_sz);
    EXPECT_EQ(header_err(hs, filled(c.body_sz - 1, 0)), errc::bad_length);
    EXPECT_EQ(header_err(hs, filled(c.body_sz + 1, 0)), errc::bad_length);
  }
}

TEST(packet_header, rejects_frame_cnt_disagreeing_with_data_payload) {
  auto h = header(packet_kind::data, k_session, 16);
  h.frame_cnt = 0;  // bytes but no frames
  EXPECT_EQ(header_err(h, filled(16, 0)), errc::bad_length);
  h.frame_cnt = 3;  // more frames than 8-byte headers fit
  EXPECT_EQ(header_err(h, filled(16, 0)), errc::bad_length);
}

TEST(packet_header, rejects_handshake_body_of_wrong_size) {
  for (const auto& c : k_handshakes) {
    const std::uint64_t sid = c.wants_session ? k_session : 0;
    for (std::size_t sz : {std::size_t{0}, c.body_sz - 1, c.body_sz + 1, c.body_sz + 8}) {
      EXPECT_EQ(header_err(header(c.kind, sid, sz), filled(sz, 0)), errc::bad_length)
          << static_cast<int>(c.kind) << " body " << sz;
    }
  }
  constexpr std::size_t sizes[] = {0, 7, 9, 23, 25, 47, 49};  // none is a body size
  for (std::size_t sz : sizes) {
    const buf b = filled(sz, 0);
    EXPECT_EQ(err_of(decode_connect(b)), errc::bad_length) << sz;
    EXPECT_EQ(err_of(decode_challenge(b)), errc::bad_length) << sz;
    EXPECT_EQ(err_of(decode_accept(b)), errc::bad_length) << sz;
    EXPECT_EQ(err_of(decode_reset(b)), errc::bad_length) << sz;
    EXPECT_EQ(err_of(decode_refuse(b)), errc::bad_length) << sz;
  }
}

TEST(packet_header, rejects_non_zero_reserved_header_fields_in_handshakes) {
  for (const auto& c : k_handshakes) {
    const buf body = filled(c.body_sz, 0);
    auto h = header(c.kind, c.wants_session ? k_session : 0, c.body_sz);
    ASSERT_TRUE(decode_packet_header(raw_datagram(h, body)).ok());
    auto with_frames = h;
    with_frames.frame_cnt = 1;
    EXPECT_EQ(header_err(with_frames, body), errc::bad_field);
    auto with_ack = h;
    with_ack.ack_seq = 7;
    EXPECT_EQ(header_err(with_ack, body), errc::bad_field);
    auto with_flag = h;
    with_flag.flags = k_pflag_ack_valid;
    EXPECT_EQ(header_err(with_flag, body), errc::bad_field);
  }
}

TEST(packet_header, rejects_ack_seq_without_ack_valid_flag) {
  auto h = header(packet_kind::data, k_session, 0);
  h.ack_seq = 1;
  EXPECT_EQ(header_err(h), errc::bad_field);
  h.flags = k_pflag_ack_valid;
  EXPECT_EQ(header_err(h), errc{});
}

TEST(packet_header, enforces_session_id_rules) {
  EXPECT_EQ(header_err(header(packet_kind::data, 0, 0)), errc::bad_field);
  for (const auto& c : k_handshakes) {
    const std::uint64_t wrong = c.wants_session ? 0 : k_session;
    EXPECT_EQ(header_err(header(c.kind, wrong, c.body_sz), filled(c.body_sz, 0)), errc::bad_field)
        << static_cast<int>(c.kind);
  }
}

// ---- handshake bodies: failure cases --------------------------------------------

template <class Body, class Decode, class Mutate>
errc body_err(Body b, Decode decode, Mutate mutate) {
  mutate(b);
  return err_of(decode(bytes_of(b)));
}

TEST(handshake, connect_rejects_reserved_and_out_of_range_fields) {
  const auto bad = [](auto mutate) { return body_err(valid_connect(), decode_connect, mutate); };
  EXPECT_EQ(bad([](connect_body& c) { c.reserved0 = 1; }), errc::bad_field);
  EXPECT_EQ(bad([](connect_body& c) { c.client_nonce = 0; }), errc::bad_field);
  for (std::size_t i = 0; i < sizeof(connect_body::padding); ++i) {
    EXPECT_EQ(bad([i](connect_body& c) { c.padding[i] = 0x80; }), errc::bad_field) << i;
  }
  EXPECT_EQ(bad([](connect_body& c) { c.recv_window = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](connect_body& c) { c.recv_window = k_window_max + 1; }), errc::bad_field);
  EXPECT_EQ(bad([](connect_body& c) { c.max_datagram_sz = k_datagram_sz_min - 1; }), errc::bad_field);
  EXPECT_EQ(bad([](connect_body& c) { c.max_datagram_sz = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](connect_body& c) { c.max_message_sz = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](connect_body& c) { c.max_message_sz = k_message_sz_max + 1; }), errc::bad_field);
  EXPECT_EQ(bad([](connect_body& c) { c.cookie_mac = 5; }), errc::bad_field);  // mac without ts
  EXPECT_EQ(bad([](connect_body& c) { c.cookie_ts = 5; }), errc::bad_field);   // ts without mac
  // The limits themselves are allowed.
  EXPECT_EQ(bad([](connect_body& c) { c.recv_window = 1; }), errc{});
  EXPECT_EQ(bad([](connect_body& c) { c.recv_window = k_window_max; }), errc{});
  EXPECT_EQ(bad([](connect_body& c) { c.max_datagram_sz = k_datagram_sz_min; }), errc{});
  EXPECT_EQ(bad([](connect_body& c) { c.max_datagram_sz = k_datagram_sz_max; }), errc{});
  EXPECT_EQ(bad([](connect_body& c) { c.max_message_sz = 1; }), errc{});
  EXPECT_EQ(bad([](connect_body& c) { c.max_message_sz = k_message_sz_max; }), errc{});
}

TEST(handshake, connect_rejects_datagram_size_above_the_protocol_maximum) {
  const auto bad = [](auto mutate) { return body_err(valid_connect(), decode_connect, mutate); };
  EXPECT_EQ(bad([](connect_body& c) { c.max_datagram_sz = k_datagram_sz_max + 1; }), errc::bad_field);
  EXPECT_EQ(bad([](connect_body& c) { c.max_datagram_sz = 0xFFFF; }), errc::bad_field);
}

TEST(handshake, challenge_rejects_reserved_and_zero_cookie_or_nonce) {
  const auto bad = [](auto mutate) { return body_err(valid_challenge(), decode_challenge, mutate); };
  EXPECT_EQ(bad([](challenge_body& c) { c.reserved0 = 1; }), errc::bad_field);
  EXPECT_EQ(bad([](challenge_body& c) { c.cookie_ts = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](challenge_body& c) { c.cookie_mac = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](challenge_body& c) { c.client_nonce = 0; }), errc::bad_field);
}

TEST(handshake, accept_rejects_reserved_and_out_of_range_fields) {
  const auto bad = [](auto mutate) { return body_err(valid_accept(), decode_accept, mutate); };
  EXPECT_EQ(bad([](accept_body& a) { a.reserved0 = 1; }), errc::bad_field);
  EXPECT_EQ(bad([](accept_body& a) { a.reserved1 = 1u << 31; }), errc::bad_field);
  EXPECT_EQ(bad([](accept_body& a) { a.client_nonce = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](accept_body& a) { a.recv_window = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](accept_body& a) { a.recv_window = k_window_max + 1; }), errc::bad_field);
  EXPECT_EQ(bad([](accept_body& a) { a.max_datagram_sz = k_datagram_sz_min - 1; }), errc::bad_field);
  EXPECT_EQ(bad([](accept_body& a) { a.max_datagram_sz = k_datagram_sz_max + 1; }), errc::bad_field);
  EXPECT_EQ(bad([](accept_body& a) { a.max_message_sz = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](accept_body& a) { a.max_message_sz = k_message_sz_max + 1; }), errc::bad_field);
}

TEST(handshake, reset_rejects_reserved_and_unknown_reason) {
  const auto bad = [](auto mutate) { return body_err(valid_reset(), decode_reset, mutate); };
  EXPECT_EQ(bad([](reset_body& r) { r.reserved0 = 1; }), errc::bad_field);
  EXPECT_EQ(bad([](reset_body& r) { r.reserved1 = 1; }), errc::bad_field);
  EXPECT_EQ(bad([](reset_body& r) { r.reason = k_status_max + 1; }), errc::bad_field);
  EXPECT_EQ(bad([](reset_body& r) { r.reason = k_status_max; }), errc{});
}

TEST(handshake, refuse_rejects_reserved_zero_nonce_and_ok_or_unknown_reason) {
  const auto bad = [](auto mutate) { return body_err(valid_refuse(), decode_refuse, mutate); };
  EXPECT_EQ(bad([](refuse_body& r) { r.reserved0 = 1; }), errc::bad_field);
  EXPECT_EQ(bad([](refuse_body& r) { r.reserved1 = 1; }), errc::bad_field);
  EXPECT_EQ(bad([](refuse_body& r) { r.client_nonce = 0; }), errc::bad_field);
  EXPECT_EQ(bad([](refuse_body& r) { r.reason = 0; }), errc::bad_field) << "a refusal has a reason";
  EXPECT_EQ(bad([](refuse_body& r) { r.reason = k_status_max + 1; }), errc::bad_field);
  EXPECT_EQ(bad([](refuse_body& r) { r.reason = k_status_max; }), errc{});
}

TEST(handshake, encoders_refuse_too_small_buffers) {
  expect_no_space_below(k_packet_header_sz + sizeof(connect_body),
                        [](mut_bytes o) { return encode_connect(o, valid_connect()); });
  expect_no_space_below(k_packet_header_sz + sizeof(challenge_body),
                        [](mut_bytes o) { return encode_challenge(o, valid_challenge()); });
  expect_no_space_below(k_packet_header_sz + sizeof(accept_body),
                        [](mut_bytes o) { return encode_accept(o, k_session, valid_accept()); });
  expect_no_space_below(k_packet_header_sz + sizeof(reset_body),
                        [](mut_bytes o) { return encode_reset(o, k_session, valid_reset()); });
}

TEST(handshake, encoders_refuse_values_a_decoder_would_reject) {
  buf out(256);
  auto c = valid_connect();
  c.recv_window = 0;
  EXPECT_EQ(err_of(encode_connect(out, c)), errc::bad_field);
  c = valid_connect();
  c.cookie_ts = 9;  // ts without mac
  EXPECT_EQ(err_of(encode_connect(out, c)), errc::bad_field);
  c = valid_connect();
  c.client_nonce = 0;
  EXPECT_EQ(err_of(encode_connect(out, c)), errc::bad_field);
  auto ch = valid_challenge();
  ch.cookie_ts = 0;
  EXPECT_EQ(err_of(encode_challenge(out, ch)), errc::bad_field);
  ch = valid_challenge();
  ch.cookie_mac = 0;
  EXPECT_EQ(err_of(encode_challenge(out, ch)), errc::bad_field);
  EXPECT_EQ(err_of(encode_accept(out, 0, valid_accept())), errc::bad_field);
  auto a = valid_accept();
  a.max_message_sz = 0;
  EXPECT_EQ(err_of(encode_accept(out, k_session, a)), errc::bad_field);
  a = valid_accept();
  a.client_nonce = 0;
  EXPECT_EQ(err_of(encode_accept(out, k_session, a)), errc::bad_field);
  EXPECT_EQ(err_of(encode_reset(out, 0, valid_reset())), errc::bad_field);
  auto r = valid_reset();
  r.reason = k_status_max + 1;
  EXPECT_EQ(err_of(encode_reset(out, k_session, r)), errc::bad_field);
}

// ---- round trips -------------------------------------------------------------------

// Decodes a whole handshake datagram and returns its body; checks the header.
template <class Body>
Body decode_handshake(const buf& d, packet_kind kind, std::uint64_t session_id,
                      wresult<Body> (*decode)(bytes) noexcept) {
  const auto h = decode_packet_header(d);
  EXPECT_TRUE(h.ok()) << errc_name(err_of(h));
  if (!h.ok()) return Body{};
  EXPECT_EQ(h->kind, static_cast<std::uint8_t>(kind));
  EXPECT_EQ(h->session_id, session_id);
  EXPECT_EQ(h->payload_sz, sizeof(Body));
  EXPECT_EQ(h->frame_cnt, 0);
  const auto b = decode(bytes{d}.subspan(k_packet_header_sz));
  EXPECT_TRUE(b.ok()) << errc_name(err_of(b));
  return b.ok() ? b.value() : Body{};
}

TEST(handshake, refuse_round_trips_and_encoder_refuses_what_a_decoder_would) {
  const buf d = encoded([&](mut_bytes o) { return encode_refuse(o, valid_refuse()); });
  EXPECT_EQ(d.size(), k_packet_header_sz + sizeof(refuse_body));
  EXPECT_LT(d.size(), k_packet_header_sz + sizeof(connect_body)) << "never more than the CONNECT it answers";
  EXPECT_TRUE(same_bytes(decode_handshake(d, packet_kind::refuse, 0, decode_refuse), valid_refuse()));
  expect_no_space_below(k_packet_header_sz + sizeof(refuse_body),
                        [](mut_bytes o) { return encode_refuse(o, valid_refuse()); });
  buf out(256);
  auto r = valid_refuse();
  r.reason = 0;
  EXPECT_EQ(err_of(encode_refuse(out, r)), errc::bad_field);
  r = valid_refuse();
  r.client_nonce = 0;
  EXPECT_EQ(err_of(encode_refuse(out, r)), errc::bad_field);
}

TEST(handshake, connect_round_trips_first_and_cookie_echo) {
  auto first = valid_connect();
  const buf d1 = encoded([&](mut_bytes o) { return encode_connect(o, first); });
  EXPECT_EQ(d1.size(), k_packet_header_sz + sizeof(connect_body));
  EXPECT_TRUE(same_bytes(decode_handshake(d1, packet_kind::connect, 0, decode_connect), first));

  auto echo = valid_connect();
  echo.cookie_mac = 0xDEADBEEF;
  echo.cookie_ts = 12345;
  const buf d2 = encoded([&](mut_bytes o) { return encode_connect(o, echo); });
  EXPECT_TRUE(same_bytes(decode_handshake(d2, packet_kind::connect, 0, decode_connect), echo));
}

TEST(handshake, encoders_zero_reserved_fields) {
  auto c = valid_connect();
  c.reserved0 = 0xFFFF;
  c.padding[3] = 9;
  const buf d = encoded([&](mut_bytes o) { return encode_connect(o, c); });
  const auto got = decode_handshake(d, packet_kind::connect, 0, decode_connect);
  EXPECT_TRUE(same_bytes(got, valid_connect()));

  auto r = valid_reset();
  r.reserved0 = 1;
  r.reserved1 = 2;
  const buf dr = encoded([&](mut_bytes o) { return encode_reset(o, k_session, r); });
  EXPECT_TRUE(same_bytes(decode_handshake(dr, packet_kind::reset, k_session, decode_reset), valid_reset()));
}

TEST(handshake, challenge_accept_reset_round_trip) {
  const auto ch = valid_challenge();
  const buf d1 = encoded([&](mut_bytes o) { return encode_challenge(o, ch); });
  EXPECT_TRUE(same_bytes(decode_handshake(d1, packet_kind::challenge, 0, decode_challenge), ch));

  const auto a = valid_accept();
  const buf d2 = encoded([&](mut_bytes o) { return encode_accept(o, k_session, a); });
  EXPECT_TRUE(same_bytes(decode_handshake(d2, packet_kind::accept, k_session, decode_accept), a));

  const auto r = valid_reset();
  const buf d3 = encoded([&](mut_bytes o) { return encode_reset(o, k_session, r); });
  EXPECT_TRUE(same_bytes(decode_handshake(d3, packet_kind::reset, k_session, decode_reset), r));
}

TEST(packet_header, data_header_round_trips) {
  auto h = header(packet_kind::data, k_session, 16);
  h.magic = 0;  // the encoder fills magic and version
  h.version = 0;
  h.flags = k_pflag_ack_valid;
  h.ack_seq = 0xFFFFFFF0;
  h.frame_cnt = 2;
  buf d(k_packet_header_sz + 16);
  encode_packet_header(d, h);
  const auto got = decode_packet_header(d);
  ASSERT_TRUE(got.ok()) << errc_name(err_of(got));
  EXPECT_EQ(got->magic, k_magic);
  EXPECT_EQ(got->version, k_version);
  EXPECT_EQ(got->kind, static_cast<std::uint8_t>(packet_kind::data));
  EXPECT_EQ(got->flags, k_pflag_ack_valid);
  EXPECT_EQ(got->session_id, k_session);
  EXPECT_EQ(got->ack_seq, 0xFFFFFFF0u);
  EXPECT_EQ(got->payload_sz, 16);
  EXPECT_EQ(got->frame_cnt, 2);
  // The magic reads "SLCE" on the wire.
  EXPECT_EQ(std::memcmp(d.data(), "SLCE", 4), 0);
}

TEST(packet_header, empty_data_packet_is_a_pure_ack) {
  auto h = header(packet_kind::data, k_session, 0);
  h.flags = k_pflag_ack_valid;
  h.ack_seq = 42;
  EXPECT_EQ(header_err(h), errc{});
}

}  // namespace
}  // namespace sluice::wire
