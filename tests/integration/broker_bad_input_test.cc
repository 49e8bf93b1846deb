// Bad input against the real broker: garbage datagrams, frames for queues
// the session never opened, malformed bodies, frame types a client may not
// send. Each gets its error; the broker keeps serving every other session.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "common/rng.h"
#include "datapath/transport/endpoint.h"
#include "datapath/transport/udp_port.h"
#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"

namespace sluice::testing {
namespace {

// A hand-driven session to the broker that records every frame it receives.
struct raw_session final : transport::session_handler {
  explicit raw_session(const std::string& broker_addr) {
    transport::udp_port_config pc;
    pc.bind = *net_addr::from_ip_port("0.0.0.0", 0);
    std::string err;
    port = transport::udp_port::open(pc, err);
    ep = std::make_unique<transport::endpoint>(*port, clk, transport::endpoint_config{}, *this);
    EXPECT_TRUE(ep->connect(*net_addr::parse(broker_addr)).ok());
    EXPECT_TRUE(run_until([&] { return s != nullptr; }));
  }
  void on_open(transport::session& ss) noexcept override { s = &ss; }
  void on_frame(transport::session&, wire::frame_type t, wire::bytes body) noexcept override {
    frames.push_back({t, std::vector<std::byte>(body.begin(), body.end())});
  }
  void on_close(transport::session&, wire::status) noexcept override { s = nullptr; }
  bool run_until(const std::function<bool()>& done, double seconds = 5) {
    const time_ns deadline = monotonic_now_ns() + static_cast<time_ns>(seconds * 1e9);
    while (!done() && monotonic_now_ns() < deadline) {
      if (ep->poll() == 0) port->wait(200 * k_ns_per_us);
    }
    return done();
  }
  void send(wire::frame_type t, wire::bytes body) { ASSERT_TRUE(s->send(t, body).ok()); }
  // The first frame of type `t` received, waiting for it.
  std::vector<std::byte> wait_for(wire::frame_type t) {
    std::vector<std::byte> out;
    run_until([&] {
      for (auto& f : frames) {
        if (f.first == t) {
          out = f.second;
          f.first = wire::frame_type::sack;  // consumed
          return true;
        }
      }
      return false;
    });
    return out;
  }

  monotonic_clock clk;
  std::unique_ptr<transport::udp_port> port;
  std::unique_ptr<transport::endpoint> ep;
  transport::session* s = nullptr;
  std::vector<std::pair<wire::frame_type, std::vector<std::byte>>> frames;
};

class broker_bad_input : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker.start()) << broker.error(); }
  void TearDown() override { EXPECT_EQ(broker.stop(), 0) << broker.output(); }

  // A healthy producer/consumer pair must keep working whatever else happens.
  void expect_broker_still_serves(const std::string& uri) {
    auto p = connect_client(broker.address());
    auto c = connect_client(broker.address(1));
    ASSERT_TRUE(p && c);
    int got = 0;
    c->on_message([&](const client::message& m) {
      ++got;
      (void)c->confirm(m.queue, m.guid);
    });
    auto w = p->open_queue(uri, writer());
    ASSERT_TRUE(w.ok()) << client::describe(w.error());
    ASSERT_TRUE(c->open_queue(uri, reader()).ok());
    ASSERT_TRUE(p->post(*w, wire::as_bytes("still here")).ok());
    EXPECT_TRUE(poll_until({p.get(), c.get()}, [&] { return got == 1; }));
  }

  broker_process broker;
};

TEST_F(broker_bad_input, garbage_datagrams_are_dropped_and_counted) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  splitmix64 rng(42);
  std::printf("garbage seed 42\n");
  std::vector<std::byte> junk(1500);
  for (int i = 0; i < 2000; ++i) {
    const std::size_t len = rng.below(junk.size());
    for (auto& b : junk) b = static_cast<std::byte>(rng.next());
    if (i % 3 == 0 && len >= 8) {  // right magic and version, wrong everything else
      const std::uint32_t magic = wire::k_magic;
      std::memcpy(junk.data(), &magic, 4);
      junk[4] = std::byte{wire::k_version};
    }
    sockaddr_storage a{};
    const socklen_t alen = net_addr::parse(broker.address(static_cast<std::uint32_t>(i % 2)))->to_sockaddr(a);
    ::sendto(fd, junk.data(), len, 0, reinterpret_cast<sockaddr*>(&a), alen);
  }
  ::close(fd);
  expect_broker_still_serves("prio/after-garbage");
}

TEST_F(broker_bad_input, frames_for_a_queue_never_opened_get_their_errors) {
  raw_session raw(broker.address());
  ASSERT_NE(raw.s, nullptr);
  std::byte buf[256];
  // PUT on queue id 77, never opened: still exactly one ACK, with the reason.
  wire::put_view put{};
  put.f.queue_id = 77;
  put.f.corr_id = 5;
  put.payload = wire::as_bytes("hello");
  raw.send(wire::frame_type::put, {buf, *wire::encode_put(buf, put)});
  const auto ack_body = raw.wait_for(wire::frame_type::ack);
  const auto acks = wire::decode_ack(ack_body);
  ASSERT_TRUE(acks.ok());
  ASSERT_EQ(acks->size(), 1u);
  EXPECT_EQ((*acks)[0].corr_id, 5u);
  EXPECT_EQ((*acks)[0].status, static_cast<std::uint16_t>(wire::status::queue_not_open));
  // CONFIRM on it: an ERROR naming the queue id.
  const wire::confirm_entry ce{77, 0, wire::guid{1, 0, 1, 0}};
  raw.send(wire::frame_type::confirm, {buf, *wire::encode_confirm(buf, {&ce, 1})});
  const auto err_body = raw.wait_for(wire::frame_type::error);
  const auto err = wire::decode_error(err_body);
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->f.code, static_cast<std::uint16_t>(wire::status::queue_not_open));
  EXPECT_EQ(err->f.ref, 77u);
  // CONFIGURE / CLOSE on it: QUEUE_RESULT queue_not_open.
  const wire::configure_queue_fixed cq{9, 77, 0, 1, 1};
  raw.send(wire::frame_type::configure_queue, {buf, *wire::encode_configure_queue(buf, cq)});
  const auto res_body = raw.wait_for(wire::frame_type::queue_result);
  const auto res = wire::decode_queue_result(res_body);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->req_id, 9u);
  EXPECT_EQ(res->status, static_cast<std::uint16_t>(wire::status::queue_not_open));
  EXPECT_NE(raw.s, nullptr);  // the session lives on
  expect_broker_still_serves("prio/after-unopened");
}

TEST_F(broker_bad_input, malformed_bodies_and_client_forbidden_frames_get_errors) {
  raw_session raw(broker.address());
  ASSERT_NE(raw.s, nullptr);
  const std::byte junk[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
  raw.send(wire::frame_type::open_queue, {junk, 3});
  auto e_body = raw.wait_for(wire::frame_type::error);
  auto e = wire::decode_error(e_body);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->f.code, static_cast<std::uint16_t>(wire::status::malformed));
  // A frame only the broker sends.
  std::byte buf[128];
  wire::push_view pv{};
  pv.f.queue_id = 1;
  pv.f.delivery_cnt = 1;
  raw.send(wire::frame_type::push, {buf, *wire::encode_push(buf, pv)});
  e_body = raw.wait_for(wire::frame_type::error);
  e = wire::decode_error(e_body);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->f.code, static_cast<std::uint16_t>(wire::status::unknown_frame));
  // A PUT whose properties block is broken: one ACK with status malformed.
  std::byte put[64] = {};
  wire::put_fixed pf{1, 42, 0, 4, 0};  // props_sz 4, zero-count block: invalid
  std::memcpy(put, &pf, sizeof pf);
  raw.send(wire::frame_type::put, {put, sizeof pf + 4});
  const auto body = raw.wait_for(wire::frame_type::ack);  // keep: the view points into it
  const auto acks = wire::decode_ack(body);
  ASSERT_TRUE(acks.ok());
  EXPECT_EQ((*acks)[0].corr_id, 42u);
  EXPECT_EQ((*acks)[0].status, static_cast<std::uint16_t>(wire::status::malformed));
  EXPECT_NE(raw.s, nullptr);
  expect_broker_still_serves("prio/after-malformed");
}

}  // namespace
}  // namespace sluice::testing
