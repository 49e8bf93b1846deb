// common/histogram.h — log-linear latency histogram.
//
// Each power-of-two range of values is split into 2^k_sub_bits linear
// buckets, so a recorded value is kept within ~1/2^k_sub_bits (3 %) of its
// true value from 1 ns to ~1100 s, with fixed memory and O(1) record. Not
// thread-safe: one per recording thread, merge() afterwards.
#pragma once

#include <array>
#include <cstdint>

namespace sluice {

class histogram {
 public:
  static constexpr int k_sub_bits = 5;
  static constexpr int k_max_pow = 40;  // values up to 2^40 (≈1100 s in ns)
  // Buckets up to 2^(k_max_pow+1), then one overflow bucket (reported as max()).
  static constexpr int k_overflow = (k_max_pow - k_sub_bits + 2) << k_sub_bits;
  static constexpr int k_bucket_cnt = k_overflow + 1;

  void record(std::uint64_t value) noexcept;
  void merge(const histogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return _count; }
  std::uint64_t min() const noexcept { return _count ? _min : 0; }
  std::uint64_t max() const noexcept { return _max; }
  double mean() const noexcept;
  // Value at quantile q in [0, 1] (upper edge of its bucket, capped at max()).
  std::uint64_t quantile(double q) const noexcept;

 private:
  static int bucket_of(std::uint64_t v) noexcept;
  static std::uint64_t bucket_upper(int idx) noexcept;

  std::array<std::uint64_t, k_bucket_cnt> _buckets{};
  std::uint64_t _count = 0;
  std::uint64_t _min = UINT64_MAX;
  std::uint64_t _max = 0;
  long double _sum = 0;
};

}  // namespace sluice
