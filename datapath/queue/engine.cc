#include "datapath/queue/engine.h"

#include <algorithm>
#include <cstring>

namespace sluice::queue {

using wire::status;

namespace {
bool valid_name(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

engine::engine(const broker::broker_config& cfg, const engine_limits& limits, push_sink& sink)
    : _cfg(&cfg),
      _limits(limits),
      _sink(sink),
      _store(limits.message_memory_bytes, limits.numa_node),
      _consumers(limits.max_consumers),
      _messages(limits.max_message_slots),
      _deliveries(limits.max_message_slots),
      _by_guid(limits.max_message_slots) {
  _queues.reserve(limits.max_queues);
  _by_uri.reserve(limits.max_queues);
  // Free lists thread through the pools, lowest index first.
  for (idx i = limits.max_consumers; i > 0; --i) {
    _consumers[i - 1].next_free = _free_consumer;
    _free_consumer = i - 1;
  }
  for (idx i = limits.max_message_slots; i > 0; --i) {
    _messages[i - 1].next_free = _free_message;
    _free_message = i - 1;
    _deliveries[i - 1].next = _free_delivery;
    _free_delivery = i - 1;
  }
}

std::size_t engine::max_body_sz() const noexcept {
  // The PUT body is 16 bytes of fixed part + properties + payload.
  return _cfg->session.max_message_sz - sizeof(wire::put_fixed);
}

// ---- queues and consumers ----------------------------------------------------------

result<idx, status> engine::open_queue(std::string_view uri) noexcept {
  const auto slash = uri.find('/');
  if (slash == std::string_view::npos || !valid_name(uri.substr(0, slash)) ||
      !valid_name(uri.substr(slash + 1))) {
    return unexpected{status::invalid_argument};
  }
  if (auto it = _by_uri.find(std::string(uri)); it != _by_uri.end()) return it->second;
  const broker::domain_config* d = _cfg->find_domain(uri.substr(0, slash));
  if (d == nullptr) return unexpected{status::unknown_domain};
  if (_queues.size() - _deleted_cnt >= _limits.max_queues) return unexpected{status::limit_reached};
  std::uint32_t durable_id = 0;
  if (d->storage == broker::storage_kind::disk) {
    // A disk domain added by a reload to a broker started without one has
    // no journal on this shard: refuse rather than store without one.
    if (_hook == nullptr) return unexpected{status::internal};
    const auto app_cnt = static_cast<std::uint16_t>(d->mode == broker::domain_mode::fanout ? d->app_ids.size() : 1);
    const status st = _hook->queue_created(uri, app_cnt, durable_id);
    if (st != status::ok) return unexpected{st};
  }
  const auto qi = create_queue(uri);
  if (qi) _queues[*qi].durable_id = durable_id;
  return qi;
}

result<idx, status> engine::restore_queue(std::string_view uri, std::uint32_t durable_id) noexcept {
  SLUICE_ASSERT(durable_id != 0, "restored queues are disk queues");
  const auto slash = uri.find('/');
  if (slash == std::string_view::npos || _by_uri.count(std::string(uri)) != 0) {
    return unexpected{status::invalid_argument};
  }
  const broker::domain_config* d = _cfg->find_domain(uri.substr(0, slash));
  if (d == nullptr) return unexpected{status::unknown_domain};
  if (_queues.size() - _deleted_cnt >= _limits.max_queues) return unexpected{status::limit_reached};
  const auto qi = create_queue(uri);
  if (qi) _queues[*qi].durable_id = durable_id;
  return qi;
}

result<idx, status> engine::create_queue(std::string_view uri) noexcept {
  const std::string key(uri);
  const broker::domain_config* d = _cfg->find_domain(uri.substr(0, uri.find('/')));
  queue_rec q;
  q.uri = key;
  q.domain = d;
  q.domain_owner = _cfg;
  const std::size_t sub_cnt = d->mode == broker::domain_mode::fanout ? d->app_ids.size() : 1;
  q.subs.resize(sub_cnt);
  for (std::size_t i = 0; i < sub_cnt; ++i) {
    if (d->mode == broker::domain_mode::fanout) q.subs[i].app_id = d->app_ids[i];
    q.subs[i].consumers.reserve(64);
  }
  auto qi = static_cast<idx>(_queues.size());
  if (_deleted_cnt != 0) {  // reuse a deleted queue's slot
    for (idx i = 0; i < _queues.size(); ++i) {
      if (_queues[i].domain == nullptr) {
        qi = i;
        break;
      }
    }
    _queues[qi] = std::move(q);
    --_deleted_cnt;
  } else {
    _queues.push_back(std::move(q));
  }
  _by_uri.emplace(key, qi);
  return qi;
}

std::optional<idx> engine::find_queue(std::string_view uri) const noexcept {
  const auto it = _by_uri.find(std::string(uri));
  if (it == _by_uri.end()) return std::nullopt;
  return it->second;
}

std::uint64_t engine::purge(idx qi) noexcept {
  queue_rec& q = _queues[qi];
  if (q.durable_id != 0) {
    // One purge record says it all when nothing is out with a consumer;
    // otherwise each purged message is journaled as done, so messages in
    // flight survive a restart as they survive the purge.
    bool in_flight = false;
    for (const auto& s : q.subs) {
      for (const idx ci : s.consumers) in_flight = in_flight || _consumers[ci].inflight.head != k_nil;
    }
    if (!in_flight) {
      _hook->purged(q.durable_id);
    } else {
      for (const auto& s : q.subs) {
        for (idx di = s.ready.head; di != k_nil; di = _deliveries[di].next) journal_done(di);
      }
    }
  }
  std::uint64_t n = 0;
  for (auto& s : q.subs) {
    while (s.ready.head != k_nil) {
      const idx di = s.ready.head;
      list_remove(s.ready, di);
      release_delivery(di);
      ++n;
    }
  }
  q.ctr.purged += n;
  return n;
}

bool engine::remove_queue(idx qi) noexcept {
  queue_rec& q = _queues[qi];
  for (const auto& s : q.subs) {
    if (!s.consumers.empty()) return false;
  }
  if (q.durable_id != 0) {
    _hook->queue_deleted(q.durable_id);  // drops its messages in the journal too
    q.durable_id = 0;
  }
  purge(qi);
  _by_uri.erase(q.uri);
  q = queue_rec{};  // domain == nullptr marks the slot free
  ++_deleted_cnt;
  return true;
}

std::size_t engine::set_config(std::shared_ptr<const broker::broker_config> cfg) noexcept {
  SLUICE_ASSERT(cfg != nullptr, "a reload hands the engine a config");
  _cfg = cfg.get();
  std::size_t kept_old = 0;
  for (auto& q : _queues) {
    if (q.domain == nullptr) continue;
    const broker::domain_config* d = cfg->find_domain(q.domain->name);
    // A queue follows its domain's new limits; a changed mode or app id set
    // would change what its stored messages mean, so it keeps the old one.
    if (d != nullptr && d->mode == q.domain->mode && d->app_ids == q.domain->app_ids) {
      q.domain = d;
      q.domain_owner = _cfg;
    } else {
      ++kept_old;
    }
  }
  // Keep the new snapshot and the old ones a queue still points into; the
  // rest (and the construction config, never owned here) are let go.
  std::vector<std::shared_ptr<const broker::broker_config>> keep{std::move(cfg)};
  for (auto& s : _snapshots) {
    if (s.get() == _cfg) continue;
    const bool used = std::any_of(_queues.begin(), _queues.end(),
                                  [&](const queue_rec& q) { return q.domain != nullptr && q.domain_owner == s.get(); });
    if (used) keep.push_back(std::move(s));
  }
  _snapshots = std::move(keep);
  return kept_old;
}

result<idx, status> engine::add_consumer(idx qi, const consumer_args& a) noexcept {
  queue_rec& q = _queues[qi];
  std::uint8_t sub = 0;
  if (q.domain->mode == broker::domain_mode::fanout) {
    const auto it = std::find_if(q.subs.begin(), q.subs.end(), [&](const subscription& s) { return s.app_id == a.app_id; });
    if (it == q.subs.end()) return unexpected{status::invalid_argument};  // unknown or missing app id
    sub = static_cast<std::uint8_t>(it - q.subs.begin());
  } else if (!a.app_id.empty()) {
    return unexpected{status::invalid_argument};
  }
  if (_free_consumer == k_nil) return unexpected{status::limit_reached};
  const idx ci = _free_consumer;
  consumer& c = _consumers[ci];
  _free_consumer = c.next_free;
  c = consumer{};
  c.live = true;
  c.sub = sub;
  c.queue = qi;
  c.session_tag = a.session_tag;
  c.queue_id = a.queue_id;
  c.priority = a.priority;
  c.max_msgs = a.max_msgs;
  c.max_bytes = a.max_bytes;
  q.subs[sub].consumers.push_back(ci);  // may allocate past 64 consumers: open path only
  return ci;
}

void engine::remove_consumer(idx ci) noexcept {
  consumer& c = _consumers[ci];
  SLUICE_ASSERT(c.live, "removing a consumer twice");
  queue_rec& q = _queues[c.queue];
  subscription& s = q.subs[c.sub];
  // Taken back: redelivered later with a higher delivery count.
  while (c.inflight.head != k_nil) {
    const idx d = c.inflight.head;
    list_remove(c.inflight, d);
    _deliveries[d].consumer = k_nil;
    list_insert_sorted(s.ready, d);
    ++q.ctr.redeliveries;
  }
  s.consumers.erase(std::find(s.consumers.begin(), s.consumers.end(), ci));
  if (s.rr >= s.consumers.size()) s.rr = 0;
  const idx qi = c.queue;
  const std::uint8_t sub = c.sub;
  c.live = false;
  c.next_free = _free_consumer;
  _free_consumer = ci;
  dispatch(qi, sub);
}

void engine::configure_consumer(idx ci, std::int32_t priority, std::uint32_t max_msgs,
                                std::uint64_t max_bytes) noexcept {
  consumer& c = _consumers[ci];
  c.priority = priority;
  c.max_msgs = max_msgs;
  c.max_bytes = max_bytes;
  dispatch(c.queue, c.sub);
}

void engine::resume(idx ci) noexcept {
  consumer& c = _consumers[ci];
  if (!c.live) return;
  c.blocked = false;
  dispatch(c.queue, c.sub);
}

// ---- producing ----------------------------------------------------------------------

put_result engine::put(idx qi, wire::bytes props, wire::bytes payload, time_ns now) noexcept {
  _now = now;
  queue_rec& q = _queues[qi];
  const std::size_t body_sz = props.size() + payload.size();
  const broker::domain_config& d = *q.domain;
  if (body_sz > max_body_sz()) {
    ++q.ctr.rejected_too_large;
    return {status::too_large, {}};
  }
  message tmp;
  tmp.id = wire::guid{_next_seq, _limits.partition, _limits.node_id, 0};
  if (d.mode == broker::domain_mode::broadcast) {
    ++_next_seq;
    ++q.ctr.puts;
    broadcast(q, tmp, props, payload);
    return {status::ok, tmp.id};
  }
  const std::size_t sub_cnt = q.subs.size();
  if (q.messages + 1 > d.max_messages || q.bytes + body_sz > d.max_bytes || _free_message == k_nil ||
      _limits.max_message_slots - _deliveries_used < sub_cnt) {
    ++q.ctr.rejected_full;
    return {status::queue_full, {}};
  }
  const auto body = _store.take(body_sz);
  if (body.data == nullptr) {
    ++q.ctr.rejected_full;
    return {status::queue_full, {}};
  }
  if (q.durable_id != 0) {
    SLUICE_ASSERT(_hook != nullptr, "disk queues exist only with a durability hook");
    const status st = _hook->message(q.durable_id, tmp.id, props, payload);
    if (st != status::ok) {
      _store.give(body);
      ++q.ctr.rejected_full;
      return {st, {}};
    }
  }
  if (!props.empty()) std::memcpy(body.data, props.data(), props.size());
  if (!payload.empty()) std::memcpy(body.data + props.size(), payload.data(), payload.size());

  const idx mi = _free_message;
  message& m = _messages[mi];
  _free_message = m.next_free;
  m = tmp;
  m.queue = qi;
  m.body = body;
  m.body_sz = static_cast<std::uint32_t>(body_sz);
  m.props_sz = static_cast<std::uint16_t>(props.size());
  m.refs = static_cast<std::uint16_t>(sub_cnt);
  m.enqueued_ns = now;
  ++_next_seq;
  ++q.messages;
  q.bytes += body_sz;
  ++q.ctr.puts;
  for (std::size_t s = 0; s < sub_cnt; ++s) {
    const idx di = _free_delivery;
    delivery& dl = _deliveries[di];
    _free_delivery = dl.next;
    dl = delivery{mi, k_nil, k_nil, k_nil, 0, static_cast<std::uint8_t>(s)};
    ++_deliveries_used;
    SLUICE_ASSERT(_by_guid.insert(key(m.id.seq, dl.sub), di), "guid index sized for every slot");
    list_push_back(q.subs[s].ready, di);
  }
  for (std::size_t s = 0; s < sub_cnt; ++s) dispatch(qi, static_cast<std::uint8_t>(s));
  return {status::ok, m.id};
}

void engine::broadcast(queue_rec& q, const message& m, wire::bytes props, wire::bytes payload) noexcept {
  // At most once, to the consumers present now; nothing is kept. A paused
  // (credit 0) or blocked consumer misses the message.
  for (const idx ci : q.subs[0].consumers) {
    consumer& c = _consumers[ci];
    if (c.blocked || c.max_msgs == 0) continue;
    if (_sink.push(c.session_tag, c.queue_id, 1, m.id, props, payload)) {
      ++q.ctr.pushes;
    } else {
      c.blocked = true;
    }
  }
}

// ---- consuming ----------------------------------------------------------------------

idx engine::pick_consumer(subscription& s, std::uint32_t body_sz) noexcept {
  const std::size_t n = s.consumers.size();
  if (n == 0) return k_nil;
  const auto eligible = [&](const consumer& c) {
    if (c.blocked || c.unconf_msgs >= c.max_msgs) return false;
    // One message may exceed the byte credit when the consumer holds nothing.
    return c.unconf_msgs == 0 || c.unconf_bytes + body_sz <= c.max_bytes;
  };
  bool found = false;
  std::int32_t best = 0;
  for (const idx ci : s.consumers) {
    const consumer& c = _consumers[ci];
    if (eligible(c) && (!found || c.priority > best)) {
      best = c.priority;
      found = true;
    }
  }
  if (!found) return k_nil;
  // Round-robin among the best, starting after the last one served.
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t pos = (s.rr + k) % n;
    const consumer& c = _consumers[s.consumers[pos]];
    if (c.priority == best && eligible(c)) {
      s.rr = (pos + 1) % n;
      return s.consumers[pos];
    }
  }
  return k_nil;
}

bool engine::deliver(idx di, idx ci) noexcept {
  delivery& d = _deliveries[di];
  const message& m = _messages[d.msg];
  consumer& c = _consumers[ci];
  const wire::bytes body{m.body.data, m.body_sz};
  const auto cnt = static_cast<std::uint16_t>(d.delivery_cnt + 1);
  if (!_sink.push(c.session_tag, c.queue_id, cnt, m.id, body.first(m.props_sz), body.subspan(m.props_sz))) {
    c.blocked = true;
    return false;
  }
  d.delivery_cnt = cnt;
  d.consumer = ci;
  if (cnt >= 2) {
    if (const queue_rec& q = _queues[m.queue]; q.durable_id != 0) _hook->delivered(q.durable_id, m.id, d.sub, cnt);
  }
  list_push_back(c.inflight, di);
  ++c.unconf_msgs;
  c.unconf_bytes += m.body_sz;
  ++_queues[m.queue].ctr.pushes;
  return true;
}

void engine::dispatch(idx qi, std::uint8_t sub) noexcept {
  queue_rec& q = _queues[qi];
  subscription& s = q.subs[sub];
  const time_ns ttl = q.domain->message_ttl_ns;
  while (s.ready.head != k_nil) {
    const idx di = s.ready.head;
    const message& m = _messages[_deliveries[di].msg];
    if (ttl > 0 && _now - m.enqueued_ns >= ttl) {  // never deliver what expired
      list_remove(s.ready, di);
      ++q.ctr.expired;
      journal_done(di);
      release_delivery(di);
      continue;
    }
    const idx ci = pick_consumer(s, m.body_sz);
    if (ci == k_nil) return;
    list_remove(s.ready, di);
    if (!deliver(di, ci)) list_insert_sorted(s.ready, di);  // consumer is now blocked; try another
  }
}

bool engine::confirm(idx ci, const wire::guid& id) noexcept {
  consumer& c = _consumers[ci];
  queue_rec& q = _queues[c.queue];
  const bool mine = id.node == _limits.node_id && id.partition == _limits.partition;
  idx* found = mine ? _by_guid.find(key(id.seq, c.sub)) : nullptr;
  if (found == nullptr || _deliveries[*found].consumer != ci) {
    ++q.ctr.confirms_unknown;
    return false;
  }
  const idx di = *found;
  const message& m = _messages[_deliveries[di].msg];
  list_remove(c.inflight, di);
  --c.unconf_msgs;
  c.unconf_bytes -= m.body_sz;
  ++q.ctr.confirms;
  q.ctr.e2e_latency.record(_now > m.enqueued_ns ? static_cast<std::uint64_t>(_now - m.enqueued_ns) : 0);
  journal_done(di);
  release_delivery(di);
  dispatch(c.queue, c.sub);
  return true;
}

void engine::journal_done(idx di) noexcept {
  const delivery& d = _deliveries[di];
  const message& m = _messages[d.msg];
  const queue_rec& q = _queues[m.queue];
  if (q.durable_id != 0) _hook->done(q.durable_id, m.id, d.sub);
}

wire::status engine::restore_message(idx qi, const wire::guid& id, wire::bytes props, wire::bytes payload,
                                     std::uint64_t done_mask, std::uint16_t delivery_cnt) noexcept {
  queue_rec& q = _queues[qi];
  const std::size_t sub_cnt = q.subs.size();
  std::size_t wanted = 0;
  for (std::size_t s = 0; s < sub_cnt; ++s) wanted += (done_mask >> s & 1) == 0 ? 1u : 0u;
  if (wanted == 0) return status::ok;
  const std::size_t body_sz = props.size() + payload.size();
  if (body_sz > max_body_sz()) return status::too_large;
  // What the journal holds must fit: the domain's per-queue limits do not
  // apply (the messages were accepted under them), the shard's pools do.
  if (_free_message == k_nil || _limits.max_message_slots - _deliveries_used < wanted) return status::queue_full;
  const auto body = _store.take(body_sz);
  if (body.data == nullptr) return status::queue_full;
  if (!props.empty()) std::memcpy(body.data, props.data(), props.size());
  if (!payload.empty()) std::memcpy(body.data + props.size(), payload.data(), payload.size());
  const idx mi = _free_message;
  message& m = _messages[mi];
  _free_message = m.next_free;
  m = message{};
  m.id = id;
  m.queue = qi;
  m.body = body;
  m.body_sz = static_cast<std::uint32_t>(body_sz);
  m.props_sz = static_cast<std::uint16_t>(props.size());
  m.refs = static_cast<std::uint16_t>(wanted);
  m.enqueued_ns = monotonic_now_ns();  // TTLs run again from the restart
  ++q.messages;
  q.bytes += body_sz;
  for (std::size_t s = 0; s < sub_cnt; ++s) {
    if ((done_mask >> s & 1) != 0) continue;
    const idx di = _free_delivery;
    delivery& dl = _deliveries[di];
    _free_delivery = dl.next;
    dl = delivery{mi, k_nil, k_nil, k_nil, delivery_cnt, static_cast<std::uint8_t>(s)};
    ++_deliveries_used;
    SLUICE_ASSERT(_by_guid.insert(key(m.id.seq, dl.sub), di), "guid index sized for every slot");
    // Replay is in journal order, which is GUID order except for compacted
    // copies and journals written across restarts. Inserting each of those
    // in place was O(n) a message (a crash-looped journal of 262,144
    // messages took 60 s to restore): append, and sort once at the end.
    list& ready = q.subs[s].ready;
    if (ready.tail != k_nil && _messages[_deliveries[ready.tail].msg].id.seq > id.seq) {
      q.subs[s].restored_unsorted = true;
    }
    list_push_back(ready, di);
  }
  if (id.node == _limits.node_id && id.partition == _limits.partition) raise_next_seq(id.seq + 1);
  return status::ok;
}

void engine::finish_restore() {
  std::vector<idx> order;
  for (auto& q : _queues) {
    for (auto& s : q.subs) {
      if (!s.restored_unsorted) continue;
      s.restored_unsorted = false;
      order.clear();
      for (idx d = s.ready.head; d != k_nil; d = _deliveries[d].next) order.push_back(d);
      std::stable_sort(order.begin(), order.end(), [&](idx a, idx b) {
        return _messages[_deliveries[a].msg].id.seq < _messages[_deliveries[b].msg].id.seq;
      });
      s.ready = list{};
      for (const idx d : order) {
        _deliveries[d].prev = _deliveries[d].next = k_nil;
        list_push_back(s.ready, d);
      }
    }
  }
}

void engine::release_delivery(idx di) noexcept {
  delivery& d = _deliveries[di];
  message& m = _messages[d.msg];
  _by_guid.erase(key(m.id.seq, d.sub));
  const idx mi = d.msg;
  d = delivery{};
  d.next = _free_delivery;
  _free_delivery = di;
  --_deliveries_used;
  if (--m.refs == 0) free_message(mi);
}

void engine::free_message(idx mi) noexcept {
  message& m = _messages[mi];
  queue_rec& q = _queues[m.queue];
  --q.messages;
  q.bytes -= m.body_sz;
  _store.give(m.body);
  m = message{};
  m.next_free = _free_message;
  _free_message = mi;
}

void engine::expire(time_ns now) noexcept {
  _now = now;
  for (auto& q : _queues) {
    if (q.domain == nullptr) continue;
    const time_ns ttl = q.domain->message_ttl_ns;
    if (ttl <= 0) continue;
    for (auto& s : q.subs) {
      // Ready lists are oldest first (redeliveries are re-inserted by sequence).
      while (s.ready.head != k_nil) {
        const idx di = s.ready.head;
        if (now - _messages[_deliveries[di].msg].enqueued_ns < ttl) break;
        list_remove(s.ready, di);
        ++q.ctr.expired;
        journal_done(di);
        release_delivery(di);
      }
    }
  }
}

engine::queue_info engine::info(idx qi) const noexcept {
  const queue_rec& q = _queues[qi];
  std::uint32_t consumers = 0;
  std::uint64_t unconfirmed = 0;
  for (const auto& s : q.subs) {
    consumers += static_cast<std::uint32_t>(s.consumers.size());
    for (const idx ci : s.consumers) unconfirmed += _consumers[ci].unconf_msgs;
  }
  return {q.uri, q.domain->name, q.domain->mode, q.messages, q.bytes, consumers, unconfirmed, &q.ctr};
}

// ---- intrusive lists (deliveries) -------------------------------------------------

void engine::list_push_back(list& l, idx di) noexcept {
  delivery& d = _deliveries[di];
  d.prev = l.tail;
  d.next = k_nil;
  if (l.tail != k_nil) {
    _deliveries[l.tail].next = di;
  } else {
    l.head = di;
  }
  l.tail = di;
}

void engine::list_insert_sorted(list& l, idx di) noexcept {
  // Redeliveries are usually older than everything ready: walk from the head.
  const std::uint64_t seq = _messages[_deliveries[di].msg].id.seq;
  idx at = l.head;
  while (at != k_nil && _messages[_deliveries[at].msg].id.seq < seq) at = _deliveries[at].next;
  if (at == k_nil) return list_push_back(l, di);
  delivery& d = _deliveries[di];
  delivery& next = _deliveries[at];
  d.next = at;
  d.prev = next.prev;
  if (next.prev != k_nil) {
    _deliveries[next.prev].next = di;
  } else {
    l.head = di;
  }
  next.prev = di;
}

void engine::list_remove(list& l, idx di) noexcept {
  delivery& d = _deliveries[di];
  if (d.prev != k_nil) {
    _deliveries[d.prev].next = d.next;
  } else {
    l.head = d.next;
  }
  if (d.next != k_nil) {
    _deliveries[d.next].prev = d.prev;
  } else {
    l.tail = d.prev;
  }
  d.prev = d.next = k_nil;
}

}  // namespace sluice::queue
