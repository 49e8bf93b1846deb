#include "datapath/transport/endpoint.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace sluice::transport {

namespace {
std::uint32_t coarse_seconds(time_ns now) noexcept {
  return static_cast<std::uint32_t>(now / k_ns_per_s) + 1;  // never 0 (0 = no cookie)
}
}  // namespace

endpoint::endpoint(datagram_port& port, const clock& clk, const endpoint_config& cfg,
                   session_handler& handler)
    : _port(port),
      _clock(clk),
      _cfg(cfg),
      _handler(handler),
      _pool(wire::frame_unit_sz(cfg.session.max_datagram_sz), cfg.chunk_cnt),  // one frame each (§4.12)
      _table(cfg.max_sessions),
      _tx(port, cfg.session.max_datagram_sz, cfg.tx_burst),
      _rx(cfg.rx_burst),
      _cookie_key(random_siphash_key()),
      _id_key(random_siphash_key()) {
  const std::string err = _cfg.validate();
  SLUICE_ASSERT(err.empty(), "endpoint_config must be validated by the caller");
  _dirty.reserve(cfg.max_sessions);
  _flushing.reserve(cfg.max_sessions);
  _sessions.reserve(cfg.max_sessions);
  _free.reserve(cfg.max_sessions);
  for (std::uint32_t i = 0; i < cfg.max_sessions; ++i) {
    _sessions.push_back(std::make_unique<session>(_pool, _clock, _cfg.session, _dirty, &_recv_share));
  }
  for (auto it = _sessions.rbegin(); it != _sessions.rend(); ++it) _free.push_back(it->get());
}

endpoint::~endpoint() = default;

session* endpoint::take_free() noexcept {
  if (_free.empty()) return nullptr;
  session* s = _free.back();
  _free.pop_back();
  ++_live;
  return s;
}

std::uint64_t endpoint::cookie_mac(const net_addr& a, std::uint64_t nonce,
                                   std::uint32_t ts) const noexcept {
  std::byte buf[2 + 2 + 16 + 8 + 4];
  std::memcpy(buf, &a.family, 2);
  std::memcpy(buf + 2, &a.port, 2);
  std::memcpy(buf + 4, a.ip.data(), 16);
  std::memcpy(buf + 20, &nonce, 8);
  std::memcpy(buf + 28, &ts, 4);
  const std::uint64_t mac = siphash24(_cookie_key, buf);
  return mac == 0 ? 1 : mac;  // 0 means "no cookie" on the wire
}

std::uint64_t endpoint::derive_session_id(const net_addr& a, std::uint64_t nonce) const noexcept {
  std::byte buf[2 + 2 + 16 + 8];
  std::memcpy(buf, &a.family, 2);
  std::memcpy(buf + 2, &a.port, 2);
  std::memcpy(buf + 4, a.ip.data(), 16);
  std::memcpy(buf + 20, &nonce, 8);
  const std::uint64_t id = siphash24(_id_key, buf);
  return id == 0 ? 1 : id;
}

result<session*, errc> endpoint::connect(const net_addr& peer) noexcept {
  if (peer.family == 0 || peer.port == 0) return unexpected{errc::bad_address};
  session* s = take_free();
  if (s == nullptr) {
    ++_ctr.sessions_refused;
    return unexpected{errc::limit_reached};
  }
  std::uint64_t nonce = 0;
  while (nonce == 0) {
    const std::uint64_t ctr = ++_nonce_ctr;
    nonce = siphash24(_id_key, std::as_bytes(std::span{&ctr, 1}));
  }
  s->start_connecting(peer, nonce);
  const time_ns now = _clock.now_ns();
  s->connect_interval_ns = _cfg.session.connect_interval_ns;
  s->connect_deadline_ns = now + _cfg.session.connect_timeout_ns;
  send_connect(*s);
  return s;
}

void endpoint::send_connect(session& s) noexcept {
  wire::connect_body b{};
  b.client_nonce = s.client_nonce();
  b.cookie_mac = s.cookie_mac;
  b.cookie_ts = s.cookie_ts;
  b.max_datagram_sz = _cfg.session.max_datagram_sz;
  b.recv_window = _cfg.session.recv_window;
  b.max_message_sz = _cfg.session.max_message_sz;
  auto buf = _tx.begin(s.peer());
  const auto n = wire::encode_connect(buf, b);
  SLUICE_ASSERT(n.ok(), "CONNECT from a validated config must encode");
  _tx.commit(*n);
  s.connect_next_ns = _clock.now_ns() + s.connect_interval_ns;
  s.connect_interval_ns = std::min(s.connect_interval_ns * 2, k_ns_per_s);
}

void endpoint::send_reset(const net_addr& to, std::uint64_t id, wire::status reason) noexcept {
  const time_ns now = _clock.now_ns();
  if (now - _reset_window_ns >= k_ns_per_s) {
    _reset_window_ns = now;
    _resets_in_window = 0;
  }
  if (_resets_in_window >= _cfg.resets_per_s) {
    ++_ctr.resets_suppressed;
    return;
  }
  ++_resets_in_window;
  auto buf = _tx.begin(to);
  const auto n = wire::encode_reset(buf, id, wire::reset_body{static_cast<std::uint16_t>(reason), 0, 0});
  SLUICE_ASSERT(n.ok(), "RESET must encode");
  _tx.commit(*n);
  ++_ctr.resets_sent;
}

session* endpoint::find_connecting(const net_addr& peer, std::uint64_t nonce) noexcept {
  for (auto& s : _sessions) {
    if (s->state() == session_state::connecting && s->peer() == peer &&
        (nonce == 0 || s->client_nonce() == nonce)) {
      return s.get();
    }
  }
  return nullptr;
}

void endpoint::send_challenge(const net_addr& to, std::uint64_t nonce, std::uint32_t ts) noexcept {
  // Stateless: everything needed to verify the reply is in the cookie.
  const wire::challenge_body c{nonce, cookie_mac(to, nonce, ts), ts, 0};
  auto buf = _tx.begin(to);
  const auto n = wire::encode_challenge(buf, c);
  SLUICE_ASSERT(n.ok(), "CHALLENGE must encode");
  _tx.commit(*n);
  ++_ctr.challenges_sent;
}

void endpoint::send_refuse(const net_addr& to, std::uint64_t nonce, wire::status reason) noexcept {
  auto buf = _tx.begin(to);
  const auto n = wire::encode_refuse(buf, wire::refuse_body{nonce, static_cast<std::uint16_t>(reason), 0, 0});
  SLUICE_ASSERT(n.ok(), "REFUSE must encode");
  _tx.commit(*n);
}

void endpoint::on_connect(const rx_datagram& d, const wire::connect_body& b) noexcept {
  if (!_cfg.accept_inbound) {
    ++_ctr.handshake_ignored;
    return;
  }
  const time_ns now = _clock.now_ns();
  const std::uint32_t now_ts = coarse_seconds(now);
  if (b.cookie_mac == 0) {
    send_challenge(d.peer, b.client_nonce, now_ts);
    return;
  }
  const auto lifetime_s = static_cast<std::uint32_t>(_cfg.session.cookie_lifetime_ns / k_ns_per_s);
  const bool fresh = b.cookie_ts <= now_ts && now_ts - b.cookie_ts <= lifetime_s;
  if (!fresh || b.cookie_mac != cookie_mac(d.peer, b.client_nonce, b.cookie_ts)) {
    ++_ctr.bad_cookie;
    // A stale (or forged) cookie gets a fresh challenge, still statelessly,
    // so a slow initiator can finish instead of retrying a dead cookie.
    send_challenge(d.peer, b.client_nonce, now_ts);
    return;
  }
  // The address is proven: a CONNECT we cannot take gets a REFUSE with the
  // reason (smaller than the CONNECT, so nothing to amplify) instead of
  // silence, and the client fails at once saying why.
  if (_draining) {
    ++_ctr.refused_draining;
    send_refuse(d.peer, b.client_nonce, wire::status::shutting_down);
    return;
  }
  const std::uint64_t id = derive_session_id(d.peer, b.client_nonce);
  const wire::accept_body a{b.client_nonce, _cfg.session.max_datagram_sz, 0,
                            _cfg.session.recv_window, _cfg.session.max_message_sz, 0};
  if (session* existing = find(id)) {
    if (existing->peer() == d.peer && existing->client_nonce() == b.client_nonce) {
      auto buf = _tx.begin(d.peer);  // our ACCEPT was lost: repeat it
      const auto n = wire::encode_accept(buf, id, a);
      SLUICE_ASSERT(n.ok(), "ACCEPT must encode");
      _tx.commit(*n);
    }
    return;
  }
  session* s = take_free();
  if (s == nullptr) {
    ++_ctr.sessions_refused;
    send_refuse(d.peer, b.client_nonce, wire::status::limit_reached);
    return;
  }
  s->start_connecting(d.peer, b.client_nonce);
  SLUICE_ASSERT(_table.insert(id, s), "session table sized for max_sessions");
  ++_ctr.sessions_opened;
  auto buf = _tx.begin(d.peer);
  const auto n = wire::encode_accept(buf, id, a);
  SLUICE_ASSERT(n.ok(), "ACCEPT must encode");
  _tx.commit(*n);
  s->open(session::params{id, d.peer, b.max_datagram_sz, b.recv_window, b.max_message_sz}, _handler);
}

void endpoint::on_challenge(const rx_datagram& d, const wire::challenge_body& b) noexcept {
  session* s = find_connecting(d.peer, b.client_nonce);
  if (s == nullptr) {
    ++_ctr.handshake_ignored;
    return;
  }
  s->cookie_mac = b.cookie_mac;
  s->cookie_ts = b.cookie_ts;
  s->connect_interval_ns = _cfg.session.connect_interval_ns;
  send_connect(*s);
}

void endpoint::on_accept(const rx_datagram& d, std::uint64_t id, const wire::accept_body& b) noexcept {
  session* s = find_connecting(d.peer, b.client_nonce);
  if (s == nullptr || find(id) != nullptr) {
    ++_ctr.handshake_ignored;  // duplicate ACCEPT, or not ours
    return;
  }
  SLUICE_ASSERT(_table.insert(id, s), "session table sized for max_sessions");
  ++_ctr.sessions_opened;
  s->open(session::params{id, d.peer, b.max_datagram_sz, b.recv_window, b.max_message_sz}, _handler);
}

void endpoint::on_datagram(const rx_datagram& d) noexcept {
  ++_ctr.datagrams_received;
  const auto h = wire::decode_packet_header(d.data);
  if (!h) {
    ++_ctr.bad_header;
    return;
  }
  const wire::bytes payload = d.data.subspan(wire::k_packet_header_sz);
  switch (static_cast<wire::packet_kind>(h->kind)) {
    case wire::packet_kind::data: {
      session* s = find(h->session_id);
      if (s == nullptr) {
        ++_ctr.unknown_session;
        // Our ACCEPT may be in flight behind this DATA: no RESET while we
        // are still connecting to that peer.
        if (find_connecting(d.peer, 0) == nullptr) send_reset(d.peer, h->session_id, wire::status::reset);
        return;
      }
      if (!(s->peer() == d.peer)) {
        ++_ctr.wrong_source;
        return;
      }
      s->on_packet(*h, payload);
      return;
    }
    case wire::packet_kind::connect: {
      const auto b = wire::decode_connect(payload);
      if (!b) break;
      return on_connect(d, *b);
    }
    case wire::packet_kind::challenge: {
      const auto b = wire::decode_challenge(payload);
      if (!b) break;
      return on_challenge(d, *b);
    }
    case wire::packet_kind::accept: {
      const auto b = wire::decode_accept(payload);
      if (!b) break;
      return on_accept(d, h->session_id, *b);
    }
    case wire::packet_kind::reset: {
      const auto r = wire::decode_reset(payload);
      if (!r) break;
      session* s = find(h->session_id);
      if (s != nullptr && s->peer() == d.peer) s->on_reset(static_cast<wire::status>(r->reason));
      return;
    }
    case wire::packet_kind::refuse: {
      const auto r = wire::decode_refuse(payload);
      if (!r) break;
      // Only for an attempt of ours to that address with that nonce, still
      // before ACCEPT: it ends with the responder's reason.
      session* s = find_connecting(d.peer, r->client_nonce);
      if (s == nullptr || s->id() != 0) {
        ++_ctr.handshake_ignored;
        return;
      }
      ++_ctr.refused_by_peer;
      s->close(static_cast<wire::status>(r->reason));
      return;
    }
  }
  ++_ctr.bad_header;
}

void endpoint::run_timers() noexcept {
  const time_ns now = _clock.now_ns();
  std::uint64_t sending = 0;
  for (auto& sp : _sessions) {
    session& s = *sp;
    if (s.state() == session_state::connecting && s.id() == 0) {
      if (now >= s.connect_deadline_ns) {
        ++_ctr.connect_timeouts;
        s.close(wire::status::timeout);
      } else if (now >= s.connect_next_ns) {
        send_connect(s);
      }
    } else {
      s.on_timer();
      if ((s.state() == session_state::open || s.state() == session_state::closing) &&
          now - s.last_rx_ns() < 50 * k_ns_per_ms) {
        ++sending;
      }
    }
  }
  // The receive buffer is shared by every peer that sends: each gets an
  // equal share of it as its byte window (§4.13), so that together they do
  // not overrun it. A peer counts as sending if it sent in the last 50 ms.
  if (const std::uint64_t cap = _port.receive_buffer_bytes(); cap != 0) {
    // 16 frames: the frame unit, not the datagram (16 KiB datagrams made it 256 KiB a peer).
    const std::uint64_t floor =
        std::min(cap * 7 / 8, std::uint64_t{16} * wire::frame_unit_sz(_cfg.session.max_datagram_sz));
    const std::uint64_t share = cap * 7 / 8 / std::max<std::uint64_t>(sending, 1);
    _recv_share = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(share, floor, UINT32_MAX));
  }
}

void endpoint::reap(session& s) noexcept {
  // A session ended by a protocol error tells its peer at once rather than
  // leaving it to time out. A peer that is gone or reset us needs nothing.
  const auto reason = s.close_reason();
  if (s.failed() && !s.peer_reset() && s.id() != 0 && reason != wire::status::idle_timeout &&
      reason != wire::status::retransmit_limit) {
    send_reset(s.peer(), s.id(), reason);
  }
  _handler.on_close(s, reason);
  if (s.id() != 0) _table.erase(s.id());
  s.recycle();
  _free.push_back(&s);
  --_live;
  ++_ctr.sessions_closed;
}

std::size_t endpoint::poll(poll_options o) noexcept {
  const std::uint64_t sent_before = _tx.sent_total();
  const std::size_t n = o.receive ? _port.receive(_rx) : 0;
  for (std::size_t i = 0; i < n; ++i) on_datagram(_rx[i]);
  // Nothing listens where a handshake of ours went: end it now, not at its
  // connect timeout. Only handshakes: an open session rides out what may be
  // a restart, and a forged ICMP cannot end it.
  std::array<net_addr, 8> gone;
  for (std::size_t k = 0, u = _port.take_unreachable(gone); k < u; ++k) {
    for (auto& sp : _sessions) {
      if (sp->state() == session_state::connecting && sp->id() == 0 && sp->peer() == gone[k]) {
        ++_ctr.connect_unreachable;
        sp->close(wire::status::unreachable);
      }
    }
  }

  const time_ns now = _clock.now_ns();
  if (now >= _next_timer_ns) {
    run_timers();
    _next_timer_ns = now + _cfg.timer_tick_ns;
  }

  _handler.on_rx_burst_done();

  // Sessions marked while we flush (handlers sending from on_close) land in
  // _dirty again and go out on the next poll.
  std::swap(_dirty, _flushing);
  std::size_t held = 0;
  _hold_until_ns = 0;
  for (session* s : _flushing) {
    if (!s->flush(_tx, o.may_hold)) {  // frames kept back to fill a datagram (session_config::linger_ns)
      ++held;
      if (_hold_until_ns == 0 || s->hold_until_ns() < _hold_until_ns) _hold_until_ns = s->hold_until_ns();
      continue;
    }
    if (s->state() == session_state::closed) reap(*s);
  }
  _flushing.clear();
  _tx.flush();
  return n + static_cast<std::size_t>(_tx.sent_total() - sent_before) + _dirty.size() - held;
}

void endpoint::close_all(wire::status reason) noexcept {
  for (auto& s : _sessions) {
    if (s->state() == session_state::open || s->state() == session_state::connecting) s->close(reason);
  }
}

}  // namespace sluice::transport
