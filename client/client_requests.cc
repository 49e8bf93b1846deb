// The client's blocking requests (docs/protocol.md §11.1): the handshake with
// a broker address, OPEN_QUEUE with REDIRECTs, CONFIGURE_QUEUE, CLOSE_QUEUE.
// Each registers a `request` on its own stack, sends, and waits (polling, or
// on _cv while the background thread polls) until the reply, the end of the
// session or the deadline.
#include <algorithm>
#include <array>

#include "client/client_impl.h"

namespace sluice::client {

namespace {

// Keeps a request in impl::_requests while its caller waits.
class request_scope {
 public:
  request_scope(std::vector<request*>& list, request& r) : _list(list), _r(r) { _list.push_back(&r); }
  ~request_scope() { std::erase(_list, &_r); }
  request_scope(const request_scope&) = delete;
  request_scope& operator=(const request_scope&) = delete;

 private:
  std::vector<request*>& _list;
  request& _r;
};

// Largest request body: OPEN_QUEUE with the longest URI and app id.
constexpr std::size_t k_request_body_max =
    sizeof(wire::open_queue_fixed) + wire::k_uri_sz_max + wire::k_app_id_sz_max;

}  // namespace

// ---- links ----------------------------------------------------------------------------

result<broker_link*, error> client::impl::link_to(lock_t& lk, const net_addr& addr, time_ns deadline) {
  broker_link* l = nullptr;
  for (auto& p : _links) {
    if (p->addr == addr) l = p.get();
  }
  if (l == nullptr) {
    if (_links.size() >= _cfg.max_sessions) return unexpected{error{errc::connect_failed}};
    _links.push_back(std::make_unique<broker_link>());
    l = _links.back().get();
    l->addr = addr;
    l->confirms.reserve(_confirm_fit);
  }
  if (l->st == broker_link::state::dead) {
    // One port, one address family: a REDIRECT across families cannot be followed.
    if (addr.family != _port->local_addr().family) return unexpected{error{errc::connect_failed}};
    const auto s = _ep->connect(addr);
    if (!s) return unexpected{error{errc::connect_failed}};
    l->sess = *s;
    l->sess->user = l;
    l->st = broker_link::state::connecting;
    ++l->epoch;  // handles of an earlier session to this address stay disconnected
    l->queues.clear();
    l->confirms.clear();
    wake();
  }
  await(lk, deadline, [l] { return l->st != broker_link::state::connecting; });
  if (l->st == broker_link::state::open) return l;
  if (l->st == broker_link::state::connecting) {
    // Gave up first: abandon the handshake; the endpoint reaps the session.
    l->sess->user = nullptr;
    l->sess->close(wire::status::timeout);
    l->sess = nullptr;
    l->st = broker_link::state::dead;
    return unexpected{error{errc::connect_failed}};
  }
  if (l->close_reason == wire::status::unreachable) return unexpected{error{errc::unreachable}};
  // The broker answered the handshake with REFUSE: say why (its session
  // limit, draining) instead of waiting out the connect timeout.
  if (l->close_reason != wire::status::timeout && l->close_reason != wire::status::ok) {
    return unexpected{error{errc::broker_refused, l->close_reason}};
  }
  return unexpected{error{errc::connect_failed}};
}

status<error> client::impl::connect_bootstrap() {
  lock_t lk(_mu);
  const auto l = link_to(lk, _broker, _clock.now_ns() + _cfg.request_timeout_ns);
  if (!l) return unexpected{l.error()};
  return {};
}

// ---- sending and waiting ----------------------------------------------------------

status<error> client::impl::send_request(lock_t& lk, broker_link& l, wire::frame_type t, wire::bytes body,
                                         time_ns deadline) {
  for (;;) {
    if (l.st != broker_link::state::open) return unexpected{error{errc::disconnected}};
    const auto st = l.sess->send(t, body);
    if (st) {
      wake();
      return {};
    }
    if (st.error() == transport::errc::closed) return unexpected{error{errc::disconnected}};
    if (st.error() != transport::errc::would_block) return unexpected{error{errc::invalid_argument}};
    const bool room = await(lk, deadline, [&l] {
      return l.st != broker_link::state::open || l.sess->send_capacity() > 0;
    });
    if (!room) return unexpected{error{errc::timeout}};
  }
}

status<error> client::impl::wait_reply(lock_t& lk, request& r, time_ns deadline) {
  if (!await(lk, deadline, [&r] { return r.done; })) return unexpected{error{errc::timeout}};
  if (r.lost) return unexpected{error{errc::disconnected}};
  if (r.refused_by_error) return unexpected{error{errc::broker_refused, r.status}};
  return {};
}

// ---- requests -------------------------------------------------------------------------

result<queue_handle, error> client::impl::open_queue(std::string_view uri, const queue_options& opts) {
  if (uri.empty() || uri.size() > wire::k_uri_sz_max || opts.app_id.size() > wire::k_app_id_sz_max ||
      (!opts.read && !opts.write)) {
    return unexpected{error{errc::invalid_argument}};
  }
  lock_t lk(_mu);
  assert_not_in_callback("open_queue()");
  if (_links.empty() || _links[0]->st != broker_link::state::open) {
    return unexpected{error{errc::disconnected}};
  }
  const time_ns deadline = _clock.now_ns() + _cfg.request_timeout_ns;
  const auto flags = static_cast<std::uint16_t>((opts.read ? wire::k_open_flag_read : 0) |
                                                (opts.write ? wire::k_open_flag_write : 0));
  wire::open_queue_view v{};
  v.f.flags = flags;
  v.f.priority = opts.priority;
  v.f.max_unconfirmed_msgs = opts.max_unconfirmed_msgs;
  v.f.max_unconfirmed_bytes = opts.max_unconfirmed_bytes;
  v.uri = uri;
  v.app_id = opts.app_id;
  std::array<std::byte, k_request_body_max> buf;

  broker_link* l = _links[0].get();
  for (std::uint32_t redirects = 0;; ++redirects) {
    request r;
    r.req_id = _next_req++;
    r.kind = request_kind::open;
    r.link = l;
    r.open_flags = flags;
    const request_scope scope(_requests, r);
    v.f.req_id = r.req_id;
    const auto n = wire::encode_open_queue(buf, v);
    if (!n) return unexpected{error{errc::invalid_argument}};
    if (auto st = send_request(lk, *l, wire::frame_type::open_queue, wire::bytes{buf.data(), *n}, deadline); !st) {
      return unexpected{st.error()};
    }
    if (auto st = wait_reply(lk, r, deadline); !st) return unexpected{st.error()};
    if (r.redirected) {
      if (redirects >= k_redirects_max) return unexpected{error{errc::redirect_loop}};
      const auto next = link_to(lk, r.redirect_to, deadline);
      if (!next) return unexpected{next.error()};
      l = *next;
      continue;
    }
    if (r.status != wire::status::ok) return unexpected{error{errc::broker_refused, r.status}};
    return queue_handle{r.handle};  // registered by on_reply(), before any PUSH
  }
}

status<error> client::impl::configure_queue(queue_handle q, std::int32_t priority, std::uint32_t msgs,
                                            std::uint64_t bytes) {
  lock_t lk(_mu);
  assert_not_in_callback("configure_queue()");
  errc why{};
  queue_slot* s = usable(q, wire::k_open_flag_read, why);
  if (s == nullptr) return unexpected{error{why}};
  broker_link& l = *s->link;
  flush_link_confirms(l);  // CONFIRMs first: they return credit before it changes
  const time_ns deadline = _clock.now_ns() + _cfg.request_timeout_ns;
  request r;
  r.req_id = _next_req++;
  r.kind = request_kind::configure;
  r.link = &l;
  const request_scope scope(_requests, r);
  std::byte buf[sizeof(wire::configure_queue_fixed)];
  const auto n = wire::encode_configure_queue(buf, wire::configure_queue_fixed{r.req_id, s->queue_id, priority,
                                                                              msgs, bytes});
  SLUICE_ASSERT(n.ok(), "CONFIGURE_QUEUE has no variable part: it always encodes");
  if (auto st = send_request(lk, l, wire::frame_type::configure_queue, wire::bytes{buf, *n}, deadline); !st) {
    return st;
  }
  if (auto st = wait_reply(lk, r, deadline); !st) return st;
  if (r.status != wire::status::ok) return unexpected{error{errc::broker_refused, r.status}};
  return {};
}

void client::impl::forget_handle(std::uint32_t idx) noexcept {
  const auto it = _queues.find(idx);
  if (it == _queues.end()) return;
  const queue_slot& s = it->second;
  if (s.link->epoch == s.epoch) s.link->queues.erase(s.queue_id);
  _queues.erase(it);
}

status<error> client::impl::close_queue(queue_handle q) {
  lock_t lk(_mu);
  assert_not_in_callback("close_queue()");
  errc why{};
  queue_slot* s = usable(q, 0, why);
  if (s == nullptr) {
    if (why != errc::disconnected) return unexpected{error{why}};
    forget_handle(q.idx);  // its session ended: the broker closed it already
    return {};
  }
  broker_link& l = *s->link;
  flush_link_confirms(l);  // confirm what we hold before we let go of it
  const time_ns deadline = _clock.now_ns() + _cfg.request_timeout_ns;
  request r;
  r.req_id = _next_req++;
  r.kind = request_kind::close;
  r.link = &l;
  const request_scope scope(_requests, r);
  std::byte buf[sizeof(wire::close_queue_fixed)];
  const auto n = wire::encode_close_queue(buf, wire::close_queue_fixed{r.req_id, s->queue_id});
  SLUICE_ASSERT(n.ok(), "CLOSE_QUEUE has no variable part: it always encodes");
  if (auto st = send_request(lk, l, wire::frame_type::close_queue, wire::bytes{buf, *n}, deadline); !st) {
    if (st.error().code != errc::disconnected) return st;
    forget_handle(q.idx);
    return {};
  }
  const auto st = wait_reply(lk, r, deadline);
  if (!st && st.error().code == errc::disconnected) {
    forget_handle(q.idx);
    return {};
  }
  if (!st) return st;
  if (r.status != wire::status::ok && r.status != wire::status::queue_not_open) {
    return unexpected{error{errc::broker_refused, r.status}};
  }
  forget_handle(q.idx);  // closed, or the broker did not know it either
  return r.status == wire::status::ok ? status<error>{} : unexpected{error{errc::broker_refused, r.status}};
}

}  // namespace sluice::client
