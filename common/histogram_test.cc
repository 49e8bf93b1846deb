// histogram: quantile accuracy, exact summary statistics, merge and reset.
#include "common/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/rng.h"

namespace sluice {
namespace {

// Relative error the log-linear layout promises: one sub-bucket of 2^5 per power of two.
constexpr double k_rel_err = 1.0 / (1 << histogram::k_sub_bits) + 1e-9;

void expect_near_rel(std::uint64_t got, std::uint64_t want, const char* what) {
  const double err = std::abs(static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(want);
  EXPECT_LE(err, k_rel_err) << what << ": got " << got << ", want " << want;
}

// The exact quantile of sorted values with the histogram's rank rule (ceil(q * n), at least 1).
std::uint64_t exact_quantile(const std::vector<std::uint64_t>& sorted, double q) {
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// ---- edge cases first -------------------------------------------------------------

TEST(histogram, empty_histogram_reports_zeros) {
  const histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  for (double q : {0.0, 0.5, 0.99, 1.0}) EXPECT_EQ(h.quantile(q), 0u) << q;
}

TEST(histogram, huge_values_land_in_the_last_bucket_without_crashing) {
  histogram h;
  const std::uint64_t huge[] = {(1ULL << 41), (1ULL << 50) + 12345, UINT64_MAX};
  for (std::uint64_t v : huge) h.record(v);
  h.record(1000);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), UINT64_MAX);
  EXPECT_LE(h.quantile(0.25), 1000u * 33 / 32);
  // Past 2^40 the histogram only promises order: above every tracked value, at most max().
  for (double q : {0.5, 0.75, 1.0}) {
    EXPECT_GE(h.quantile(q), 1ULL << 40) << q;
    EXPECT_LE(h.quantile(q), h.max()) << q;
  }
}

TEST(histogram, out_of_range_quantiles_are_clamped) {
  histogram h;
  for (std::uint64_t v = 1; v <= 10; ++v) h.record(v);
  EXPECT_EQ(h.quantile(-1.0), 1u);
  EXPECT_EQ(h.quantile(2.0), 10u);
}

TEST(histogram, small_values_are_exact) {
  histogram h;
  for (std::uint64_t v = 0; v < 64; ++v) h.record(v);
  std::vector<std::uint64_t> sorted(64);
  for (std::uint64_t v = 0; v < 64; ++v) sorted[v] = v;
  for (double q : {0.01, 0.1, 0.25, 0.5, 0.9, 1.0}) EXPECT_EQ(h.quantile(q), exact_quantile(sorted, q)) << q;
}

// ---- known distributions ----------------------------------------------------------------

TEST(histogram, uniform_1_to_100000_quantiles_within_bound) {
  histogram h;
  for (std::uint64_t v = 1; v <= 100'000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100'000u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100'000u);
  EXPECT_DOUBLE_EQ(h.mean(), 50'000.5);
  expect_near_rel(h.quantile(0.5), 50'000, "p50");
  expect_near_rel(h.quantile(0.9), 90'000, "p90");
  expect_near_rel(h.quantile(0.99), 99'000, "p99");
  expect_near_rel(h.quantile(0.999), 99'900, "p99.9");
  EXPECT_EQ(h.quantile(1.0), 100'000u);  // capped at max
  // Reported values are bucket upper edges: never below the true quantile.
  EXPECT_GE(h.quantile(0.5), 50'000u);
  EXPECT_GE(h.quantile(0.99), 99'000u);
}

TEST(histogram, random_log_uniform_values_quantiles_within_bound) {
  // SLUICE_SEED=S replays another seed (as in the transport's randomised tests).
  const char* env = std::getenv("SLUICE_SEED");
  const std::uint64_t seed = env ? std::strtoull(env, nullptr, 0) : 0x5EED'0000'0001ULL;
  std::printf("histogram random test: SLUICE_SEED=%" PRIu64 "\n", seed);
  splitmix64 rng(seed);
  histogram h;
  std::vector<std::uint64_t> values;
  long double sum = 0;
  for (int i = 0; i < 50'000; ++i) {
    // Spread over 1 ns .. ~1 s: a random power of two, then a random value below it.
    const std::uint64_t v = 1 + rng.below(1ULL << (1 + rng.below(30)));
    values.push_back(v);
    sum += static_cast<long double>(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_NEAR(h.mean(), static_cast<double>(sum / static_cast<long double>(values.size())), 1e-6);
  for (double q : {0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0}) {
    const std::uint64_t want = exact_quantile(values, q);
    const std::uint64_t got = h.quantile(q);
    EXPECT_GE(got, want) << q;
    expect_near_rel(got, want, "random quantile");
  }
}

// ---- merge and reset -------------------------------------------------------------------------

TEST(histogram, merge_equals_recording_everything_in_one) {
  histogram low, high, all;
  for (std::uint64_t v = 1; v <= 1000; ++v) {
    (v % 2 ? low : high).record(v * 7);
    all.record(v * 7);
  }
  histogram merged = low;
  merged.merge(high);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 1.0}) EXPECT_EQ(merged.quantile(q), all.quantile(q)) << q;

  histogram empty;
  merged.merge(empty);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  empty.merge(all);
  EXPECT_EQ(empty.min(), 7u);
  EXPECT_EQ(empty.max(), 7000u);
}

TEST(histogram, reset_forgets_everything) {
  histogram h;
  for (std::uint64_t v = 100; v < 200; ++v) h.record(v);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.quantile(0.5), 0u);
  h.record(5);
  EXPECT_EQ(h.min(), 5u);
  EXPECT_EQ(h.max(), 5u);
  EXPECT_EQ(h.quantile(1.0), 5u);
}

}  // namespace
}  // namespace sluice
