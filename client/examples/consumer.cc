// client/examples/consumer.cc — sluice-example-consumer: receive and confirm
// messages, with the client's background thread doing the polling.
//
//   sluice-example-consumer [broker] [queue-uri] [count]
//   defaults:                127.0.0.1:7600  prio/example  0 (= until Ctrl-C)
//
// Prints each message with its properties and confirms it. Ctrl-C stops it.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "client/client.h"
#include "datapath/wire/properties.h"

using namespace sluice;

namespace {
std::atomic<bool> g_stop{false};
}

int main(int argc, char** argv) {
  const std::string broker = argc > 1 ? argv[1] : "127.0.0.1:7600";
  const std::string uri = argc > 2 ? argv[2] : "prio/example";
  const long count = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 0;
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });

  auto c = client::client::connect({.broker = broker});
  if (!c) {
    std::fprintf(stderr, "consumer: cannot connect to %s: %s\n", broker.c_str(), describe(c.error()).c_str());
    return 1;
  }
  client::client& cl = **c;

  // The handler first, so no message arrives unhandled. It runs on the
  // library's thread once that is started; confirm() is allowed inside it.
  std::atomic<long> received{0};
  cl.on_message([&](const client::message& m) {
    std::printf("message guid=%llu/%u/%u delivery=%u payload=\"%.*s\"",
                static_cast<unsigned long long>(m.guid.seq), m.guid.partition, m.guid.node, m.delivery_cnt,
                static_cast<int>(m.payload.size()), reinterpret_cast<const char*>(m.payload.data()));
    for (wire::property_reader props(m.properties); !props.done();) {  // the broker validated the block
      const wire::property p = props.next();
      if (p.type == wire::property_type::string) {
        std::printf(" %.*s=\"%.*s\"", static_cast<int>(p.key.size()), p.key.data(),
                    static_cast<int>(p.as_string().size()), p.as_string().data());
      } else if (p.type != wire::property_type::binary) {
        std::printf(" %.*s=%lld", static_cast<int>(p.key.size()), p.key.data(),
                    static_cast<long long>(p.type == wire::property_type::boolean ? p.as_bool() : p.as_int()));
      }
    }
    std::printf("\n");
    if (const auto st = cl.confirm(m.queue, m.guid); !st) {
      std::fprintf(stderr, "consumer: confirm failed: %s\n", describe(st.error()).c_str());
    }
    ++received;
  });
  cl.start_background_thread();

  // Read with a credit of 64 unconfirmed messages.
  const auto q = cl.open_queue(uri, {.read = true, .max_unconfirmed_msgs = 64});
  if (!q) {
    std::fprintf(stderr, "consumer: cannot open %s: %s\n", uri.c_str(), describe(q.error()).c_str());
    return 1;
  }
  std::printf("consumer: reading %s from %s (Ctrl-C to stop)\n", uri.c_str(), broker.c_str());
  while (!g_stop && cl.connected() && (count == 0 || received < count)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (void)cl.close_queue(*q);  // sends the last CONFIRMs first
  std::printf("consumer: %ld messages\n", received.load());
  return 0;
}
