// client::client: construction, teardown and the public methods, which take
// the lock and hand over to impl (client_data.cc, client_requests.cc,
// client_frames.cc).
#include "client/client.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdio>

#include "client/client_impl.h"

namespace sluice::client {

namespace {

const char* errc_text(errc c) noexcept {
  switch (c) {
    case errc::connect_failed: return "connect failed (no handshake with the broker)";
    case errc::timeout: return "timeout (no reply within request_timeout)";
    case errc::would_block: return "would block (send window full)";
    case errc::disconnected: return "disconnected (the session to the broker ended)";
    case errc::bad_handle: return "bad handle (unknown or closed queue handle)";
    case errc::not_writable: return "not writable (queue opened without write)";
    case errc::not_readable: return "not readable (queue opened without read)";
    case errc::too_large: return "too large (payload + properties over the queue's max_message_sz)";
    case errc::invalid_argument: return "invalid argument";
    case errc::broker_refused: return "broker refused";
    case errc::redirect_loop: return "redirect loop (too many REDIRECTs)";
    case errc::unreachable: return "unreachable (nothing listens at the broker's address)";
  }
  return "unknown error";
}

}  // namespace

std::string describe(const error& e) {
  std::string s = errc_text(e.code);
  if (e.code == errc::broker_refused) s += std::string(": ") + wire::status_name(e.status);
  return s;
}

std::string describe_connect(const error& e) {
  if (e.code == errc::broker_refused && e.status == wire::status::limit_reached) {
    return "the broker is at its session limit (limits.max_sessions per shard): try again later, or raise it";
  }
  if (e.code == errc::unreachable) {
    return "nothing listens there (the host answered \"port unreachable\" at once): is sluice-broker running, "
           "on this address and port?";
  }
  if (e.code == errc::broker_refused && e.status == wire::status::shutting_down) {
    return "the broker is draining or shutting down and takes no new sessions: use another node";
  }
  return describe(e);
}

// ---- impl construction and teardown ----------------------------------------------

client::impl::impl(const client_config& cfg, const net_addr& broker,
                   std::unique_ptr<transport::udp_port> port)
    : _cfg(cfg), _broker(broker), _port(std::move(port)) {
  transport::endpoint_config ec;
  ec.session = cfg.session;
  ec.session.linger_ns = cfg.linger_ns;
  ec.max_sessions = cfg.max_sessions;
  ec.accept_inbound = false;
  // Chunks hold unacked frames sent and out-of-order frames received, shared
  // by all sessions: one full window each way, at least.
  ec.chunk_cnt = std::max<std::uint32_t>(cfg.session.send_window + cfg.session.recv_window, 2048);
  _ep = std::make_unique<transport::endpoint>(*_port, _clock, ec, *this);

  const std::uint32_t cap = std::bit_ceil(std::max<std::uint32_t>(cfg.max_unacked_posts, 1));
  _puts.resize(cap);
  _puts_mask = cap - 1;
  _scratch.resize(cfg.session.frame_body_max());
  _confirm_fit = wire::confirm_entries_fit(cfg.session.frame_body_max());
  _confirm_buf.resize(sizeof(wire::batch_fixed) + _confirm_fit * sizeof(wire::confirm_entry));
  _links.reserve(cfg.max_sessions);
  _wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

client::impl::~impl() {
  stop_background();
  lock_t lk(_mu);
  // No callbacks from the destructor: the objects they capture may be gone.
  _on_ack = nullptr;
  _on_message = nullptr;
  for (auto& p : _puts) p.fn = nullptr;
  for (auto& l : _links) {
    if (l->st == broker_link::state::open) flush_link_confirms(*l);
  }
  _ep->close_all(wire::status::ok);
  const time_ns deadline = _clock.now_ns() + 1 * k_ns_per_s;
  while (_ep->sessions() > 0 && _clock.now_ns() < deadline) {
    if (_ep->poll() == 0) _port->wait(100 * k_ns_per_us);
  }
  lk.unlock();
  if (_wake_fd >= 0) ::close(_wake_fd);
}

void client::impl::assert_not_in_callback(const char* what) const noexcept {
  if (_polling) {
    std::fprintf(stderr, "sluice client: %s called from inside a callback\n", what);
    SLUICE_ASSERT(!_polling, "blocking client method called from inside a callback");
  }
}

queue_slot* client::impl::usable(queue_handle q, std::uint16_t need_flag, errc& err) noexcept {
  const auto it = _queues.find(q.idx);
  if (q.idx == 0 || it == _queues.end()) {
    err = errc::bad_handle;
    return nullptr;
  }
  queue_slot& s = it->second;
  if ((s.flags & need_flag) != need_flag) {
    err = need_flag == wire::k_open_flag_write ? errc::not_writable : errc::not_readable;
    return nullptr;
  }
  if (s.link->st != broker_link::state::open || s.link->epoch != s.epoch) {
    err = errc::disconnected;
    return nullptr;
  }
  return &s;
}

// ---- client ------------------------------------------------------------------------

result<std::unique_ptr<client>, error> client::connect(const client_config& cfg) {
  const auto addr = net_addr::parse(cfg.broker);
  if (!addr || addr->port == 0) return unexpected{error{errc::invalid_argument}};
  transport::session_config sc = cfg.session;
  sc.linger_ns = cfg.linger_ns;  // checked with the rest
  if (!sc.validate().empty() || cfg.request_timeout_ns <= 0 || cfg.max_sessions == 0 ||
      cfg.max_sessions > (1u << 16) || cfg.max_unacked_posts == 0 || cfg.max_unacked_posts > (1u << 24)) {
    return unexpected{error{errc::invalid_argument}};
  }
  // Datagrams no larger than the route to the broker carries: the default
  // 16 KiB on loopback, 1,472 bytes over Ethernet (protocol §3.10).
  client_config c = cfg;
  const std::size_t path = transport::udp_port::path_datagram_sz(*addr);
  if (path >= wire::k_datagram_sz_min && path < c.session.max_datagram_sz) {
    c.session.max_datagram_sz = static_cast<std::uint16_t>(path);
  }
  transport::udp_port_config pc;
  pc.bind = *net_addr::from_ip_port(addr->family == AF_INET6 ? "::" : "0.0.0.0", 0);
  pc.report_unreachable = true;  // a handshake to a port nothing listens on fails at once
  pc.max_datagram_sz = c.session.max_datagram_sz;
  std::string err;
  auto port = transport::udp_port::open(pc, err);
  if (!port) return unexpected{error{errc::connect_failed}};
  auto p = std::make_unique<impl>(c, *addr, std::move(port));
  if (auto st = p->connect_bootstrap(); !st) return unexpected{st.error()};
  return std::unique_ptr<client>(new client(std::move(p)));
}

client::client(std::unique_ptr<impl> p) : _impl(std::move(p)) {}

client::~client() = default;

result<queue_handle, error> client::open_queue(std::string_view uri, const queue_options& opts) {
  return _impl->open_queue(uri, opts);
}

status<error> client::configure_queue(queue_handle q, std::int32_t priority, std::uint32_t max_unconfirmed_msgs,
                                      std::uint64_t max_unconfirmed_bytes) {
  return _impl->configure_queue(q, priority, max_unconfirmed_msgs, max_unconfirmed_bytes);
}

status<error> client::close_queue(queue_handle q) { return _impl->close_queue(q); }

result<std::uint32_t, error> client::post(queue_handle q, wire::bytes payload, wire::bytes properties,
                                          ack_fn on_ack) {
  return _impl->post(q, payload, properties, std::move(on_ack));
}

status<error> client::confirm(queue_handle q, const wire::guid& guid) { return _impl->confirm(q, guid); }

void client::on_ack(ack_fn fn) {
  lock_t lk(_impl->_mu);
  _impl->assert_not_in_callback("on_ack()");
  _impl->_on_ack = std::move(fn);
}

void client::on_message(message_fn fn) {
  lock_t lk(_impl->_mu);
  _impl->assert_not_in_callback("on_message()");
  _impl->_on_message = std::move(fn);
}

std::size_t client::poll(time_ns timeout_ns) {
  lock_t lk(_impl->_mu);
  _impl->assert_not_in_callback("poll()");
  return _impl->poll_locked(timeout_ns);
}

void client::start_background_thread() { _impl->start_background(); }

void client::stop_background_thread() { _impl->stop_background(); }

std::size_t client::unacked() const {
  lock_t lk(_impl->_mu);
  std::size_t n = _impl->_puts_live;
  for (const auto& l : _impl->_links) n += l->confirms.size();
  return n;
}

bool client::connected() const {
  lock_t lk(_impl->_mu);
  return !_impl->_links.empty() && _impl->_links[0]->st == broker_link::state::open;
}

wire::status client::end_reason() const {
  lock_t lk(_impl->_mu);
  if (_impl->_links.empty()) return wire::status::ok;
  const broker_link& l = *_impl->_links[0];
  return l.st == broker_link::state::open ? wire::status::ok : l.close_reason;
}

}  // namespace sluice::client
