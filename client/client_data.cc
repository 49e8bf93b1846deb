// The client's data path: post() and confirm(), the poll loop that runs the
// endpoint and flushes CONFIRM batches, and the background thread.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "client/client_impl.h"
#include "datapath/wire/properties.h"

namespace sluice::client {

// ---- post -------------------------------------------------------------------------

result<std::uint32_t, error> client::impl::post(queue_handle q, wire::bytes payload, wire::bytes props,
                                                ack_fn fn) {
  lock_t lk(_mu);
  errc why{};
  queue_slot* s = usable(q, wire::k_open_flag_write, why);
  if (s == nullptr) return unexpected{error{why}};
  if (payload.size() + props.size() > s->max_message_sz) return unexpected{error{errc::too_large}};
  if (props.size() > wire::k_properties_sz_max) return unexpected{error{errc::too_large}};
  if (!wire::validate_properties(props)) return unexpected{error{errc::invalid_argument}};
  transport::session& sess = *s->link->sess;
  const std::size_t body_sz = sizeof(wire::put_fixed) + props.size() + payload.size();
  if (body_sz > sess.max_message_sz()) return unexpected{error{errc::too_large}};

  const std::uint32_t corr = _next_corr;
  pending_put& p = _puts[corr & _puts_mask];
  if (p.live) return unexpected{error{errc::would_block}};  // max_unacked_posts reached

  // Grows once to the largest message posted; bounded by max_message_sz above.
  if (_scratch.size() < body_sz) _scratch.resize(body_sz);
  const wire::put_view v{wire::put_fixed{s->queue_id, corr, 0, 0, 0}, props, payload};
  const auto n = wire::encode_put(_scratch, v);
  if (!n) {
    return unexpected{error{n.error() == wire::errc::too_large ? errc::too_large : errc::invalid_argument}};
  }
  const auto st = sess.send(wire::frame_type::put, wire::bytes{_scratch.data(), *n});
  if (!st) {
    switch (st.error()) {
      case transport::errc::would_block: return unexpected{error{errc::would_block}};
      case transport::errc::too_large: return unexpected{error{errc::too_large}};
      case transport::errc::closed: return unexpected{error{errc::disconnected}};
      default: return unexpected{error{errc::invalid_argument}};
    }
  }
  _next_corr = corr + 1 == 0 ? 1 : corr + 1;  // 0 is never a corr_id
  p.corr_id = corr;
  p.queue = q.idx;
  p.link = s->link;
  p.live = true;
  p.fn = std::move(fn);
  ++_puts_live;
  wake();
  return corr;
}

// ---- confirm ----------------------------------------------------------------------

status<error> client::impl::confirm(queue_handle q, const wire::guid& g) {
  lock_t lk(_mu);
  errc why{};
  queue_slot* s = usable(q, wire::k_open_flag_read, why);
  if (s == nullptr) return unexpected{error{why}};
  broker_link& l = *s->link;
  if (l.confirms.size() >= _confirm_fit && !flush_link_confirms(l)) {
    return unexpected{error{errc::would_block}};
  }
  l.confirms.push_back(wire::confirm_entry{s->queue_id, 0, g});
  if (l.confirms.size() >= _confirm_fit) flush_link_confirms(l);  // else the next poll() sends it
  return {};
}

bool client::impl::flush_link_confirms(broker_link& l) noexcept {
  if (l.confirms.empty()) return true;
  if (l.st != broker_link::state::open) {
    l.confirms.clear();  // the broker redelivers what this session held
    return true;
  }
  const auto n = wire::encode_confirm(_confirm_buf, l.confirms);
  SLUICE_ASSERT(n.ok(), "a CONFIRM batch sized by confirm_entries_fit must encode");
  const auto st = l.sess->send(wire::frame_type::confirm, wire::bytes{_confirm_buf.data(), *n});
  if (!st && st.error() == transport::errc::would_block) return false;  // kept for the next poll()
  l.confirms.clear();  // sent, or the session is closing and the broker redelivers
  return true;
}

std::size_t client::impl::flush_confirms() noexcept {
  std::size_t sent = 0;
  for (auto& l : _links) {
    if (!l->confirms.empty() && flush_link_confirms(*l)) ++sent;
  }
  return sent;
}

// ---- polling ----------------------------------------------------------------------

std::size_t client::impl::poll_locked(time_ns timeout_ns) {
  // poll(0) in a loop may hold frames back to fill datagrams (linger_ns); a
  // poll that may wait sends everything first: its caller is done for now.
  const bool may_hold = timeout_ns <= 0;
  const auto once = [this, may_hold] {
    // In a tight poll(0) loop the socket is read once per linger_ns at most:
    // a producer that polls after every post spent most of its time in
    // recvmmsg() calls that found nothing (ACKs wait that long at most).
    const time_ns now = _clock.now_ns();
    const bool receive = !may_hold || now - _last_receive_ns >= _cfg.linger_ns;
    if (receive) _last_receive_ns = now;
    _polling = true;
    std::size_t n = _ep->poll({.may_hold = may_hold, .receive = receive});
    _polling = false;
    // CONFIRMs batched by the callbacks above go out now, not a poll later.
    if (flush_confirms() > 0) n += _ep->poll({.may_hold = may_hold, .receive = false});
    return n;
  };
  std::size_t n = once();
  if (n > 0 || timeout_ns <= 0) return n;
  // Idle: wait for the network in short slices so session timers keep running.
  const time_ns deadline = _clock.now_ns() + timeout_ns;
  for (time_ns now = _clock.now_ns(); n == 0 && now < deadline; now = _clock.now_ns()) {
    _port->wait(wait_slice(now, deadline - now));
    n = once();
  }
  return n;
}

// ---- background thread -------------------------------------------------------------

void client::impl::wake() noexcept {
  if (!_bg_sleeping) return;
  _bg_sleeping = false;  // one write per sleep is enough
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto r = ::write(_wake_fd, &one, sizeof one);
}

void client::impl::background_loop() {
  while (!_bg_stop.load(std::memory_order_relaxed)) {
    lock_t lk(_mu);
    if (poll_locked(0) > 0) {
      // Busy: let threads blocked on the (unfair) mutex post in between.
      lk.unlock();
      std::this_thread::yield();
      continue;
    }
    // Idle: sleep outside the lock so other threads can post meanwhile; their
    // wake() (which sees _bg_sleeping under the lock) cuts the sleep short.
    _bg_sleeping = true;
    lk.unlock();
    ::pollfd fds[2] = {{_port->fd(), POLLIN, 0}, {_wake_fd, POLLIN, 0}};
    const ::timespec ts{0, static_cast<long>(wait_slice(_clock.now_ns(), k_bg_idle_ns))};
    ::ppoll(fds, 2, &ts, nullptr);
    if (fds[1].revents & POLLIN) {
      std::uint64_t v = 0;
      [[maybe_unused]] const auto r = ::read(_wake_fd, &v, sizeof v);
    }
    lk.lock();
    if (fds[0].revents & POLLIN) _last_receive_ns = 0;  // datagrams wait: the next poll reads
    _bg_sleeping = false;
  }
}

void client::impl::start_background() {
  std::lock_guard ctl(_bg_ctl);
  {
    lock_t lk(_mu);
    assert_not_in_callback("start_background_thread()");
    if (_bg_running) return;
    SLUICE_ASSERT(_wake_fd >= 0, "eventfd() failed when the client was built");
    _bg_stop.store(false, std::memory_order_relaxed);
    _bg_running = true;
  }
  _bg_thread = std::thread([this] { background_loop(); });
  lock_t lk(_mu);
  _bg_id = _bg_thread.get_id();
}

void client::impl::stop_background() {
  std::lock_guard ctl(_bg_ctl);
  {
    lock_t lk(_mu);
    assert_not_in_callback("stop_background_thread()");
    if (!_bg_running) return;
    _bg_stop.store(true, std::memory_order_relaxed);
    _bg_sleeping = true;  // force the write: the thread may be about to sleep
    wake();
  }
  _bg_thread.join();
  lock_t lk(_mu);
  _bg_running = false;
  _bg_id = {};
  _cv.notify_all();  // waiters switch to polling themselves
}

}  // namespace sluice::client
