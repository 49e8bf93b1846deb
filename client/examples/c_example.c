/* client/examples/c_example.c — sluice-example-c: the C API end to end.
 *
 *   sluice-example-c [broker] [queue-uri]
 *   defaults:         127.0.0.1:7600  prio/example
 *
 * Opens the queue for reading and writing, posts three messages, then polls
 * until their ACKs and (the queue being read too) their deliveries arrived,
 * confirming each message. Gives up after 5 s. Exits 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include "client/sluice.h"

struct state {
  sluice_client* client;
  int acked;
  int stored;
  int received;
};

static void on_ack(const sluice_ack* a, void* user) {
  struct state* s = (struct state*)user;
  s->acked++;
  if (a->status == SLUICE_STATUS_OK) s->stored++;
  printf("ack corr_id=%u status=%u guid=%llu\n", a->corr_id, (unsigned)a->status, (unsigned long long)a->guid.seq);
}

static void on_message(const sluice_message* m, void* user) {
  struct state* s = (struct state*)user;
  s->received++;
  printf("message guid=%llu payload=\"%.*s\"\n", (unsigned long long)m->guid.seq, (int)m->payload_len,
         (const char*)m->payload);
  /* Confirming from inside the handler is allowed; it is sent batched. */
  int rc = sluice_confirm(s->client, m->queue, &m->guid);
  if (rc != SLUICE_OK) fprintf(stderr, "c_example: confirm: %s\n", sluice_strerror(rc));
}

int main(int argc, char** argv) {
  const char* broker = argc > 1 ? argv[1] : "127.0.0.1:7600";
  const char* uri = argc > 2 ? argv[2] : "prio/example";
  struct state st;
  memset(&st, 0, sizeof st);

  int rc = sluice_connect(broker, &st.client);
  if (rc != SLUICE_OK) {
    fprintf(stderr, "c_example: connect %s: %s\n", broker, sluice_strerror(rc));
    return 1;
  }
  sluice_set_ack_handler(st.client, on_ack, &st);
  sluice_set_message_handler(st.client, on_message, &st);

  sluice_queue_options opts;
  sluice_queue_options_init(&opts);
  opts.read = 1;
  opts.write = 1;
  uint32_t queue = 0;
  rc = sluice_open_queue(st.client, uri, &opts, &queue);
  if (rc != SLUICE_OK) {
    fprintf(stderr, "c_example: open %s: %s (broker status %d)\n", uri, sluice_strerror(rc),
            sluice_last_status(st.client));
    sluice_close(st.client);
    return 1;
  }

  const int count = 3;
  for (int i = 0; i < count; ++i) {
    char payload[32];
    int len = snprintf(payload, sizeof payload, "hello from C #%d", i);
    uint32_t corr_id = 0;
    while ((rc = sluice_post(st.client, queue, payload, (size_t)len, NULL, 0, &corr_id)) == SLUICE_EWOULDBLOCK) {
      sluice_poll(st.client, 100);
    }
    if (rc != SLUICE_OK) {
      fprintf(stderr, "c_example: post: %s\n", sluice_strerror(rc));
      sluice_close(st.client);
      return 1;
    }
  }

  /* 5000 polls of at most 1 ms each: about 5 s. */
  for (int i = 0; i < 5000 && (st.acked < count || st.received < count); ++i) {
    if (sluice_poll(st.client, 1000) < 0) break;
  }
  sluice_close_queue(st.client, queue); /* sends the batched CONFIRMs first */
  printf("c_example: %d acked (%d stored), %d received\n", st.acked, st.stored, st.received);
  sluice_close(st.client);
  return st.stored == count && st.received == count ? 0 : 1;
}
