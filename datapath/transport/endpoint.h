// datapath/transport/endpoint.h — sessions over one datagram port.
//
// An endpoint owns a port, a fixed pool of sessions and the chunk pool they
// share, and runs the handshake (docs/protocol.md §3):
//
//   initiator                         responder (keeps no state until ③)
//   ① CONNECT{nonce}            ───►
//                               ◄───  ② CHALLENGE{nonce, ts, mac}
//                                        mac = SipHash(secret, addr|nonce|ts)
//   ③ CONNECT{nonce, ts, mac}   ───►  verify mac and age; create session
//                               ◄───  ④ ACCEPT{session id, limits}
//   DATA ◄──────────────────────────► DATA
//
// The responder's session id is derived from (address, nonce) with a second
// secret key, so a repeated ③ (lost ACCEPT) finds the same session and gets
// the same ACCEPT: no half-open state is ever kept for an address that has
// not proved it receives our datagrams. DATA for an unknown session gets a
// RESET (rate-limited; 32 bytes, never in answer to a RESET).
//
// poll() is one iteration of the owning thread's loop: receive a burst,
// run sessions, fire timers, flush. Not thread-safe: one thread owns the
// endpoint, its sessions and its port.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/flat_map.h"
#include "common/siphash.h"
#include "datapath/transport/datagram_port.h"
#include "datapath/transport/session.h"
#include "datapath/transport/tx_batch.h"

namespace sluice::transport {

struct endpoint_config {
  session_config session;
  std::uint32_t max_sessions = 256;
  std::uint32_t chunk_cnt = 8192;     // frames buffered across all sessions
  bool accept_inbound = false;        // act as responder
  std::uint32_t rx_burst = 64;
  std::uint32_t tx_burst = 64;
  std::uint32_t resets_per_s = 1000;  // RESET rate limit
  time_ns timer_tick_ns = 200 * k_ns_per_us;  // how often session timers run

  std::string validate() const;  // empty when valid
};

struct endpoint_counters {
  std::uint64_t datagrams_received = 0;
  std::uint64_t bad_header = 0;        // failed packet header validation
  std::uint64_t unknown_session = 0;   // DATA for no session we know
  std::uint64_t wrong_source = 0;      // DATA for a session from another address
  std::uint64_t resets_sent = 0;
  std::uint64_t resets_suppressed = 0; // over the RESET rate limit
  std::uint64_t challenges_sent = 0;
  std::uint64_t bad_cookie = 0;        // CONNECT with a wrong or stale cookie
  std::uint64_t handshake_ignored = 0; // stray CHALLENGE/ACCEPT, or not accepting
  std::uint64_t sessions_opened = 0;
  std::uint64_t sessions_closed = 0;
  std::uint64_t sessions_refused = 0;  // no free session slot (answered REFUSE limit_reached when inbound)
  std::uint64_t refused_draining = 0;  // verified CONNECT while draining (answered REFUSE shutting_down)
  std::uint64_t refused_by_peer = 0;   // our handshake answered with REFUSE
  std::uint64_t connect_timeouts = 0;
  std::uint64_t connect_unreachable = 0;  // our handshake drew "port unreachable" (datagram_port::take_unreachable)
};

class endpoint {
 public:
  endpoint(datagram_port& port, const clock& clk, const endpoint_config& cfg,
           session_handler& handler);
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;
  ~endpoint();

  // Starts a handshake with `peer`. The session's on_open() (or on_close()
  // with status::timeout) follows from poll(). Fails with limit_reached when
  // every session slot is in use.
  result<session*, errc> connect(const net_addr& peer) noexcept;

  struct poll_options {
    // Frames may wait to fill a datagram (session_config::linger_ns); false:
    // send every queued frame now (the caller is about to wait).
    bool may_hold = true;
    // Read the port; false: only timers and sends (a caller that read it
    // microseconds ago and is posting in a tight loop).
    bool receive = true;
  };
  // One loop iteration. Returns the number of datagrams received plus sent:
  // 0 means idle (the caller's idle policy may then wait on the port).
  std::size_t poll(poll_options o) noexcept;
  std::size_t poll() noexcept { return poll(poll_options{}); }
  // After poll(): when frames it kept back to fill a datagram must go
  // (session_config::linger_ns); 0 if none are kept. An idle caller waits no
  // longer than this.
  time_ns hold_until_ns() const noexcept { return _hold_until_ns; }

  // Gracefully closes every session (then poll() until sessions() == 0).
  void close_all(wire::status reason) noexcept;

  std::size_t sessions() const noexcept { return _live; }
  // Drain: while set, a CONNECT with a valid cookie is answered REFUSE
  // (shutting_down) and counted (refused_draining), so the client fails at
  // once with the reason; sessions already open carry on.
  void set_draining(bool on) noexcept { _draining = on; }
  bool draining() const noexcept { return _draining; }
  const endpoint_counters& counters() const noexcept { return _ctr; }
  datagram_port& port() noexcept { return _port; }
  const endpoint_config& config() const noexcept { return _cfg; }
  std::size_t chunks_free() const noexcept { return _pool.free_cnt(); }
  // Calls fn(session&) for every session not idle.
  template <class Fn>
  void for_each_session(Fn&& fn) {
    for (auto& s : _sessions) {
      if (s->state() != session_state::idle) fn(*s);
    }
  }

 private:
  void on_datagram(const rx_datagram& d) noexcept;
  void on_connect(const rx_datagram& d, const wire::connect_body& b) noexcept;
  void on_challenge(const rx_datagram& d, const wire::challenge_body& b) noexcept;
  void on_accept(const rx_datagram& d, std::uint64_t id, const wire::accept_body& b) noexcept;
  void send_connect(session& s) noexcept;
  void send_reset(const net_addr& to, std::uint64_t id, wire::status reason) noexcept;
  void send_refuse(const net_addr& to, std::uint64_t nonce, wire::status reason) noexcept;
  void send_challenge(const net_addr& to, std::uint64_t nonce, std::uint32_t ts) noexcept;
  std::uint64_t cookie_mac(const net_addr& a, std::uint64_t nonce, std::uint32_t ts) const noexcept;
  std::uint64_t derive_session_id(const net_addr& a, std::uint64_t nonce) const noexcept;
  session* find_connecting(const net_addr& peer, std::uint64_t nonce) noexcept;
  session* find(std::uint64_t id) noexcept {
    session** s = _table.find(id);
    return s ? *s : nullptr;
  }
  session* take_free() noexcept;
  void run_timers() noexcept;
  void reap(session& s) noexcept;

  datagram_port& _port;
  const clock& _clock;
  endpoint_config _cfg;
  session_handler& _handler;
  chunk_pool _pool;
  std::vector<session*> _dirty;  // sessions with something to flush or reap
  std::vector<std::unique_ptr<session>> _sessions;
  std::vector<session*> _free;
  flat_map<session*> _table;     // id → session, open sessions only
  tx_batch _tx;
  std::vector<rx_datagram> _rx;
  siphash_key _cookie_key;
  siphash_key _id_key;
  std::vector<session*> _flushing;  // _dirty's snapshot during poll()
  time_ns _hold_until_ns = 0;
  std::uint32_t _recv_share = 0;  // byte window each sending peer gets (0 = port cannot say)
  std::size_t _live = 0;
  bool _draining = false;
  std::uint64_t _nonce_ctr = 0;
  time_ns _next_timer_ns = 0;
  time_ns _reset_window_ns = 0;
  std::uint32_t _resets_in_window = 0;
  endpoint_counters _ctr;
};

}  // namespace sluice::transport
