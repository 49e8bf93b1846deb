// The client library against a fake broker: two responder endpoints on
// 127.0.0.1 (a main shard and a redirect target) polled by their own thread,
// answering by URI prefix:
//   redir/   REDIRECT to the second endpoint       loop/    REDIRECT to itself
//   refuse/  QUEUE_OPENED unknown_domain            errreq/  ERROR naming the req_id
//   silent/  no answer                              bye/     the broker closes the session
//   big/     QUEUE_OPENED ok, max_message_sz 1 MiB  else     QUEUE_OPENED ok, max_message_sz 64
// and by PUT payload: "noack" (no answer), "reject" (ACK queue_full), "error"
// (ERROR naming the corr_id), "echo..." (ACK, then PUSH it back), else ACK ok.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "client/client.h"
#include "client/sluice.h"
#include "datapath/transport/endpoint.h"
#include "datapath/transport/udp_port.h"
#include "datapath/wire/properties.h"

namespace sluice::client {
namespace {

using namespace std::string_view_literals;

constexpr std::uint32_t k_fake_max_message_sz = 64;

struct fake_shard final : transport::session_handler {
  void on_frame(transport::session& s, wire::frame_type type, wire::bytes body) noexcept override {
    std::span<std::byte> out = _out;
    const auto reply = [&](wire::frame_type t, wire::wresult<std::size_t> n) {
      ASSERT_TRUE(n.ok());
      ASSERT_TRUE(s.send(t, wire::bytes{out.data(), *n}).ok());
    };
    switch (type) {
      case wire::frame_type::open_queue: {
        const auto v = wire::decode_open_queue(body);
        ASSERT_TRUE(v.ok());
        ++opens;
        const std::uint32_t req = v->f.req_id;
        if ((redirects && v->uri.starts_with("redir/")) || v->uri.starts_with("loop/")) {
          const net_addr& to = v->uri.starts_with("redir/") ? redirect_to : self;
          wire::redirect_fixed r{req, to.port, 4, {}};
          std::copy_n(to.ip.begin(), 4, r.addr);
          reply(wire::frame_type::redirect, wire::encode_redirect(out, r));
        } else if (v->uri.starts_with("big/")) {
          const wire::queue_opened_fixed f{req, next_qid++, 0, 0, 1u << 20};
          reply(wire::frame_type::queue_opened, wire::encode_queue_opened(out, f));
        } else if (v->uri.starts_with("refuse/")) {
          const wire::queue_opened_fixed f{req, 0, static_cast<std::uint16_t>(wire::status::unknown_domain), 0, 0};
          reply(wire::frame_type::queue_opened, wire::encode_queue_opened(out, f));
        } else if (v->uri.starts_with("errreq/")) {
          const wire::error_view e{{static_cast<std::uint16_t>(wire::status::not_authorised), 0,
                                    static_cast<std::uint16_t>(wire::error_ref::req_id), 0, req, 0},
                                   "no"};
          reply(wire::frame_type::error, wire::encode_error(out, e));
        } else if (v->uri.starts_with("bye/")) {
          s.close(wire::status::shutting_down);
        } else if (!v->uri.starts_with("silent/")) {
          const wire::queue_opened_fixed f{req, next_qid++, 0, 0, k_fake_max_message_sz};
          reply(wire::frame_type::queue_opened, wire::encode_queue_opened(out, f));
        }
        return;
      }
      case wire::frame_type::put: {
        const auto v = wire::decode_put(body);
        ASSERT_TRUE(v.ok());
        ++puts;
        const auto text = wire::as_string(v->payload);
        if (text == "noack") return;
        if (text == "error") {
          const wire::error_view e{{static_cast<std::uint16_t>(wire::status::queue_full), 0,
                                    static_cast<std::uint16_t>(wire::error_ref::corr_id), 0, v->f.corr_id, 0},
                                   {}};
          return reply(wire::frame_type::error, wire::encode_error(out, e));
        }
        const bool ok = text != "reject";
        const wire::guid g = ok ? wire::guid{next_seq++, 3, 1, 0} : wire::guid{};
        const wire::ack_entry a{v->f.queue_id, v->f.corr_id,
                                static_cast<std::uint16_t>(ok ? wire::status::ok : wire::status::queue_full), 0, 0, g};
        reply(wire::frame_type::ack, wire::encode_ack(out, std::span{&a, 1}));
        if (text.starts_with("echo")) {
          const wire::push_view p{{v->f.queue_id, 1, 0, g, 0, 0}, v->properties, v->payload};
          reply(wire::frame_type::push, wire::encode_push(out, p));
        }
        return;
      }
      case wire::frame_type::confirm: {
        const auto v = wire::decode_confirm(body);
        ASSERT_TRUE(v.ok());
        std::lock_guard g(mu);
        for (std::size_t i = 0; i < v->size(); ++i) confirmed.push_back((*v)[i].id);
        ++confirm_frames;
        return;
      }
      case wire::frame_type::configure_queue: {
        const auto v = wire::decode_configure_queue(body);
        ASSERT_TRUE(v.ok());
        const auto st = v->priority < 0 ? wire::status::invalid_argument : wire::status::ok;
        const wire::queue_result_fixed r{v->req_id, v->queue_id, static_cast<std::uint16_t>(st), 0, 0};
        return reply(wire::frame_type::queue_result, wire::encode_queue_result(out, r));
      }
      case wire::frame_type::close_queue: {
        const auto v = wire::decode_close_queue(body);
        ASSERT_TRUE(v.ok());
        ++closes;
        const wire::queue_result_fixed r{v->req_id, v->queue_id, 0, 0, 0};
        return reply(wire::frame_type::queue_result, wire::encode_queue_result(out, r));
      }
      default:
        ADD_FAILURE() << "fake broker got frame " << wire::frame_type_name(type);
    }
  }

  std::size_t confirmed_cnt() {
    std::lock_guard g(mu);
    return confirmed.size();
  }
  bool was_confirmed(const wire::guid& id) {
    std::lock_guard g(mu);
    return std::find(confirmed.begin(), confirmed.end(), id) != confirmed.end();
  }

  net_addr self;
  net_addr redirect_to;
  bool redirects = false;  // "redir/" goes to redirect_to (else it is opened here)
  std::uint32_t next_qid = 100;
  std::uint64_t next_seq = 1;
  std::atomic<int> opens{0};
  std::atomic<int> puts{0};
  std::atomic<int> closes{0};
  std::atomic<int> confirm_frames{0};
  std::mutex mu;
  std::vector<wire::guid> confirmed;

 private:
  std::vector<std::byte> _out = std::vector<std::byte>(2u << 20);
};

std::unique_ptr<transport::udp_port> loopback_port() {
  transport::udp_port_config pc;
  pc.bind = *net_addr::from_ip_port("127.0.0.1", 0);
  std::string err;
  auto p = transport::udp_port::open(pc, err);
  EXPECT_NE(p, nullptr) << err;
  return p;
}

// Two shards on their own thread; shard a redirects "redir/" to shard b.
class fake_broker {
 public:
  fake_broker() : _port_a(loopback_port()), _port_b(loopback_port()) {
    transport::endpoint_config ec;
    ec.accept_inbound = true;
    ec.max_sessions = 16;
    ec.chunk_cnt = 4096;
    a.self = _port_a->local_addr();
    a.redirect_to = _port_b->local_addr();
    a.redirects = true;
    b.self = _port_b->local_addr();
    _ep_a = std::make_unique<transport::endpoint>(*_port_a, _clock, ec, a);
    _ep_b = std::make_unique<transport::endpoint>(*_port_b, _clock, ec, b);
    _thread = std::thread([this] {
      while (!_stop.load(std::memory_order_relaxed)) {
        if (_ep_a->poll() + _ep_b->poll() == 0) _port_a->wait(50 * k_ns_per_us);
      }
    });
  }
  ~fake_broker() {
    _stop = true;
    _thread.join();
  }
  std::string address() const { return _port_a->local_addr().to_string(); }

  fake_shard a;
  fake_shard b;

 private:
  monotonic_clock _clock;
  std::unique_ptr<transport::udp_port> _port_a;
  std::unique_ptr<transport::udp_port> _port_b;
  std::unique_ptr<transport::endpoint> _ep_a;
  std::unique_ptr<transport::endpoint> _ep_b;
  std::atomic<bool> _stop{false};
  std::thread _thread;
};

std::unique_ptr<client> connect_to(const fake_broker& fb, time_ns request_timeout = 2 * k_ns_per_s) {
  client_config cfg;
  cfg.broker = fb.address();
  cfg.request_timeout_ns = request_timeout;
  auto r = client::connect(cfg);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : describe(r.error()));
  return r.ok() ? std::move(*r) : nullptr;
}

template <class Pred>
bool poll_until(client& c, Pred pred, time_ns timeout = 2 * k_ns_per_s) {
  const time_ns deadline = monotonic_now_ns() + timeout;
  while (!pred()) {
    if (monotonic_now_ns() > deadline) return false;
    c.poll(200 * k_ns_per_us);
  }
  return true;
}

template <class Pred>
bool wait_until(Pred pred, time_ns timeout = 2 * k_ns_per_s) {
  const time_ns deadline = monotonic_now_ns() + timeout;
  while (!pred()) {
    if (monotonic_now_ns() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

const queue_options k_rw{.read = true, .write = true};

// ---- failures first ------------------------------------------------------------------

TEST(client, connect_rejects_bad_addresses_and_settings) {
  for (const char* bad : {"nonsense", "127.0.0.1", "127.0.0.1:0", "300.1.1.1:7600", ""}) {
    client_config cfg;
    cfg.broker = bad;
    const auto r = client::connect(cfg);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, errc::invalid_argument) << bad;
  }
  client_config cfg;
  cfg.session.send_window = 3;  // not a power of two
  EXPECT_EQ(client::connect(cfg).error().code, errc::invalid_argument);
  cfg = client_config{};
  cfg.request_timeout_ns = 0;
  EXPECT_EQ(client::connect(cfg).error().code, errc::invalid_argument);
}

TEST(client, connect_to_a_silent_port_fails_within_request_timeout) {
  auto silent = loopback_port();  // open, never read: no "port unreachable", no answer
  client_config cfg;
  cfg.broker = silent->local_addr().to_string();
  cfg.request_timeout_ns = 200 * k_ns_per_ms;
  const time_ns t0 = monotonic_now_ns();
  const auto r = client::connect(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::connect_failed);
  EXPECT_LT(monotonic_now_ns() - t0, 2 * k_ns_per_s);
}

// Nothing listens and the kernel says so (ICMP port unreachable on
// loopback): the handshake ends with its own error, not the timeout. The
// request timeout is long, so a timeout would have been connect_failed.
TEST(client, connect_to_a_port_nothing_listens_on_fails_as_unreachable) {
  net_addr dead;
  {
    auto p = loopback_port();  // bound then closed: nobody listens there
    dead = p->local_addr();
  }
  client_config cfg;
  cfg.broker = dead.to_string();
  cfg.request_timeout_ns = 30 * k_ns_per_s;
  const auto r = client::connect(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unreachable) << describe(r.error());
  EXPECT_NE(describe_connect(r.error()).find("nothing listens there"), std::string::npos);
}

TEST(client, open_queue_checks_arguments_locally) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->connected());
  EXPECT_EQ(c->end_reason(), wire::status::ok);
  EXPECT_EQ(c->open_queue("", k_rw).error().code, errc::invalid_argument);
  EXPECT_EQ(c->open_queue("prio/x", {}).error().code, errc::invalid_argument);  // neither read nor write
  EXPECT_EQ(c->open_queue(std::string(256, 'u'), k_rw).error().code, errc::invalid_argument);
  EXPECT_EQ(c->open_queue("prio/x", {.read = true, .app_id = std::string(65, 'a')}).error().code,
            errc::invalid_argument);
  EXPECT_EQ(fb.a.opens, 0);
}

TEST(client, broker_refusals_carry_the_status) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto r = c->open_queue("refuse/x", k_rw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::broker_refused);
  EXPECT_EQ(r.error().status, wire::status::unknown_domain);
  EXPECT_EQ(describe(r.error()), "broker refused: unknown_domain");

  const auto e = c->open_queue("errreq/x", k_rw);  // an ERROR frame naming the req_id
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, errc::broker_refused);
  EXPECT_EQ(e.error().status, wire::status::not_authorised);
}

TEST(client, redirect_loop_stops_after_four_redirects) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto r = c->open_queue("loop/x", k_rw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::redirect_loop);
  EXPECT_EQ(fb.a.opens, 5);  // the first try and four redirects followed
}

TEST(client, unanswered_request_times_out) {
  fake_broker fb;
  auto c = connect_to(fb, 300 * k_ns_per_ms);
  ASSERT_TRUE(c);
  const time_ns t0 = monotonic_now_ns();
  const auto r = c->open_queue("silent/x", k_rw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::timeout);
  EXPECT_GE(monotonic_now_ns() - t0, 300 * k_ns_per_ms);
}

TEST(client, post_checks_handle_mode_and_size) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto ro = c->open_queue("prio/ro", {.read = true});
  const auto wo = c->open_queue("prio/wo", {.write = true});
  ASSERT_TRUE(ro.ok() && wo.ok());
  const auto small = wire::as_bytes("x");
  EXPECT_EQ(c->post(queue_handle{}, small).error().code, errc::bad_handle);
  EXPECT_EQ(c->post(queue_handle{9999}, small).error().code, errc::bad_handle);
  EXPECT_EQ(c->post(*ro, small).error().code, errc::not_writable);
  EXPECT_EQ(c->confirm(*wo, wire::guid{1, 0, 0, 0}).error().code, errc::not_readable);
  EXPECT_EQ(c->configure_queue(*wo, 0, 1, 1).error().code, errc::not_readable);
  EXPECT_EQ(c->confirm(queue_handle{9999}, wire::guid{}).error().code, errc::bad_handle);

  const std::string at_limit(k_fake_max_message_sz, 'p');
  const std::string over(k_fake_max_message_sz + 1, 'p');
  EXPECT_EQ(c->post(*wo, wire::as_bytes(over)).error().code, errc::too_large);
  std::byte props_buf[64];
  wire::property_writer w(props_buf);
  ASSERT_TRUE(w.add_int32("k", 7).ok());
  const wire::bytes props = w.finish();
  EXPECT_EQ(c->post(*wo, wire::as_bytes(at_limit), props).error().code, errc::too_large);  // props count too
  const std::byte junk[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
  EXPECT_EQ(c->post(*wo, small, junk).error().code, errc::invalid_argument);
  EXPECT_TRUE(c->post(*wo, wire::as_bytes(at_limit)).ok());
  EXPECT_EQ(c->unacked(), 1u);
  EXPECT_TRUE(poll_until(*c, [&] { return c->unacked() == 0; }));
}

// ---- the happy paths -----------------------------------------------------------------

TEST(client, post_gets_acks_through_both_callbacks) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto q = c->open_queue("prio/orders", {.write = true});
  ASSERT_TRUE(q.ok());
  std::vector<ack> global;
  c->on_ack([&](const ack& a) { global.push_back(a); });
  ack mine{};
  bool got = false;
  const auto corr = c->post(*q, wire::as_bytes("hello"), {}, [&](const ack& a) {
    mine = a;
    got = true;
  });
  ASSERT_TRUE(corr.ok());
  const auto rejected = c->post(*q, wire::as_bytes("reject"));
  const auto errored = c->post(*q, wire::as_bytes("error"));
  ASSERT_TRUE(rejected.ok() && errored.ok());
  EXPECT_EQ(c->unacked(), 3u);
  ASSERT_TRUE(poll_until(*c, [&] { return got && global.size() == 2; }));
  EXPECT_EQ(mine.corr_id, *corr);
  EXPECT_EQ(mine.queue, *q);
  EXPECT_EQ(mine.status, wire::status::ok);
  EXPECT_NE(mine.guid.seq, 0u);
  EXPECT_EQ(global[0].corr_id, *rejected);
  EXPECT_EQ(global[0].status, wire::status::queue_full);
  EXPECT_EQ(global[0].guid, wire::guid{});
  EXPECT_EQ(global[1].corr_id, *errored);  // ERROR naming the corr_id
  EXPECT_EQ(global[1].status, wire::status::queue_full);
  EXPECT_EQ(c->unacked(), 0u);
}

TEST(client, open_queue_follows_a_redirect_to_another_shard) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto q = c->open_queue("redir/x", k_rw);
  ASSERT_TRUE(q.ok()) << describe(q.error());
  EXPECT_EQ(fb.a.opens, 1);
  EXPECT_EQ(fb.b.opens, 1);
  bool acked = false;
  ASSERT_TRUE(c->post(*q, wire::as_bytes("m"), {}, [&](const ack& a) { acked = a.status == wire::status::ok; }).ok());
  ASSERT_TRUE(poll_until(*c, [&] { return acked; }));
  EXPECT_EQ(fb.b.puts, 1);  // over the session to shard b
  EXPECT_EQ(fb.a.puts, 0);
  // A second queue redirected there reuses that session.
  ASSERT_TRUE(c->open_queue("redir/y", k_rw).ok());
  EXPECT_EQ(fb.b.opens, 2);
}

TEST(client, pushed_messages_reach_the_handler_and_confirms_reach_the_broker) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto q = c->open_queue("prio/work", k_rw);
  ASSERT_TRUE(q.ok());
  std::vector<std::string> payloads;
  std::vector<wire::guid> ids;
  c->on_message([&](const message& m) {
    EXPECT_EQ(m.queue, *q);
    EXPECT_EQ(m.delivery_cnt, 1);
    payloads.emplace_back(wire::as_string(m.payload));
    ids.push_back(m.guid);
    EXPECT_TRUE(c->confirm(m.queue, m.guid).ok());  // allowed from a callback
  });
  ASSERT_TRUE(c->post(*q, wire::as_bytes("echo-1")).ok());
  ASSERT_TRUE(c->post(*q, wire::as_bytes("echo-2")).ok());
  ASSERT_TRUE(poll_until(*c, [&] { return payloads.size() == 2; }));
  EXPECT_EQ(payloads[0], "echo-1");
  EXPECT_EQ(payloads[1], "echo-2");
  ASSERT_TRUE(poll_until(*c, [&] { return fb.a.confirmed_cnt() == 2; }));
  EXPECT_TRUE(fb.a.was_confirmed(ids[0]));
  EXPECT_TRUE(fb.a.was_confirmed(ids[1]));
  EXPECT_EQ(c->unacked(), 0u);
}

TEST(client, messages_larger_than_a_datagram_travel_both_ways) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto q = c->open_queue("big/blobs", k_rw);
  ASSERT_TRUE(q.ok());
  std::string big = "echo";
  for (std::size_t i = 0; big.size() < 300'000; ++i) big.push_back(static_cast<char>('a' + i % 26));
  std::string got;
  c->on_message([&](const message& m) { got.assign(wire::as_string(m.payload)); });
  bool acked = false;
  ASSERT_TRUE(c->post(*q, wire::as_bytes(big), {}, [&](const ack& a) { acked = a.status == wire::status::ok; }).ok());
  ASSERT_TRUE(poll_until(*c, [&] { return acked && !got.empty(); }));
  EXPECT_EQ(got, big);
  const std::string over((1u << 20) + 1, 'x');
  EXPECT_EQ(c->post(*q, wire::as_bytes(over)).error().code, errc::too_large);
}

TEST(client, a_full_confirm_batch_is_sent_at_once) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto q = c->open_queue("prio/work", {.read = true});
  ASSERT_TRUE(q.ok());
  const std::size_t fit = wire::confirm_entries_fit(transport::session_config{}.frame_body_max());
  for (std::size_t i = 0; i + 1 < fit; ++i) ASSERT_TRUE(c->confirm(*q, wire::guid{i + 1, 0, 0, 0}).ok());
  EXPECT_EQ(c->unacked(), fit - 1);  // batched, not sent
  ASSERT_TRUE(c->confirm(*q, wire::guid{fit, 0, 0, 0}).ok());
  EXPECT_EQ(c->unacked(), 0u);  // the full batch went to the session
  ASSERT_TRUE(poll_until(*c, [&] { return fb.a.confirmed_cnt() == fit; }));
  EXPECT_EQ(fb.a.confirm_frames, 1);
}

TEST(client, configure_and_close_queue) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto q = c->open_queue("prio/work", k_rw);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(c->configure_queue(*q, 5, 10, 1 << 20).ok());
  const auto bad = c->configure_queue(*q, -1, 10, 1 << 20);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, errc::broker_refused);
  EXPECT_EQ(bad.error().status, wire::status::invalid_argument);
  EXPECT_TRUE(c->close_queue(*q).ok());
  EXPECT_EQ(fb.a.closes, 1);
  EXPECT_EQ(c->post(*q, wire::as_bytes("x")).error().code, errc::bad_handle);
  EXPECT_EQ(c->close_queue(*q).error().code, errc::bad_handle);
}

TEST(client, the_end_of_a_session_fails_its_posts_requests_and_handles) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  const auto q = c->open_queue("prio/work", k_rw);
  ASSERT_TRUE(q.ok());
  ack lost{};
  bool got = false;
  ASSERT_TRUE(c->post(*q, wire::as_bytes("noack"), {}, [&](const ack& a) {
    lost = a;
    got = true;
  }).ok());
  const auto r = c->open_queue("bye/x", k_rw);  // the broker closes the session
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::disconnected);
  ASSERT_TRUE(poll_until(*c, [&] { return got; }));
  EXPECT_EQ(lost.status, wire::status::shutting_down);
  EXPECT_FALSE(c->connected());
  EXPECT_EQ(c->end_reason(), wire::status::shutting_down) << "the broker's close reason";
  EXPECT_EQ(c->post(*q, wire::as_bytes("x")).error().code, errc::disconnected);
  EXPECT_EQ(c->confirm(*q, wire::guid{1, 0, 0, 0}).error().code, errc::disconnected);
  EXPECT_EQ(c->open_queue("prio/again", k_rw).error().code, errc::disconnected);
  EXPECT_TRUE(c->close_queue(*q).ok());  // forgotten locally
  EXPECT_EQ(c->close_queue(*q).error().code, errc::bad_handle);
  EXPECT_EQ(c->unacked(), 0u);
}

TEST(client, background_thread_drives_requests_acks_and_messages) {
  fake_broker fb;
  auto c = connect_to(fb);
  ASSERT_TRUE(c);
  c->start_background_thread();
  c->start_background_thread();  // idempotent
  const auto q = c->open_queue("redir/bg", k_rw);  // blocking, woken by the library thread
  ASSERT_TRUE(q.ok()) << describe(q.error());
  std::atomic<int> acks{0};
  std::atomic<int> messages{0};
  c->on_ack([&](const ack& a) {
    if (a.status == wire::status::ok) ++acks;
  });
  c->on_message([&](const message& m) {
    ++messages;
    EXPECT_TRUE(c->confirm(m.queue, m.guid).ok());
  });
  constexpr int n = 200;
  for (int i = 0; i < n; ++i) {
    while (true) {
      const auto r = c->post(*q, wire::as_bytes("echo"));
      if (r.ok()) break;
      ASSERT_EQ(r.error().code, errc::would_block);
      std::this_thread::yield();
    }
  }
  EXPECT_TRUE(wait_until([&] { return acks == n && messages == n; }));
  EXPECT_TRUE(wait_until([&] { return fb.b.confirmed_cnt() == n; }));
  EXPECT_TRUE(c->configure_queue(*q, 1, 5, 1000).ok());
  c->stop_background_thread();
  // Back to driving it by hand.
  ASSERT_TRUE(c->post(*q, wire::as_bytes("echo")).ok());
  EXPECT_TRUE(poll_until(*c, [&] { return acks == n + 1 && messages == n + 1; }));
  EXPECT_TRUE(c->close_queue(*q).ok());
}

TEST(client, destructor_closes_sessions_without_callbacks) {
  fake_broker fb;
  bool called = false;
  {
    auto c = connect_to(fb);
    ASSERT_TRUE(c);
    const auto q = c->open_queue("prio/x", k_rw);
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE(c->post(*q, wire::as_bytes("noack"), {}, [&](const ack&) { called = true; }).ok());
    c->start_background_thread();
  }
  EXPECT_FALSE(called);
}

// ---- the C API ----------------------------------------------------------------------

struct c_state {
  int acks = 0;
  std::uint16_t ack_status = 99;
  int messages = 0;
  sluice_client* client = nullptr;
  std::string payload;
};

TEST(c_api, rejects_null_arguments) {
  sluice_client* c = nullptr;
  std::uint32_t h = 0;
  sluice_queue_options o;
  sluice_guid g{};
  std::size_t n = 0;
  EXPECT_EQ(sluice_connect(nullptr, &c), SLUICE_EINVAL);
  EXPECT_EQ(sluice_connect("127.0.0.1:1", nullptr), SLUICE_EINVAL);
  EXPECT_EQ(sluice_connect_timeout("127.0.0.1:1", 0, &c), SLUICE_EINVAL);
  EXPECT_EQ(sluice_connect("bogus", &c), SLUICE_EINVAL);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(sluice_queue_options_init(nullptr), SLUICE_EINVAL);
  EXPECT_EQ(sluice_open_queue(nullptr, "a/b", &o, &h), SLUICE_EINVAL);
  EXPECT_EQ(sluice_configure_queue(nullptr, 1, 0, 0, 0), SLUICE_EINVAL);
  EXPECT_EQ(sluice_close_queue(nullptr, 1), SLUICE_EINVAL);
  EXPECT_EQ(sluice_post(nullptr, 1, "x", 1, nullptr, 0, nullptr), SLUICE_EINVAL);
  EXPECT_EQ(sluice_confirm(nullptr, 1, &g), SLUICE_EINVAL);
  EXPECT_EQ(sluice_set_ack_handler(nullptr, nullptr, nullptr), SLUICE_EINVAL);
  EXPECT_EQ(sluice_set_message_handler(nullptr, nullptr, nullptr), SLUICE_EINVAL);
  EXPECT_EQ(sluice_poll(nullptr, 0), SLUICE_EINVAL);
  EXPECT_EQ(sluice_start_background_thread(nullptr), SLUICE_EINVAL);
  EXPECT_EQ(sluice_stop_background_thread(nullptr), SLUICE_EINVAL);
  EXPECT_EQ(sluice_unacked(nullptr, &n), SLUICE_EINVAL);
  EXPECT_EQ(sluice_last_status(nullptr), SLUICE_EINVAL);
  sluice_close(nullptr);
  for (int code = 0; code >= -14; --code) EXPECT_NE(sluice_strerror(code), nullptr);
  EXPECT_STREQ(sluice_strerror(SLUICE_ETIMEOUT), "timeout (no reply within the request timeout)");
}

TEST(c_api, smoke_open_post_ack_message_confirm) {
  fake_broker fb;
  EXPECT_EQ(sluice_connect_timeout("127.0.0.1:1", 100'000, nullptr), SLUICE_EINVAL);
  c_state st;
  ASSERT_EQ(sluice_connect_timeout(fb.address().c_str(), 2'000'000, &st.client), SLUICE_OK);
  sluice_client* c = st.client;
  sluice_queue_options o;
  ASSERT_EQ(sluice_queue_options_init(&o), SLUICE_OK);
  EXPECT_EQ(sluice_open_queue(c, "prio/c", &o, nullptr), SLUICE_EINVAL);
  std::uint32_t h = 0;
  EXPECT_EQ(sluice_open_queue(c, "prio/c", &o, &h), SLUICE_EINVAL);  // neither read nor write
  o.read = 1;
  EXPECT_EQ(sluice_open_queue(c, "refuse/c", &o, &h), SLUICE_EREFUSED);
  EXPECT_EQ(sluice_last_status(c), SLUICE_STATUS_UNKNOWN_DOMAIN);
  o.write = 1;
  ASSERT_EQ(sluice_open_queue(c, "prio/c", &o, &h), SLUICE_OK);
  ASSERT_EQ(sluice_set_ack_handler(c, [](const sluice_ack* a, void* u) {
              auto* s = static_cast<c_state*>(u);
              ++s->acks;
              s->ack_status = a->status;
            }, &st), SLUICE_OK);
  ASSERT_EQ(sluice_set_message_handler(c, [](const sluice_message* m, void* u) {
              auto* s = static_cast<c_state*>(u);
              ++s->messages;
              s->payload.assign(static_cast<const char*>(m->payload), m->payload_len);
              EXPECT_EQ(sluice_confirm(s->client, m->queue, &m->guid), SLUICE_OK);
            }, &st), SLUICE_OK);
  std::uint32_t corr = 0;
  EXPECT_EQ(sluice_post(c, h, nullptr, 4, nullptr, 0, &corr), SLUICE_EINVAL);
  EXPECT_EQ(sluice_post(c, 777, "x", 1, nullptr, 0, &corr), SLUICE_EBADHANDLE);
  ASSERT_EQ(sluice_post(c, h, "echo-c", 6, nullptr, 0, &corr), SLUICE_OK);
  EXPECT_NE(corr, 0u);
  const time_ns deadline = monotonic_now_ns() + 2 * k_ns_per_s;
  while ((st.acks == 0 || st.messages == 0 || fb.a.confirmed_cnt() == 0) && monotonic_now_ns() < deadline) {
    ASSERT_GE(sluice_poll(c, 200), 0);
  }
  EXPECT_EQ(st.acks, 1);
  EXPECT_EQ(st.ack_status, SLUICE_STATUS_OK);
  EXPECT_EQ(st.messages, 1);
  EXPECT_EQ(st.payload, "echo-c");
  EXPECT_EQ(fb.a.confirmed_cnt(), 1u);
  std::size_t unacked = 99;
  EXPECT_EQ(sluice_unacked(c, &unacked), SLUICE_OK);
  EXPECT_EQ(unacked, 0u);
  EXPECT_EQ(sluice_configure_queue(c, h, 1, 10, 1000), SLUICE_OK);
  EXPECT_EQ(sluice_close_queue(c, h), SLUICE_OK);
  EXPECT_EQ(sluice_close_queue(c, h), SLUICE_EBADHANDLE);
  sluice_close(c);
}

}  // namespace
}  // namespace sluice::client
