// The C API (client/sluice.h) over the C++ client. Nothing thrown crosses
// the boundary: every entry point catches and maps to a SLUICE_E* code.
#include "client/sluice.h"

#include <atomic>
#include <cstring>
#include <new>

#include "client/client.h"

struct sluice_client {
  std::unique_ptr<sluice::client::client> c;
  std::atomic<std::uint16_t> last_status{0};  // relaxed: an informational value
};

namespace {

using sluice::client::errc;
using sluice::client::error;

static_assert(sizeof(sluice_guid) == sizeof(sluice::wire::guid), "sluice_guid mirrors wire::guid");
static_assert(SLUICE_EREDIRECTLOOP == -static_cast<int>(errc::redirect_loop), "codes mirror errc");
static_assert(SLUICE_EINVAL == -static_cast<int>(errc::invalid_argument), "codes mirror errc");
static_assert(SLUICE_EUNREACHABLE == -static_cast<int>(errc::unreachable), "codes mirror errc");
static_assert(SLUICE_STATUS_INTERNAL == static_cast<int>(sluice::wire::status::internal), "statuses mirror §7");
static_assert(SLUICE_STATUS_UNREACHABLE == static_cast<int>(sluice::wire::status::unreachable), "statuses mirror §7");
static_assert(SLUICE_STATUS_SHUTTING_DOWN == static_cast<int>(sluice::wire::status::shutting_down),
              "statuses mirror §7");

sluice_guid to_c(const sluice::wire::guid& g) noexcept {
  sluice_guid out;
  std::memcpy(&out, &g, sizeof out);
  return out;
}

int fail(sluice_client* cl, const error& e) noexcept {
  if (e.code == errc::broker_refused) {
    cl->last_status.store(static_cast<std::uint16_t>(e.status), std::memory_order_relaxed);
  }
  return -static_cast<int>(e.code);
}

// Runs `fn` and turns anything thrown into an error code.
template <class Fn>
int guarded(Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return SLUICE_ENOMEM;
  } catch (...) {
    return SLUICE_EINTERNAL;
  }
}

sluice::client::queue_handle handle(std::uint32_t h) noexcept { return sluice::client::queue_handle{h}; }

}  // namespace

extern "C" {

const char* sluice_strerror(int code) {
  switch (code) {
    case SLUICE_OK: return "ok";
    case SLUICE_ECONNECT: return "connect failed (no handshake with the broker)";
    case SLUICE_ETIMEOUT: return "timeout (no reply within the request timeout)";
    case SLUICE_EWOULDBLOCK: return "would block (send window full: poll and retry)";
    case SLUICE_EDISCONNECTED: return "disconnected (the session to the broker ended)";
    case SLUICE_EBADHANDLE: return "bad handle (unknown or closed queue handle)";
    case SLUICE_ENOTWRITABLE: return "not writable (queue opened without write)";
    case SLUICE_ENOTREADABLE: return "not readable (queue opened without read)";
    case SLUICE_ETOOLARGE: return "too large (payload + properties over the queue's limit)";
    case SLUICE_EINVAL: return "invalid argument";
    case SLUICE_EREFUSED: return "broker refused (see sluice_last_status)";
    case SLUICE_EREDIRECTLOOP: return "redirect loop (too many REDIRECTs)";
    case SLUICE_ENOMEM: return "out of memory";
    case SLUICE_EINTERNAL: return "internal error";
    case SLUICE_EUNREACHABLE: return "unreachable (nothing listens at the broker's address)";
    default: return "unknown error code";
  }
}

int sluice_connect_timeout(const char* broker, int64_t timeout_us, sluice_client** out) {
  if (broker == nullptr || out == nullptr || timeout_us <= 0 ||
      timeout_us > INT64_MAX / sluice::k_ns_per_us) {
    return SLUICE_EINVAL;
  }
  *out = nullptr;
  return guarded([&]() -> int {
    sluice::client::client_config cfg;
    cfg.broker = broker;
    cfg.request_timeout_ns = timeout_us * sluice::k_ns_per_us;
    auto r = sluice::client::client::connect(cfg);
    if (!r) return -static_cast<int>(r.error().code);
    auto* cl = new sluice_client;
    cl->c = std::move(*r);
    *out = cl;
    return SLUICE_OK;
  });
}

int sluice_connect(const char* broker, sluice_client** out) {
  return sluice_connect_timeout(broker, 5'000'000, out);
}

void sluice_close(sluice_client* client) {
  if (client == nullptr) return;
  try {
    delete client;
  } catch (...) {  // a destructor that throws would terminate; nothing to report
  }
}

int sluice_queue_options_init(sluice_queue_options* opts) {
  if (opts == nullptr) return SLUICE_EINVAL;
  const sluice::client::queue_options d;
  *opts = sluice_queue_options{0, 0, d.priority, d.max_unconfirmed_msgs, d.max_unconfirmed_bytes, nullptr};
  return SLUICE_OK;
}

int sluice_open_queue(sluice_client* client, const char* uri, const sluice_queue_options* opts,
                      uint32_t* handle_out) {
  if (client == nullptr || uri == nullptr || opts == nullptr || handle_out == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    sluice::client::queue_options o;
    o.read = opts->read != 0;
    o.write = opts->write != 0;
    o.priority = opts->priority;
    o.max_unconfirmed_msgs = opts->max_unconfirmed_msgs;
    o.max_unconfirmed_bytes = opts->max_unconfirmed_bytes;
    if (opts->app_id != nullptr) o.app_id = opts->app_id;
    const auto r = client->c->open_queue(uri, o);
    if (!r) return fail(client, r.error());
    *handle_out = r->idx;
    return SLUICE_OK;
  });
}

int sluice_configure_queue(sluice_client* client, uint32_t h, int32_t priority, uint32_t max_unconfirmed_msgs,
                           uint64_t max_unconfirmed_bytes) {
  if (client == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    const auto st = client->c->configure_queue(handle(h), priority, max_unconfirmed_msgs, max_unconfirmed_bytes);
    return st ? SLUICE_OK : fail(client, st.error());
  });
}

int sluice_close_queue(sluice_client* client, uint32_t h) {
  if (client == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    const auto st = client->c->close_queue(handle(h));
    return st ? SLUICE_OK : fail(client, st.error());
  });
}

int sluice_post(sluice_client* client, uint32_t h, const void* data, size_t len, const void* props,
                size_t props_len, uint32_t* corr_id) {
  if (client == nullptr || (data == nullptr && len != 0) || (props == nullptr && props_len != 0)) {
    return SLUICE_EINVAL;
  }
  return guarded([&]() -> int {
    const sluice::wire::bytes payload{static_cast<const std::byte*>(data), len};
    const sluice::wire::bytes properties{static_cast<const std::byte*>(props), props_len};
    const auto r = client->c->post(handle(h), payload, properties);
    if (!r) return fail(client, r.error());
    if (corr_id != nullptr) *corr_id = *r;
    return SLUICE_OK;
  });
}

int sluice_confirm(sluice_client* client, uint32_t h, const sluice_guid* guid) {
  if (client == nullptr || guid == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    sluice::wire::guid g;
    std::memcpy(&g, guid, sizeof g);
    const auto st = client->c->confirm(handle(h), g);
    return st ? SLUICE_OK : fail(client, st.error());
  });
}

int sluice_set_ack_handler(sluice_client* client, sluice_ack_fn fn, void* user) {
  if (client == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    if (fn == nullptr) {
      client->c->on_ack({});
      return SLUICE_OK;
    }
    client->c->on_ack([fn, user](const sluice::client::ack& a) {
      const sluice_ack ca{a.queue.idx, a.corr_id, static_cast<std::uint16_t>(a.status), to_c(a.guid)};
      fn(&ca, user);
    });
    return SLUICE_OK;
  });
}

int sluice_set_message_handler(sluice_client* client, sluice_message_fn fn, void* user) {
  if (client == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    if (fn == nullptr) {
      client->c->on_message({});
      return SLUICE_OK;
    }
    client->c->on_message([fn, user](const sluice::client::message& m) {
      const sluice_message cm{m.queue.idx,        to_c(m.guid),    m.delivery_cnt,
                              m.properties.data(), m.properties.size(), m.payload.data(),
                              m.payload.size()};
      fn(&cm, user);
    });
    return SLUICE_OK;
  });
}

int sluice_poll(sluice_client* client, int64_t timeout_us) {
  if (client == nullptr || timeout_us < 0 || timeout_us > INT64_MAX / sluice::k_ns_per_us) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    const std::size_t n = client->c->poll(timeout_us * sluice::k_ns_per_us);
    return n > static_cast<std::size_t>(INT32_MAX) ? INT32_MAX : static_cast<int>(n);
  });
}

int sluice_start_background_thread(sluice_client* client) {
  if (client == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    client->c->start_background_thread();
    return SLUICE_OK;
  });
}

int sluice_stop_background_thread(sluice_client* client) {
  if (client == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    client->c->stop_background_thread();
    return SLUICE_OK;
  });
}

int sluice_unacked(sluice_client* client, size_t* out) {
  if (client == nullptr || out == nullptr) return SLUICE_EINVAL;
  return guarded([&]() -> int {
    *out = client->c->unacked();
    return SLUICE_OK;
  });
}

int sluice_last_status(const sluice_client* client) {
  if (client == nullptr) return SLUICE_EINVAL;
  return client->last_status.load(std::memory_order_relaxed);
}

}  // extern "C"
