/* client/sluice.h — the Sluice client library, C API (for C and other languages).
 *
 * A thin, exception-free wrapper over the C++ client (client/client.h): same
 * sessions, handles, callbacks and threading rules. Every function returns
 * SLUICE_OK (0) or a negative SLUICE_E* code; every pointer argument is
 * checked (NULL gives SLUICE_EINVAL) unless its comment says it may be NULL.
 *
 *   sluice_client* c;
 *   if (sluice_connect("127.0.0.1:7600", &c) != SLUICE_OK) ...;
 *   sluice_queue_options o; sluice_queue_options_init(&o); o.write = 1;
 *   uint32_t q; sluice_open_queue(c, "prio/example", &o, &q);
 *   sluice_post(c, q, "hi", 2, NULL, 0, NULL);
 *   while (running) sluice_poll(c, 1000);   // callbacks run in here
 *   sluice_close(c);
 *
 * Threading: as for the C++ client. Without the background thread, one
 * thread drives the client with sluice_poll(); handlers run inside it. With
 * sluice_start_background_thread(), any thread may call any function and
 * handlers run on the library's thread. From inside a handler, only
 * sluice_post(), sluice_confirm(), sluice_unacked() and sluice_last_status()
 * may be called. Handlers must not longjmp out.
 *
 * Lifetime: message payloads and properties are valid only during the
 * handler call. Queue handles are plain numbers, never 0 when valid.
 */
#ifndef SLUICE_CLIENT_SLUICE_H
#define SLUICE_CLIENT_SLUICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: the negated values of sluice::client::errc, plus two of the C layer. */
enum {
  SLUICE_OK = 0,
  SLUICE_ECONNECT = -1,       /* handshake did not complete (broker down, wrong address) */
  SLUICE_ETIMEOUT = -2,       /* no reply to a request in time */
  SLUICE_EWOULDBLOCK = -3,    /* send window full: poll and retry */
  SLUICE_EDISCONNECTED = -4,  /* the session to the broker ended */
  SLUICE_EBADHANDLE = -5,     /* queue handle unknown or closed */
  SLUICE_ENOTWRITABLE = -6,   /* post on a queue opened without write */
  SLUICE_ENOTREADABLE = -7,   /* confirm/configure on a queue opened without read */
  SLUICE_ETOOLARGE = -8,      /* payload + properties over the queue's limit */
  SLUICE_EINVAL = -9,         /* bad argument (NULL pointer, URI, options, address) */
  SLUICE_EREFUSED = -10,      /* the broker answered with an error status: sluice_last_status() */
  SLUICE_EREDIRECTLOOP = -11, /* too many REDIRECTs for one open */
  SLUICE_ENOMEM = -12,        /* out of memory */
  SLUICE_EINTERNAL = -13,     /* unexpected internal failure */
  SLUICE_EUNREACHABLE = -14   /* nothing listens at the broker's address (port unreachable) */
};

/* Broker status codes (docs/protocol.md §7), carried in acks and returned by
 * sluice_last_status(). */
enum {
  SLUICE_STATUS_OK = 0,
  SLUICE_STATUS_UNKNOWN = 1,
  SLUICE_STATUS_MALFORMED = 2,
  SLUICE_STATUS_UNSUPPORTED_VERSION = 3,
  SLUICE_STATUS_UNKNOWN_FRAME = 4,
  SLUICE_STATUS_TOO_LARGE = 5,
  SLUICE_STATUS_UNKNOWN_DOMAIN = 6,
  SLUICE_STATUS_UNKNOWN_QUEUE = 7,
  SLUICE_STATUS_QUEUE_FULL = 8,
  SLUICE_STATUS_NOT_AUTHORISED = 9,
  SLUICE_STATUS_NOT_PRIMARY = 10,
  SLUICE_STATUS_QUEUE_NOT_OPEN = 11,
  SLUICE_STATUS_INVALID_ARGUMENT = 12,
  SLUICE_STATUS_TIMEOUT = 13,
  SLUICE_STATUS_SHUTTING_DOWN = 14,
  SLUICE_STATUS_LIMIT_REACHED = 15,
  SLUICE_STATUS_EXPIRED = 16,
  SLUICE_STATUS_IDLE_TIMEOUT = 17,
  SLUICE_STATUS_RETRANSMIT_LIMIT = 18,
  SLUICE_STATUS_RESET = 19,
  SLUICE_STATUS_INTERNAL = 20,
  SLUICE_STATUS_UNREACHABLE = 21  /* local only: nothing listens at the peer's address */
};

typedef struct sluice_client sluice_client;

/* A message's cluster-wide id (16 bytes, as on the wire). */
typedef struct sluice_guid {
  uint64_t seq;
  uint32_t partition;
  uint16_t node;
  uint16_t reserved0;
} sluice_guid;

typedef struct sluice_queue_options {
  int read;                       /* non-zero: consume */
  int write;                      /* non-zero: produce */
  int32_t priority;               /* consumers: higher first */
  uint32_t max_unconfirmed_msgs;  /* consumer credit; 0 = paused */
  uint64_t max_unconfirmed_bytes;
  const char* app_id;             /* fanout consumers; may be NULL */
} sluice_queue_options;

typedef struct sluice_ack {
  uint32_t queue;    /* handle */
  uint32_t corr_id;  /* as returned by sluice_post() */
  uint16_t status;   /* SLUICE_STATUS_OK when stored */
  sluice_guid guid;  /* zero unless status is ok */
} sluice_ack;

typedef struct sluice_message {
  uint32_t queue;  /* handle */
  sluice_guid guid;
  uint16_t delivery_cnt;
  const void* properties;  /* a properties block (protocol §6.18); valid during the call */
  size_t properties_len;
  const void* payload;     /* valid during the call */
  size_t payload_len;
} sluice_message;

typedef void (*sluice_ack_fn)(const sluice_ack* ack, void* user);
typedef void (*sluice_message_fn)(const sluice_message* msg, void* user);

/* "timeout (no reply within request_timeout)", ...; never NULL. */
const char* sluice_strerror(int code);

/* Connects to `broker` ("127.0.0.1:7600", "[::1]:7600") with default
 * settings; requests time out after 5 s. On success *out is the client. */
int sluice_connect(const char* broker, sluice_client** out);
/* The same with the handshake and request timeout in microseconds (> 0). */
int sluice_connect_timeout(const char* broker, int64_t timeout_us, sluice_client** out);
/* Stops the background thread, closes the sessions (waits about 1 s at
 * most) and frees the client. NULL is a no-op. No handler runs from here. */
void sluice_close(sluice_client* client);

/* Fills the defaults: neither read nor write, priority 0, credit 1024
 * messages / 64 MiB, no app id. */
int sluice_queue_options_init(sluice_queue_options* opts);
/* Blocking: opens `uri` ("domain/name"), following REDIRECTs. */
int sluice_open_queue(sluice_client* client, const char* uri, const sluice_queue_options* opts,
                      uint32_t* handle);
int sluice_configure_queue(sluice_client* client, uint32_t handle, int32_t priority,
                           uint32_t max_unconfirmed_msgs, uint64_t max_unconfirmed_bytes);
int sluice_close_queue(sluice_client* client, uint32_t handle);

/* Queues one message; the ack handler reports its fate. `data` may be NULL
 * when len is 0, `props` when props_len is 0 (props is a properties block),
 * `corr_id` (out) may be NULL. */
int sluice_post(sluice_client* client, uint32_t handle, const void* data, size_t len, const void* props,
                size_t props_len, uint32_t* corr_id);
/* Queues a CONFIRM for a delivered message (sent batched by sluice_poll()). */
int sluice_confirm(sluice_client* client, uint32_t handle, const sluice_guid* guid);

/* Handlers; fn NULL removes the handler. `user` is passed back untouched. */
int sluice_set_ack_handler(sluice_client* client, sluice_ack_fn fn, void* user);
int sluice_set_message_handler(sluice_client* client, sluice_message_fn fn, void* user);

/* Handles what arrived and sends what is queued; when idle waits up to
 * timeout_us for the network. Returns the work done (>= 0, 0 = idle) or an
 * error. */
int sluice_poll(sluice_client* client, int64_t timeout_us);

int sluice_start_background_thread(sluice_client* client);
int sluice_stop_background_thread(sluice_client* client);

/* Posts not yet acked plus CONFIRMs not yet sent, into *out. */
int sluice_unacked(sluice_client* client, size_t* out);
/* The broker status of the last call on this client that failed with
 * SLUICE_EREFUSED (0 if none), or SLUICE_EINVAL for a NULL client. */
int sluice_last_status(const sluice_client* client);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* SLUICE_CLIENT_SLUICE_H */
