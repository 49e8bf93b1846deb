// What the broker sends the client: session events and application frames
// (docs/protocol.md §6, §11). All of it runs inside _ep->poll() with _mu held;
// user callbacks (ack, message) are called from here.
#include <algorithm>

#include "client/client_impl.h"

namespace sluice::client {

namespace {

net_addr redirect_addr(const wire::redirect_fixed& r) noexcept {
  net_addr a;
  a.family = r.family == 4 ? AF_INET : AF_INET6;
  a.port = r.port;
  std::copy(std::begin(r.addr), std::end(r.addr), a.ip.begin());
  return a;
}

}  // namespace

// ---- session events ---------------------------------------------------------------

void client::impl::on_open(transport::session& s) noexcept {
  auto* l = static_cast<broker_link*>(s.user);
  if (l == nullptr) return;
  l->st = broker_link::state::open;
  _cv.notify_all();
}

void client::impl::on_writable(transport::session&) noexcept {
  _cv.notify_all();  // a request waiting to send may retry
}

void client::impl::on_close(transport::session& s, wire::status reason) noexcept {
  auto* l = static_cast<broker_link*>(s.user);
  s.user = nullptr;
  if (l == nullptr) return;
  l->st = broker_link::state::dead;
  l->sess = nullptr;
  l->close_reason = reason;
  l->confirms.clear();
  for (request* r : _requests) {
    if (r->link == l && !r->done) {
      r->done = true;
      r->lost = true;
    }
  }
  // Every PUT not ACKed on this session is answered now, so no callback is
  // left hanging. A graceful close with `ok` must not read as "stored".
  const wire::status st = reason == wire::status::ok ? wire::status::shutting_down : reason;
  for (std::size_t i = 0; _puts_live > 0 && i < _puts.size(); ++i) {
    pending_put& p = _puts[i];
    if (p.live && p.link == l) complete_put(p.corr_id, st, wire::guid{});
  }
  _cv.notify_all();
}

// ---- frames -----------------------------------------------------------------------

void client::impl::on_frame(transport::session& s, wire::frame_type type, wire::bytes body) noexcept {
  auto* l = static_cast<broker_link*>(s.user);
  if (l == nullptr) return;
  switch (type) {
    case wire::frame_type::queue_opened:
    case wire::frame_type::redirect:
    case wire::frame_type::queue_result:
      return on_reply(*l, type, body);
    case wire::frame_type::ack:
      return on_ack_frame(body);
    case wire::frame_type::push:
      return on_push(*l, body);
    case wire::frame_type::error:
      return on_error_frame(*l, body);
    default:
      ++_ctr.unexpected;  // a client → broker frame type: nothing to do with it
      return;
  }
}

request* client::impl::find_request(const broker_link& l, std::uint32_t req_id) noexcept {
  for (request* r : _requests) {
    if (r->req_id == req_id && r->link == &l && !r->done) return r;
  }
  return nullptr;
}

void client::impl::on_reply(broker_link& l, wire::frame_type type, wire::bytes body) noexcept {
  request* r = nullptr;
  if (type == wire::frame_type::queue_opened) {
    const auto f = wire::decode_queue_opened(body);
    if (!f) {
      ++_ctr.malformed;
      return;
    }
    r = find_request(l, f->req_id);
    if (r == nullptr || r->kind != request_kind::open) {
      ++_ctr.late_replies;
      // An open that timed out here succeeded there: close it again rather
      // than leave a queue (and consumer credit) nobody uses.
      if (f->status == static_cast<std::uint16_t>(wire::status::ok) && l.sess != nullptr) {
        std::byte buf[sizeof(wire::close_queue_fixed)];
        const auto n = wire::encode_close_queue(buf, wire::close_queue_fixed{_next_req++, f->queue_id});
        if (n) (void)l.sess->send(wire::frame_type::close_queue, wire::bytes{buf, *n});
      }
      return;
    }
    r->status = static_cast<wire::status>(f->status);
    r->queue_id = f->queue_id;
    r->max_message_sz = f->max_message_sz;
    if (r->status == wire::status::ok) {
      // Register the handle now: PUSHes for it may follow in this very datagram.
      std::uint32_t idx = _next_handle++;
      while (idx == 0 || _queues.contains(idx)) idx = _next_handle++;  // after 2^32 opens
      _queues[idx] = queue_slot{&l, l.epoch, f->queue_id, r->open_flags, f->max_message_sz};
      l.queues[f->queue_id] = idx;
      r->handle = idx;
    }
  } else if (type == wire::frame_type::redirect) {
    const auto f = wire::decode_redirect(body);
    if (!f) {
      ++_ctr.malformed;
      return;
    }
    r = find_request(l, f->req_id);
    if (r == nullptr || r->kind != request_kind::open) {
      ++_ctr.late_replies;
      return;
    }
    r->redirected = true;
    r->redirect_to = redirect_addr(*f);
  } else {
    const auto f = wire::decode_queue_result(body);
    if (!f) {
      ++_ctr.malformed;
      return;
    }
    r = find_request(l, f->req_id);
    if (r == nullptr || r->kind == request_kind::open) {
      ++_ctr.late_replies;
      return;
    }
    r->status = static_cast<wire::status>(f->status);
  }
  r->done = true;
  _cv.notify_all();
}

void client::impl::complete_put(std::uint32_t corr_id, wire::status st, const wire::guid& g) noexcept {
  pending_put& p = _puts[corr_id & _puts_mask];
  if (!p.live || p.corr_id != corr_id) {
    ++_ctr.stray_acks;
    return;
  }
  const ack a{queue_handle{p.queue}, corr_id, st, st == wire::status::ok ? g : wire::guid{}};
  // Free the slot before the callback: it may post() into it.
  ack_fn fn = std::move(p.fn);
  p.fn = nullptr;
  p.live = false;
  --_puts_live;
  if (fn) {
    fn(a);
  } else if (_on_ack) {
    _on_ack(a);
  }
}

void client::impl::on_ack_frame(wire::bytes body) noexcept {
  const auto entries = wire::decode_ack(body);
  if (!entries) {
    ++_ctr.malformed;
    return;
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const wire::ack_entry e = (*entries)[i];
    complete_put(e.corr_id, static_cast<wire::status>(e.status), e.id);
  }
}

void client::impl::on_push(broker_link& l, wire::bytes body) noexcept {
  const auto v = wire::decode_push(body);
  if (!v) {
    ++_ctr.malformed;
    return;
  }
  const auto it = l.queues.find(v->f.queue_id);
  if (it == l.queues.end()) {
    ++_ctr.stray_pushes;
    return;
  }
  if (!_on_message) {
    ++_ctr.dropped_messages;
    return;
  }
  const message m{queue_handle{it->second}, v->f.id, v->f.delivery_cnt, v->properties, v->payload};
  _on_message(m);
}

void client::impl::on_error_frame(broker_link& l, wire::bytes body) noexcept {
  const auto v = wire::decode_error(body);
  if (!v) {
    ++_ctr.malformed;
    return;
  }
  const auto code = static_cast<wire::status>(v->f.code);
  switch (static_cast<wire::error_ref>(v->f.ref_type)) {
    case wire::error_ref::req_id:
      if (request* r = find_request(l, v->f.ref)) {
        r->status = code == wire::status::ok ? wire::status::unknown : code;
        r->refused_by_error = true;
        r->done = true;
        _cv.notify_all();
        return;
      }
      break;
    case wire::error_ref::corr_id: {
      const pending_put& p = _puts[v->f.ref & _puts_mask];
      if (p.live && p.corr_id == v->f.ref && p.link == &l) {
        complete_put(v->f.ref, code == wire::status::ok ? wire::status::unknown : code, wire::guid{});
        return;
      }
      break;
    }
    default:
      break;
  }
  ++_ctr.broker_errors;
}

}  // namespace sluice::client
