// Tests for frame headers, frame_reader and every frame body (frames.cc).
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "datapath/wire/codec.h"
#include "datapath/wire/properties.h"
#include "datapath/wire/wire_test_util.h"

namespace sluice::wire {
namespace {
using namespace test;

constexpr std::uint8_t u8(frame_type t) { return static_cast<std::uint8_t>(t); }
constexpr std::uint16_t u16(status s) { return static_cast<std::uint16_t>(s); }

// ---- reference values: one valid instance per frame type -------------------------

constexpr guid k_guid{0x0102030405060708, 9, 3, 0};
constexpr guid k_bad_guid{1, 2, 3, 1};  // reserved0 set
const std::array<seq_range, 2> k_ranges{{{10, 20}, {0xFFFFFFF0, 0x10}}};  // the second wraps
const std::string k_payload = "hello, sluice";

open_queue_fixed open_queue_fixed_ref() {
  return {5, k_open_flag_read | k_open_flag_write, 0, 0, 0, -3, 1000, 0, 1ull << 33};
}
open_queue_view open_queue_ref() { return {open_queue_fixed_ref(), "sluice://orders/eu", "billing"}; }
queue_opened_fixed queue_opened_ref() { return {5, 42, 0, 0, k_message_sz_default}; }
redirect_fixed redirect_ref(std::uint16_t family) {
  redirect_fixed r{7, 7000, family, {10, 0, 0, 1}};
  if (family == 6) r.addr[15] = 1;
  return r;
}
configure_queue_fixed configure_ref() { return {6, 42, 100, 0, 1ull << 20}; }
close_queue_fixed close_queue_ref() { return {8, 42}; }
queue_result_fixed queue_result_ref() { return {8, 42, u16(status::unknown_queue), 0, 0}; }
ack_entry ack_ref(std::uint32_t corr) { return {42, corr, 0, 0, 0, k_guid}; }
confirm_entry confirm_ref(std::uint32_t queue_id) { return {queue_id, 0, k_guid}; }
error_fixed error_ref_fixed() {
  return {u16(status::queue_not_open), 0, static_cast<std::uint16_t>(error_ref::queue_id), 0, 42, 0};
}
const buf& props_ref() {
  static const buf block = [] {
    buf out(256);
    property_writer w(out);
    EXPECT_TRUE(w.add_string("content-type", "json").ok());
    EXPECT_TRUE(w.add_int64("ttl", 60'000).ok());
    const bytes b = w.finish();
    return buf(b.begin(), b.end());
  }();
  return block;
}
put_view put_ref() { return {{42, 1001, 0, 0, 0}, props_ref(), as_bytes(k_payload)}; }
push_view push_ref() { return {{42, 2, 0, k_guid, 0, 0}, props_ref(), as_bytes(k_payload)}; }

buf sack_body() { return encoded([](mut_bytes o) { return encode_ranges(o, k_ranges); }); }
buf put_body() { return encoded([](mut_bytes o) { return encode_put(o, put_ref()); }); }

// ---- frame_reader and encode_frame: failure cases ----------------------------------

buf raw_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t seq, bytes body) {
  return body_of(frame_header{type, flags, static_cast<std::uint16_t>(body.size()), seq}, body);
}
errc first_frame_err(const buf& payload) {
  frame_reader r(payload, 1);
  return err_of(r.next());
}

TEST(frame_reader, rejects_truncated_frame_header) {
  const buf f = raw_frame(u8(frame_type::ping), 0, 1, filled(8, 0));
  for (std::size_t n = 0; n < k_frame_header_sz; ++n) {
    frame_reader r(bytes{f}.first(n), 1);
    EXPECT_EQ(err_of(r.next()), errc::truncated) << n;
  }
}

TEST(frame_codec, window_round_trips_and_checks_its_length) {
  std::byte body[8];
  const auto n = encode_window(body, 123456789u);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  const auto w = decode_window(bytes{body, *n});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 123456789u);
  EXPECT_FALSE(decode_window(bytes{body, 3}).ok());
  EXPECT_FALSE(decode_window(bytes{body, 5}).ok());
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::window), 0, 0, bytes{body, 4})), errc{});
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::window), 0, 7, bytes{body, 4})), errc::bad_field);
}

TEST(frame_reader, rejects_unknown_frame_type) {
  for (int t : {0x00, 0x04, 0x07, 0x0B, 0x16, 0x24, 0x31, 0x40, 0xFF}) {
    const buf f = raw_frame(static_cast<std::uint8_t>(t), 0, 1, {});
    EXPECT_EQ(first_frame_err(f), errc::unknown_frame) << t;
  }
}

TEST(frame_reader, rejects_seq_on_unsequenced_frames) {
  const buf body = sack_body();
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::sack), 0, 1, body)), errc::bad_field);
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::nak), 0, 0x80000000, body)), errc::bad_field);
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::nak), 0, 0, body)), errc{});
}

TEST(frame_reader, rejects_disallowed_flag_bits) {
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::ping), 0x02, 1, filled(8, 0))), errc::bad_flags);
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::sack), 0x01, 0, sack_body())), errc::bad_flags);
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::put), 0x80, 1, put_body())), errc::bad_flags);
  EXPECT_EQ(first_frame_err(raw_frame(u8(frame_type::ping), k_ping_flag_reply, 1, filled(8, 0))),
            errc{});
}

TEST(frame_reader, rejects_body_running_past_the_payload) {
  buf f = raw_frame(u8(frame_type::ping), 0, 1, filled(8, 0));
  f.pop_back();
  EXPECT_EQ(first_frame_err(f), errc::bad_length);
  const buf huge = body_of(frame_header{u8(frame_type::put), 0, 0xFFFF, 1}, filled(100, 0));
  EXPECT_EQ(first_frame_err(huge), errc::bad_length);
}

TEST(frame_reader, reports_trailing_garbage_after_frame_cnt_frames) {
  buf payload = raw_frame(u8(frame_type::ping), 0, 1, filled(8, 0));
  for (bool garbage : {false, true}) {
    if (garbage) append(payload, filled(3, 0xEE));
    frame_reader r(payload, 1);
    ASSERT_TRUE(r.next().ok());
    EXPECT_TRUE(r.done());
    EXPECT_EQ(r.trailing_garbage(), garbage);
  }
}

TEST(encode_frame, refuses_what_frame_reader_would_reject) {
  buf out(1u << 17);
  const buf body = filled(8, 0);
  const auto unknown = static_cast<frame_type>(0x40);
  EXPECT_EQ(err_of(encode_frame(out, unknown, 0, 1, body)), errc::unknown_frame);
  EXPECT_EQ(err_of(encode_frame(out, frame_type::ping, 0x02, 1, body)), errc::bad_flags);
  EXPECT_EQ(err_of(encode_frame(out, frame_type::close, k_ping_flag_reply, 1, body)), errc::bad_flags);
  EXPECT_EQ(err_of(encode_frame(out, frame_type::sack, 0, 3, body)), errc::bad_field);
  EXPECT_EQ(err_of(encode_frame(out, frame_type::nak, 0, 3, body)), errc::bad_field);
  EXPECT_EQ(err_of(encode_frame(out, frame_type::put, 0, 1, filled(0x10000, 0))), errc::too_large);
  expect_no_space_below(k_frame_header_sz + body.size(),
                        [&](mut_bytes o) { return encode_frame(o, frame_type::ping, 0, 9, body); });
}

// ---- full datagrams ------------------------------------------------------------------

// Builds a DATA datagram frame by frame with the real encoders.
class datagram_builder {
 public:
  template <class EncodeBody>
  void add(frame_type t, std::uint8_t flags, std::uint32_t seq, EncodeBody encode_body) {
    const buf body = encoded(encode_body);
    append(_payload, encoded([&](mut_bytes o) { return encode_frame(o, t, flags, seq, body); }));
    ++_frame_cnt;
  }
  buf finish(std::uint32_t ack_seq) const {
    buf d(k_packet_header_sz);
    const auto kind = static_cast<std::uint8_t>(packet_kind::data);
    const auto payload_sz = static_cast<std::uint16_t>(_payload.size());
    encode_packet_header(d, {0, 0, kind, k_pflag_ack_valid, 77, ack_seq, payload_sz, _frame_cnt});
    append(d, _payload);
    return d;
  }

 private:
  buf _payload;
  std::uint16_t _frame_cnt = 0;
};

TEST(datagram, walks_every_frame_of_a_full_datagram) {
  const std::array acks{ack_ref(1), ack_ref(2)};
  const seq_range gap{7, 9};
  datagram_builder b;
  b.add(frame_type::sack, 0, 0, [](mut_bytes o) { return encode_ranges(o, k_ranges); });
  b.add(frame_type::nak, 0, 0, [&](mut_bytes o) { return encode_ranges(o, {&gap, 1}); });
  b.add(frame_type::ping, 0, 99, [](mut_bytes o) { return encode_ping(o, 99); });
  b.add(frame_type::ping, k_ping_flag_reply, 100, [](mut_bytes o) { return encode_ping(o, 100); });
  b.add(frame_type::put, 0, 101, [](mut_bytes o) { return encode_put(o, put_ref()); });
  b.add(frame_type::ack, 0, 102, [&](mut_bytes o) { return encode_ack(o, acks); });
  b.add(frame_type::close, 0, 103, [](mut_bytes o) { return encode_close(o, status::ok, "bye"); });
  const buf d = b.finish(55);

  const auto h = decode_packet_header(d);
  ASSERT_TRUE(h.ok()) << errc_name(err_of(h));
  EXPECT_EQ(h->frame_cnt, 7);
  EXPECT_EQ(h->ack_seq, 55u);
  frame_reader r(bytes{d}.subspan(k_packet_header_sz), h->frame_cnt);
  std::uint32_t seq = 99;
  while (!r.done()) {
    const auto f = r.next();
    ASSERT_TRUE(f.ok()) << errc_name(err_of(f));
    EXPECT_EQ(f->hdr.seq, is_sequenced(f->type()) ? seq++ : 0);
    switch (f->type()) {
      case frame_type::sack: EXPECT_EQ(decode_ranges(f->body)->ranges[1], k_ranges[1]); break;
      case frame_type::nak: EXPECT_EQ(decode_ranges(f->body)->ranges[0], gap); break;
      case frame_type::ping: {  // the nonce names the seq and says whether it is a reply
        const auto p = decode_ping(f->hdr.flags, f->body);
        EXPECT_EQ(p->nonce, f->hdr.seq);
        EXPECT_EQ(p->reply, f->hdr.seq == 100);
        break;
      }
      case frame_type::put: EXPECT_EQ(as_string(decode_put(f->body)->payload), k_payload); break;
      case frame_type::ack: EXPECT_EQ((*decode_ack(f->body))[1], ack_ref(2)); break;
      case frame_type::close: EXPECT_EQ(decode_close(f->body)->text, "bye"); break;
      default: ADD_FAILURE() << "unexpected frame " << frame_type_name(f->type());
    }
  }
  EXPECT_EQ(seq, 104u);
  EXPECT_FALSE(r.trailing_garbage());
}

// ---- frame bodies: lengths and buffers -------------------------------------------------

TEST(frame_bodies, reject_truncated_and_mis_sized_bodies) {
  const std::array acks{ack_ref(1), ack_ref(2)};
  const std::array confirms{confirm_ref(1)};
  expect_length_checked(sack_body(), sizeof(ranges_fixed), decode_ranges);
  expect_length_checked(bytes_of(ping_fixed{1}), 8, [](bytes b) { return decode_ping(0, b); });
  expect_length_checked(encoded([](mut_bytes o) { return encode_close(o, status::timeout, "late"); }),
                        sizeof(close_fixed), decode_close);
  expect_length_checked(encoded([](mut_bytes o) { return encode_open_queue(o, open_queue_ref()); }),
                        sizeof(open_queue_fixed), decode_open_queue);
  expect_length_checked(bytes_of(queue_opened_ref()), sizeof(queue_opened_fixed), decode_queue_opened);
  expect_length_checked(bytes_of(redirect_ref(6)), sizeof(redirect_fixed), decode_redirect);
  expect_length_checked(bytes_of(configure_ref()), sizeof(configure_queue_fixed), decode_configure_queue);
  expect_length_checked(bytes_of(close_queue_ref()), sizeof(close_queue_fixed), decode_close_queue);
  expect_length_checked(bytes_of(queue_result_ref()), sizeof(queue_result_fixed), decode_queue_result);
  expect_length_checked(put_body(), sizeof(put_fixed), decode_put);
  expect_length_checked(encoded([&](mut_bytes o) { return encode_ack(o, acks); }), sizeof(batch_fixed),
                        decode_ack);
  expect_length_checked(encoded([](mut_bytes o) { return encode_push(o, push_ref()); }), sizeof(push_fixed),
                        decode_push);
  expect_length_checked(encoded([&](mut_bytes o) { return encode_confirm(o, confirms); }),
                        sizeof(batch_fixed), decode_confirm);
  expect_length_checked(encoded([](mut_bytes o) { return encode_error(o, {error_ref_fixed(), "no"}); }),
                        sizeof(error_fixed), decode_error);
  // FRAGMENT has no chunk length: a short chunk is fine, an empty or overlong one is not.
  for (std::size_t n = 0; n < sizeof(fragment_fixed); ++n) {
    EXPECT_EQ(err_of(decode_fragment(filled(n, 0))), errc::truncated);
  }
  const auto frag = [](std::uint32_t total, std::uint32_t off, std::size_t chunk_sz) {
    const fragment_fixed f{u8(frame_type::put), 0, 0, total, off, 0};
    return err_of(decode_fragment(body_of(f, filled(chunk_sz, 1))));
  };
  EXPECT_EQ(frag(100, 0, 0), errc::bad_length);
  EXPECT_EQ(frag(100, 90, 11), errc::bad_length);
  EXPECT_EQ(frag(100, 100, 1), errc::bad_length);
  EXPECT_EQ(frag(100, 90, 10), errc{});
  EXPECT_EQ(frag(100, 0, 1), errc{});
}

TEST(frame_bodies, encoders_refuse_too_small_buffers) {
  const std::array acks{ack_ref(1), ack_ref(2)};
  const std::array confirms{confirm_ref(1), confirm_ref(2), confirm_ref(3)};
  const buf chunk = filled(5, 1);
  const std::size_t message_sz = props_ref().size() + k_payload.size();
  expect_no_space_below(4 + 16, [](mut_bytes o) { return encode_ranges(o, k_ranges); });
  expect_no_space_below(8, [](mut_bytes o) { return encode_ping(o, 3); });
  expect_no_space_below(8 + 3, [](mut_bytes o) { return encode_close(o, status::ok, "bye"); });
  expect_no_space_below(16 + 5,
                        [&](mut_bytes o) { return encode_fragment(o, frame_type::push, 50, 0, chunk); });
  expect_no_space_below(32 + 18 + 7, [](mut_bytes o) { return encode_open_queue(o, open_queue_ref()); });
  expect_no_space_below(16, [](mut_bytes o) { return encode_queue_opened(o, queue_opened_ref()); });
  expect_no_space_below(24, [](mut_bytes o) { return encode_redirect(o, redirect_ref(4)); });
  expect_no_space_below(24, [](mut_bytes o) { return encode_configure_queue(o, configure_ref()); });
  expect_no_space_below(8, [](mut_bytes o) { return encode_close_queue(o, close_queue_ref()); });
  expect_no_space_below(16, [](mut_bytes o) { return encode_queue_result(o, queue_result_ref()); });
  expect_no_space_below(16 + message_sz, [](mut_bytes o) { return encode_put(o, put_ref()); });
  expect_no_space_below(8 + 2 * 32, [&](mut_bytes o) { return encode_ack(o, acks); });
  expect_no_space_below(32 + message_sz, [](mut_bytes o) { return encode_push(o, push_ref()); });
  expect_no_space_below(8 + 3 * 24, [&](mut_bytes o) { return encode_confirm(o, confirms); });
  expect_no_space_below(16 + 2, [](mut_bytes o) { return encode_error(o, {error_ref_fixed(), "no"}); });
}

// ---- frame bodies: round trips (decoded views point into the named buffers) -------------

TEST(frame_bodies, transport_frames_round_trip) {
  const buf sack = sack_body();
  const auto r = decode_ranges(sack);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->ranges.size(), k_ranges.size());
  for (std::size_t i = 0; i < k_ranges.size(); ++i) EXPECT_EQ(r->ranges[i], k_ranges[i]);

  const std::string text(k_error_text_sz_max, 'x');
  const buf close = encoded([&](mut_bytes o) { return encode_close(o, status::idle_timeout, text); });
  const auto c = decode_close(close);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->reason, status::idle_timeout);
  EXPECT_EQ(c->text, text);

  const buf chunk = filled(300, 0xA5);
  const buf frag =
      encoded([&](mut_bytes o) { return encode_fragment(o, frame_type::push, 1000, 700, chunk); });
  const auto f = decode_fragment(frag);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(same_bytes(f->f, fragment_fixed{u8(frame_type::push), 0, 0, 1000, 700, 0}));
  EXPECT_TRUE(equal_bytes(f->chunk, chunk));
}

TEST(frame_bodies, queue_frames_round_trip) {
  const auto want = open_queue_ref();
  const buf oq_body = encoded([&](mut_bytes o) { return encode_open_queue(o, want); });
  const auto oq = decode_open_queue(oq_body);
  ASSERT_TRUE(oq.ok());
  EXPECT_EQ(oq->uri, want.uri);
  EXPECT_EQ(oq->app_id, want.app_id);
  auto want_f = want.f;
  want_f.uri_sz = static_cast<std::uint16_t>(want.uri.size());
  want_f.app_id_sz = static_cast<std::uint16_t>(want.app_id.size());
  EXPECT_TRUE(same_bytes(oq->f, want_f));
  const auto same_after = [](auto v, auto encode, auto decode) {
    const buf body = encoded([&](mut_bytes o) { return encode(o, v); });
    const auto d = decode(body);
    return d.ok() && same_bytes(d.value(), v);
  };
  EXPECT_TRUE(same_after(queue_opened_ref(), encode_queue_opened, decode_queue_opened));
  EXPECT_TRUE(same_after(redirect_ref(4), encode_redirect, decode_redirect));
  EXPECT_TRUE(same_after(redirect_ref(6), encode_redirect, decode_redirect));
  EXPECT_TRUE(same_after(configure_ref(), encode_configure_queue, decode_configure_queue));
  EXPECT_TRUE(same_after(close_queue_ref(), encode_close_queue, decode_close_queue));
  EXPECT_TRUE(same_after(queue_result_ref(), encode_queue_result, decode_queue_result));
}

TEST(frame_bodies, message_frames_round_trip) {
  const buf put_b = put_body();
  const buf push_b = encoded([](mut_bytes o) { return encode_push(o, push_ref()); });
  const auto put = decode_put(put_b);
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(same_bytes(put->f, put_fixed{42, 1001, 0, static_cast<std::uint16_t>(props_ref().size()),
                                           static_cast<std::uint32_t>(k_payload.size())}));
  EXPECT_TRUE(equal_bytes(put->properties, props_ref()));
  EXPECT_EQ(as_string(put->payload), k_payload);
  const auto push = decode_push(push_b);
  ASSERT_TRUE(push.ok());
  EXPECT_EQ(push->f.delivery_cnt, 2);
  EXPECT_EQ(push->f.id, k_guid);
  EXPECT_TRUE(equal_bytes(push->properties, props_ref()));
  EXPECT_EQ(as_string(push->payload), k_payload);

  const std::array acks{ack_ref(1), ack_ref(2), ack_ref(3)};
  const buf ack_b = encoded([&](mut_bytes o) { return encode_ack(o, acks); });
  const auto a = decode_ack(ack_b);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(equal_bytes(a->raw(), std::as_bytes(std::span{acks})));
  EXPECT_EQ((*a)[2], acks[2]);
  const std::array confirms{confirm_ref(4), confirm_ref(5)};
  const buf confirm_b = encoded([&](mut_bytes o) { return encode_confirm(o, confirms); });
  const auto c = decode_confirm(confirm_b);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[1], confirms[1]);

  const buf error_b =
      encoded([](mut_bytes o) { return encode_error(o, {error_ref_fixed(), "queue 42?"}); });
  const auto e = decode_error(error_b);
  ASSERT_TRUE(e.ok());
  auto want_f = error_ref_fixed();
  want_f.text_sz = 9;
  EXPECT_TRUE(same_bytes(e->f, want_f));
  EXPECT_EQ(e->text, "queue 42?");
}

// ---- frame bodies: reserved fields, values and limits ----------------------------------

template <auto Decode>
errc dec(bytes b) {
  return err_of(Decode(b));
}
struct bad_body {
  const char* what;
  errc (*decode)(bytes);
  buf body;
  errc want;
};
// A fixed part changed by `mutate`, then `extra` bytes.
template <class T, class Mutate>
buf with(T f, Mutate mutate, std::size_t extra = 0) {
  mutate(f);
  return body_of(f, filled(extra, 'x'));
}

TEST(frame_bodies, decoders_reject_reserved_fields_bad_values_and_over_limit_sizes) {
  constexpr errc field = errc::bad_field, large = errc::too_large, ok{};
  constexpr std::uint32_t max_sz = k_message_sz_max;
  const auto none = [](auto&) {};
  const auto ranges = [](ranges_fixed f, seq_range r) { return body_of(f, bytes_of(r)); };
  const auto frag = [](auto mutate) {
    return with(fragment_fixed{u8(frame_type::put), 0, 0, 10, 0, 0}, mutate, 1);
  };
  const auto oq = [](auto mutate, std::size_t uri_sz = 3, std::size_t app_sz = 0) {
    auto f = open_queue_fixed_ref();
    f.uri_sz = static_cast<std::uint16_t>(uri_sz);
    f.app_id_sz = static_cast<std::uint16_t>(app_sz);
    return with(f, mutate, uri_sz + app_sz);
  };
  const auto opened = [](std::uint16_t st, std::uint16_t r0) {
    return bytes_of(queue_opened_fixed{1, 2, st, r0, 3});
  };
  const auto redirect = [](std::uint16_t port, std::uint16_t family, std::uint8_t addr4) {
    return bytes_of(redirect_fixed{1, port, family, {1, 2, 3, 4, addr4}});
  };
  const auto result = [](std::uint16_t st, std::uint16_t r0, std::uint32_t r1) {
    return bytes_of(queue_result_fixed{1, 2, st, r0, r1});
  };
  const auto put = [](put_fixed f, std::size_t extra = 0) { return body_of(f, filled(extra, 0)); };
  const auto push = [](auto mutate, std::size_t extra = 0) {
    return with(push_fixed{1, 1, 0, k_guid, 0, 0}, mutate, extra);
  };
  const auto batch = [](batch_fixed f, bytes entry) { return body_of(f, entry); };
  const auto ack = [](ack_entry e) { return body_of(batch_fixed{1, 0, 0}, bytes_of(e)); };
  const auto confirm = [](confirm_entry e) { return body_of(batch_fixed{1, 0, 0}, bytes_of(e)); };
  const auto err = [](auto mutate, std::size_t text_sz = 0) {
    return with(error_fixed{1, static_cast<std::uint16_t>(text_sz), 0, 0, 1, 0}, mutate, text_sz);
  };
  const buf ack1 = bytes_of(ack_ref(1)), confirm1 = bytes_of(confirm_ref(1));
  using ff = fragment_fixed;
  using oqf = open_queue_fixed;
  using pf = push_fixed;
  using ef = error_fixed;
  const bad_body cases[] = {
      {"ranges reserved0", dec<decode_ranges>, ranges({1, 1}, {1, 2}), field},
      {"ranges none", dec<decode_ranges>, body_of(ranges_fixed{0, 0}), field},
      {"ranges > 32", dec<decode_ranges>, body_of(ranges_fixed{33, 0}, filled(33 * 8, 1)), large},
      {"range empty", dec<decode_ranges>, ranges({1, 0}, {5, 5}), field},
      {"range > window", dec<decode_ranges>, ranges({1, 0}, {0, k_window_max + 1}), field},
      {"close reserved0", dec<decode_close>, body_of(close_fixed{0, 0, 1}), field},
      {"close reason", dec<decode_close>, body_of(close_fixed{k_status_max + 1, 0, 0}), field},
      {"close text > 255", dec<decode_close>, body_of(close_fixed{0, 256, 0}, filled(256, 't')), large},
      {"fragment reserved0", dec<decode_fragment>, frag([](ff& f) { f.reserved0 = 1; }), field},
      {"fragment reserved1", dec<decode_fragment>, frag([](ff& f) { f.reserved1 = 1; }), field},
      {"fragment reserved2", dec<decode_fragment>, frag([](ff& f) { f.reserved2 = 1; }), field},
      {"fragment of PING", dec<decode_fragment>, frag([](ff& f) { f.inner_type = 0x08; }), field},
      {"fragment of 0x40", dec<decode_fragment>, frag([](ff& f) { f.inner_type = 0x40; }), field},
      {"fragment total 0", dec<decode_fragment>, frag([](ff& f) { f.total_sz = 0; }), field},
      {"fragment total > max", dec<decode_fragment>, frag([](ff& f) { f.total_sz = max_sz + 1; }), large},
      {"fragment total at max", dec<decode_fragment>, frag([](ff& f) { f.total_sz = max_sz; }), ok},
      {"open reserved0", dec<decode_open_queue>, oq([](oqf& f) { f.reserved0 = 1; }), field},
      {"open reserved1", dec<decode_open_queue>, oq([](oqf& f) { f.reserved1 = 1; }), field},
      {"open no flags", dec<decode_open_queue>, oq([](oqf& f) { f.flags = 0; }), field},
      {"open unknown flag", dec<decode_open_queue>, oq([](oqf& f) { f.flags = 4; }), field},
      {"open empty uri", dec<decode_open_queue>, oq(none, 0, 3), field},
      {"open uri > 255", dec<decode_open_queue>, oq(none, 256), large},
      {"open app id > 64", dec<decode_open_queue>, oq(none, 3, 65), large},
      {"open at the limits", dec<decode_open_queue>, oq(none, 255, 64), ok},
      {"opened reserved0", dec<decode_queue_opened>, opened(0, 1), field},
      {"opened status", dec<decode_queue_opened>, opened(k_status_max + 1, 0), field},
      {"redirect port 0", dec<decode_redirect>, redirect(0, 4, 0), field},
      {"redirect family 5", dec<decode_redirect>, redirect(80, 5, 0), field},
      {"redirect v4 tail", dec<decode_redirect>, redirect(80, 4, 5), field},
      {"redirect v6", dec<decode_redirect>, redirect(80, 6, 5), ok},
      {"result reserved0", dec<decode_queue_result>, result(0, 1, 0), field},
      {"result reserved1", dec<decode_queue_result>, result(0, 0, 1), field},
      {"result status", dec<decode_queue_result>, result(k_status_max + 1, 0, 0), field},
      {"put flags", dec<decode_put>, put({1, 2, 1, 0, 0}), field},
      {"put props > 4096", dec<decode_put>, put({1, 2, 0, 4097, 0}, 4097), large},
      {"put payload > max", dec<decode_put>, put({1, 2, 0, 0, k_message_sz_max + 1}), large},
      {"put bad props", dec<decode_put>, put({1, 2, 0, 4, 0}, 4), field},  // cnt 0 in a non-empty block
      {"ack none", dec<decode_ack>, body_of(batch_fixed{0, 0, 0}), field},
      {"ack batch reserved0", dec<decode_ack>, batch({1, 1, 0}, ack1), field},
      {"ack batch reserved1", dec<decode_ack>, batch({1, 0, 1}, ack1), field},
      {"ack reserved0", dec<decode_ack>, ack({1, 2, 0, 1, 0, k_guid}), field},
      {"ack reserved1", dec<decode_ack>, ack({1, 2, 0, 0, 1, k_guid}), field},
      {"ack status", dec<decode_ack>, ack({1, 2, k_status_max + 1, 0, 0, k_guid}), field},
      {"ack guid reserved", dec<decode_ack>, ack({1, 2, 0, 0, 0, k_bad_guid}), field},
      {"push flags", dec<decode_push>, push([](pf& f) { f.flags = 1; }), field},
      {"push delivery 0", dec<decode_push>, push([](pf& f) { f.delivery_cnt = 0; }), field},
      {"push guid reserved", dec<decode_push>, push([](pf& f) { f.id = k_bad_guid; }), field},
      {"push props > 4096", dec<decode_push>, push([](pf& f) { f.props_sz = 4097; }, 4097), large},
      {"push payload > max", dec<decode_push>, push([](pf& f) { f.payload_sz = max_sz + 1; }), large},
      {"confirm none", dec<decode_confirm>, body_of(batch_fixed{0, 0, 0}), field},
      {"confirm batch reserved", dec<decode_confirm>, batch({1, 0, 1}, confirm1), field},
      {"confirm reserved0", dec<decode_confirm>, confirm({1, 1, k_guid}), field},
      {"confirm guid reserved", dec<decode_confirm>, confirm({1, 0, k_bad_guid}), field},
      {"error reserved0", dec<decode_error>, err([](ef& f) { f.reserved0 = 1; }), field},
      {"error reserved1", dec<decode_error>, err([](ef& f) { f.reserved1 = 1; }), field},
      {"error code", dec<decode_error>, err([](ef& f) { f.code = k_status_max + 1; }), field},
      {"error ref type", dec<decode_error>, err([](ef& f) { f.ref_type = k_error_ref_max + 1; }), field},
      {"error text > 255", dec<decode_error>, err(none, 256), large},
      {"error text at limit", dec<decode_error>, err(none, 255), ok},
  };
  for (const auto& c : cases) EXPECT_EQ(c.decode(c.body), c.want) << c.what;
}

TEST(frame_bodies, encoders_refuse_over_limit_and_invalid_values) {
  buf out(1u << 17);
  const auto enc = [&](auto encode) { return err_of(encode(mut_bytes{out})); };
  const std::vector<seq_range> ranges(k_ranges_max + 1, seq_range{1, 2});
  const auto first = [&](std::size_t n) { return std::span{ranges}.first(n); };
  EXPECT_EQ(enc([&](mut_bytes o) { return encode_ranges(o, first(k_ranges_max + 1)); }), errc::too_large);
  EXPECT_EQ(enc([&](mut_bytes o) { return encode_ranges(o, first(k_ranges_max)); }), errc{});
  EXPECT_EQ(enc([&](mut_bytes o) { return encode_ranges(o, first(0)); }), errc::bad_field);
  const std::string text(k_error_text_sz_max + 1, 'x');
  EXPECT_EQ(enc([&](mut_bytes o) { return encode_close(o, status::ok, text); }), errc::too_large);
  EXPECT_EQ(enc([&](mut_bytes o) { return encode_error(o, {error_ref_fixed(), text}); }), errc::too_large);
  const buf one = filled(1, 0);
  const auto fragment = [&](frame_type inner, std::uint32_t total, bytes chunk) {
    return enc([&](mut_bytes o) { return encode_fragment(o, inner, total, 0, chunk); });
  };
  EXPECT_EQ(fragment(frame_type::put, k_message_sz_max + 1, one), errc::too_large);
  EXPECT_EQ(fragment(frame_type::ping, 10, one), errc::bad_field);
  EXPECT_EQ(fragment(frame_type::put, 10, {}), errc::bad_length);
  const auto open = [&](std::string_view uri, std::string_view app) {
    return enc([&](mut_bytes o) { return encode_open_queue(o, {open_queue_fixed_ref(), uri, app}); });
  };
  EXPECT_EQ(open(std::string(k_uri_sz_max + 1, 'u'), ""), errc::too_large);
  EXPECT_EQ(open("q", std::string(k_app_id_sz_max + 1, 'a')), errc::too_large);
  EXPECT_EQ(open("", "a"), errc::bad_field);
  const buf big_props = filled(k_properties_sz_max + 1, 0);
  EXPECT_EQ(enc([&](mut_bytes o) { return encode_put(o, {put_ref().f, big_props, {}}); }), errc::too_large);
  EXPECT_EQ(enc([&](mut_bytes o) { return encode_push(o, {push_ref().f, big_props, {}}); }), errc::too_large);
  EXPECT_EQ(enc([](mut_bytes o) { return encode_queue_opened(o, {1, 2, k_status_max + 1, 0, 3}); }), errc::bad_field);
  EXPECT_EQ(enc([](mut_bytes o) { return encode_redirect(o, {1, 0, 4, {}}); }), errc::bad_field);
  EXPECT_EQ(enc([](mut_bytes o) { return encode_ack(o, {}); }), errc::bad_field);
  EXPECT_EQ(enc([](mut_bytes o) { return encode_confirm(o, {}); }), errc::bad_field);
  const std::vector<ack_entry> acks(0x10000, ack_ref(1));
  EXPECT_EQ(enc([&](mut_bytes o) { return encode_ack(o, acks); }), errc::too_large);
}

}  // namespace
}  // namespace sluice::wire
