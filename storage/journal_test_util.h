// storage/journal_test_util.h — a recording listener and loop drivers for journal tests.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "common/clock.h"
#include "storage/journal.h"
#include "storage/recovery.h"

namespace sluice::storage::test {

struct recording_listener final : journal_listener {
  seq_no durable{0};
  std::uint64_t durable_calls = 0;
  struct failure {
    seq_no first;
    seq_no last;
    errc why;
  };
  std::vector<failure> failed;
  void on_durable(seq_no s) noexcept override {
    EXPECT_GT(s, durable) << "durable must only advance";
    durable = s;
    ++durable_calls;
  }
  void on_failed(seq_no first, seq_no last, errc why) noexcept override { failed.push_back({first, last, why}); }
};

// Runs shard-loop iterations (commit + poll) until nothing is pending (10 s at most).
inline void drain(journal& j, persistence& p) {
  const time_ns deadline = monotonic_now_ns() + 10 * k_ns_per_s;
  while (monotonic_now_ns() < deadline) {
    j.commit();
    j.poll();
    if (j.failed() || (j.idle() && p.in_flight() == 0)) return;
  }
  ADD_FAILURE() << "journal did not drain";
}

struct collected : recovery_visitor {
  struct msg {
    queue_id queue;
    message_id id;
    std::uint64_t mask;
    std::string payload;
    std::uint16_t delivery_cnt;
  };
  std::vector<msg> msgs;
  void on_message(const recovered_message& m) override {
    msgs.push_back({m.queue, m.id, m.confirmed_mask,
                    std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()), m.delivery_cnt});
  }
};

}  // namespace sluice::storage::test
