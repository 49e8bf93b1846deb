// client/client.h — the Sluice client library (C++ API).
//
// A thin layer over the same wire codec and session layer the broker runs:
// one kernel UDP port, one session per broker shard it talks to (REDIRECTs
// are followed transparently), queue handles, PUT with ACK callbacks, a
// message handler, batched CONFIRMs.
//
//   auto c = client::connect({.broker = "127.0.0.1:7600"});
//   auto q = c->open_queue("work/orders", {.read = true, .write = true});
//   c->post(*q, payload, {}, [](const ack& a) { ... });
//   c->on_message([&](const message& m) { ...; c->confirm(m.queue, m.guid); });
//   while (running) c->poll(1 * k_ns_per_ms);
//
// Threading: by default the caller drives everything with poll(); callbacks
// run inside poll(). With start_background_thread() a library thread polls
// instead; then every method may be called from any thread (one internal
// mutex) and callbacks run on the library thread. Methods must not be called
// from inside a callback except post(), confirm() and the accessors (the
// blocking ones assert). Callbacks must not throw.
//
// Sessions: the client keeps one session per broker address it talks to: the
// one in client_config::broker (the bootstrap session) plus one per REDIRECT
// target. When a session ends (broker gone, idle timeout, reset, the broker
// closing it):
//   - its queue handles stay known but every call on them fails with
//     errc::disconnected (close_queue() still forgets them and returns ok);
//   - blocking requests waiting on it fail with errc::disconnected;
//   - every post() on it not yet ACKed gets its ack callback with the
//     session's end reason as the status (idle_timeout, retransmit_limit,
//     reset, shutting_down, ...; a graceful close with reason ok is reported
//     as shutting_down) and a zero GUID: the message may or may not be stored;
//   - CONFIRMs not yet sent are dropped (the broker redelivers).
// A later REDIRECT to that address opens a fresh session. When the bootstrap
// session ends the client is no longer connected(): open_queue() fails with
// disconnected; make a new client to reconnect.
//
// An ERROR frame from the broker that names a waiting request's req_id fails
// it with broker_refused (its code in error::status); one that names a
// corr_id completes that post with its code through the ack callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "datapath/transport/session_config.h"
#include "datapath/wire/codec.h"

namespace sluice::client {

enum class errc : std::uint8_t {
  connect_failed = 1,  // handshake did not complete (broker down, wrong address)
  timeout,             // no reply to a request within request_timeout
  would_block,         // send window full: poll() and retry
  disconnected,        // the session to the broker ended
  bad_handle,          // queue handle unknown or closed
  not_writable,        // post() on a handle opened without write
  not_readable,        // confirm()/configure on a handle opened without read
  too_large,           // payload + properties over the queue's max_message_sz
  invalid_argument,    // bad URI, options or address (detected locally)
  broker_refused,      // the broker answered with an error status (see error::status)
  redirect_loop,       // too many REDIRECTs for one open
  unreachable = 14,    // nothing listens at the broker's address (the network said port unreachable)
};

struct error {
  errc code;
  wire::status status = wire::status::ok;  // the broker's status for broker_refused
};
// "broker refused: unknown_domain", "would block (send window full)", ...
std::string describe(const error& e);
// describe() for a failed connect, saying what to do about a refusal
// ("the broker is at its session limit ...").
std::string describe_connect(const error& e);

struct client_config {
  std::string broker = "127.0.0.1:7600";  // address:port of any broker shard
  // session.max_datagram_sz (default 16 KiB) is an upper bound: connect()
  // lowers it to what the route to the broker carries (1,472 over Ethernet).
  transport::session_config session{};
  time_ns request_timeout_ns = 5 * k_ns_per_s;
  std::uint32_t max_sessions = 64;        // shards (and later nodes) reachable
  // Posts awaiting their ACK at most (rounded up to a power of two); post()
  // fails with would_block beyond it. Bounds the client's per-post memory.
  std::uint32_t max_unacked_posts = 16384;
  // Coalescing, whatever the calling pattern: while posts (and CONFIRMs)
  // come faster than one per linger_ns, poll(0) holds a new one back at most
  // linger_ns for others to share its datagram; a post after a pause goes on
  // the next poll(), and a poll(timeout > 0) sends everything before it
  // waits. A producer that calls poll(0) after every post then sends full
  // datagrams instead of one per message; poll(0) also reads the socket once
  // per linger_ns at most. 0 = every poll() sends what is queued and reads.
  // At most 10 ms. (Overrides session.linger_ns.)
  time_ns linger_ns = 20 * k_ns_per_us;
};

struct queue_options {
  bool read = false;
  bool write = false;
  std::int32_t priority = 0;                       // consumers: higher first
  std::uint32_t max_unconfirmed_msgs = 1024;       // consumer credit; 0 = paused
  std::uint64_t max_unconfirmed_bytes = 64u << 20;
  std::string app_id{};                            // fanout consumers only
};

// A client-wide queue handle (stable across the sessions behind it).
struct queue_handle {
  std::uint32_t idx = 0;  // 0 is never a valid handle
  bool operator==(const queue_handle&) const = default;
};

struct ack {
  queue_handle queue;
  std::uint32_t corr_id;
  wire::status status;   // ok, queue_full, too_large, ...
  wire::guid guid;       // zero unless status is ok
};

struct message {
  queue_handle queue;
  wire::guid guid;
  std::uint16_t delivery_cnt;
  wire::bytes properties;  // a properties block; valid only during the callback
  wire::bytes payload;     // valid only during the callback
};

using ack_fn = std::function<void(const ack&)>;
using message_fn = std::function<void(const message&)>;

class client {
 public:
  // Resolves cfg.broker, opens the port and completes the handshake,
  // polling for at most request_timeout_ns.
  // Fails with invalid_argument (bad address or settings) or connect_failed.
  static result<std::unique_ptr<client>, error> connect(const client_config& cfg);
  // Stops the background thread, closes sessions gracefully (waits at most
  // about 1 s). Runs no callbacks: ACKs still outstanding are dropped.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Blocking requests (they poll, or wait for the background thread).
  result<queue_handle, error> open_queue(std::string_view uri, const queue_options& opts);
  status<error> configure_queue(queue_handle q, std::int32_t priority, std::uint32_t max_unconfirmed_msgs,
                                std::uint64_t max_unconfirmed_bytes);
  status<error> close_queue(queue_handle q);

  // Queues one PUT; returns its corr_id. `on_ack` (or, when empty, the
  // handler set with on_ack()) is called from poll() with its ACK. Fails
  // with would_block when the send window is full (poll() and retry).
  result<std::uint32_t, error> post(queue_handle q, wire::bytes payload, wire::bytes properties = {},
                                    ack_fn on_ack = {});
  // Queues a CONFIRM; CONFIRMs are batched and sent by the next poll() (or
  // at once when a datagram's worth is batched). Fails with would_block when
  // a full batch cannot be sent yet (poll() and retry).
  status<error> confirm(queue_handle q, const wire::guid& guid);

  void on_ack(ack_fn fn);
  // Set the message handler before opening a reader: a PUSH that arrives
  // with no handler is counted and dropped, and the broker keeps counting it
  // as held by this consumer until the queue or session closes.
  void on_message(message_fn fn);

  // Receives and handles what arrived (callbacks run here), sends what is
  // queued. When there is nothing to do, waits up to `timeout_ns` for the
  // network. Returns the amount of work done (0 = idle).
  std::size_t poll(time_ns timeout_ns = 0);

  void start_background_thread();
  void stop_background_thread();

  // Messages posted and not yet ACKed; CONFIRMs not yet sent.
  std::size_t unacked() const;
  bool connected() const;
  // Why the bootstrap session ended (idle_timeout, retransmit_limit, the
  // broker's close reason, ...); ok while it is open.
  wire::status end_reason() const;

 private:
  struct impl;
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> _impl;
};

}  // namespace sluice::client
