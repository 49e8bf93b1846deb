// Session state machine: send path, receive path, timers, close.
// Datagram building lives in session_tx.cc.
#include "datapath/transport/session.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/alloc_guard.h"

namespace sluice::transport {

using wire::frame_type;

const char* errc_name(errc e) noexcept {
  switch (e) {
    case errc::would_block: return "would_block";
    case errc::closed: return "closed";
    case errc::too_large: return "too_large";
    case errc::invalid: return "invalid";
    case errc::limit_reached: return "limit_reached";
    case errc::bad_address: return "bad_address";
  }
  return "invalid_errc";
}

session::session(chunk_pool& pool, const clock& clk, const session_config& cfg,
                 std::vector<session*>& dirty, const std::uint32_t* recv_share) noexcept
    : _pool(pool),
      _dirty(dirty),
      _clock(clk),
      _cfg(cfg),
      _recv_share(recv_share),
      _tx_mask(cfg.send_window - 1),
      _rx_mask(cfg.recv_window - 1) {}

void session::ensure_rings() noexcept {
  if (!_tx.empty()) return;
  // First use of this slot: a session that never opens costs no ring memory
  // (a broker sizes max_sessions for its peak, most slots idle). Kept when
  // the slot is recycled, so the steady state does not allocate.
  alloc_guard::allow allowed;
  _tx.resize(_cfg.send_window);
  _rx.resize(_cfg.recv_window);
}

session::~session() { recycle(); }

void session::start_connecting(const net_addr& peer, std::uint64_t client_nonce) noexcept {
  SLUICE_ASSERT(_state == session_state::idle, "connecting a session in use");
  ensure_rings();
  _state = session_state::connecting;
  _peer = peer;
  _client_nonce = client_nonce;
}

void session::open(const params& p, session_handler& h) noexcept {
  SLUICE_ASSERT(_state == session_state::idle || _state == session_state::connecting,
                "opening a session in use");
  ensure_rings();
  _id = p.id;
  _peer = p.peer;
  _handler = &h;
  _datagram_sz = std::min<std::uint16_t>(_cfg.max_datagram_sz, p.peer_max_datagram_sz);
  _window = std::min(_cfg.send_window, p.peer_recv_window);
  // The largest body that fits the negotiated window as fragments.
  _max_message_sz = static_cast<std::uint32_t>(
      std::min<std::size_t>(p.peer_max_message_sz, fragment_chunk_max() * _window));
  _snd_una = _snd_tx = _snd_nxt = 0;
  _rcv_nxt = _rcv_high = 0;
  _rto = _cfg.rto_initial_ns;
  _have_rtt = false;
  _last_rx_ns = _last_tx_ns = _clock.now_ns();
  _state = session_state::open;
  _handler->on_open(*this);
}

// ---- send path -------------------------------------------------------------------

std::uint32_t session::send_capacity() const noexcept {
  if (_state != session_state::open) return 0;
  return std::min<std::uint32_t>(_window - in_flight(), static_cast<std::uint32_t>(_pool.free_cnt()));
}

status<errc> session::send(frame_type type, wire::bytes body) noexcept {
  if (_state != session_state::open) return unexpected{errc::closed};
  if (!wire::is_application(type) || !wire::is_known_frame_type(static_cast<std::uint8_t>(type))) {
    return unexpected{errc::invalid};
  }
  if (body.size() > _max_message_sz) return unexpected{errc::too_large};
  if (body.size() <= frame_body_max()) {
    return enqueue_frame(type, 0, body);
  }
  return enqueue_fragments(type, body);
}

status<errc> session::enqueue_frame(frame_type type, std::uint8_t flags, wire::bytes body) noexcept {
  if (in_flight() >= _window) {
    _blocked = true;
    return unexpected{errc::would_block};
  }
  const std::uint32_t chunk = _pool.take();
  if (chunk == chunk_pool::k_none) {
    _blocked = true;
    return unexpected{errc::would_block};
  }
  const std::uint32_t seq = _snd_nxt++;
  const auto len = wire::encode_frame(_pool.at(chunk), type, flags, seq, body);
  SLUICE_ASSERT(len.ok(), "frame sized by the caller must encode");
  tx_slot& s = txs(seq);
  SLUICE_DCHECK(s.chunk == chunk_pool::k_none, "tx slot still holds a frame");
  s = tx_slot{.chunk = chunk, .len = static_cast<std::uint16_t>(*len)};
  if (_cfg.linger_ns > 0) note_queued(*len);
  mark_dirty();
  return {};
}

void session::note_queued(std::size_t len) noexcept {
  const time_ns now = _clock.now_ns();
  if (_unsent_bytes == 0) _first_unsent_ns = now;
  _in_burst = now - _last_queued_ns < _cfg.linger_ns;
  _last_queued_ns = now;
  _unsent_bytes += static_cast<std::uint32_t>(len);
  _last_frame_len = static_cast<std::uint16_t>(len);
}

status<errc> session::enqueue_fragments(frame_type type, wire::bytes body) noexcept {
  const std::size_t chunk_body = fragment_chunk_max();
  const std::size_t n = (body.size() + chunk_body - 1) / chunk_body;
  if (n > _window) return unexpected{errc::too_large};  // could never fit the window
  if (_window - in_flight() < n || _pool.free_cnt() < n) {
    _blocked = true;
    return unexpected{errc::would_block};
  }
  const auto total = static_cast<std::uint32_t>(body.size());
  for (std::size_t off = 0; off < body.size(); off += chunk_body) {
    const std::size_t len = std::min(chunk_body, body.size() - off);
    const std::uint32_t chunk = _pool.take();
    const std::uint32_t seq = _snd_nxt++;
    auto out = _pool.at(chunk);
    const auto body_len = wire::encode_fragment(out.subspan(wire::k_frame_header_sz), type, total,
                                                static_cast<std::uint32_t>(off), body.subspan(off, len));
    SLUICE_ASSERT(body_len.ok(), "fragment sized by the session must encode");
    const wire::frame_header h{static_cast<std::uint8_t>(frame_type::fragment), 0,
                               static_cast<std::uint16_t>(*body_len), seq};
    std::memcpy(out.data(), &h, sizeof h);
    txs(seq) = tx_slot{.chunk = chunk, .len = static_cast<std::uint16_t>(wire::k_frame_header_sz + *body_len)};
    if (_cfg.linger_ns > 0) note_queued(wire::k_frame_header_sz + *body_len);
  }
  mark_dirty();
  return {};
}

void session::queue_transport(frame_type type, std::uint8_t flags, wire::bytes body) noexcept {
  const auto st = enqueue_frame(type, flags, body);
  if (type == frame_type::close) {
    if (st) {
      _close_queued = true;
      _close_pending = false;
    } else {
      _close_pending = true;  // retried when acks open the window
    }
  }
  // A PING that does not fit is skipped: the window is full, so traffic flows.
}

void session::close(wire::status reason) noexcept {
  if (_state == session_state::connecting) {
    fail(reason == wire::status::ok ? wire::status::shutting_down : reason);
    return;
  }
  if (_state != session_state::open) return;
  _state = session_state::closing;
  _close_reason = reason;
  _closing_since_ns = _clock.now_ns();
  std::byte body[sizeof(wire::close_fixed)];
  const auto n = wire::encode_close(body, reason, {});
  queue_transport(frame_type::close, 0, wire::bytes{body, *n});
}

void session::fail(wire::status reason) noexcept {
  if (_state == session_state::closed) return;
  _failed = true;
  _state = session_state::closed;
  _close_reason = reason;
  mark_dirty();  // the endpoint reaps closed sessions from the dirty list
}

void session::on_reset(wire::status reason) noexcept {
  // The peer already sent its CLOSE and forgot the session before our last
  // ack reached it: the close is complete, not an error.
  if (_state == session_state::closing && _peer_closed) {
    _state = session_state::closed;
    mark_dirty();
    return;
  }
  fail(reason == wire::status::ok ? wire::status::reset : reason);
  _peer_reset = true;
}

void session::maybe_finish_close() noexcept {
  if (_state == session_state::closing && _close_queued && _peer_closed && _snd_una == _snd_nxt) {
    _state = session_state::closed;
    mark_dirty();
  }
}

void session::mark_dirty() noexcept {
  if (on_dirty_list) return;
  on_dirty_list = true;
  SLUICE_ASSERT(_dirty.size() < _dirty.capacity(), "dirty list sized for every session");
  _dirty.push_back(this);
}

// ---- acknowledgements -------------------------------------------------------------

void session::release_slot(tx_slot& s) noexcept {
  if (s.chunk != chunk_pool::k_none) _pool.give(s.chunk);
  if (s.need_rtx) --_rtx_cnt;
  s = tx_slot{};
}

void session::mark_rtx(tx_slot& s) noexcept {
  if (s.need_rtx || s.acked || s.tx_cnt == 0) return;
  s.need_rtx = true;
  ++_rtx_cnt;
}

void session::rtt_sample(time_ns r) noexcept {
  if (!_have_rtt) {
    _srtt = r;
    _rttvar = r / 2;
    _have_rtt = true;
  } else {
    const time_ns err = _srtt > r ? _srtt - r : r - _srtt;
    _rttvar = (3 * _rttvar + err) / 4;
    _srtt = (7 * _srtt + r) / 8;
  }
  _rto = std::clamp(_srtt + 4 * _rttvar, _cfg.rto_min_ns, _cfg.rto_max_ns);
}

time_ns session::nak_interval() const noexcept {
  return _have_rtt ? std::max(_srtt, _cfg.rto_min_ns / 2) : _cfg.rto_min_ns;
}

void session::on_cum_ack(std::uint32_t ack) noexcept {
  if (!seq_lt(_snd_una, ack)) return;  // old or no progress
  if (seq_lt(_snd_tx, ack)) {          // acknowledges what was never sent
    ++_ctr.malformed;
    return;
  }
  const time_ns now = _clock.now_ns();
  time_ns sample = -1;
  for (std::uint32_t seq = _snd_una; seq != ack; ++seq) {
    tx_slot& s = txs(seq);
    // Karn: only frames sent exactly once give an unambiguous sample. Nor
    // does a frame that was out when the timer fired: its delay (a stopped
    // or overrun receiver) is what made it fire, and taking it would teach
    // the RTT, the NAK guard and the RTO that stall (§4.5).
    if (!s.acked && s.tx_cnt == 1 && s.last_tx_ns > _last_expiry_ns) sample = now - s.last_tx_ns;
    if (!s.acked) uncharge(s);
    release_slot(s);
  }
  _snd_una = ack;
  _rto_expiries = 0;  // the peer is taking frames: whatever timed out before is not a dead peer
  if (sample >= 0) {
    rtt_sample(sample);
  } else if (_have_rtt) {
    _rto = std::clamp(_srtt + 4 * _rttvar, _cfg.rto_min_ns, _cfg.rto_max_ns);  // end backoff
  }
  if (_close_pending && _state == session_state::closing) {
    std::byte body[sizeof(wire::close_fixed)];
    const auto n = wire::encode_close(body, _close_reason, {});
    queue_transport(frame_type::close, 0, wire::bytes{body, *n});
  }
  if (_snd_tx != _snd_nxt) mark_dirty();  // frames held for the byte window may go now
  if (_blocked && send_capacity() > 0) {
    _blocked = false;
    _handler->on_writable(*this);
  }
}

void session::on_window(std::uint32_t bytes) noexcept {
  const bool grew = _peer_window_bytes == 0 || bytes > _peer_window_bytes;
  _peer_window_bytes = std::max<std::uint32_t>(bytes, 1);
  if (grew && _snd_tx != _snd_nxt) mark_dirty();
}

bool session::new_frame_fits() const noexcept {
  if (_snd_tx == _snd_nxt) return false;
  if (_peer_window_bytes == 0 || _inflight_bytes == 0) return true;  // one frame always may go
  return _inflight_bytes + charge(_tx[_snd_tx & _tx_mask].len) <= _peer_window_bytes;
}

bool session::window_change_owed() const noexcept {
  if (!advertises() || _state != session_state::open) return false;
  const std::uint32_t want = *_recv_share;
  if (_adv_bytes == 0) return true;
  const std::uint32_t diff = want > _adv_bytes ? want - _adv_bytes : _adv_bytes - want;
  return diff > _adv_bytes / 8;
}

void session::on_sack(const wire::ranges_view& r) noexcept {
  for (std::size_t i = 0; i < r.ranges.size(); ++i) {
    const auto range = r.ranges[i];
    for (std::uint32_t seq = range.start; seq != range.end; ++seq) {
      if (seq_lt(seq, _snd_una) || !seq_lt(seq, _snd_tx)) continue;
      tx_slot& s = txs(seq);
      if (s.acked) continue;
      if (s.need_rtx) {
        s.need_rtx = false;
        --_rtx_cnt;
      }
      _pool.give(s.chunk);
      s.chunk = chunk_pool::k_none;
      s.acked = true;
      uncharge(s);
      _rto_expiries = 0;
    }
  }
  if (_snd_tx != _snd_nxt) mark_dirty();  // frames held for the byte window may go now
}

void session::on_nak(const wire::ranges_view& r) noexcept {
  const time_ns now = _clock.now_ns();
  const time_ns guard = nak_interval();
  for (std::size_t i = 0; i < r.ranges.size(); ++i) {
    const auto range = r.ranges[i];
    for (std::uint32_t seq = range.start; seq != range.end; ++seq) {
      if (seq_lt(seq, _snd_una) || !seq_lt(seq, _snd_tx)) continue;
      tx_slot& s = txs(seq);
      if (s.acked || s.need_rtx || now - s.last_tx_ns < guard) continue;
      mark_rtx(s);
      ++_ctr.retransmits_nak;
    }
  }
  if (_rtx_cnt > 0) mark_dirty();
}

// ---- receive path -----------------------------------------------------------------

void session::on_packet(const wire::packet_header& h, wire::bytes payload) noexcept {
  if (_state != session_state::open && _state != session_state::closing) return;
  _last_rx_ns = _clock.now_ns();
  ++_ctr.datagrams_received;
  if (h.flags & wire::k_pflag_ack_valid) on_cum_ack(h.ack_seq);
  wire::frame_reader reader(payload, h.frame_cnt);
  while (!reader.done() && (_state == session_state::open || _state == session_state::closing)) {
    const auto f = reader.next();
    if (!f) {
      ++_ctr.malformed;  // the rest of the datagram cannot be trusted
      break;
    }
    switch (f->type()) {
      case frame_type::sack:
      case frame_type::nak: {
        const auto r = wire::decode_ranges(f->body);
        if (!r) {
          ++_ctr.malformed;
        } else if (f->type() == frame_type::sack) {
          on_sack(*r);
        } else {
          on_nak(*r);
        }
        break;
      }
      case frame_type::window: {
        if (const auto w = wire::decode_window(f->body)) {
          on_window(*w);
        } else {
          ++_ctr.malformed;
        }
        break;
      }
      default:
        on_sequenced(*f);
    }
  }
  if (reader.done() && reader.trailing_garbage()) ++_ctr.malformed;
  maybe_finish_close();
  if (_ack_owed) mark_dirty();
}

void session::on_sequenced(const wire::frame_view& f) noexcept {
  // Over the frame unit (§4.12): it could not be buffered out of order, and
  // a peer that sends it breaks the protocol.
  if (f.body.size() > _cfg.frame_body_max()) return fail(wire::status::malformed);
  _ack_owed = true;
  const std::uint32_t d = f.hdr.seq - _rcv_nxt;
  if (d >= 0x80000000u) {
    ++_ctr.duplicates;  // already delivered
    // A resent frame we had: our acks are being lost. The sender probes
    // once per timeout (§4.6), so answer with a few more acks, an interval
    // apart, rather than one that may be lost again.
    _reacks = 3;
    return;
  }
  if (d >= _rx.size()) {
    ++_ctr.out_of_window;
    return;
  }
  if (d == 0) {
    deliver(f);
    ++_rcv_nxt;
    deliver_buffered();
    if (seq_lt(_rcv_high, _rcv_nxt)) _rcv_high = _rcv_nxt;
    if (_rcv_high == _rcv_nxt) _ranges_owed = false;
    return;
  }
  rx_slot& slot = rxs(f.hdr.seq);
  if (slot.chunk != chunk_pool::k_none) {
    ++_ctr.duplicates;
    return;
  }
  const std::uint32_t chunk = _pool.take();
  if (chunk == chunk_pool::k_none) return;  // dropped; the peer resends it
  const std::size_t len = wire::k_frame_header_sz + f.body.size();
  auto out = _pool.at(chunk);
  std::memcpy(out.data(), &f.hdr, wire::k_frame_header_sz);
  if (!f.body.empty()) std::memcpy(out.data() + wire::k_frame_header_sz, f.body.data(), f.body.size());
  slot = rx_slot{chunk, static_cast<std::uint16_t>(len)};
  ++_ctr.out_of_order;
  if (seq_lt(_rcv_high, f.hdr.seq + 1)) _rcv_high = f.hdr.seq + 1;
  _ranges_owed = true;
  if (_clock.now_ns() - _last_nak_ns >= nak_interval()) _nak_owed = true;
}

void session::deliver_buffered() noexcept {
  while (_state != session_state::closed) {
    rx_slot& slot = rxs(_rcv_nxt);
    if (slot.chunk == chunk_pool::k_none) return;
    const auto data = _pool.at(slot.chunk);
    wire::frame_header h;
    std::memcpy(&h, data.data(), sizeof h);
    const wire::frame_view f{h, wire::bytes{data.data() + wire::k_frame_header_sz, h.body_sz}};
    deliver(f);
    _pool.give(slot.chunk);
    slot = rx_slot{};
    ++_rcv_nxt;
  }
}

void session::deliver(const wire::frame_view& f) noexcept {
  switch (f.type()) {
    case frame_type::ping: {
      const auto p = wire::decode_ping(f.hdr.flags, f.body);
      if (!p) return fail(wire::status::malformed);
      if (!p->reply && _state == session_state::open) {
        queue_transport(frame_type::ping, wire::k_ping_flag_reply, f.body);
      }
      return;
    }
    case frame_type::close: {
      const auto c = wire::decode_close(f.body);
      if (!c) return fail(wire::status::malformed);
      _peer_closed = true;
      if (_state == session_state::open) {
        _state = session_state::closing;
        _close_reason = c->reason;
        _closing_since_ns = _clock.now_ns();
        std::byte body[sizeof(wire::close_fixed)];
        const auto n = wire::encode_close(body, wire::status::ok, {});
        queue_transport(frame_type::close, 0, wire::bytes{body, *n});
      }
      return;
    }
    case frame_type::fragment:
      return deliver_fragment(f);
    default:
      if (_peer_closed) return;  // nothing may follow the peer's CLOSE
      if (_reasm_sz != 0) return fail(wire::status::malformed);  // interleaved with fragments
      if (f.body.size() > _cfg.max_message_sz) return fail(wire::status::too_large);
      ++_ctr.frames_delivered;
      _handler->on_frame(*this, f.type(), f.body);
  }
}

void session::deliver_fragment(const wire::frame_view& f) noexcept {
  const auto v = wire::decode_fragment(f.body);
  if (!v) return fail(wire::status::malformed);
  const auto& h = v->f;
  if (h.total_sz > _cfg.max_message_sz) return fail(wire::status::too_large);
  if (_reasm_sz == 0) {
    if (h.offset != 0) return fail(wire::status::malformed);
    _reasm_type = h.inner_type;
    _reasm_total = h.total_sz;
    // Sized for the messages this session really sends (a power of two at
    // least 64 KiB, at most max_message_sz), grown rarely and given back
    // when the session ends: outside the steady state, so the allocation
    // guard allows it.
    if (_reasm.size() < h.total_sz) {
      alloc_guard::allow allowed;
      _reasm.resize(std::min<std::size_t>(std::max<std::size_t>(std::bit_ceil(std::size_t{h.total_sz}), 64u << 10),
                                          _cfg.max_message_sz));
    }
  } else if (h.offset != _reasm_sz || h.inner_type != _reasm_type || h.total_sz != _reasm_total) {
    return fail(wire::status::malformed);
  }
  std::memcpy(_reasm.data() + _reasm_sz, v->chunk.data(), v->chunk.size());
  _reasm_sz += static_cast<std::uint32_t>(v->chunk.size());
  if (_reasm_sz < _reasm_total) return;
  _reasm_sz = 0;
  if (_peer_closed) return;
  ++_ctr.frames_delivered;
  _handler->on_frame(*this, static_cast<frame_type>(_reasm_type),
                     wire::bytes{_reasm.data(), _reasm_total});
}

// ---- timers --------------------------------------------------------------------------

void session::on_timer() noexcept {
  if (_state != session_state::open && _state != session_state::closing) return;
  const time_ns now = _clock.now_ns();
  if (now - _last_rx_ns >= _cfg.idle_timeout_ns) return fail(wire::status::idle_timeout);
  if (_state == session_state::closing && now - _closing_since_ns >= _cfg.idle_timeout_ns) {
    return fail(_close_reason);  // peer never finished the close: give up
  }
  if (_snd_una != _snd_tx) {
    const tx_slot& oldest = txs(_snd_una);
    if (now - std::max(oldest.last_tx_ns, _last_expiry_ns) >= _rto) {
      // The limit counts expiries in a row with no frame newly acknowledged
      // (cumulatively or by SACK), not per frame: an overloaded receiver that
      // acknowledges slowly, or NAKs one frame many times, is alive (§4.6).
      if (++_rto_expiries > _cfg.retransmit_max) return fail(wire::status::retransmit_limit);
      _last_expiry_ns = now;
      // One probe, the newest frame the peer has not SACKed: if it arrives,
      // the peer acks it or NAKs exactly the frames it lacks below it. A
      // timeout is most often an overrun receiver (a full socket buffer, a
      // descheduled reader), and resending the whole window into it at
      // every timeout is what kept it overrun.
      for (std::uint32_t seq = _snd_tx; seq != _snd_una;) {
        tx_slot& s = txs(--seq);
        if (s.acked) continue;
        if (!s.need_rtx) {
          mark_rtx(s);
          ++_ctr.retransmits_timer;
        }
        break;
      }
      _rto = std::min(_rto * 2, _cfg.rto_max_ns);
      mark_dirty();
    }
  }
  if (_reacks != 0 && now - _last_tx_ns >= nak_interval()) {
    --_reacks;
    _ack_owed = true;
    mark_dirty();
  }
  if (_ranges_owed && now - _last_nak_ns >= nak_interval()) {
    _nak_owed = true;  // the gap is still open: ask again
    mark_dirty();
  }
  // A changed share, or the last advertisement a keepalive ago while the
  // peer sends (a lost WINDOW frame is superseded by the next one).
  if (window_change_owed() ||
      (_adv_bytes != 0 && now - _last_window_ns >= _cfg.keepalive_ns && now - _last_rx_ns < _cfg.keepalive_ns)) {
    _adv_bytes = 0;  // owed: the next flush sends the current share
    mark_dirty();
  }
  if (_state == session_state::open && now - _last_tx_ns >= _cfg.keepalive_ns) {
    const std::uint64_t nonce = ++_ping_nonce;
    queue_transport(frame_type::ping, 0, std::as_bytes(std::span{&nonce, 1}));
  }
}

void session::recycle() noexcept {
  for (std::uint32_t seq = _snd_una; seq != _snd_nxt; ++seq) release_slot(txs(seq));
  for (auto& slot : _rx) {
    if (slot.chunk != chunk_pool::k_none) _pool.give(slot.chunk);
    slot = rx_slot{};
  }
  _rtx_cnt = 0;
  _handler = nullptr;
  _state = session_state::idle;
  _id = 0;
  _client_nonce = 0;
  _peer = net_addr{};
  _snd_una = _snd_tx = _snd_nxt = 0;
  _rcv_nxt = _rcv_high = 0;
  _blocked = _ack_owed = _ranges_owed = _nak_owed = false;
  _unsent_bytes = 0;
  _last_frame_len = 0;
  _first_unsent_ns = _last_queued_ns = 0;
  _in_burst = false;
  _reasm_sz = 0;
  if (!_reasm.empty()) std::vector<std::byte>().swap(_reasm);  // up to max_message_sz: not kept for the next session
  _close_queued = _close_pending = _peer_closed = _failed = _peer_reset = false;
  _close_reason = wire::status::ok;
  _last_nak_ns = 0;
  _last_expiry_ns = 0;
  _reacks = 0;
  _adv_bytes = 0;
  _last_window_ns = 0;
  _peer_window_bytes = 0;
  _inflight_bytes = 0;
  _ctr = session_counters{};
  connect_next_ns = connect_deadline_ns = connect_interval_ns = 0;
  cookie_mac = 0;
  cookie_ts = 0;
  user = nullptr;
}

}  // namespace sluice::transport
