// client/client_impl.h — the state behind client::client (library-internal).
//
// Main types:
//   broker_link   one broker address: its session (while it lives), the
//                 broker queue ids opened on it and its CONFIRM batch;
//   queue_slot    what a client-wide queue_handle names: link, the link's
//                 epoch when it was opened, the broker's queue id, limits;
//   pending_put   a post() awaiting its ACK, in a fixed ring indexed by
//                 corr_id (corr ids are consecutive, so slot = corr_id & mask);
//   request       a blocking request (OPEN_QUEUE, CONFIGURE_QUEUE,
//                 CLOSE_QUEUE) living on its caller's stack while it waits.
//
//   open_queue ──OPEN_QUEUE──► link[0] ──REDIRECT──► link[k] ──QUEUE_OPENED──► queue_slot
//   post ──PUT(corr_id)──► link ──ACK{corr_id}──► ring[corr_id & mask] ──► ack callback
//   PUSH{queue_id} ──► link.queues[queue_id] ──► handle ──► message callback ──► confirm
//                                                  ──► link.confirms ──CONFIRM──► broker
//
// Threading: everything here is guarded by `_mu` (recursive, so callbacks
// running under it may post() and confirm()). The endpoint, its sessions and
// the port are touched only with `_mu` held. With the background thread on,
// that thread polls; other threads' blocking requests wait on `_cv`, which
// the poller signals when a reply, an open or a close arrives.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client/client.h"
#include "common/net_addr.h"
#include "datapath/transport/endpoint.h"
#include "datapath/transport/udp_port.h"

namespace sluice::client {

struct broker_link {
  enum class state : std::uint8_t { dead, connecting, open };
  net_addr addr;
  transport::session* sess = nullptr;  // set while connecting or open
  state st = state::dead;
  std::uint32_t epoch = 0;             // bumped per (re)connection
  wire::status close_reason = wire::status::ok;
  std::unordered_map<std::uint32_t, std::uint32_t> queues;  // broker queue_id → handle idx
  std::vector<wire::confirm_entry> confirms;                // capacity: one datagram's worth
};

struct queue_slot {
  broker_link* link = nullptr;
  std::uint32_t epoch = 0;
  std::uint32_t queue_id = 0;  // the broker's, scoped to link's session
  std::uint16_t flags = 0;     // wire::k_open_flag_*
  std::uint32_t max_message_sz = 0;
};

struct pending_put {
  std::uint32_t corr_id = 0;
  std::uint32_t queue = 0;  // handle idx
  broker_link* link = nullptr;
  bool live = false;
  ack_fn fn;
};

enum class request_kind : std::uint8_t { open, configure, close };

struct request {
  std::uint32_t req_id = 0;
  request_kind kind = request_kind::open;
  broker_link* link = nullptr;
  bool done = false;
  bool redirected = false;
  bool lost = false;                  // the session ended first
  bool refused_by_error = false;      // an ERROR frame named it
  wire::status status = wire::status::ok;
  std::uint32_t queue_id = 0;
  std::uint32_t max_message_sz = 0;
  std::uint16_t open_flags = 0;       // open: the flags asked for
  std::uint32_t handle = 0;           // open: the handle, registered with the reply
  net_addr redirect_to;
};

struct client_counters {
  std::uint64_t stray_acks = 0;        // ACK for no pending post
  std::uint64_t stray_pushes = 0;      // PUSH for no open handle
  std::uint64_t dropped_messages = 0;  // PUSH with no message handler set
  std::uint64_t late_replies = 0;      // reply for no waiting request
  std::uint64_t broker_errors = 0;     // ERROR frames naming nothing we wait for
  std::uint64_t malformed = 0;         // broker frames that failed to decode
  std::uint64_t unexpected = 0;        // frame types a client does not take
};

using lock_t = std::unique_lock<std::recursive_mutex>;

struct client::impl final : transport::session_handler {
  impl(const client_config& cfg, const net_addr& broker, std::unique_ptr<transport::udp_port> port);
  ~impl() override;

  // ---- session_handler (called inside _ep->poll(), _mu held) ----
  void on_open(transport::session& s) noexcept override;
  void on_frame(transport::session& s, wire::frame_type type, wire::bytes body) noexcept override;
  void on_writable(transport::session& s) noexcept override;
  void on_close(transport::session& s, wire::status reason) noexcept override;

  // ---- client_frames.cc: what arrives ----
  void on_reply(broker_link& l, wire::frame_type type, wire::bytes body) noexcept;
  void on_ack_frame(wire::bytes body) noexcept;
  void on_push(broker_link& l, wire::bytes body) noexcept;
  void on_error_frame(broker_link& l, wire::bytes body) noexcept;
  void complete_put(std::uint32_t corr_id, wire::status st, const wire::guid& g) noexcept;
  request* find_request(const broker_link& l, std::uint32_t req_id) noexcept;

  // ---- client_data.cc: post, confirm, polling, background thread ----
  result<std::uint32_t, error> post(queue_handle q, wire::bytes payload, wire::bytes props, ack_fn fn);
  status<error> confirm(queue_handle q, const wire::guid& g);
  std::size_t poll_locked(time_ns timeout_ns);
  std::size_t flush_confirms() noexcept;
  bool flush_link_confirms(broker_link& l) noexcept;
  void wake() noexcept;
  void background_loop();
  void start_background();
  void stop_background();

  // ---- client_requests.cc: blocking requests ----
  status<error> connect_bootstrap();
  // The open link to `addr`, connecting it (blocking handshake) if needed.
  result<broker_link*, error> link_to(lock_t& lk, const net_addr& addr, time_ns deadline);
  void forget_handle(std::uint32_t idx) noexcept;
  result<queue_handle, error> open_queue(std::string_view uri, const queue_options& opts);
  status<error> configure_queue(queue_handle q, std::int32_t priority, std::uint32_t msgs, std::uint64_t bytes);
  status<error> close_queue(queue_handle q);
  status<error> send_request(lock_t& lk, broker_link& l, wire::frame_type t, wire::bytes body,
                             time_ns deadline);
  status<error> wait_reply(lock_t& lk, request& r, time_ns deadline);

  // A handle usable for traffic: known, opened with `need_flag` (read or
  // write; 0 = either), and its session is the one it was opened on and
  // still open. Null with the reason in `err` otherwise: bad_handle,
  // not_readable / not_writable, disconnected (checked in that order).
  queue_slot* usable(queue_handle q, std::uint16_t need_flag, errc& err) noexcept;
  void assert_not_in_callback(const char* what) const noexcept;

  // Waits until pred() or the deadline, lock held by `lk`: polls itself, or
  // (background thread running and this is another thread) sleeps on _cv.
  template <class Pred>
  bool await(lock_t& lk, time_ns deadline, Pred pred) {
    while (!pred()) {
      const time_ns now = _clock.now_ns();
      if (now >= deadline) return false;
      const time_ns slice = std::min(deadline - now, k_wait_slice_ns);
      if (_bg_running && std::this_thread::get_id() != _bg_id) {
        _cv.wait_for(lk, std::chrono::nanoseconds(slice));
      } else {
        poll_locked(slice);
      }
    }
    return true;
  }

  // How long an idle wait may last: at most `most`, and no longer than
  // posts held back to fill a datagram may wait (client_config::linger_ns).
  time_ns wait_slice(time_ns now, time_ns most) const noexcept {
    const time_ns hold = _ep->hold_until_ns();
    if (hold != 0) most = std::min(most, std::max<time_ns>(hold - now, 0));
    return std::min(most, k_wait_slice_ns);
  }

  static constexpr time_ns k_wait_slice_ns = 1 * k_ns_per_ms;
  static constexpr time_ns k_bg_idle_ns = 200 * k_ns_per_us;
  static constexpr std::uint32_t k_redirects_max = 4;

  client_config _cfg;
  net_addr _broker;
  monotonic_clock _clock;
  time_ns _last_receive_ns = 0;  // poll(0) reads the socket once per linger_ns at most
  std::unique_ptr<transport::udp_port> _port;
  std::unique_ptr<transport::endpoint> _ep;
  std::vector<std::unique_ptr<broker_link>> _links;  // [0]: the bootstrap broker
  std::unordered_map<std::uint32_t, queue_slot> _queues;
  std::uint32_t _next_handle = 1;
  std::vector<pending_put> _puts;
  std::uint32_t _puts_mask = 0;
  std::size_t _puts_live = 0;
  std::uint32_t _next_corr = 1;
  std::vector<request*> _requests;  // waiting now (one per blocked caller)
  std::uint32_t _next_req = 1;
  std::vector<std::byte> _scratch;       // PUT and request bodies
  std::vector<std::byte> _confirm_buf;   // one CONFIRM body
  std::size_t _confirm_fit = 0;
  ack_fn _on_ack;
  message_fn _on_message;
  client_counters _ctr;

  mutable std::recursive_mutex _mu;
  std::condition_variable_any _cv;
  bool _polling = false;  // inside _ep->poll(): user callbacks may be running
  // Background thread. _bg_ctl serialises start/stop; _bg_running and
  // _bg_sleeping are guarded by _mu; _bg_stop is read by the thread without it.
  std::mutex _bg_ctl;
  std::thread _bg_thread;
  std::thread::id _bg_id;  // guarded by _mu (the thread object itself by _bg_ctl)
  std::atomic<bool> _bg_stop{false};  // relaxed: the eventfd write wakes the thread
  bool _bg_running = false;
  bool _bg_sleeping = false;  // between unlock and its wait: wake() must write _wake_fd
  int _wake_fd = -1;          // eventfd
};

}  // namespace sluice::client
