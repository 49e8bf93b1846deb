#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sluice {

// Values below 2^k_sub_bits map one-to-one onto the first buckets; above, the
// bucket is (power - k_sub_bits + 1) * 2^k_sub_bits + the next k_sub_bits bits.
int histogram::bucket_of(std::uint64_t v) noexcept {
  constexpr std::uint64_t sub = 1ULL << k_sub_bits;
  if (v < sub) return static_cast<int>(v);
  const int pow = 63 - std::countl_zero(v);
  if (pow > k_max_pow) return k_overflow;
  const int shift = pow - k_sub_bits;
  const auto within = static_cast<int>((v >> shift) & (sub - 1));
  return ((shift + 1) << k_sub_bits) + within;
}

std::uint64_t histogram::bucket_upper(int idx) noexcept {
  constexpr int sub = 1 << k_sub_bits;
  if (idx < sub) return static_cast<std::uint64_t>(idx);
  const int shift = (idx >> k_sub_bits) - 1;
  const auto within = static_cast<std::uint64_t>(idx & (sub - 1));
  const std::uint64_t base = (static_cast<std::uint64_t>(sub) | within) << shift;
  return base + ((1ULL << shift) - 1);
}

void histogram::record(std::uint64_t value) noexcept {
  ++_buckets[static_cast<std::size_t>(bucket_of(value))];
  ++_count;
  _min = std::min(_min, value);
  _max = std::max(_max, value);
  _sum += static_cast<long double>(value);
}

void histogram::merge(const histogram& other) noexcept {
  for (std::size_t i = 0; i < _buckets.size(); ++i) _buckets[i] += other._buckets[i];
  _count += other._count;
  _min = std::min(_min, other._min);
  _max = std::max(_max, other._max);
  _sum += other._sum;
}

void histogram::reset() noexcept { *this = histogram{}; }

double histogram::mean() const noexcept {
  return _count ? static_cast<double>(_sum / static_cast<long double>(_count)) : 0.0;
}

std::uint64_t histogram::quantile(double q) const noexcept {
  if (_count == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(_count)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (int i = 0; i < k_bucket_cnt; ++i) {
    seen += _buckets[static_cast<std::size_t>(i)];
    if (seen >= rank) return i == k_overflow ? _max : std::min(bucket_upper(i), _max);
  }
  return _max;
}

}  // namespace sluice
