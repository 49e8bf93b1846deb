// common/latency_buckets.h — a small fixed-bucket latency histogram for
// metrics.
//
// 17 upper bounds from 1 µs to 1 s (1-2-5 steps) and an overflow bucket:
// 144 bytes, O(1) record, no allocation, so every queue can carry two. The
// bounds are the `le` labels of the Prometheus histograms sluice-control
// exposes; counts are kept per bucket (not cumulative) and made cumulative
// when rendered. For percentiles with 3 % precision use common/histogram.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice {

struct latency_buckets {
  static constexpr std::array<std::uint64_t, 17> k_bounds_ns = {
      1'000,     2'000,      5'000,      10'000,     20'000,      50'000,     100'000,     200'000,      500'000,
      1'000'000, 2'000'000,  5'000'000,  10'000'000, 20'000'000,  50'000'000, 100'000'000, 1'000'000'000};

  std::array<std::uint64_t, k_bounds_ns.size() + 1> counts{};  // the last one: above 1 s
  std::uint64_t sum_ns = 0;

  void record(std::uint64_t ns) noexcept {
    std::size_t i = 0;
    while (i < k_bounds_ns.size() && ns > k_bounds_ns[i]) ++i;
    ++counts[i];
    sum_ns += ns;
  }
  std::uint64_t count() const noexcept {
    std::uint64_t n = 0;
    for (const auto c : counts) n += c;
    return n;
  }
};

}  // namespace sluice
