// Session datagram building: what goes into each DATA packet, in order:
// NAK and SACK (when the receive side has gaps), retransmissions, new frames.
// Every DATA packet carries the cumulative ack in its header.
#include <algorithm>
#include <cstring>

#include "datapath/transport/session.h"
#include "datapath/transport/tx_batch.h"

namespace sluice::transport {

bool session::wants_flush() const noexcept {
  if (_state == session_state::idle || _state == session_state::connecting) return false;
  if (_state == session_state::closed) return _ack_owed;  // last ack of the peer's CLOSE
  return _ack_owed || _nak_owed || _rtx_cnt > 0 || new_frame_fits() || window_change_owed();
}

std::size_t session::write_window(std::span<std::byte> out, std::uint16_t& cnt) noexcept {
  std::byte body[sizeof(wire::window_fixed)];
  const std::uint32_t share = *_recv_share;
  const auto body_sz = wire::encode_window(body, share);
  SLUICE_ASSERT(body_sz.ok(), "a WINDOW body always encodes");
  const auto n = wire::encode_frame(out, wire::frame_type::window, 0, 0, wire::bytes{body, *body_sz});
  if (!n) return 0;
  _adv_bytes = share;
  _last_window_ns = _clock.now_ns();
  ++cnt;
  return *n;
}

std::size_t session::write_ranges(std::span<std::byte> out, std::uint16_t& cnt) noexcept {
  // Scan the receive window once: runs of present frames (SACK) and of
  // missing ones (NAK) between rcv_nxt and the highest frame received.
  wire::seq_range present[wire::k_ranges_max];
  wire::seq_range missing[wire::k_ranges_max];
  std::size_t present_cnt = 0;
  std::size_t missing_cnt = 0;
  std::uint32_t seq = _rcv_nxt;
  while (seq != _rcv_high && (present_cnt < wire::k_ranges_max || missing_cnt < wire::k_ranges_max)) {
    const bool have = rxs(seq).chunk != chunk_pool::k_none;
    const std::uint32_t start = seq;
    while (seq != _rcv_high && (rxs(seq).chunk != chunk_pool::k_none) == have) ++seq;
    auto& list = have ? present : missing;
    auto& n = have ? present_cnt : missing_cnt;
    if (n < wire::k_ranges_max) list[n++] = wire::seq_range{start, seq};
  }
  std::size_t used = 0;
  std::byte body[sizeof(wire::ranges_fixed) + sizeof(present)];
  const auto emit = [&](wire::frame_type t, std::span<const wire::seq_range> ranges) {
    if (ranges.empty()) return false;
    const auto body_sz = wire::encode_ranges(body, ranges);
    SLUICE_ASSERT(body_sz.ok(), "ranges from the receive window must encode");
    const auto n = wire::encode_frame(out.subspan(used), t, 0, 0, wire::bytes{body, *body_sz});
    if (!n) return false;  // no room: the next datagram carries it
    used += *n;
    ++cnt;
    return true;
  };
  if (_nak_owed) {
    if (emit(wire::frame_type::nak, {missing, missing_cnt})) ++_ctr.naks_sent;
    _nak_owed = false;
    _last_nak_ns = _clock.now_ns();
  }
  emit(wire::frame_type::sack, {present, present_cnt});
  return used;
}

std::size_t session::write_retransmits(std::span<std::byte> out, std::uint16_t& cnt) noexcept {
  const time_ns now = _clock.now_ns();
  std::size_t used = 0;
  for (std::uint32_t seq = _snd_una; seq != _snd_tx && _rtx_cnt > 0; ++seq) {
    tx_slot& s = txs(seq);
    if (!s.need_rtx) continue;
    if (s.len > out.size() - used) break;
    std::memcpy(out.data() + used, _pool.at(s.chunk).data(), s.len);
    used += s.len;
    ++cnt;
    if (s.tx_cnt < UINT8_MAX) ++s.tx_cnt;
    s.last_tx_ns = now;
    s.need_rtx = false;
    --_rtx_cnt;
  }
  return used;
}

std::size_t session::write_new(std::span<std::byte> out, std::uint16_t& cnt) noexcept {
  const time_ns now = _clock.now_ns();
  std::size_t used = 0;
  while (_snd_tx != _snd_nxt) {
    tx_slot& s = txs(_snd_tx);
    if (s.len > out.size() - used) break;
    if (!new_frame_fits()) break;
    _inflight_bytes += charge(s.len);
    std::memcpy(out.data() + used, _pool.at(s.chunk).data(), s.len);
    used += s.len;
    ++cnt;
    s.tx_cnt = 1;
    s.last_tx_ns = now;
    _unsent_bytes -= std::min<std::uint32_t>(_unsent_bytes, s.len);
    ++_snd_tx;
    ++_ctr.frames_sent;
  }
  return used;
}

bool session::holding(time_ns now) const noexcept {
  return _cfg.linger_ns > 0 && _in_burst && _state == session_state::open && _snd_tx != _snd_nxt &&
         !_ack_owed && !_nak_owed && !_ranges_owed && _rtx_cnt == 0 &&
         std::size_t{_unsent_bytes} + _last_frame_len + wire::k_packet_header_sz <= _datagram_sz &&
         now - _first_unsent_ns < _cfg.linger_ns;
}

bool session::flush(tx_batch& tx, bool may_hold) noexcept {
  on_dirty_list = false;
  if (may_hold && _cfg.linger_ns > 0 && holding(_clock.now_ns())) {
    mark_dirty();  // looked at again on the next poll
    return false;
  }
  const bool live = _state == session_state::open || _state == session_state::closing;
  // Bounded: each datagram carries at least one frame or is the last one.
  for (int guard = 0; guard < 4096 && wants_flush(); ++guard) {
    auto buf = tx.begin(_peer).first(_datagram_sz);
    auto frames = buf.subspan(wire::k_packet_header_sz);
    std::size_t used = 0;
    std::uint16_t cnt = 0;
    // The byte window goes first: when it changed, and with every NAK (a
    // receiver that lost frames may be one whose sender overran it).
    if (live && guard == 0 && advertises() && (window_change_owed() || _nak_owed)) used += write_window(frames, cnt);
    if (live && guard == 0 && (_ranges_owed || _nak_owed)) used += write_ranges(frames.subspan(used), cnt);
    if (live) {
      used += write_retransmits(frames.subspan(used), cnt);
      used += write_new(frames.subspan(used), cnt);
    }
    if (cnt == 0 && !_ack_owed) break;  // nothing fit; should not happen
    wire::packet_header h{};
    h.kind = static_cast<std::uint8_t>(wire::packet_kind::data);
    h.flags = wire::k_pflag_ack_valid;
    h.session_id = _id;
    h.ack_seq = _rcv_nxt;
    h.payload_sz = static_cast<std::uint16_t>(used);
    h.frame_cnt = cnt;
    wire::encode_packet_header(buf, h);
    tx.commit(wire::k_packet_header_sz + used);
    _ack_owed = false;
    _last_tx_ns = _clock.now_ns();
    ++_ctr.datagrams_sent;
    if (!live) break;
  }
  return true;
}

}  // namespace sluice::transport
