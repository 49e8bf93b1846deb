// client/examples/producer.cc — sluice-example-producer: post messages and
// wait for every ACK, driving the client with poll() on this thread.
//
//   sluice-example-producer [broker] [queue-uri] [count]
//   defaults:                127.0.0.1:7600  prio/example  10
//
// Each message carries two properties (seq: int64, source: string). Exits 0
// when every message was stored (ACK status ok), 1 otherwise.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/client.h"
#include "datapath/wire/properties.h"

using namespace sluice;

int main(int argc, char** argv) {
  const std::string broker = argc > 1 ? argv[1] : "127.0.0.1:7600";
  const std::string uri = argc > 2 ? argv[2] : "prio/example";
  const long count = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 10;

  // 1. Connect: resolves the address and completes the session handshake.
  auto c = client::client::connect({.broker = broker});
  if (!c) {
    std::fprintf(stderr, "producer: cannot connect to %s: %s\n", broker.c_str(), describe(c.error()).c_str());
    return 1;
  }
  // 2. Open the queue for writing (REDIRECTs to the owning shard are followed).
  auto q = (*c)->open_queue(uri, {.write = true});
  if (!q) {
    std::fprintf(stderr, "producer: cannot open %s: %s\n", uri.c_str(), describe(q.error()).c_str());
    return 1;
  }

  // 3. Post. Every post gets exactly one ACK, delivered from poll().
  long acked = 0;
  long stored = 0;
  const auto on_ack = [&](const client::ack& a) {
    ++acked;
    if (a.status == wire::status::ok) ++stored;
    std::printf("ack corr_id=%u status=%s guid=%llu/%u/%u\n", a.corr_id, wire::status_name(a.status),
                static_cast<unsigned long long>(a.guid.seq), a.guid.partition, a.guid.node);
  };
  for (long i = 0; i < count; ++i) {
    std::byte props_buf[128];
    wire::property_writer props(props_buf);
    (void)props.add_int64("seq", i);
    (void)props.add_string("source", "sluice-example-producer");
    const std::string payload = "message " + std::to_string(i);
    for (;;) {
      const auto r = (*c)->post(*q, wire::as_bytes(payload), props.finish(), on_ack);
      if (r) break;
      if (r.error().code != client::errc::would_block) {
        std::fprintf(stderr, "producer: post failed: %s\n", describe(r.error()).c_str());
        return 1;
      }
      (*c)->poll(100 * k_ns_per_us);  // the send window is full: let ACKs in, then retry
    }
  }

  // 4. Wait for the outstanding ACKs (at most 10 s).
  const time_ns deadline = monotonic_now_ns() + 10 * k_ns_per_s;
  while (acked < count && (*c)->connected() && monotonic_now_ns() < deadline) (*c)->poll(1 * k_ns_per_ms);
  std::printf("producer: %ld posted, %ld acked, %ld stored\n", count, acked, stored);
  return stored == count ? 0 : 1;
}
