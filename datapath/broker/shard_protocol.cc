#include "datapath/broker/shard_protocol.h"

#include <algorithm>
#include <cstring>

#include "common/alloc_guard.h"
#include "common/net_addr.h"

namespace sluice::broker {

using wire::frame_type;
using wire::status;

std::uint32_t shard_protocol::owner_of(std::string_view uri, std::uint32_t shard_cnt) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a: stable across processes and versions
  for (char c : uri) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return static_cast<std::uint32_t>(h % shard_cnt);
}

shard_protocol::shard_protocol(const broker_config& cfg, std::uint32_t shard_idx,
                               const queue::engine_limits& limits)
    : _cfg(cfg),
      _shard_idx(shard_idx),
      // In etcd mode nothing is served until sluice-control says which
      // partitions this node is primary for (a restarted broker must not
      // serve what the map gave elsewhere meanwhile).
      _serving(cfg.cluster.membership != membership_kind::etcd),
      _engine(cfg, limits, *this),
      _ctxs(cfg.max_sessions),
      _scratch(cfg.session.max_message_sz),
      _ack_ring_max(2 * std::size_t{cfg.session.recv_window}) {
  if (cfg.has_disk_domains()) _pending.resize(cfg.storage.unacked_puts_max);
  _ack_list.reserve(cfg.max_sessions);
  for (std::uint32_t i = cfg.max_sessions; i > 0; --i) {
    _ctxs[i - 1].next_free = _free_ctx;
    _free_ctx = i - 1;
  }
}

// ---- sessions ---------------------------------------------------------------------------

void shard_protocol::on_open(transport::session& s) noexcept {
  // The endpoint's session pool and ours have the same size.
  SLUICE_ASSERT(_free_ctx != UINT32_MAX, "client_ctx pool sized for max_sessions");
  const std::uint32_t tag = _free_ctx;
  client_ctx& c = _ctxs[tag];
  _free_ctx = c.next_free;
  c.s = &s;
  ++c.gen;
  {
    alloc_guard::allow allowed;  // first use of this slot; kept for later sessions
    if (c.acks.empty()) c.acks.resize(std::min<std::size_t>(k_ack_ring_initial, _ack_ring_max));
    c.handles.reserve(16);
  }
  c.handles.clear();
  c.ack_head = c.ack_cnt = 0;
  s.user = &c;
  ++_ctr.sessions_opened;
}

void shard_protocol::on_close(transport::session& s, wire::status) noexcept {
  auto* c = static_cast<client_ctx*>(s.user);
  if (c == nullptr) return;
  for (auto& h : c->handles) {
    if (h.used) release_handle(h);  // unconfirmed messages go back to their queues
  }
  c->handles.clear();
  c->s = nullptr;
  c->ack_cnt = 0;
  c->on_ack_list = false;
  for (std::size_t i = 0; i < _ack_list.size(); ++i) {
    if (&_ctxs[_ack_list[i]] == c) {
      _ack_list[i] = _ack_list.back();
      _ack_list.pop_back();
      break;
    }
  }
  const auto tag = static_cast<std::uint32_t>(c - _ctxs.data());
  c->next_free = _free_ctx;
  _free_ctx = tag;
  s.user = nullptr;
  ++_ctr.sessions_closed;
}

void shard_protocol::on_writable(transport::session& s) noexcept {
  auto* c = static_cast<client_ctx*>(s.user);
  if (c == nullptr) return;
  if (c->ack_cnt > 0) flush_acks(*c);
  for (auto& h : c->handles) {
    if (h.used && h.consumer != queue::k_nil) _engine.resume(h.consumer);
  }
}

void shard_protocol::on_rx_burst_done() noexcept {
  // ACKs of this burst's PUTs leave in this iteration's datagrams.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < _ack_list.size(); ++i) {
    client_ctx& c = _ctxs[_ack_list[i]];
    if (!flush_acks(c)) _ack_list[kept++] = _ack_list[i];  // window full: retry next burst
    else c.on_ack_list = false;
  }
  _ack_list.resize(kept);
}

// ---- frames -------------------------------------------------------------------------------

void shard_protocol::on_frame(transport::session& s, frame_type type, wire::bytes body) noexcept {
  auto* c = static_cast<client_ctx*>(s.user);
  if (c == nullptr) return;
  switch (type) {
    case frame_type::put: return on_put(*c, body);
    case frame_type::confirm: return on_confirm(*c, body);
    case frame_type::open_queue: return on_open_queue(*c, body);
    case frame_type::configure_queue: return on_configure_queue(*c, body);
    case frame_type::close_queue: return on_close_queue(*c, body);
    default:
      send_error(*c, status::unknown_frame, wire::error_ref::none, 0, "the broker does not accept this frame type");
  }
}

shard_protocol::handle* shard_protocol::find_handle(client_ctx& c, std::uint32_t queue_id) noexcept {
  if (queue_id == 0 || queue_id > c.handles.size()) return nullptr;
  handle& h = c.handles[queue_id - 1];
  return h.used ? &h : nullptr;
}

void shard_protocol::release_handle(handle& h) noexcept {
  if (h.consumer != queue::k_nil) _engine.remove_consumer(h.consumer);
  h = handle{};
}

void shard_protocol::send_reply(client_ctx& c, frame_type t, wire::wresult<std::size_t> body_sz) noexcept {
  SLUICE_ASSERT(body_sz.ok(), "replies are built from validated values");
  const auto st = c.s->send(t, wire::bytes{_scratch.data(), *body_sz});
  // The PUSH reserve keeps room for replies; a session that exhausted it
  // anyway is not reading and is closed rather than silently losing one.
  if (!st && st.error() == transport::errc::would_block) c.s->close(status::limit_reached);
}

void shard_protocol::send_error(client_ctx& c, status code, wire::error_ref ref_type, std::uint32_t ref,
                                std::string_view text) noexcept {
  wire::error_view e{};
  e.f.code = static_cast<std::uint16_t>(code);
  e.f.ref_type = static_cast<std::uint16_t>(ref_type);
  e.f.ref = ref;
  e.text = text.substr(0, wire::k_error_text_sz_max);
  ++_ctr.errors_sent;
  send_reply(c, frame_type::error, wire::encode_error(_scratch, e));
}

void shard_protocol::on_open_queue(client_ctx& c, wire::bytes body) noexcept {
  const auto v = wire::decode_open_queue(body);
  if (!v) {
    ++_ctr.bad_frames;
    return send_error(c, status::malformed, wire::error_ref::none, 0, "OPEN_QUEUE failed validation");
  }
  const std::uint32_t req = v->f.req_id;
  const auto reply = [&](status st, std::uint32_t queue_id) {
    const wire::queue_opened_fixed r{req, queue_id, static_cast<std::uint16_t>(st), 0,
                                     static_cast<std::uint32_t>(_engine.max_body_sz())};
    send_reply(c, frame_type::queue_opened, wire::encode_queue_opened(_scratch, r));
  };
  const std::uint32_t owner = owner_of(v->uri, _cfg.shard_cnt);
  if (owner != _shard_idx) {
    const auto addr = net_addr::from_ip_port(_cfg.listen, static_cast<std::uint16_t>(_cfg.base_port + owner));
    wire::redirect_fixed r{};
    r.req_id = req;
    r.port = addr->port;
    r.family = addr->family == AF_INET6 ? 6 : 4;
    std::memcpy(r.addr, addr->ip.data(), addr->family == AF_INET6 ? 16 : 4);
    ++_ctr.redirects;
    return send_reply(c, frame_type::redirect, wire::encode_redirect(_scratch, r));
  }
  if (!_serving) return reply(status::not_primary, 0);  // fenced: the partition map gives it elsewhere
  alloc_guard::allow allowed;  // opening a queue is not the steady state
  const auto q = _engine.open_queue(v->uri);
  if (!q) return reply(q.error(), 0);
  for (const auto& h : c.handles) {
    if (h.used && h.queue == *q) return reply(status::invalid_argument, 0);  // already open here
  }
  std::size_t slot = 0;
  while (slot < c.handles.size() && c.handles[slot].used) ++slot;
  if (slot == k_handles_max) return reply(status::limit_reached, 0);
  if (slot == c.handles.size()) c.handles.emplace_back();
  handle& h = c.handles[slot];
  const auto queue_id = static_cast<std::uint32_t>(slot + 1);
  if (v->f.flags & wire::k_open_flag_read) {
    const queue::consumer_args a{static_cast<std::uint32_t>(&c - _ctxs.data()), queue_id, v->app_id,
                                 v->f.priority, v->f.max_unconfirmed_msgs, v->f.max_unconfirmed_bytes};
    const auto ci = _engine.add_consumer(*q, a);
    if (!ci) return reply(ci.error(), 0);
    h = handle{true, v->f.flags, *q, *ci};
    reply(status::ok, queue_id);
    _engine.resume(*ci);  // PUSHes only after the client has its handle
    return;
  }
  h = handle{true, v->f.flags, *q, queue::k_nil};
  reply(status::ok, queue_id);
}

void shard_protocol::on_configure_queue(client_ctx& c, wire::bytes body) noexcept {
  const auto v = wire::decode_configure_queue(body);
  if (!v) {
    ++_ctr.bad_frames;
    return send_error(c, status::malformed, wire::error_ref::none, 0, "CONFIGURE_QUEUE failed validation");
  }
  status st = status::ok;
  handle* h = find_handle(c, v->queue_id);
  if (h == nullptr) {
    st = status::queue_not_open;
  } else if (h->consumer == queue::k_nil) {
    st = status::invalid_argument;  // not opened for reading
  } else {
    _engine.configure_consumer(h->consumer, v->priority, v->max_unconfirmed_msgs, v->max_unconfirmed_bytes);
  }
  const wire::queue_result_fixed r{v->req_id, v->queue_id, static_cast<std::uint16_t>(st), 0, 0};
  send_reply(c, frame_type::queue_result, wire::encode_queue_result(_scratch, r));
}

void shard_protocol::on_close_queue(client_ctx& c, wire::bytes body) noexcept {
  const auto v = wire::decode_close_queue(body);
  if (!v) {
    ++_ctr.bad_frames;
    return send_error(c, status::malformed, wire::error_ref::none, 0, "CLOSE_QUEUE failed validation");
  }
  handle* h = find_handle(c, v->queue_id);
  if (h != nullptr) release_handle(*h);
  const status st = h != nullptr ? status::ok : status::queue_not_open;
  const wire::queue_result_fixed r{v->req_id, v->queue_id, static_cast<std::uint16_t>(st), 0, 0};
  send_reply(c, frame_type::queue_result, wire::encode_queue_result(_scratch, r));
}

void shard_protocol::on_put(client_ctx& c, wire::bytes body) noexcept {
  ++_ctr.puts;
  const auto v = wire::decode_put(body);
  if (!v) {
    ++_ctr.bad_frames;
    // Every PUT gets one ACK: when the ids are readable, answer there.
    if (body.size() >= sizeof(wire::put_fixed)) {
      wire::put_fixed f;
      std::memcpy(&f, body.data(), sizeof f);
      return queue_ack(c, f.queue_id, f.corr_id, status::malformed, {});
    }
    return send_error(c, status::malformed, wire::error_ref::none, 0, "PUT failed validation");
  }
  handle* h = find_handle(c, v->f.queue_id);
  if (h == nullptr || (h->flags & wire::k_open_flag_write) == 0) {
    return queue_ack(c, v->f.queue_id, v->f.corr_id, status::queue_not_open, {});
  }
  if (!_serving) return queue_ack(c, v->f.queue_id, v->f.corr_id, status::not_primary, {});
  if (_journal != nullptr && _engine.durable(h->queue)) {
    // The ACK waits for the record: it is the producer's proof of durability.
    if (_pending_cnt == _pending.size()) return queue_ack(c, v->f.queue_id, v->f.corr_id, status::queue_full, {});
    const time_ns t = monotonic_now_ns();
    const auto r = _engine.put(h->queue, v->properties, v->payload, t);
    if (r.status != status::ok) return queue_ack(c, v->f.queue_id, v->f.corr_id, r.status, r.id);
    _pending[(_pending_head + _pending_cnt) % _pending.size()] =
        pending_ack{_journal->last_seq(), static_cast<std::uint32_t>(&c - _ctxs.data()), c.gen, v->f.queue_id,
                    v->f.corr_id, r.id, h->queue, t};
    ++_pending_cnt;
    return;
  }
  const time_ns t = monotonic_now_ns();
  const auto r = _engine.put(h->queue, v->properties, v->payload, t);
  queue_ack(c, v->f.queue_id, v->f.corr_id, r.status, r.id);
  _engine.note_ack_latency(h->queue, monotonic_now_ns() - t);
}

void shard_protocol::on_confirm(client_ctx& c, wire::bytes body) noexcept {
  const auto list = wire::decode_confirm(body);
  if (!list) {
    ++_ctr.bad_frames;
    return send_error(c, status::malformed, wire::error_ref::none, 0, "CONFIRM failed validation");
  }
  std::uint32_t bad_queue = 0;
  _engine.tick(monotonic_now_ns());  // the clock of the end-to-end latency
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto e = (*list)[i];
    handle* h = find_handle(c, e.queue_id);
    if (h == nullptr || h->consumer == queue::k_nil) {
      bad_queue = e.queue_id;
      continue;
    }
    ++_ctr.confirms;
    _engine.confirm(h->consumer, e.id);
  }
  if (bad_queue != 0) {
    send_error(c, status::queue_not_open, wire::error_ref::queue_id, bad_queue, "CONFIRM for a queue not open for reading");
  }
}

// ---- ACKs and PUSHes --------------------------------------------------------------------

void shard_protocol::acks_durable(std::uint64_t seq) noexcept { release_pending(seq, status::ok); }

void shard_protocol::acks_failed(std::uint64_t last) noexcept { release_pending(last, status::internal); }

void shard_protocol::release_pending(std::uint64_t last, status st) noexcept {
  bool any = false;
  while (_pending_cnt > 0 && _pending[_pending_head].seq <= last) {
    const pending_ack& p = _pending[_pending_head];
    _pending_head = (_pending_head + 1) % _pending.size();
    --_pending_cnt;
    client_ctx& c = _ctxs[p.ctx];
    if (c.s == nullptr || c.gen != p.gen) continue;  // the producer's session is gone
    queue_ack(c, p.queue_id, p.corr_id, st, st == status::ok ? p.id : wire::guid{});
    if (_engine.live(p.queue)) _engine.note_ack_latency(p.queue, monotonic_now_ns() - p.put_ns);
    any = true;
  }
  if (any) on_rx_burst_done();  // hand the ACKs to the sessions; the next endpoint poll sends them
}

void shard_protocol::queue_ack(client_ctx& c, std::uint32_t queue_id, std::uint32_t corr_id, status st,
                               const wire::guid& id) noexcept {
  if (c.ack_cnt == c.acks.size() && !flush_acks(c)) {
    if (c.acks.size() >= _ack_ring_max) {
      c.s->close(status::limit_reached);  // the client stopped reading: never drop an ACK silently
      return;
    }
    // The session's send window is full: hold more ACKs. Rare, bounded
    // (a few doublings per slot, kept for later sessions), so a session
    // that is never backed up costs 2 KiB here instead of 64.
    alloc_guard::allow allowed;
    std::vector<wire::ack_entry> grown(std::min(2 * c.acks.size(), _ack_ring_max));
    for (std::size_t i = 0; i < c.ack_cnt; ++i) grown[i] = c.acks[(c.ack_head + i) % c.acks.size()];
    c.acks.swap(grown);
    c.ack_head = 0;
  }
  c.acks[(c.ack_head + c.ack_cnt) % c.acks.size()] =
      wire::ack_entry{queue_id, corr_id, static_cast<std::uint16_t>(st), 0, 0, id};
  ++c.ack_cnt;
  ++_ctr.acks;
  if (!c.on_ack_list) {
    c.on_ack_list = true;
    _ack_list.push_back(static_cast<std::uint32_t>(&c - _ctxs.data()));
  }
}

bool shard_protocol::flush_acks(client_ctx& c) noexcept {
  // One ACK frame per datagram: no fragmentation for acknowledgements.
  const std::size_t batch_max = wire::ack_entries_fit(c.s->frame_body_max());
  wire::ack_entry batch[64];
  while (c.ack_cnt > 0) {
    const std::size_t n = std::min({c.ack_cnt, batch_max, std::size(batch)});
    for (std::size_t i = 0; i < n; ++i) batch[i] = c.acks[(c.ack_head + i) % c.acks.size()];
    const auto sz = wire::encode_ack(_scratch, {batch, n});
    SLUICE_ASSERT(sz.ok(), "ACK batch sized to fit");
    if (!c.s->send(frame_type::ack, wire::bytes{_scratch.data(), *sz})) return false;
    c.ack_head = (c.ack_head + n) % c.acks.size();
    c.ack_cnt -= n;
  }
  return true;
}

bool shard_protocol::push(std::uint32_t session_tag, std::uint32_t queue_id, std::uint16_t delivery_cnt,
                          const wire::guid& id, wire::bytes properties, wire::bytes payload) noexcept {
  client_ctx& c = _ctxs[session_tag];
  if (c.s == nullptr) return false;
  if (c.s->send_capacity() <= k_push_reserve) {
    c.s->want_writable();  // on_writable() resumes this session's consumers
    return false;
  }
  wire::push_view v{};
  v.f.queue_id = queue_id;
  v.f.delivery_cnt = delivery_cnt;
  v.f.id = id;
  v.properties = properties;
  v.payload = payload;
  const auto sz = wire::encode_push(_scratch, v);
  SLUICE_ASSERT(sz.ok(), "stored messages fit a PUSH");
  const auto st = c.s->send(frame_type::push, wire::bytes{_scratch.data(), *sz});
  if (!st) return false;
  ++_ctr.pushes;
  return true;
}

}  // namespace sluice::broker

namespace sluice::broker {

void shard_protocol::census(std::vector<queue_census>& per_queue) const {
  per_queue.assign(_engine.queue_slots(), queue_census{});
  for (const auto& c : _ctxs) {
    if (c.s == nullptr) continue;
    for (const auto& h : c.handles) {
      if (!h.used || h.queue >= per_queue.size()) continue;
      if (h.flags & wire::k_open_flag_write) ++per_queue[h.queue].producers;
    }
  }
}

std::uint32_t shard_protocol::queues_open(const transport::session& s) const noexcept {
  const auto* c = static_cast<const client_ctx*>(s.user);
  if (c == nullptr) return 0;
  std::uint32_t n = 0;
  for (const auto& h : c->handles) n += h.used ? 1 : 0;
  return n;
}

}  // namespace sluice::broker
