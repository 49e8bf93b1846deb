// datapath/transport/session.h — one reliable, ordered session with one peer.
//
// The session turns lossy datagrams into a reliable, in-order,
// duplicate-free stream of frames in each direction (docs/protocol.md §4).
// It is symmetric: broker and client run the same code once the handshake
// (endpoint.h) has made the session.
//
//   send(type, body) ─► seq assigned ─► tx ring (chunk per frame) ─► flush()
//        ▲ would_block when the window or chunk pool is full        │
//        │                                                           ▼
//   on_writable()                                   DATA datagrams (ack_seq, SACK,
//                                                   NAK, new + retransmitted frames)
//   on_frame(type, body) ◄─ in-order delivery ◄─ rx ring (out-of-order frames)
//
// Sender: frames get consecutive 32-bit sequence numbers (serial arithmetic);
// at most `window` = min(own send_window, peer's recv_window) frames are
// unacknowledged at any time, so memory and in-flight data are bounded and
// send() pushes back instead of growing. Acks are cumulative (packet
// header ack_seq) plus SACK ranges; lost frames are resent when the peer
// NAKs a gap or when the retransmission timer (RFC 6298 from measured RTT,
// exponential backoff) fires — the timer resends one probe, the newest
// frame, never the whole window. A receiver that knows its buffer also
// advertises a byte window (WINDOW) that the sender keeps its frames in
// flight within, so a slow or stopped reader is not overrun. Receiver:
// frames inside the window are kept until the gap before them fills, then
// delivered in order exactly once.
// Frames larger than a datagram travel as FRAGMENTs and are reassembled.
//
// Thread: a session belongs to its endpoint's thread. Handlers are called on
// that thread and may call send() and close() from inside a callback.
#pragma once

#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "common/net_addr.h"
#include "common/result.h"
#include "datapath/transport/chunk_pool.h"
#include "datapath/transport/session_config.h"
#include "datapath/wire/codec.h"

namespace sluice::transport {

class session;
class tx_batch;

enum class errc : std::uint8_t {
  would_block = 1,  // window or chunk pool full: retry after on_writable()
  closed,           // session closing or closed: nothing more may be sent
  too_large,        // frame body over the negotiated max message size
  invalid,          // not an application frame type
  limit_reached,    // endpoint: no free session slot
  bad_address,
};
const char* errc_name(errc e) noexcept;

// Callbacks from a session to its owner. Called on the endpoint's thread.
class session_handler {
 public:
  virtual ~session_handler() = default;
  // Handshake done; the session may send.
  virtual void on_open(session&) noexcept {}
  // One application frame, in order, exactly once. `body` is valid only
  // during the call.
  virtual void on_frame(session& s, wire::frame_type type, wire::bytes body) noexcept = 0;
  // The window opened again after send() returned would_block.
  virtual void on_writable(session&) noexcept {}
  // Called by endpoint::poll() once per iteration after the received burst
  // and the timers were handled, before anything is flushed: the place to
  // emit batched replies (ACKs) so they leave in this iteration's datagrams.
  virtual void on_rx_burst_done() noexcept {}
  // The session is over (graceful close, timeout, reset, protocol error).
  // Last callback for this session; it is recycled after the call returns.
  virtual void on_close(session&, wire::status) noexcept {}
};

enum class session_state : std::uint8_t { idle, connecting, open, closing, closed };

struct session_counters {
  std::uint64_t frames_sent = 0;        // new sequenced frames transmitted
  std::uint64_t frames_delivered = 0;   // application frames handed up
  std::uint64_t retransmits_timer = 0;
  std::uint64_t retransmits_nak = 0;
  std::uint64_t duplicates = 0;         // frames received twice (dropped)
  std::uint64_t out_of_window = 0;      // frames beyond the receive window
  std::uint64_t out_of_order = 0;       // frames buffered until a gap filled
  std::uint64_t naks_sent = 0;
  std::uint64_t malformed = 0;          // datagrams dropped for a bad frame
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_received = 0;
};

class session {
 public:
  // `dirty` is the endpoint's list of sessions with something to flush; its
  // capacity must cover every session (never reallocates).
  // `recv_share`, when given, is the endpoint's byte window for each peer
  // (its receive buffer's share, 0 = unknown): advertised to the peer in
  // WINDOW frames (docs/protocol.md §4.13).
  session(chunk_pool& pool, const clock& clk, const session_config& cfg,
          std::vector<session*>& dirty, const std::uint32_t* recv_share = nullptr) noexcept;
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();

  // ---- for the application (any callback or between polls, owner thread) ----

  // Queues one application frame. The body is copied; frames larger than one
  // datagram are fragmented. Fails with would_block (window or pool full;
  // on_writable() follows), closed, too_large or invalid.
  status<errc> send(wire::frame_type type, wire::bytes body) noexcept;
  // How many more one-datagram frames send() would take right now.
  std::uint32_t send_capacity() const noexcept;
  // Asks for on_writable() once acknowledgements free window space, as if
  // send() had returned would_block (for callers that hold back earlier).
  void want_writable() noexcept { _blocked = true; }
  // Starts a graceful close: frames already queued are still delivered,
  // then CLOSE(reason). on_close() follows when both sides are done.
  void close(wire::status reason = wire::status::ok) noexcept;

  session_state state() const noexcept { return _state; }
  std::uint64_t id() const noexcept { return _id; }
  const net_addr& peer() const noexcept { return _peer; }
  std::uint32_t window() const noexcept { return _window; }
  std::uint32_t in_flight() const noexcept { return _snd_nxt - _snd_una; }
  time_ns srtt_ns() const noexcept { return _srtt; }
  time_ns rto_ns() const noexcept { return _rto; }
  time_ns last_rx_ns() const noexcept { return _last_rx_ns; }
  // The peer's byte window (0 = none advertised) and what counts against it.
  std::uint32_t peer_window_bytes() const noexcept { return _peer_window_bytes; }
  std::uint32_t in_flight_bytes() const noexcept { return _inflight_bytes; }
  const session_counters& counters() const noexcept { return _ctr; }
  // Largest unfragmented frame body: the frame unit of the negotiated
  // datagram size (§4.12). A datagram may carry several such frames.
  std::size_t frame_body_max() const noexcept {
    return wire::frame_unit_sz(_datagram_sz) - wire::k_packet_header_sz - wire::k_frame_header_sz;
  }
  std::uint16_t datagram_sz() const noexcept { return _datagram_sz; }
  // Largest chunk of a message one FRAGMENT carries (§4.12).
  std::size_t fragment_chunk_max() const noexcept { return frame_body_max() - sizeof(wire::fragment_fixed); }
  // Largest application frame body the peer accepts.
  std::uint32_t max_message_sz() const noexcept { return _max_message_sz; }

  void* user = nullptr;  // owner's per-session state

  // ---- for the endpoint -------------------------------------------------------
  struct params {
    std::uint64_t id;
    net_addr peer;
    std::uint16_t peer_max_datagram_sz;
    std::uint32_t peer_recv_window;
    std::uint32_t peer_max_message_sz;
  };
  void start_connecting(const net_addr& peer, std::uint64_t client_nonce) noexcept;
  void open(const params& p, session_handler& h) noexcept;
  void on_packet(const wire::packet_header& h, wire::bytes payload) noexcept;
  // The peer sent RESET (`reason` from its body).
  void on_reset(wire::status reason) noexcept;
  // Timers: retransmission, keepalive, idle timeout, close linger.
  void on_timer() noexcept;
  // Builds DATA datagrams for everything owed (acks, NAKs, frames). Returns
  // false when it held new frames back to fill a datagram (linger_ns, only
  // if `may_hold`): the session stays on the dirty list until hold_until_ns().
  bool flush(tx_batch& tx, bool may_hold = true) noexcept;
  // While flush() holds frames back: when they go at the latest.
  time_ns hold_until_ns() const noexcept { return _first_unsent_ns + _cfg.linger_ns; }
  bool wants_flush() const noexcept;
  // Releases every chunk and returns to idle.
  void recycle() noexcept;

  std::uint64_t client_nonce() const noexcept { return _client_nonce; }
  session_handler* handler() const noexcept { return _handler; }
  wire::status close_reason() const noexcept { return _close_reason; }
  // Closed by an error (timeout, protocol error, reset), not a graceful close.
  bool failed() const noexcept { return _failed; }
  // Ended by the peer's RESET: the peer needs no word from us.
  bool peer_reset() const noexcept { return _peer_reset; }
  // Handshake retransmission state (initiator), kept here to stay per-session.
  time_ns connect_next_ns = 0;
  time_ns connect_deadline_ns = 0;
  time_ns connect_interval_ns = 0;
  std::uint64_t cookie_mac = 0;
  std::uint32_t cookie_ts = 0;
  bool on_dirty_list = false;

 private:
  // 16 bytes: send_window of these per session in use (16 KiB at 1024).
  struct tx_slot {
    time_ns last_tx_ns = 0;
    std::uint32_t chunk = chunk_pool::k_none;
    std::uint16_t len = 0;     // encoded frame (header + body) bytes in chunk
    std::uint8_t tx_cnt = 0;   // transmissions so far (saturates at 255); 0 = not yet sent
    bool acked : 1 = false;    // SACKed (cumulatively acked slots are cleared)
    bool need_rtx : 1 = false; // marked for retransmission by NAK or timer
  };
  static_assert(sizeof(tx_slot) == 16);
  struct rx_slot {
    std::uint32_t chunk = chunk_pool::k_none;
    std::uint16_t len = 0;
  };

  // send path
  status<errc> enqueue_frame(wire::frame_type type, std::uint8_t flags, wire::bytes body) noexcept;
  status<errc> enqueue_fragments(wire::frame_type type, wire::bytes body) noexcept;
  void queue_transport(wire::frame_type type, std::uint8_t flags, wire::bytes body) noexcept;
  tx_slot& txs(std::uint32_t seq) noexcept { return _tx[seq & _tx_mask]; }
  void ensure_rings() noexcept;
  // Coalescing bookkeeping for a frame of `len` bytes just queued (linger_ns > 0).
  void note_queued(std::size_t len) noexcept;
  // flush() keeps new frames back: they came in a burst, their datagram has
  // room for another, nothing else is owed and none waited linger_ns yet.
  bool holding(time_ns now) const noexcept;
  // receive path
  void on_cum_ack(std::uint32_t ack) noexcept;
  void on_sack(const wire::ranges_view& r) noexcept;
  void on_nak(const wire::ranges_view& r) noexcept;
  void on_sequenced(const wire::frame_view& f) noexcept;
  void deliver(const wire::frame_view& f) noexcept;
  void deliver_fragment(const wire::frame_view& f) noexcept;
  void deliver_buffered() noexcept;
  rx_slot& rxs(std::uint32_t seq) noexcept { return _rx[seq & _rx_mask]; }
  void rtt_sample(time_ns sample) noexcept;
  void release_slot(tx_slot& s) noexcept;
  void mark_rtx(tx_slot& s) noexcept;
  time_ns nak_interval() const noexcept;
  void fail(wire::status reason) noexcept;
  void maybe_finish_close() noexcept;
  void mark_dirty() noexcept;
  // tx building
  // Each writes frames into `out`, returns bytes used and adds to `cnt`.
  std::size_t write_ranges(std::span<std::byte> out, std::uint16_t& cnt) noexcept;
  std::size_t write_window(std::span<std::byte> out, std::uint16_t& cnt) noexcept;
  // Byte-window accounting (§4.13): what a frame of `len` encoded bytes
  // counts against the peer's window, whether the next new frame fits it,
  // and whether our own advertisement is stale.
  static std::uint32_t charge(std::uint16_t len) noexcept { return std::max<std::uint32_t>(len, 256); }
  void uncharge(const tx_slot& s) noexcept { _inflight_bytes -= std::min(_inflight_bytes, charge(s.len)); }
  bool advertises() const noexcept { return _recv_share != nullptr && *_recv_share != 0; }
  bool new_frame_fits() const noexcept;
  bool window_change_owed() const noexcept;
  void on_window(std::uint32_t bytes) noexcept;
  std::size_t write_retransmits(std::span<std::byte> out, std::uint16_t& cnt) noexcept;
  std::size_t write_new(std::span<std::byte> out, std::uint16_t& cnt) noexcept;

  chunk_pool& _pool;
  std::vector<session*>& _dirty;
  const clock& _clock;
  const session_config& _cfg;
  session_handler* _handler = nullptr;
  session_state _state = session_state::idle;
  std::uint64_t _id = 0;
  std::uint64_t _client_nonce = 0;
  net_addr _peer;
  std::uint16_t _datagram_sz = 0;    // negotiated: min of both sides
  std::uint32_t _window = 0;         // negotiated send window (frames)
  std::uint32_t _max_message_sz = 0; // peer's limit for our frames
  const std::uint32_t* _recv_share;  // endpoint's byte window per peer (nullptr/0 = none)
  std::uint32_t _adv_bytes = 0;      // byte window last advertised
  time_ns _last_window_ns = 0;       // when it was
  std::uint32_t _peer_window_bytes = 0; // the peer's; 0 = none advertised (frames window only)
  std::uint32_t _inflight_bytes = 0; // charge of frames sent and not acked or SACKed

  // send side: [snd_una, snd_tx) sent at least once, [snd_tx, snd_nxt) queued
  std::vector<tx_slot> _tx;
  std::uint32_t _tx_mask = 0;
  std::uint32_t _snd_una = 0;
  std::uint32_t _snd_tx = 0;
  std::uint32_t _snd_nxt = 0;
  std::uint32_t _rtx_cnt = 0;        // slots with need_rtx set
  std::uint32_t _rto_expiries = 0;   // timer expiries since an ack last covered a new frame
  bool _blocked = false;             // send() said would_block: owe on_writable

  // receive side
  std::vector<rx_slot> _rx;
  std::uint32_t _rx_mask = 0;
  std::uint32_t _rcv_nxt = 0;
  std::uint32_t _rcv_high = 0;       // one past the highest seq received
  bool _ack_owed = false;
  std::uint8_t _reacks = 0;          // extra acks owed after a duplicate (§4.6)
  // Coalescing (session_config::linger_ns): frames queued and not yet sent.
  std::uint32_t _unsent_bytes = 0;
  std::uint16_t _last_frame_len = 0;
  time_ns _first_unsent_ns = 0;  // when the oldest unsent frame was queued
  time_ns _last_queued_ns = 0;
  bool _in_burst = false;        // the last frame came within linger_ns of the one before
  bool _ranges_owed = false;         // out-of-order data: send SACK
  bool _nak_owed = false;
  time_ns _last_nak_ns = 0;
  std::vector<std::byte> _reasm;     // fragment reassembly (lazily sized once)
  std::uint32_t _reasm_sz = 0;       // bytes gathered; 0 = none in progress
  std::uint32_t _reasm_total = 0;
  std::uint8_t _reasm_type = 0;

  // timing
  time_ns _srtt = 0;
  time_ns _rttvar = 0;
  time_ns _rto = 0;
  time_ns _last_expiry_ns = 0;  // the retransmission timer last fired
  bool _have_rtt = false;
  time_ns _last_rx_ns = 0;
  time_ns _last_tx_ns = 0;
  time_ns _closing_since_ns = 0;

  // close
  bool _close_queued = false;
  bool _close_pending = false;       // close() while the window was full
  bool _peer_closed = false;
  bool _failed = false;
  bool _peer_reset = false;
  wire::status _close_reason = wire::status::ok;
  std::uint64_t _ping_nonce = 0;

  session_counters _ctr;
};

// Serial-number comparison for 32-bit sequence numbers (RFC 1982).
constexpr bool seq_lt(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) < 0;
}

}  // namespace sluice::transport
