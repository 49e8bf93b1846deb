// common/rng.h — small, fast, seedable PRNGs for simulation and tests.
//
// splitmix64: every seed (including 0) gives a good stream; replaying a seed
// replays the run. Not for anything secret (see siphash.h and getrandom).
#pragma once

#include <cstdint>

namespace sluice {

class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) noexcept : _state(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) (bound > 0); the tiny modulo bias is irrelevant here.
  std::uint64_t below(std::uint64_t bound) noexcept { return next() % bound; }
  // True with probability p (0..1).
  bool chance(double p) noexcept {
    return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
  }

 private:
  std::uint64_t _state;
};

}  // namespace sluice
